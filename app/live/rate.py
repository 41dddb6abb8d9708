"""The command rate (app/auth/rate.py) counted in Redis: `INCR` of a key per principal and
minute, expiring with the minute, so every instance counts against one allowance. When
Redis cannot be reached the command is refused (SERVICE_UNAVAILABLE, retry safe) rather
than let through uncounted."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Final
from urllib.parse import urlsplit

from app.auth.rate import WINDOW, CommandRate, MemoryCommandRate, Unlimited, refusal
from app.errors import StoreUnavailable
from app.live.redis_backend import REDIS_UNREACHABLE, command_client

KEY_PREFIX: Final = "switchboard:rate:"


class RedisCommandRate:
    def __init__(self, url: str, rate: int, *, timeout: float = 1.0) -> None:
        self.rate = rate
        self._timeout = timeout
        self._redis = command_client(url, timeout)

    async def check(self, sub: str) -> None:
        now = time.time()
        # The sub hashed: a key name is no place for an e-mail address.
        who = hashlib.sha256(sub.encode()).hexdigest()[:32]
        key = f"{KEY_PREFIX}{who}:{int(now // WINDOW)}"
        try:
            async with asyncio.timeout(self._timeout):
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, WINDOW + 5)
                    count, _ = await pipe.execute()
        except REDIS_UNREACHABLE as lost:
            raise StoreUnavailable(
                "The command rate store (Redis) cannot be reached: the command was not "
                "sent; try again shortly.",
                retrySafe=True,
            ) from lost
        if int(count) > self.rate:
            raise refusal(self.rate, now)

    async def aclose(self) -> None:
        await self._redis.aclose()


def command_rate_for(url: str, rate: int) -> CommandRate:
    """Unlimited when `rate` is 0; Redis when the bus is Redis, else in-process."""
    if rate <= 0:
        return Unlimited()
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisCommandRate(url, rate)
    return MemoryCommandRate(rate)
