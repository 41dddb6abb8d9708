"""Slow and greedy clients against switchboard served as `python -m app` serves it: silent
connections, half-sent headers and bodies, clients that read nothing, too many
connections; and answers that do not name the stack."""

from __future__ import annotations

import asyncio
import inspect
import json
import resource
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from app.transport import RESERVED_FILES, connection_cap
from tests.conftest import EmulatorServer
from tests.graphql.conftest import gateway_settings
from tests.served import Served, serve_switchboard
from tests.sockets import StalledWebSocket, closed_by_server, open_raw

READ_TIMEOUT = 0.5
# What the server may take beyond the deadline on a loaded machine.
SLACK = 2.0

QUERY = json.dumps({"query": "{ __typename }"}).encode()


def post(body: bytes = QUERY, *, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(size).encode() + b"\r\n\r\n" + body
    )


@pytest.fixture
async def served(emulator_server: EmulatorServer) -> AsyncIterator[Served]:
    settings = gateway_settings(emulator_server, http_read_timeout=READ_TIMEOUT)
    async with serve_switchboard(settings) as served:
        yield served


async def test_silent_connection_is_closed(served: Served) -> None:
    reader, writer = await open_raw(served.url)
    started = time.monotonic()
    assert await closed_by_server(reader, within=READ_TIMEOUT + SLACK) == b""
    assert time.monotonic() - started >= READ_TIMEOUT * 0.9
    writer.close()


async def test_half_sent_headers_are_answered_408_and_closed(served: Served) -> None:
    # Many at once, as slowloris does: each is closed, none is held.
    connections = [await open_raw(served.url) for _ in range(50)]
    for _, writer in connections:
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    answers = await asyncio.gather(
        *(closed_by_server(reader, within=READ_TIMEOUT + SLACK) for reader, _ in connections)
    )
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 ")
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    for _, writer in connections:
        writer.close()


async def test_trickled_headers_do_not_extend_the_deadline(served: Served) -> None:
    reader, writer = await open_raw(served.url)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: " + b"a" * 1000

    async def trickle() -> None:
        for byte in request:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.05)

    trickling = asyncio.create_task(trickle())
    started = time.monotonic()
    try:
        answer = await closed_by_server(reader, within=READ_TIMEOUT + SLACK)
    finally:
        trickling.cancel()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < READ_TIMEOUT + SLACK
    writer.close()


async def test_body_shorter_than_its_content_length_is_not_held(served: Served) -> None:
    reader, writer = await open_raw(served.url)
    writer.write(post(QUERY[:10], length=len(QUERY)))
    answer = await closed_by_server(reader, within=READ_TIMEOUT + SLACK)
    assert answer.startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_keep_alive_requests_each_get_the_whole_deadline(served: Served) -> None:
    reader, writer = await open_raw(served.url)
    for _ in range(3):  # longer in all than one deadline: it counts per request
        writer.write(post())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 "), head
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        assert json.loads(await reader.readexactly(length)) == {"data": {"__typename": "Query"}}
        await asyncio.sleep(READ_TIMEOUT * 0.6)
    writer.close()


async def test_connections_past_the_cap_are_refused(emulator_server: EmulatorServer) -> None:
    settings = gateway_settings(emulator_server, http_read_timeout=READ_TIMEOUT, max_connections=3)
    async with serve_switchboard(settings) as served:
        held = [await open_raw(served.url) for _ in range(3)]
        await asyncio.sleep(0.05)
        reader, writer = await open_raw(served.url)
        answer = await closed_by_server(reader, within=SLACK)
        assert answer.startswith(b"HTTP/1.1 503 ")
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_CONNECTIONS"
        writer.close()
        # Once the silent ones are gone (the read deadline), there is room again.
        for held_reader, _ in held:
            await closed_by_server(held_reader, within=READ_TIMEOUT + SLACK)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{served.url}/healthz") as response,
        ):
            assert response.status == 200
        for _, held_writer in held:
            held_writer.close()


async def test_websocket_client_that_reads_nothing_is_dropped(served: Served) -> None:
    client = await StalledWebSocket.connect(served.url)
    try:
        await client.send({"type": "connection_init"})
        assert (await client.next_message())["type"] == "connection_ack"
        ping = client.frame({"type": "ping"})
        for _ in range(100):
            client.writer.write(ping * 5000)
            try:
                async with asyncio.timeout(1):
                    await client.writer.drain()
            except (TimeoutError, ConnectionError):
                break  # the server has stopped reading from us, or dropped us already
            await asyncio.sleep(0.05)  # the server runs in this loop: its turn to read
        # The application has closed it (4429), but its close frame cannot leave: closing
        # would wait for ever; the connection is dropped instead.
        async with asyncio.timeout(READ_TIMEOUT + SLACK + 2):
            while served.connections:  # noqa: ASYNC110 (the server works in the background)
                await asyncio.sleep(0.05)
    finally:
        client.close()


STACK_NAMES = ("uvicorn", "starlette", "strawberry", "python", "websockets", "httptools")


def names_the_stack(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in headers
        if name.lower() in ("server", "x-powered-by")
        or any(stack in f"{name} {value}".lower() for stack in STACK_NAMES)
    ]


async def test_answers_do_not_name_the_stack(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        for method, path, body in [
            ("GET", "/healthz", None),
            ("POST", "/graphql", {"query": "{ __typename }"}),
            ("POST", "/graphql", {"query": "{ nope }"}),
            ("GET", "/nowhere", None),
            ("PUT", "/graphql", None),
        ]:
            async with session.request(method, f"{served.url}{path}", json=body) as response:
                assert names_the_stack(list(response.headers.items())) == [], (method, path)
    # uvicorn's own answer to a request it cannot parse.
    reader, writer = await open_raw(served.url)
    writer.write(b"NOT HTTP\r\n\r\n")
    answer = await closed_by_server(reader, within=SLACK)
    head = answer.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert names_the_stack([tuple(line.split(": ", 1)) for line in head]) == []  # type: ignore[misc]
    writer.close()
    # The websocket handshake.
    client, handshake = await StalledWebSocket.handshake(served.url)
    assert handshake.status_code == 101
    assert names_the_stack(list(handshake.headers.raw_items())) == []
    client.close()


def test_connection_cap_stays_below_the_open_file_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(100) == 100
    if soft != resource.RLIM_INFINITY:
        assert connection_cap(soft * 2) == soft - RESERVED_FILES


def test_uvicorn_internals_we_rely_on_are_there() -> None:
    """Canary for app/transport.py: what it overrides and reads of uvicorn's protocols."""
    for method in (
        "connection_made",
        "connection_lost",
        "on_message_begin",
        "on_message_complete",
        "handle_websocket_upgrade",
        "pause_writing",
        "resume_writing",
    ):
        assert callable(getattr(HttpToolsProtocol, method)), method
    http_init = inspect.getsource(HttpToolsProtocol.__init__)
    for attribute in ("self.cycle", "self.transport", "self.connections", "self.loop"):
        assert attribute in http_init, attribute
    cycle_init = inspect.getsource(RequestResponseCycle.__init__)
    for attribute in ("disconnected", "message_event", "response_started", "response_complete"):
        assert f"self.{attribute}" in cycle_init, attribute
    for method in ("pause_writing", "resume_writing", "connection_lost"):
        assert callable(getattr(WebSocketsSansIOProtocol, method)), method
    ws_init = inspect.getsource(WebSocketsSansIOProtocol.__init__)
    assert "self.loop" in ws_init
    assert "server_header" in inspect.signature(uvicorn.Config).parameters
