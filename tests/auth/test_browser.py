"""Browser safety: what a page on another site can make a browser send. Non-JSON posts
are refused without running (CSRF), GET never runs a mutation, foreign origins are
refused over HTTP and on websocket handshakes, listed origins get CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.calls import Vendor
from tests.auth.http import codes, request
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway
from tests.ws import TRANSPORT_WS

GENESYS = DEMO_IDS[Vendor.GENESYS]
HOLD = 'mutation { holdCall(id: "' + GENESYS + '") { state } }'
TRUSTED = "https://wallboard.example"


@pytest.fixture
async def open_gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    """Authentication off (a demo), one trusted origin."""
    async with serve_gateway(emulator_server, allowed_origins=TRUSTED) as gateway:
        yield gateway


def holds(gateway: Gateway) -> int:
    return sum(1 for r in gateway.control.requests if r.vendor == "genesys" and r.method == "POST")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"query": "' + HOLD.replace('"', '\\"') + '"}'),
        ("application/x-www-form-urlencoded", "query=" + HOLD),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query": "'
            + HOLD.replace('"', '\\"')
            + '"}\r\n--x--\r\n',
        ),
    ],
    ids=["text-plain", "form", "multipart"],
)
async def test_posts_that_are_not_json_are_refused_unrun(
    open_gateway: Gateway, content_type: str, body: str
) -> None:
    answer = await request(
        "POST", f"{open_gateway.url}/graphql", data=body, headers={"Content-Type": content_type}
    )
    assert answer.status == 415
    assert codes(answer.body) == ["BAD_USER_INPUT"]
    assert holds(open_gateway) == 0


async def test_graphql_response_json_is_a_json_post(open_gateway: Gateway) -> None:
    answer = await request(
        "POST",
        f"{open_gateway.url}/graphql",
        data='{"query": "{ __typename }"}',
        headers={"Content-Type": "application/graphql-response+json"},
    )
    assert answer.status == 200
    assert answer.body == {"data": {"__typename": "Query"}}


async def test_get_never_runs_a_mutation(open_gateway: Gateway) -> None:
    answer = await request("GET", f"{open_gateway.url}/graphql", params={"query": HOLD})
    assert answer.status in (400, 405)
    assert holds(open_gateway) == 0


async def test_a_foreign_origin_is_refused(open_gateway: Gateway) -> None:
    answer = await request(
        "POST",
        f"{open_gateway.url}/graphql",
        json={"query": HOLD},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status == 403
    assert codes(answer.body) == ["FORBIDDEN"]
    assert holds(open_gateway) == 0


async def test_the_pages_own_origin_and_originless_clients_are_served(
    open_gateway: Gateway,
) -> None:
    own = open_gateway.url  # http://127.0.0.1:<port>, as the wallboard's page sends it
    for headers in ({"Origin": own}, {}):
        answer = await request(
            "POST", f"{open_gateway.url}/graphql", json={"query": "{ __typename }"}, headers=headers
        )
        assert answer.status == 200
        assert "Access-Control-Allow-Origin" not in answer.headers


async def test_a_listed_origin_gets_cors_and_its_preflight(open_gateway: Gateway) -> None:
    preflight = await request(
        "OPTIONS",
        f"{open_gateway.url}/graphql",
        headers={
            "Origin": TRUSTED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = await request(
        "POST",
        f"{open_gateway.url}/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": TRUSTED},
    )
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert answer.headers["Vary"] == "Origin"
    refused = await request(
        "OPTIONS",
        f"{open_gateway.url}/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status == 403


async def test_a_websocket_from_a_foreign_origin_is_refused_at_the_handshake(
    open_gateway: Gateway,
) -> None:
    url = open_gateway.url.replace("http://", "ws://") + "/graphql"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            url,
            subprotocols=[TRANSPORT_WS],
            origin="https://evil.example",  # type: ignore[list-item,arg-type]
        ):
            pass
    assert refused.value.response.status_code == 403
    async with connect(url, subprotocols=[TRANSPORT_WS], origin=TRUSTED) as ws:  # type: ignore[list-item,arg-type]
        await ws.send('{"type": "connection_init"}')
        assert "connection_ack" in str(await ws.recv())


async def test_origin_refusals_do_not_touch_other_clients(open_gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{open_gateway.url}/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "null"},
        ) as response:
            assert response.status == 403
        async with session.post(
            f"{open_gateway.url}/graphql", json={"query": "{ __typename }"}
        ) as response:
            assert response.status == 200
