"""Every GraphQL error leaves with an `extensions.code`; unexpected ones leave masked.

Domain errors carry their own `extensions` (app/errors.py). Parse and validation errors
get the GraphQL codes; anything else is an internal error, logged here with its stack
trace and answered as "Internal server error" so no stack trace or secret can leak.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError, GraphQLSyntaxError

from app.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_SERVER_ERROR,
    SwitchboardError,
)

logger = logging.getLogger("switchboard.graphql")


def coded(error: GraphQLError) -> GraphQLError:
    """`error` with a code in its extensions; an unexpected failure replaced by a mask."""
    original = error.original_error
    if isinstance(original, SwitchboardError):
        return error  # graphql-core copied its extensions already
    if isinstance(original, GraphQLError):
        # graphql-core could not coerce a value the client sent (e.g. a variable).
        error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        return error
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error
        if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
            code = GRAPHQL_PARSE_FAILED
        elif error.message.startswith("Variable "):
            code = BAD_USER_INPUT
        else:
            code = GRAPHQL_VALIDATION_FAILED
        error.extensions = {**(error.extensions or {}), "code": code}
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
