"""The federation schema: types, root fields, and the extensions that guard it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Final

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.federation.schema import FederationAny
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.execution import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from app.config import Settings
from app.errors import BadUserInput, SwitchboardError
from app.graphql.context import Info
from app.graphql.errors import code_errors
from app.graphql.execution import Executor, PreparedOperations, run
from app.graphql.limits import DocumentLimits, limits_rule
from app.graphql.mutation import Mutation
from app.graphql.query import Query
from app.graphql.subscription import Subscription
from app.graphql.types import CALL_TYPES, Call

# Both Apollo's and The Guild's composition accept this version (the Guild's stops at 2.9).
FEDERATION_VERSION: Final = "2.9"

logger = logging.getLogger("switchboard.graphql")

# `_entities` accepts the interface and each vendor type, by GraphQL name.
ENTITY_TYPES: dict[str, type[Call]] = {cls.__name__: cls for cls in (Call, *CALL_TYPES)}


# What `execute` runs when its caller does not say (Strawberry's default), and what
# HTTP runs: subscriptions belong to the websocket endpoint.
QUERIES_AND_MUTATIONS: Final = frozenset({OperationType.QUERY, OperationType.MUTATION})


class SwitchboardSchema(strawberry.federation.Schema):
    max_representations: int = 100
    max_vendor_requests: int = 250
    max_json_depth: int = 64  # for the HTTP and websocket endpoints
    operations: PreparedOperations  # set by build_schema

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Strawberry's contract — its HTTP view, our lean HTTP path and the websocket
        server call this — run through prepared operations (app/graphql/execution.py).
        Raises what Strawberry raises: MissingQueryError for no query,
        InvalidOperationTypeError for an operation type the caller does not allow."""
        if not query:
            raise MissingQueryError
        prepared = self.operations.get(query, operation_name)
        if prepared.document is None or prepared.operation_type is None:
            return self._answer(None, list(prepared.errors))
        allowed = (
            QUERIES_AND_MUTATIONS if allowed_operation_types is None else allowed_operation_types
        )
        if prepared.operation_type not in allowed or (
            # Subscriptions run through `subscribe` only (the websocket endpoint):
            # executed as a query, one answers null and an internal error. Strawberry's
            # view allows them over GET, for a multipart protocol we do not serve.
            prepared.operation_type is OperationType.SUBSCRIPTION
        ):
            raise InvalidOperationTypeError(prepared.operation_type)
        refusal = prepared.cost.refusal(
            variable_values,
            max_requests=self.max_vendor_requests,
            max_ids=self.max_representations,
        )
        if refusal is not None:
            return self._answer(None, [GraphQLError(refusal.message, original_error=refusal)])
        try:
            result = await run(
                self._schema,
                prepared.document,
                variables=variable_values,
                context=context_value,
                root=root_value,
                operation_name=operation_name,
                operation_extensions=operation_extensions,
            )
        except Exception as exc:  # a bug of ours: masked, logged and coded as internal
            return self._answer(None, [GraphQLError(str(exc), original_error=exc)])
        return self._answer(result.data, result.errors)

    def _answer(self, data: Any, errors: list[GraphQLError] | None) -> ExecutionResult:
        if errors:
            self._process_errors(errors)
            for error in errors:
                # Logged by now. A raised error's traceback holds the frames that hold
                # the request's context and loaders, whose futures hold the error: a
                # cycle per failed field, left to the cyclic collector.
                for raised in (error, error.original_error):
                    if raised is not None:
                        raised.__traceback__ = None
        return ExecutionResult(data=data, errors=errors or None)

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Federation `_entities`, checked: a representation that names no entity type of
        ours or lacks a string `id` is BAD_USER_INPUT in its own slot (strawberry's
        resolver would fail the whole field or answer an internal error)."""
        if len(representations) > self.max_representations:
            raise BadUserInput(
                f"Too many representations: {len(representations)} asked, "
                f"at most {self.max_representations} per request."
            )
        results: list[Any] = []
        for representation in representations:
            typename = (
                representation.get("__typename") if isinstance(representation, dict) else None
            )
            entity = ENTITY_TYPES.get(typename) if isinstance(typename, str) else None
            call_id = representation.get("id") if isinstance(representation, dict) else None
            if entity is None:
                results.append(BadUserInput(f"Unknown entity type {typename!r}."))
            elif not isinstance(call_id, str):
                results.append(BadUserInput(f"A {typename} representation needs a string id."))
            else:
                results.append(entity.resolve_reference(info, strawberry.ID(call_id)))
        return results

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
    # Depth, aliases and size after fragment expansion, measured with each fragment
    # once (app/graphql/limits.py; Strawberry's QueryDepthLimiter and MaxAliasesLimiter
    # expand every path: exponential in the document).
    limits = DocumentLimits(
        max_depth=settings.limits.max_depth,
        max_aliases=settings.limits.max_aliases,
        max_selections=settings.limits.max_selections,
    )
    # Made once: Strawberry's validation cache is keyed by the rule classes.
    rules: list[type[ASTValidationRule]] = []
    if not settings.server.introspection:
        # Refuses __schema and __type only: routers still compose from `_service { sdl }`.
        rules += DisableIntrospection().validation_rules
    # Queries and mutations run through `schema.operations`; these extensions guard what
    # still goes through Strawberry's own path: subscriptions. Factories, not instances:
    # an extension instance holds one request's state. The two caches keep their LRU at
    # module level, so they are shared across subscriptions all the same.
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        partial(MaxTokensLimiter, max_token_count=settings.limits.max_tokens),
        partial(AddValidationRules, [limits_rule(limits), *rules]),
    ]
    schema = SwitchboardSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(CALL_TYPES),
        extensions=extensions,
        execution_context_class=Executor,
        federation_version=FEDERATION_VERSION,
    )
    schema.max_representations = settings.limits.max_ids
    schema.max_vendor_requests = settings.limits.max_vendor_requests
    schema.max_json_depth = settings.limits.max_json_depth
    schema.operations = PreparedOperations(
        schema._schema,
        rules,
        max_tokens=settings.limits.max_tokens,
        limits=limits,
        max_ids=settings.limits.max_ids,
        max_document_bytes=settings.limits.max_document_bytes,
        size=settings.limits.operation_cache_size,
        max_bytes=settings.limits.operation_cache_bytes,
    )
    return schema
