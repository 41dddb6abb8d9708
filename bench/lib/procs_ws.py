"""Processes of the websocket benchmarks (B3 fan-out, B4 polling economy), on top of the
shared bench/lib/procs.py (which starts, logs and always stops them).

Parent side (imported by bench/b3_fanout.py and bench/b4_polling.py): the commands of
the two servers below, `announced` (the JSON line a process printed to its log),
`rss_kib`, `raise_fd_limit`, `percentile`.

Child side (`python -m bench.lib.procs_ws gateway|emulators`):
  - `gateway`: the switchboard gateway exactly as `python -m app` builds it
    (Settings.from_env -> create_app -> uvicorn.Config(lifespan="on"), on uvloop), but on
    a socket it binds to port 0 itself (race-free; `python -m app --port 0` would not say
    which port it got) and with a selectable uvicorn websocket implementation (`--ws`).
  - `emulators`: the five emulators as `python -m app emulate --no-simulate` builds them,
    plus two bench-only routes on the same server:
      POST /_bench/genesys/calls {"count": n}  -> n new Established Genesys calls (ids)
      GET  /_bench/genesys/changes              -> [[call_id, state, unix_time], ...]
    A listener on the Genesys call store writes the change log, so its time is the
    moment the (emulated) vendor switched the call's state: B3's latency start point.
Both print one JSON line `{"url": ..., "pid": ...}` once they accept connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.lib.procs import PYTHON, Processes, ProcessFailed

# -- parent side ------------------------------------------------------------------------


def gateway_command(
    ws: str = "auto", *, gc_log: bool = False, gc_freeze: bool = False, ws_direct: bool = False
) -> list[str]:
    argv = [PYTHON, "-m", "bench.lib.procs_ws", "gateway", "--ws", ws]
    return argv + ["--gc-log"] * gc_log + ["--gc-freeze"] * gc_freeze + ["--ws-direct"] * ws_direct


def emulators_command() -> list[str]:
    return [PYTHON, "-m", "bench.lib.procs_ws", "emulators"]


def announced(
    procs: Processes, proc: subprocess.Popen[bytes], key: str = "url", within: float = 30.0
) -> dict[str, Any]:
    """The first JSON line with `key` that `proc` wrote to its log (procs.py sends output
    to a file, not a pipe); fails if the process exits or says nothing within `within` s."""
    deadline = time.monotonic() + within
    while True:
        for line in procs.tail(proc, lines=200).splitlines():
            if line.startswith("{") and f'"{key}"' in line:
                found: dict[str, Any] = json.loads(line)
                return found
        if proc.poll() is not None:
            raise ProcessFailed(f"{proc.args} exited ({proc.returncode})\n{procs.tail(proc)}")
        if time.monotonic() > deadline:
            raise ProcessFailed(f"{proc.args} said no {key!r} within {within:g} s")
        time.sleep(0.05)


def rss_kib(pid: int) -> int:
    """Resident set size of `pid` in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (10,000 sockets need it); the new limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: a value that was actually observed."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n*q/100), at least 1
    return ordered[int(rank) - 1]


# -- child side -------------------------------------------------------------------------


def _announce(url: str) -> None:
    sys.stdout.write(json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()


def _log_gc_pauses() -> None:
    """Diagnostics (--gc-log): one stderr line per garbage collection over 5 ms, since a
    full collection walks every object of every subscriber and stalls the loop."""
    import gc

    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            pause_ms = (time.perf_counter() - started[0]) * 1000
            if pause_ms > 5:
                line = {"gc": info["generation"], "ms": round(pause_ms, 1), "at": time.time()}
                sys.stderr.write(json.dumps(line) + "\n")

    gc.callbacks.append(callback)


def _count_objects_on_sigusr2(freeze: bool) -> None:
    """Diagnostics (--gc-log): on SIGUSR2, one stderr line with the number of objects the
    cyclic GC tracks (what a full collection walks) and the most common types. With
    --gc-freeze (an experiment, not what `python -m app` does) also collect, then
    gc.freeze() every object alive, so later full collections skip them."""
    import collections
    import gc
    import signal

    def count(signum: int, frame: object) -> None:
        tracked = gc.get_objects()
        types = collections.Counter(type(o).__qualname__ for o in tracked)
        line = {"objects": len(tracked), "types": types.most_common(25), "at": time.time()}
        del tracked
        if freeze:
            gc.collect()
            gc.freeze()
            line["frozen"] = gc.get_freeze_count()
        sys.stderr.write(json.dumps(line) + "\n")

    signal.signal(signal.SIGUSR2, count)


async def _serve_gateway(ws: str, *, ws_direct: bool = False) -> None:
    import uvicorn

    from app.__main__ import server_config, settle_memory
    from app.config import Settings
    from app.server import create_app

    settings = Settings.from_env()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app: Any = create_app(settings)
    if ws_direct:
        app = _websockets_outside_starlette(app)
    # Served as `python -m app` serves it; only the websocket implementation may differ.
    config = server_config(app, settings, ws=ws, log_level="warning")
    settle_memory()
    server = uvicorn.Server(config)
    # Announce once the lifespan has run and the socket accepts (health is polled too).
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.02)
    _announce(f"http://127.0.0.1:{sock.getsockname()[1]}")
    await serving


def _websockets_outside_starlette(starlette_app: Any) -> Any:
    """Experiment (--ws-direct, not what `python -m app` does): websocket connections to
    /graphql go straight to the app's SubscriptionServer instead of through Starlette's
    middleware and router, which keep ~8 coroutines alive per connection for its whole
    life and wrap every send in a closure. Everything else still goes to Starlette."""
    subscriptions = starlette_app.state.subscriptions

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/graphql":
            await subscriptions(scope, receive, send)
        else:
            await starlette_app(scope, receive, send)

    return app


async def _serve_emulators() -> None:
    from aiohttp import web

    from app.emulators import build_emulators
    from app.emulators.genesys import GenesysEmulator

    emulators = build_emulators(demo=True)
    genesys = emulators.vendors["genesys"]
    assert isinstance(genesys, GenesysEmulator)
    changes: list[tuple[str, str, float]] = []
    # Called synchronously inside the store's state change: the vendor's moment of change.
    genesys.store.add_listener(
        lambda call: changes.append((call["id"], call["state"], time.time()))
    )

    async def add_calls(request: web.Request) -> web.Response:
        count = int((await request.json())["count"])
        ids = [genesys.store.add_call(state="Established")["id"] for _ in range(count)]
        return web.json_response(ids)

    async def list_changes(request: web.Request) -> web.Response:
        return web.json_response(changes)

    emulators.app.router.add_post("/_bench/genesys/calls", add_calls)
    emulators.app.router.add_get("/_bench/genesys/changes", list_changes)
    runner = web.AppRunner(emulators.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    _announce(f"http://127.0.0.1:{runner.addresses[0][1]}")
    try:
        await asyncio.Event().wait()
    finally:
        emulators.control.release_all()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lib.procs_ws")
    parser.add_argument("command", choices=["gateway", "emulators"])
    parser.add_argument("--ws", default="auto", help="uvicorn websocket implementation")
    parser.add_argument(
        "--gc-log", action="store_true", help="log GC pauses over 5 ms; SIGUSR2: count objects"
    )
    parser.add_argument("--gc-freeze", action="store_true", help="SIGUSR2 also freezes")
    parser.add_argument("--ws-direct", action="store_true", help="websockets skip Starlette")
    args = parser.parse_args()
    if args.gc_log:
        _log_gc_pauses()
        _count_objects_on_sigusr2(args.gc_freeze)
    raise_fd_limit()  # the gateway holds 10,000 websockets
    from app.__main__ import run  # uvloop when installed, as `python -m app` runs

    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "gateway":
            run(_serve_gateway(args.ws, ws_direct=args.ws_direct))
        else:
            run(_serve_emulators())


if __name__ == "__main__":
    main()
