"""Clients that misbehave on purpose, over real loopback sockets: a websocket client that
can stop reading (sans-io `websockets` over asyncio streams, so that nothing reads behind
the test's back), and raw HTTP connections that send as little as they like."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri


async def open_raw(
    base_url: str, *, receive_buffer: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the server of `base_url`; `receive_buffer` shrinks the kernel's
    receive buffer, so that a client that stops reading stops the server's writes soon."""
    parts = urlsplit(base_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return await asyncio.open_connection(sock=sock)


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection (fails after `within`)."""
    received = b""
    async with asyncio.timeout(within):
        while chunk := await reader.read(65536):
            received += chunk
    return received


class StalledWebSocket:
    """A graphql websocket client that reads only when told to."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: ClientProtocol
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self.pending: deque[Request | Response | Frame] = deque()

    @classmethod
    async def connect(
        cls,
        base_url: str,
        subprotocol: str = "graphql-transport-ws",
        *,
        receive_buffer: int | None = 4096,
    ) -> StalledWebSocket:
        client, response = await cls.handshake(base_url, subprotocol, receive_buffer=receive_buffer)
        assert response.status_code == 101, response
        return client

    @classmethod
    async def handshake(
        cls,
        base_url: str,
        subprotocol: str = "graphql-transport-ws",
        *,
        receive_buffer: int | None = 4096,
        host: str | None = None,
    ) -> tuple[StalledWebSocket, Response]:
        """A client and the server's answer to its handshake (sent with `host` as Host)."""
        reader, writer = await open_raw(base_url, receive_buffer=receive_buffer)
        url = base_url.replace("http://", "ws://") + "/graphql"
        protocol = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol(subprotocol)])
        request = protocol.connect()
        if host is not None:
            del request.headers["Host"]
            request.headers["Host"] = host
        protocol.send_request(request)
        client = cls(reader, writer, protocol)
        await client.flush()
        response = await client.next_event(5.0)
        assert isinstance(response, Response), response
        return client, response

    def frame(self, message: dict[str, Any]) -> bytes:
        """The bytes of one masked text frame carrying `message`."""
        self.protocol.send_text(json.dumps(message).encode())
        return b"".join(self.protocol.data_to_send())

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(self.frame(message))
        await self.writer.drain()

    async def flush(self) -> None:
        self.writer.write(b"".join(self.protocol.data_to_send()))
        await self.writer.drain()

    async def next_event(self, within: float) -> Request | Response | Frame:
        async with asyncio.timeout(within):
            while True:
                self.pending.extend(self.protocol.events_received())
                if self.pending:
                    return self.pending.popleft()
                data = await self.reader.read(65536)
                if not data:
                    self.protocol.receive_eof()
                    raise ConnectionError("closed without a close frame")
                self.protocol.receive_data(data)

    async def next_message(self, within: float = 5.0) -> dict[str, Any]:
        frame = await self.next_event(within)
        assert isinstance(frame, Frame), frame
        assert frame.opcode is Opcode.TEXT, frame
        message: dict[str, Any] = json.loads(bytes(frame.data))
        return message

    async def read_until_closed(self, repeated: bytes, within: float) -> tuple[int, int | None]:
        """Read until the server's close frame: how many text messages `repeated` came
        first (scanned as bytes: a Python frame parser would read 100,000 frames slower
        than the server waits for its close frame to leave), then the close code."""
        frame = b"\x81" + bytes([len(repeated)]) + repeated  # unmasked, as servers send
        assert len(repeated) < 126
        buffer = bytearray()
        count = offset = 0
        async with asyncio.timeout(within):
            while True:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("closed without a close frame")
                buffer += data
                while buffer.startswith(frame, offset):
                    offset += len(frame)
                    count += 1
                left = len(buffer) - offset
                closing = buffer.startswith(b"\x88", offset)
                if closing and left >= 2 and left >= 2 + buffer[offset + 1]:
                    break  # a whole close frame (its length fits in one byte)
                if left >= len(frame) and not closing:
                    break  # something else: told apart below
        self.protocol.receive_data(bytes(buffer[offset:]))
        for event in self.protocol.events_received():
            assert isinstance(event, Frame), event
            assert event.opcode is Opcode.CLOSE, event
            close = self.protocol.close_rcvd
            return count, close.code if close else None
        raise AssertionError(f"not a close frame: {bytes(buffer[offset : offset + 64])!r}")

    def close(self) -> None:
        self.writer.close()
