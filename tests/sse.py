"""A plain server-sent events client for tests (aiohttp): opens `/graphql/stream` with GET
or POST and reads its events as the event-stream format defines them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp


@dataclass
class Event:
    event: str
    data: str
    id: str | None = None

    @property
    def result(self) -> Any:
        return json.loads(self.data)


class EventStreamReader:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments = 0  # keep-alive comments seen

    @property
    def status(self) -> int:
        return self.response.status

    async def next(self, within: float = 5.0) -> Event | None:
        """The next event; None once the stream has ended."""
        event, event_id = "", None
        data: list[str] = []
        async with asyncio.timeout(within):
            async for raw in self.response.content:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if event or data:
                        return Event(event, "\n".join(data), event_id)
                    continue
                if line.startswith(":"):
                    self.comments += 1
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
        return None

    async def result(self, within: float = 5.0) -> Any:
        """The next `next` event's execution result."""
        event = await self.next(within)
        assert event is not None, "the stream ended"
        assert event.event == "next", event
        return event.result

    async def completes(self, within: float = 5.0) -> None:
        event = await self.next(within)
        assert event is not None, "the stream ended"
        assert event.event == "complete", event
        assert await self.next(within) is None  # and the stream ends with it


def stream_url(url: str, query: str, variables: dict[str, Any] | None = None, **more: str) -> str:
    parameters = {"query": query, **more}
    if variables is not None:
        parameters["variables"] = json.dumps(variables)
    return f"{url}/graphql/stream?{urlencode(parameters)}"


@asynccontextmanager
async def open_stream(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> AsyncIterator[EventStreamReader]:
    """A stream of `query` (GET parameters or a JSON POST body); leaving the block
    closes the connection, as a browser tab going away does."""
    sent = {"Accept": "text/event-stream", **(headers or {})}
    async with _session(session) as client:
        if method == "GET":
            request = client.get(stream_url(url, query, variables), headers=sent)
        else:
            body = {"query": query, "variables": variables or {}}
            request = client.post(f"{url}/graphql/stream", json=body, headers=sent)
        async with request as response:
            yield EventStreamReader(response)


@asynccontextmanager
async def _session(
    session: aiohttp.ClientSession | None,
) -> AsyncIterator[aiohttp.ClientSession]:
    if session is not None:
        yield session
        return
    async with aiohttp.ClientSession() as own:
        yield own
