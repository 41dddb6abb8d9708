"""Several gateway instances sharing a real Redis: events cross instances, exactly one
instance observes a call, another takes over when it goes, and a Redis restart neither
loses subscribers nor hangs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from app.calls import Vendor
from app.emulators.huawei import HuaweiEmulator
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway, watcher_of
from tests.live.conftest import RedisServer, wait_until
from tests.metrics import scrape, value
from tests.ws import graphql_ws

CALL_UPDATED = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"
HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"
GENESYS = DEMO_IDS[Vendor.GENESYS]


@asynccontextmanager
async def instances(
    emulator_server: EmulatorServer, redis: RedisServer, count: int = 2
) -> AsyncIterator[list[Gateway]]:
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                serve_gateway(
                    emulator_server,
                    broadcast_url=redis.url,
                    poll_interval=0.1,
                    lease_ttl=0.6,
                    watch_grace=0,
                    confirm_interval=0.05,
                )
            )
            for _ in range(count)
        ]


def talking_huawei_call(emulator_server: EmulatorServer) -> str:
    store = emulator_server.emulator(HuaweiEmulator).calls
    record = store.add_call("88881234", "60001234")
    store.set_state(record.call_serial_no, 2)
    return record.call_serial_no


async def test_hold_on_one_instance_reaches_a_subscriber_on_another(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    async with instances(emulator_server, redis_server) as (a, b), graphql_ws(a.url) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": GENESYS})
        assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "CONNECTED"
        await b.client.execute(HOLD, {"id": GENESYS})
        assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "HELD"


async def test_twenty_subscribers_on_two_instances_are_one_poller(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    serial = talking_huawei_call(emulator_server)
    call = f"huawei:{serial}"
    async with instances(emulator_server, redis_server) as gateways, AsyncExitStack() as stack:
        for index in range(20):
            ws = await stack.enter_async_context(graphql_ws(gateways[index % 2].url))
            await ws.subscribe(str(index), CALL_UPDATED, {"id": call})
            await ws.data(str(index))
        lease = f"call:{call}"
        await wait_until(lambda: any(lease in watcher_of(g).leased for g in gateways))
        # Exactly one instance observes; the other waits for the lease.
        assert sum(lease in watcher_of(g).leased for g in gateways) == 1
        # And /metrics says so: one instance polls the call, the other sees it leased.
        observed = []
        for g in gateways:
            samples = await scrape(g.client.session, g.url)
            observed += [
                how
                for how in ("poll", "lease_elsewhere")
                if value(samples, "switchboard_watched_calls", vendor="huawei", observed=how)
            ]
        assert sorted(observed) == ["lease_elsewhere", "poll"]
        emulator_server.control.requests.clear()
        await asyncio.sleep(1.0)  # ten poll intervals
        polls = emulator_server.control.count("huawei", path_contains="queryCallState")
        # One poller: about 10. Each instance polling: about 20; each subscriber: 200.
        assert 3 <= polls <= 14


async def test_another_instance_takes_over_when_the_observer_leaves(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    serial = talking_huawei_call(emulator_server)
    call = f"huawei:{serial}"
    lease = f"call:{call}"
    async with AsyncExitStack() as stack:
        gateways = await stack.enter_async_context(instances(emulator_server, redis_server))
        subscribers = []
        for gateway in gateways:
            ws = await stack.enter_async_context(graphql_ws(gateway.url))
            await ws.subscribe("1", CALL_UPDATED, {"id": call})
            await ws.data("1")
            subscribers.append(ws)
        await wait_until(lambda: any(lease in watcher_of(g).leased for g in gateways))
        observer = next(g for g in gateways if lease in watcher_of(g).leased)
        survivor = next(g for g in gateways if g is not observer)
        survivor_ws = subscribers[gateways.index(survivor)]
        await watcher_of(observer).close()  # the observing instance stops watching
        await wait_until(lambda: lease in watcher_of(survivor).leased)
        emulator_server.emulator(HuaweiEmulator).calls.end_call(serial)
        assert (await survivor_ws.data("1"))["data"]["callUpdated"]["state"] == "ENDED"


async def test_subscribers_resume_after_a_redis_restart(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    async with instances(emulator_server, redis_server) as (a, b), graphql_ws(a.url) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": GENESYS})
        assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "CONNECTED"
        redis_server.stop()
        # Held while Redis is down: instance B cannot tell instance A.
        body = await b.client.execute(HOLD, {"id": GENESYS})
        assert body["data"]["holdCall"]["state"] == "HELD"
        redis_server.start()
        # Back: A re-reads the call and its subscriber learns what it missed.
        update = await ws.data("1", within=20)
        assert update["data"]["callUpdated"]["state"] == "HELD"
        await b.client.execute(
            "mutation($id: ID!) { retrieveCall(id: $id) { state } }", {"id": GENESYS}
        )
        assert (await ws.data("1", within=20))["data"]["callUpdated"]["state"] == "CONNECTED"
