"""A real GraphQL websocket client for tests, speaking either protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class GraphQLWebSocket:
    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload or {}})
        ack = await self.receive()
        assert ack["type"] == "connection_ack", ack
        return ack

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )

    async def stop(self, op_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.send({"id": op_id, "type": kind})

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        """The next message other than keep-alives."""
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = json.loads(await self.connection.recv())
                if message["type"] in ("ka", "ping", "pong"):
                    continue
                return message

    async def data(self, op_id: str, within: float = 5.0) -> dict[str, Any]:
        """The payload of the next data message, which must be for `op_id`."""
        message = await self.receive(within)
        assert message["type"] in ("next", "data"), message
        assert message["id"] == op_id, message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def closed_with(self, within: float = 5.0) -> int | None:
        """Wait until the server closes the connection; its close code."""
        async with asyncio.timeout(within):
            try:
                while True:
                    await self.connection.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None


@asynccontextmanager
async def graphql_ws(
    base_url: str, protocol: str = TRANSPORT_WS, *, init: dict[str, Any] | None = None
) -> AsyncIterator[GraphQLWebSocket]:
    """A connected client, initialised with `init` as its connection_init payload."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[protocol]) as connection:  # type: ignore[list-item]
        client = GraphQLWebSocket(connection, protocol)
        await client.init(init)
        yield client


@asynccontextmanager
async def raw_ws(base_url: str, protocol: str = TRANSPORT_WS) -> AsyncIterator[GraphQLWebSocket]:
    """A connected client that has not sent connection_init."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[protocol]) as connection:  # type: ignore[list-item]
        yield GraphQLWebSocket(connection, protocol)
