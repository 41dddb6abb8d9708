"""Genesys Web Services 8.5 Voice API emulator (VENDORS.md §5, seed 004): the agent's calls
behind HTTP Basic auth, a JSESSIONID session and CSRF tokens; operations take effect a moment later.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BasicAuth, web
from aiohttp.typedefs import Handler

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl

CALLS_PATH = "/api/v2/me/calls"
SESSION_COOKIE = "JSESSIONID"
CSRF_HEADER = "X-CSRF-TOKEN"
# Absolute links use the seed's host, so that the demo call is the seed's sample exactly.
LINK_BASE = "http://127.0.0.1:8080"
DEVICE_URI = f"{LINK_BASE}/api/v2/devices/631608b3-ceb1-472b-ba05-2ae39555b0d1"
AGENT_DN = "15000"

DEMO_CALL_ID = "01RCC3N118B1V0SL8O7GK2LAES000010"

STATES = ("Dialing", "Ringing", "Established", "Held", "Released")
# The operations valid in each state, as the call resource's `capabilities` lists them.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "Dialing": ("Hangup",),
    "Ringing": ("Answer", "Hangup"),
    "Established": (
        "UpdateUserData",
        "SendDtmf",
        "InitiateConference",
        "Hold",
        "SingleStepTransfer",
        "InitiateTransfer",
        "AttachUserData",
        "DeleteUserDataPair",
        "SingleStepConference",
        "DeleteUserData",
        "Hangup",
        "StartCallRecording",
    ),
    "Held": (
        "Retrieve",
        "Hangup",
        "UpdateUserData",
        "AttachUserData",
        "DeleteUserDataPair",
        "DeleteUserData",
        "SendDtmf",
    ),
    "Released": (),
}
# Where an accepted operation leads once the switch has carried it out; the other
# capabilities are accepted without changing the emulated call.
TRANSITIONS: dict[str, str] = {
    "Answer": "Established",
    "Hold": "Held",
    "Retrieve": "Established",
    "Hangup": "Released",
}

CallListener = Callable[[dict[str, Any]], None]


class GenesysApiError(Exception):
    """A refused request: its HTTP status and the body's `statusCode` and `statusMessage`."""

    def __init__(self, http_status: int, status_code: int, status_message: str) -> None:
        super().__init__(status_message)
        self.http_status = http_status
        self.status_code = status_code
        self.status_message = status_message

    def response(self) -> web.Response:
        body = {"statusCode": self.status_code, "statusMessage": self.status_message}
        return _json_response(body, status=self.http_status)


def _call_not_found() -> GenesysApiError:
    # [guess] VENDORS.md documents statusCode 6 only; the HTTP 404 is our guess.
    return GenesysApiError(404, 6, "Call not found")


@dataclass
class EmulatedCall:
    id: str
    state: str
    conn_id: str
    participants: list[dict[str, Any]]
    dnis: str
    call_type: str
    user_data: dict[str, Any]
    started_at: float
    released_at: float | None = None
    fixed_duration: str | None = None

    def resource(self, now: float) -> dict[str, Any]:
        """The call resource exactly as GWS serves it (the seed's keys, in its order)."""
        if self.fixed_duration is not None:
            duration = self.fixed_duration
        else:
            end = self.released_at if self.released_at is not None else now
            duration = str(max(0, int(end - self.started_at)))
        return {
            "id": self.id,
            "state": self.state,
            "callUuid": self.id,
            "connId": self.conn_id,
            "deviceUri": DEVICE_URI,
            "participants": copy.deepcopy(self.participants),
            "dnis": self.dnis,
            "callType": self.call_type,
            "capabilities": list(CAPABILITIES[self.state]),
            "userData": copy.deepcopy(self.user_data),
            "duration": duration,
            "mute": "Off",
            "recordingState": "Stopped",
            "supervisorListeningIn": False,
            "monitoredUserMuted": False,
            "monitoring": False,
            "uri": f"{LINK_BASE}{CALLS_PATH}/{self.id}",
            "path": f"/calls/{self.id}",
        }


@dataclass
class _Session:
    csrf_token: str
    last_used: float


class GenesysCallStore:
    """The agent's calls and HTTP sessions, in memory.

    Calls are read and written as GWS call resources (dicts). Listeners registered with
    `add_listener` receive the resource after every change (a CometD feed later).
    `clock` (seconds) drives durations, the list's retention of released calls and the
    session timeout; tests may replace it. `transition_delay` is real time.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        transition_delay: float = 0.3,
        released_retention: float = 10.0,
        session_timeout: float = 1800.0,
    ) -> None:
        self.clock = clock
        self.transition_delay = transition_delay
        self.released_retention = released_retention
        self.session_timeout = session_timeout
        self._calls: dict[str, EmulatedCall] = {}
        self._sessions: dict[str, _Session] = {}
        self._listeners: list[CallListener] = []
        self._serial = 10  # the demo call's, the last six digits of its id

    # -- calls ------------------------------------------------------------------------------

    def add_call(
        self,
        *,
        state: str = "Ringing",
        call_id: str | None = None,
        conn_id: str | None = None,
        participants: list[dict[str, Any]] | None = None,
        dnis: str = AGENT_DN,
        call_type: str = "Internal",
        user_data: dict[str, Any] | None = None,
        duration: str | None = None,
    ) -> dict[str, Any]:
        """Add a call and tell the listeners. `duration` freezes the reported duration."""
        self._check_state(state)
        if call_id is None:
            self._serial += 1
            call_id = "01" + _random_text(string.ascii_uppercase + string.digits, 24)
            call_id += f"{self._serial:06d}"
        call = EmulatedCall(
            id=call_id,
            state=state,
            conn_id=conn_id or _random_text("0123456789ABCDEF", 16),
            participants=copy.deepcopy(participants or []),
            dnis=dnis,
            call_type=call_type,
            user_data=copy.deepcopy(user_data or {}),
            started_at=self.clock(),
            released_at=self.clock() if state == "Released" else None,
            fixed_duration=duration,
        )
        self._calls[call_id] = call
        return self._changed(call)

    def get(self, call_id: str) -> dict[str, Any] | None:
        call = self._calls.get(call_id)
        return None if call is None else call.resource(self.clock())

    def current_calls(self) -> list[dict[str, Any]]:
        """The list endpoint's calls: all but those released longer than the retention ago."""
        now = self.clock()
        return [
            call.resource(now)
            for call in self._calls.values()
            if call.released_at is None or now - call.released_at < self.released_retention
        ]

    def set_state(self, call_id: str, state: str) -> dict[str, Any]:
        """Move a call to any state now (KeyError for an unknown call) and tell the listeners."""
        self._check_state(state)
        call = self._calls[call_id]
        if state != "Released":
            call.released_at = None
        elif call.released_at is None:
            call.released_at = self.clock()
        call.state = state
        return self._changed(call)

    def end(self, call_id: str) -> dict[str, Any]:
        return self.set_state(call_id, "Released")

    def request_operation(self, call_id: str, operation: str) -> None:
        """Accept `operation` if the call's capabilities allow it, as GWS does, and carry it
        out `transition_delay` later; else raise `GenesysApiError`."""
        call = self._calls.get(call_id)
        if call is None:
            raise _call_not_found()
        if operation not in CAPABILITIES[call.state]:
            raise GenesysApiError(
                400, 2, f"Operation {operation} is not valid for a call in state {call.state}"
            )
        target = TRANSITIONS.get(operation)
        if target is not None:
            loop = asyncio.get_running_loop()
            loop.call_later(self.transition_delay, self._carry_out, call_id, target)

    def add_listener(self, listener: CallListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: CallListener) -> None:
        self._listeners.remove(listener)

    def _carry_out(self, call_id: str, target: str) -> None:
        # A call hung up meanwhile stays released, as on the switch.
        if self._calls[call_id].state != "Released":
            self.set_state(call_id, target)

    def _changed(self, call: EmulatedCall) -> dict[str, Any]:
        resource = call.resource(self.clock())
        for listener in list(self._listeners):
            listener(copy.deepcopy(resource))
        return resource

    @staticmethod
    def _check_state(state: str) -> None:
        if state not in STATES:
            raise ValueError(f"not a Genesys call state: {state!r}")

    # -- sessions -------------------------------------------------------------------------------

    def open_session(self) -> tuple[str, str]:
        """A new session: its JSESSIONID and the CSRF token bound to it."""
        session_id = secrets.token_hex(16).upper()
        token = secrets.token_urlsafe(24)
        self._sessions[session_id] = _Session(token, self.clock())
        return session_id, token

    def csrf_token(self, session_id: str) -> str | None:
        """The CSRF token of a live session (which this use keeps alive), else None."""
        session = self._sessions.get(session_id)
        now = self.clock()
        if session is None or now - session.last_used > self.session_timeout:
            self._sessions.pop(session_id, None)
            return None
        session.last_used = now
        return session.csrf_token

    def expire_sessions(self) -> None:
        """End every session, so every JSESSIONID and CSRF token issued so far is invalid."""
        self._sessions.clear()

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def session_secrets(self) -> list[str]:
        """Every live JSESSIONID and CSRF token (tests check that none ever leaks)."""
        return [value for sid, s in self._sessions.items() for value in (sid, s.csrf_token)]


def _random_text(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class GenesysEmulator(VendorEmulator):
    vendor = "genesys"

    def __init__(self, control: EmulatorControl) -> None:
        super().__init__(control)
        self.store = GenesysCallStore()
        control.register_token_expirer(self.vendor, self.store.expire_sessions)

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._authenticate)
        return app

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(CALLS_PATH, self._list_calls)
        app.router.add_get(CALLS_PATH + "/{call_id}", self._get_call)
        app.router.add_post(CALLS_PATH + "/{call_id}", self._operate)

    def seed_demo(self) -> None:
        self.store.add_call(
            call_id=DEMO_CALL_ID,
            state="Established",
            conn_id="0071027198180020",
            participants=[
                {
                    "e164Number": "",
                    "formattedPhoneNumber": "15001",
                    "phoneNumber": "15001",
                    "digits": "15001",
                }
            ],
            dnis="15001",
            call_type="Internal",
            user_data={"AccountNumber": "12345678"},
            # Frozen at the seed's "7" so that the demo call stays the seed's sample exactly.
            duration="7",
        )

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        inbound = rng.random() < 0.5
        participant, number = _random_participant(rng)
        internal = not participant["e164Number"]
        call = self.store.add_call(
            state="Ringing" if inbound else "Dialing",
            participants=[participant],
            dnis=AGENT_DN if inbound else number,
            call_type="Internal" if internal else ("Inbound" if inbound else "Outbound"),
            user_data={"AccountNumber": str(rng.randint(10_000_000, 99_999_999))},
        )
        call_id = call["id"]
        await asyncio.sleep(pace * rng.uniform(1, 4))
        if not self._advance(call_id, "Established"):
            return
        await asyncio.sleep(pace * rng.uniform(2, 6))
        if rng.random() < 0.4 and self._advance(call_id, "Held"):
            await asyncio.sleep(pace * rng.uniform(1, 4))
            if not self._advance(call_id, "Established"):
                return
            await asyncio.sleep(pace * rng.uniform(1, 4))
        self._advance(call_id, "Released")

    def _advance(self, call_id: str, state: str) -> bool:
        """Move the simulated call on, unless someone hung it up meanwhile."""
        current = self.store.get(call_id)
        if current is None or current["state"] == "Released":
            return False
        self.store.set_state(call_id, state)
        return True

    # -- HTTP ---------------------------------------------------------------------------------

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _has_demo_credentials(request):
            # GWS documents no 401 body; we keep the envelope every answer has, with the
            # closest documented code (3, forbidden).
            return _json_response(
                {"statusCode": 3, "statusMessage": "Unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="Genesys Web Services"'},
            )
        session_id = request.cookies.get(SESSION_COOKIE, "")
        token = self.store.csrf_token(session_id) if session_id else None
        opened: str | None = None  # the id of a session opened by this request
        if token is None:
            opened, token = self.store.open_session()
        response: web.StreamResponse
        if (
            request.method in ("POST", "PUT", "DELETE")
            and request.headers.get(CSRF_HEADER) != token
        ):
            # The documented words, under the documented "forbidden" code.
            response = GenesysApiError(403, 3, "Missing or invalid Csrf token").response()
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                _stamp(exc, request.method, opened, token)
                raise
        _stamp(response, request.method, opened, token)
        return response

    async def _list_calls(self, request: web.Request) -> web.Response:
        return _json_response({"statusCode": 0, "calls": self.store.current_calls()})

    async def _get_call(self, request: web.Request) -> web.Response:
        call = self.store.get(request.match_info["call_id"])
        if call is None:
            return _call_not_found().response()
        return _json_response({"statusCode": 0, "call": call})

    async def _operate(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        operation = body.get("operationName") if isinstance(body, dict) else None
        try:
            if not isinstance(operation, str) or not operation:
                raise GenesysApiError(400, 1, "Missing required parameter operationName")
            self.store.request_operation(request.match_info["call_id"], operation)
        except GenesysApiError as refused:
            return refused.response()
        # Accepted only: the new state follows asynchronously, as on the real switch.
        return _json_response({"statusCode": 0})


def _json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # GWS (Jackson) writes compact JSON.
    return web.json_response(body, status=status, headers=headers, dumps=_compact_json)


def _compact_json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def _has_demo_credentials(request: web.Request) -> bool:
    expected = DEMO_CREDENTIALS["genesys"]
    try:
        auth = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return False
    return secrets.compare_digest(auth.login, expected["username"]) and secrets.compare_digest(
        auth.password, expected["password"]
    )


def _stamp(
    response: web.StreamResponse, method: str, new_session_id: str | None, csrf_token: str
) -> None:
    """Add the session cookie to a new session's first answer, and CSRF headers to GETs."""
    if new_session_id is not None:
        response.headers.add("Set-Cookie", f"{SESSION_COOKIE}={new_session_id}; Path=/; HttpOnly")
    if method == "GET":
        response.headers["X-CSRF-HEADER"] = CSRF_HEADER
        response.headers[CSRF_HEADER] = csrf_token


def _random_participant(rng: random.Random) -> tuple[dict[str, Any], str]:
    """A plausible far end: an internal DN, or a US number with GWS's extra fields."""
    if rng.random() < 0.4:
        dn = str(rng.randint(15001, 15999))
        return {"e164Number": "", "formattedPhoneNumber": dn, "phoneNumber": dn, "digits": dn}, dn
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    e164 = f"+1{area}{exchange}{line:04d}"
    local = f"({area}) {exchange}-{line:04d}"
    participant = {
        "e164Number": e164,
        "formattedPhoneNumber": local,
        "phoneNumber": e164,
        "digits": e164[1:],
        "country": {"name": "United States", "code": "US", "callingCode": "1"},
        "location": rng.choice(["California", "New York", "Texas", "Illinois", "Florida"]),
        "localPhoneNumber": local,
        "E164digits": e164,
    }
    return participant, e164[1:]
