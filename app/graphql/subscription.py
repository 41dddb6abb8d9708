"""Subscription root: one call's updates, the events of every watched call, and live
counts for wallboards."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from app import calls
from app.auth.principal import Scope
from app.call_control import read_call
from app.calls import CallId, CallSnapshot, CallState
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.stats_types import CallStats
from app.graphql.types import Call
from app.live.bus import ALL_CALLS, Resync, call_channel
from app.live.codec import CallEvent as DomainCallEvent
from app.live.codec import decode_event
from app.live.stats import StatsFilter


@strawberry.type(description="A watched call changed state.")
class CallEvent:
    @strawberry.field
    def call_id(self, parent: strawberry.Parent[DomainCallEvent]) -> strawberry.ID:
        return strawberry.ID(str(parent.call_id))

    @strawberry.field(description="The state before; null when the call was first seen.")
    def previous_state(self, parent: strawberry.Parent[DomainCallEvent]) -> CallState | None:
        return parent.previous

    @strawberry.field
    def state(self, parent: strawberry.Parent[DomainCallEvent]) -> CallState:
        return parent.call.state

    @strawberry.field(description="When switchboard saw the change.")
    def at(self, parent: strawberry.Parent[DomainCallEvent]) -> datetime:
        return parent.at

    @strawberry.field(description="The call as it is after the change.")
    def call(self, parent: strawberry.Parent[DomainCallEvent]) -> Call:
        return parent.call  # type: ignore[return-value]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=("The call now, then once per state change; completes after the call ends.")
    )
    async def call_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Call, None]:
        call_id = CallId.parse(id)
        if not info.context.principal.sees_all or not info.context.principal.allows(Scope.READ):
            await info.context.call(call_id)  # FORBIDDEN unless it is the principal's call
        live = info.context.live
        async with (
            live.bus.listen(call_channel(call_id)) as updates,  # before reading: no gap
            live.watching(call_id),
        ):
            snapshot = await _current(info, call_id)
            yield snapshot  # type: ignore[misc]
            while snapshot.state is not CallState.ENDED:
                info.context.forget_loaded()
                message = await updates.get()
                latest = (
                    await _current(info, call_id)
                    if isinstance(message, Resync)
                    else decode_event(message).call
                )
                if latest.state is not snapshot.state:
                    snapshot = latest
                    yield snapshot  # type: ignore[misc]

    @strawberry.subscription(
        description=(
            "State changes of every watched call: calls followed with callUpdated, and "
            "every call the vendors with a list or push API report (Genesys, VoipNow)."
        )
    )
    async def call_events(
        self,
        info: Info,
        vendors: list[calls.Vendor] | None = None,
        states: list[CallState] | None = None,
    ) -> AsyncGenerator[CallEvent, None]:
        if vendors is not None and not vendors:
            raise BadUserInput("vendors, when given, must name at least one vendor.")
        context = info.context
        context.principal.require(Scope.READ)
        live = context.live
        async with live.bus.listen(ALL_CALLS) as events, live.watching_everything():
            async for message in events:
                if isinstance(message, Resync):
                    continue  # nothing to re-read for a stream of changes
                event = decode_event(message)
                if vendors and event.call_id.vendor not in vendors:
                    continue
                if states and event.call.state not in states:
                    continue
                if not await context.may_see(event.call):
                    continue  # not one of the principal's calls: left out
                info.context.forget_loaded()
                yield event  # type: ignore[misc]

    @strawberry.subscription(
        description=(
            "Live counts for wallboards: calls per state per vendor, and the longest "
            "waiting and held times, now and whenever they change — at most once per "
            "SWITCHBOARD_STATS_INTERVAL. `extensions`: only calls with one of these "
            "extensions (lines) among their parties. A principal without calls:all "
            "counts only its own calls."
        )
    )
    async def call_stats(
        self,
        info: Info,
        vendors: list[calls.Vendor] | None = None,
        extensions: list[str] | None = None,
    ) -> AsyncGenerator[CallStats, None]:
        context = info.context
        context.principal.require(Scope.READ)
        hub = context.stats
        key = StatsFilter.of(
            vendors,
            extensions,
            context.principal.visibility,
            configured=hub.source.vendors,
            max_extensions=context.settings.limits.max_ids,
        )
        async with hub.subscribe(key, context.may_see) as values:
            async for value in values:
                yield value  # type: ignore[misc]


async def _current(info: Info, call_id: CallId) -> CallSnapshot:
    snapshot = await read_call(info.context.adapters, call_id)
    assert snapshot is not None
    return snapshot
