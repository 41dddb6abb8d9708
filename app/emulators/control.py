"""What tests and benchmarks steer the emulators with: the log of vendor requests and the
faults injected per vendor.

HTTP surface (on the root emulator app):

    GET    /_emulator/requests          [{"vendor", "method", "path"}, ...] since start / reset
    DELETE /_emulator/requests          204, clears the log
    PUT    /_emulator/faults/{vendor}   JSON Fault fields; replaces that vendor's fault
    DELETE /_emulator/faults/{vendor}   204, clears that vendor's fault
    DELETE /_emulator/faults            204, clears every fault
    POST   /_emulator/expire-tokens/{vendor}   204, every token issued so far is now expired
    GET    /_emulator/variants          {"<vendor>": {"selected", "variants": {name: what}}}
    PUT    /_emulator/variants/{vendor} {"variant": "<name>"}; 204, or 400 naming the known ones
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


class SelectsVariant(Protocol):
    """What the control surface needs of an emulator (`VendorEmulator`)."""

    variant: str

    @property
    def VARIANTS(self) -> Mapping[str, str]: ...

    def select_variant(self, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Fault:
    """How a vendor misbehaves. Applied to every request of that vendor until cleared."""

    latency: float = 0.0  # seconds added before answering
    status: int | None = None  # answer with this HTTP status and a plain body instead
    timeout: bool = False  # never answer; hold the request until the client gives up
    drop: bool = False  # close the connection without answering
    drop_after: bool = False  # do what was asked, then close without answering
    methods: tuple[str, ...] = ()  # only requests with these methods (empty: all)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(body) - names
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if "methods" in body:
            body = {**body, "methods": tuple(m.upper() for m in body["methods"])}
        return cls(**body)

    def applies_to(self, method: str) -> bool:
        return not self.methods or method in self.methods


@dataclass(slots=True)
class RecordedRequest:
    vendor: str
    method: str
    path: str

    def as_json(self) -> dict[str, str]:
        return {"vendor": self.vendor, "method": self.method, "path": self.path}


class EmulatorControl:
    """Request log, faults and token expiry shared by all vendor emulators of one server."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: dict[str, Fault] = {}
        self._token_expirers: dict[str, Callable[[], None]] = {}
        self._emulators: dict[str, SelectsVariant] = {}
        # Set on shutdown and whenever faults change, so that held ("timeout") requests end.
        self._release = asyncio.Event()

    # -- used by tests in-process ---------------------------------------------------------

    def set_fault(self, vendor: str, fault: Fault) -> None:
        self.faults[vendor] = fault

    def clear_faults(self, vendor: str | None = None) -> None:
        if vendor is None:
            self.faults.clear()
        else:
            self.faults.pop(vendor, None)
        self._release.set()
        self._release = asyncio.Event()

    def count(self, vendor: str | None = None, *, path_contains: str = "") -> int:
        return sum(
            1
            for r in self.requests
            if (vendor is None or r.vendor == vendor) and path_contains in r.path
        )

    def register_token_expirer(self, vendor: str, expire: Callable[[], None]) -> None:
        self._token_expirers[vendor] = expire

    def expire_tokens(self, vendor: str) -> None:
        self._token_expirers[vendor]()

    def register_emulator(self, vendor: str, emulator: SelectsVariant) -> None:
        self._emulators[vendor] = emulator

    def select_variant(self, vendor: str, variant: str) -> None:
        """Make `vendor`'s emulator show a documented variant (ValueError if unknown)."""
        emulator = self._emulators.get(vendor)
        if emulator is None:
            raise ValueError(f"no emulator for {vendor!r}")
        emulator.select_variant(variant)

    def variants(self) -> dict[str, dict[str, Any]]:
        return {
            vendor: {"selected": emulator.variant, "variants": dict(emulator.VARIANTS)}
            for vendor, emulator in self._emulators.items()
        }

    def release_all(self) -> None:
        self._release.set()

    # -- middleware for each vendor's sub-app ---------------------------------------------

    def middleware(self, vendor: str) -> Middleware:
        @web.middleware
        async def record_and_misbehave(
            request: web.Request, handler: Handler
        ) -> web.StreamResponse:
            self.requests.append(RecordedRequest(vendor, request.method, request.path))
            fault = self.faults.get(vendor)
            if fault is None or not fault.applies_to(request.method):
                return await handler(request)
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.drop:
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError  # aiohttp ends the handler; nothing is sent
            if fault.timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), timeout=120)
                raise web.HTTPServiceUnavailable(text="emulated timeout released")
            if fault.status is not None:
                return web.Response(status=fault.status, text=f"emulated HTTP {fault.status}")
            response = await handler(request)
            if fault.drop_after:
                # The vendor acted, but its answer is lost: the client cannot tell.
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError
            return response

        return record_and_misbehave

    # -- HTTP control surface ----------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_emulator/requests", self._get_requests),
            web.delete("/_emulator/requests", self._delete_requests),
            web.put("/_emulator/faults/{vendor}", self._put_fault),
            web.delete("/_emulator/faults/{vendor}", self._delete_fault),
            web.delete("/_emulator/faults", self._delete_faults),
            web.post("/_emulator/expire-tokens/{vendor}", self._expire_tokens),
            web.get("/_emulator/variants", self._get_variants),
            web.put("/_emulator/variants/{vendor}", self._put_variant),
        ]

    async def _get_requests(self, request: web.Request) -> web.Response:
        return web.json_response([r.as_json() for r in self.requests])

    async def _delete_requests(self, request: web.Request) -> web.Response:
        self.requests.clear()
        return web.Response(status=204)

    async def _put_fault(self, request: web.Request) -> web.Response:
        try:
            self.set_fault(request.match_info["vendor"], Fault.from_json(await request.json()))
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.Response(status=204)

    async def _delete_fault(self, request: web.Request) -> web.Response:
        self.clear_faults(request.match_info["vendor"])
        return web.Response(status=204)

    async def _delete_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.Response(status=204)

    async def _expire_tokens(self, request: web.Request) -> web.Response:
        vendor = request.match_info["vendor"]
        if vendor not in self._token_expirers:
            return web.json_response({"error": f"{vendor} issues no tokens"}, status=404)
        self.expire_tokens(vendor)
        return web.Response(status=204)

    async def _get_variants(self, request: web.Request) -> web.Response:
        return web.json_response(self.variants())

    async def _put_variant(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict) or not isinstance(body.get("variant"), str):
                raise ValueError('expected {"variant": "<name>"}')
            self.select_variant(request.match_info["vendor"], body["variant"])
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.Response(status=204)
