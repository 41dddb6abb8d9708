"""Live updates a client can trust, over real websockets (issue 14): one observer per
call whatever the documents, polling that stops with the call, a hold confirmed by the
vendor's push, versions, and callEvents resumed from a cursor (or told to RESYNC)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from app.calls import CallId, Vendor
from app.emulators.genesys_resources import CALLS_PATH
from app.emulators.huawei import HuaweiEmulator
from app.graphql.websocket import SubscriptionServer
from app.live.api import Live
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway, watcher_of
from tests.live.conftest import wait_until
from tests.ws import GraphQLWebSocket, graphql_ws

GENESYS = DEMO_IDS[Vendor.GENESYS]
VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]

EVENTS = """subscription($after: String) {
  callEvents(vendors: [VOIPNOW], after: $after) {
    kind cursor callId state version observedAt calls { id state version }
  }
}"""

HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"
RETRIEVE = "mutation($id: ID!) { retrieveCall(id: $id) { state } }"


@pytest.fixture
async def live(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(
        emulator_server, poll_interval=0.05, watch_grace=0, confirm_interval=0.05
    ) as gateway:
        yield gateway


def live_of(gateway: Gateway) -> Live:
    api = gateway.app_state.services.live
    assert isinstance(api, Live)
    return api


def talking_huawei_call(gateway: Gateway) -> str:
    store = gateway.emulator.emulator(HuaweiEmulator).calls
    record = store.add_call("88881234", "60001234")
    store.set_state(record.call_serial_no, 2)
    return record.call_serial_no


async def events_of(ws: GraphQLWebSocket, op_id: str, within: float = 0.6) -> list[dict[str, Any]]:
    """Every callEvents event that arrives until none has for `within` seconds."""
    events: list[dict[str, Any]] = []
    while True:
        try:
            payload = await ws.data(op_id, within=within)
        except TimeoutError:
            return events
        events.append(payload["data"]["callEvents"])


async def test_different_documents_on_one_call_share_one_observer(live: Gateway) -> None:
    call = f"huawei:{talking_huawei_call(live)}"
    documents = [
        "subscription($id: ID!) { callUpdated(id: $id) { id state } }",
        "subscription($id: ID!) { callUpdated(id: $id) { state vendorState version } }",
        "subscription($id: ID!) { callUpdated(id: $id) { id ... on HuaweiCall { caller } } }",
    ]
    async with graphql_ws(live.url) as a, graphql_ws(live.url) as b:
        for index, document in enumerate(documents):
            ws = a if index % 2 == 0 else b
            await ws.subscribe(str(index), document, {"id": call})
            await ws.data(str(index))
        server = live.app_state.subscriptions
        assert isinstance(server, SubscriptionServer)
        assert len(server.shared) == 3  # three executions, not one shared
        assert watcher_of(live).observers == 1
        live.control.requests.clear()
        await asyncio.sleep(1.0)  # about 20 poll intervals
        polls = live.control.count("huawei", path_contains="queryCallState")
        # One observer: about 20 (fewer on a busy machine); one per document: about 60.
        assert 3 <= polls <= 30


async def test_polling_stops_when_the_call_ends_within_the_grace_period(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(emulator_server, poll_interval=0.05, watch_grace=30) as gateway:
        serial = talking_huawei_call(gateway)
        async with graphql_ws(gateway.url) as ws:
            await ws.subscribe(
                "1",
                "subscription($id: ID!) { callUpdated(id: $id) { state } }",
                {"id": f"huawei:{serial}"},
            )
            assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "CONNECTED"
            gateway.emulator.emulator(HuaweiEmulator).calls.end_call(serial)
            assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "ENDED"
            assert await ws.receive() == {"id": "1", "type": "complete"}
        gateway.control.requests.clear()
        await asyncio.sleep(0.5)  # ten poll intervals; the grace period is 30 s
        assert gateway.control.count("huawei", path_contains="queryCallState") == 0
        assert watcher_of(gateway).observers == 0


async def test_a_genesys_hold_is_confirmed_by_the_push_not_by_polling(
    emulator_server: EmulatorServer,
) -> None:
    async with (
        serve_gateway(emulator_server, confirm_interval=0.05, confirm_timeout=3) as gateway,
        graphql_ws(gateway.url) as ws,
    ):
        await ws.subscribe(
            "1", "subscription($id: ID!) { callUpdated(id: $id) { state } }", {"id": GENESYS}
        )
        await ws.data("1")
        await wait_until(lambda: watcher_of(gateway).pushed(CallId.parse(GENESYS)))
        gateway.control.requests.clear()
        body = await gateway.client.execute(HOLD, {"id": GENESYS})
        assert body["data"]["holdCall"]["state"] == "HELD"
        assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "HELD"
        the_call = f"{CALLS_PATH}/{CallId.parse(GENESYS).native}"
        requests = [
            (r.method, r.path.removeprefix("/genesys"))
            for r in gateway.control.requests
            if r.vendor == "genesys"
        ]
        command = requests.index(("POST", the_call))
        reads = [r for r in requests[command + 1 :] if r == ("GET", the_call)]
        # The switch carries the hold out 0.3 s later: reading every 0.05 s would be ~6.
        assert len(reads) == 1


async def test_a_query_reports_the_version_a_subscriber_has(live: Gateway) -> None:
    query = "query($id: ID!) { call(id: $id) { state version observedAt } }"
    fresh = await live.client.execute(query, {"id": GENESYS})
    assert fresh["data"]["call"] == {"state": "CONNECTED", "version": 0, "observedAt": None}
    async with graphql_ws(live.url) as ws:
        await ws.subscribe(
            "1",
            "subscription($id: ID!) { callUpdated(id: $id) { state version observedAt } }",
            {"id": GENESYS},
        )
        followed = (await ws.data("1"))["data"]["callUpdated"]
        assert followed["version"] >= 1
        assert followed["observedAt"] is not None
        assert (await live.client.execute(query, {"id": GENESYS}))["data"]["call"] == followed
        await live.client.execute(HOLD, {"id": GENESYS})
        held = (await ws.data("1"))["data"]["callUpdated"]
        assert held["state"] == "HELD"
        assert held["version"] > followed["version"]
        assert (await live.client.execute(query, {"id": GENESYS}))["data"]["call"] == held


async def resume_gets_every_missed_event_once_in_order(first: Gateway, second: Gateway) -> None:
    """Subscribed on `first`, away while the call changes three times, back on `second`
    with the last cursor: the three changes, in order, once each, then live."""
    async with graphql_ws(first.url) as ws:
        await ws.subscribe("e", EVENTS)
        seen = (await ws.data("e", within=15))["data"]["callEvents"]  # a busy machine
        assert (seen["kind"], seen["callId"]) == ("CHANGE", VOIPNOW)
    for mutation, gateway in [(HOLD, first), (RETRIEVE, second), (HOLD, first)]:
        await gateway.client.execute(mutation, {"id": VOIPNOW})
    async with graphql_ws(second.url) as ws:
        await ws.subscribe("e", EVENTS, {"after": seen["cursor"]})
        missed = await events_of(ws, "e")
        assert [(e["kind"], e["callId"], e["state"]) for e in missed] == [
            ("CHANGE", VOIPNOW, "HELD"),
            ("CHANGE", VOIPNOW, "CONNECTED"),
            ("CHANGE", VOIPNOW, "HELD"),
        ]
        versions = [seen["version"]] + [e["version"] for e in missed]
        assert versions == list(range(versions[0], versions[0] + 4))  # one per change
        cursors = [seen["cursor"]] + [e["cursor"] for e in missed]
        assert len(set(cursors)) == 4
        await first.client.execute(RETRIEVE, {"id": VOIPNOW})
        [now] = await events_of(ws, "e")
        assert (now["state"], now["version"]) == ("CONNECTED", versions[-1] + 1)


async def test_resume_after_a_disconnect_gets_every_missed_event_once(live: Gateway) -> None:
    await resume_gets_every_missed_event_once_in_order(live, live)


async def test_a_replay_longer_than_the_send_queue_loses_nothing(
    emulator_server: EmulatorServer,
) -> None:
    # 12 missed events, a send queue of 3 data messages: the replay waits for the client
    # to read (an event stream has no "latest state wins"), it does not drop.
    async with serve_gateway(
        emulator_server, poll_interval=0.05, watch_grace=0, ws_send_queue=3
    ) as gateway:
        async with graphql_ws(gateway.url) as ws:
            await ws.subscribe("e", EVENTS)
            seen = (await ws.data("e", within=15))["data"]["callEvents"]
        for _ in range(6):
            for mutation in (HOLD, RETRIEVE):
                await gateway.client.execute(mutation, {"id": VOIPNOW})
        async with graphql_ws(gateway.url) as ws:
            await ws.subscribe("e", EVENTS, {"after": seen["cursor"]})
            missed = await events_of(ws, "e")
        assert [e["state"] for e in missed] == ["HELD", "CONNECTED"] * 6
        assert [e["version"] for e in missed] == list(
            range(seen["version"] + 1, seen["version"] + 13)
        )


async def test_two_tabs_resuming_from_one_cursor_each_get_the_whole_replay(
    live: Gateway,
) -> None:
    # The same document and cursor would share one execution; the second subscriber comes
    # after the replay went out, so sharing would leave it without the missed events.
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("e", EVENTS)
        seen = (await ws.data("e", within=15))["data"]["callEvents"]
    for mutation in (HOLD, RETRIEVE):
        await live.client.execute(mutation, {"id": VOIPNOW})
    async with graphql_ws(live.url) as first, graphql_ws(live.url) as second:
        await first.subscribe("e", EVENTS, {"after": seen["cursor"]})
        first_missed = await events_of(first, "e")
        await second.subscribe("e", EVENTS, {"after": seen["cursor"]})
        second_missed = await events_of(second, "e")
    assert [e["state"] for e in first_missed] == ["HELD", "CONNECTED"]
    assert second_missed == first_missed


async def test_a_cursor_older_than_the_retention_gets_resync_first(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(
        emulator_server, poll_interval=0.05, watch_grace=0, event_retention_count=2
    ) as gateway:
        async with graphql_ws(gateway.url) as ws:
            await ws.subscribe("e", EVENTS)
            seen = (await ws.data("e"))["data"]["callEvents"]
        for mutation in (HOLD, RETRIEVE, HOLD):
            await gateway.client.execute(mutation, {"id": VOIPNOW})
        async with graphql_ws(gateway.url) as ws:
            await ws.subscribe("e", EVENTS, {"after": seen["cursor"]})
            resync = (await ws.data("e"))["data"]["callEvents"]
            assert resync["kind"] == "RESYNC"
            assert (resync["callId"], resync["state"], resync["version"]) == (None, None, None)
            assert resync["calls"] == [
                {"id": VOIPNOW, "state": "HELD", "version": seen["version"] + 3}
            ]
            await gateway.client.execute(RETRIEVE, {"id": VOIPNOW})
            change = (await ws.data("e"))["data"]["callEvents"]
            assert (change["kind"], change["state"], change["calls"]) == (
                "CHANGE",
                "CONNECTED",
                None,
            )


async def test_a_malformed_cursor_is_bad_user_input(live: Gateway) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("e", EVENTS, {"after": "yesterday"})
        message = await ws.receive()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_call_events_resumes_from_the_last_event_id_and_tells_what_it_delivers(
    live: Gateway,
) -> None:
    """What the SSE transport relies on: without `after`, the context's last_event_id
    (a browser's Last-Event-ID) is the cursor; each event's cursor is put into the
    context's delivered_cursor just before it is sent (the SSE `id:` line)."""
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("e", EVENTS)
        seen = (await ws.data("e", within=15))["data"]["callEvents"]
    await live.client.execute(HOLD, {"id": VOIPNOW})
    context = live.app_state.services.context()
    context.last_event_id = seen["cursor"]
    server = live.app_state.subscriptions
    assert isinstance(server, SubscriptionServer)
    stream = await server.schema.subscribe(
        "subscription { callEvents(vendors: [VOIPNOW]) { cursor state } }",
        context_value=context,
    )
    assert not isinstance(stream, ExecutionResult), stream
    async with aclosing(stream):
        async with asyncio.timeout(5):
            result = await anext(stream)
        assert result.errors is None
        assert result.data is not None
        assert result.data["callEvents"]["state"] == "HELD"  # replayed: it came before
        assert context.delivered_cursor == result.data["callEvents"]["cursor"]
