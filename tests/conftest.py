"""Shared fixtures: the vendor emulators served over real loopback HTTP on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestServer

from app.calls import Vendor
from app.emulators import Emulators, build_emulators
from app.emulators.base import VendorEmulator
from app.emulators.control import EmulatorControl
from app.vendors.http import VendorHttp

E = TypeVar("E", bound=VendorEmulator)


@dataclass
class EmulatorServer:
    emulators: Emulators
    server: TestServer

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def control(self) -> EmulatorControl:
        return self.emulators.control

    def emulator(self, emulator_type: type[E]) -> E:
        """The running emulator of that type, e.g. `emulator(GenesysEmulator).store`."""
        emulator = self.emulators.vendors[emulator_type.vendor]
        assert isinstance(emulator, emulator_type)
        return emulator

    def base_url(self, vendor: Vendor | str) -> str:
        name = vendor.value if isinstance(vendor, Vendor) else vendor
        return f"{self.url}/{name}"


@pytest.fixture
async def emulator_server() -> AsyncIterator[EmulatorServer]:
    emulators = build_emulators(demo=True)
    # No access log, as under `python -m app`: Verba puts its token in the query string.
    server = TestServer(emulators.app, host="127.0.0.1", port=0)
    await server.start_server(access_log=None)
    try:
        yield EmulatorServer(emulators, server)
    finally:
        emulators.control.release_all()
        await server.close()


VendorHttpFactory = Callable[..., VendorHttp]


@pytest.fixture
async def vendor_http(emulator_server: EmulatorServer) -> AsyncIterator[VendorHttpFactory]:
    """`vendor_http(Vendor.X, timeout=...)`: a VendorHttp pointed at that vendor's emulator."""
    made: list[VendorHttp] = []

    def make(vendor: Vendor, *, timeout: float = 2.0, concurrency: int = 8) -> VendorHttp:
        http = VendorHttp(
            vendor, emulator_server.base_url(vendor), timeout=timeout, concurrency=concurrency
        )
        made.append(http)
        return http

    yield make
    for http in made:
        await http.close()
