"""Leases, so that exactly one gateway instance observes a given call.

An instance observes a call only while it holds the call's lease: it `acquire`s it with a
TTL, `renew`s it well within that TTL (every ttl/3, say), stops observing as soon as
`renew` returns False, and `release`s it when done. A lease nobody renews expires, and
another instance takes over.

`RedisLeases` shares leases between instances (SET NX PX; renew and release are Lua
compare-and-set on the owner, so an instance never extends or deletes a lease it lost).
When Redis cannot be reached, acquire and renew answer False within about `timeout`
seconds: an instance that cannot reach Redis must assume it holds nothing (another one
may take over once Redis is back and the lease has expired). `MemoryLeases` serves a
single process. `leases_for(url)` picks by URL scheme, like the bus.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, Protocol, TypeVar
from urllib.parse import urlsplit

from app.live.redis_backend import REDIS_UNREACHABLE, command_client, redacted

logger = logging.getLogger("switchboard.live.leases")

KEY_PREFIX: Final = "switchboard:lease:"

T = TypeVar("T")

# KEYS[1] the lease, ARGV[1] our owner id, ARGV[2] the TTL in milliseconds.
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] the lease, ARGV[1] our owner id.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases(Protocol):
    owner: str  # who this instance is, as stored in the leases it holds

    async def acquire(self, key: str, ttl: float) -> bool:
        """True if this instance holds `key` for `ttl` seconds now (renewed if it held it)."""
        ...

    async def renew(self, key: str, ttl: float) -> bool:
        """Extend our lease to `ttl` seconds from now; False if it is not ours (any more)."""
        ...

    async def release(self, key: str) -> None:
        """Give the lease up, if it is still ours; a lease lost meanwhile is left alone."""
        ...

    async def aclose(self) -> None: ...


def default_owner() -> str:
    """Unique per process start: host, pid, and a random part for pid reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _millis(ttl: float) -> int:
    if ttl <= 0:
        raise ValueError(f"lease TTL must be positive, got {ttl!r}")
    return max(1, round(ttl * 1000))


class RedisLeases:
    def __init__(self, url: str, owner: str | None = None, *, timeout: float = 1.0) -> None:
        self.url = url
        self.owner = owner or default_owner()
        self._timeout = timeout
        # All three operations are safe to repeat; asyncio.timeout bounds the whole call.
        self._redis = command_client(url, timeout)
        # EVALSHA, loading the script again when a restarted Redis has forgotten it.
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._unreachable = False  # logged once per outage

    async def acquire(self, key: str, ttl: float) -> bool:
        millis = _millis(ttl)

        async def attempt() -> bool:
            if await self._redis.set(KEY_PREFIX + key, self.owner, nx=True, px=millis):
                return True
            # Taken: by us (then this renews it) or by someone else (then it fails).
            return bool(await self._renew(keys=[KEY_PREFIX + key], args=[self.owner, millis]))

        return await self._call("acquire", key, attempt, unreachable=False)

    async def renew(self, key: str, ttl: float) -> bool:
        millis = _millis(ttl)

        async def attempt() -> bool:
            return bool(await self._renew(keys=[KEY_PREFIX + key], args=[self.owner, millis]))

        return await self._call("renew", key, attempt, unreachable=False)

    async def release(self, key: str) -> None:
        async def attempt() -> None:
            await self._release(keys=[KEY_PREFIX + key], args=[self.owner])

        # Unreachable: nothing to do, the lease expires by itself.
        await self._call("release", key, attempt, unreachable=None)

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _call(
        self, operation: str, key: str, attempt: Callable[[], Awaitable[T]], *, unreachable: T
    ) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                result = await attempt()
        except REDIS_UNREACHABLE as lost:
            if not self._unreachable:
                self._unreachable = True
                logger.warning(
                    "leases: Redis at %s unreachable (%s on %s %r: %s); holding no lease",
                    redacted(self.url),
                    type(lost).__name__,
                    operation,
                    key,
                    lost,
                )
            return unreachable
        if self._unreachable:
            self._unreachable = False
            logger.info("leases: Redis at %s reachable again", redacted(self.url))
        return result


class MemoryLeases:
    """Leases within one process, on a monotonic clock (injectable for tests).

    Instances given the same `table` behave like instances sharing one Redis.
    """

    def __init__(
        self,
        owner: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        table: dict[str, tuple[str, float]] | None = None,
    ) -> None:
        self.owner = owner or default_owner()
        self._clock = clock
        self._table: dict[str, tuple[str, float]] = {} if table is None else table

    def _holder(self, key: str, now: float) -> str | None:
        held = self._table.get(key)
        if held is None:
            return None
        owner, expires = held
        if expires <= now:
            del self._table[key]  # expired, as Redis would have dropped it
            return None
        return owner

    async def acquire(self, key: str, ttl: float) -> bool:
        _millis(ttl)
        now = self._clock()
        if self._holder(key, now) not in (None, self.owner):
            return False
        self._table[key] = (self.owner, now + ttl)
        return True

    async def renew(self, key: str, ttl: float) -> bool:
        _millis(ttl)
        now = self._clock()
        if self._holder(key, now) != self.owner:
            return False
        self._table[key] = (self.owner, now + ttl)
        return True

    async def release(self, key: str) -> None:
        if self._holder(key, self._clock()) == self.owner:
            del self._table[key]

    async def aclose(self) -> None:
        pass


def leases_for(url: str) -> Leases:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryLeases()
    if scheme in ("redis", "rediss"):
        return RedisLeases(url)
    raise ValueError(f"unsupported leases URL scheme {scheme!r}: use memory:// or redis://")
