"""Subscription root: one call's updates, the events of every watched call, and live
counts for wallboards. Thin: the live API (app/live/api.py) does the watching, versions,
replay and resync; app/live/stats.py the counting."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime

import strawberry

from app import calls
from app.auth.principal import Scope
from app.calls import CallId, CallSnapshot, CallState
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.stats_types import CallStats
from app.graphql.types import Call
from app.live.api import ResyncEvent, StreamEvent
from app.live.stats import StatsFilter


@strawberry.enum(description="What a callEvents event is.")
class CallEventKind(enum.Enum):
    CHANGE = "CHANGE"
    RESYNC = "RESYNC"


@strawberry.type(
    description=(
        "A watched call changed state (CHANGE), or events were missed and cannot be "
        "replayed (RESYNC: `calls` has every call in scope as it is now; redraw)."
    )
)
class CallEvent:
    @strawberry.field
    def kind(self, parent: strawberry.Parent[StreamEvent]) -> CallEventKind:
        return CallEventKind.RESYNC if isinstance(parent, ResyncEvent) else CallEventKind.CHANGE

    @strawberry.field(
        description="Where this event is in the event log: pass it as `after` to resume."
    )
    def cursor(self, parent: strawberry.Parent[StreamEvent]) -> str:
        return parent.cursor

    @strawberry.field(description="Null on RESYNC.")
    def call_id(self, parent: strawberry.Parent[StreamEvent]) -> strawberry.ID | None:
        if isinstance(parent, ResyncEvent):
            return None
        return strawberry.ID(str(parent.call_id))

    @strawberry.field(description="The state before; null when the call was first seen.")
    def previous_state(self, parent: strawberry.Parent[StreamEvent]) -> CallState | None:
        return None if isinstance(parent, ResyncEvent) else parent.previous

    @strawberry.field(description="Null on RESYNC.")
    def state(self, parent: strawberry.Parent[StreamEvent]) -> CallState | None:
        return None if isinstance(parent, ResyncEvent) else parent.call.state

    @strawberry.field(description="The new state's version (see Call.version). Null on RESYNC.")
    def version(self, parent: strawberry.Parent[StreamEvent]) -> int | None:
        return None if isinstance(parent, ResyncEvent) else parent.call.version

    @strawberry.field(description="When switchboard saw the new state. Null on RESYNC.")
    def observed_at(self, parent: strawberry.Parent[StreamEvent]) -> datetime | None:
        return None if isinstance(parent, ResyncEvent) else parent.call.observed_at

    @strawberry.field(description="When switchboard saw the change (RESYNC: made it).")
    def at(self, parent: strawberry.Parent[StreamEvent]) -> datetime:
        return parent.at

    @strawberry.field(description="The call as it is after the change. Null on RESYNC.")
    def call(self, parent: strawberry.Parent[StreamEvent]) -> Call | None:
        return None if isinstance(parent, ResyncEvent) else parent.call  # type: ignore[return-value]

    @strawberry.field(
        description="RESYNC only: every call in progress in scope, as it is now. Null on CHANGE."
    )
    def calls(self, parent: strawberry.Parent[StreamEvent]) -> list[Call] | None:
        return list(parent.calls) if isinstance(parent, ResyncEvent) else None  # type: ignore[arg-type]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=("The call now, then once per state change; completes after the call ends.")
    )
    async def call_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Call, None]:
        call_id = CallId.parse(id)
        context = info.context
        if not context.principal.sees_all or not context.principal.allows(Scope.READ):
            await context.call(call_id)  # FORBIDDEN unless it is the principal's call
        async with aclosing(context.live.follow(call_id)) as updates:
            async for snapshot in updates:
                context.forget_loaded()  # each update reads linked data afresh
                yield snapshot  # type: ignore[misc]

    @strawberry.subscription(
        description=(
            "State changes of every watched call: calls followed with callUpdated, and "
            "every call the vendors with a list or push API report (Genesys, VoipNow). "
            "With `after` (a cursor), first the events since that one; a cursor older "
            "than the retention gets a RESYNC event first."
        )
    )
    async def call_events(
        self,
        info: Info,
        vendors: list[calls.Vendor] | None = None,
        states: list[CallState] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[CallEvent, None]:
        if vendors is not None and not vendors:
            raise BadUserInput("vendors, when given, must name at least one vendor.")
        context = info.context
        context.principal.require(Scope.READ)
        wanted_vendors = frozenset(vendors or ())
        wanted_states = frozenset(states or ())

        async def accept(call: CallSnapshot) -> bool:
            if wanted_vendors and call.call_id.vendor not in wanted_vendors:
                return False
            if wanted_states and call.state not in wanted_states:
                return False
            return await context.may_see(call)  # not one of the principal's calls: left out

        resume = after if after is not None else context.last_event_id
        async with aclosing(context.live.events(accept, resume)) as events:
            async for event in events:
                context.forget_loaded()
                context.delivered_cursor = event.cursor
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
