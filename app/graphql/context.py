"""The per-request GraphQL context: adapters, limits, who is asking, and lazily created
loaders. Every read of a call goes through `call()`, which is where a principal that does
not see every call is kept to its own (app/auth/parties.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry

from app.adapters import Adapters
from app.auth.parties import parties
from app.auth.placed import MemoryPlacedCalls, PlacedCalls
from app.auth.principal import EVERYONE, Principal, Scope
from app.auth.rate import CommandRate, Unlimited
from app.call_control import CallControl
from app.calls import CallId, CallSnapshot, Vendor, VerbaCall
from app.config import Settings
from app.errors import Forbidden
from app.graphql.loaders import CallByNativeIdLoader, RecordingByExtensionLoader
from app.live.api import Live
from app.live.stats import CallStatsHub


@dataclass
class Context:
    adapters: Adapters
    settings: Settings
    control: CallControl
    live: Live
    stats: CallStatsHub
    principal: Principal = EVERYONE
    placed: PlacedCalls = field(default_factory=MemoryPlacedCalls)
    rate: CommandRate = field(default_factory=Unlimited)
    # The websocket `connection_init` payload; {} over HTTP.
    connection_params: dict[str, Any] = field(default_factory=dict)
    # The cursor of the event just delivered (callEvents sets it; SSE sends it as `id:`).
    delivered_cursor: str | None = None
    # An SSE client's Last-Event-ID: where a resumed stream picks up (as `after`).
    last_event_id: str | None = None
    _call_loaders: dict[Vendor, CallByNativeIdLoader] = field(default_factory=dict)
    _recording_loader: RecordingByExtensionLoader | None = None

    def call_loader(self, vendor: Vendor) -> CallByNativeIdLoader:
        # Created on first use: aiodataloader binds to the running loop in its constructor.
        loader = self._call_loaders.get(vendor)
        if loader is None:
            loader = CallByNativeIdLoader(
                self.adapters[vendor], max_batch_size=self.settings.limits.max_ids
            )
            self._call_loaders[vendor] = loader
        return loader

    def forget_loaded(self) -> None:
        """Drop what the loaders cached. A subscription keeps its context for its whole
        life; each of its events must read fresh data, not the first event's."""
        self._call_loaders.clear()
        self._recording_loader = None

    def call(self, call_id: CallId) -> Awaitable[CallSnapshot]:
        """The call, read through this request's loader; FORBIDDEN for a principal
        without calls:read, or whose lines are not among the call's parties."""
        principal = self.principal
        if principal.sees_all and Scope.READ in principal.scopes:
            # The loader's future itself: no coroutine per call on the common path.
            future: Awaitable[CallSnapshot] = self.call_loader(call_id.vendor).load(call_id.native)
            return future
        return self._own_call(call_id)

    async def _own_call(self, call_id: CallId) -> CallSnapshot:
        self.principal.require(Scope.READ)
        if call_id.vendor is Vendor.ORACLE and not await self._placed_by_lines(call_id):
            # Oracle's status names no party: decided without asking Oracle at all.
            raise _not_yours()
        snapshot: CallSnapshot = await self.call_loader(call_id.vendor).load(call_id.native)
        if not await self.may_see(snapshot):
            raise _not_yours()
        return snapshot

    async def load_call(self, call_id: CallId) -> CallSnapshot:
        return await self.call(call_id)

    async def may_see(self, snapshot: CallSnapshot) -> bool:
        """Whether the principal may see (and, with the scope, touch) this call."""
        principal = self.principal
        if principal.sees_all:
            return True
        if principal.owns_any(parties(snapshot)):
            return True
        return await self._placed_by_lines(snapshot.call_id)

    async def _placed_by_lines(self, call_id: CallId) -> bool:
        if self.principal.sees_all:
            return True
        placed = await self.placed.recall(str(call_id))
        return placed is not None and self.principal.owns_any(placed.lines)

    async def load_recording(self, extension: str) -> VerbaCall | None:
        if self._recording_loader is None:
            self._recording_loader = RecordingByExtensionLoader(
                self.adapters.recording_lookup(), max_batch_size=self.settings.limits.max_ids
            )
        recording: VerbaCall | None = await self._recording_loader.load(extension)
        return recording


def _not_yours() -> Forbidden:
    return Forbidden("This call is not on one of your lines (it needs calls:all).")


Info: TypeAlias = strawberry.Info[Context, None]
