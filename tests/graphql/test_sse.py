"""GraphQL over server-sent events (/graphql/stream, graphql-sse distinct connections
mode) over real HTTP: subscriptions, queries and mutations as event streams, refusals
before a stream opens, credentials and origins, keep-alives, the stream cap, clients
going away and the drain."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest

from app.calls import Vendor
from app.config import Secret
from app.emulators.huawei import HuaweiEmulator
from app.emulators.oracle import OracleEmulator
from app.graphql.sse import EventStreamServer
from tests.auth.http import codes, request
from tests.auth.tokens import SECRET, hs256
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway, watcher_of
from tests.sse import EventStreamReader, open_stream, stream_url
from tests.waiting import eventually

GENESYS = DEMO_IDS[Vendor.GENESYS]
VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]
CALL_UPDATED = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"
CALL_EVENTS = "subscription { callEvents { cursor callId state } }"
HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"
CALL = "query($id: ID!) { call(id: $id) { id state } }"
TRUSTED = "https://wallboard.example"
ALICE_LINES = ["voipnow:0003*024"]


@pytest.fixture
async def live(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(
        emulator_server,
        poll_interval=0.05,
        watch_grace=0,
        confirm_interval=0.05,
        sse_keep_alive=0.2,
        sse_max_streams=3,
        allowed_origins=TRUSTED,
    ) as gateway:
        yield gateway


@pytest.fixture
async def secured(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(
        emulator_server,
        auth="jwt",
        jwt_secret=Secret(SECRET),
        poll_interval=0.05,
        watch_grace=0,
        confirm_interval=0.05,
    ) as gateway:
        yield gateway


def streams_of(gateway: Gateway) -> EventStreamServer:
    server = gateway.app_state.streams
    assert isinstance(server, EventStreamServer)
    return server


def live_huawei_call(gateway: Gateway) -> str:
    """A Huawei call that is talking, followed by polling: one observer of its own."""
    calls = gateway.emulator.emulator(HuaweiEmulator).calls
    record = calls.add_call("88881234", "60001234")
    calls.set_state(record.call_serial_no, 2)
    return f"huawei:{record.call_serial_no}"


async def metric(gateway: Gateway, name: str) -> float:
    async with gateway.client.session.get(f"{gateway.url}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


# -- streams ------------------------------------------------------------------------------


async def test_call_updated_over_get_sends_the_call_then_its_changes(live: Gateway) -> None:
    async with open_stream(live.url, CALL_UPDATED, {"id": GENESYS}) as stream:
        assert stream.status == 200
        assert stream.response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert await stream.result() == {
            "data": {"callUpdated": {"id": GENESYS, "state": "CONNECTED"}}
        }
        await live.client.execute(HOLD, {"id": GENESYS})
        assert await stream.result() == {"data": {"callUpdated": {"id": GENESYS, "state": "HELD"}}}


async def test_call_updated_over_post_follows_a_change_the_vendor_made(live: Gateway) -> None:
    oracle = DEMO_IDS[Vendor.ORACLE]
    async with open_stream(live.url, CALL_UPDATED, {"id": oracle}, method="POST") as stream:
        assert await stream.result() == {
            "data": {"callUpdated": {"id": oracle, "state": "CONNECTED"}}
        }
        # The vendor ends it: only the watcher's polling can tell.
        live.emulator.emulator(OracleEmulator).calls.end(oracle.split(":", 1)[1])
        assert await stream.result() == {"data": {"callUpdated": {"id": oracle, "state": "ENDED"}}}
        await stream.completes()


async def test_a_query_is_one_next_then_complete(live: Gateway) -> None:
    async with open_stream(live.url, CALL, {"id": VOIPNOW}) as stream:
        assert await stream.result() == {"data": {"call": {"id": VOIPNOW, "state": "CONNECTED"}}}
        await stream.completes()


async def test_a_mutation_over_post_runs_and_its_change_reaches_a_subscriber(
    live: Gateway,
) -> None:
    async with open_stream(live.url, CALL_UPDATED, {"id": VOIPNOW}) as follower:
        assert (await follower.result())["data"]["callUpdated"]["state"] == "CONNECTED"
        async with open_stream(live.url, HOLD, {"id": VOIPNOW}, method="POST") as command:
            assert await command.result() == {"data": {"holdCall": {"state": "HELD"}}}
            await command.completes()
        assert (await follower.result())["data"]["callUpdated"]["state"] == "HELD"


async def test_a_mutation_over_get_is_refused_unrun(live: Gateway) -> None:
    answer = await request(
        "GET", stream_url(live.url, HOLD, {"id": GENESYS}), headers={"Accept": "text/event-stream"}
    )
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    assert codes(answer.body) == ["BAD_USER_INPUT"]
    assert [r for r in live.control.requests if r.method == "POST"] == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("subscription { callUpdated(id: ", "GRAPHQL_PARSE_FAILED"),
        ("subscription { callUpdated(id: 1) { nope } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["syntax", "validation"],
)
async def test_a_bad_document_is_answered_in_the_stream_coded(
    live: Gateway, query: str, code: str
) -> None:
    # The protocol: errors before execution go through the accepted stream (EventSource
    # could not read a 400's body), then `complete`.
    async with open_stream(live.url, query) as stream:
        assert stream.status == 200
        result = await stream.result()
        assert "data" not in result
        assert [e["extensions"]["code"] for e in result["errors"]] == [code]
        await stream.completes()


@pytest.mark.parametrize(
    ("method", "headers", "body", "status"),
    [
        ("POST", {"Content-Type": "text/plain"}, '{"query": "{ __typename }"}', 415),
        ("GET", {"Accept": "application/json"}, None, 406),
        ("PUT", {}, None, 405),
        ("POST", {"Content-Type": "application/json"}, '{"query": 1}', 400),
        ("POST", {"Content-Type": "application/json"}, "[]", 400),
        ("POST", {"Content-Type": "application/json"}, "{not json", 400),
        ("GET", {"Last-Event-ID": "x" * 65}, None, 400),
        ("GET", {"Last-Event-ID": "caf\u00e9"}, None, 400),
    ],
    ids=[
        "text-plain",
        "not-event-stream",
        "put",
        "query-not-string",
        "batch",
        "bad-json",
        "long-last-event-id",
        "unprintable-last-event-id",
    ],
)
async def test_bad_requests_are_refused_with_a_coded_json_error(
    live: Gateway, method: str, headers: dict[str, str], body: str | None, status: int
) -> None:
    sent = {"Accept": "text/event-stream", **headers}
    url = (
        stream_url(live.url, "{ __typename }") if method == "GET" else f"{live.url}/graphql/stream"
    )
    answer = await request(method, url, headers=sent, data=body)
    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/json"
    assert codes(answer.body) == ["BAD_USER_INPUT"]


async def test_a_printable_last_event_id_is_taken(live: Gateway) -> None:
    async with open_stream(
        live.url, CALL, {"id": VOIPNOW}, headers={"Last-Event-ID": "1733212345000-0"}
    ) as stream:
        assert stream.status == 200
        assert (await stream.result())["data"]["call"]["state"] == "CONNECTED"


async def test_persisted_queries_work_over_streams(live: Gateway) -> None:
    query = "subscription($id: ID!) { callUpdated(id: $id) { id } }"
    # sha256 of `query`, computed apart from the code under test.
    digest = "3c9702f16aaa484a0ead74dd51306e5104db9ccb0296d3f114f30775676c9ed4"
    persisted = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    accept = {"Accept": "text/event-stream"}
    variables = json.dumps({"id": GENESYS})
    unknown = await request(
        "GET",
        f"{live.url}/graphql/stream?"
        + urlencode({"variables": variables, "extensions": persisted}),
        headers=accept,
    )
    assert codes(unknown.body) == ["PERSISTED_QUERY_NOT_FOUND"]
    async with aiohttp.ClientSession() as session:
        registering = {"query": query, "variables": variables, "extensions": persisted}
        async with session.get(
            f"{live.url}/graphql/stream?" + urlencode(registering), headers=accept
        ) as first:
            assert first.status == 200
            result = await EventStreamReader(first).result()
            assert result == {"data": {"callUpdated": {"id": GENESYS}}}
        async with session.get(
            f"{live.url}/graphql/stream?"
            + urlencode({"variables": variables, "extensions": persisted}),
            headers=accept,
        ) as by_hash:
            assert by_hash.status == 200
            result = await EventStreamReader(by_hash).result()
            assert result == {"data": {"callUpdated": {"id": GENESYS}}}


async def test_keep_alive_comments_flow_while_nothing_changes(live: Gateway) -> None:
    async with open_stream(live.url, CALL_UPDATED, {"id": GENESYS}) as stream:
        await stream.result()
        with pytest.raises(TimeoutError):
            await stream.next(within=0.7)  # no event, but comments every 0.2 s
        assert stream.comments >= 2


async def test_id_lines_carry_the_cursor_of_call_events(live: Gateway) -> None:
    async with open_stream(live.url, CALL_EVENTS) as stream:
        await live.client.execute(HOLD, {"id": VOIPNOW})
        event = await stream.next()
        assert event is not None
        assert event.event == "next"
        cursor = event.result["data"]["callEvents"]["cursor"]
        assert cursor
        assert event.id == cursor


RETRIEVE = "mutation($id: ID!) { retrieveCall(id: $id) { state } }"


async def test_a_stream_reopened_with_last_event_id_gets_what_it_missed_once_in_order(
    live: Gateway,
) -> None:
    # What a browser's EventSource does after a drop: the same request, with the last
    # `id:` it saw as Last-Event-ID.
    async with open_stream(live.url, CALL_EVENTS) as stream:
        await live.client.execute(HOLD, {"id": VOIPNOW})
        while True:  # the calls as first seen (CONNECTED), then the hold
            seen = await stream.next()
            assert seen is not None
            event = seen.result["data"]["callEvents"]
            if event["callId"] == VOIPNOW and event["state"] == "HELD":
                break
        last_id = seen.id
    assert last_id
    # Disconnected: three changes go by.
    await live.client.execute(RETRIEVE, {"id": VOIPNOW})
    await live.client.execute(HOLD, {"id": VOIPNOW})
    await live.client.execute(RETRIEVE, {"id": VOIPNOW})
    async with open_stream(live.url, CALL_EVENTS, headers={"Last-Event-ID": last_id}) as again:
        missed = [await again.next() for _ in range(3)]
        events = [e.result["data"]["callEvents"] for e in missed if e is not None]
        states = [e["state"] for e in events if e["callId"] == VOIPNOW]
        assert states == ["CONNECTED", "HELD", "CONNECTED"]
        ids = [e.id for e in missed if e is not None]
        assert len(set(ids)) == 3
        assert last_id not in ids
        with pytest.raises(TimeoutError):
            await again.next(within=0.5)  # nothing twice


# -- who may --------------------------------------------------------------------------------


async def test_without_a_credential_a_stream_is_refused_401(secured: Gateway) -> None:
    answer = await request(
        "GET",
        stream_url(secured.url, CALL_UPDATED, {"id": VOIPNOW}),
        headers={"Accept": "text/event-stream"},
    )
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="switchboard"'
    assert codes(answer.body) == ["UNAUTHENTICATED"]
    forged = await request(
        "GET",
        stream_url(secured.url, CALL_UPDATED, {"id": VOIPNOW}),
        headers={"Accept": "text/event-stream", "Authorization": "Bearer forged"},
    )
    assert forged.status == 401
    assert codes(forged.body) == ["UNAUTHENTICATED"]


async def test_an_agent_follows_its_own_call_but_not_another_agents(secured: Gateway) -> None:
    alice = {"Authorization": f"Bearer {hs256('alice', lines=ALICE_LINES)}"}
    async with open_stream(secured.url, CALL_UPDATED, {"id": VOIPNOW}, headers=alice) as own:
        assert (await own.result())["data"]["callUpdated"]["state"] == "CONNECTED"
    async with open_stream(secured.url, CALL_UPDATED, {"id": GENESYS}, headers=alice) as other:
        result = await other.result()
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
        await other.completes()


async def test_a_stream_ends_when_its_credential_expires(secured: Gateway) -> None:
    short = {"Authorization": f"Bearer {hs256('alice', lines=ALICE_LINES, ttl=2)}"}
    async with open_stream(secured.url, CALL_UPDATED, {"id": VOIPNOW}, headers=short) as stream:
        await stream.result()
        # Ended without `complete`: the client reconnects, with a fresh credential.
        assert await stream.next(within=5) is None


async def test_a_foreign_origin_is_refused_and_a_listed_one_gets_cors(live: Gateway) -> None:
    query = stream_url(live.url, CALL, {"id": VOIPNOW})
    foreign = await request(
        "GET", query, headers={"Accept": "text/event-stream", "Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    assert codes(foreign.body) == ["FORBIDDEN"]
    async with open_stream(live.url, CALL, {"id": VOIPNOW}, headers={"Origin": TRUSTED}) as listed:
        assert listed.response.headers["Access-Control-Allow-Origin"] == TRUSTED
        assert (await listed.result())["data"]["call"]["id"] == VOIPNOW


# -- the streams ----------------------------------------------------------------------------


async def test_a_client_going_away_frees_its_observer(live: Gateway) -> None:
    call = live_huawei_call(live)
    async with open_stream(live.url, CALL_UPDATED, {"id": call}) as stream:
        await stream.result()
        assert watcher_of(live).observers == 1
        assert len(streams_of(live).streams) == 1
        assert await metric(live, "switchboard_event_streams") == 1.0
    await eventually(lambda: watcher_of(live).observers == 0)
    await eventually(lambda: not streams_of(live).streams)
    assert await metric(live, "switchboard_event_streams") == 0.0


async def test_past_the_cap_streams_are_refused_503(live: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        opened = [open_stream(live.url, CALL_UPDATED, {"id": GENESYS}) for _ in range(3)]
        streams = [await s.__aenter__() for s in opened]
        try:
            for stream in streams:
                await stream.result()
            async with session.get(
                stream_url(live.url, CALL_UPDATED, {"id": GENESYS}),
                headers={"Accept": "text/event-stream"},
            ) as refused:
                assert refused.status == 503
                assert codes(await refused.json()) == ["TOO_MANY_STREAMS"]
        finally:
            for s in opened:
                await s.__aexit__(None, None, None)


async def test_a_drain_ends_streams_without_complete(live: Gateway) -> None:
    async with open_stream(live.url, CALL_UPDATED, {"id": GENESYS}) as stream:
        await stream.result()
        await live.app_state.drain()
        assert await stream.next(within=5) is None  # ended, no `complete`: reconnect
    refused = await request(
        "GET", stream_url(live.url, CALL, {"id": VOIPNOW}), headers={"Accept": "text/event-stream"}
    )
    assert refused.status == 503
    assert codes(refused.body) == ["SERVICE_UNAVAILABLE"]
