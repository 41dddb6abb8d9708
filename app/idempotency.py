"""Idempotency keys for commands that must never act twice (startCall places a call: a
client that retries after a lost answer would dial the customer again).

A client sends a key with the command. The first request with a key claims it; a repeat
with the same key and the same request gets the first request's outcome without a new
vendor request; a repeat with another request is refused. Outcomes are kept for
`ttl` seconds (24 h by default), in Redis when the gateway has one
(app/live/idempotency.py), so that any instance answers a repeat.

What is kept: the call that was placed, or "outcome unknown" (the vendor may have placed
it). A refusal the vendor made before acting (bad number, forbidden) is not kept: the key
is released and a retry may try again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.adapters import StartCall
from app.calls import CallSnapshot
from app.errors import BadUserInput, OutcomeUnknown

DAY = 24 * 3600.0
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the first request with a key came to. `call` None with `pending` False: the
    outcome is unknown (the vendor may have acted)."""

    fingerprint: str
    pending: bool = True
    call: CallSnapshot | None = None
    message: str = ""


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: str, ttl: float) -> Outcome | None:
        """None: this caller now owns `key` (pending). Else what the key holds already."""
        ...

    async def settle(self, key: str, outcome: Outcome, ttl: float) -> None:
        """Record the owner's outcome for repeats."""
        ...

    async def release(self, key: str) -> None:
        """Forget `key`: its request was refused before the vendor acted."""
        ...

    async def aclose(self) -> None: ...


def checked_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise BadUserInput(
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} printable characters "
            "(a UUID is a good choice)."
        )
    return key


def fingerprint(request: StartCall, scope: str = "") -> str:
    """The request, reduced to what makes it the same request (and who asked)."""
    text = json.dumps(
        [
            scope,
            request.vendor.value,
            request.to,
            request.from_,
            request.delay_seconds,
            request.contact_id,
            request.user_data,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class MemoryIdempotency:
    """One process's keys, oldest dropped first beyond `limit` (and after their TTL)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._entries: OrderedDict[str, tuple[float, Outcome]] = OrderedDict()
        self._lock = asyncio.Lock()

    async def claim(self, key: str, fingerprint: str, ttl: float) -> Outcome | None:
        async with self._lock:
            now = time.monotonic()
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
            self._put(key, Outcome(fingerprint), now + ttl)
            return None

    async def settle(self, key: str, outcome: Outcome, ttl: float) -> None:
        async with self._lock:
            self._put(key, outcome, time.monotonic() + ttl)

    async def release(self, key: str) -> None:
        async with self._lock:
            self._entries.pop(key, None)

    async def aclose(self) -> None:
        return None

    def _put(self, key: str, outcome: Outcome, expires: float) -> None:
        self._entries[key] = (expires, outcome)
        self._entries.move_to_end(key)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)


class IdempotentStarts:
    """startCall with idempotency keys: `place` sends a start (once), `find` looks for the
    call a start whose answer was lost placed (None where the vendor cannot list)."""

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        place: Callable[[StartCall], Awaitable[CallSnapshot]],
        find: Callable[[StartCall, datetime], Awaitable[CallSnapshot | None]],
        ttl: float = DAY,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self._place = place
        self._find = find
        # Starts in flight in this process, by key: a concurrent repeat waits for the
        # first one instead of asking the store in a loop.
        self._starting: dict[str, asyncio.Future[CallSnapshot]] = {}

    async def start(self, request: StartCall, key: str, scope: str) -> CallSnapshot:
        running = self._starting.get(key)
        if running is None:
            running = asyncio.ensure_future(self._start_once(request, key, scope))
            self._starting[key] = running
            running.add_done_callback(lambda done: self._started(key, done))
        # Shielded: one caller going away must not cancel the start for the others.
        return await asyncio.shield(running)

    def _started(self, key: str, done: asyncio.Future[CallSnapshot]) -> None:
        self._starting.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have gone away meanwhile

    async def _start_once(self, request: StartCall, key: str, scope: str) -> CallSnapshot:
        mine = fingerprint(request, scope)
        held = await self.store.claim(key, mine, self.ttl)
        if held is not None:
            return await self._repeat(request, key, mine, held)
        try:
            started = await self._place(request)
        except OutcomeUnknown as unknown:
            await self.store.settle(key, Outcome(mine, False, None, unknown.message), self.ttl)
            raise
        except BaseException:
            # Refused before the vendor acted (or never sent): the key is free again.
            await self.store.release(key)
            raise
        await self.store.settle(key, Outcome(mine, False, started), self.ttl)
        return started

    async def _repeat(self, request: StartCall, key: str, mine: str, held: Outcome) -> CallSnapshot:
        vendor = request.vendor.value
        if held.fingerprint != mine:
            raise BadUserInput(
                "This idempotencyKey was used for a different startCall request: use a new "
                "key for a new call.",
                vendor=vendor,
            )
        if held.call is not None:
            return held.call
        if held.pending:
            # Another instance is placing it right now: its outcome is not known here.
            raise OutcomeUnknown(
                "A startCall with this idempotencyKey is still in progress; ask again "
                "with the same key in a few seconds.",
                vendor=vendor,
            )
        # The first answer was lost. The vendor may show the call by now: look, never dial.
        found = await self._find(request, datetime.now(UTC) - timedelta(seconds=60))
        if found is not None:
            await self.store.settle(key, Outcome(mine, False, found), self.ttl)
            return found
        raise OutcomeUnknown(
            held.message or "The outcome of this startCall is unknown.", vendor=vendor
        )
