"""Real Redis for the live tests: the shared one (`redis_url`) and private ones (`redis_server`).

No mocks: the point of these tests is how redis-py and Redis really behave, restarts
included. Without Redis the tests skip, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def unique(prefix: str) -> str:
    """A channel or key name no other test (or test run) uses."""
    return f"test:{prefix}:{uuid.uuid4().hex}"


async def wait_until(condition: Callable[[], bool | Awaitable[bool]], guard: float = 10) -> None:
    """Poll state outside our control (Redis, a reader task) until it holds; fail on a hang."""
    async with asyncio.timeout(guard):
        while True:
            result = condition()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.02)


def _ping(host: str, port: int, *, timeout: float = 1.0, directory: Path | None = None) -> None:
    """Raise OSError unless a Redis answers PING at host:port (inline command, no client);
    with `directory`, unless it is the Redis working there (ours, not another test run's
    that took the same free port meanwhile: other runs share the machine)."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(b"PING\r\n")
        reply = conn.recv(64)
        if not reply.startswith(b"+PONG"):
            raise OSError(f"unexpected reply to PING: {reply!r}")
        if directory is not None:
            conn.sendall(b"CONFIG GET dir\r\n")
            reply = conn.recv(4096)
            if str(directory).encode() not in reply:
                raise OSError(f"port {port} is another Redis's: {reply!r}")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as failed:
        unavailable(f"no Redis at {url} ({type(failed).__name__}: {failed})")
    finally:
        client.close()
    return url


class RedisServer:
    """A redis-server process of this test's own, which the test may stop and start again."""

    def __init__(self, executable: str, port: int, directory: Path) -> None:
        self.executable = executable
        self.port = port
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (again) on the same port; returns once it answers PING."""
        assert self._process is None, "already running"
        port, directory = str(self.port), str(self.directory)
        # No persistence: a restart comes back empty, as after losing the Redis host.
        options = ["--save", "", "--appendonly", "no", "--dir", directory]
        self._process = subprocess.Popen(
            [self.executable, "--port", port, "--bind", "127.0.0.1", *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                _ping("127.0.0.1", self.port, directory=self.directory)
                return
            except OSError as failed:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on {self.port}") from failed
                time.sleep(0.02)

    def stop(self) -> None:
        """Kill it (no goodbye to clients, like a crash) and wait until it is gone."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        unavailable("redis-server is not on PATH")
    server = RedisServer(executable, _free_port(), tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()
