"""B1's second look: memory held per query in flight, switchboard against the raw proxy.

Why: under B1 each server's CPU per query is higher at 256 connections than at 32,
though the code run per query is the same. What grows is the number of queries in
flight at once (the vendor takes 16 at a time, the others wait for a connection), and
with it the memory they hold and the CPU caches they miss. Does switchboard hold more
per query in flight than the raw proxy? This measures both, as the memory growth when
`--queries` B1 queries are in flight at once.

How: the emulators run in their own process; the server's ASGI app runs in this
process, driven directly (no HTTP server: uvicorn's share is the same for both), with
Python's tracemalloc on. The Genesys emulator answers after 2 s, so every query is in
flight when memory is read.

    .venv/bin/python -m bench.b1_inflight [--queries 256]

Writes bench/results/b1_inflight.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from app.config import Settings
from app.emulators.base import DEMO_CREDENTIALS
from bench.b1_throughput import SWITCHBOARD_QUERY
from bench.lib.http import JsonClient
from bench.lib.procs import ROOT, Processes, exit_on_sigterm, log
from bench.lib.results import (
    command_line,
    machine,
    machine_line,
    now,
    source,
    source_line,
    table,
    write_json,
    write_section,
)
from bench.lib.setup import start_emulators

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
HOLD = 1.0  # seconds the emulator holds each answer


async def post(app: ASGIApp, body: bytes) -> list[dict[str, Any]]:
    """One POST /graphql through the ASGI app; the messages it sent back."""
    sent: list[dict[str, Any]] = []
    request = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return request.pop() if request else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    await app(scope, receive, send)
    return sent


async def in_flight(app: ASGIApp, queries: int, emulators: JsonClient) -> dict[str, Any]:
    """Memory and objects held per query while `queries` are in flight at once."""
    lifespan_done = asyncio.Event()
    started, stop = asyncio.Event(), asyncio.Event()
    startup = [{"type": "lifespan.startup"}]

    async def lifespan_receive() -> dict[str, Any]:
        if startup:
            return startup.pop()
        await stop.wait()
        return {"type": "lifespan.shutdown"}

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.shutdown.complete":
            lifespan_done.set()

    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3"}}, lifespan_receive, lifespan_send)
    )
    await started.wait()
    body = json.dumps({"query": SWITCHBOARD_QUERY}).encode()
    for _ in range(50):  # sessions, caches and pools warm
        answer = await post(app, body)
    assert b'"connId"' in answer[-1]["body"], answer
    emulators.json("PUT", "/_emulator/faults/genesys", {"latency": HOLD})
    try:
        gc.collect()
        gc.disable()
        tracemalloc.start(1)
        objects_before = len(gc.get_objects())
        bytes_before = tracemalloc.get_traced_memory()[0]
        held = [asyncio.ensure_future(post(app, body)) for _ in range(queries)]
        await asyncio.sleep(HOLD / 2)  # every query sent, none answered yet
        objects = len(gc.get_objects()) - objects_before
        held_bytes = tracemalloc.get_traced_memory()[0] - bytes_before
        sites = tracemalloc.take_snapshot().statistics("filename")
        tracemalloc.stop()
        # Later ones may time out waiting for a connection; only the memory counts here.
        await asyncio.gather(*held, return_exceptions=True)
        gc.enable()
    finally:
        emulators.request("DELETE", "/_emulator/faults/genesys")
    stop.set()
    await lifespan
    top = [
        {
            "file": _short(stat.traceback[0].filename),
            "kib_per_query": round(stat.size / queries / 1024, 2),
        }
        for stat in sites[:8]
    ]
    return {
        "queries": queries,
        "kib_per_query": round(held_bytes / queries / 1024, 1),
        "objects_per_query": round(objects / queries),
        "top_files": top,
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1].removeprefix(".11/")
    return filename


def markdown(result: dict[str, Any]) -> str:
    rows = [
        [label, m["kib_per_query"], m["objects_per_query"]]
        for label, m in (
            ("(a) switchboard", result["switchboard"]),
            ("(b) raw Starlette + aiohttp proxy", result["raw"]),
        )
    ]
    sites = [
        [label, site["file"], site["kib_per_query"]]
        for label, key in (("(a)", "switchboard"), ("(b)", "raw"))
        for site in result[key]["top_files"][:5]
    ]
    return "\n\n".join(
        [
            "## B1 — memory held per query in flight",
            f"Measured {result['date']} on {machine_line(result['machine'])}, "
            f"{source_line(result['source'])}. {result['switchboard']['queries']} B1 "
            f"queries held in flight at once (the Genesys emulator answers after {HOLD:g} s); "
            "the ASGI app driven in-process under tracemalloc, without the HTTP server "
            "(uvicorn's share is the same for both).",
            table(["server", "KiB per query in flight", "objects per query"], rows),
            "Where it was allocated (top files):",
            table(["server", "file", "KiB per query"], sites),
            f"Command:\n\n```sh\n{result['command']}\n```",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=256, help="queries held in flight")
    args = parser.parse_args()
    exit_on_sigterm()
    from app.server import create_app
    from bench.raw_proxy import create_app as create_raw_app

    with Processes() as procs:
        started = time.monotonic()
        _, emulators = start_emulators(procs)
        client = JsonClient(emulators)
        settings = (
            Settings()
            .with_values(simulate=False, access_log=False, graphiql=False)
            .with_vendors(emulators, DEMO_CREDENTIALS)
        )
        creds = DEMO_CREDENTIALS["genesys"]
        apps: dict[str, ASGIApp] = {
            "switchboard": create_app(settings),  # type: ignore[dict-item]
            "raw": create_raw_app(f"{emulators}/genesys", creds["username"], creds["password"]),  # type: ignore[dict-item]
        }
        result: dict[str, Any] = {"benchmark": "b1_inflight", "date": now()}
        for key, app in apps.items():
            log(f"B1 in flight: {key}, {args.queries} queries held")
            result[key] = asyncio.run(in_flight(app, args.queries, client))
            log(f"B1 in flight:   {result[key]['kib_per_query']} KiB per query")
        client.close()
    result |= {
        "machine": machine(),
        "source": source(),
        "command": command_line(),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    path = write_json("b1_inflight", result)
    write_section("b1_inflight", markdown(result))
    log(f"B1 in flight: done: {path}, RESULTS.md")


if __name__ == "__main__":
    main()
