"""Query root: single calls, batches of calls, active-call lists and recording lookups."""

from __future__ import annotations

import re
from collections.abc import Awaitable

import strawberry

from app.adapters import RecordingQuery
from app.auth.principal import Scope
from app.calls import CallId, CallSnapshot
from app.errors import BadUserInput, Forbidden, SwitchboardError
from app.graphql.context import Info
from app.graphql.types import Call, RecordingStatus, Vendor, VerbaCall

# Phone numbers, extensions (VoipNow "0003*210") and vendor call ids used as lookup keys.
_LOOKUP_VALUE = re.compile(r"[A-Za-z0-9*#+_.@-]{1,64}")


def _lookup_value(name: str, value: str | None) -> str | None:
    if value is not None and _LOOKUP_VALUE.fullmatch(value) is None:
        raise BadUserInput(
            f"Malformed {name}: expected 1 to 64 characters of letters, digits and * # + _ . @ -."
        )
    return value


async def _failed(error: SwitchboardError) -> CallSnapshot:
    raise error


@strawberry.type
class Query:
    @strawberry.field(description="One call by its global id; null (with NOT_FOUND) if unknown.")
    def call(self, info: Info, id: strawberry.ID) -> Call | None:
        # The loader's future itself, for graphql-core to await: an async resolver would
        # add two coroutines and Strawberry's async wrapper to every call(id).
        return info.context.call(CallId.parse(id))  # type: ignore[return-value]

    @strawberry.field(
        description=(
            "Calls by global id, in the order asked. Each distinct call is fetched once, "
            "batched per vendor; a null entry comes with an error naming its index."
        )
    )
    def calls(self, info: Info, ids: list[strawberry.ID]) -> list[Call | None]:
        limit = info.context.settings.limits.max_ids
        if len(ids) > limit:
            raise BadUserInput(f"Too many ids: {len(ids)} asked, at most {limit} per request.")
        # Every load is queued before anything is awaited, so each vendor gets one batch;
        # a call that is not the principal's is FORBIDDEN in its own entry.
        entries: list[Awaitable[CallSnapshot]] = []
        for text in ids:
            try:
                entries.append(info.context.call(CallId.parse(text)))
            except SwitchboardError as error:
                entries.append(_failed(error))
        return entries  # type: ignore[return-value]

    @strawberry.field(
        description=(
            "Calls in progress at a vendor with a list API (Genesys, VoipNow), optionally "
            "for one extension; NOT_SUPPORTED for the others."
        )
    )
    async def active_calls(
        self, info: Info, vendor: Vendor, extension: str | None = None
    ) -> list[Call]:
        context = info.context
        context.principal.require(Scope.READ)
        adapter = context.adapters[vendor]
        found = await adapter.active_calls(_lookup_value("extension", extension))
        loader = context.call_loader(vendor)
        visible = []
        for snapshot in found:
            if await context.may_see(snapshot):  # the others are simply left out
                loader.prime(snapshot.call_id.native, snapshot)
                visible.append(snapshot)
        return visible  # type: ignore[return-value]

    @strawberry.field(
        description=(
            "The Verba recording matching the criteria (Verba GetCallID): by extension and "
            "status, or by platform / native call id. Null when Verba finds none."
        )
    )
    async def recording(
        self,
        info: Info,
        extension: str | None = None,
        status: list[RecordingStatus] | None = None,
        platform_call_id: str | None = None,
        native_id: str | None = None,
    ) -> VerbaCall | None:
        query = RecordingQuery(
            extension=_lookup_value("extension", extension),
            statuses=tuple(s.value for s in status or ()),
            platform_call_id=_lookup_value("platformCallId", platform_call_id),
            native_id=_lookup_value("nativeId", native_id),
        )
        info.context.principal.require(Scope.READ)
        if not (query.extension or query.platform_call_id or query.native_id):
            raise BadUserInput("Give an extension, a platformCallId or a nativeId.")
        if len(query.statuses) > len(set(query.statuses)):
            raise BadUserInput("Each recording status may be given once.")
        lookup = info.context.adapters.recording_lookup()
        found = await lookup.find_recording(query)
        if found is not None and not await info.context.may_see(found):
            raise Forbidden("This recording is not of one of your lines (it needs calls:all).")
        return found  # type: ignore[return-value]
