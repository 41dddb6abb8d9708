"""/readyz apart from /healthz: 503 with a reason when no configured vendor is usable
(breakers open, from the emulators' faults) or the configured Redis bus is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp

from app.calls import Vendor
from app.config import Settings
from app.emulators import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.server import create_app
from tests.asgi import serve_asgi
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.live.conftest import RedisServer, wait_until


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    async with serve_asgi(create_app(settings)) as url, aiohttp.ClientSession() as session:
        yield url, session


async def readyz(url: str, session: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{url}/readyz") as response:
        return response.status, await response.json()


async def test_ready_until_no_configured_vendor_is_usable(emulator_server: EmulatorServer) -> None:
    everything = Settings().with_values(
        vendor_timeout=0.3, breaker_failures=1, breaker_cooldown=3600
    )
    everything = everything.with_vendors(emulator_server.url, DEMO_CREDENTIALS)
    oracle = everything.vendors.configured[Vendor.ORACLE]
    oracle_only = replace(
        everything, vendors=replace(everything.vendors, configured={Vendor.ORACLE: oracle})
    )
    async with served(oracle_only) as (url, session):
        status, body = await readyz(url, session)
        assert status == 200
        assert body["vendors"] == {
            "oracle": {"breaker": "closed", "lastSuccessAge": None, "lastError": None}
        }
        query: dict[str, Any] = {
            "query": "query($id: ID!) { call(id: $id) { id } }",
            "variables": {"id": DEMO_IDS[Vendor.ORACLE]},
        }
        async with session.post(f"{url}/graphql", json=query) as response:
            assert (await response.json())["data"]["call"]["id"] == DEMO_IDS[Vendor.ORACLE]
        _, body = await readyz(url, session)
        age = body["vendors"]["oracle"]["lastSuccessAge"]  # seconds since that answer
        assert isinstance(age, int | float)
        assert 0 <= age < 60
        emulator_server.control.set_fault("oracle", Fault(status=503))
        async with session.post(f"{url}/graphql", json=query) as response:
            assert response.status == 200
        status, body = await readyz(url, session)
        assert status == 503
        assert body["reasons"] == ["no configured vendor is usable"]
        assert body["vendors"]["oracle"]["breaker"] == "open"
        assert body["vendors"]["oracle"]["lastError"] == "VENDOR_UNAVAILABLE"
        async with session.get(f"{url}/healthz") as live:
            assert live.status == 200  # liveness is not readiness


async def test_not_ready_while_the_redis_bus_is_down(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    settings = (
        Settings()
        .with_values(broadcast_url=redis_server.url)
        .with_vendors(emulator_server.url, DEMO_CREDENTIALS)
    )
    async with served(settings) as (url, session):

        async def status() -> int:
            return (await readyz(url, session))[0]

        await wait_until(lambda: _is(status, 200))
        redis_server.stop()
        await wait_until(lambda: _is(status, 503))
        _, body = await readyz(url, session)
        assert body["reasons"] == ["the Redis bus is disconnected"]
        assert body["bus"] == {"url": "redis", "connected": False}
        redis_server.start()
        await wait_until(lambda: _is(status, 200), guard=20)


async def _is(status: Any, expected: int) -> bool:
    return bool(await status() == expected)
