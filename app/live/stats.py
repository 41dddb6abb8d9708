"""Live counts for wallboards (callStats): calls per normalised state per vendor, and the
longest waiting (RINGING, DIALING) and held (HELD) times.

Computed once per distinct filter — vendors, extensions and the subscriber's visibility —
by one aggregator task that runs while the filter has subscribers, however many. The
aggregator reads no vendor: it counts the live layer's current states (`CallsNow`) and
follows their changes. It computes at most once per `interval` and pushes a value only
when something other than `at` changed: a count, or a longest time in whole seconds (so
while a call waits or is held, a value goes out every interval; a quiet board gets none).
A subscriber gets the latest value at once, then each new one; a slow subscriber skips to
the newest (counts are a state: only the latest matters).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.auth.parties import parties
from app.auth.principal import line
from app.calls import CallId, CallSnapshot, CallState, Vendor
from app.errors import BadUserInput
from app.live.bus import ALL_CALLS, Resync
from app.live.watcher import Watcher
from app.metrics import Sample

logger = logging.getLogger("switchboard.live")

# Listed in every vendor's byState, in this (the enum's) order: ENDED calls are not counted.
COUNTED_STATES: tuple[CallState, ...] = tuple(s for s in CallState if s is not CallState.ENDED)
WAITING_STATES = frozenset({CallState.RINGING, CallState.DIALING})

# Whether a principal may see a call (Context.may_see): a function of its visibility only.
Sees = Callable[[CallSnapshot], Awaitable[bool]]


# -- what is computed ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateCount:
    state: CallState
    count: int


@dataclass(frozen=True, slots=True)
class VendorCallStats:
    vendor: Vendor
    total: int
    by_state: tuple[StateCount, ...]
    longest_waiting_seconds: int | None  # None: no call waiting
    longest_held_seconds: int | None  # None: no call held


@dataclass(frozen=True, slots=True)
class CallStats:
    at: datetime  # when computed
    total: int
    by_vendor: tuple[VendorCallStats, ...]
    longest_waiting_seconds: int | None
    longest_held_seconds: int | None

    def same_as(self, other: CallStats | None) -> bool:
        """Equal but for `at`: nothing to push."""
        return other is not None and dataclasses.replace(other, at=self.at) == self


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """What one aggregator counts. `vendors`: in enum order; `extensions`: normalised
    numbers (None: every call); `visibility`: the principal's (None: every call, else its
    lines), as shared subscriptions key on it (app/graphql/websocket/sharing.py)."""

    vendors: tuple[Vendor, ...]
    extensions: frozenset[str] | None
    visibility: Hashable

    @classmethod
    def of(
        cls,
        vendors: Iterable[Vendor] | None,
        extensions: Iterable[str] | None,
        visibility: Hashable,
        *,
        configured: Iterable[Vendor],
        max_extensions: int,
    ) -> StatsFilter:
        """The filter for callStats' arguments; a filter that cannot match is refused
        (BAD_USER_INPUT) rather than counted as zeros forever."""
        if vendors is not None:
            chosen = set(vendors)
            if not chosen:
                raise BadUserInput("vendors, when given, must name at least one vendor.")
        else:
            chosen = set(configured)
        numbers: frozenset[str] | None = None
        if extensions is not None:
            given = list(extensions)
            if not given:
                raise BadUserInput("extensions, when given, must name at least one extension.")
            if len(given) > max_extensions:
                raise BadUserInput(
                    f"At most {max_extensions} extensions, got {len(given)}.",
                    limit=max_extensions,
                )
            numbers = frozenset(_number(text) for text in given)
            if "" in numbers:
                raise BadUserInput("An extension must have at least one digit or letter.")
        return cls(tuple(v for v in Vendor if v in chosen), numbers, visibility)

    def matches(self, call: CallSnapshot) -> bool:
        vendor = call.call_id.vendor
        if vendor not in self.vendors:
            return False
        if self.extensions is None:
            return True
        lines = parties(call)
        return any(line(vendor, number) in lines for number in self.extensions)


def _number(extension: str) -> str:
    """An extension normalised as the line rule does ("+1 (555) 0100" -> "15550100")."""
    return line(Vendor.ORACLE, extension).partition(":")[2]


# -- the source: the live layer's current states ------------------------------------------


@dataclass(frozen=True, slots=True)
class CallNow:
    """A call's current state and since when it has been in it."""

    call: CallSnapshot
    since: datetime


class CallsNow:
    """The one adapter between callStats and the live layer (today: the Watcher and the
    bus's channel of all calls). `following()` keeps every call the vendors can report
    observed and yields its changes; `snapshot()` is the current state of every call
    known, not ended. Since when a call is in its state is tracked here (first seen in
    that state, or when the event says it changed), shared by every aggregator."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self._since: dict[CallId, tuple[CallState, datetime]] = {}

    @property
    def vendors(self) -> tuple[Vendor, ...]:
        """The configured vendors, in enum order."""
        return tuple(v for v in Vendor if v in self.watcher.adapters.by_vendor)

    def snapshot(self) -> list[CallNow]:
        now = datetime.now(UTC)
        current = [self._seen(call, now) for call in self.watcher.current_calls()]
        known = {c.call.call_id for c in current}
        for call_id in [c for c in self._since if c not in known]:
            del self._since[call_id]  # ended or forgotten: keeps the table bounded
        return current

    @contextlib.asynccontextmanager
    async def following(self) -> AsyncIterator[AsyncIterator[CallNow | None]]:
        """Changes while the block runs: a call's new state, or None when changes may have
        been missed (re-read `snapshot()`). Listening starts before the block: no gap."""
        async with self.watcher.bus.listen(ALL_CALLS) as events, self.watcher.watching_everything():

            async def changes() -> AsyncIterator[CallNow | None]:
                async for message in events:
                    if isinstance(message, Resync):
                        yield None
                        continue
                    yield self._seen(message.call, message.at)

            yield changes()

    def _seen(self, call: CallSnapshot, at: datetime) -> CallNow:
        call_id = call.call_id
        if call.state is CallState.ENDED:
            self._since.pop(call_id, None)
            return CallNow(call, at)
        known = self._since.get(call_id)
        if known is None or known[0] is not call.state:
            known = self._since[call_id] = (call.state, at)
        return CallNow(call, known[1])


# -- one aggregator per filter ------------------------------------------------------------


class Latest:
    """What one subscriber has not received yet: the newest value only."""

    def __init__(self) -> None:
        self._value: CallStats | None = None
        self._ready = asyncio.Event()

    def put(self, value: CallStats) -> None:
        self._value = value
        self._ready.set()

    async def get(self) -> CallStats:
        while self._value is None:
            self._ready.clear()
            await self._ready.wait()
        value, self._value = self._value, None
        return value

    def __aiter__(self) -> Latest:
        return self

    async def __anext__(self) -> CallStats:
        return await self.get()


class Aggregator:
    """Counts the calls of one filter and pushes to its subscribers."""

    def __init__(self, source: CallsNow, key: StatsFilter, sees: Sees, interval: float) -> None:
        self.source = source
        self.key = key
        self.sees = sees
        self.interval = interval
        self.subscribers: dict[Latest, None] = {}
        self.latest: CallStats | None = None  # the last value pushed
        self.pushes = 0  # values pushed (tests, bench)
        self._counted: dict[CallId, CallNow] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="call-stats")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def counted(self) -> dict[CallId, CallState]:
        """The calls counted now, with their states (tests, debugging)."""
        return {call_id: now.call.state for call_id, now in self._counted.items()}

    def add(self, subscriber: Latest) -> None:
        self.subscribers[subscriber] = None
        if self.latest is not None:
            subscriber.put(self.latest)  # the current value at once

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _supervise(self) -> None:
        """Run until stopped; a failure (a bug) is logged and the counting starts over
        from the current states: a wallboard never freezes without a word."""
        while True:
            try:
                await self._run()
            except Exception:
                logger.exception("callStats aggregator failed; starting over")
            await asyncio.sleep(min(self.interval, 1.0))

    async def _run(self) -> None:
        async with self.source.following() as changes:
            await self._recount()
            first = self._compute()
            if not first.same_as(self.latest):  # after a restart, only news
                self._push(first)
            follower = asyncio.create_task(self._follow(changes))
            try:
                while True:
                    # Spaced by the interval whatever happens: at most one value per interval.
                    await asyncio.sleep(self.interval)
                    if not self._changed.is_set() and not self._timed():
                        await self._changed.wait()  # a quiet board: nothing until a change
                    if follower.done():
                        follower.result()  # its failure is ours
                        raise RuntimeError("callStats: the change stream ended")
                    self._changed.clear()
                    value = self._compute()
                    if not value.same_as(self.latest):
                        self._push(value)
            finally:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await follower

    async def _follow(self, changes: AsyncIterator[CallNow | None]) -> None:
        try:
            async for change in changes:
                if change is None:
                    await self._recount()
                else:
                    await self._apply(change)
                self._changed.set()
        finally:
            self._changed.set()  # wake the loop, which sees the stream gone

    async def _recount(self) -> None:
        # Built aside, then swapped: a value computed meanwhile sees the old counts whole.
        counted = {n.call.call_id: n for n in self.source.snapshot() if await self._counts(n)}
        self._counted = counted

    async def _apply(self, now: CallNow) -> None:
        if await self._counts(now):
            self._counted[now.call.call_id] = now
        else:
            self._counted.pop(now.call.call_id, None)

    async def _counts(self, now: CallNow) -> bool:
        call = now.call
        return (
            call.state is not CallState.ENDED
            and self.key.matches(call)
            and (self.key.visibility is None or await self.sees(call))
        )

    def _timed(self) -> bool:
        """Whether a call waits or is held: its seconds grow by themselves."""
        return any(
            n.call.state in WAITING_STATES or n.call.state is CallState.HELD
            for n in self._counted.values()
        )

    def _compute(self) -> CallStats:
        at = datetime.now(UTC)
        per_vendor: dict[Vendor, list[CallNow]] = {v: [] for v in self.key.vendors}
        for now in self._counted.values():
            per_vendor[now.call.call_id.vendor].append(now)
        by_vendor = tuple(_vendor_stats(v, counted, at) for v, counted in per_vendor.items())
        return CallStats(
            at=at,
            total=sum(v.total for v in by_vendor),
            by_vendor=by_vendor,
            longest_waiting_seconds=_longest(v.longest_waiting_seconds for v in by_vendor),
            longest_held_seconds=_longest(v.longest_held_seconds for v in by_vendor),
        )

    def _push(self, value: CallStats) -> None:
        self.latest = value
        self.pushes += 1
        for subscriber in self.subscribers:
            subscriber.put(value)


def _vendor_stats(vendor: Vendor, calls: list[CallNow], at: datetime) -> VendorCallStats:
    counts = {state: 0 for state in COUNTED_STATES}
    for now in calls:
        counts[now.call.state] += 1
    return VendorCallStats(
        vendor=vendor,
        total=len(calls),
        by_state=tuple(StateCount(state, n) for state, n in counts.items()),
        longest_waiting_seconds=_seconds(calls, WAITING_STATES, at),
        longest_held_seconds=_seconds(calls, frozenset({CallState.HELD}), at),
    )


def _seconds(calls: list[CallNow], states: frozenset[CallState], at: datetime) -> int | None:
    """Whole seconds the longest of `calls` in `states` has been in its state."""
    since = [now.since for now in calls if now.call.state in states]
    if not since:
        return None
    return max(0, math.floor((at - min(since)).total_seconds()))


def _longest(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


# -- the aggregators of a process ---------------------------------------------------------


class CallStatsHub:
    """Every running aggregator, by filter: one while the filter has subscribers."""

    def __init__(self, source: CallsNow, *, interval: float = 1.0) -> None:
        self.source = source
        self.interval = interval
        self.aggregators: dict[StatsFilter, Aggregator] = {}

    @classmethod
    def for_watcher(cls, watcher: Watcher, *, interval: float = 1.0) -> CallStatsHub:
        return cls(CallsNow(watcher), interval=interval)

    @contextlib.asynccontextmanager
    async def subscribe(self, key: StatsFilter, sees: Sees) -> AsyncIterator[Latest]:
        """The filter's values while the block runs. `sees`: any subscriber's, since it
        depends on the visibility only, which is part of the key."""
        aggregator = self.aggregators.get(key)
        if aggregator is None:
            aggregator = self.aggregators[key] = Aggregator(self.source, key, sees, self.interval)
            aggregator.start()
        subscriber = Latest()
        aggregator.add(subscriber)
        try:
            yield subscriber
        finally:
            aggregator.subscribers.pop(subscriber, None)
            if not aggregator.subscribers:
                if self.aggregators.get(key) is aggregator:
                    del self.aggregators[key]
                await aggregator.stop()

    async def close(self) -> None:
        for aggregator in list(self.aggregators.values()):
            await aggregator.stop()
        self.aggregators.clear()

    def samples(self) -> list[Sample]:
        return [
            (
                "switchboard_stats_aggregators",
                "callStats aggregators running: one per distinct filter with subscribers.",
                {},
                float(sum(1 for a in self.aggregators.values() if a.running)),
            )
        ]
