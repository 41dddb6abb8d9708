"""/metrics: scraped and parsed by prometheus_client's own parser; the counters move with
what the gateway does (vendor requests, commands), states are read at scrape time."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from app.calls import Vendor
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway
from tests.ws import graphql_ws


async def scrape(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with gateway.client.session.get(f"{gateway.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


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
