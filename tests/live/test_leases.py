"""Leases: one holder at a time, on real Redis (restarts included) and in memory.

`asyncio.timeout(GUARD)` only turns a hang into a failure; no test asserts a duration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio

from app.live.leases import KEY_PREFIX, MemoryLeases, RedisLeases, leases_for
from tests.clock import ManualClock
from tests.live.conftest import RedisServer, unique, wait_until

GUARD = 10.0
LONG = 30.0  # a TTL no test outlives


@asynccontextmanager
async def two_instances(url: str) -> AsyncIterator[tuple[RedisLeases, RedisLeases]]:
    first, second = RedisLeases(url, owner="gateway-a"), RedisLeases(url, owner="gateway-b")
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_leases_only_one_owner_acquires(redis_url: str) -> None:
    key = unique("lease")
    async with two_instances(redis_url) as (a, b):
        assert await a.acquire(key, LONG)
        assert not await b.acquire(key, LONG)
        assert not await b.renew(key, LONG)
        await a.release(key)


async def test_redis_leases_store_the_owner_under_the_prefix(redis_url: str) -> None:
    key = unique("lease")
    async with two_instances(redis_url) as (a, _):
        assert await a.acquire(key, LONG)
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            assert await client.get(KEY_PREFIX + key) == b"gateway-a"
        finally:
            await client.aclose()
        await a.release(key)


async def test_redis_leases_holder_renews_and_reacquires(redis_url: str) -> None:
    key = unique("lease")
    async with two_instances(redis_url) as (a, b):
        assert await a.acquire(key, LONG)
        assert await a.renew(key, LONG)
        assert await a.acquire(key, LONG)  # acquiring what we hold renews it
        assert not await b.acquire(key, LONG)
        await a.release(key)


async def test_redis_leases_expire_when_not_renewed(redis_url: str) -> None:
    key = unique("lease")
    async with two_instances(redis_url) as (a, b):
        assert await a.acquire(key, 0.3)
        await wait_until(lambda: b.acquire(key, LONG))  # once a stops renewing
        assert not await a.renew(key, LONG)  # lost for good: renewing does not steal it back
        await b.release(key)


async def test_redis_leases_release_lets_another_acquire(redis_url: str) -> None:
    key = unique("lease")
    async with two_instances(redis_url) as (a, b):
        assert await a.acquire(key, LONG)
        await a.release(key)
        assert await b.acquire(key, LONG)
        assert not await a.renew(key, LONG)
        await b.release(key)


async def test_redis_leases_release_by_non_owner_does_nothing(redis_url: str) -> None:
    key = unique("lease")
    async with two_instances(redis_url) as (a, b):
        assert await a.acquire(key, LONG)
        await b.release(key)
        assert not await b.acquire(key, LONG)
        assert await a.renew(key, LONG)
        await a.release(key)


async def test_redis_leases_hold_nothing_while_redis_down(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = unique("lease")
    caplog.set_level(logging.INFO, logger="switchboard.live.leases")
    async with two_instances(redis_server.url) as (a, _):
        assert await a.acquire(key, LONG)
        redis_server.stop()
        async with asyncio.timeout(GUARD):
            assert not await a.renew(key, LONG)
            assert not await a.acquire(key, LONG)
            await a.release(key)  # nothing to do, and no exception
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1  # once per outage, not once per call

        redis_server.start()
        assert await a.acquire(key, LONG)
        assert any("reachable again" in r.getMessage() for r in caplog.records)
        await a.release(key)


async def test_redis_leases_reject_non_positive_ttl(redis_url: str) -> None:
    async with two_instances(redis_url) as (a, _):
        with pytest.raises(ValueError, match="positive"):
            await a.acquire(unique("lease"), 0)


async def test_memory_leases_only_one_owner_until_expiry() -> None:
    clock = ManualClock()
    table: dict[str, tuple[str, float]] = {}
    a = MemoryLeases("gateway-a", clock=clock, table=table)
    b = MemoryLeases("gateway-b", clock=clock, table=table)
    assert await a.acquire("call", 10)
    assert not await b.acquire("call", 10)
    clock.advance(9)
    assert await a.renew("call", 10)  # now held until 19 s from the start
    clock.advance(9)
    assert not await b.acquire("call", 10)
    clock.advance(1)
    assert not await a.renew("call", 10)  # expired: renewing is too late
    assert await b.acquire("call", 10)
    assert not await a.acquire("call", 10)


async def test_memory_leases_acquire_again_renews() -> None:
    clock = ManualClock()
    a = MemoryLeases("gateway-a", clock=clock)
    assert await a.acquire("call", 10)
    clock.advance(9)
    assert await a.acquire("call", 10)
    clock.advance(9)
    assert await a.renew("call", 10)


async def test_memory_leases_release_only_by_owner() -> None:
    clock = ManualClock()
    table: dict[str, tuple[str, float]] = {}
    a = MemoryLeases("gateway-a", clock=clock, table=table)
    b = MemoryLeases("gateway-b", clock=clock, table=table)
    assert await a.acquire("call", 10)
    await b.release("call")
    assert not await b.acquire("call", 10)
    await a.release("call")
    assert await b.acquire("call", 10)


async def test_leases_for_picks_by_scheme(redis_url: str) -> None:
    assert isinstance(leases_for("memory://"), MemoryLeases)
    redis_leases = leases_for(redis_url)
    try:
        assert isinstance(redis_leases, RedisLeases)
    finally:
        await redis_leases.aclose()
    with pytest.raises(ValueError, match="scheme"):
        leases_for("http://localhost")
