"""Placed calls (app/auth/placed.py) shared by every instance through Redis: the agent
who placed a call through one instance may follow it through another."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Final
from urllib.parse import urlsplit

from app.auth.placed import MemoryPlacedCalls, Placed, PlacedCalls
from app.live.redis_backend import REDIS_UNREACHABLE, command_client

KEY_PREFIX: Final = "switchboard:placed:"

logger = logging.getLogger("switchboard.live")


class RedisPlacedCalls:
    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        self._timeout = timeout
        self._redis = command_client(url, timeout)

    async def remember(self, call_id: str, placed: Placed, ttl: float) -> None:
        text = json.dumps({"sub": placed.sub, "lines": sorted(placed.lines)})
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.set(KEY_PREFIX + call_id, text, ex=max(1, round(ttl)))
        except REDIS_UNREACHABLE:
            # The call is placed; only who placed it is not shared. Its owner still sees it
            # where the vendor names its parties; an Oracle call needs calls:all then.
            logger.warning("could not remember who placed %s: Redis unreachable", call_id)

    async def recall(self, call_id: str) -> Placed | None:
        try:
            async with asyncio.timeout(self._timeout):
                text = await self._redis.get(KEY_PREFIX + call_id)
        except REDIS_UNREACHABLE:
            logger.warning("could not look up who placed %s: Redis unreachable", call_id)
            return None
        if text is None:
            return None
        try:
            held = json.loads(text)
            return Placed(str(held["sub"]), frozenset(str(n) for n in held["lines"]))
        except (ValueError, KeyError, TypeError):
            return None

    async def aclose(self) -> None:
        await self._redis.aclose()


def placed_calls_for(url: str) -> PlacedCalls:
    """Redis when the bus is Redis, else in-process."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisPlacedCalls(url)
    return MemoryPlacedCalls()
