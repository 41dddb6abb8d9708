"""A websocket connection's bounded send queue. When a client reads too slowly its oldest
undelivered data messages are dropped (a call's latest state is what matters) and the
drop is counted; control messages (acks, pongs, keep-alives, errors, completions) cannot
be dropped, so a client that lets them pile up is closed (4429). Streams of events, where
every message counts (callEvents), wait for `room()` before queueing more instead."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging

from starlette.types import Send

from app.metrics import WEBSOCKET_DROPPED

logger = logging.getLogger("switchboard.websocket")

FLUSH_TIMEOUT = 5.0  # seconds a last word may wait for a client that does not read


class SendQueue:
    """The frames waiting for one client, and the task sending them."""

    def __init__(self, send: Send, max_data: int, max_control: int) -> None:
        self._send = send  # the raw ASGI send: frames skip Starlette's per-send checks
        self.max_data = max_data
        self.max_control = max_control
        # Closed: nothing more is queued (the connection is closing, or its client left).
        self.closed = False
        self.overflowed = False
        self.dropped = 0
        # Frames waiting to be sent: (is data, text). A sender task runs only while there
        # are some, so an idle connection costs no task.
        self._outbox: collections.deque[tuple[bool, str]] = collections.deque()
        self._data_queued = 0
        self._sender: asyncio.Task[None] | None = None
        # Set while fewer than max_data data messages wait (or the queue is closed).
        self._room = asyncio.Event()
        self._room.set()

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return len(self._outbox)

    @property
    def sending(self) -> bool:
        return self._sender is not None

    @property
    def full(self) -> bool:
        """Whether the next data message would make one wait drop."""
        return self._data_queued >= self.max_data and not self.closed

    async def room(self) -> None:
        """Until a data message can be queued without a drop (or the queue closed)."""
        await self._room.wait()

    def put_data(self, text: str) -> None:
        if self.closed:
            return
        if self._data_queued >= self.max_data:
            # Slow reader: drop its oldest undelivered data message (latest state wins).
            for index, (queued, _) in enumerate(self._outbox):
                if queued:
                    del self._outbox[index]
                    self._data_queued -= 1
                    self.dropped += 1
                    WEBSOCKET_DROPPED.inc()
                    break
        self._data_queued += 1
        self._outbox.append((True, text))
        if self._data_queued >= self.max_data:
            self._room.clear()
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain())

    def put_control(self, text: str) -> None:
        if self.closed:
            return
        if len(self._outbox) - self._data_queued >= self.max_control:
            # A client that does not read its pongs (or anything else): closed, not queued
            # for without end. Connection.serve() sends the close frame at its next message.
            self._overflow()
            return
        self._outbox.append((False, text))
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain())

    def close(self) -> None:
        self.closed = True
        self._room.set()  # nothing waits for a closed queue

    async def flush(self) -> None:
        """Wait (bounded) until what is queued has been sent: a last word before closing."""
        sender = self._sender
        if sender is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(FLUSH_TIMEOUT):
                    await asyncio.shield(sender)

    async def stop(self) -> None:
        """The connection is over: frames still waiting are not sent."""
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    def _overflow(self) -> None:
        logger.info("closing a websocket client that does not read (%d queued)", self.queued)
        self.closed = True
        self.overflowed = True
        self._outbox.clear()
        self._data_queued = 0
        self._room.set()
        if self._sender is not None:
            self._sender.cancel()  # blocked on the client: its frame is lost with it

    async def _drain(self) -> None:
        send = self._send
        try:
            while self._outbox:
                is_data, text = self._outbox.popleft()
                if is_data:
                    self._data_queued -= 1
                    if self._data_queued < self.max_data:
                        self._room.set()
                await send({"type": "websocket.send", "text": text})
        except (OSError, RuntimeError):
            self.closed = True  # the client went away; Connection.serve() notices on receive
            self._room.set()
        finally:
            self._sender = None
