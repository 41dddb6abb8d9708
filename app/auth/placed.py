"""Calls placed through switchboard, remembered with who placed them and their numbers:
the only way to tell whose an Oracle call is (its status names no party), and a second
way for every vendor (the agent who placed a call may follow it before the vendor lists
its parties). In-process here; shared through Redis (app/live/placed.py) when the bus is.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Placed:
    sub: str
    lines: frozenset[str]


class PlacedCalls(Protocol):
    async def remember(self, call_id: str, placed: Placed, ttl: float) -> None: ...

    async def recall(self, call_id: str) -> Placed | None: ...

    async def aclose(self) -> None: ...


class MemoryPlacedCalls:
    """Bounded: the oldest entries go first past `limit`; entries expire after `ttl`."""

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._entries: OrderedDict[str, tuple[float, Placed]] = OrderedDict()

    async def remember(self, call_id: str, placed: Placed, ttl: float) -> None:
        self._entries[call_id] = (time.monotonic() + ttl, placed)
        self._entries.move_to_end(call_id)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    async def recall(self, call_id: str) -> Placed | None:
        entry = self._entries.get(call_id)
        if entry is None:
            return None
        expires, placed = entry
        if expires < time.monotonic():
            del self._entries[call_id]
            return None
        return placed

    async def aclose(self) -> None:
        self._entries.clear()
