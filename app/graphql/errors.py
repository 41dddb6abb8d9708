"""Every GraphQL error leaves with an `extensions.code`; unexpected ones leave masked.

Codes are given where errors are made, never guessed from a message's text: domain errors
carry their own `extensions` (app/errors.py); parse, validation and variable errors are
coded as graphql-core makes them (app/graphql/execution.py, limits.py). What is left here
is a failure of ours: logged with its stack trace and answered as "Internal server
error", so no stack trace or secret can leak.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

from app.errors import BAD_USER_INPUT, INTERNAL_SERVER_ERROR, SwitchboardError
from app.errors import coded as coded_extensions

logger = logging.getLogger("switchboard.graphql")


def coded(error: GraphQLError) -> GraphQLError:
    """`error` with a code in its extensions; an unexpected failure replaced by a mask."""
    original = error.original_error
    if isinstance(original, SwitchboardError):
        return error  # graphql-core copied its extensions already
    if isinstance(original, GraphQLError):
        # graphql-core could not coerce a value the client sent (e.g. a variable).
        error.extensions = coded_extensions(error.extensions, BAD_USER_INPUT)
        return error
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error  # coded where it was made (app/graphql/execution.py, limits.py)
        # graphql-core's own execution errors (a null for a non-null field): ours.
        logger.error("unexpected error at %s: %s", error.path, error.message)
        error.extensions = coded_extensions(error.extensions, INTERNAL_SERVER_ERROR)
        return error
    logger.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError(
        "Internal server error.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": INTERNAL_SERVER_ERROR},
    )


def code_errors(errors: list[GraphQLError]) -> None:
    """Code every error of a response, in place (the response holds this very list)."""
    errors[:] = [coded(error) for error in errors]
