"""How queries and mutations run: prepared once per query string, executed by graphql-core.

Strawberry's `Schema.execute` rebuilds, for every operation, an execution context,
extension instances and their hook managers around the parser and validation caches —
as much CPU as executing a small query itself (bench B1 profile). Here a query string
is parsed, checked against the document limits, validated, its operation picked and its
cost planned once (`PreparedOperations`, an LRU bounded by count and bytes); each
request then only checks the cost of its variables and builds graphql-core's executor.
The rules are the ones Strawberry applies (graphql-core's specified rules, its own two,
and ours).

`Executor` is graphql-core's, minus the garbage it leaves behind: graphql-core's
executor holds helpers bound to itself (`async_helpers`, handed to the resolvers), so
every operation ended as a reference cycle of ~40 objects — the executor, its collected
fields, our request context — that only the cyclic garbage collector freed (at 256
concurrent queries: ~0.16 ms of a 0.8 ms query). Once an operation is complete nothing
calls the helpers through the executor any more (resolvers still running hold the
helpers themselves), so that edge is cut and reference counting frees the rest.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.execution import Executor as GraphQLCoreExecutor
from graphql.execution import execute
from graphql.pyutils import is_awaitable
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType

from app.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    coded,
)
from app.graphql.cost import FREE, CostPlan, plan
from app.graphql.limits import DocumentLimits


class Executor(GraphQLCoreExecutor[Any]):
    # graphql-core's plain executor with Strawberry's resolve info (coerced variables,
    # operation extensions). Strawberry's own executor derives from IncrementalExecutor,
    # for @defer/@stream, which this schema does not enable: ~2 KiB more per operation
    # in flight, and its setup.
    build_resolve_info = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.operation_extensions = kwargs.pop("operation_extensions", None)
        super().__init__(*args, **kwargs)

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        # A list of errors instead of an executor: the variables the client sent do not
        # coerce to their types (documents were validated before) — the client's input.
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            for error in built:
                error.extensions = coded(error.extensions, BAD_USER_INPUT)
        return built

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if is_awaitable(result):
            return self._released_after(result)
        self._release()
        return result

    async def _released_after(self, result: Any) -> Any:
        try:
            return await result
        finally:
            self._release()

    def _release(self) -> None:
        # The cycle is executor -> async_helpers -> bound methods -> executor.
        self.__dict__.pop("async_helpers", None)


# graphql-core's OverlappingFieldsCanBeMerged compares fields of the same response name
# pairwise, metered by a budget (its documented knob, read when a validation starts).
# Its default, 500,000, lets `{ __typename __typename … }` within the token limit take
# ~0.1 s of validation; 50,000 takes ~40 ms. Documents with distinct response names —
# every README operation, GraphiQL's, the routers' `_entities` — spend none of it.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 50_000


@dataclass(frozen=True, slots=True)
class Prepared:
    """A query string made ready to run: its document, the operation's type and what it
    costs, or the errors that stop it (size, syntax, limits, validation, no such
    operation)."""

    document: DocumentNode | None
    operation_type: OperationType | None
    errors: tuple[GraphQLError, ...] = ()
    cost: CostPlan = FREE
    # Asks for nothing but `_service` (and `__typename`): a router composing the
    # supergraph may ask without a credential (app/graphql/http.py).
    anonymous: bool = False


# A refused document is kept only this small: refusing it again is cheap anyway, and a
# refusal's errors hold the whole document.
_KEPT_REFUSAL_BYTES = 4096


class PreparedOperations:
    """Prepared operations by (query, operation name), the most recently used: at most
    `size` of them and `max_bytes` of query text (a document's AST and errors take about
    as much again).

    A document is refused before the expensive validation rules run when it is over
    `max_document_bytes`, or over the document limits once its fragments are expanded
    (app/graphql/limits.py). Small refusals are kept: a broken query sent again is
    refused without parsing it again; large ones are not kept at all.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Sequence[type[ASTValidationRule]],
        *,
        max_tokens: int,
        limits: DocumentLimits,
        max_ids: int,
        max_document_bytes: int = 100_000,
        size: int = 256,
        max_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.schema = schema
        self.rules = (
            *specified_rules,
            *rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
        )
        self.max_tokens = max_tokens
        self.limits = limits
        self.max_ids = max_ids
        self.max_document_bytes = max_document_bytes
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0  # query text held
        self._prepared: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._prepared)

    def get(self, query: str, operation_name: str | None) -> Prepared:
        key = (query, operation_name)
        prepared = self._prepared.get(key)
        if prepared is not None:
            self._prepared.move_to_end(key)
            return prepared
        prepared = self._prepare(query, operation_name)
        weight = _weight(key)
        if weight > self.max_bytes or (prepared.document is None and weight > _KEPT_REFUSAL_BYTES):
            return prepared
        self._prepared[key] = prepared
        self.bytes += weight
        while len(self._prepared) > self.size or self.bytes > self.max_bytes:
            evicted, _ = self._prepared.popitem(last=False)
            self.bytes -= _weight(evicted)
        return prepared

    def _prepare(self, query: str, operation_name: str | None) -> Prepared:
        if len(query) > self.max_document_bytes:
            too_large = GraphQLError(
                f"The document is larger than {self.max_document_bytes} bytes.",
                extensions=coded({"maxDocumentBytes": self.max_document_bytes}, BAD_USER_INPUT),
            )
            return Prepared(None, None, (too_large,))
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as syntax_error:
            syntax_error.extensions = coded(syntax_error.extensions, GRAPHQL_PARSE_FAILED)
            return Prepared(None, None, (syntax_error,))
        refusals = self.limits.check(document)
        if refusals:
            return Prepared(None, None, tuple(refusals))
        errors = validate(self.schema, document, self.rules)
        if errors:
            for invalid in errors:
                invalid.extensions = coded(invalid.extensions, GRAPHQL_VALIDATION_FAILED)
            return Prepared(None, None, tuple(errors))
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            # graphql-core's wording, as its executor would answer.
            if operation_name is not None:
                message = f"Unknown operation named '{operation_name}'."
            else:
                message = "Must provide operation name if query contains multiple operations."
            refusal = GraphQLError(message, extensions=coded(None, BAD_USER_INPUT))
            return Prepared(None, None, (refusal,))
        cost = plan(document, operation, max_ids=self.max_ids)
        anonymous = all(
            isinstance(selection, FieldNode) and selection.name.value in _ANONYMOUS_FIELDS
            for selection in operation.selection_set.selections
        )
        return Prepared(
            document, OperationType(operation.operation.value), cost=cost, anonymous=anonymous
        )


_ANONYMOUS_FIELDS = frozenset({"_service", "__typename"})


def _weight(key: tuple[str, str | None]) -> int:
    # Memory, not characters: a non-ASCII query takes up to four bytes per character.
    query, name = key
    return sys.getsizeof(query) + (sys.getsizeof(name) if name else 0)


async def run(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    variables: dict[str, Any] | None,
    context: Any,
    root: Any,
    operation_name: str | None,
    operation_extensions: dict[str, Any] | None,
) -> GraphQLExecutionResult:
    """Execute a prepared document with our executor."""
    result = execute(
        schema,
        document,
        root_value=root,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=Executor,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type] # a TypeGuard in effect
        operation_extensions=operation_extensions,
    )
    if isinstance(result, GraphQLExecutionResult):
        return result
    return await result
