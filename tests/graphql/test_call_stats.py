"""callStats over real websockets (issue 14 item 5): counts of the demo calls, a hold
moving one to HELD, one aggregator for many subscriptions with different documents,
none left once they leave, an agent's own counts, late joiners of a shared execution
served at once, and bad filters refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from app.calls import Vendor
from app.config import Secret
from app.live.stats import CallStatsHub
from tests.auth.tokens import ALICE_LINES, SECRET, SUPERVISOR, hs256
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway
from tests.waiting import eventually
from tests.ws import LEGACY_WS, GraphQLWebSocket, graphql_ws

STATS = """subscription($vendors: [Vendor!], $extensions: [String!]) {
  callStats(vendors: $vendors, extensions: $extensions) {
    at total longestWaitingSeconds longestHeldSeconds
    byVendor { vendor total longestWaitingSeconds longestHeldSeconds byState { state count } }
  }
}"""
HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"
VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]

STATES = ["SCHEDULED", "DIALING", "RINGING", "CONNECTED", "HELD", "UNKNOWN"]


def by_state(**counts: int) -> list[dict[str, Any]]:
    return [{"state": state, "count": counts.get(state, 0)} for state in STATES]


@pytest.fixture
async def live(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(
        emulator_server,
        poll_interval=0.05,
        watch_grace=0,
        confirm_interval=0.05,
        stats_interval=0.05,
        ws_max_subscriptions=250,
    ) as gateway:
        yield gateway


def hub_of(gateway: Gateway) -> CallStatsHub:
    hub = gateway.app_state.services.stats
    assert isinstance(hub, CallStatsHub)
    return hub


async def stats_until(
    ws: GraphQLWebSocket, op_id: str, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first callStats value meeting `condition` (the first may come before the
    watcher's first reads)."""
    async with asyncio.timeout(10):
        while True:
            value: dict[str, Any] = (await ws.data(op_id))["data"]["callStats"]
            if condition(value):
                return value


async def test_counts_the_demo_calls_and_a_hold_moves_one_to_held(live: Gateway) -> None:
    variables = {"vendors": ["VOIPNOW", "GENESYS"]}
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("s", STATS, variables)
        value = await stats_until(ws, "s", lambda v: v["total"] == 2)
        assert isinstance(value.pop("at"), str)
        assert value == {
            "total": 2,
            "longestWaitingSeconds": None,
            "longestHeldSeconds": None,
            "byVendor": [
                {
                    "vendor": "VOIPNOW",
                    "total": 1,
                    "longestWaitingSeconds": None,
                    "longestHeldSeconds": None,
                    "byState": by_state(CONNECTED=1),
                },
                {
                    "vendor": "GENESYS",
                    "total": 1,
                    "longestWaitingSeconds": None,
                    "longestHeldSeconds": None,
                    "byState": by_state(CONNECTED=1),
                },
            ],
        }
        body = await live.client.execute(HOLD, {"id": VOIPNOW})
        assert body["data"]["holdCall"]["state"] == "HELD"
        held = await stats_until(ws, "s", lambda v: v["longestHeldSeconds"] is not None)
        voipnow, genesys = held["byVendor"]
        assert voipnow["byState"] == by_state(HELD=1)
        assert voipnow["longestHeldSeconds"] is not None
        assert genesys["byState"] == by_state(CONNECTED=1)
        assert genesys["longestHeldSeconds"] is None


async def test_two_hundred_subscriptions_one_aggregator_no_more_vendor_reads(
    emulator_server: EmulatorServer,
) -> None:
    """Different documents (so not one shared execution) on the same filter: one
    aggregator, and the vendors are read no more for them."""
    async with (
        serve_gateway(
            emulator_server, poll_interval=60, stats_interval=0.05, ws_max_subscriptions=250
        ) as gateway,
        graphql_ws(gateway.url) as ws,
    ):
        await ws.subscribe("first", STATS, {})
        await stats_until(ws, "first", lambda v: v["total"] == 2)
        control = gateway.control
        control.requests.clear()
        for index in range(199):
            document = f"subscription S{index} {{ callStats {{ total }} }}"
            await ws.subscribe(str(index), document)
            assert await ws.data(str(index)) == {"data": {"callStats": {"total": 2}}}
        assert len(gateway.app_state.subscriptions.shared) == 200
        hub = hub_of(gateway)
        assert len(hub.aggregators) == 1
        [aggregator] = hub.aggregators.values()
        assert len(aggregator.subscribers) == 200
        reads = control.count("voipnow", path_contains="phoneCalls") + control.count(
            "genesys", path_contains="/me/calls"
        )
        assert reads == 0


async def test_two_filters_two_aggregators_none_once_everyone_left(live: Gateway) -> None:
    hub = hub_of(live)
    async with graphql_ws(live.url) as a, graphql_ws(live.url, LEGACY_WS) as b:
        await a.subscribe("1", STATS, {"vendors": ["GENESYS"]})
        await b.subscribe("2", STATS, {"vendors": ["VOIPNOW"]})
        await stats_until(a, "1", lambda v: v["total"] == 1)
        await stats_until(b, "2", lambda v: v["total"] == 1)
        assert len(hub.aggregators) == 2
        await a.stop("1")
        await eventually(lambda: len(hub.aggregators) == 1)
    await eventually(lambda: not hub.aggregators)
    metrics = await live.client.session.get(f"{live.url}/metrics")
    assert "switchboard_stats_aggregators 0.0" in await metrics.text()


async def test_a_late_joiner_of_a_shared_execution_gets_the_value_at_once(
    emulator_server: EmulatorServer,
) -> None:
    # Counts that do not change: the joiner's only value is the one already sent.
    async with (
        serve_gateway(emulator_server, poll_interval=0.05, stats_interval=0.05) as gateway,
        graphql_ws(gateway.url) as first,
        graphql_ws(gateway.url) as late,
    ):
        document = "subscription { callStats(vendors: [GENESYS]) { total } }"
        await first.subscribe("1", document)
        await stats_until(first, "1", lambda v: v["total"] == 1)
        await late.subscribe("2", document)
        assert await late.data("2", within=2) == {"data": {"callStats": {"total": 1}}}
        assert len(gateway.app_state.subscriptions.shared) == 1


async def test_an_agent_counts_only_calls_on_its_lines(emulator_server: EmulatorServer) -> None:
    async with (
        serve_gateway(
            emulator_server,
            auth="jwt",
            jwt_secret=Secret(SECRET),
            poll_interval=0.05,
            watch_grace=0,
            stats_interval=0.05,
        ) as gateway,
        graphql_ws(
            gateway.url, init={"Authorization": "Bearer " + hs256(scope=SUPERVISOR)}
        ) as boss,
        graphql_ws(
            gateway.url, init={"Authorization": "Bearer " + hs256(lines=ALICE_LINES)}
        ) as alice,
    ):
        variables = {"vendors": ["VOIPNOW", "GENESYS"]}
        await boss.subscribe("b", STATS, variables)
        await alice.subscribe("a", STATS, variables)
        everything = await stats_until(boss, "b", lambda v: v["total"] == 2)
        assert [v["total"] for v in everything["byVendor"]] == [1, 1]
        # Alice's line is a view of the VoipNow demo call, none of the Genesys one.
        own = await stats_until(alice, "a", lambda v: v["total"] >= 1)
        assert [(v["vendor"], v["total"]) for v in own["byVendor"]] == [
            ("VOIPNOW", 1),
            ("GENESYS", 0),
        ]
        assert len(hub_of(gateway).aggregators) == 2


async def test_without_calls_read_it_is_forbidden(emulator_server: EmulatorServer) -> None:
    async with (
        serve_gateway(emulator_server, auth="jwt", jwt_secret=Secret(SECRET)) as gateway,
        graphql_ws(
            gateway.url, init={"Authorization": "Bearer " + hs256(scope="calls:control")}
        ) as ws,
    ):
        await ws.subscribe("s", STATS, {})
        message = await ws.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        assert not hub_of(gateway).aggregators


@pytest.mark.parametrize(
    "variables",
    [{"vendors": []}, {"extensions": []}, {"extensions": [f"{n}" for n in range(101)]}],
    ids=["no-vendor", "no-extension", "too-many-extensions"],
)
async def test_a_bad_filter_is_bad_user_input(live: Gateway, variables: dict[str, Any]) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("s", STATS, variables)
        message = await ws.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not hub_of(live).aggregators


async def test_many_state_changes_give_at_most_one_value_per_interval(
    emulator_server: EmulatorServer,
) -> None:
    async with AsyncExitStack() as stack:
        gateway = await stack.enter_async_context(
            serve_gateway(emulator_server, poll_interval=0.05, stats_interval=3600)
        )
        ws = await stack.enter_async_context(graphql_ws(gateway.url))
        await ws.subscribe("s", STATS, {"vendors": ["VOIPNOW"]})
        await ws.data("s")  # the first value, at once
        [aggregator] = hub_of(gateway).aggregators.values()
        await eventually(lambda: len(aggregator.counted()) == 1)
        for mutation in ["holdCall", "retrieveCall", "holdCall"]:
            await gateway.client.execute(
                f"mutation($id: ID!) {{ {mutation}(id: $id) {{ state }} }}", {"id": VOIPNOW}
            )
        await eventually(lambda: "HELD" in {s.name for s in aggregator.counted().values()})
        with pytest.raises(TimeoutError):
            await ws.receive(within=0.5)
        assert aggregator.pushes == 1
