"""The live API: what every other layer knows of live updates (resolvers, call control,
the composition root). One call followed, the events of every call resumed from a
cursor, a command's confirmation awaited, and the one current state per call.

`Live` wraps the watcher (observers, leases, the current states), the bus (typed events
between instances), the versions and the event log. Its guarantees, relied on by the
GraphQL layer and stated once here:

- `follow` listens before it reads (no gap), sends the current state first, then each
  change once; after a bus RESYNC it reads the call again, once; it never sends a
  version older than or equal to one it sent; it ends after ENDED.
- `events` replays from the log after the cursor, then goes live without a duplicate at
  the seam (it listens before replaying and skips live events at or before the last one
  replayed); a cursor the log no longer covers gets one `ResyncEvent` first, with the
  current state of every call in scope. A bus RESYNC replays from the last event seen.
- `confirm` (call control's `StateWaiter`) is answered by the bus event of the change
  when one comes, by reading the vendor otherwise — and only rarely while the call's
  vendor pushes its changes to this instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.adapters import Adapters, read_call, read_if_accepted
from app.calls import CallId, CallSnapshot, CallState
from app.errors import SwitchboardError
from app.live.bus import ALL_CALLS, Bus, Listener, Resync, call_channel
from app.live.codec import CallEvent
from app.live.event_log import Cursor, EventLog, parse_cursor
from app.live.watcher import Watcher

logger = logging.getLogger("switchboard.live")

# Which calls a callEvents subscriber gets (its filters and who it is); may await.
Accept = Callable[[CallSnapshot], bool | Awaitable[bool]]

# While a push stream reports the call, confirming reads again only this rarely: the
# push is the confirmation, a read only the safety net if it was lost.
PUSH_PATIENCE = 1.0


@dataclass(frozen=True, slots=True)
class ResyncEvent:
    """Events were missed and cannot be replayed: here is every call in scope as it is
    now, so the subscriber redraws. Resuming after `cursor` continues from here."""

    cursor: str
    calls: tuple[CallSnapshot, ...]
    at: datetime


StreamEvent = CallEvent | ResyncEvent


class Live:
    def __init__(
        self, adapters: Adapters, watcher: Watcher, *, confirm_interval: float = 0.2
    ) -> None:
        self.adapters = adapters
        self.watcher = watcher
        self.confirm_interval = confirm_interval

    @property
    def bus(self) -> Bus:
        return self.watcher.bus

    @property
    def log(self) -> EventLog:
        return self.watcher.log

    # -- the current state ----------------------------------------------------------------

    def current(self, call_id: CallId) -> CallSnapshot | None:
        """The call's latest state known to this process, with its version (None: not
        known). A dict lookup: queries use it for every call they read."""
        return self.watcher.current(call_id)

    def stamp(self, snapshot: CallSnapshot) -> CallSnapshot:
        """`snapshot` with the version and observedAt of its state when that state is the
        one known live (a fresh vendor read has none of its own)."""
        if snapshot.version:
            return snapshot
        known = self.watcher.current(snapshot.call_id)
        if known is None or known.state is not snapshot.state:
            return snapshot
        return dataclasses.replace(snapshot, version=known.version, observed_at=known.observed_at)

    async def publish(self, snapshot: CallSnapshot, before: CallSnapshot | None = None) -> None:
        """A change learnt outside the observers (a confirmed command): out at once."""
        await self.watcher.publish(snapshot, before)

    async def close(self) -> None:
        await self.watcher.close()

    # -- one call ---------------------------------------------------------------------------

    async def follow(self, call_id: CallId) -> AsyncGenerator[CallSnapshot, None]:
        """The call now, then each change; ends after ENDED. Use with
        `contextlib.aclosing` so that leaving early stops watching at once."""
        async with (
            self.bus.listen(call_channel(call_id)) as updates,  # before reading: no gap
            self.watcher.watching(call_id),
        ):
            last = await self._read(call_id)
            yield last
            while last.state is not CallState.ENDED:
                message = await updates.get()
                if isinstance(message, Resync):
                    latest = await self._reread(call_id)  # events may have been missed
                    if latest is None:
                        continue
                else:
                    latest = message.call
                # Changes only, never an older (or the same) version again.
                if latest.version > last.version and latest.state is not last.state:
                    last = latest
                    yield last

    async def _read(self, call_id: CallId) -> CallSnapshot:
        """The call from its vendor, published if news, so that it carries a version."""
        snapshot = await read_call(self.adapters, call_id)
        assert snapshot is not None
        return await self.watcher.publish(snapshot)

    async def _reread(self, call_id: CallId) -> CallSnapshot | None:
        try:
            return await self._read(call_id)
        except SwitchboardError as failed:
            # The observer goes on polling: its next change still comes.
            logger.info("follow %s: could not read it again: %s", call_id, failed.message)
            return None

    # -- every call -------------------------------------------------------------------------

    async def events(
        self, accept: Accept, after: str | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Changes of the calls `accept` admits: those after the cursor `after` first
        (BAD_USER_INPUT if it is malformed), then live. Use with `contextlib.aclosing`."""
        cursor = parse_cursor(after) if after is not None else None
        async with self.bus.listen(ALL_CALLS) as live, self.watcher.watching_everything():
            # The newest event replayed or received (where a replay after a bus resync
            # starts), and the end of the last replay: live events up to it were in it.
            # Only the latter skips live events: two calls' events can arrive out of
            # cursor order (each call's are in order), so the newest seen proves nothing.
            seen: Cursor | None = None
            replayed_until: Cursor | None = None
            if cursor is not None:
                replayed, seen = await self._replay(accept, cursor)
                replayed_until = seen
                for event in replayed:
                    yield event
            async for message in live:
                if isinstance(message, Resync):
                    if seen is not None:  # what went by meanwhile is in the log
                        replayed, seen = await self._replay(accept, seen)
                        replayed_until = seen
                        for event in replayed:
                            yield event
                    continue
                self.watcher.learn(message)
                at = _cursor_of(message)
                if replayed_until is not None and at is not None and at <= replayed_until:
                    continue  # replayed already
                if at is not None and (seen is None or at > seen):
                    seen = at
                if await _admits(accept, message.call):
                    yield message

    async def _replay(self, accept: Accept, cursor: Cursor) -> tuple[list[StreamEvent], Cursor]:
        """What the log has after `cursor` (or a ResyncEvent), and the last cursor it
        covers: live events up to there were replayed."""
        missed = await self.log.after(cursor)
        if missed is None:
            latest = await self.log.latest()
            calls = tuple([c for c in self._in_scope() if await _admits(accept, c)])
            return [ResyncEvent(latest, calls, datetime.now(UTC))], parse_cursor(latest)
        replayed: list[StreamEvent] = []
        for event in missed:
            self.watcher.learn(event)
            cursor = _cursor_of(event) or cursor
            if await _admits(accept, event.call):
                replayed.append(event)
        return replayed, cursor

    def _in_scope(self) -> list[CallSnapshot]:
        """Every call in progress this process knows, for a redraw."""
        return [c for c in self.watcher.known() if c.state is not CallState.ENDED]

    # -- confirmations ------------------------------------------------------------------------

    async def confirm(
        self, call_id: CallId, accept: Callable[[CallSnapshot | None], bool]
    ) -> CallSnapshot | None:
        """The first state of the call `accept` takes (None: the vendor no longer knows
        it): the bus event of the change (a push, another instance's confirmation), else
        the next read. Waits as long as it takes: the caller bounds it."""
        async with self.bus.listen(call_channel(call_id)) as events:
            while True:
                done, snapshot = await read_if_accepted(self.adapters, call_id, accept)
                if done:
                    return snapshot
                announced = await self._announced(call_id, events, accept)
                if announced is not None:
                    return announced

    async def _announced(
        self,
        call_id: CallId,
        events: Listener,
        accept: Callable[[CallSnapshot | None], bool],
    ) -> CallSnapshot | None:
        """The accepted state if the bus announces it before the next read is due."""
        loop = asyncio.get_running_loop()
        pause = max(self.confirm_interval, PUSH_PATIENCE) if self.watcher.pushed(call_id) else None
        deadline = loop.time() + (pause if pause is not None else self.confirm_interval)
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await events.get()
            except TimeoutError:
                return None
            if isinstance(message, Resync):
                return None  # missed events: read now
            if accept(message.call):
                return message.call


def _cursor_of(event: CallEvent) -> Cursor | None:
    if not event.cursor:
        return None
    with contextlib.suppress(SwitchboardError):
        return parse_cursor(event.cursor)
    return None


async def _admits(accept: Accept, call: CallSnapshot) -> bool:
    verdict = accept(call)
    if inspect.isawaitable(verdict):
        return bool(await verdict)
    return bool(verdict)
