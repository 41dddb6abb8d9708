"""The one current state per call of this process, and publishing its changes.

A change is published once: numbered (app/live/versions.py), appended to the event log
(app/live/event_log.py) for its cursor, then put on the bus, on the call's channel and on
the channel of all calls. A state that is not news (the same as the one known, or one
another instance numbered already) publishes nothing. What other instances publish is
learnt from the bus, never going back to an older version.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

from app.calls import CallId, CallSnapshot
from app.live.bus import ALL_CALLS, Bus, Resync, call_channel
from app.live.codec import CallEvent, encode_event
from app.live.event_log import EventLog
from app.live.versions import Versions

logger = logging.getLogger("switchboard.live")


class CallStates:
    def __init__(
        self, bus: Bus, versions: Versions, log: EventLog, *, known_limit: int = 10_000
    ) -> None:
        self.bus = bus
        self.versions = versions
        self.log = log
        # The last state published (or seen on the bus) per call, least recent first.
        self._known: collections.OrderedDict[CallId, CallSnapshot] = collections.OrderedDict()
        self._limit = known_limit
        # Publishing one call's change awaits (version, log, bus): one at a time per call,
        # so that its versions and cursors go out in the order of its states.
        self._publishing: dict[CallId, _Turns] = {}

    def known(self) -> list[CallSnapshot]:
        """Every call's current state known here, least recently changed first."""
        return list(self._known.values())

    def current(self, call_id: CallId) -> CallSnapshot | None:
        """The call's last state published here or heard of on the bus (None: unknown)."""
        return self._known.get(call_id)

    async def publish(
        self, snapshot: CallSnapshot, before: CallSnapshot | None = None
    ) -> CallSnapshot:
        """Publish `snapshot` if its state is news; the call as now known, with its
        version. Mutations call this too, with the call as it was `before`, for a call
        nobody watched yet."""
        call_id = snapshot.call_id
        known = self._known.get(call_id)
        if known is not None and known.state is snapshot.state:
            return self._refreshed(known, snapshot)  # most polls: no news, no turn to wait
        async with self._turn(call_id):
            if before is not None:
                self._known.setdefault(call_id, before)
            known = self._known.get(call_id)
            if known is not None and known.state is snapshot.state:
                return self._refreshed(known, snapshot)
            floor = known.version if known else 0
            numbered = await self.versions.next(call_id, snapshot.state, floor)
            current = dataclasses.replace(
                snapshot, version=numbered.version, observed_at=numbered.observed_at
            )
            self._keep(current)
            if not numbered.new:
                # Another instance published this state already (we had not heard of it):
                # its version, and no event of ours.
                return current
            event = CallEvent(current, known.state if known else None, numbered.observed_at)
            try:
                event = dataclasses.replace(event, cursor=await self.log.append(event))
            except Exception:  # the log is a convenience; the event itself must go out
                logger.warning("could not log the event of %s", call_id, exc_info=True)
            text = encode_event(event)
            await self.bus.publish(call_channel(call_id), text)
            await self.bus.publish(ALL_CALLS, text)
            return current

    def _refreshed(self, known: CallSnapshot, snapshot: CallSnapshot) -> CallSnapshot:
        """No news: the fresher details, under the state's version and first sighting."""
        current = dataclasses.replace(
            snapshot, version=known.version, observed_at=known.observed_at
        )
        self._keep(current)
        return current

    def _keep(self, snapshot: CallSnapshot) -> None:
        call_id = snapshot.call_id
        self._known[call_id] = snapshot
        self._known.move_to_end(call_id)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)

    def learn(self, message: CallEvent | Resync) -> None:
        """What another instance published: remember it so as not to publish it again
        (an older version than the one known, arriving late, is ignored)."""
        if isinstance(message, CallEvent):
            known = self._known.get(message.call_id)
            if known is None or message.call.version > known.version:
                self._keep(message.call)

    @contextlib.asynccontextmanager
    async def _turn(self, call_id: CallId) -> AsyncIterator[None]:
        turns = self._publishing.get(call_id)
        if turns is None:
            turns = self._publishing[call_id] = _Turns()
        turns.waiting += 1
        try:
            async with turns.lock:
                yield
        finally:
            turns.waiting -= 1
            if turns.waiting == 0:
                del self._publishing[call_id]


class _Turns:
    """One call's publishing turn, and how many wait for it."""

    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
