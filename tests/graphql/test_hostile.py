"""Hostile input on the GraphQL layer (issue 11, item 1): every case answers a coded
client error in bounded time, over HTTP and over websockets — never a 500, never a
dropped socket."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.graphql.conftest import Gateway
from tests.ws import LEGACY_WS, TRANSPORT_WS, graphql_ws

# ~1,000 levels: past the interpreter's recursion limit wherever a recursive decoder,
# coercer or encoder walks it.
DEEP = 1000


def deep_list(levels: int = DEEP) -> str:
    return "[" * levels + "]" * levels


def deep_object(levels: int = DEEP) -> str:
    return '{"a":' * levels + "1" + "}" * levels


async def post_raw(gateway: Gateway, body: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.url}/graphql", data=body, headers={"content-type": "application/json"}
        ) as response,
    ):
        return response.status, await response.json()


async def get(gateway: Gateway, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{gateway.url}/graphql?{urlencode(params)}", headers={"accept": "application/json"}
        ) as response,
    ):
        return response.status, await response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


START_WITH_USER_DATA = """mutation($data: JSON) {
  startCall(input: {vendor: HUAWEI, from: "88881234", to: "60001234", userData: $data}) { id }
}"""


@pytest.mark.parametrize(
    "body",
    [
        deep_list(),
        '{"query": "{ __typename }", "variables": {"x": ' + deep_list() + "}}",
        '{"query": "{ __typename }", "extensions": ' + deep_object() + "}",
        json.dumps({"query": START_WITH_USER_DATA})[:-1]
        + ', "variables": {"data": '
        # deep enough for a recursive encoder, shallow enough for json.loads
        + deep_object(400)
        + "}}",
        json.dumps({"query": START_WITH_USER_DATA})[:-1]
        + ', "variables": {"data": '
        + deep_object()
        + "}}",
    ],
    ids=["body", "variables", "extensions", "user-data-400", "user-data-1000"],
)
async def test_deeply_nested_json_in_a_post_is_bad_user_input(gateway: Gateway, body: str) -> None:
    status, answer = await post_raw(gateway, body)
    assert (status, codes(answer)) == (400, ["BAD_USER_INPUT"])
    assert "nested" in answer["errors"][0]["message"]
    assert gateway.control.count() == 0  # nothing reached a vendor


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ __typename }", "variables": json.dumps({"x": json.loads(deep_list(900))})},
        {"query": "{ __typename }", "variables": '{"x": ' + deep_list() + "}"},
        {"query": "{ __typename }", "extensions": deep_object()},
    ],
    ids=["variables-900", "variables-1000", "extensions"],
)
async def test_deeply_nested_json_in_get_parameters_is_bad_user_input(
    gateway: Gateway, params: dict[str, str]
) -> None:
    status, answer = await get(gateway, params)
    assert (status, codes(answer)) == (400, ["BAD_USER_INPUT"])


async def test_a_deep_user_data_literal_is_refused_by_the_parser(gateway: Gateway) -> None:
    # A literal is bounded by the parser's nesting limit (graphql-core: 200) and the
    # token limit, before anything recursive sees it.
    literal = "[" * 600 + "]" * 600
    query = (
        'mutation { startCall(input: {vendor: HUAWEI, from: "88881234", to: "60001234", '
        f"userData: {literal}}}) {{ id }} }}"
    )
    status, answer = await post_raw(gateway, json.dumps({"query": query}))
    assert status == 200
    assert codes(answer) == ["GRAPHQL_PARSE_FAILED"]
    assert gateway.control.count() == 0


async def test_user_data_at_the_depth_limit_still_works(gateway: Gateway) -> None:
    # The limit refuses abuse, not structure: a nested object well below it is passed on.
    data = {"ticket": {"id": "T-1", "tags": [["a"], ["b"]]}}
    body = await gateway.client.execute(START_WITH_USER_DATA, {"data": data})
    assert "errors" not in body, body
    assert body["data"]["startCall"]["id"].startswith("huawei:")


@pytest.mark.parametrize(
    "query",
    ["{ ...Missing }", 'query { call(id: "oracle:1") { ...Missing } }'],
    ids=["top-level", "nested"],
)
async def test_spread_of_an_unknown_fragment_is_a_validation_error(
    gateway: Gateway, query: str
) -> None:
    body = await gateway.client.execute(query)
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == "Unknown fragment 'Missing'."


async def test_fragment_cycles_are_a_validation_error(gateway: Gateway) -> None:
    query = "{ ...A } fragment A on Query { ...B __typename } fragment B on Query { ...A }"
    body = await gateway.client.execute(query)
    assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert any("Cannot spread fragment 'A' within itself" in e["message"] for e in body["errors"])


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_unknown_fragment_over_a_websocket_is_an_error_for_that_operation(
    gateway: Gateway, protocol: str
) -> None:
    async with graphql_ws(gateway.url, protocol) as ws:
        await ws.subscribe("1", "subscription { ...Missing }")
        message = await ws.receive()
        assert (message["type"], message["id"]) == ("error", "1")
        errors = message["payload"] if protocol == TRANSPORT_WS else [message["payload"]]
        assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
        if protocol == TRANSPORT_WS:  # legacy graphql-ws sends the first error only
            assert "Unknown fragment 'Missing'." in [e["message"] for e in errors]
        # The connection lives on.
        await ws.subscribe("2", "{ __typename }")
        assert (await ws.data("2"))["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_deep_variables_over_a_websocket_are_an_error_for_that_operation(
    gateway: Gateway, protocol: str
) -> None:
    async with graphql_ws(gateway.url, protocol) as ws:
        await ws.subscribe("1", START_WITH_USER_DATA, {"data": json.loads(deep_object(400))})
        message = await ws.receive()
        assert (message["type"], message["id"]) == ("error", "1")
        errors = message["payload"] if protocol == TRANSPORT_WS else [message["payload"]]
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
        await ws.subscribe("2", "{ __typename }")
        assert (await ws.data("2"))["data"] == {"__typename": "Query"}
    assert gateway.control.count() == 0


async def test_a_message_nested_past_the_decoder_closes_with_4400(gateway: Gateway) -> None:
    async with graphql_ws(gateway.url) as ws:
        message = '{"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", '
        await ws.connection.send(message + '"variables": {"x": ' + deep_list() + "}}}")
        assert await ws.closed_with() == 4400


async def test_a_subscription_sent_with_get_is_refused(gateway: Gateway) -> None:
    query = 'subscription { callUpdated(id: "genesys:01RCC3N118B1V0SL8O7GK2LAES000010") { id } }'
    status, answer = await get(gateway, {"query": query})
    assert (status, codes(answer)) == (400, ["BAD_USER_INPUT"])
    assert "subscriptions are not allowed" in answer["errors"][0]["message"]


async def test_hostile_requests_do_not_stall_the_server(gateway: Gateway) -> None:
    # All of the above, at once, answered quickly.
    started = time.perf_counter()
    answers = await asyncio.gather(
        post_raw(gateway, deep_list()),
        get(gateway, {"query": "{ __typename }", "variables": deep_object()}),
        gateway.client.execute("{ ...Missing }"),
    )
    assert time.perf_counter() - started < 20  # a hang detector, not a timing
    assert answers[0][0] == answers[1][0] == 400
