"""Subscriptions over real websockets, both protocols: callUpdated and callEvents, shared
executions, caps, malformed messages, and nothing left behind when clients leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.calls import Vendor
from app.emulators.huawei import HuaweiEmulator
from app.emulators.oracle import OracleEmulator
from app.graphql.websocket import SubscriptionServer
from app.live.bus import Bus
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS, UNKNOWN_IDS
from tests.graphql.conftest import Gateway, serve_gateway, watcher_of
from tests.waiting import eventually
from tests.ws import LEGACY_WS, TRANSPORT_WS, graphql_ws, raw_ws

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]

CALL_UPDATED = """subscription($id: ID!) {
  callUpdated(id: $id) { id state vendorState }
}"""

CALL_EVENTS = """subscription($vendors: [Vendor!]) {
  callEvents(vendors: $vendors) { callId previousState state at call { id state } }
}"""

HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"


@pytest.fixture
async def live(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    """A gateway polling fast, stopping watchers at once, closing idle inits quickly."""
    async with serve_gateway(
        emulator_server,
        poll_interval=0.05,
        watch_grace=0,
        confirm_interval=0.05,
        ws_init_timeout=0.5,
        ws_max_subscriptions=3,
    ) as gateway:
        yield gateway


def server_of(gateway: Gateway) -> SubscriptionServer:
    server = gateway.app_state.subscriptions
    assert isinstance(server, SubscriptionServer)
    return server


def live_huawei_call(gateway: Gateway) -> str:
    """A Huawei call that is talking (the demo call has ended)."""
    record = gateway.emulator.emulator(HuaweiEmulator).calls.add_call("88881234", "60001234")
    gateway.emulator.emulator(HuaweiEmulator).calls.set_state(record.call_serial_no, 2)
    return f"huawei:{record.call_serial_no}"


def tasks_of_ours() -> list[asyncio.Task[Any]]:
    """Running tasks whose code is switchboard's (not the test's, uvicorn's or aiohttp's)."""
    return [
        task
        for task in asyncio.all_tasks()
        if "/app/" in getattr(task.get_coro(), "cr_code", eventually.__code__).co_filename
    ]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_call_updated_sends_the_call_then_each_change_then_completes(
    live: Gateway, protocol: str
) -> None:
    genesys = DEMO_IDS[Vendor.GENESYS]
    async with graphql_ws(live.url, protocol) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": genesys})
        first = await ws.data("1")
        assert first == {
            "data": {
                "callUpdated": {"id": genesys, "state": "CONNECTED", "vendorState": "Established"}
            }
        }
        await live.client.execute(HOLD, {"id": genesys})
        held = await ws.data("1")
        assert held["data"]["callUpdated"]["state"] == "HELD"
        await live.client.execute(
            "mutation($id: ID!) { hangupCall(id: $id) { state } }", {"id": genesys}
        )
        ended = await ws.data("1")
        assert ended["data"]["callUpdated"]["state"] == "ENDED"
        complete = await ws.receive()
        assert complete == {"id": "1", "type": "complete"}


async def test_call_updated_follows_a_polled_call_to_its_end(live: Gateway) -> None:
    oracle = DEMO_IDS[Vendor.ORACLE]
    store = live.emulator.emulator(OracleEmulator).calls
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("a", CALL_UPDATED, {"id": oracle})
        assert (await ws.data("a"))["data"]["callUpdated"]["state"] == "CONNECTED"
        store.end(oracle.split(":", 1)[1])  # the vendor ends it; only polling can tell
        ended = await ws.data("a")
        assert ended["data"]["callUpdated"] == {
            "id": oracle,
            "state": "ENDED",
            "vendorState": "disconnected",
        }
        assert await ws.receive() == {"id": "a", "type": "complete"}


async def test_call_updated_on_an_unknown_call_is_an_error(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("x", CALL_UPDATED, {"id": UNKNOWN_IDS[Vendor.HUAWEI]})
        message = await ws.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_call_updated_with_a_malformed_id_is_bad_user_input(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("x", CALL_UPDATED, {"id": "huawei:../../x"})
        message = await ws.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert live.control.requests == []


async def test_identical_subscriptions_share_one_execution(live: Gateway) -> None:
    call = live_huawei_call(live)
    async with graphql_ws(live.url) as a, graphql_ws(live.url, LEGACY_WS) as b:
        await a.subscribe("1", CALL_UPDATED, {"id": call})
        await b.subscribe("2", CALL_UPDATED, {"id": call})
        first_a, first_b = await a.data("1"), await b.data("2")
        assert first_a == first_b  # the late joiner got the latest payload at once
        assert len(server_of(live).shared) == 1
        await a.subscribe("other", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        await a.data("other")
        assert len(server_of(live).shared) == 2


async def test_many_subscribers_poll_the_vendor_once_per_interval(live: Gateway) -> None:
    call = live_huawei_call(live)
    async with graphql_ws(live.url) as first:
        await first.subscribe("0", CALL_UPDATED, {"id": call})
        await first.data("0")
        clients = [graphql_ws(live.url) for _ in range(19)]
        connections = [await c.__aenter__() for c in clients]
        try:
            for index, ws in enumerate(connections, start=1):
                await ws.subscribe(str(index), CALL_UPDATED, {"id": call})
                await ws.data(str(index))
            live.control.requests.clear()
            await asyncio.sleep(1.0)  # about 20 poll intervals
            polls = live.control.count("huawei", path_contains="queryCallState")
            # One observer for 20 subscribers: ~20 polls; one per subscriber would be ~400.
            assert 5 <= polls <= 40
            assert watcher_of(live).observers == 1
        finally:
            for client in clients:
                await client.__aexit__(None, None, None)


async def test_call_events_reports_watched_changes_with_the_previous_state(
    live: Gateway,
) -> None:
    voipnow = DEMO_IDS[Vendor.VOIPNOW]
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("e", CALL_EVENTS, {"vendors": ["VOIPNOW"]})
        seen = (await ws.data("e"))["data"]["callEvents"]
        assert seen["callId"] == voipnow
        assert seen["previousState"] is None
        assert seen["state"] == "CONNECTED"
        await live.client.execute(HOLD, {"id": voipnow})
        held = (await ws.data("e"))["data"]["callEvents"]
        assert (held["previousState"], held["state"]) == ("CONNECTED", "HELD")
        assert held["call"] == {"id": voipnow, "state": "HELD"}


async def test_call_events_filters_by_vendor(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("e", CALL_EVENTS, {"vendors": ["ORACLE"]})
        await live.client.execute(HOLD, {"id": DEMO_IDS[Vendor.VOIPNOW]})
        with pytest.raises(TimeoutError):
            await ws.receive(within=0.5)


async def test_query_over_the_websocket_answers_once_and_completes(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("q", '{ call(id: "oracle:1TfU02Xfme2GMuzfUh0rkdgvz4") { state } }')
        assert await ws.data("q") == {"data": {"call": {"state": "CONNECTED"}}}
        assert await ws.receive() == {"id": "q", "type": "complete"}


async def test_connection_init_payload_reaches_the_context(live: Gateway) -> None:
    async with graphql_ws(live.url, init={"authToken": "agent-7"}) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        await ws.data("1")
        [shared] = server_of(live).shared.values()
        assert shared.context.connection_params == {"authToken": "agent-7"}


async def test_subscriptions_per_connection_are_capped(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        for index in range(3):
            await ws.subscribe(str(index), CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
            await ws.data(str(index))
        await ws.subscribe("4", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        refused = await ws.receive()
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", 4400),
        ('{"no": "type"}', 4400),
        ('{"type": "nonsense"}', 4400),
        ('{"type": "connection_init", "payload": "string"}', 4400),
    ],
)
async def test_malformed_messages_close_only_that_connection(
    live: Gateway, protocol: str, message: str, code: int
) -> None:
    async with graphql_ws(live.url) as bystander:
        await bystander.subscribe("b", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        await bystander.data("b")
        async with raw_ws(live.url, protocol) as offender:
            await offender.connection.send(message)
            assert await offender.closed_with() == code
        await live.client.execute(HOLD, {"id": DEMO_IDS[Vendor.GENESYS]})
        assert (await bystander.data("b"))["data"]["callUpdated"]["state"] == "HELD"


async def test_subscribe_before_init_is_unauthorized(live: Gateway) -> None:
    async with raw_ws(live.url) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        assert await ws.closed_with() == 4401


async def test_second_init_is_refused(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.send({"type": "connection_init"})
        assert await ws.closed_with() == 4429


async def test_duplicate_operation_id_is_refused(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        await ws.data("1")
        await ws.subscribe("1", CALL_UPDATED, {"id": DEMO_IDS[Vendor.GENESYS]})
        assert await ws.closed_with() == 4409


async def test_no_init_in_time_closes_the_connection(live: Gateway) -> None:
    async with raw_ws(live.url) as ws:
        assert await ws.closed_with() == 4408


async def test_binary_message_closes_the_connection(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.connection.send(b"\x00\x01")
        assert await ws.closed_with() == 4400


async def test_unknown_subprotocol_is_refused(live: Gateway) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    url = live.url.replace("http://", "ws://") + "/graphql"
    with pytest.raises(InvalidStatus):
        async with connect(url, subprotocols=["chat"]):  # type: ignore[list-item]
            pass


async def test_clients_that_vanish_leave_nothing_behind(live: Gateway) -> None:
    call = live_huawei_call(live)
    for protocol in PROTOCOLS:
        async with graphql_ws(live.url, protocol) as ws:
            await ws.subscribe("1", CALL_UPDATED, {"id": call})
            await ws.data("1")
            await ws.subscribe("2", CALL_EVENTS, {})
    server, watcher = server_of(live), watcher_of(live)
    bus: Bus = watcher.bus
    await eventually(lambda: not server.connections and not server.shared)
    await eventually(lambda: watcher.observers == 0 and bus.channels == 0)
    await eventually(lambda: not tasks_of_ours())


async def test_hold_is_confirmed_by_the_vendor_notification(
    emulator_server: EmulatorServer,
) -> None:
    """With reads far apart, only Genesys' CometD event can confirm the hold in time."""
    genesys = DEMO_IDS[Vendor.GENESYS]
    async with (
        serve_gateway(emulator_server, confirm_timeout=3, confirm_interval=60) as gateway,
        graphql_ws(gateway.url) as ws,
    ):
        await ws.subscribe("1", CALL_UPDATED, {"id": genesys})  # the call is watched: push
        await ws.data("1")
        body = await gateway.client.execute(HOLD, {"id": genesys})
        assert body["data"]["holdCall"]["state"] == "HELD"
        assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "HELD"


async def test_each_update_reads_linked_data_afresh(live: Gateway) -> None:
    """The subscription's context lives as long as it does: its loaders must not serve
    the first event's recording to later events."""
    from app.emulators.verba import GENESYS_DEMO_RECORDING_ID, VerbaEmulator

    genesys = DEMO_IDS[Vendor.GENESYS]
    query = """subscription($id: ID!) {
      callUpdated(id: $id) { state ... on GenesysCall { recording { callId } } }
    }"""
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", query, {"id": genesys})
        first = (await ws.data("1"))["data"]["callUpdated"]
        assert first["recording"] == {"callId": GENESYS_DEMO_RECORDING_ID}
        live.emulator.emulator(VerbaEmulator).end_recording(GENESYS_DEMO_RECORDING_ID)
        await live.client.execute(HOLD, {"id": genesys})
        second = (await ws.data("1"))["data"]["callUpdated"]
        assert second == {"state": "HELD", "recording": None}
