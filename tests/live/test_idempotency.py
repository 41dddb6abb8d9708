"""Idempotency keys through a real Redis: any instance answers a repeat of a startCall
placed by another, and the outcome (the call) survives the trip."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from app.adapters import Adapters, StartCall
from app.call_control import CallControl
from app.calls import CallState, OracleCall, Vendor
from app.config import Settings
from app.emulators import DEMO_CREDENTIALS
from app.idempotency import Outcome
from app.live.idempotency import RedisIdempotency
from app.vendors.registry import build_adapters
from tests.conftest import EmulatorServer


@pytest.fixture
async def adapters(emulator_server: EmulatorServer) -> AsyncIterator[Adapters]:
    built = build_adapters(Settings().with_vendors(emulator_server.url, DEMO_CREDENTIALS))
    yield built
    await built.close()


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[tuple[RedisIdempotency, RedisIdempotency]]:
    a, b = RedisIdempotency(redis_url), RedisIdempotency(redis_url)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_a_key_claimed_on_one_instance_is_pending_on_the_other(
    stores: tuple[RedisIdempotency, RedisIdempotency],
) -> None:
    a, b = stores
    key = f"test-{uuid.uuid4()}"
    assert await a.claim(key, "fp", 60) is None
    held = await b.claim(key, "fp", 60)
    assert held == Outcome("fp", pending=True)
    await a.release(key)
    assert await b.claim(key, "fp", 60) is None
    await b.release(key)


async def test_a_repeat_on_another_instance_answers_the_first_call(
    adapters: Adapters,
    emulator_server: EmulatorServer,
    stores: tuple[RedisIdempotency, RedisIdempotency],
) -> None:
    first = CallControl(adapters, idempotency=stores[0])
    second = CallControl(adapters, idempotency=stores[1])
    request = StartCall(Vendor.ORACLE, "+15551230000", contact_id="switchboard-demo")
    key = f"test-{uuid.uuid4()}"
    placed = await first.start(request, idempotency_key=key)
    repeated = await second.start(request, idempotency_key=key)
    assert isinstance(repeated, OracleCall)
    assert repeated == placed
    assert repeated.state is CallState.DIALING
    starts = emulator_server.control.count("oracle", path_contains="/switchboard-demo/")
    assert starts == 1
    await stores[0].release(key)
