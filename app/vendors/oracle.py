"""Adapter for Oracle Click-to-Call's Call Setup API 2.0 (VENDORS.md §1): call status as
`OracleCall` snapshots, plus starting and ending calls. Oracle has no auth and no batch API."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict, cast

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import CallId, CallSnapshot, CallState, Capability, OracleCall, Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    VendorForbidden,
    VendorUnavailable,
)
from app.vendors.http import VendorHttp, VendorResponse, concurrently

BASE_PATH = "/call/2.0"

# Oracle `callState` → CallState; any other value is UNKNOWN.
ORACLE_STATES: Mapping[str, CallState] = {
    "unknown": CallState.UNKNOWN,
    "scheduled": CallState.SCHEDULED,
    "initiated": CallState.DIALING,
    "connected": CallState.CONNECTED,
    "disconnected": CallState.ENDED,
}

# Checked before a start request: both go into the URL path.
_CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


# -- wire shapes ----------------------------------------------------------------------------

# Quirk (documented examples): times may come as strings with a leading space (" 1343129570").
OracleEpoch = int | str


class OracleStatusWire(TypedDict, total=False):
    """`GET /call/2.0/{sessionId}/status` → 200."""

    sessionId: str
    sessionid: str  # quirk (documented examples): the key may be lowercase
    callState: str
    time: OracleEpoch  # absent for `unknown`
    scheduledTime: OracleEpoch  # only for `scheduled`
    more: str  # no / yes / maybe
    hasChanged: str | bool  # "yes" / "no" documented; booleans tolerated


class OracleStartWire(TypedDict, total=False):
    """The optional JSON body of `POST /call/2.0/{contactId}/{userPhone}`."""

    delay: int
    userExtension: str
    visitorContext: dict[str, Any]


# -- wire → domain --------------------------------------------------------------------------


def _epoch(value: object) -> datetime | None:
    """Epoch seconds (an int, or a string with spaces) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not epoch seconds: {value!r}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"epoch seconds out of range: {value}") from exc


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"yes": True, "no": False}.get(value) if isinstance(value, str) else None


def call_from_wire(native_id: str, wire: OracleStatusWire) -> OracleCall:
    """The snapshot of one status answer. An unreadable time raises ValueError."""
    raw_state = wire.get("callState")
    state = ORACLE_STATES.get(raw_state, CallState.UNKNOWN) if raw_state else CallState.UNKNOWN
    at = _epoch(wire.get("time"))
    return OracleCall(
        call_id=CallId(Vendor.ORACLE, native_id),
        state=state,
        vendor_state=raw_state,
        # `time` is when the current state began: the best start time while the call is live.
        started_at=at if state in (CallState.DIALING, CallState.CONNECTED) else None,
        ended_at=at if state is CallState.ENDED else None,
        session_id=wire.get("sessionId") or wire.get("sessionid") or native_id,
        time=at,
        scheduled_time=_epoch(wire.get("scheduledTime")),
        more=wire.get("more"),
        has_changed=_flag(wire.get("hasChanged")),
    )


# -- the adapter ----------------------------------------------------------------------------


class OracleAdapter(AdapterBase):
    vendor = Vendor.ORACLE

    def __init__(self, http: VendorHttp, *, contact_id: str = "") -> None:
        self._http = http
        self._contact_id = contact_id  # the default call template for click-to-call

    async def close(self) -> None:
        await self._http.close()

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        # No batch endpoint: one status request per id, all at once (VendorHttp caps them).
        responses = await concurrently(
            self._http.request("GET", f"{BASE_PATH}/{i}/status") for i in native_ids
        )
        return [self._status_result(i, r) for i, r in zip(native_ids, responses, strict=True)]

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        """Oracle can end a call (DELETE); it has no hold."""
        if operation is Capability.HANGUP:
            await self.hangup(call.call_id.native)
        else:
            await super().perform(call, operation)  # NotSupported

    async def start_call(self, request: StartCall) -> str:
        """Click-to-call: Oracle calls `request.to` (E.164) with the call template
        `request.contact_id` (default: the configured one); a delay schedules the call."""
        contact_id = request.contact_id or self._contact_id
        if not contact_id:
            raise BadUserInput(
                "Oracle needs a call template: give contactId or configure "
                "SWITCHBOARD_ORACLE_CONTACT_ID.",
                vendor=self.vendor.value,
            )
        return await self.place_call(
            contact_id,
            request.to,
            delay=request.delay_seconds,
            visitor_context=dict(request.user_data) or None,
        )

    async def place_call(
        self,
        contact_id: str,
        user_phone: str,
        *,
        delay: int | None = None,
        user_extension: str | None = None,
        visitor_context: dict[str, Any] | None = None,
    ) -> str:
        """Ask Oracle to call `user_phone` (E.164) with call template `contact_id`; a
        `delay` in seconds schedules it. Returns the new sessionId. Never sent twice."""
        if _CONTACT_ID.fullmatch(contact_id) is None:
            raise BadUserInput(
                f"Invalid Oracle contactId {contact_id!r}.", vendor=self.vendor.value
            )
        if _E164.fullmatch(user_phone) is None:
            raise BadUserInput(
                f"Invalid phone number {user_phone!r}: expected E.164, e.g. +15551234567.",
                vendor=self.vendor.value,
            )
        options: OracleStartWire = {}
        if delay is not None:
            options["delay"] = delay
        if user_extension is not None:
            options["userExtension"] = user_extension
        if visitor_context is not None:
            options["visitorContext"] = visitor_context
        response = await self._http.request(
            "POST", f"{BASE_PATH}/{contact_id}/{user_phone}", json_body=options or None
        )
        if response.status == 400:
            raise BadUserInput(
                f"oracle refused to start the call: {response.text.strip()[:200]}",
                vendor=self.vendor.value,
            )
        if response.status == 403:
            raise VendorForbidden(
                "oracle refused to start the call: authorization failed.", vendor=self.vendor.value
            )
        if response.status != 200:
            raise self._refused("start request", response.status)
        body = response.json()
        session_id = (
            (body.get("sessionId") or body.get("sessionid")) if isinstance(body, dict) else None
        )
        if not isinstance(session_id, str) or not session_id:
            raise VendorUnavailable(
                "oracle started a call but sent no sessionId.", vendor=self.vendor.value
            )
        return session_id

    async def hangup(self, session_id: str) -> None:
        """End the call. Already ended → InvalidState; unknown session → CallNotFound."""
        native_id = CallId.parse(f"{self.vendor.value}:{session_id}").native
        response = await self._http.request("DELETE", f"{BASE_PATH}/{native_id}")
        if response.status == 404:
            raise self._not_found(native_id)
        if response.status == 403:
            raise InvalidState(
                f"The oracle call {native_id} has already ended.", vendor=self.vendor.value
            )
        if response.status != 200:
            raise self._refused("hang-up", response.status)

    def _status_result(self, native_id: str, response: VendorResponse) -> FetchResult:
        if response.status == 404:
            return self._not_found(native_id)
        if response.status != 200:
            return self._refused("status request", response.status)
        try:
            body = response.json()
        except VendorUnavailable as exc:
            return exc
        if not isinstance(body, dict):
            return self._unreadable(native_id)
        try:
            return call_from_wire(native_id, cast(OracleStatusWire, body))
        except ValueError:
            return self._unreadable(native_id)

    def _not_found(self, native_id: str) -> CallNotFound:
        return CallNotFound(f"oracle has no call session {native_id}.", vendor=self.vendor.value)

    def _unreadable(self, native_id: str) -> VendorUnavailable:
        return VendorUnavailable(
            f"oracle sent a status for {native_id} that cannot be read.", vendor=self.vendor.value
        )

    def _refused(self, what: str, status: int) -> VendorUnavailable:
        return VendorUnavailable(
            f"oracle refused the {what} with HTTP {status}.", vendor=self.vendor.value
        )
