"""Serving an ASGI app for real (uvicorn on a free loopback port) and talking GraphQL to it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import uvicorn


@asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 and a free port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class GraphQLClient:
    """POSTs GraphQL operations over real HTTP; returns the decoded JSON response."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.session.post(
            self.url, json={"query": query, "variables": variables or {}}
        ) as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> str:
        async with self.session.post(
            self.url, json={"query": query, "variables": variables or {}}
        ) as response:
            return await response.text()
