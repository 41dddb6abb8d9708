"""Fixtures for the GraphQL tests: the gateway served over real HTTP, pointed at the emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from app.config import Settings
from app.emulators import DEMO_CREDENTIALS
from app.emulators.control import EmulatorControl
from app.live.watcher import Watcher
from app.server import create_app
from tests.asgi import GraphQLClient, serve_asgi
from tests.conftest import EmulatorServer


@dataclass
class Gateway:
    """switchboard served over real HTTP, pointed at the emulators."""

    url: str
    client: GraphQLClient
    emulator: EmulatorServer
    settings: Settings
    app_state: Any  # the app's services and subscription server, for white-box checks

    @property
    def control(self) -> EmulatorControl:
        return self.emulator.control


def gateway_settings(emulator_server: EmulatorServer, **overrides: Any) -> Settings:
    return (
        Settings()
        .with_values(**{"vendor_timeout": 1.0, "simulate": False, **overrides})
        .with_vendors(emulator_server.url, DEMO_CREDENTIALS)
    )


@asynccontextmanager
async def serve_gateway(
    emulator_server: EmulatorServer, **overrides: Any
) -> AsyncIterator[Gateway]:
    """A gateway with settings `overrides`, served until the block ends."""
    settings = gateway_settings(emulator_server, **overrides)
    app = create_app(settings)
    async with serve_asgi(app) as url, aiohttp.ClientSession() as session:
        yield Gateway(
            url, GraphQLClient(session, f"{url}/graphql"), emulator_server, settings, app.state
        )


@pytest.fixture
async def gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(emulator_server) as gateway:
        yield gateway


def watcher_of(gateway: Gateway) -> Watcher:
    """The gateway's watcher (tests count its observers)."""
    watcher = gateway.app_state.services.watcher
    assert isinstance(watcher, Watcher)
    return watcher
