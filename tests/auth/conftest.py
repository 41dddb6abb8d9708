"""A gateway with authentication on, pointed at the emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Secret
from tests.auth.tokens import SECRET
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway


@pytest.fixture
async def secured(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    """JWT (HS256) authentication, watchers fast, confirmations fast."""
    async with serve_gateway(
        emulator_server,
        auth="jwt",
        jwt_secret=Secret(SECRET),
        poll_interval=0.05,
        watch_grace=0,
        confirm_interval=0.05,
    ) as gateway:
        yield gateway
