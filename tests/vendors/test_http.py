"""VendorHttp: the concurrency cap per vendor, and no silent resend of commands."""

from __future__ import annotations

import asyncio

import pytest

from app.calls import Vendor
from app.emulators.control import Fault
from app.errors import VendorConnectionLost, VendorUnavailable
from app.vendors.http import VendorResponse
from tests.conftest import EmulatorServer, VendorHttpFactory

STATUS = "/call/2.0/1TfU02Xfme2GMuzfUh0rkdgvz4/status"


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
