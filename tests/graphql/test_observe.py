"""Each HTTP request to /graphql: its request id echoed (the client's when sane), one
access record with the operation and its outcome codes, the operation metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest

from app.calls import Vendor
from app.graphql.observe import refusal_codes
from app.logs import JsonFormatter
from tests.demo import DEMO_IDS, UNKNOWN_IDS
from tests.graphql.conftest import Gateway
from tests.graphql.test_metrics import scrape
from tests.metrics import value
from tests.ws import graphql_ws

QUERY = "query Lookup($id: ID!) { call(id: $id) { id } }"


async def post(gateway: Gateway, call_id: str, **headers: str) -> tuple[str, dict[str, object]]:
    async with gateway.client.session.post(
        gateway.client.url, json={"query": QUERY, "variables": {"id": call_id}}, headers=headers
    ) as response:
        return response.headers["x-request-id"], await response.json()


async def test_the_request_id_is_echoed_and_names_the_access_record(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    echoed, _ = await post(gateway, DEMO_IDS[Vendor.ORACLE], **{"X-Request-Id": "router-7"})
    assert echoed == "router-7"
    [record] = [r for r in caplog.records if r.name == "switchboard.access"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["requestId"] == "router-7"
    assert fields["operationType"] == "query"
    assert fields["operationName"] == "Lookup"
    assert fields["status"] == 200
    assert "codes" not in fields
    assert fields["durationMs"] >= 0


async def test_a_forged_request_id_is_replaced(gateway: Gateway) -> None:
    echoed, _ = await post(gateway, DEMO_IDS[Vendor.ORACLE], **{"X-Request-Id": 'a" b'})
    assert echoed != 'a" b'
    assert len(echoed) == 32


async def test_outcome_codes_are_recorded_and_counted(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    before = await scrape(gateway)
    await post(gateway, UNKNOWN_IDS[Vendor.ORACLE])
    after = await scrape(gateway)
    name = "switchboard_graphql_operations_total"
    labels = {"type": "query", "outcome": "NOT_FOUND"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1
    [record] = [r for r in caplog.records if r.name == "switchboard.access"]
    assert record.fields["codes"] == ["NOT_FOUND"]  # type: ignore[attr-defined]


async def test_each_websocket_operation_is_one_access_record(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    async with graphql_ws(gateway.url) as ws:
        await ws.subscribe(
            "1",
            "subscription Follow($id: ID!) { callUpdated(id: $id) { id } }",
            {"id": DEMO_IDS[Vendor.GENESYS]},
        )
        await ws.data("1")
        await ws.subscribe("2", "{ ...Missing }")
        assert (await ws.receive())["type"] == "error"
        await ws.stop("1")
    async with asyncio.timeout(5):
        while len(websocket_records(caplog)) < 2:  # noqa: ASYNC110 (logged by the server)
            await asyncio.sleep(0.01)
    refused, followed = sorted(websocket_records(caplog), key=lambda f: str(f["outcome"]))
    assert refused["outcome"] == "error"
    assert refused["codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert followed["outcome"] == "stopped"
    assert followed["operationType"] == "subscription"
    assert followed["operationName"] == "Follow"
    assert followed["requestId"] == refused["requestId"]  # one connection, one id


def websocket_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        r.fields  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "switchboard.access" and r.fields.get("transport") == "websocket"  # type: ignore[attr-defined]
    ]


async def test_a_refusal_before_any_operation_is_recorded_with_its_code(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "switchboard.access")
    before = await scrape(gateway)
    async with gateway.client.session.post(
        gateway.client.url, data="{ __typename }", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 415
    after = await scrape(gateway)
    [record] = [r for r in caplog.records if r.name == "switchboard.access"]
    assert record.fields["codes"] == ["BAD_USER_INPUT"]  # type: ignore[attr-defined]
    name = "switchboard_graphql_operations_total"
    labels = {"type": "none", "outcome": "BAD_USER_INPUT"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1


def test_refusal_codes_are_read_only_from_a_json_error_body() -> None:
    assert refusal_codes(b'{"errors":[{"message":"x","extensions":{"code":"A"}},{}]}') == ["A"]
    for body in (b"", b"Bad Request", b"[1]", b'{"errors":"x"}', b'{"errors":[1]}'):
        assert refusal_codes(body) == [], body


async def test_a_vendor_request_is_a_debug_record_in_the_operations_request_id(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "switchboard.vendors")
    # Verba's token and apiKey travel in the query string: the record has the path only.
    await post(gateway, DEMO_IDS[Vendor.VERBA], **{"X-Request-Id": "router-9"})
    formatter = JsonFormatter()
    records = [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "switchboard.vendors"
    ]
    verba = [r for r in records if r["message"].startswith("verba GET ")]
    assert verba, records
    for record in verba:
        assert record["level"] == "debug"
        assert record["requestId"] == "router-9"
        assert re.fullmatch(r"verba GET /[^?\s]* -> 200 in \d+\.\d ms", record["message"])
