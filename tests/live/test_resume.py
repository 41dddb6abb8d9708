"""Live updates through a real Redis: callEvents resumed on the same instance or on
another (the event log is a Redis stream), versions monotonic across instances, and a
subscriber that re-reads its call after a Redis restart when nothing else would tell it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from app.calls import CallId, CallState
from app.emulators.huawei import HuaweiEmulator
from app.live.api import Live
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway
from tests.graphql.test_live_updates import (
    EVENTS,
    events_of,
    resume_gets_every_missed_event_once_in_order,
)
from tests.live.conftest import RedisServer, wait_until
from tests.ws import graphql_ws


@asynccontextmanager
async def instances(
    emulator_server: EmulatorServer, redis: RedisServer, count: int = 2, **overrides: Any
) -> AsyncIterator[list[Gateway]]:
    settings = {
        "broadcast_url": redis.url,
        "poll_interval": 0.05,
        "watch_grace": 0,
        "confirm_interval": 0.05,
        **overrides,
    }
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(serve_gateway(emulator_server, **settings))
            for _ in range(count)
        ]


def live_of(gateway: Gateway) -> Live:
    api = gateway.app_state.services.live
    assert isinstance(api, Live)
    return api


async def test_resume_on_the_same_instance_through_redis(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    async with instances(emulator_server, redis_server, count=1) as [gateway]:
        await resume_gets_every_missed_event_once_in_order(gateway, gateway)


async def test_another_instance_resumes_a_cursor_of_the_first(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    """Changes made through both instances: versions keep rising across them, and the
    second replays what the first handed out cursors for."""
    async with instances(emulator_server, redis_server) as (first, second):
        await resume_gets_every_missed_event_once_in_order(first, second)


async def test_a_subscriber_re_reads_its_call_after_a_redis_restart(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    """A poll-only call changes while Redis is down, and the observer sees it then: its
    event cannot go out, and once Redis is back the observer has no news to publish. Only
    the subscriber's own re-read (on the bus's RESYNC) tells it."""
    async with instances(emulator_server, redis_server, count=1, lease_ttl=10.0) as [gateway]:
        store = emulator_server.emulator(HuaweiEmulator).calls
        serial = store.add_call("88881234", "60001234", state=1).call_serial_no  # ringing
        call = f"huawei:{serial}"
        lease = f"call:{call}"
        async with graphql_ws(gateway.url) as ws:
            await ws.subscribe(
                "1",
                "subscription($id: ID!) { callUpdated(id: $id) { state version } }",
                {"id": call},
            )
            ringing = (await ws.data("1"))["data"]["callUpdated"]
            assert ringing["state"] == "RINGING"
            await wait_until(lambda: lease in gateway.app_state.services.watcher.leased)
            redis_server.stop()
            store.set_state(serial, 2)  # talking

            def observer_saw_it() -> bool:
                current = live_of(gateway).current(CallId.parse(call))
                return current is not None and current.state is CallState.CONNECTED

            await wait_until(observer_saw_it)
            redis_server.start()
            update = (await ws.data("1", within=20))["data"]["callUpdated"]
            assert update["state"] == "CONNECTED"
            assert update["version"] > ringing["version"]


async def test_an_event_subscriber_is_told_to_resync_after_a_redis_restart(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    """The restarted Redis has lost the event log: what went by meanwhile cannot be
    replayed, so the subscriber gets RESYNC with the calls as they are."""
    async with (
        instances(emulator_server, redis_server, count=1) as [gateway],
        graphql_ws(gateway.url) as ws,
    ):
        await ws.subscribe("e", EVENTS)
        seen = (await ws.data("e", within=15))["data"]["callEvents"]  # a busy machine
        redis_server.stop()
        redis_server.start()
        resync = (await ws.data("e", within=20))["data"]["callEvents"]
        assert resync["kind"] == "RESYNC"
        assert [c["id"] for c in resync["calls"]] == [seen["callId"]]
        assert await events_of(ws, "e") == []
