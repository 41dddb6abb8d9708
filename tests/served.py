"""switchboard served as `python -m app` serves it (app.__main__.server_config: its
protocols, deadlines and headers), on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn

from app.__main__ import server_config
from app.config import Settings
from app.server import create_app


@dataclass
class Served:
    url: str
    server: uvicorn.Server

    @property
    def connections(self) -> int:
        """Connections uvicorn holds, HTTP and websocket."""
        return len(self.server.server_state.connections)


@asynccontextmanager
async def serve_switchboard(settings: Settings) -> AsyncIterator[Served]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(create_app(settings), settings, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise its error
                await asyncio.sleep(0.01)
        yield Served(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        await task
        sock.close()
