"""The emulator control surface over HTTP: the request log and per-vendor faults."""

from __future__ import annotations

import asyncio

import aiohttp

from app.emulators.control import Fault
from app.emulators.simulator import CallSimulator
from tests.conftest import EmulatorServer

STATUS = "/oracle/call/2.0/1TfU02Xfme2GMuzfUh0rkdgvz4/status"


async def test_request_log_lists_vendor_requests_until_cleared(
    emulator_server: EmulatorServer,
) -> None:
    async with aiohttp.ClientSession(emulator_server.url) as session:
        async with session.get(STATUS) as r:
            assert r.status == 200
        async with session.get("/_emulator/requests") as r:
            assert await r.json() == [{"vendor": "oracle", "method": "GET", "path": STATUS}]
        async with session.delete("/_emulator/requests") as r:
            assert r.status == 204
        async with session.get("/_emulator/requests") as r:
            assert await r.json() == []


async def test_fault_set_over_http_applies_to_that_vendor_only(
    emulator_server: EmulatorServer,
) -> None:
    async with aiohttp.ClientSession(emulator_server.url) as session:
        async with session.put("/_emulator/faults/oracle", json={"status": 503}) as r:
            assert r.status == 204
        async with session.get(STATUS) as r:
            assert r.status == 503
        async with session.post(
            "/genesys/api/v2/me/calls", auth=None, headers={"Authorization": "Basic eDp5"}
        ) as r:
            assert r.status != 503
        async with session.delete("/_emulator/faults") as r:
            assert r.status == 204
        async with session.get(STATUS) as r:
            assert r.status == 200


async def test_fault_with_unknown_fields_is_refused(emulator_server: EmulatorServer) -> None:
    async with (
        aiohttp.ClientSession(emulator_server.url) as session,
        session.put("/_emulator/faults/oracle", json={"explode": True}) as r,
    ):
        assert r.status == 400
    assert emulator_server.control.faults == {}


async def test_latency_fault_delays_but_answers(emulator_server: EmulatorServer) -> None:
    emulator_server.control.set_fault("oracle", Fault(latency=0.05))
    async with aiohttp.ClientSession(emulator_server.url) as session, session.get(STATUS) as r:
        assert r.status == 200


async def test_timeout_fault_holds_the_request_until_released(
    emulator_server: EmulatorServer,
) -> None:
    emulator_server.control.set_fault("oracle", Fault(timeout=True))
    async with aiohttp.ClientSession(emulator_server.url) as session:
        request = asyncio.ensure_future(session.get(STATUS))
        await asyncio.sleep(0.05)
        assert not request.done()
        emulator_server.control.clear_faults("oracle")
        response = await request
        assert response.status == 503
        response.release()


async def test_expire_tokens_over_http_for_token_vendors_only(
    emulator_server: EmulatorServer,
) -> None:
    async with aiohttp.ClientSession(emulator_server.url) as session:
        async with session.post("/_emulator/expire-tokens/huawei") as r:
            assert r.status == 204
        async with session.post("/_emulator/expire-tokens/oracle") as r:
            assert r.status == 404


async def test_simulator_runs_calls_on_every_vendor_and_stops_cleanly(
    emulator_server: EmulatorServer,
) -> None:
    emulators = list(emulator_server.emulators.vendors.values())
    simulator = CallSimulator(emulators, interval=0.001, pace=0.0001, max_calls=20, seed=7)
    simulator.start()
    async with asyncio.timeout(10):
        while len(simulator.completed) < len(emulators):  # noqa: ASYNC110 (background work)
            await asyncio.sleep(0.01)
    await simulator.stop()
    assert set(simulator.completed) == {e.vendor for e in emulators}
    assert not simulator.failed
    assert simulator.running == 0
