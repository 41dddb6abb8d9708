"""Commands per principal per minute (SWITCHBOARD_COMMAND_RATE): a fixed window per
minute, counted in-process here and in Redis (app/live/rate.py) when the bus is Redis, so
that a principal gets the same allowance whichever instance it reaches."""

from __future__ import annotations

import time
from typing import Protocol

from app.errors import RateLimited

WINDOW = 60  # seconds


class CommandRate(Protocol):
    async def check(self, sub: str) -> None:
        """Count one command for `sub`; RateLimited (not counted) when over the rate."""
        ...

    async def aclose(self) -> None: ...


def refusal(rate: int, now: float) -> RateLimited:
    retry_after = max(1, int(WINDOW - now % WINDOW + 0.999))
    return RateLimited(
        f"More than {rate} commands in a minute; try again in {retry_after} s.",
        retry_after=retry_after,
    )


class Unlimited:
    async def check(self, sub: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class MemoryCommandRate:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._window = -1
        self._counts: dict[str, int] = {}

    async def check(self, sub: str) -> None:
        now = time.time()
        window = int(now // WINDOW)
        if window != self._window:  # a new minute: every count starts again
            self._window = window
            self._counts = {}
        count = self._counts.get(sub, 0)
        if count >= self.rate:
            raise refusal(self.rate, now)
        self._counts[sub] = count + 1

    async def aclose(self) -> None:
        self._counts = {}
