"""The federation schema: types, root fields, and the extensions that guard it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Final

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types.execution import ExecutionContext

from app.config import Settings
from app.errors import SwitchboardError
from app.graphql.errors import code_errors
from app.graphql.query import Query
from app.graphql.types import CALL_TYPES

# Both Apollo's and The Guild's composition accept this version (the Guild's stops at 2.9).
FEDERATION_VERSION: Final = "2.9"

logger = logging.getLogger("switchboard.graphql")


class SwitchboardSchema(strawberry.federation.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry hands every error list of a response here, parse errors included, which
        # is why codes and masks are applied here rather than in an extension's hook.
        code_errors(errors)
        # Expected errors (bad ids, vendor down) are answers, not incidents: one line each.
        # Unexpected ones were logged with their stack trace where they were masked.
        for error in errors:
            if isinstance(error.original_error, SwitchboardError):
                logger.info("%s at %s: %s", error.original_error.code, error.path, error.message)


def build_schema(settings: Settings | None = None) -> SwitchboardSchema:
    settings = settings or Settings()
    # Factories, not instances: an extension instance holds one request's state.
    # ParserCache and ValidationCache keep their LRU at module level, so the caches are
    # shared across requests all the same (~4x throughput on small queries).
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        partial(QueryDepthLimiter, max_depth=settings.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=settings.max_aliases),
    ]
    return SwitchboardSchema(
        query=Query,
        types=list(CALL_TYPES),
        extensions=extensions,
        federation_version=FEDERATION_VERSION,
    )
