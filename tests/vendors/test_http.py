"""VendorHttp: the concurrency cap per vendor, and no silent resend of commands."""

from __future__ import annotations

import asyncio
import socket

import pytest

from app.calls import Vendor
from app.emulators.control import Fault
from app.errors import VendorConnectionLost, VendorTimeout, VendorUnavailable
from app.vendors.http import VendorHttp, VendorResponse
from tests.conftest import EmulatorServer, VendorHttpFactory

# waitperiod=0: Get Call Status is a long poll (30 s by default when nothing changed).
STATUS = "/call/2.0/1TfU02Xfme2GMuzfUh0rkdgvz4/status?waitperiod=0"


async def test_requests_beyond_the_cap_wait_for_a_connection(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    http = vendor_http(Vendor.ORACLE, timeout=5.0, concurrency=2)
    emulator_server.control.set_fault("oracle", Fault(timeout=True))
    pending = [asyncio.ensure_future(http.request("GET", STATUS)) for _ in range(5)]
    async with asyncio.timeout(5):
        while emulator_server.control.count("oracle") < 2:  # noqa: ASYNC110 (server side)
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert emulator_server.control.count("oracle") == 2  # the other three wait
    emulator_server.control.clear_faults()  # the two held requests are let go (503)
    answers = await asyncio.gather(*pending, return_exceptions=True)
    assert sum(isinstance(a, VendorUnavailable) for a in answers) == 2
    assert [a.status for a in answers if isinstance(a, VendorResponse)] == [200, 200, 200]
    assert emulator_server.control.count("oracle") == 5


async def test_a_command_whose_connection_drops_is_not_resent(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    http = vendor_http(Vendor.ORACLE)
    await http.request("GET", STATUS)  # a kept-alive connection, as in production
    emulator_server.control.set_fault("oracle", Fault(drop_after=True, methods=("DELETE",)))
    with pytest.raises(VendorConnectionLost):
        await http.request("DELETE", "/call/2.0/1TfU02Xfme2GMuzfUh0rkdgvz4")
    assert emulator_server.control.count("oracle", path_contains="/status") == 1
    deletes = [r for r in emulator_server.control.requests if r.method == "DELETE"]
    assert len(deletes) == 1


async def test_requests_beyond_the_cap_take_turns(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    # Twenty callers each asking again as soon as answered, over two connections: every
    # one is served once before anyone is served twice. (aiohttp's own queue hands a
    # connection just freed to whoever asks next, here the caller that freed it, ahead of
    # those waiting: under load some waited seconds.)
    http = vendor_http(Vendor.ORACLE, timeout=10.0, concurrency=2)

    async def caller(n: int) -> None:
        for turn in range(3):
            await http.request("GET", f"/call/2.0/c{n:02d}t{turn}/status")

    await asyncio.gather(*(caller(n) for n in range(20)))
    sent = [r.path.split("/")[-2] for r in emulator_server.control.requests]
    assert len(sent) == 60
    for turn in range(3):
        served = sent[turn * 20 : (turn + 1) * 20]
        assert sorted(served) == [f"c{n:02d}t{turn}" for n in range(20)]


async def test_the_timeout_counts_the_wait_for_a_connection(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    http = vendor_http(Vendor.ORACLE, timeout=0.3, concurrency=1)
    emulator_server.control.set_fault("oracle", Fault(timeout=True))
    held = asyncio.ensure_future(http.request("GET", STATUS, request_timeout=5.0))
    await asyncio.sleep(0.1)  # the only connection is taken, for longer than 0.3 s
    started = asyncio.get_running_loop().time()
    with pytest.raises(VendorTimeout):
        await http.request("GET", STATUS)
    assert asyncio.get_running_loop().time() - started < 0.3 + 0.15
    assert emulator_server.control.count("oracle") == 1  # the second was never sent
    emulator_server.control.clear_faults()
    with pytest.raises(VendorUnavailable):  # the held one is let go with a 503
        await held


async def test_a_refused_connection_is_unavailable_not_lost() -> None:
    # Nothing listens: the command never reached the vendor, so it is a plain refusal
    # (VENDOR_UNAVAILABLE), not a lost answer that might have acted (OUTCOME_UNKNOWN).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = VendorHttp(Vendor.ORACLE, f"http://127.0.0.1:{port}", timeout=1.0)
    try:
        with pytest.raises(VendorUnavailable) as refused:
            await http.request("POST", "/call/2.0/x/+15551230000")
    finally:
        await http.close()
    assert not isinstance(refused.value, VendorConnectionLost)
