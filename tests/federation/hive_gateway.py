"""Hive Gateway as a real router for the federation tests: started on a free port with
one of its two query planners, waited for, checked to run the planner asked for, stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from tests.asgi import GraphQLClient

FEDERATION_DIR = Path(__file__).resolve().parent
NODE_MODULES = FEDERATION_DIR / "node_modules"
GATEWAY_CONFIG = FEDERATION_DIR / "gateway.config.ts"
HIVE_GATEWAY_BIN = NODE_MODULES / "@graphql-hive" / "gateway" / "dist" / "bin.js"
ROUTER_RUNTIME = NODE_MODULES / "@graphql-hive" / "router-runtime"
GATEWAY_START_TIMEOUT = 30.0  # seconds; Hive Gateway is ready after about 2 s
GATEWAY_STOP_TIMEOUT = 10.0
# Another process may take the free port between our probe and the gateway's bind.
GATEWAY_START_ATTEMPTS = 3
PROBE_TIMEOUT = aiohttp.ClientTimeout(total=1.0)


@dataclass(frozen=True)
class NodeTools:
    """A usable `node` (>= 20) with tests/federation's packages installed."""

    node: str


# -- Hive Gateway --------------------------------------------------------------------------

# Hive Gateway's query planners: "js" (its default runtime, which plans by schema stitching
# with @graphql-tools/federation) and "rust" (@graphql-hive/router-runtime, turned on by
# `--hive-router-runtime`).
Planner = Literal["js", "rust"]
PLANNERS: tuple[Planner, ...] = ("js", "rust")
# What Hive Gateway 2.15 logs when `--hive-router-runtime` is given, and when the package
# then fails to load (it carries on with the JavaScript planner).
RUST_PLANNER_ON = "Using Hive Router Runtime"
RUST_PLANNER_MISSING = "Could not load the @graphql-hive/router-runtime package"


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it: bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Router:
    """Hive Gateway serving a supergraph on 127.0.0.1."""

    base_url: str
    client: GraphQLClient
    log_file: Path
    pid: int
    planner: Planner

    @property
    def url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.client.execute(query, variables)

    async def execute_with(
        self, headers: dict[str, str], query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`execute` with the client's own request headers (e.g. Authorization)."""
        async with self.client.session.post(
            self.url, json={"query": query, "variables": variables or {}}, headers=headers
        ) as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body


@asynccontextmanager
async def run_hive_gateway(
    tools: NodeTools, supergraph_sdl: str, workdir: Path, *, planner: Planner = "js"
) -> AsyncIterator[Router]:
    """`hive-gateway supergraph` on a free port with gateway.config.ts and `planner`, until
    the block ends. Ready when `/readiness` answers 200; stopped (SIGTERM, then SIGKILL)
    whatever happens. If the block fails, its log is printed (pytest shows it with the
    failure)."""
    supergraph_file = workdir / "supergraph.graphql"
    supergraph_file.write_text(supergraph_sdl)
    log_file = workdir / "hive-gateway.log"
    async with aiohttp.ClientSession() as session:
        for attempt in range(1, GATEWAY_START_ATTEMPTS + 1):
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            process = await _start_hive_gateway(tools, supergraph_file, port, log_file, planner)
            try:
                await _wait_ready(process, f"{base_url}/readiness", session, log_file)
                await _check_planner(planner, log_file)
                break
            except _PortTaken:
                await _stop(process)
                if attempt == GATEWAY_START_ATTEMPTS:
                    raise
            except BaseException:
                await _stop(process)
                raise
        try:
            client = GraphQLClient(session, f"{base_url}/graphql")
            yield Router(base_url, client, log_file, process.pid, planner)
        except Exception:
            print(f"hive-gateway log ({log_file}):\n{log_file.read_text(errors='replace')}")
            raise
        finally:
            await _stop(process)


async def _start_hive_gateway(
    tools: NodeTools, supergraph_file: Path, port: int, log_file: Path, planner: Planner
) -> asyncio.subprocess.Process:
    # HIVE_ROUTER_RUNTIME in the caller's environment would turn the Rust planner on too:
    # the flag alone decides.
    env = {k: v for k, v in os.environ.items() if k != "HIVE_ROUTER_RUNTIME"}
    planner_args = ["--hive-router-runtime"] if planner == "rust" else []
    with log_file.open("wb") as log:
        return await asyncio.create_subprocess_exec(
            tools.node,
            str(HIVE_GATEWAY_BIN),
            "supergraph",
            str(supergraph_file),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config-path",
            str(GATEWAY_CONFIG),
            *planner_args,
            cwd=FEDERATION_DIR,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**env, "NO_COLOR": "1"},
            # Its own process group, so that stopping it reaches anything it forks.
            start_new_session=True,
        )


class _PortTaken(RuntimeError):
    pass


async def _wait_ready(
    process: asyncio.subprocess.Process,
    readiness_url: str,
    session: aiohttp.ClientSession,
    log_file: Path,
) -> None:
    try:
        async with asyncio.timeout(GATEWAY_START_TIMEOUT):
            while True:
                if process.returncode is not None:
                    log = await asyncio.to_thread(log_file.read_text, errors="replace")
                    failure = _PortTaken if "EADDRINUSE" in log else RuntimeError
                    raise failure(
                        f"hive-gateway exited {process.returncode} while starting:\n{log}"
                    )
                # Each probe is short: until the gateway binds, whoever holds the port may
                # accept the connection and never answer.
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(readiness_url, timeout=PROBE_TIMEOUT) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
    except TimeoutError:
        log = await asyncio.to_thread(log_file.read_text, errors="replace")
        raise RuntimeError(
            f"hive-gateway not ready after {GATEWAY_START_TIMEOUT} s:\n{log}"
        ) from None


async def _check_planner(planner: Planner, log_file: Path) -> None:
    """Fails unless the ready gateway plans with `planner` (it logs both before listening)."""
    log = await asyncio.to_thread(log_file.read_text, errors="replace")
    rust = RUST_PLANNER_ON in log and RUST_PLANNER_MISSING not in log
    if rust != (planner == "rust"):
        raise RuntimeError(f"hive-gateway is not running the {planner} query planner:\n{log}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(GATEWAY_STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
