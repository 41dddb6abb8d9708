"""Demand control: the vendor requests an operation will make, estimated before it runs.

An operation is refused with COST_ESTIMATED_TOO_EXPENSIVE (Apollo Router's code and
extensions) when its estimate is over `SWITCHBOARD_MAX_VENDOR_REQUESTS`: without it,
one 57 KB request — 30 aliases of `calls(ids)` with 100 ids each, or as many
`_entities` — made 3,000 vendor requests in 0.3 s.

The estimate follows the data loaders (app/graphql/loaders.py) and the adapters'
batching: every distinct call of the operation is fetched once per vendor, whichever
field or alias asks for it, and a vendor's batch costs

    Genesys   one list request per batch of up to SWITCHBOARD_MAX_IDS calls (one GET
              for a single call; calls missing from the list cost one GET more each,
              which cannot be known beforehand)
    VoipNow   one request per distinct (user, extension)
    Oracle, Huawei, Verba   one request per call (Verba: GetCallURL by CallID)

plus one Verba GetCallID per VoipNow or Genesys call whose `recording` is selected
(the loader asks once per distinct extension: at most that), one per `recording(...)`
lookup and per `activeCalls` list, and ACTIVE_CALLS_ASSUMED recordings for an
`activeCalls` whose calls select `recording` (a list's length is not known before it is
read). A mutation costs MUTATION_REQUESTS (read, command, confirming read). Ids given as
variables count: `plan(document)` is computed once per prepared document, and only the
ids that come from variables are looked at per request.

The total number of `_entities` representations of an operation is capped too
(SWITCHBOARD_MAX_IDS, as for a single `_entities`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    value_from_ast_untyped,
)

from app.calls import CallId, Vendor
from app.errors import BadUserInput, CostTooHigh, SwitchboardError

# Requests a mutation makes at least: read the call, send the command, read it back.
MUTATION_REQUESTS: Final = 3
# Recording lookups assumed for an `activeCalls` list that selects `recording`.
ACTIVE_CALLS_ASSUMED: Final = 10

# The vendor types whose calls have a `recording` (a Verba lookup each), by GraphQL name.
_RECORDING_TYPES: Final = {"GenesysCall": Vendor.GENESYS, "VoipNowCall": Vendor.VOIPNOW}
_MUTATIONS: Final = frozenset({"holdCall", "retrieveCall", "hangupCall", "startCall"})


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str


# Where a field's ids come from: literal strings, or variables holding a string or a
# list of them (for `_entities`: representation objects, or variables holding them).
_Part = str | dict[str, Any] | _Variable


@dataclass(frozen=True, slots=True)
class _Load:
    """A root field that loads calls: `call`, `calls` or `_entities`."""

    parts: tuple[_Part, ...]
    # Vendors whose calls select `recording` below this field.
    recordings: frozenset[Vendor]
    entities: bool = False

    @property
    def static(self) -> bool:
        return not any(isinstance(part, _Variable) for part in self.parts)


@dataclass(frozen=True, slots=True)
class Estimate:
    requests: int
    representations: int


@dataclass(frozen=True, slots=True)
class CostPlan:
    """What an operation costs, known before any variable is (`fixed`, `loads`)."""

    fixed: int = 0
    loads: tuple[_Load, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)  # variables' default values
    _static: Estimate | None = None

    def estimate(self, variables: Mapping[str, Any] | None, *, max_ids: int) -> Estimate:
        if self._static is not None:
            return self._static
        return _estimate(self, variables or {}, max_ids)

    def refusal(
        self, variables: Mapping[str, Any] | None, *, max_requests: int, max_ids: int
    ) -> SwitchboardError | None:
        """The error that stops the operation before it runs, or None."""
        estimate = self.estimate(variables, max_ids=max_ids)
        if estimate.representations > max_ids:
            return BadUserInput(
                f"Too many representations: {estimate.representations} in this operation, "
                f"at most {max_ids} per request.",
                representations=estimate.representations,
                maxRepresentations=max_ids,
            )
        if estimate.requests > max_requests:
            return CostTooHigh(estimated=estimate.requests, maximum=max_requests)
        return None


FREE: Final = CostPlan(_static=Estimate(0, 0))


def plan(document: DocumentNode, operation: OperationDefinitionNode, *, max_ids: int) -> CostPlan:
    """The cost plan of a validated operation (its fragments exist and do not cycle; its
    expansion is bounded by the document limits, so walking it expanded is cheap)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fixed = 0
    loads: list[_Load] = []
    kind = operation.operation.value
    for root in _fields(operation.selection_set, fragments):
        name = root.name.value
        if kind == "mutation":
            fixed += MUTATION_REQUESTS if name in _MUTATIONS else 0
        elif kind == "subscription":
            fixed += 1 if name == "callUpdated" else 0  # the first read; then shared
        elif name in ("call", "calls", "_entities"):
            argument = {"call": "id", "calls": "ids", "_entities": "representations"}[name]
            parts = _parts(root, argument)
            recordings = _recordings(root.selection_set, fragments)
            loads.append(_Load(parts, recordings, entities=name == "_entities"))
        elif name == "activeCalls":
            fixed += 1
            if _recordings(root.selection_set, fragments):
                fixed += ACTIVE_CALLS_ASSUMED
        elif name == "recording":
            fixed += 1
    defaults = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    cost_plan = CostPlan(fixed, tuple(loads), defaults)
    if all(load.static for load in loads):
        cost_plan = CostPlan(fixed, (), {}, _estimate(cost_plan, {}, max_ids))
    return cost_plan


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    type_name: str | None = None,
) -> Iterator[FieldNode]:
    """The fields of a selection set, fragments expanded; with `type_name`, only those
    that apply to that type (type conditions on it, on an interface, or none)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
            continue
        if isinstance(selection, InlineFragmentNode):
            condition, below = selection.type_condition, selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            condition, below = fragment.type_condition, fragment.selection_set
        else:  # pragma: no cover - no other selection kinds exist
            continue
        on = condition.name.value if condition is not None else None
        if type_name is None or on is None or on == type_name or on not in _RECORDING_TYPES:
            yield from _fields(below, fragments, type_name)


def _recordings(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> frozenset[Vendor]:
    return frozenset(
        vendor
        for type_name, vendor in _RECORDING_TYPES.items()
        if any(f.name.value == "recording" for f in _fields(selection_set, fragments, type_name))
    )


def _parts(field_node: FieldNode, argument: str) -> tuple[_Part, ...]:
    for node in field_node.arguments or ():
        if node.name.value == argument:
            return tuple(_value_parts(node.value))
    return ()


def _value_parts(value: ValueNode) -> Iterator[_Part]:
    if isinstance(value, VariableNode):
        yield _Variable(value.name.value)
    elif isinstance(value, ListValueNode):
        for item in value.values:
            yield from _value_parts(item)
    elif isinstance(value, StringValueNode):
        yield value.value
    elif isinstance(value, ObjectValueNode):
        literal = value_from_ast_untyped(value)
        if isinstance(literal, dict):
            yield literal


def _estimate(cost_plan: CostPlan, variables: Mapping[str, Any], max_ids: int) -> Estimate:
    natives: dict[Vendor, set[str]] = {vendor: set() for vendor in Vendor}
    recorded: set[CallId] = set()
    representations = 0
    for load in cost_plan.loads:
        ids = list(_ids(load, variables, cost_plan.defaults))
        if load.entities:
            representations += len(ids)
        if len(ids) > max_ids:
            continue  # refused by its resolver before any request
        for text in ids:
            if not isinstance(text, str):
                continue
            try:
                call_id = CallId.parse(text)
            except SwitchboardError:
                continue  # answered BAD_USER_INPUT without a request
            natives[call_id.vendor].add(call_id.native)
            if call_id.vendor in load.recordings:
                recorded.add(call_id)
    requests = cost_plan.fixed + len(recorded)
    requests += sum(_batch_requests(vendor, found, max_ids) for vendor, found in natives.items())
    return Estimate(requests, representations)


def _ids(load: _Load, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> Iterator[Any]:
    for part in load.parts:
        values: Iterable[Any]
        if isinstance(part, _Variable):
            value = variables.get(part.name, defaults.get(part.name))
            values = value if isinstance(value, list) else () if value is None else (value,)
        else:
            values = (part,)
        for value in values:
            if load.entities:
                yield value.get("id") if isinstance(value, dict) else None
            else:
                yield value


def _batch_requests(vendor: Vendor, natives: set[str], max_ids: int) -> int:
    if not natives:
        return 0
    if vendor is Vendor.GENESYS:
        return math.ceil(len(natives) / max_ids)
    if vendor is Vendor.VOIPNOW:
        return len({tuple(native.split("/", 2)[:2]) for native in natives})
    return len(natives)
