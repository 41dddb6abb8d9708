"""`GenesysAdapter`: the agent's calls over GWS 8.5 (VENDORS.md §5, §6): reads, Hold /
Retrieve / Hangup, Dial from the agent's own device, and pushed call changes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import CallSnapshot, CallState, Capability, GenesysCall, Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    OutcomeUnknown,
    SwitchboardError,
    VendorUnavailable,
)
from app.vendors.genesys import push
from app.vendors.genesys.mapping import (
    GENESYS_OPERATIONS,
    call_from_wire,
    device_of,
    dialled,
    involves,
    read,
)
from app.vendors.genesys.session import GenesysSession, malformed
from app.vendors.genesys.wire import GenesysDialWire, GenesysOperationWire
from app.vendors.http import VendorHttp, concurrently

CALLS_PATH = "/api/v2/me/calls"
DEVICES_PATH = "/api/v2/me/devices"

# What GWS could dial: digits, "*" and "#", an optional leading "+"; 1 to 32 characters.
DESTINATION = re.compile(r"(?=.{1,32}\Z)\+?[0-9*#]+", re.DOTALL)
# A device id goes into a URL path: only ids of this alphabet (GWS uses uuids) are used.
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Seconds between the call lists that look for a dialled call.
FIND_INTERVAL = 0.1
# Seconds before a call on a device not listed yet may read the device list again: an
# unknown device costs one extra request per this interval at most, never one per read.
DEVICES_REREAD = 60.0

logger = logging.getLogger("switchboard.vendors.genesys")

Wire = Mapping[str, Any]


class GenesysAdapter(AdapterBase):
    """`VendorAdapter` for Genesys, plus `operate` for call operations. Owns `http`."""

    vendor = Vendor.GENESYS

    def __init__(self, http: VendorHttp, *, username: str, password: str) -> None:
        self._http = http
        self._session = GenesysSession(http, username=username, password=password)
        self._device_id: str | None = None  # the agent's device that Dials, once read
        # Device id -> its phone number (the agent's line: README, "Whose call is it").
        self._device_numbers: dict[str, str] = {}
        self._devices_read_at = -DEVICES_REREAD
        # One Dial at a time: a Dial's call is told apart as the one absent before it.
        self._dial_lock = asyncio.Lock()

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """One id: a GET of that call. Several: one list request, then a GET for each id the
        list lacks (a released call leaves the list after a while)."""
        return await self._numbered(await self._fetch(native_ids))

    async def _fetch(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        if len(native_ids) <= 1:
            return [await self._fetch_one(native_id) for native_id in native_ids]
        listed: dict[str, Wire] = {}
        for native_id, wire in await self._list_calls():
            listed.setdefault(native_id, wire)
        missing = [native_id for native_id in native_ids if native_id not in listed]
        fetched = dict(zip(missing, await self._fetch_each(missing), strict=True))
        return [
            self._mapped(listed[native_id], native_id)
            if native_id in listed
            else fetched[native_id]
            for native_id in native_ids
        ]

    async def active_calls(self, extension: str | None) -> Sequence[GenesysCall]:
        """The agent's calls in progress (the list without released calls), optionally only
        those where `extension` is the DNIS or a participant's number."""
        calls = await self._numbered_calls(await self._calls_now())
        return [
            call
            for call in calls
            if call.state is not CallState.ENDED
            and (extension is None or involves(call, extension))
        ]

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        """Hold, retrieve or hang up the call: one `operate` ("Hold", "Retrieve", "Hangup").
        Returns once GWS accepted; the new state arrives later."""
        await self.operate(call.call_id.native, GENESYS_OPERATIONS[operation])

    async def operate(self, call_id: str, operation: str) -> None:
        """Ask GWS to perform `operation` ("Hold", "Retrieve", "Hangup", ...) on the call
        with this native id. GWS only accepts it here; the new state follows later. A
        refusal raises the domain error of its statusCode, with GWS's statusMessage."""
        path = f"{CALLS_PATH}/{call_id}"
        body: GenesysOperationWire = {"operationName": operation}
        await self._session.post(path, body, f"{operation} on call {call_id!r}", token_path=path)

    async def start_call(self, request: StartCall) -> str:
        """Dial `request.to` from the agent's own device; returns the new call's id.

        GWS places the call from a device of the authenticated agent (the first Active one
        of `GET /api/v2/me/devices`, read once), so `request.from_` is ignored;
        `request.user_data` is attached as the call's userData. The Dial is sent once.
        GWS answers `{"statusCode":0}` before the call exists (CallsDial 8.5.2: the call is
        announced by a notification), so unless the answer names the call, it is found by
        listing: the one absent before the Dial whose DNIS or participant is the
        destination. Once GWS accepted the Dial, no failure is answered as if nothing had
        happened: a call that cannot be found is `OutcomeUnknown`.
        """
        destination = request.to
        if DESTINATION.fullmatch(destination) is None:
            raise BadUserInput(
                f"Not a number genesys can dial: {destination[:40]!r} (expected digits, "
                "'*' or '#', optionally after a leading '+'; 1 to 32 characters).",
                vendor=self.vendor.value,
            )
        body: GenesysDialWire = {
            "operationName": "Dial",
            "destination": {"phoneNumber": destination},
        }
        if request.user_data:
            body["userData"] = dict(request.user_data)
        async with self._dial_lock:
            device_id = await self._agent_device()
            known = {native_id for native_id, _ in await self._list_calls()}
            what = f"Dial to {destination!r}"
            try:
                answer = await self._session.post(
                    f"{DEVICES_PATH}/{device_id}/calls", body, what, token_path=DEVICES_PATH
                )
            except CallNotFound:
                # The device is gone since it was read: read the devices again next time.
                self._device_id = None
                raise InvalidState(
                    "genesys no longer knows the agent's device; no call was placed.",
                    vendor=self.vendor.value,
                ) from None
            named = _named_call(answer)
            if named is not None:
                return named
            return await self._find_dialled(known, destination)

    async def find_placed_call(self, request: StartCall, since: datetime) -> GenesysCall | None:
        """After a Dial whose answer was lost: the live call to `request.to` that GWS lists
        (the newest listed, as GWS lists calls in order), if any. `since` is not used: the
        call resource has no creation time in either revision."""
        found: GenesysCall | None = None
        for native_id, wire in await self._list_calls():
            call = self._mapped(wire, native_id)
            if (
                isinstance(call, GenesysCall)
                and call.state is not CallState.ENDED
                and dialled(call, request.to)
            ):
                found = call
        if found is None:
            return None
        [numbered] = await self._numbered_calls([found])
        return numbered

    async def call_events(self) -> AsyncGenerator[GenesysCall, None]:
        """Every change of the agent's calls as GWS pushes it (CometD, `/v2/me/calls`), until
        cancelled; see `push.call_events`. Outages are waited out, with backoff; messages it
        cannot map are logged and skipped."""
        events = push.call_events(self._session, self._calls_now, token_path=CALLS_PATH)
        # Closed with this generator, so that the Bayeux client disconnects at once.
        async with contextlib.aclosing(events):
            async for call in events:
                [numbered] = await self._numbered_calls([call])
                yield numbered

    async def close(self) -> None:
        await self._http.close()

    # -- requests ---------------------------------------------------------------------------

    async def _calls_now(self) -> list[GenesysCall]:
        calls = []
        for native_id, wire in await self._list_calls():
            mapped = self._mapped(wire, native_id)
            if isinstance(mapped, GenesysCall):
                calls.append(mapped)
        return calls

    async def _list_calls(self) -> list[tuple[str, Wire]]:
        """(id, resource) of each listed call with a usable id; the others are logged."""
        body = await self._session.get(CALLS_PATH, "listing calls")
        # [guess] the list's wrapper: ReturnValues documents {"calls": [...]}; a bare list too.
        calls = body.get("calls") if isinstance(body, dict) else body
        if not isinstance(calls, list):
            raise malformed("listing calls")
        listed: list[tuple[str, Wire]] = []
        for wire in calls:
            native_id = read.text(wire, "id", field="call.id") if isinstance(wire, dict) else None
            if isinstance(wire, dict) and native_id:
                listed.append((native_id, wire))
            else:
                read.odd("calls[]", wire if not isinstance(wire, dict) else None, "a call")
        return listed

    async def _numbered(self, results: Sequence[FetchResult]) -> list[FetchResult]:
        """The calls with `device_number`: the phone number of the device in their
        `deviceUri`, as GET /api/v2/me/devices lists it (the call resource names the device,
        not its number; seed 004 "deviceUri Link to the device for which this state is
        applicable"). A device list that cannot be read leaves the number out, never the
        call."""
        devices = {
            device_of(r.device_uri)
            for r in results
            if isinstance(r, GenesysCall) and r.device_number is None
        } - {None}
        if devices - self._device_numbers.keys() and (
            time.monotonic() - self._devices_read_at >= DEVICES_REREAD
        ):
            self._devices_read_at = time.monotonic()
            try:
                await self._read_devices()
            except SwitchboardError as failed:
                logger.info("genesys: device numbers unknown for now: %s", failed.message)
        return [self._number(r) if isinstance(r, GenesysCall) else r for r in results]

    async def _numbered_calls(self, calls: Sequence[GenesysCall]) -> list[GenesysCall]:
        return [call for call in await self._numbered(calls) if isinstance(call, GenesysCall)]

    def _number(self, call: GenesysCall) -> GenesysCall:
        # Mapped with the numbers known then: only a call read before its device was
        # listed (or pushed) is completed here — `replace` is too slow for every read.
        if call.device_number is not None:
            return call
        number = self._device_numbers.get(device_of(call.device_uri) or "")
        return call if number is None else dataclasses.replace(call, device_number=number)

    def _mapped(self, wire: Wire, native_id: str) -> FetchResult:
        """The snapshot of one resource, or VENDOR_UNAVAILABLE for that call alone."""
        try:
            return call_from_wire(wire, native_id, self._device_numbers)
        except VendorUnavailable as unreadable:
            return unreadable

    async def _read_devices(self) -> list[Wire]:
        """The agent's devices (GET /api/v2/me/devices), remembering each one's number."""
        what = "listing the agent's devices"
        body = await self._session.get(DEVICES_PATH, what)
        devices = body.get("devices") if isinstance(body, dict) else None
        if not isinstance(devices, list):
            raise malformed(what)
        listed: list[Wire] = [device for device in devices if isinstance(device, dict)]
        for device in listed:
            device_id = read.text(device, "id", field="device.id")
            number = read.text(device, "phoneNumber", field="device.phoneNumber")
            if device_id and number:
                self._device_numbers[device_id] = number
        return listed

    async def _agent_device(self) -> str:
        """The id of the agent's first Active device, read once per adapter."""
        if self._device_id is None:
            active = []
            for device in await self._read_devices():
                device_id = read.text(device, "id", field="device.id")
                if (
                    read.text(device, "deviceState", field="device.deviceState") == "Active"
                    and device_id
                    and _DEVICE_ID.fullmatch(device_id) is not None
                ):
                    active.append(device_id)
            if not active:
                raise InvalidState(
                    "genesys lists no active device for the agent to place a call from.",
                    vendor=self.vendor.value,
                )
            self._device_id = active[0]
        return self._device_id

    async def _find_dialled(self, known: set[str], destination: str) -> str:
        """The id of the listed call absent from `known` that goes to `destination`, listing
        again every FIND_INTERVAL until the HTTP timeout. GWS has accepted the Dial by now:
        whatever fails here, the call may exist, so the answer is "outcome unknown"."""
        try:
            async with asyncio.timeout(self._http.timeout):
                while True:
                    try:
                        for native_id, wire in await self._list_calls():
                            call = self._mapped(wire, native_id)
                            if (
                                native_id not in known
                                and isinstance(call, GenesysCall)
                                and dialled(call, destination)
                            ):
                                return native_id
                    except VendorUnavailable:
                        pass  # a list that failed: the next one may not
                    await asyncio.sleep(FIND_INTERVAL)
        except (TimeoutError, SwitchboardError):  # also a list request's own VendorTimeout
            raise OutcomeUnknown(
                f"genesys accepted the Dial but the call did not appear within "
                f"{self._http.timeout:g} s: it may have been placed (outcome unknown).",
                vendor=self.vendor.value,
            ) from None

    async def _fetch_one(self, native_id: str) -> FetchResult:
        what = f"fetching call {native_id!r}"
        response = await self._session.get_response(f"{CALLS_PATH}/{native_id}", what)
        try:
            body = self._session.checked(response, what)
            # [guess] the single call's wrapper: ReturnValues documents {"call": {...}}
            # for a singular resource; the bare resource is accepted too.
            wire = body.get("call", body) if isinstance(body, dict) else None
            if not isinstance(wire, dict) or "id" not in wire:
                raise malformed(what)
        except SwitchboardError as error:
            # What GWS said about this call (not found, forbidden...) belongs in its slot.
            return error
        return self._mapped(wire, native_id)

    async def _fetch_each(self, native_ids: Sequence[str]) -> list[FetchResult]:
        return await concurrently(self._fetch_one(native_id) for native_id in native_ids)


def _named_call(answer: Any) -> str | None:
    """The call a Dial answer names, if it names one ([guess]: the documented answer is
    `{"statusCode":0}`; a gateway or later release may add the call or its id)."""
    if not isinstance(answer, dict):
        return None
    call = answer.get("call")
    if isinstance(call, dict):
        return read.text(call, "id", field="dial.call.id")
    return read.text(answer, "id", field="dial.id")
