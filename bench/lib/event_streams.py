"""B5's `callEvents` clients: one subscription each, over a websocket (graphql-transport-ws)
or over server-sent events (`/graphql/stream`, graphql-sse distinct connections), that
record every event with the time it came off the socket, and can drop and resume.

Both are small aiohttp clients (B5 holds four at once; B3's sans-I/O subscribers are for
thousands). A resume is what a real client does: over the websocket, a new subscription
with `after: <last cursor>`; over SSE, a new GET with `Last-Event-ID: <last id:>`, as a
browser's EventSource sends it by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

QUERY = (
    "subscription($vendors: [Vendor!], $after: String) {"
    " callEvents(vendors: $vendors, after: $after) { kind cursor callId state version } }"
)
VARIABLES = {"vendors": ["GENESYS"]}


def cursor_key(cursor: str) -> tuple[int, int]:
    """A cursor ("<ms>-<seq>") as something that sorts in log order."""
    ms, seq = cursor.split("-")
    return int(ms), int(seq)


@dataclass
class Received:
    event: dict[str, Any]  # the `callEvents` object
    at: float  # time.time() when its bytes were read


@dataclass
class EventStream:
    """One `callEvents` subscription at a time; `events` keeps everything received, over
    every connection, in order of receipt."""

    base_url: str  # http://host:port
    transport: str  # "ws" | "sse"
    events: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _reader: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last_cursor(self) -> str | None:
        return self.events[-1].event["cursor"] if self.events else None

    async def open(self, after: str | None = None) -> None:
        """Subscribe (resuming after `after` when given); returns once the request is out
        and, over the websocket, acknowledged."""
        # A session per connection: closing it closes the socket, as a dropped client's.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        if self.transport == "ws":
            self._reader = await self._open_ws(self._session, after)
        else:
            self._reader = await self._open_sse(self._session, after)

    async def drop(self) -> None:
        """Close the connection (the socket goes), as a network blip or a closed tab."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def wait_for(self, predicate: Any, within: float) -> bool:
        """Until predicate(self.events) is true (checked on each arrival), or `within` s."""
        deadline = time.monotonic() + within
        while not predicate(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=left)
        return True

    def _add(self, payload: dict[str, Any], at: float) -> None:
        if payload.get("errors"):
            self.problems.append(json.dumps(payload["errors"])[:300])
            return
        self.events.append(Received(payload["data"]["callEvents"], at))
        self._arrived.set()

    # -- graphql-transport-ws -------------------------------------------------------------

    async def _open_ws(
        self, session: aiohttp.ClientSession, after: str | None
    ) -> asyncio.Task[None]:
        url = self.base_url.replace("http://", "ws://") + "/graphql"
        ws = await session.ws_connect(url, protocols=["graphql-transport-ws"], autoping=True)
        await ws.send_json({"type": "connection_init", "payload": {}})
        ack = await ws.receive_json(timeout=10)
        if ack.get("type") != "connection_ack":
            raise ConnectionError(f"no connection_ack: {ack}")
        variables = {**VARIABLES, "after": after}
        subscribe = {"query": QUERY, "variables": variables}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": subscribe})
        return asyncio.create_task(self._read_ws(ws))

    async def _read_ws(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            at = time.time()
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            decoded = json.loads(message.data)
            kind = decoded.get("type")
            if kind == "next":
                self._add(decoded["payload"], at)
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            elif kind in ("error", "complete"):
                self.problems.append(f"{kind}: {decoded.get('payload')}")
                break

    # -- server-sent events ---------------------------------------------------------------

    async def _open_sse(
        self, session: aiohttp.ClientSession, after: str | None
    ) -> asyncio.Task[None]:
        headers = {"Accept": "text/event-stream"}
        if after is not None:  # what EventSource sends when it reconnects
            headers["Last-Event-ID"] = after
        params = {"query": QUERY, "variables": json.dumps(VARIABLES)}
        response = await session.get(
            f"{self.base_url}/graphql/stream", params=params, headers=headers
        )
        if response.status != 200:
            raise ConnectionError(f"HTTP {response.status}: {await response.text()}")
        return asyncio.create_task(self._read_sse(response))

    async def _read_sse(self, response: aiohttp.ClientResponse) -> None:
        with contextlib.closing(response):  # a drop closes the stream's connection
            await self._events_of(response)

    async def _events_of(self, response: aiohttp.ClientResponse) -> None:
        kind, data, event_id = "", "", None
        async for raw in response.content:
            at = time.time()
            line = raw.decode().rstrip("\r\n")
            if line == "":  # end of an event
                if kind == "next" and data:
                    before = len(self.events)
                    self._add(json.loads(data), at)
                    # The `id:` must be the event's cursor: what Last-Event-ID will carry.
                    if len(self.events) > before and event_id != self.last_cursor:
                        self.problems.append(f"id {event_id!r} is not the event's cursor")
                elif kind == "complete":
                    self.problems.append("complete")
                    return
                kind, data, event_id = "", "", None
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif line.startswith("id:"):
                event_id = line[3:].strip()
