"""Adapter for Oracle Click-to-Call's Call Setup API 2.0 (VENDORS.md §1 and §6): call status
as `OracleCall` snapshots, a long poll for watchers, starting and ending calls. Oracle has no
auth and no batch API.

Pages cited below are under docs.oracle.com
`cd/E71009_01/Click2Call.2016-01/C2CCallSetupAPI/html/`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import CallId, CallSnapshot, CallState, Capability, OracleCall, Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    SwitchboardError,
    VendorForbidden,
    VendorUnavailable,
)
from app.vendors.fields import WireReader
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

# Get Call Status is a long poll (s0204longpollingmechanism01.html): without `waitperiod`
# Oracle holds the request up to 30 s until the state changes. A plain read asks for no
# wait ([guess] 0 means "answer now"; the page documents only the default and the maximum).
NO_WAIT = {"waitperiod": "0"}
MAX_WAIT_PERIOD = 120  # seconds, "the maximum wait period that is permitted"
# Long-polled sessions remembered, to notice a change that a plain read took first.
_WATCHED_LIMIT = 4096

# Checked before a start request: both go into the URL path.
_CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# "The only characters permitted are numeric digits (0-9), period (.), comma (,), asterisk
# (*) and hash (#)" (s0203startcallrequest01.html).
_USER_EXTENSION = re.compile(r"[0-9.,*#]{1,32}")
_VENDOR_TEXT_LIMIT = 200

_wire = WireReader(Vendor.ORACLE)  # every field is read through it: total, logged once


# -- wire shapes ----------------------------------------------------------------------------

# Times come as integers (seed 000), as strings with a leading space (" 1343129570",
# s0204getcallstatusexamples01.html examples 3-4) and as dates ("2013-07-25 4:35:50",
# example 1).
OracleTime = int | str


class OracleStatusWire(TypedDict, total=False):
    """`GET /call/2.0/{sessionId}/status[?waitperiod=s]` → 200."""

    sessionId: str
    sessionid: str  # the published examples spell the key in lowercase
    callState: str
    time: OracleTime  # absent for `unknown`
    scheduledTime: OracleTime  # only for `scheduled`
    more: str  # no / yes / maybe
    hasChanged: str  # "yes" / "no"


class OracleStartWire(TypedDict, total=False):
    """The optional JSON body of `POST /call/2.0/{contactId}/{userPhone}`
    (s0203startcallrequest01.html)."""

    delay: int
    userExtension: str
    visitorContext: dict[str, Any]  # visitorId, referrerUrl, language, var1..var10
    authorizeUrl: str
    authEncrypted: bool


class OracleStartedWire(TypedDict, total=False):
    """`POST /call/2.0/{contactId}/{userPhone}` → 200."""

    sessionId: str


# -- wire → domain --------------------------------------------------------------------------


def call_from_wire(native_id: str, wire: Mapping[str, Any]) -> OracleCall | None:
    """The snapshot of one status answer; None when it has no readable `callState`. Any
    other field that cannot be read is None (and logged once)."""
    raw_state = _wire.text(wire, "callState")
    if not raw_state:
        return None
    state = ORACLE_STATES.get(raw_state, CallState.UNKNOWN)
    at = _wire.epoch_seconds(wire, "time")
    return OracleCall(
        call_id=CallId(Vendor.ORACLE, native_id),
        state=state,
        vendor_state=raw_state,
        # `time` is when the current state began: the best start time while the call is live.
        started_at=at if state in (CallState.DIALING, CallState.CONNECTED) else None,
        ended_at=at if state is CallState.ENDED else None,
        # The id asked for: the response page says the answer carries "the same" one, and
        # example 2 of s0204getcallstatusexamples01.html echoes a different one.
        session_id=native_id,
        time=at,
        scheduled_time=_wire.epoch_seconds(wire, "scheduledTime"),
        more=_wire.text(wire, "more"),
        has_changed=_wire.flag(wire, "hasChanged"),
    )


def session_id_from_wire(wire: object) -> str | None:
    """The new call's id from a start answer (`sessionId`; `sessionid` tolerated)."""
    if not isinstance(wire, Mapping):
        return None
    session_id = _wire.text(wire, "sessionId") or _wire.text(wire, "sessionid") or ""
    return session_id.strip() or None


def vendor_text(response: VendorResponse) -> str:
    """Oracle's plain-text reason for a refusal, as one short line ("" if none)."""
    return " ".join(response.text.split())[:_VENDOR_TEXT_LIMIT]


# -- the adapter ----------------------------------------------------------------------------


class OracleAdapter(AdapterBase):
    vendor = Vendor.ORACLE

    def __init__(self, http: VendorHttp, *, contact_id: str = "") -> None:
        self._http = http
        self._contact_id = contact_id  # the default call template for click-to-call
        # Oracle tells "changed since the last status request" of any poller, so a plain
        # read takes a change away from a watcher's next long poll. Remember the sessions
        # being long-polled, and those whose change a plain read saw first.
        self._watched: OrderedDict[str, None] = OrderedDict()
        self._missed: set[str] = set()

    async def close(self) -> None:
        await self._http.close()

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """The status of each call now: never a long poll (Oracle would hold an unchanged
        call's request for 30 s). No batch endpoint: one request per id, all at once."""
        responses = await concurrently(
            self._http.request("GET", f"{BASE_PATH}/{i}/status", params=NO_WAIT) for i in native_ids
        )
        results = [self._status_result(i, r) for i, r in zip(native_ids, responses, strict=True)]
        for result in results:
            if isinstance(result, OracleCall) and result.has_changed:
                native = result.call_id.native
                if native in self._watched:
                    self._missed.add(native)
        return results

    async def wait_for_change(self, native_id: str, wait: float) -> FetchResult:
        """Long-poll one call: Oracle answers once its state changed since the last status
        request, or after `wait` seconds (at most 120) with the state unchanged
        (`has_changed` False). For a watcher; a failure of Oracle itself is raised."""
        native = CallId.parse(f"{self.vendor.value}:{native_id}").native
        self._watch(native)
        if native in self._missed:
            wait = 0  # a plain read saw a change first: it is news to the watcher
        seconds = max(0, min(int(wait), MAX_WAIT_PERIOD))
        response = await self._http.request(
            "GET",
            f"{BASE_PATH}/{native}/status",
            params={"waitperiod": str(seconds)},
            # Oracle holds the request on purpose: wait for it, plus the usual time to answer.
            request_timeout=seconds + self._http.timeout,
        )
        self._missed.discard(native)
        result = self._status_result(native, response)
        if not isinstance(result, OracleCall) or result.state is CallState.ENDED:
            self._watched.pop(native, None)  # nothing more to wait for
        return result

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
        authorize_url: str | None = None,
        auth_encrypted: bool | None = None,
    ) -> str:
        """Ask Oracle to call `user_phone` (E.164) with call template `contact_id`; a
        `delay` in seconds schedules it; `authorize_url` is Oracle's pre-call check.
        Returns the new sessionId. Never sent twice."""
        self._check_start(contact_id, user_phone, delay, user_extension)
        options: OracleStartWire = {}
        if delay is not None:
            options["delay"] = delay
        if user_extension is not None:
            options["userExtension"] = user_extension
        if visitor_context is not None:
            options["visitorContext"] = visitor_context
        if authorize_url is not None:
            options["authorizeUrl"] = authorize_url
        if auth_encrypted is not None:
            options["authEncrypted"] = auth_encrypted
        response = await self._http.request(
            "POST", f"{BASE_PATH}/{contact_id}/{user_phone}", json_body=options or None
        )
        if response.status != 200:
            raise self._start_refused(response)
        session_id = session_id_from_wire(response.json())
        if session_id is None:
            raise VendorUnavailable(
                "oracle started a call but sent no sessionId.", vendor=self.vendor.value
            )
        return session_id

    async def hangup(self, session_id: str) -> None:
        """End the call (s0205endcallresponse01.html). Already ended or ending →
        InvalidState; unknown session → CallNotFound; each with Oracle's text."""
        native_id = CallId.parse(f"{self.vendor.value}:{session_id}").native
        response = await self._http.request("DELETE", f"{BASE_PATH}/{native_id}")
        if response.status == 200:
            return
        text = vendor_text(response)
        if response.status == 403:
            # "The call has already ended." — also while it is still ending.
            raise InvalidState(
                f"oracle did not end call {native_id}: {text or 'it has already ended.'}",
                vendor=self.vendor.value,
            )
        if response.status == 404:
            # "Attempt to end the call failed." is Oracle's answer for a call it does not
            # know (s0205endcallexamples01.html, example 3).
            raise CallNotFound(
                f"oracle has no call session {native_id}: "
                f"{text or 'Attempt to end the call failed.'}",
                vendor=self.vendor.value,
            )
        raise self._refused("hang-up", response.status)

    # -- helpers --------------------------------------------------------------------------

    def _check_start(
        self, contact_id: str, user_phone: str, delay: int | None, user_extension: str | None
    ) -> None:
        problem = None
        if _CONTACT_ID.fullmatch(contact_id) is None:
            problem = f"Invalid Oracle contactId {contact_id!r}."
        elif _E164.fullmatch(user_phone) is None:
            problem = f"Invalid phone number {user_phone!r}: expected E.164, e.g. +15551234567."
        elif delay is not None and delay < 0:
            problem = f"Invalid delay {delay}: a whole number of seconds, 0 or more."
        elif user_extension is not None and _USER_EXTENSION.fullmatch(user_extension) is None:
            problem = (
                f"Invalid user extension {user_extension!r}: digits, '.', ',', '*' and '#' only."
            )
        if problem is not None:
            raise BadUserInput(problem, vendor=self.vendor.value)

    def _start_refused(self, response: VendorResponse) -> SwitchboardError:
        """A refused start (s0203startcallresponse01.html) as the domain error, with
        Oracle's own text: 400 bad delay / extension and 404 (unknown or invalid contactId,
        invalid visitor number, failed start: Oracle's 404s all concern what was asked)
        are the caller's to fix; 403 is the pre-call authorization refusing."""
        text = vendor_text(response)
        status = response.status
        if status == 403:
            return VendorForbidden(
                f"oracle refused to start the call: {text or 'pre-call authorization failed.'}",
                vendor=self.vendor.value,
            )
        if status in (400, 404):
            reason = text or (
                "bad delay or user extension."
                if status == 400
                else "unknown call template (contactId), invalid phone number, or the call "
                "could not be started."
            )
            return BadUserInput(
                f"oracle refused to start the call (HTTP {status}): {reason}",
                vendor=self.vendor.value,
            )
        return self._refused("start request", status)

    def _watch(self, native_id: str) -> None:
        self._watched[native_id] = None
        self._watched.move_to_end(native_id)
        while len(self._watched) > _WATCHED_LIMIT:
            forgotten, _ = self._watched.popitem(last=False)
            self._missed.discard(forgotten)

    def _status_result(self, native_id: str, response: VendorResponse) -> FetchResult:
        if response.status == 404:
            return self._not_found(native_id)
        if response.status != 200:
            return self._refused("status request", response.status)
        try:
            body = response.json()
        except VendorUnavailable as exc:
            return exc
        call = call_from_wire(native_id, body) if isinstance(body, Mapping) else None
        if call is None:
            return VendorUnavailable(
                f"oracle sent a status for {native_id} without a call state.",
                vendor=self.vendor.value,
            )
        return call

    def _not_found(self, native_id: str) -> CallNotFound:
        return CallNotFound(f"oracle has no call session {native_id}.", vendor=self.vendor.value)

    def _refused(self, what: str, status: int) -> VendorUnavailable:
        return VendorUnavailable(
            f"oracle refused the {what} with HTTP {status}.", vendor=self.vendor.value
        )
