"""Authentication over websockets (issue 12): the credential in connection_init or the
upgrade request, 4403 when refused, in-band renewal by ping, expiry, and shared
executions only among subscribers who would get the same answers."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from app.calls import Vendor
from app.graphql.websocket import SubscriptionServer
from tests.auth.tokens import ALICE_LINES, SUPERVISOR, bearer, hs256
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway
from tests.ws import LEGACY_WS, TRANSPORT_WS, graphql_ws, raw_ws

VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]
GENESYS = DEMO_IDS[Vendor.GENESYS]
CALL_UPDATED = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"
CALL_EVENTS = "subscription { callEvents { callId state } }"
HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"


def alice(ttl: float = 600) -> str:
    return hs256("alice", lines=ALICE_LINES, ttl=ttl)


def server_of(gateway: Gateway) -> SubscriptionServer:
    server = gateway.app_state.subscriptions
    assert isinstance(server, SubscriptionServer)
    return server


@pytest.mark.parametrize(
    "payload",
    [
        {"Authorization": "Bearer " + hs256("alice", lines=ALICE_LINES)},
        {"authorization": "Bearer " + hs256("alice", lines=ALICE_LINES)},
        {"headers": {"Authorization": "Bearer " + hs256("alice", lines=ALICE_LINES)}},
    ],
    ids=["Authorization", "authorization", "headers"],
)
async def test_connection_init_carries_the_credential(
    secured: Gateway, payload: dict[str, object]
) -> None:
    async with graphql_ws(secured.url, init=payload) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": VOIPNOW})
        assert (await ws.data("1"))["data"]["callUpdated"]["id"] == VOIPNOW


async def test_the_upgrade_requests_authorization_header_is_enough(secured: Gateway) -> None:
    url = secured.url.replace("http://", "ws://") + "/graphql"
    async with connect(
        url,
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        additional_headers=bearer(alice()),
    ) as connection:
        await connection.send('{"type": "connection_init"}')
        assert json.loads(await connection.recv())["type"] == "connection_ack"


@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic x"}, {"Authorization": 7}],
    ids=["none", "forged", "basic", "not-text"],
)
async def test_refused_credentials_close_with_4403(
    secured: Gateway, payload: dict[str, object]
) -> None:
    async with raw_ws(secured.url) as ws:
        await ws.send({"type": "connection_init", "payload": payload})
        assert await ws.closed_with() == 4403


async def test_legacy_clients_get_connection_error_then_the_close(secured: Gateway) -> None:
    async with raw_ws(secured.url, LEGACY_WS) as ws:
        await ws.send({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
        message = await ws.receive()
        assert message["type"] == "connection_error"
        assert message["payload"]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await ws.closed_with() == 4403


async def test_an_agent_is_kept_to_its_calls_over_websockets(secured: Gateway) -> None:
    async with graphql_ws(secured.url, init={"Authorization": f"Bearer {alice()}"}) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": GENESYS})
        error = await ws.receive()
        assert error["type"] == "error"
        assert error["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        await ws.subscribe("2", HOLD, {"id": GENESYS})
        held = await ws.receive()
        assert held["type"] == "error"
        assert held["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert [
        r for r in secured.control.requests if r.method == "POST" and r.vendor == "genesys"
    ] == []


async def test_a_ping_renews_the_credential_for_the_same_sub(secured: Gateway) -> None:
    async with graphql_ws(secured.url, init={"Authorization": f"Bearer {alice(ttl=2)}"}) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": VOIPNOW})
        await ws.data("1")
        # Another sub's token is no renewal: the pong says so, the old credential stays.
        await ws.send(
            {"type": "ping", "payload": {"authorization": "Bearer " + hs256("mallory", ttl=600)}}
        )
        pong = json.loads(await ws.connection.recv())
        assert pong["type"] == "pong"
        assert pong["payload"]["renewed"] is False
        assert pong["payload"]["error"]["extensions"]["code"] == "UNAUTHENTICATED"
        await ws.send({"type": "ping", "payload": {"authorization": f"Bearer {alice(ttl=600)}"}})
        pong = json.loads(await ws.connection.recv())
        assert pong == {"type": "pong", "payload": {"renewed": True}}
        # Past the first token's exp the connection is still open and serving.
        await asyncio.sleep(2.5)
        await ws.subscribe("2", "query { __typename }")
        assert (await ws.data("2")) == {"data": {"__typename": "Query"}}


async def test_an_unrenewed_credential_ends_every_operation_and_the_connection(
    secured: Gateway,
) -> None:
    async with graphql_ws(secured.url, init={"Authorization": f"Bearer {alice(ttl=1)}"}) as ws:
        await ws.subscribe("1", CALL_UPDATED, {"id": VOIPNOW})
        await ws.data("1")
        error = await ws.receive(within=5)
        assert error["type"] == "error"
        assert error["id"] == "1"
        assert error["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await ws.closed_with() == 4403


async def test_shared_executions_follow_visibility(secured: Gateway) -> None:
    server = server_of(secured)
    wallboards = [hs256(f"wallboard-{n}", scope=SUPERVISOR) for n in range(2)]
    agents = [hs256("alice", lines=ALICE_LINES), hs256("albert", lines=ALICE_LINES)]
    other = hs256("bob", lines=["genesys:15001"])
    tokens = [*wallboards, *agents, other]
    async with asyncio.TaskGroup() as group:
        clients = [group.create_task(_subscribed(secured, token)) for token in tokens]
    try:
        # Wallboards share one execution, alice and albert (same lines) another, bob his.
        assert len(server.shared) == 3
    finally:
        for client in clients:
            await client.result().__aexit__(None, None, None)


async def _subscribed(gateway: Gateway, token: str):  # type: ignore[no-untyped-def]
    context = graphql_ws(gateway.url, init={"Authorization": f"Bearer {token}"})
    ws = await context.__aenter__()
    await ws.subscribe("1", CALL_EVENTS)
    await asyncio.sleep(0.3)
    return context
