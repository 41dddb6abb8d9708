"""Genesys Web Services 8.5 Voice API adapter (VENDORS.md §5): the agent's calls over HTTP
Basic auth, with the JSESSIONID session and CSRF token that GWS requires for operations;
Hold / Retrieve / Hangup on a call, and Dial from the agent's own device; call changes
pushed over CometD (`call_events`, on the same session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Required, TypedDict, cast

import aiohttp

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import (
    CallId,
    CallSnapshot,
    CallState,
    Capability,
    GenesysCall,
    GenesysParticipant,
    Vendor,
)
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    SwitchboardError,
    VendorForbidden,
    VendorTimeout,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.cometd import BayeuxClient, Subscribed
from app.vendors.http import VendorHttp, VendorResponse, concurrently

logger = logging.getLogger("switchboard.vendors")

CALLS_PATH = "/api/v2/me/calls"
DEVICES_PATH = "/api/v2/me/devices"
# [guess] GWS's CometD servlet; the channel and its messages are documented.
NOTIFICATIONS_PATH = "/api/v2/notifications"
CALLS_CHANNEL = "/v2/me/calls"
SESSION_COOKIE = "JSESSIONID"

# What GWS could dial: digits, "*" and "#", an optional leading "+"; 1 to 32 characters.
DESTINATION = re.compile(r"(?=.{1,32}\Z)\+?[0-9*#]+", re.DOTALL)
# A device id goes into a URL path: only ids of this alphabet (GWS uses uuids) are used.
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Seconds between the call lists that look for a dialled call.
FIND_INTERVAL = 0.1

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


class GenesysDestinationWire(TypedDict):
    phoneNumber: str


class GenesysDialWire(TypedDict, total=False):
    operationName: Required[str]  # "Dial"
    destination: Required[GenesysDestinationWire]
    userData: dict[str, Any]
    location: str


class GenesysDeviceWire(TypedDict, total=False):
    # [guess] the fields read here; GWS devices carry more (userState, capabilities...).
    id: Required[str]
    deviceState: str
    phoneNumber: str


class GenesysDeviceListWire(GenesysStatusWire, total=False):
    devices: list[GenesysDeviceWire]


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


GENESYS_OPERATIONS: Mapping[Capability, str] = {
    Capability.HOLD: "Hold",
    Capability.RETRIEVE: "Retrieve",
    Capability.HANGUP: "Hangup",
}


def _changed_call(data: Mapping[str, Any]) -> GenesysCall | None:
    """The call of a CallStateChangeMessage (any notificationType); None for other messages."""
    if data.get("messageType") != "CallStateChangeMessage":
        return None
    wire = data.get("call")
    if not isinstance(wire, dict) or not isinstance(wire.get("id"), str):
        logger.info("genesys push: a CallStateChangeMessage without a call; skipped")
        return None
    return call_from_wire(cast(GenesysCallWire, wire))


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


def _dialled(call: GenesysCall, destination: str) -> bool:
    """Whether `call` goes to `destination`: its DNIS or a participant's number."""
    # [guess] GWS may show a dialled "+1..." as digits only: compare without the "+".
    numbers = {call.dnis}
    for party in call.participants:
        numbers.update((party.phone_number, party.digits, party.e164_number))
    wanted = destination.removeprefix("+")
    return any(number and number.removeprefix("+") == wanted for number in numbers)


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
        self._device_id: str | None = None  # the agent's device that Dials, once read
        # One Dial at a time: a Dial's call is told apart as the one absent before it.
        self._dial_lock = asyncio.Lock()

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

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        """Hold, retrieve or hang up the call: one `operate` ("Hold", "Retrieve", "Hangup").
        Returns once GWS accepted; the new state arrives later."""
        await self.operate(call.call_id.native, GENESYS_OPERATIONS[operation])

    async def operate(self, call_id: str, operation: str) -> None:
        """Ask GWS to perform `operation` ("Hold", "Retrieve", "Hangup", ...) on the call
        with this native id. GWS only accepts it here; the new state follows later."""
        path = f"{CALLS_PATH}/{call_id}"
        body: GenesysOperationWire = {"operationName": operation}
        await self._post(path, body, f"{operation} on call {call_id!r}", token_path=path)

    async def start_call(self, request: StartCall) -> str:
        """Dial `request.to` from the agent's own device; returns the new call's id.

        GWS places the call from a device of the authenticated agent (the first Active one
        of `GET /api/v2/me/devices`, read once), so `request.from_` is ignored;
        `request.user_data` is attached as the call's userData. The Dial is sent once.
        GWS answers it before the call exists (the call is announced asynchronously), so
        the new call is found by listing: the one absent before the Dial whose DNIS or
        participant is the destination. Not found within the HTTP timeout: `VendorTimeout`.
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
            known = {wire["id"] for wire in await self._list_calls()}
            what = f"Dial to {destination!r}"
            try:
                await self._post(
                    f"{DEVICES_PATH}/{device_id}/calls", body, what, token_path=DEVICES_PATH
                )
            except CallNotFound:
                # The device is gone since it was read: read the devices again next time.
                self._device_id = None
                raise InvalidState(
                    "genesys no longer knows the agent's device; no call was placed.",
                    vendor=self.vendor.value,
                ) from None
            return await self._find_dialled(known, destination)

    async def call_events(self) -> AsyncGenerator[GenesysCall, None]:
        """Every change of the agent's calls as GWS pushes it (CometD, `/v2/me/calls`), until
        cancelled; then the CometD client disconnects, best-effort. On each (re)subscription
        the listed calls come first, since changes while unsubscribed were not pushed.

        Outages are waited out, with backoff. Ends only by raising `VendorUnauthenticated`
        (credentials rejected) or `VendorForbidden` (notifications refused with a fresh
        token), or `BayeuxTerminated` if GWS advises never to reconnect.
        """
        sent: _Session | None = None  # the session the last notification request carried
        refused = False  # the last one was answered 403

        async def headers() -> dict[str, str]:
            nonlocal sent
            # [guess] the CSRF filter covers the CometD servlet too: send the token.
            if self._session is None or self._session.csrf_token is None:
                await self._refresh_csrf(CALLS_PATH, "opening call notifications", stale=None)
            sent = self._session
            return self._headers("POST", sent)

        def answered(response: VendorResponse) -> None:
            nonlocal refused
            self._remember_session(response, sent)
            if response.status == 401:
                raise VendorUnauthenticated(
                    "genesys rejected the configured credentials (HTTP 401).",
                    vendor=self.vendor.value,
                )
            if response.status != 403:
                refused = False
                return
            if refused:
                raise VendorForbidden(
                    "genesys refused call notifications (HTTP 403).", vendor=self.vendor.value
                )
            refused = True
            # The session's token is stale (else GWS would not refuse): learn a new one.
            if self._session is not None and self._session == sent:
                self._session = _Session(self._session.cookie)

        client = BayeuxClient(
            self._http, NOTIFICATIONS_PATH, CALLS_CHANNEL, headers=headers, on_response=answered
        )
        async with contextlib.aclosing(client.messages()) as messages:
            async for message in messages:
                if isinstance(message, Subscribed):
                    for call in await self._calls_now():
                        yield call
                    continue
                changed = _changed_call(message)
                if changed is not None:
                    yield changed

    async def _calls_now(self) -> list[GenesysCall]:
        """The listed calls, to catch up after a (re)subscription; none if GWS fails now."""
        try:
            return [call_from_wire(wire) for wire in await self._list_calls()]
        except (VendorUnavailable, VendorTimeout) as failed:
            logger.info("genesys push: could not list calls to catch up: %s", failed.message)
            return []

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

    async def _agent_device(self) -> str:
        """The id of the agent's first Active device, read once per adapter."""
        if self._device_id is None:
            what = "listing the agent's devices"
            body = self._checked(await self._send("GET", DEVICES_PATH), what)
            devices = body.get("devices") if isinstance(body, dict) else None
            if not isinstance(devices, list):
                raise self._malformed(what)
            active = [
                device["id"]
                for device in cast(list[GenesysDeviceWire], devices)
                if isinstance(device, dict)
                and device.get("deviceState") == "Active"
                and isinstance(device.get("id"), str)
                and _DEVICE_ID.fullmatch(device["id"]) is not None
            ]
            if not active:
                raise InvalidState(
                    "genesys lists no active device for the agent to place a call from.",
                    vendor=self.vendor.value,
                )
            self._device_id = active[0]
        return self._device_id

    async def _find_dialled(self, known: set[str], destination: str) -> str:
        """The id of the listed call absent from `known` that goes to `destination`, listing
        again every FIND_INTERVAL until the HTTP timeout."""
        try:
            async with asyncio.timeout(self._http.timeout):
                while True:
                    for wire in await self._list_calls():
                        if wire["id"] not in known and _dialled(call_from_wire(wire), destination):
                            return wire["id"]
                    await asyncio.sleep(FIND_INTERVAL)
        except TimeoutError:  # also a list request's own VendorTimeout
            raise VendorTimeout(
                f"genesys accepted the Dial but the call did not appear within "
                f"{self._http.timeout:g} s.",
                vendor=self.vendor.value,
            ) from None

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

    async def _post(
        self,
        path: str,
        body: GenesysOperationWire | GenesysDialWire,
        what: str,
        *,
        token_path: str,
    ) -> Any:
        """POST with the CSRF token, learnt first by a GET of `token_path` when unknown.
        After a 403 (the session or token expired) a fresh token is fetched and the POST
        sent once more: GWS checks the token before acting, so nothing acts twice."""
        if self._session is None or self._session.csrf_token is None:
            await self._refresh_csrf(token_path, what, stale=None)
        sent = self._session
        response = await self._exchange("POST", path, body)
        if response.status == 403:
            await self._refresh_csrf(token_path, what, stale=sent)
            response = await self._exchange("POST", path, body)
        return self._checked(response, what)

    async def _refresh_csrf(self, path: str, what: str, *, stale: _Session | None) -> None:
        """Learn a CSRF token newer than `stale`'s by a GET of `path`, once for all waiters."""
        async with self._session_lock:
            known = self._session
            if known is None or known.csrf_token is None or known == stale:
                self._checked(await self._exchange("GET", path), what)

    async def _exchange(
        self,
        method: str,
        path: str,
        body: GenesysOperationWire | GenesysDialWire | None = None,
    ) -> VendorResponse:
        """One request with Basic auth, the session cookie and (unless a GET) the CSRF token."""
        sent = self._session
        headers = self._headers(method, sent)
        response = await self._http.request(method, path, json_body=body, headers=headers)
        self._remember_session(response, sent)
        if response.status == 401:
            # Basic credentials do not expire: asking again would fail the same way.
            raise VendorUnauthenticated(
                "genesys rejected the configured credentials (HTTP 401).", vendor=self.vendor.value
            )
        return response

    def _headers(self, method: str, sent: _Session | None) -> dict[str, str]:
        headers = {"Authorization": self._authorization}
        if sent is not None:
            # The shared HTTP session keeps no cookies on purpose: JSESSIONID is sent here.
            headers["Cookie"] = f"{SESSION_COOKIE}={sent.cookie}"
            if method != "GET" and sent.csrf_header and sent.csrf_token:
                headers[sent.csrf_header] = sent.csrf_token
        return headers

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
