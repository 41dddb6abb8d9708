"""Genesys Web Services 8.5 Voice API adapter (VENDORS.md §5): the agent's calls over HTTP
Basic auth, with the JSESSIONID session and CSRF token that GWS requires for operations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Required, TypedDict, cast

import aiohttp

from app.adapters import AdapterBase, FetchResult
from app.calls import CallId, CallState, GenesysCall, GenesysParticipant, Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    SwitchboardError,
    VendorForbidden,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.http import VendorHttp, VendorResponse, concurrently

CALLS_PATH = "/api/v2/me/calls"
SESSION_COOKIE = "JSESSIONID"

# -- wire shapes ----------------------------------------------------------------------------


class GenesysCountryWire(TypedDict, total=False):
    name: str
    code: str
    callingCode: str


class GenesysParticipantWire(TypedDict, total=False):
    e164Number: str
    formattedPhoneNumber: str
    phoneNumber: str
    digits: str
    # Only for numbers given with +country_code:
    country: GenesysCountryWire
    location: str
    localPhoneNumber: str
    E164digits: str


class GenesysCallWire(TypedDict, total=False):
    id: Required[str]
    state: str
    callUuid: str
    connId: str
    deviceUri: str
    participants: list[GenesysParticipantWire]
    dnis: str
    callType: str
    capabilities: list[str]
    userData: dict[str, Any]
    duration: str
    mute: str
    recordingState: str
    supervisorListeningIn: bool
    monitoredUserMuted: bool
    monitoring: bool
    uri: str
    path: str


class GenesysStatusWire(TypedDict, total=False):
    """Every GWS answer has `statusCode`; failures add `statusMessage`."""

    statusCode: int
    statusMessage: str


class GenesysCallListWire(GenesysStatusWire, total=False):
    calls: list[GenesysCallWire]


class GenesysCallEnvelopeWire(GenesysStatusWire, total=False):
    call: GenesysCallWire


class GenesysOperationWire(TypedDict):
    operationName: str


# -- mapping to the domain ------------------------------------------------------------------

GENESYS_STATES: Mapping[str, CallState] = {
    "Dialing": CallState.DIALING,
    "Ringing": CallState.RINGING,
    "Established": CallState.CONNECTED,
    "Held": CallState.HELD,
    "Released": CallState.ENDED,
}

# statusCode -> (domain error, what GWS documents it to mean).
GENESYS_STATUS_ERRORS: Mapping[int, tuple[type[SwitchboardError], str]] = {
    1: (BadUserInput, "a parameter is missing"),
    2: (InvalidState, "not valid in the call's current state"),
    3: (VendorForbidden, "forbidden"),
    4: (VendorUnavailable, "internal error"),
    5: (VendorForbidden, "no permission"),
    6: (CallNotFound, "not found"),
    7: (VendorUnavailable, "partial success"),
}


def call_from_wire(wire: GenesysCallWire, native_id: str | None = None) -> GenesysCall:
    """The domain snapshot of a GWS call resource (`native_id`: the id it was asked for)."""
    raw_state = wire.get("state")
    participants = []
    for party in wire.get("participants") or ():
        country = party.get("country")
        participants.append(
            GenesysParticipant(
                e164_number=party.get("e164Number"),
                formatted_phone_number=party.get("formattedPhoneNumber"),
                phone_number=party.get("phoneNumber"),
                digits=party.get("digits"),
                country=dict(country) if country is not None else None,
                location=party.get("location"),
                local_phone_number=party.get("localPhoneNumber"),
                e164_digits=party.get("E164digits"),
            )
        )
    return GenesysCall(
        call_id=CallId(Vendor.GENESYS, native_id or wire["id"]),
        state=GENESYS_STATES.get(raw_state or "", CallState.UNKNOWN),
        vendor_state=raw_state,
        call_uuid=wire.get("callUuid"),
        conn_id=wire.get("connId"),
        device_uri=wire.get("deviceUri"),
        participants=tuple(participants),
        dnis=wire.get("dnis"),
        call_type=wire.get("callType"),
        vendor_capabilities=tuple(wire.get("capabilities") or ()),
        user_data=dict(wire.get("userData") or {}),
        duration=_seconds(wire.get("duration")),
        mute=wire.get("mute"),
        recording_state=wire.get("recordingState"),
        supervisor_listening_in=wire.get("supervisorListeningIn"),
        monitored_user_muted=wire.get("monitoredUserMuted"),
        monitoring=wire.get("monitoring"),
        uri=wire.get("uri"),
        path=wire.get("path"),
    )


def _seconds(value: object) -> int | None:
    # Quirk: `duration` is documented as a string of seconds ("7"); accept a number too.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _involves(call: GenesysCall, extension: str) -> bool:
    numbers = {call.dnis}
    for party in call.participants:
        numbers.update((party.phone_number, party.digits))
    return extension in numbers


# -- the adapter ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Session:
    """A GWS session as the adapter knows it: the JSESSIONID and, once a GET has told
    them, the CSRF header's name and the token bound to that session."""

    cookie: str
    csrf_header: str | None = None
    csrf_token: str | None = None


class GenesysAdapter(AdapterBase):
    """`VendorAdapter` for Genesys, plus `operate` for call operations. Owns `http`."""

    vendor = Vendor.GENESYS

    def __init__(self, http: VendorHttp, *, username: str, password: str) -> None:
        self._http = http
        # A header rather than aiohttp.BasicAuth, which aiohttp 3.14 deprecates.
        self._authorization = aiohttp.encode_basic_auth(username, password)
        self._session: _Session | None = None
        # Held while a session is being opened or its CSRF token refreshed, so that
        # concurrent requests share one new session instead of each opening their own.
        self._session_lock = asyncio.Lock()

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """One id: a GET of that call. Several: one list request, then a GET for each id the
        list lacks (a released call leaves the list after a while)."""
        if len(native_ids) <= 1:
            return [await self._fetch_one(native_id) for native_id in native_ids]
        listed: dict[str, GenesysCallWire] = {}
        for wire in await self._list_calls():
            listed.setdefault(wire["id"], wire)
        missing = [native_id for native_id in native_ids if native_id not in listed]
        fetched = dict(zip(missing, await self._fetch_each(missing), strict=True))
        return [
            call_from_wire(listed[native_id]) if native_id in listed else fetched[native_id]
            for native_id in native_ids
        ]

    async def active_calls(self, extension: str | None) -> Sequence[GenesysCall]:
        """The agent's calls in progress (the list without released calls), optionally only
        those where `extension` is the DNIS or a participant's number."""
        calls = [call_from_wire(wire) for wire in await self._list_calls()]
        return [
            call
            for call in calls
            if call.state is not CallState.ENDED
            and (extension is None or _involves(call, extension))
        ]

    async def operate(self, call_id: str, operation: str) -> None:
        """Ask GWS to perform `operation` ("Hold", "Retrieve", "Hangup", ...) on the call
        with this native id. GWS only accepts it here; the new state follows later."""
        path = f"{CALLS_PATH}/{call_id}"
        what = f"{operation} on call {call_id!r}"
        body: GenesysOperationWire = {"operationName": operation}
        if self._session is None or self._session.csrf_token is None:
            await self._refresh_csrf(path, what, stale=None)
        sent = self._session
        response = await self._exchange("POST", path, body)
        if response.status == 403:
            # The session or its CSRF token expired: fetch a fresh pair and try once more.
            await self._refresh_csrf(path, what, stale=sent)
            response = await self._exchange("POST", path, body)
        self._checked(response, what)

    async def close(self) -> None:
        await self._http.close()

    # -- requests ---------------------------------------------------------------------------

    async def _list_calls(self) -> list[GenesysCallWire]:
        response = await self._send("GET", CALLS_PATH)
        body = self._checked(response, "listing calls")
        # [guess] the list's wrapper: accept {"calls": [...]} and a bare list.
        calls = body.get("calls") if isinstance(body, dict) else body
        if not isinstance(calls, list):
            raise self._malformed("listing calls")
        return [
            cast(GenesysCallWire, wire)
            for wire in calls
            if isinstance(wire, dict) and isinstance(wire.get("id"), str)
        ]

    async def _fetch_one(self, native_id: str) -> FetchResult:
        response = await self._send("GET", f"{CALLS_PATH}/{native_id}")
        what = f"fetching call {native_id!r}"
        try:
            body = self._checked(response, what)
            # [guess] the single call's wrapper: accept {"call": {...}} and the bare resource.
            wire = body.get("call", body) if isinstance(body, dict) else None
            if not isinstance(wire, dict) or "id" not in wire:
                raise self._malformed(what)
        except SwitchboardError as error:
            # What GWS said about this call (not found, forbidden...) belongs in its slot.
            return error
        return call_from_wire(cast(GenesysCallWire, wire), native_id)

    async def _fetch_each(self, native_ids: Sequence[str]) -> list[FetchResult]:
        return await concurrently(self._fetch_one(native_id) for native_id in native_ids)

    async def _send(self, method: str, path: str) -> VendorResponse:
        if self._session is None:
            async with self._session_lock:
                if self._session is None:
                    return await self._exchange(method, path)
        return await self._exchange(method, path)

    async def _refresh_csrf(self, path: str, what: str, *, stale: _Session | None) -> None:
        """Learn a CSRF token newer than `stale`'s by a GET of `path`, once for all waiters."""
        async with self._session_lock:
            known = self._session
            if known is None or known.csrf_token is None or known == stale:
                self._checked(await self._exchange("GET", path), what)

    async def _exchange(
        self, method: str, path: str, body: GenesysOperationWire | None = None
    ) -> VendorResponse:
        """One request with Basic auth, the session cookie and (unless a GET) the CSRF token."""
        sent = self._session
        headers = {"Authorization": self._authorization}
        if sent is not None:
            # The shared HTTP session keeps no cookies on purpose: JSESSIONID is sent here.
            headers["Cookie"] = f"{SESSION_COOKIE}={sent.cookie}"
            if method != "GET" and sent.csrf_header and sent.csrf_token:
                headers[sent.csrf_header] = sent.csrf_token
        response = await self._http.request(method, path, json_body=body, headers=headers)
        self._remember_session(response, sent)
        if response.status == 401:
            # Basic credentials do not expire: asking again would fail the same way.
            raise VendorUnauthenticated(
                "genesys rejected the configured credentials (HTTP 401).", vendor=self.vendor.value
            )
        return response

    def _remember_session(self, response: VendorResponse, sent: _Session | None) -> None:
        cookie = _session_cookie(response) or (sent.cookie if sent is not None else None)
        if cookie is None:
            return
        csrf_header = response.headers.get("X-CSRF-HEADER")
        csrf_token = response.headers.get(csrf_header) if csrf_header else None
        if csrf_header and csrf_token:
            self._session = _Session(cookie, csrf_header, csrf_token)
        elif sent is None or cookie != sent.cookie:
            self._session = _Session(cookie)  # a new session; the next GET tells its token

    def _checked(self, response: VendorResponse, what: str) -> Any:
        """The JSON body of a successful answer, else the domain error for the answer."""
        try:
            body = response.json()
        except VendorUnavailable:
            body = None
        status = body.get("statusCode") if isinstance(body, dict) else None
        if response.status < 300 and body is not None and status in (0, None):
            return body
        if isinstance(status, int) and status in GENESYS_STATUS_ERRORS:
            error, meaning = GENESYS_STATUS_ERRORS[status]
            said = str(body.get("statusMessage") or "")[:200] if isinstance(body, dict) else ""
            raise error(
                f"genesys refused {what}: {meaning} (statusCode {status}: {said!r}).",
                vendor=self.vendor.value,
            )
        if response.status == 403:
            raise VendorForbidden(f"genesys refused {what} (HTTP 403).", vendor=self.vendor.value)
        if response.status == 404:
            raise CallNotFound(
                f"genesys found nothing for {what} (HTTP 404).", vendor=self.vendor.value
            )
        if response.status < 300:
            raise self._malformed(what)
        raise VendorUnavailable(
            f"genesys answered {what} with HTTP {response.status}.", vendor=self.vendor.value
        )

    def _malformed(self, what: str) -> VendorUnavailable:
        return VendorUnavailable(
            f"genesys answered {what} with a body that is not a GWS answer.",
            vendor=self.vendor.value,
        )


def _session_cookie(response: VendorResponse) -> str | None:
    for header in response.headers.getall("Set-Cookie", ()):
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(header)
        except CookieError:
            continue
        if SESSION_COOKIE in cookies:
            return cookies[SESSION_COOKIE].value
    return None
