"""GetCallID's search as Verba documents it (seed 002, Get Call ID page): which statuses
and combinations it takes, which parameters a query sends, and the state a found
recording is given."""

from __future__ import annotations

from collections.abc import Mapping

from app.adapters import RecordingQuery
from app.calls import CallId, CallState, Vendor, VerbaCall
from app.errors import BadUserInput

# The status a recording was found under; Verba itself knows no call state.
VERBA_STATES: Mapping[str, CallState] = {
    "ongoing": CallState.CONNECTED,
    "next": CallState.SCHEDULED,
    "last": CallState.ENDED,
}

# [doc] "The following valid values and value combinations apply": these and only these,
# a combination tried in the order given ("ongoing, next": ongoing first, then next).
DOCUMENTED_STATUSES: frozenset[tuple[str, ...]] = frozenset(
    {("ongoing",), ("next",), ("last",), ("ongoing", "next"), ("last", "ongoing")}
)


def search_parameters(query: RecordingQuery) -> dict[str, str]:
    """GetCallID's search parameters: only those the query gives. A query Verba would
    refuse is refused here, before any request."""
    unknown = [s for s in query.statuses if s not in VERBA_STATES]
    if unknown:
        raise BadUserInput(
            f"Unknown Verba status {unknown[0][:40]!r}: expected ongoing, next or last.",
            vendor=Vendor.VERBA.value,
        )
    if query.statuses and query.statuses not in DOCUMENTED_STATUSES:
        raise BadUserInput(
            "Verba takes the statuses ongoing, next or last, or the combinations "
            "[ongoing, next] and [last, ongoing]; not "
            f"[{', '.join(query.statuses)}].",
            vendor=Vendor.VERBA.value,
        )
    if not (query.extension or query.platform_call_id or query.native_id):
        raise BadUserInput(
            "A Verba recording lookup needs an extension, a platform call id or a native id.",
            vendor=Vendor.VERBA.value,
        )
    wire = {
        "extension": query.extension,
        "status": ",".join(query.statuses),
        "platformCallID": query.platform_call_id,
        "nativeID": query.native_id,
    }
    return {name: value for name, value in wire.items() if value}


def recording_from_reply(call_id: str, query: RecordingQuery) -> VerbaCall:
    """The recording GetCallID found: its state is the status it was asked and found under
    (unknown after a combination: Verba does not say which status matched)."""
    state, vendor_state = CallState.UNKNOWN, ",".join(query.statuses) or None
    if len(query.statuses) == 1:
        state = VERBA_STATES.get(query.statuses[0], CallState.UNKNOWN)
    return VerbaCall(
        call_id=CallId(Vendor.VERBA, call_id),
        state=state,
        vendor_state=vendor_state,
        verba_call_id=call_id,
        extension=query.extension,
        platform_call_id=query.platform_call_id,
        native_call_id=query.native_id,
    )
