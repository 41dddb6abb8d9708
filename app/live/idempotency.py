"""Idempotency keys shared by every gateway instance through Redis (see app/idempotency.py).

A claim is `SET NX EX`: of two instances that get the same key at once, one owns it. The
outcome replaces the pending record. When Redis cannot be reached the command is not
sent (it could be a repeat that must not dial again): SERVICE_UNAVAILABLE, retry safe.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar
from urllib.parse import urlsplit

from app.errors import StoreUnavailable
from app.idempotency import IdempotencyStore, MemoryIdempotency, Outcome
from app.live.codec import decode_snapshot, encode_snapshot
from app.live.redis_backend import REDIS_UNREACHABLE, command_client

KEY_PREFIX: Final = "switchboard:idempotency:"

T = TypeVar("T")


class RedisIdempotency:
    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        self._timeout = timeout
        self._redis = command_client(url, timeout)

    async def claim(self, key: str, fingerprint: str, ttl: float) -> Outcome | None:
        pending = _encode(Outcome(fingerprint))
        seconds = max(1, round(ttl))

        async def attempt() -> Outcome | None:
            if await self._redis.set(KEY_PREFIX + key, pending, nx=True, ex=seconds):
                return None
            held = await self._redis.get(KEY_PREFIX + key)
            # Expired between the two calls: claim again once.
            if held is None and await self._redis.set(
                KEY_PREFIX + key, pending, nx=True, ex=seconds
            ):
                return None
            return _decode(held) if held is not None else Outcome(fingerprint)

        return await self._call(attempt)

    async def settle(self, key: str, outcome: Outcome, ttl: float) -> None:
        text = _encode(outcome)

        async def attempt() -> None:
            await self._redis.set(KEY_PREFIX + key, text, ex=max(1, round(ttl)))

        await self._call(attempt)

    async def release(self, key: str) -> None:
        async def attempt() -> None:
            await self._redis.delete(KEY_PREFIX + key)

        await self._call(attempt)

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await attempt()
        except REDIS_UNREACHABLE as lost:
            raise StoreUnavailable(
                "The idempotency key store (Redis) cannot be reached: the command was not "
                "sent; try again shortly with the same idempotencyKey.",
                retrySafe=True,
            ) from lost


def idempotency_for(url: str) -> IdempotencyStore:
    """Redis when the bus is Redis (any instance answers a repeat), else in-process."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisIdempotency(url)
    return MemoryIdempotency()


def _encode(outcome: Outcome) -> str:
    return json.dumps(
        {
            "fingerprint": outcome.fingerprint,
            "pending": outcome.pending,
            "call": encode_snapshot(outcome.call) if outcome.call is not None else None,
            "message": outcome.message,
        },
        separators=(",", ":"),
    )


def _decode(text: bytes | str) -> Outcome:
    raw = json.loads(text)
    call = raw.get("call")
    return Outcome(
        fingerprint=raw["fingerprint"],
        pending=bool(raw.get("pending")),
        call=decode_snapshot(call) if call is not None else None,
        message=str(raw.get("message") or ""),
    )
