"""`application/graphql-response+json` (GraphQL over HTTP) next to `application/json`."""

from __future__ import annotations

from typing import Any

from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway

GRAPHQL_RESPONSE = "application/graphql-response+json"
# What Apollo Client 3.8+ sends.
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


async def post(gateway: Gateway, body: Any, accept: str | None) -> tuple[int, str, Any]:
    headers = {"accept": accept} if accept else {}
    async with gateway.client.session.post(
        gateway.client.url, json=body, headers=headers
    ) as response:
        return (
            response.status,
            response.headers["content-type"],
            await response.json(content_type=None),
        )


async def test_the_preferred_media_type_is_answered(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server) as gateway:
        for accept in (APOLLO_ACCEPT, GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE}, */*"):
            status, media, body = await post(gateway, {"query": "{ __typename }"}, accept)
            assert (status, media, body) == (
                200,
                GRAPHQL_RESPONSE,
                {"data": {"__typename": "Query"}},
            )
        for plain in (
            None,
            "*/*",
            "application/json",
            "application/json, application/graphql-response+json",
            "application/graphql-response+json;q=0.5, application/json",
        ):
            status, media, _ = await post(gateway, {"query": "{ __typename }"}, plain)
            assert (status, media) == (200, "application/json")


async def test_request_errors_are_400_with_graphql_response_json(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        for query, code in (("{ nosuchfield }", "GRAPHQL_VALIDATION_FAILED"), ("{", None)):
            status, media, body = await post(gateway, {"query": query}, APOLLO_ACCEPT)
            assert (status, media) == (400, GRAPHQL_RESPONSE)
            assert "data" not in body
            if code:
                assert body["errors"][0]["extensions"]["code"] == code
        status, media, _ = await post(gateway, {"nope": 1}, APOLLO_ACCEPT)
        assert (status, media) == (400, GRAPHQL_RESPONSE)


async def test_application_json_keeps_200_and_null_data(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server) as gateway:
        status, media, body = await post(gateway, {"query": "{ nosuchfield }"}, "application/json")
    assert (status, media) == (200, "application/json")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_field_errors_stay_200_with_graphql_response_json(
    emulator_server: EmulatorServer,
) -> None:
    # Executed: a partial (or null) result is an answer, 200 whatever the media type.
    async with serve_gateway(emulator_server) as gateway:
        status, media, body = await post(
            gateway, {"query": '{ call(id: "genesys:nosuchcall") { id } }'}, APOLLO_ACCEPT
        )
    assert (status, media) == (200, GRAPHQL_RESPONSE)
    assert "data" in body
    assert body["errors"]
