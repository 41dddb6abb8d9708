"""/metrics: scraped and parsed by prometheus_client's own parser; the counters move with
what the gateway does (operations, vendor requests, commands, token fetches), states are
read at scrape time (breakers, the bus, watched calls, websockets)."""

from __future__ import annotations

import asyncio

from app.calls import Vendor
from app.emulators.control import Fault
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway
from tests.metrics import Samples, value
from tests.metrics import scrape as scrape_url
from tests.ws import graphql_ws


async def scrape(gateway: Gateway) -> Samples:
    return await scrape_url(gateway.client.session, gateway.url)


async def test_vendor_requests_and_commands_are_counted(gateway: Gateway) -> None:
    before = await scrape(gateway)
    await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { id } }", {"id": DEMO_IDS[Vendor.ORACLE]}
    )
    await gateway.client.execute(
        "mutation($id: ID!) { holdCall(id: $id) { state } }", {"id": DEMO_IDS[Vendor.GENESYS]}
    )
    after = await scrape(gateway)
    requests = "switchboard_vendor_requests_total"
    assert (
        value(after, requests, vendor="oracle", method="GET", status="2xx")
        == value(before, requests, vendor="oracle", method="GET", status="2xx") + 1
    )
    commands = "switchboard_commands_total"
    assert value(after, commands, vendor="genesys", operation="hold", outcome="confirmed") == (
        value(before, commands, vendor="genesys", operation="hold", outcome="confirmed") + 1
    )
    confirmations = "switchboard_command_confirmation_seconds_count"
    assert value(after, confirmations, vendor="genesys", operation="hold") >= 1


async def test_states_are_read_at_scrape_time(gateway: Gateway) -> None:
    samples = await scrape(gateway)
    for vendor in Vendor:
        assert value(samples, "switchboard_vendor_breaker_state", vendor=vendor.value) == 0.0
    assert value(samples, "switchboard_bus_connected", bus="memory") == 1.0
    names = {name for name, _ in samples}
    assert not any("call_id" in str(labels) for _, labels in samples)
    assert "switchboard_vendor_request_seconds_bucket" in names


async def test_websocket_gauges_follow_the_connections(gateway: Gateway) -> None:
    async with graphql_ws(gateway.url) as ws:
        await ws.subscribe(
            "1",
            "subscription($id: ID!) { callUpdated(id: $id) { id } }",
            {"id": DEMO_IDS[Vendor.GENESYS]},
        )
        await ws.data("1")
        samples = await scrape(gateway)
        assert value(samples, "switchboard_websocket_connections") == 1.0
        assert value(samples, "switchboard_subscriptions") == 1.0
        assert value(samples, "switchboard_shared_executions") == 1.0
    async with asyncio.timeout(5):  # the server ends its side of the connection
        while value(await scrape(gateway), "switchboard_websocket_connections"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


CALL = "query($id: ID!) { call(id: $id) { id } }"


async def test_operations_are_counted_by_type_and_outcome_and_timed(gateway: Gateway) -> None:
    before = await scrape(gateway)
    await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.ORACLE]})
    await gateway.client.execute(CALL, {"id": "oracle:NoSuchSession000000000000"})
    after = await scrape(gateway)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    operations = "switchboard_graphql_operations_total"
    assert grew(operations, type="query", outcome="ok") == 1
    assert grew(operations, type="query", outcome="NOT_FOUND") == 1
    assert grew("switchboard_graphql_operation_seconds_count", type="query") == 2


async def test_token_fetches_are_counted_once_per_token(gateway: Gateway) -> None:
    # A new gateway has no token yet: the first read fetches one (Huawei tokenByAkSk,
    # VoipNow OAuth client credentials), the second uses it.
    before = await scrape(gateway)
    for _ in range(2):
        await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.HUAWEI]})
        await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.VOIPNOW]})
    after = await scrape(gateway)
    refreshes = "switchboard_vendor_token_refreshes_total"
    for vendor in ("huawei", "voipnow"):
        grown = value(after, refreshes, vendor=vendor) - value(before, refreshes, vendor=vendor)
        assert grown == 1, vendor


async def test_watched_calls_say_how_each_is_observed(gateway: Gateway) -> None:
    subscription = "subscription($id: ID!) { callUpdated(id: $id) { id } }"
    async with graphql_ws(gateway.url) as ws:
        await ws.subscribe("1", subscription, {"id": DEMO_IDS[Vendor.ORACLE]})
        await ws.subscribe("2", subscription, {"id": DEMO_IDS[Vendor.GENESYS]})
        await ws.data("1")
        await ws.data("2")
        samples = await scrape(gateway)
    watched = "switchboard_watched_calls"
    assert value(samples, watched, vendor="oracle", observed="poll") == 1.0  # its status read
    assert value(samples, watched, vendor="genesys", observed="push") == 1.0  # its CometD stream


async def test_an_open_breaker_shows_in_its_gauge(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(
        emulator_server, vendor_timeout=0.2, breaker_failures=1, breaker_cooldown=3600
    ) as gateway:
        gateway.control.set_fault("oracle", Fault(status=503))
        await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.ORACLE]})
        samples = await scrape(gateway)
    state = "switchboard_vendor_breaker_state"
    assert value(samples, state, vendor="oracle") == 2.0  # open
    assert value(samples, state, vendor="huawei") == 0.0  # closed: the others untouched
