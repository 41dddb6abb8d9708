"""Where automatic persisted queries are kept: document text by its sha256 hash, in
process (an LRU) or, when the bus is Redis, in Redis, so that a hash registered through
one instance is known to every other (a client's next request may reach any of them).

Redis going away is not worth a refusal: a lookup that fails is a miss (the client sends
the document again, Apollo's protocol), a registration that fails is skipped (the
document still runs); both are logged once per outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Final, Protocol
from urllib.parse import urlsplit

from app.live.redis_backend import REDIS_UNREACHABLE, command_client, redacted

KEY_PREFIX: Final = "switchboard:apq:"

logger = logging.getLogger("switchboard.live.apq")


class PersistedQueryStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, document: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryPersistedQueries:
    """The `size` most recently used documents of this process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    async def put(self, sha256: str, document: str) -> None:
        self._documents[sha256] = document
        self._documents.move_to_end(sha256)
        while len(self._documents) > self.size:
            self._documents.popitem(last=False)

    async def aclose(self) -> None:
        self._documents.clear()


class RedisPersistedQueries:
    """`switchboard:apq:<sha256>` → document, each kept `ttl` seconds after it was last
    registered (a client that keeps using a hash re-registers it after a miss)."""

    def __init__(self, url: str, ttl: float, *, timeout: float = 1.0) -> None:
        self._url = url
        self._ttl = max(1, round(ttl))
        self._timeout = timeout
        self._redis = command_client(url, timeout)
        self._unreachable = False

    async def get(self, sha256: str) -> str | None:
        try:
            async with asyncio.timeout(self._timeout):
                held = await self._redis.get(KEY_PREFIX + sha256)
        except REDIS_UNREACHABLE as lost:
            self._lost(lost)
            return None
        self._unreachable = False
        if held is None:
            return None
        return held.decode() if isinstance(held, bytes) else str(held)

    async def put(self, sha256: str, document: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.set(KEY_PREFIX + sha256, document, ex=self._ttl)
        except REDIS_UNREACHABLE as lost:
            self._lost(lost)
            return
        self._unreachable = False

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _lost(self, error: BaseException) -> None:
        if not self._unreachable:
            self._unreachable = True
            logger.warning(
                "persisted queries: Redis at %s unreachable (%s); hashes are misses until it "
                "is back",
                redacted(self._url),
                type(error).__name__,
            )


def persisted_queries_for(url: str, *, size: int, ttl: float) -> PersistedQueryStore:
    """Redis when the bus is Redis (every instance knows a hash), else in-process."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisPersistedQueries(url, ttl)
    return MemoryPersistedQueries(size)
