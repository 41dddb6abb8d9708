"""The HTTP surface: health, GraphiQL, coded errors for bad GraphQL, the exported schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.graphql.schema import build_schema
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


async def test_healthz_is_ok_when_ready(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.url}/healthz") as r:
        assert r.status == 200
        body = await r.json()
    assert body["status"] == "ok"
    assert body["mode"] == "vendors"  # vendor URLs configured (here: the emulators')
    assert body["vendors"] == ["genesys", "huawei", "oracle", "verba", "voipnow"]


async def test_graphiql_opens_with_the_demo_query(gateway: Gateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}/graphql", headers={"Accept": "text/html"}) as r,
    ):
        assert r.status == 200
        html = await r.text()
    assert "graphiql" in html.lower()
    assert "query DemoCalls" in html
    assert "genesys:01RCC3N118B1V0SL8O7GK2LAES000010" in html


async def test_syntax_error_is_coded(gateway: Gateway) -> None:
    body = await gateway.client.execute("{ call(id: ")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_PARSE_FAILED"]


async def test_unknown_field_is_coded(gateway: Gateway) -> None:
    body = await gateway.client.execute("{ nope }")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


async def post(gateway: Gateway, payload: object) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{gateway.url}/graphql", json=payload) as r,
    ):
        return r.status, await r.json()


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"query": ""}, 400, "The query is empty."),
        (
            {"query": "query A { __typename } query B { __typename }"},
            200,
            "Must provide operation name if query contains multiple operations.",
        ),
        (
            {"query": "query A { __typename }", "operationName": "B"},
            200,
            "Unknown operation named 'B'.",
        ),
        (
            {"query": 'subscription { callUpdated(id: "genesys:01") { id } }'},
            400,
            "subscriptions are not allowed when using POST; use the websocket endpoint",
        ),
    ],
    ids=["empty", "ambiguous", "unknown-name", "subscription"],
)
async def test_operations_that_cannot_run_are_coded(
    gateway: Gateway, payload: dict[str, Any], status: int, message: str
) -> None:
    for _ in range(2):  # answered alike from the cache of prepared operations
        answer = await post(gateway, payload)
        assert answer == (
            status,
            {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}
            | ({"data": None} if status == 200 else {}),
        )


async def test_the_operation_named_is_the_one_run(gateway: Gateway) -> None:
    query = "query A { a: __typename } query B { b: __typename }"
    assert await post(gateway, {"query": query, "operationName": "B"}) == (
        200,
        {"data": {"b": "Query"}},
    )


async def test_other_methods_are_refused_with_a_coded_error(gateway: Gateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.put(f"{gateway.url}/graphql", json={"query": "{ __typename }"}) as r,
    ):
        assert r.status == 405
        body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_deep_query_is_refused_before_execution(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server, max_depth=1) as gateway:
        body = await gateway.client.execute(
            '{ call(id: "genesys:01RCC3N118B1V0SL8O7GK2LAES000010") '
            "{ ... on GenesysCall { recording { id } } } }"
        )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in body["errors"][0]["message"]
    assert emulator_server.control.requests == []


async def test_huge_document_is_refused(gateway: Gateway) -> None:
    query = "{ " + " ".join(f'a{i}: call(id: "genesys:x{i}") {{ id }}' for i in range(2000)) + " }"
    body = await gateway.client.execute(query)
    assert body["errors"][0]["extensions"]["code"] in {
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
    }
    assert gateway.control.requests == []


async def test_many_aliases_are_refused(gateway: Gateway) -> None:
    query = (
        "{ "
        + " ".join(f"a{i}: __typename" for i in range(gateway.settings.limits.max_aliases + 5))
        + " }"
    )
    body = await gateway.client.execute(query)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_wrong_variable_type_is_bad_user_input(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        "query($ids: [ID!]!) { calls(ids: $ids) { id } }", {"ids": 5.5}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_schema_file_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, "schema.graphql drifted: run `make schema`"


async def test_malformed_json_body_is_a_coded_error(gateway: Gateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.url}/graphql",
            data=b'{"query": "{ call(id: ',
            headers={"Content-Type": "application/json"},
        ) as r,
    ):
        assert r.status == 400
        body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "JSON" in body["errors"][0]["message"]


async def test_missing_query_is_a_coded_error(gateway: Gateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{gateway.url}/graphql", json={"variables": {}}) as r,
    ):
        assert r.status == 400
        body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_oversized_body_is_refused_before_parsing(gateway: Gateway) -> None:
    padding = "x" * (gateway.settings.limits.max_body_bytes + 1)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.url}/graphql", json={"query": "{ __typename }", "padding": padding}
        ) as r,
    ):
        assert r.status == 413
        body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_oversized_chunked_body_is_refused(gateway: Gateway) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "padding": "'
        for _ in range(gateway.settings.limits.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.url}/graphql",
            data=chunks(),
            headers={"Content-Type": "application/json"},
        ) as r,
    ):
        assert r.status == 413


async def test_the_server_keeps_serving_after_bad_requests(gateway: Gateway) -> None:
    await test_malformed_json_body_is_a_coded_error(gateway)
    await test_oversized_body_is_refused_before_parsing(gateway)
    body = await gateway.client.execute("{ __typename }")
    assert body == {"data": {"__typename": "Query"}}


async def test_without_introspection_routers_still_get_the_sdl(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(emulator_server, introspection=False) as gateway:
        refused = await gateway.client.execute("{ __schema { queryType { name } } }")
        served = await gateway.client.execute("{ _service { sdl } }")
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert served["data"]["_service"]["sdl"] == build_schema().as_str()
