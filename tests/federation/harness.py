"""The federation harness: composing subgraphs with the Node composers, running Hive Gateway
on the result, and serving switchboard and the CRM behind it.

Everything Node runs as a subprocess from tests/federation/node_modules (installed by
`make test` with `npm ci`), awaited with asyncio so the servers under test, which run on
the test's event loop, keep answering while Node works.

    async with serve_federation(emulator_server, node, workdir) as federation:
        await federation.router.execute("{ agents { name activeCalls { id state } } }")
        await federation.router.execute("mutation { ... }")
        federation.switchboard       # tests.graphql.conftest.Gateway: switchboard directly
        federation.emulator.control  # the vendor request log
        async with federation.router_websocket() as ws:  # graphql-transport-ws to the router
            async for payload in ws.subscribe("subscription { ... }"): ...

(the `federation` fixture is that block with the demo CRM and Apollo's supergraph, once per
query planner: `planner="js"` or `planner="rust"`).

Query planners: Hive Gateway plans with its JavaScript planner unless started with
`--hive-router-runtime`, which loads @graphql-hive/router-runtime (the Rust planner of Hive
Router, as a native addon). Without that package the gateway only warns and plans in
JavaScript, so for "rust" the harness checks the gateway's log and fails rather than test
the wrong planner.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from app.emulators.control import EmulatorControl
from tests.asgi import serve_asgi
from tests.conftest import EmulatorServer
from tests.federation.crm import DEMO_CRM, CrmData, build_crm_schema, crm_app
from tests.federation.hive_gateway import (
    HIVE_GATEWAY_BIN,
    ROUTER_RUNTIME,
    NodeTools,
    Planner,
    Router,
    run_hive_gateway,
)
from tests.graphql.conftest import Gateway, serve_gateway

FEDERATION_DIR = Path(__file__).resolve().parent
REPO_DIR = FEDERATION_DIR.parent.parent
NODE_MODULES = FEDERATION_DIR / "node_modules"
COMPOSE_SCRIPT = FEDERATION_DIR / "compose.mjs"
# switchboard's exported SDL: the contract a supergraph is composed from (a test in
# tests/graphql checks that it equals the code's).
SWITCHBOARD_SDL = REPO_DIR / "schema.graphql"

MIN_NODE_MAJOR = 20  # what @graphql-hive/gateway 2 supports
COMPOSE_TIMEOUT = 60.0  # seconds; one composition takes about 1 s


# -- Node and its packages -----------------------------------------------------------------


def in_ci() -> bool:
    """CI=true (any value but empty, 0 or false): nothing may skip there."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def node_unavailable() -> str | None:
    """Why the Node side cannot run here (no usable node or npm), or None if it can."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm (Node >= 20) are needed for the federation tests"
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"node does not run: {error}"
    match = re.fullmatch(r"v(\d+)\..*", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        return f"Node >= {MIN_NODE_MAJOR} is needed for the federation tests, found {version}"
    return None


def packages_missing() -> str | None:
    """Why tests/federation's Node packages are not usable, or None if they are."""
    for needed in (
        NODE_MODULES / "@apollo" / "composition",
        NODE_MODULES / "@theguild" / "federation-composition",
        HIVE_GATEWAY_BIN,
        ROUTER_RUNTIME,
    ):
        if not needed.exists():
            return (
                f"{needed.relative_to(REPO_DIR)} is missing: run `make test`, or "
                "`npm ci --ignore-scripts` in tests/federation"
            )
    return None


# -- composition ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subgraph:
    name: str
    url: str
    sdl: str


@dataclass(frozen=True)
class Message:
    """A composition error or hint."""

    code: str | None
    message: str
    coordinate: str | None = None


@dataclass(frozen=True)
class Composition:
    """One composer's verdict. The Guild's composer has no hints: always []."""

    errors: tuple[Message, ...]
    hints: tuple[Message, ...]
    supergraph_sdl: str | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Composition:
        return cls(
            errors=tuple(Message(**error) for error in body["errors"]),
            hints=tuple(Message(**hint) for hint in body.get("hints", [])),
            supergraph_sdl=body["supergraphSdl"],
        )


@dataclass(frozen=True)
class Compositions:
    apollo: Composition
    guild: Composition


async def run_node(
    tools: NodeTools, *args: str | Path, time_limit: float, cwd: Path = FEDERATION_DIR
) -> str:
    """Runs a Node script to completion; its stdout. Killed after `time_limit` seconds or
    on cancellation."""
    process = await asyncio.create_subprocess_exec(
        tools.node,
        *map(str, args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(time_limit):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(
            f"node {' '.join(map(str, args))} exited {process.returncode}:\n{stderr.decode()}"
        )
    return stdout.decode()


async def compose(tools: NodeTools, subgraphs: Sequence[Subgraph], workdir: Path) -> Compositions:
    """Composes `subgraphs` with @apollo/composition and @theguild/federation-composition."""
    args: list[str | Path] = [COMPOSE_SCRIPT]
    for subgraph in subgraphs:
        sdl_file = workdir / f"{subgraph.name}.graphql"
        sdl_file.write_text(subgraph.sdl)
        args += [subgraph.name, subgraph.url, sdl_file]
    body = json.loads(await run_node(tools, *args, time_limit=COMPOSE_TIMEOUT))
    return Compositions(Composition.from_json(body["apollo"]), Composition.from_json(body["guild"]))


def switchboard_sdl() -> str:
    return SWITCHBOARD_SDL.read_text()


def crm_sdl() -> str:
    return build_crm_schema().as_str()


def vendor_fetches(control: EmulatorControl) -> Counter[str]:
    """Vendor requests per vendor, token requests aside (paths with "token": VoipNow's
    OAuth, Huawei's tokenByAkSk, Verba's RequestToken), which come and go with token
    lifetimes rather than with the calls asked for, and Genesys' device list (read once per
    adapter to number the calls' devices)."""
    return Counter(
        r.vendor
        for r in control.requests
        if "token" not in r.path.lower() and "/devices" not in r.path
    )


# -- websockets (graphql-transport-ws), for subscriptions through the router -------------


class GraphQLWebSocket:
    """A graphql-transport-ws connection (the protocol of both Hive Gateway and switchboard)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Each `next` payload ({"data", "errors"}) until `complete`; an `error` raises."""
        operation_id = str(next(self._ids))
        await self.ws.send_json(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        try:
            while True:
                message = await self.ws.receive_json()
                if message["type"] == "ping":
                    await self.ws.send_json({"type": "pong"})  # the protocol requires it
                    continue
                if message.get("id") != operation_id:
                    continue  # another operation's messages
                if message["type"] == "next":
                    yield message["payload"]
                elif message["type"] == "error":
                    raise RuntimeError(f"subscription refused: {message['payload']}")
                elif message["type"] == "complete":
                    return
        finally:
            if not self.ws.closed:
                # Stops the operation if the caller broke out early; harmless after complete.
                await self.ws.send_json({"id": operation_id, "type": "complete"})


@asynccontextmanager
async def graphql_websocket(
    url: str,
    connection_params: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    receive_seconds: float = 10.0,
) -> AsyncIterator[GraphQLWebSocket]:
    """Connects (with `headers` on the upgrade request) and completes the
    graphql-transport-ws handshake (connection_init / ack). Waiting for any message longer
    than `receive_seconds` fails."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            url,
            protocols=["graphql-transport-ws"],
            headers=headers or {},
            timeout=aiohttp.ClientWSTimeout(ws_receive=receive_seconds),
        ) as ws,
    ):
        await ws.send_json({"type": "connection_init", "payload": connection_params or {}})
        ack = await ws.receive_json()
        assert ack["type"] == "connection_ack", ack
        yield GraphQLWebSocket(ws)


# -- the whole federation ------------------------------------------------------------------


@dataclass
class Federation:
    """switchboard and the CRM, composed, behind Hive Gateway."""

    router: Router
    switchboard: Gateway
    crm_url: str
    emulator: EmulatorServer
    compositions: Compositions

    def router_websocket(
        self,
        connection_params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> contextlib.AbstractAsyncContextManager[GraphQLWebSocket]:
        return graphql_websocket(self.router.ws_url, connection_params, headers=headers)


@asynccontextmanager
async def serve_federation(
    emulator_server: EmulatorServer,
    tools: NodeTools,
    workdir: Path,
    *,
    crm_data: CrmData = DEMO_CRM,
    composer: Literal["apollo", "guild"] = "apollo",
    planner: Planner = "js",
    crm_name: str = "crm",
    **switchboard_overrides: Any,
) -> AsyncIterator[Federation]:
    """switchboard (settings `switchboard_overrides`) over the emulators and a CRM over
    `crm_data`, composed with their live URLs by `composer` ("apollo" or "guild") under
    the subgraph names "switchboard" and `crm_name`, behind Hive Gateway planning with
    `planner`; all stopped when the block ends. (gateway.config.ts knows switchboard by
    its name, so only the CRM's can change.)"""
    async with (
        serve_gateway(emulator_server, **switchboard_overrides) as switchboard,
        serve_asgi(crm_app(crm_data)) as crm_base_url,
    ):
        subgraphs = [
            Subgraph("switchboard", switchboard.client.url, switchboard_sdl()),
            Subgraph(crm_name, f"{crm_base_url}/graphql", crm_sdl()),
        ]
        compositions = await compose(tools, subgraphs, workdir)
        chosen = compositions.apollo if composer == "apollo" else compositions.guild
        assert chosen.errors == (), chosen.errors
        assert chosen.supergraph_sdl is not None
        async with run_hive_gateway(
            tools, chosen.supergraph_sdl, workdir, planner=planner
        ) as router:
            yield Federation(router, switchboard, crm_base_url, emulator_server, compositions)
