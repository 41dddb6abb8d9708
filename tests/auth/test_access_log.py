"""With authentication on, each access record names the principal (`sub`) — over HTTP
and per websocket operation — and never the credential that proved it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.calls import Vendor
from app.logs import JsonFormatter
from tests.auth.http import post
from tests.auth.tokens import ALICE_LINES, SECRET, bearer, hs256
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway
from tests.ws import graphql_ws

VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]


def access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        r.fields  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "switchboard.access"
    ]


async def test_an_http_access_record_names_the_principal_not_the_token(
    secured: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    token = hs256("alice", lines=ALICE_LINES)
    answer = await post(
        secured.url,
        "query($id: ID!) { call(id: $id) { id } }",
        {"id": VOIPNOW},
        headers=bearer(token),
    )
    assert answer.body["data"]["call"]["id"] == VOIPNOW
    [record] = access_records(caplog)
    assert record["sub"] == "alice"
    assert token not in str(record)


async def test_a_refused_credential_names_no_principal(
    secured: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    answer = await post(secured.url, "{ __typename }", headers=bearer("not.a.token"))
    assert answer.status == 401
    [record] = access_records(caplog)
    assert "sub" not in record
    assert record["codes"] == ["UNAUTHENTICATED"]


async def test_a_websocket_operation_record_names_the_connections_principal(
    secured: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    token = hs256("alice", lines=ALICE_LINES)
    async with graphql_ws(secured.url, init={"Authorization": f"Bearer {token}"}) as ws:
        await ws.subscribe(
            "1", "subscription($id: ID!) { callUpdated(id: $id) { id } }", {"id": VOIPNOW}
        )
        await ws.data("1")
        await ws.stop("1")
        async with asyncio.timeout(5):
            while not access_records(caplog):  # noqa: ASYNC110 (logged by the server)
                await asyncio.sleep(0.01)
    [record] = access_records(caplog)
    assert record["transport"] == "websocket"
    assert record["sub"] == "alice"
    assert token not in str(record)


async def test_no_client_credential_in_any_record(
    secured: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good, expired = hs256("alice", lines=ALICE_LINES), hs256("alice", ttl=-60)
    query = "query($id: ID!) { call(id: $id) { id } }"
    for token in (good, expired, "forged.token.text"):
        await post(secured.url, query, {"id": VOIPNOW}, headers=bearer(token))
    async with graphql_ws(secured.url, init={"Authorization": f"Bearer {good}"}) as ws:
        await ws.subscribe(
            "1", "subscription($id: ID!) { callUpdated(id: $id) { id } }", {"id": VOIPNOW}
        )
        await ws.data("1")
    records = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert '"sub":"alice"' in records  # the records are there, and name the principal
    for secret in (good, expired, "forged.token.text", SECRET):
        assert secret not in records
