"""Deadlines and a connection cap around uvicorn's HTTP/1.1 and websocket protocols: the
defences against slow clients that uvicorn does not have.

uvicorn closes a keep-alive connection idle after a response (`timeout_keep_alive`), but
a connection that never sends a whole request is held forever: silent, half-sent
headers, a body shorter than its Content-Length (slowloris; issue 11: 250 held after
50 s). Its `limit_concurrency` answers 503 only once headers are complete, so it does
not bound held connections either. So:

- a connection must deliver each request whole, headers and body, within
  `read_timeout` of its first byte (of the connection, for the first request): then it
  is closed, with a 408 if a request had begun;
- a client that takes nothing we write for `read_timeout` (the transport's buffer stays
  above its high-water mark) is aborted, HTTP or websocket: closing would wait for a
  flush that never comes;
- past `max_connections` (HTTP and websocket together), a new connection is answered 503
  and closed at once.

These are subclasses of uvicorn's classes and use their internals (the parser callbacks,
`cycle`, `connections`, `transport`): third-party internals kept in this one module,
with a canary test (tests/test_transport.py) so that an upgrade fails loudly here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from typing import Any, ClassVar, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from app.errors import REQUEST_TIMEOUT, TOO_MANY_CONNECTIONS, error_document

logger = logging.getLogger("switchboard.transport")

# File descriptors kept for what is not a client connection: the listening socket, vendor
# connection pools (SWITCHBOARD_VENDOR_CONCURRENCY per vendor), Redis, logs.
RESERVED_FILES: Final = 256


def _canned(status: bytes, code: str, message: str) -> bytes:
    body = json.dumps(error_document(message, code))
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n" + body.encode()
    )


_TOO_MANY_CONNECTIONS: Final = _canned(
    b"503 Service Unavailable", TOO_MANY_CONNECTIONS, "Too many connections; try again later."
)
_REQUEST_TIMEOUT: Final = _canned(
    b"408 Request Timeout", REQUEST_TIMEOUT, "The request did not arrive in time."
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a read deadline, a write deadline and a cap."""

    read_timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 20_000
    refused: ClassVar[int] = 0  # connections refused for the cap, for the log

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._write_deadline: asyncio.TimerHandle | None = None
        self._receiving = False  # a request has begun and is not complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self.transport = transport  # connection_lost() closes it again
            type(self).refused += 1
            if self.refused % 1000 == 1:  # once, then every 1000th: an attack floods logs
                logger.warning(
                    "SWITCHBOARD_MAX_CONNECTIONS=%d reached: %d connections refused so far",
                    self.max_connections,
                    self.refused,
                )
            transport.write(_TOO_MANY_CONNECTIONS)
            transport.close()
            return
        super().connection_made(transport)
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None
        super().connection_lost(exc)

    # -- the read deadline: each request whole within read_timeout --------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._receiving = True
        if self._read_deadline is None:  # the first request's runs since the connection
            self._arm_read_deadline()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._receiving = False
        self._disarm_read_deadline()

    def handle_websocket_upgrade(self) -> None:
        # From here the websocket protocol owns the connection (and its keep-alive pings).
        self._disarm_read_deadline()
        super().handle_websocket_upgrade()

    def _arm_read_deadline(self) -> None:
        self._read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answered = cycle is not None and cycle.response_started
        if cycle is not None and not cycle.response_complete:
            # The app may be waiting for the rest of the body: it gets a disconnect, and
            # whatever it still sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        if self._receiving and not answered:
            self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()

    # -- the write deadline: a client that takes nothing for read_timeout -----------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(self.read_timeout, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, aborting a client that takes nothing we write for
    `write_timeout`: the application closes a client whose queue fills (4429), but the
    close frame waits behind the unread bytes, and closing waits for them to leave."""

    write_timeout: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_deadline: asyncio.TimerHandle | None = None

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(self.write_timeout, self._write_timed_out)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None
        super().connection_lost(exc)

    def _write_timed_out(self) -> None:
        self._write_deadline = None
        logger.info("aborting a websocket client that read nothing for %gs", self.write_timeout)
        self.transport.abort()


def guarded_protocols(*, read_timeout: float, max_connections: int) -> dict[str, Any]:
    """uvicorn.Config options `http` and `ws`: protocol classes with these limits (a class
    each, since uvicorn makes protocols from a class and its own config only)."""
    http = type(
        "GuardedHttpProtocol",
        (GuardedHttpProtocol,),
        {"read_timeout": read_timeout, "max_connections": connection_cap(max_connections)},
    )
    ws = type(
        "GuardedWebSocketProtocol", (GuardedWebSocketProtocol,), {"write_timeout": read_timeout}
    )
    return {"http": http, "ws": ws}


def connection_cap(configured: int) -> int:
    """`configured`, or fewer if the process may not open that many files: past its limit
    accept() fails (EMFILE) and asyncio stops accepting for a while, for everyone, where
    the cap would have answered 503."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft - RESERVED_FILES >= configured:
        return configured
    capped = max(1, soft - RESERVED_FILES)
    logger.info(
        "SWITCHBOARD_MAX_CONNECTIONS=%d is above what the open-file limit (%d) allows: %d",
        configured,
        soft,
        capped,
    )
    return capped
