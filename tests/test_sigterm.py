"""Demo mode says so first (in the log and in /healthz); SIGTERM stops `python -m app`
gracefully: it drains first (the log says so), then uvicorn shuts down. The drain itself
is tested in tests/live/test_drain.py; here also that it ends the server-sent event
streams, which would otherwise hold the stop for SWITCHBOARD_DRAIN_TIMEOUT."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect
from websockets.typing import Subprotocol

from app.calls import Vendor
from tests.demo import DEMO_IDS
from tests.sse import open_stream


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_sigterm_drains_then_exits() -> None:
    port = free_port()
    server = start_demo(port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            health = json.load(r)
        assert health["mode"] == "demo"  # no vendor configured: the embedded emulators
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    # Demo mode is the first thing the log says, before anything else is started.
    assert output.splitlines()[0].endswith(
        "DEMO MODE: no vendor configured (SWITCHBOARD_<VENDOR>_URL), serving the built-in "
        "vendor emulators and their demo calls"
    ), output
    # uvicorn re-raises the signal once shut down, so the exit says "terminated by SIGTERM".
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "draining: not ready, closing websockets, releasing leases" in output
    drained = output.index("draining:")
    assert output.index("Shutting down") > drained  # drained first, then stopped
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def start_demo(port: int, **variables: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_SIMULATE": "0",
        "SWITCHBOARD_LOG_FORMAT": "text",
        "SWITCHBOARD_DRAIN_TIMEOUT": "30",  # far longer than the test allows
        **variables,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        if time.monotonic() >= deadline:
            server.kill()
            raise AssertionError("the server did not become ready")
        time.sleep(0.05)


async def test_sigterm_ends_event_streams_then_exits() -> None:
    port = free_port()
    server = start_demo(port)
    query = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"
    try:
        async with open_stream(
            f"http://127.0.0.1:{port}", query, {"id": DEMO_IDS[Vendor.GENESYS]}
        ) as stream:
            assert (await stream.result(within=10))["data"]["callUpdated"]["state"]
            server.send_signal(signal.SIGTERM)
            # Ended by the drain, without `complete` (the client reconnects elsewhere).
            assert await stream.next(within=10) is None
        output, _ = await asyncio.to_thread(server.communicate, timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "timeout graceful shutdown exceeded" not in output
    assert "Traceback" not in output


def test_an_operation_in_flight_finishes_while_new_connections_are_refused() -> None:
    port = free_port()
    server = start_demo(port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert server.stdout is not None
        emulators = ""
        while not emulators:  # logged before ready, so already in the pipe
            line = server.stdout.readline()
            assert line, "no emulator address in the log"
            if "built-in emulators at " in line:
                emulators = line.rsplit("built-in emulators at ", 1)[1].strip()
        # Oracle answers after 2 s: the query is still at the vendor when SIGTERM comes.
        put = urllib.request.Request(
            f"{emulators}/_emulator/faults/oracle", data=b'{"latency": 2}', method="PUT"
        )
        urllib.request.urlopen(put, timeout=5).close()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(post_query, base, DEMO_IDS[Vendor.ORACLE])
            deadline = time.monotonic() + 10
            while not any(r["vendor"] == "oracle" for r in emulator_requests(emulators)):
                assert time.monotonic() < deadline, "the query never reached the vendor"
                time.sleep(0.02)
            server.send_signal(signal.SIGTERM)
            # Draining: never ready again, then no new connection at all.
            deadline = time.monotonic() + 10
            while (status := readiness(base)) is not None:
                assert status == 503, "ready while stopping"
                assert time.monotonic() < deadline, "still accepting connections"
                time.sleep(0.02)
            assert not answer.done()  # the vendor is still answering
            status, body = answer.result(timeout=20)
        assert status == 200
        assert body == {"data": {"call": {"id": DEMO_IDS[Vendor.ORACLE]}}}
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output


def test_with_a_drain_delay_new_requests_are_served_while_not_ready() -> None:
    """Behind a load balancer polling /readyz: it takes a probe interval to stop sending
    here, and what it sends meanwhile is served, not refused."""
    port = free_port()
    server = start_demo(port, SWITCHBOARD_DRAIN_DELAY="3")
    base = f"http://127.0.0.1:{port}"
    genesys = DEMO_IDS[Vendor.GENESYS]
    try:
        server.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while readiness(base) == 200:
            assert time.monotonic() < deadline, "still ready"
            time.sleep(0.02)
        # Not ready, and a request on a new connection is still answered a second later
        # (without the delay uvicorn stops listening within 0.1 s of the drain's end).
        assert readiness(base) == 503
        time.sleep(1)
        assert post_query(base, genesys) == (200, {"data": {"call": {"id": genesys}}})
        hold = "mutation($id: ID!) { holdCall(id: $id) { id state } }"
        assert post_query(base, genesys, hold) == (
            200,
            {"data": {"holdCall": {"id": genesys, "state": "HELD"}}},
        )
        # A websocket, though, is told to go elsewhere at once, as the open ones were.
        with websocket_connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as client:
            with pytest.raises(ConnectionClosed) as closed:
                client.recv(timeout=5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
        deadline = time.monotonic() + 20
        while readiness(base) is not None:
            assert time.monotonic() < deadline, "still accepting connections"
            time.sleep(0.05)
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "draining: serving 3 s more before refusing connections" in output
    assert "Traceback" not in output


def post_query(
    base: str, call_id: str, query: str = "query($id: ID!) { call(id: $id) { id } }"
) -> tuple[int, object]:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query, "variables": {"id": call_id}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, json.load(response)


def emulator_requests(emulators: str) -> list[dict[str, str]]:
    with urllib.request.urlopen(f"{emulators}/_emulator/requests", timeout=5) as response:
        requests: list[dict[str, str]] = json.load(response)
        return requests


def readiness(base: str) -> int | None:
    """/readyz's status; None when the connection is refused (no longer listening)."""
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
            return int(response.status)
    except urllib.error.HTTPError as answered:
        return answered.code
    except urllib.error.URLError as failed:
        if isinstance(failed.reason, ConnectionRefusedError):
            return None
        raise
