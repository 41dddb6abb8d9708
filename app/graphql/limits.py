"""Document limits, measured after fragment expansion in time linear in the document.

A document's work is what it selects once its fragments are expanded, and spreads make
that exponential in the document's size: `fragment F2 on Query { ...F1 ...F1 }`,
`F3 { ...F2 ...F2 }`… doubles with each fragment (an 836-byte document of 20 of them
selects 2 million fields). Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk
every expanded path without memoising fragments, so that document held the event loop
for 3.5 s (profiled: ~70 % in QueryDepthLimiter's `determine_depth`, ~30 % in
MaxAliasesLimiter's `count_fields_with_alias`; graphql-core's own rules, including
OverlappingFieldsCanBeMerged, compare fragment pairs once and took 5 ms). Their
depth limiter also looked spreads up without checking that the fragment exists: a
KeyError, answered as an internal error, for `{ ...Missing }`.

Here each fragment is measured once — its field count, its depth, its aliases — and a
spread adds the fragment's numbers: linear in the document, whatever it expands to.
Spreads of unknown fragments and fragment cycles count nothing (graphql-core's
KnownFragmentNames and NoFragmentCycles rules report them). `DocumentLimits.check`
runs before validation, so an oversized document is refused before any rule that walks
expanded selections runs; once it passes, every later walk is bounded by
`max_selections`.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from app.errors import GRAPHQL_VALIDATION_FAILED, coded

# Counts stop growing here: a fragment bomb's true size has hundreds of digits, and the
# refusal only needs to say it is over the limit.
_CEILING = 1 << 40


@dataclass(frozen=True, slots=True)
class Size:
    """What a selection set asks for once expanded."""

    selections: int = 0  # fields, __typename included
    depth: int = 0  # nested selection sets below it; introspection fields count 0
    aliases: int = 0


_NOTHING = Size()


def _plus(a: Size, b: Size) -> Size:
    return Size(
        min(a.selections + b.selections, _CEILING),
        max(a.depth, b.depth),
        min(a.aliases + b.aliases, _CEILING),
    )


class _Measure:
    """Sizes of one document's fragments (each measured once) and selection sets."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.sizes: dict[str, Size] = {}
        self._order()

    def _order(self) -> None:
        # Fragments measured dependencies first, iteratively (a chain of spreads may be
        # longer than the interpreter's recursion limit). A spread back into a fragment
        # being measured is a cycle: it counts nothing.
        in_progress: set[str] = set()
        for root in self.fragments:
            if root in self.sizes:
                continue
            stack: list[tuple[str, list[str]]] = [(root, self._spreads(root))]
            in_progress.add(root)
            while stack:
                name, pending = stack[-1]
                if pending:
                    child = pending.pop()
                    known = child in self.fragments and child not in self.sizes
                    if known and child not in in_progress:
                        in_progress.add(child)
                        stack.append((child, self._spreads(child)))
                    continue
                stack.pop()
                in_progress.discard(name)
                self.sizes[name] = self.selection_set(self.fragments[name].selection_set)

    def _spreads(self, name: str) -> list[str]:
        found: list[str] = []
        sets = [self.fragments[name].selection_set]
        while sets:
            for selection in sets.pop().selections:
                if isinstance(selection, FragmentSpreadNode):
                    found.append(selection.name.value)
                elif selection.selection_set is not None:  # type: ignore[attr-defined]
                    sets.append(selection.selection_set)  # type: ignore[attr-defined]
        return found

    def selection_set(self, selection_set: SelectionSetNode) -> Size:
        # Recursive within one definition only: the parser bounds that nesting (200).
        total = _NOTHING
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total = _plus(total, self._field(selection))
            elif isinstance(selection, InlineFragmentNode):
                total = _plus(total, self.selection_set(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                # Unknown, or in a cycle (measured later or never): nothing.
                total = _plus(total, self.sizes.get(selection.name.value, _NOTHING))
        return total

    def _field(self, field: FieldNode) -> Size:
        own = Size(1, 0, 1 if field.alias else 0)
        if field.selection_set is None:
            return own
        below = self.selection_set(field.selection_set)
        # Strawberry's depth rule: a field with a selection set is one level more than
        # its deepest child; introspection (`__schema { … }`) does not count.
        depth = 0 if field.name.value.startswith("__") else below.depth + 1
        return Size(
            min(below.selections + 1, _CEILING), depth, min(below.aliases + own.aliases, _CEILING)
        )


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """Per document, after fragment expansion: at most `max_selections` fields in all,
    `max_aliases` aliases in all, and `max_depth` levels per operation."""

    max_depth: int
    max_aliases: int
    max_selections: int

    def check(self, document: DocumentNode) -> list[GraphQLError]:
        """The refusals for `document` ([] when it is within every limit)."""
        measure = _Measure(document)
        errors: list[GraphQLError] = []
        total = _NOTHING
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            size = measure.selection_set(definition.selection_set)
            total = _plus(total, size)
            if size.depth > self.max_depth:
                name = definition.name.value if definition.name else "anonymous"
                # Strawberry's wording, which clients of its depth limiter know.
                errors.append(
                    _refusal(
                        f"'{name}' exceeds maximum operation depth of {self.max_depth}",
                        definition,
                        depth=size.depth,
                        maxDepth=self.max_depth,
                    )
                )
        if total.selections > self.max_selections:
            shown = _shown(total.selections)
            errors.insert(
                0,
                _refusal(
                    f"The document selects {shown} fields once its fragments are "
                    f"expanded; at most {self.max_selections} are allowed.",
                    None,
                    selections=total.selections,
                    maxSelections=self.max_selections,
                ),
            )
        if total.aliases > self.max_aliases:
            errors.append(
                _refusal(
                    f"{_shown(total.aliases)} aliases found. Allowed: {self.max_aliases}",
                    None,
                    aliases=total.aliases,
                    maxAliases=self.max_aliases,
                )
            )
        return errors


def _shown(count: int) -> str:
    return f"more than {_CEILING - 1}" if count >= _CEILING else str(count)


def _refusal(message: str, node: OperationDefinitionNode | None, **extensions: int) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=[node] if node is not None else None,
        extensions=coded(dict(extensions), GRAPHQL_VALIDATION_FAILED),
    )


def limits_rule(limits: DocumentLimits) -> type[ValidationRule]:
    """`limits` as a validation rule, for what still validates through Strawberry's own
    path (subscriptions; the websocket endpoint checks the limits before that too)."""

    class DocumentLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for error in limits.check(context.document):
                context.report_error(error)

    return DocumentLimitsRule
