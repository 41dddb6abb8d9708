"""Each HTTP request to /graphql: its request id echoed (the client's when sane), one
access record with the operation and its outcome codes, the operation metrics."""

from __future__ import annotations

import logging

import pytest

from app.calls import Vendor
from tests.demo import DEMO_IDS, UNKNOWN_IDS
from tests.graphql.conftest import Gateway
from tests.graphql.test_metrics import scrape, value

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
