"""SIGTERM stops `python -m app` gracefully: it drains first (the log says so), then
uvicorn shuts down. The drain itself is tested in tests/live/test_drain.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_sigterm_drains_then_exits() -> None:
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_SIMULATE": "0",
        "SWITCHBOARD_LOG_FORMAT": "text",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    # uvicorn re-raises the signal once shut down, so the exit says "terminated by SIGTERM".
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "draining: not ready, closing websockets, releasing leases" in output
    drained = output.index("draining:")
    assert output.index("Shutting down") > drained  # drained first, then stopped
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
