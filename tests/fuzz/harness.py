"""The gateway and its emulators served for real in a background thread, so that
Hypothesis (which drives plain functions) can fuzz them over loopback HTTP and websockets
as any client would: uvicorn on a free port, the emulators on another."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from aiohttp.test_utils import TestServer

from app.config import Settings
from app.emulators import DEMO_CREDENTIALS, build_emulators
from app.server import create_app

# Every answer, however hostile the input, comes within this (a hang detector, generous
# enough for a loaded 2-core machine; not a performance figure).
ANSWER_BOUND = 10.0

# What must never appear in an answer: credentials, and the marks of a traceback.
SECRETS = tuple(
    value
    for vendor in DEMO_CREDENTIALS.values()
    for name, value in vendor.items()
    if name in {"app_secret", "api_key", "password", "client_secret"}
)
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', '.py", line ')


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Tally:
    """What a fuzz run sent and what went wrong (printed at the end of the session)."""

    inputs: int = 0
    server_errors: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.inputs += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


TALLY = Tally()


class ServedGateway:
    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides
        self.port = 0
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-gateway", daemon=True)
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(30) or self._failure is not None:
            raise RuntimeError(f"gateway did not start: {self._failure!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as failed:  # reported by start()
            self._failure = failed
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        emulators = build_emulators(demo=True)
        emulator_server = TestServer(emulators.app, host="127.0.0.1", port=0)
        await emulator_server.start_server(access_log=None)
        base = str(emulator_server.make_url("")).rstrip("/")
        settings = Settings().with_values(
            vendor_timeout=2.0, confirm_timeout=1.0, simulate=False, **self.overrides
        )
        app = create_app(emulators.settings_for(settings, base))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        self._started.set()
        await self._stop.wait()
        server.should_exit = True
        emulators.control.release_all()
        await task
        await emulator_server.close()
        sock.close()

    # -- clients ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ANSWER_BOUND)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            data = response.read()
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                data,
                time.monotonic() - started,
            )
        finally:
            connection.close()

    def post_json(self, payload: Any) -> Answer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request(
            "POST", "/graphql", body, {"content-type": "application/json", "host": "127.0.0.1"}
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


@contextmanager
def served_gateway(**overrides: Any) -> Iterator[ServedGateway]:
    gateway = ServedGateway(**overrides)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


def check_answer(answer: Answer, kind: str) -> None:
    """What every answer to any input must be: no 5xx, bounded, every error coded, no
    traceback, no credential."""
    TALLY.count(kind)
    if answer.status >= 500:
        TALLY.server_errors += 1
    assert answer.status < 500, (answer.status, answer.text[:500])
    assert answer.elapsed < ANSWER_BOUND, answer.elapsed
    check_text(answer.text)
    if answer.body and answer.headers.get("content-type", "").startswith("application/json"):
        check_errors_coded(json.loads(answer.body))


def check_text(text: str) -> None:
    for mark in TRACEBACK_MARKS:
        assert mark not in text, text[:500]
    for secret in SECRETS:
        assert secret not in text, "a credential in an answer"


def check_errors_coded(document: Any) -> None:
    """Every GraphQL error in `document` (one result or a batch) has extensions.code."""
    results = document if isinstance(document, list) else [document]
    for result in results:
        if not isinstance(result, dict):
            continue
        for error in result.get("errors") or ():
            code = (error.get("extensions") or {}).get("code")
            assert isinstance(code, str), error
            assert code, error
