"""Where keys come from: JWKS files and URLs (RS256, ES256, EdDSA; refreshed once on an
unknown kid, bounded), issuer and audience, API keys by Bearer or X-API-Key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.calls import Vendor
from app.config import Secret
from tests.auth.http import codes, post
from tests.auth.tokens import (
    SECRET,
    SUPERVISOR,
    KeyPair,
    api_keys_file,
    bearer,
    claims,
    ec_pair,
    ed25519_pair,
    hs256,
    jwks,
    rsa_pair,
)
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway

CALL = "query($id: ID!) { call(id: $id) { id } }"
VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]


@pytest.mark.parametrize(
    "make_pair", [rsa_pair, ec_pair, ed25519_pair], ids=["RS256", "ES256", "EdDSA"]
)
async def test_tokens_signed_by_a_jwks_files_keys(
    emulator_server: EmulatorServer, tmp_path: Path, make_pair: Any
) -> None:
    pair: KeyPair = make_pair()
    other: KeyPair = make_pair(kid="not-published")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(pair)))
    async with serve_gateway(emulator_server, auth="jwt", jwt_jwks_file=str(path)) as gateway:
        token = pair.sign(claims("sam", scope=SUPERVISOR))
        answer = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(token))
        assert answer.body["data"]["call"]["id"] == VOIPNOW
        # A key that is not in the JWKS, a published kid on a token signed by another key,
        # and the HS256 "confusion" of signing with the public key as a secret.
        for forged in (
            other.sign(claims("sam", scope=SUPERVISOR)),
            other.sign(claims("sam", scope=SUPERVISOR), kid=pair.kid),
            hs256("sam", scope=SUPERVISOR),
        ):
            refused = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(forged))
            assert refused.status == 401
            assert codes(refused.body) == ["UNAUTHENTICATED"]


class IdentityProvider:
    """A JWKS endpoint over loopback that counts its fetches."""

    def __init__(self) -> None:
        self.keys: list[KeyPair] = []
        self.fetches = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response(jwks(*self.keys))


@pytest.fixture
async def identity_provider() -> AsyncIterator[tuple[IdentityProvider, str]]:
    provider = IdentityProvider()
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", provider.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield provider, str(server.make_url("/.well-known/jwks.json"))
    finally:
        await server.close()


async def test_a_jwks_url_is_fetched_once_and_again_for_a_new_kid(
    emulator_server: EmulatorServer, identity_provider: tuple[IdentityProvider, str]
) -> None:
    provider, url = identity_provider
    first = rsa_pair("2026-11")
    provider.keys = [first]
    async with serve_gateway(
        emulator_server, auth="jwt", jwt_jwks_url=url, jwt_jwks_refresh=2.0
    ) as gateway:
        for sub in ("a", "b", "c"):
            token = first.sign(claims(sub, scope=SUPERVISOR))
            answer = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(token))
            assert answer.status == 200
        assert provider.fetches == 1  # cached
        # The provider rotates: a token with the new kid makes switchboard fetch again.
        rotated = rsa_pair("2026-12")
        provider.keys = [first, rotated]
        # Made ahead: making RSA keys takes a while on a busy machine.
        forgeries = [rsa_pair(f"made-up-{n}").sign(claims("e", scope=SUPERVISOR)) for n in range(5)]
        # (Not within the refresh interval of the last fetch: one per 2 s here.)
        await asyncio.sleep(2.1)
        token = rotated.sign(claims("d", scope=SUPERVISOR))
        answer = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(token))
        assert answer.status == 200
        assert provider.fetches == 2
        # Made-up kids cost the provider nothing more within the interval.
        for forged in forgeries:
            refused = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(forged))
            assert refused.status == 401
        assert provider.fetches == 2


async def test_issuer_and_audience_are_checked_when_set(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(
        emulator_server,
        auth="jwt",
        jwt_secret=Secret(SECRET),
        jwt_issuer="https://idp.example",
        jwt_audience="switchboard",
    ) as gateway:
        good = hs256("sam", scope=SUPERVISOR, iss="https://idp.example", aud="switchboard")
        answer = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(good))
        assert answer.status == 200
        for bad in (
            hs256("sam", scope=SUPERVISOR, iss="https://evil.example", aud="switchboard"),
            hs256("sam", scope=SUPERVISOR, iss="https://idp.example", aud="another-api"),
            hs256("sam", scope=SUPERVISOR),
        ):
            refused = await post(gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(bad))
            assert refused.status == 401


async def test_api_keys_by_bearer_or_x_api_key(
    emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    path = api_keys_file(
        tmp_path,
        [
            {"key": "wallboard-key-1", "sub": "wallboard-1", "scope": "calls:read calls:all"},
            {
                "key": "agent-key-1",
                "sub": "alice",
                "scope": "calls:read",
                "lines": ["genesys:15001"],
            },
        ],
    )
    assert "wallboard-key-1" not in path.read_text()  # stored hashed only
    async with serve_gateway(
        emulator_server, auth="jwt,api-key", jwt_secret=Secret(SECRET), api_keys_file=str(path)
    ) as gateway:
        by_bearer = await post(
            gateway.url, CALL, {"id": VOIPNOW}, headers=bearer("wallboard-key-1")
        )
        assert by_bearer.body["data"]["call"]["id"] == VOIPNOW
        by_header = await post(
            gateway.url, CALL, {"id": VOIPNOW}, headers={"X-API-Key": "agent-key-1"}
        )
        assert codes(by_header.body) == ["FORBIDDEN"]  # alice's line is the Genesys one
        jwt_too = await post(
            gateway.url, CALL, {"id": VOIPNOW}, headers=bearer(hs256("sam", scope=SUPERVISOR))
        )
        assert jwt_too.status == 200
        unknown = await post(gateway.url, CALL, {"id": VOIPNOW}, headers={"X-API-Key": "guess"})
        assert unknown.status == 401
