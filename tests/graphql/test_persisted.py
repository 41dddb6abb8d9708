"""Automatic persisted queries (Apollo's protocol) and safelist mode, over real HTTP."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from app.config import ConfigurationError
from app.server import create_app
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, gateway_settings, serve_gateway
from tests.live.conftest import redis_url  # noqa: F401 (fixture)

GENESYS_ID = "genesys:01RCC3N118B1V0SL8O7GK2LAES000010"
QUERY = f'query OneCall {{ call(id: "{GENESYS_ID}") {{ id vendor }} }}'
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
ANSWER = {"data": {"call": {"id": GENESYS_ID, "vendor": "GENESYS"}}}
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}


def apq(sha256: str = HASH, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256}}


async def post(gateway: Gateway, body: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with gateway.client.session.post(gateway.client.url, json=body) as response:
        return response.status, await response.json(), response


async def get(gateway: Gateway, **parameters: str) -> tuple[int, Any]:
    async with gateway.client.session.get(gateway.client.url, params=parameters) as response:
        return response.status, await response.json()


async def test_apq_miss_then_register_then_hash_only_over_post_and_get(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        status, body, response = await post(gateway, {"extensions": apq()})
        assert (status, body) == (200, NOT_FOUND)
        assert response.headers["cache-control"] == "private, no-cache, must-revalidate"

        status, body, _ = await post(gateway, {"query": QUERY, "extensions": apq()})
        assert (status, body) == (200, ANSWER)

        status, body, _ = await post(gateway, {"extensions": apq()})
        assert (status, body) == (200, ANSWER)
        status, body = await get(gateway, extensions=json.dumps(apq()))
        assert (status, body) == (200, ANSWER)


async def test_apq_registers_over_get(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(emulator_server) as gateway:
        assert await get(gateway, extensions=json.dumps(apq())) == (200, NOT_FOUND)
        assert await get(gateway, query=QUERY, extensions=json.dumps(apq())) == (200, ANSWER)
        assert await get(gateway, extensions=json.dumps(apq())) == (200, ANSWER)


async def test_apq_refuses_a_wrong_hash_and_another_version(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        gateway.control.requests.clear()
        status, body, _ = await post(gateway, {"query": QUERY, "extensions": apq("0" * 64)})
        assert status == 400
        assert body["errors"][0]["message"] == "provided sha does not match query"
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        status, body, _ = await post(gateway, {"query": QUERY, "extensions": apq(version=2)})
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert gateway.control.requests == []
        # The wrong hash registered nothing.
        assert (await post(gateway, {"extensions": apq("0" * 64)}))[1] == NOT_FOUND


async def test_apq_does_not_register_a_document_that_does_not_validate(
    emulator_server: EmulatorServer,
) -> None:
    broken = "{ nosuchfield }"
    digest = hashlib.sha256(broken.encode()).hexdigest()
    async with serve_gateway(emulator_server) as gateway:
        status, body, _ = await post(gateway, {"query": broken, "extensions": apq(digest)})
        assert status == 200
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert (await post(gateway, {"extensions": apq(digest)}))[1] == NOT_FOUND


async def test_apq_hash_is_shared_between_instances_through_redis(
    emulator_server: EmulatorServer,
    redis_url: str,  # noqa: F811
) -> None:
    # A name of this run's own: the shared Redis may hold other runs' hashes.
    unique_query = QUERY.replace("OneCall", f"OneCall_{uuid.uuid4().hex}")
    digest = hashlib.sha256(unique_query.encode()).hexdigest()
    async with (
        serve_gateway(emulator_server, broadcast_url=redis_url) as first,
        serve_gateway(emulator_server, broadcast_url=redis_url) as second,
    ):
        status, body, _ = await post(first, {"query": unique_query, "extensions": apq(digest)})
        assert (status, body) == (200, ANSWER)
        status, body, _ = await post(second, {"extensions": apq(digest)})
        assert (status, body) == (200, ANSWER)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get(f"switchboard:apq:{digest}") == unique_query.encode()
        assert 0 < client.ttl(f"switchboard:apq:{digest}") <= 86_400
        client.delete(f"switchboard:apq:{digest}")
    finally:
        client.close()


# --- safelist mode --------------------------------------------------------------------


def manifest(tmp_path: Path, operations: list[dict[str, Any]]) -> str:
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return str(path)


def listed(tmp_path: Path) -> str:
    return manifest(tmp_path, [{"id": HASH, "name": "OneCall", "type": "query", "body": QUERY}])


async def test_safelist_runs_listed_documents_by_hash_and_by_text(
    emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    async with serve_gateway(emulator_server, persisted_only=listed(tmp_path)) as gateway:
        assert (await post(gateway, {"extensions": apq()}))[:2] == (200, ANSWER)
        assert (await post(gateway, {"query": QUERY}))[:2] == (200, ANSWER)
        assert await get(gateway, extensions=json.dumps(apq())) == (200, ANSWER)
        status, body, _ = await post(gateway, {"query": "{ _service { sdl } }"})
        assert status == 200
        assert "type Query" in body["data"]["_service"]["sdl"]


async def test_safelist_refuses_unlisted_documents_and_sends_nothing(
    emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    other = QUERY.replace("id vendor", "id state")
    other_hash = hashlib.sha256(other.encode()).hexdigest()
    async with serve_gateway(emulator_server, persisted_only=listed(tmp_path)) as gateway:
        gateway.control.requests.clear()
        status, body, _ = await post(gateway, {"query": other})
        assert status == 403
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        # Registration of a new document through APQ is refused too.
        status, body, _ = await post(gateway, {"query": other, "extensions": apq(other_hash)})
        assert status == 403
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        status, body, _ = await post(gateway, {"extensions": apq(other_hash)})
        assert status == 404
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        status, body = await get(gateway, query=other)
        assert status == 403
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        assert gateway.control.requests == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "not JSON"),
        ('{"format": "something-else", "version": 1, "operations": []}', "format"),
        (
            '{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}',
            "version",
        ),
        ('{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{}]}', "id"),
        (
            '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": '
            '[{"id": "x", "name": "X", "type": "query", "body": "{ oops"}]}',
            "does not parse",
        ),
    ],
)
def test_a_malformed_manifest_stops_start_up_naming_the_variable(
    emulator_server: EmulatorServer, tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    settings = gateway_settings(emulator_server, persisted_only=str(path))
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_PERSISTED_ONLY") as refused:
        create_app(settings)
    assert reason in str(refused.value)


def test_a_missing_manifest_stops_start_up(emulator_server: EmulatorServer, tmp_path: Path) -> None:
    settings = gateway_settings(emulator_server, persisted_only=str(tmp_path / "none.json"))
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_PERSISTED_ONLY"):
        create_app(settings)
