"""RedisBackend against real Redis: delivery between instances, restarts, clean shutdown.

`asyncio.timeout(GUARD)` only turns a hang into a failure; no test asserts a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio
from broadcaster import Broadcast, Event

from app.live.redis_backend import RESYNC_CHANNEL, RESYNC_MESSAGE, BusUnavailable, RedisBackend
from tests.live.conftest import RedisServer, unique, wait_until

GUARD = 10.0
RESYNC = Event(RESYNC_CHANNEL, RESYNC_MESSAGE)


@asynccontextmanager
async def gateway(url: str) -> AsyncIterator[Broadcast]:
    """One gateway instance's bus: a Broadcast over a RedisBackend of its own."""
    broadcast = Broadcast(backend=RedisBackend(url))
    await broadcast.connect()
    try:
        yield broadcast
    finally:
        await broadcast.disconnect()


@asynccontextmanager
async def backend(url: str) -> AsyncIterator[RedisBackend]:
    bus = RedisBackend(url)
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.disconnect()


async def subscribers(url: str, channel: str) -> int:
    client = redis.asyncio.Redis.from_url(url)
    try:
        [(_, count)] = await client.pubsub_numsub(channel)
        return int(count)
    finally:
        await client.aclose()


async def _no_subscribers(url: str, channel: str) -> bool:
    return await subscribers(url, channel) == 0


async def test_backend_delivers_between_instances(redis_url: str) -> None:
    channel = unique("deliver")
    async with (
        gateway(redis_url) as receiver,
        gateway(redis_url) as sender,
        receiver.subscribe(channel) as subscriber,
    ):
        await sender.publish(channel, "hello")
        async with asyncio.timeout(GUARD):
            assert await subscriber.get() == Event(channel, "hello")


async def test_backend_subscribe_returns_once_redis_confirmed(redis_url: str) -> None:
    channel = unique("confirmed")
    async with backend(redis_url) as bus:
        await bus.subscribe(channel)
        # No waiting: once subscribe() returned, Redis counts the subscriber.
        assert await subscribers(redis_url, channel) == 1


async def test_backend_returns_only_subscribed_channels(redis_url: str) -> None:
    ours, other = unique("ours"), unique("other")
    async with backend(redis_url) as receiver, backend(redis_url) as sender:
        await receiver.subscribe(ours)
        await sender.publish(other, "not for us")
        await sender.publish(ours, "for us")
        async with asyncio.timeout(GUARD):
            assert await receiver.next_published() == Event(ours, "for us")


async def test_backend_unsubscribe_stops_delivery(redis_url: str) -> None:
    dropped, kept = unique("dropped"), unique("kept")
    async with backend(redis_url) as receiver, backend(redis_url) as sender:
        await receiver.subscribe(dropped)
        await receiver.subscribe(kept)
        await receiver.unsubscribe(dropped)
        await sender.publish(dropped, "after unsubscribe")
        await sender.publish(kept, "marker")
        # Published in this order on one connection: had the first come through, it
        # would be returned before the marker.
        async with asyncio.timeout(GUARD):
            assert await receiver.next_published() == Event(kept, "marker")


async def test_backend_unsubscribe_through_broadcast_stops_delivery(redis_url: str) -> None:
    channel = unique("left")
    async with gateway(redis_url) as receiver, gateway(redis_url) as sender:
        async with receiver.subscribe(channel) as subscriber:
            await sender.publish(channel, "one")
            async with asyncio.timeout(GUARD):
                assert await subscriber.get() == Event(channel, "one")
        # UNSUBSCRIBE is not awaited: give Redis the time to take it.
        await wait_until(lambda: _no_subscribers(redis_url, channel))


async def test_backend_resyncs_after_redis_restart(redis_server: RedisServer) -> None:
    channel = unique("restart")
    async with (
        gateway(redis_server.url) as receiver,
        gateway(redis_server.url) as sender,
        receiver.subscribe(RESYNC_CHANNEL) as resync,
        receiver.subscribe(channel) as subscriber,
    ):
        await sender.publish(channel, "before")
        async with asyncio.timeout(GUARD):
            assert await subscriber.get() == Event(channel, "before")

        redis_server.stop()
        with pytest.raises(BusUnavailable):
            async with asyncio.timeout(GUARD):
                await sender.publish(channel, "during")
        redis_server.start()

        async with asyncio.timeout(GUARD):
            assert await resync.get() == RESYNC
        await sender.publish(channel, "after")
        async with asyncio.timeout(GUARD):
            assert await subscriber.get() == Event(channel, "after")


async def test_backend_publish_while_redis_down_raises_bus_unavailable(
    redis_server: RedisServer,
) -> None:
    async with backend(redis_server.url) as bus:
        redis_server.stop()
        with pytest.raises(BusUnavailable) as raised:
            async with asyncio.timeout(GUARD):
                await bus.publish(unique("down"), "lost")
        assert isinstance(raised.value, ConnectionError)  # what app/live/bus.py catches
        assert "unreachable" in str(raised.value)


async def test_backend_next_published_returns_resync_after_redis_restart(
    redis_server: RedisServer,
) -> None:
    channel = unique("direct")
    async with backend(redis_server.url) as receiver, backend(redis_server.url) as sender:
        await receiver.subscribe(channel)
        redis_server.stop()
        redis_server.start()
        async with asyncio.timeout(GUARD):
            assert await receiver.next_published() == RESYNC
        # Resubscribed before the resync was handed out.
        assert await subscribers(redis_server.url, channel) == 1
        await sender.publish(channel, "after")
        async with asyncio.timeout(GUARD):
            assert await receiver.next_published() == Event(channel, "after")


async def test_backend_connects_when_redis_comes_up_late(redis_server: RedisServer) -> None:
    channel = unique("late")
    redis_server.stop()
    async with backend(redis_server.url) as receiver:
        assert not receiver.connected
        await receiver.subscribe(channel)  # tracked; subscribed once Redis is there
        redis_server.start()
        async with asyncio.timeout(GUARD):
            assert await receiver.next_published() == RESYNC
        await receiver.publish(channel, "hello")
        async with asyncio.timeout(GUARD):
            assert await receiver.next_published() == Event(channel, "hello")


async def test_backend_disconnect_leaves_no_tasks(redis_url: str) -> None:
    channel = unique("tasks")
    before = asyncio.all_tasks()
    async with backend(redis_url) as bus:
        await bus.subscribe(channel)
        await bus.publish(channel, "hello")
        async with asyncio.timeout(GUARD):
            assert await bus.next_published() == Event(channel, "hello")
        assert asyncio.all_tasks() != before  # the reader runs
    assert asyncio.all_tasks() == before


async def test_backend_disconnect_during_outage_leaves_no_tasks(
    redis_server: RedisServer,
) -> None:
    before = asyncio.all_tasks()
    async with backend(redis_server.url) as bus:
        await bus.subscribe(unique("outage"))
        redis_server.stop()
        await wait_until(lambda: not bus.connected)  # the reader noticed: it backs off now
    assert asyncio.all_tasks() == before
