"""switchboard's authentication behind Hive Gateway: the client's `Authorization` reaches
switchboard over HTTP (propagateHeaders) and over the websocket Hive opens for
subscriptions (connection_init's payload, from connectionParams); see gateway.config.ts and
docs/federation-auth.md. switchboard alone decides: the gateway checks nothing. Each test
runs with each of Hive Gateway's query planners (`planner`): they share the transports, but
the Rust one executes the plan itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.config import Secret
from tests.auth.tokens import SECRET, SUPERVISOR, hs256
from tests.conftest import EmulatorServer
from tests.federation.harness import Federation, Subgraph, compose, crm_sdl, serve_federation
from tests.federation.hive_gateway import NodeTools, Planner

VOIPNOW_ID = "voipnow:12/0003*210/b817d2618fe6f1804333"
GENESYS_ID = "genesys:01RCC3N118B1V0SL8O7GK2LAES000010"
CALL = "query($id: ID!) { call(id: $id) { id state } }"
CALL_UPDATED = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"


def supervisor() -> str:
    return "Bearer " + hs256("sam", scope=SUPERVISOR)


def agent() -> str:
    # The demo VoipNow call's second view is on 0003*024; the Genesys demo call is not.
    return "Bearer " + hs256("alice", lines=["voipnow:0003*024"])


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture
async def secured(
    emulator_server: EmulatorServer, node: NodeTools, tmp_path: Path, planner: Planner
) -> AsyncIterator[Federation]:
    """The federation with switchboard's JWT authentication on (HS256, the tests' secret)."""
    async with serve_federation(
        emulator_server, node, tmp_path, planner=planner, auth="jwt", jwt_secret=Secret(SECRET)
    ) as federation:
        yield federation


async def test_a_supervisor_token_is_forwarded_over_http(secured: Federation) -> None:
    body = await secured.router.execute_with(
        {"Authorization": supervisor()}, CALL, {"id": VOIPNOW_ID}
    )
    assert "errors" not in body, body
    assert body["data"]["call"] == {"id": VOIPNOW_ID, "state": "CONNECTED"}


async def test_without_a_token_switchboard_answers_unauthenticated(
    secured: Federation, planner: Planner
) -> None:
    body = await secured.router.execute(CALL, {"id": VOIPNOW_ID})
    # switchboard refuses the whole request (errors, no `data`); the JavaScript planner hands
    # the client `{"call": null}`, the Rust runtime (router-runtime 1.4.23) no `data` at all.
    assert body.get("data", "absent") == ({"call": None} if planner == "js" else "absent"), body
    assert "UNAUTHENTICATED" in codes(body), body
    assert secured.emulator.control.count("voipnow", path_contains="phoneCalls") == 0


async def test_an_agent_sees_its_own_lines_only(secured: Federation) -> None:
    headers = {"Authorization": agent()}
    own = await secured.router.execute_with(headers, CALL, {"id": VOIPNOW_ID})
    assert "errors" not in own, own
    assert own["data"]["call"] == {"id": VOIPNOW_ID, "state": "CONNECTED"}
    other = await secured.router.execute_with(headers, CALL, {"id": GENESYS_ID})
    assert other["data"] == {"call": None}, other
    assert codes(other) == ["FORBIDDEN"]


async def test_a_lowercase_header_is_forwarded_too(secured: Federation) -> None:
    body = await secured.router.execute_with(
        {"authorization": supervisor()}, CALL, {"id": GENESYS_ID}
    )
    assert "errors" not in body, body
    assert body["data"]["call"]["id"] == GENESYS_ID


@pytest.mark.parametrize(
    ("connection_params", "upgrade_headers"),
    [
        ({"Authorization": "TOKEN"}, None),
        ({"authorization": "TOKEN"}, None),
        ({"headers": {"Authorization": "TOKEN"}}, None),
        (None, {"Authorization": "TOKEN"}),
    ],
    ids=["payload-Authorization", "payload-authorization", "payload-headers", "upgrade-header"],
)
async def test_a_subscription_reaches_switchboard_authenticated(
    secured: Federation,
    connection_params: dict[str, Any] | None,
    upgrade_headers: dict[str, str] | None,
) -> None:
    token = supervisor()
    params = _with_token(connection_params, token)
    headers = _with_token(upgrade_headers, token)
    async with secured.router_websocket(params, headers=headers) as ws:
        updates = ws.subscribe(CALL_UPDATED, {"id": VOIPNOW_ID})
        first = await anext(updates)
        assert "errors" not in first, first
        assert first["data"]["callUpdated"] == {"id": VOIPNOW_ID, "state": "CONNECTED"}
        await updates.aclose()


async def test_an_agent_subscription_sees_its_own_lines_only(secured: Federation) -> None:
    async with secured.router_websocket({"Authorization": agent()}) as ws:
        own = ws.subscribe(CALL_UPDATED, {"id": VOIPNOW_ID})
        first = await anext(own)
        assert first["data"]["callUpdated"] == {"id": VOIPNOW_ID, "state": "CONNECTED"}
        await own.aclose()
        refused = [payload async for payload in ws.subscribe(CALL_UPDATED, {"id": GENESYS_ID})]
    # switchboard refuses it with an `error` message (FORBIDDEN); Hive Gateway 2.15 hands
    # the client an error without switchboard's message or code (docs/federation-auth.md).
    assert len(refused) == 1, refused
    assert refused[0].get("data") is None, refused
    assert refused[0]["errors"] != [], refused


# Composition only: the router's planner plays no part.
@pytest.mark.parametrize("planner", ["js"])
async def test_composition_reads_the_sdl_without_a_token(
    secured: Federation, node: NodeTools, tmp_path: Path
) -> None:
    # What a router's (or rover's) introspection does: `_service { sdl }` with no credential.
    async with (
        aiohttp.ClientSession() as session,
        session.post(secured.switchboard.client.url, json={"query": "{ _service { sdl } }"}) as r,
    ):
        assert r.status == 200
        sdl = (await r.json())["data"]["_service"]["sdl"]
    compositions = await compose(
        node,
        [
            Subgraph("switchboard", secured.switchboard.client.url, sdl),
            Subgraph("crm", f"{secured.crm_url}/graphql", crm_sdl()),
        ],
        tmp_path,
    )
    assert compositions.apollo.errors == ()
    assert compositions.guild.errors == ()


def _with_token(template: dict[str, Any] | None, token: str) -> Any:
    """`template` with every "TOKEN" replaced by `token`."""
    if template is None:
        return None
    return {
        key: _with_token(value, token) if isinstance(value, dict) else token
        for key, value in template.items()
    }
