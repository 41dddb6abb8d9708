"""HTTP batching: a JSON array of operations answered by an array, in order."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway

GENESYS = "genesys:01RCC3N118B1V0SL8O7GK2LAES000010"
HUAWEI = "huawei:645735364434067472"


def one_call(call_id: str) -> dict[str, Any]:
    return {"query": f'{{ call(id: "{call_id}") {{ id }} }}'}


async def post(gateway: Gateway, body: Any) -> tuple[int, Any]:
    async with gateway.client.session.post(gateway.client.url, json=body) as response:
        return response.status, await response.json()


async def test_a_batch_is_answered_in_order(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server) as gateway:
        status, body = await post(
            gateway, [one_call(HUAWEI), {"query": "{ __typename }"}, one_call(GENESYS)]
        )
    assert status == 200
    assert body == [
        {"data": {"call": {"id": HUAWEI}}},
        {"data": {"__typename": "Query"}},
        {"data": {"call": {"id": GENESYS}}},
    ]


async def test_each_entry_is_answered_like_a_single_request(
    emulator_server: EmulatorServer,
) -> None:
    query = "{ __typename }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with serve_gateway(emulator_server) as gateway:
        status, body = await post(
            gateway,
            [{"extensions": apq}, {"query": "{ nosuchfield }"}, "not an object", {"query": query}],
        )
    assert status == 200
    assert body[0]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert body[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body[2]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body[3] == {"data": {"__typename": "Query"}}


async def test_one_batch_shares_the_request_loaders(emulator_server: EmulatorServer) -> None:
    # Two operations asking for the same call: one vendor read (one context per request).
    async with serve_gateway(emulator_server) as gateway:
        await post(gateway, [one_call(HUAWEI)])  # the token, fetched once
        gateway.control.requests.clear()
        status, body = await post(gateway, [one_call(HUAWEI), one_call(HUAWEI)])
        assert status == 200
        assert body == [{"data": {"call": {"id": HUAWEI}}}] * 2
        reads = [r for r in gateway.control.requests if "token" not in r.path.lower()]
        assert len(reads) == 1


async def test_a_batch_over_the_cap_runs_nothing(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server, max_batch=2) as gateway:
        gateway.control.requests.clear()
        status, body = await post(gateway, [one_call(GENESYS)] * 3)
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "at most 2" in body["errors"][0]["message"]
        assert gateway.control.requests == []
        assert (await post(gateway, [one_call(GENESYS)] * 2))[0] == 200


async def test_an_empty_batch_is_refused(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server) as gateway:
        status, body = await post(gateway, [])
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
