"""Emulator of Oracle Click-to-Call's Call Setup API 2.0 (VENDORS.md §1, seed 000): start a
call, poll its status, end it. No authentication; errors are a status and a plain-text body."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.emulators.base import VendorEmulator
from app.emulators.control import EmulatorControl

CALL_STATES = ("unknown", "scheduled", "initiated", "connected", "disconnected")

DEMO_SESSION_ID = "1TfU02Xfme2GMuzfUh0rkdgvz4"
DEMO_CONTACT_ID = "switchboard-demo"
DEMO_USER_PHONE = "+15551234567"
DEMO_TIME = 1_736_942_400  # 2025-01-15T12:00:00Z, when the demo call connected

# A scheduled session with no scheduled time given starts this many seconds from now.
DEFAULT_SCHEDULE_DELAY = 60

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SESSION_ID_ALPHABET = string.ascii_letters + string.digits
_compact_json = functools.partial(json.dumps, separators=(",", ":"))


@dataclass
class OracleSession:
    """One call session. `time` is when `call_state` happened, in epoch seconds."""

    session_id: str
    contact_id: str
    user_phone: str
    call_state: str
    time: int | None
    scheduled_time: int | None = None
    user_extension: str | None = None
    visitor_context: dict[str, Any] | None = None
    # Quirk (documented examples): answer status with a lowercase "sessionid" key and times
    # as strings with a leading space (" 1343129570").
    quirky_status: bool = False
    changes: int = 1  # bumped on every state change
    polled_changes: int = 0  # `changes` as of the last status request

    @property
    def ended(self) -> bool:
        return self.call_state == "disconnected"


class OracleCallStore:
    """The emulator's call sessions by sessionId; the one API that tests, the simulator and
    the HTTP routes change calls through. Times are whole epoch seconds from `clock`."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._sessions: dict[str, OracleSession] = {}

    def now(self) -> int:
        return int(self.clock())

    def add(self, session: OracleSession) -> OracleSession:
        self._sessions[session.session_id] = session
        return session

    def start(
        self,
        contact_id: str,
        user_phone: str,
        *,
        delay: int | None = None,
        user_extension: str | None = None,
        visitor_context: dict[str, Any] | None = None,
        quirky_status: bool = False,
    ) -> OracleSession:
        """A new session: `initiated` now, or `scheduled` to start `delay` seconds from now."""
        now = self.now()
        return self.add(
            OracleSession(
                session_id="".join(secrets.choice(_SESSION_ID_ALPHABET) for _ in range(26)),
                contact_id=contact_id,
                user_phone=user_phone,
                call_state="scheduled" if delay else "initiated",
                time=now,
                scheduled_time=now + delay if delay else None,
                user_extension=user_extension,
                visitor_context=visitor_context,
                quirky_status=quirky_status,
            )
        )

    def get(self, session_id: str) -> OracleSession | None:
        """The session, moved on to `initiated` if its scheduled time has come."""
        session = self._sessions.get(session_id)
        if (
            session is not None
            and session.call_state == "scheduled"
            and session.scheduled_time is not None
            and self.now() >= session.scheduled_time
        ):
            self._change(session, "initiated", session.scheduled_time)
        return session

    def sessions(self) -> list[OracleSession]:
        """Every session, oldest first."""
        return [s for s in map(self.get, list(self._sessions)) if s is not None]

    def set_state(
        self,
        session_id: str,
        call_state: str,
        *,
        at: int | None = None,
        scheduled_time: int | None = None,
    ) -> OracleSession:
        """Move a session to `call_state` (one of CALL_STATES) as of `at` (default now).
        Setting the state it already has changes nothing. Unknown session: KeyError."""
        if call_state not in CALL_STATES:
            raise ValueError(f"not an Oracle call state: {call_state!r}")
        session = self.get(session_id)
        if session is None:
            raise KeyError(session_id)
        if call_state != session.call_state:
            now = self.now() if at is None else at
            if call_state == "scheduled":
                session.scheduled_time = (
                    now + DEFAULT_SCHEDULE_DELAY if scheduled_time is None else scheduled_time
                )
            self._change(session, call_state, None if call_state == "unknown" else now)
        return session

    def end(self, session_id: str) -> OracleSession:
        """Hang up: the session becomes `disconnected` (unchanged if it already is)."""
        return self.set_state(session_id, "disconnected")

    def poll(self, session_id: str) -> tuple[OracleSession, bool] | None:
        """A status request: the session and whether it changed since the last one."""
        session = self.get(session_id)
        if session is None:
            return None
        has_changed = session.changes != session.polled_changes
        session.polled_changes = session.changes
        return session, has_changed

    @staticmethod
    def _change(session: OracleSession, call_state: str, at: int | None) -> None:
        session.call_state = call_state
        session.time = at
        session.changes += 1


def status_body(session: OracleSession, has_changed: bool) -> dict[str, Any]:
    """The status response of the Call Setup API for `session`."""

    def epoch(seconds: int) -> int | str:
        return f" {seconds}" if session.quirky_status else seconds

    state = session.call_state
    body: dict[str, Any] = {
        "sessionid" if session.quirky_status else "sessionId": session.session_id,
        "callState": state,
    }
    if state != "unknown" and session.time is not None:
        body["time"] = epoch(session.time)
    if state == "scheduled" and session.scheduled_time is not None:
        body["scheduledTime"] = epoch(session.scheduled_time)
    if session.ended:
        body["more"] = "no"
    elif state == "unknown" or not has_changed:
        body["more"] = "maybe"
    else:
        body["more"] = "yes"
    body["hasChanged"] = "yes" if has_changed else "no"
    return body


def _plain(status: int, text: str, **kwargs: Any) -> web.Response:
    return web.Response(status=status, text=text, **kwargs)


def _wrong_method(allowed: str) -> web.Response:
    return _plain(405, "Use of an invalid HTTP method.", headers={"Allow": allowed})


def _bad_session_id() -> web.Response:
    return _plain(400, "Invalid request parameters: sessionId.")


def _no_session() -> web.Response:
    return _plain(404, "Call session does not exist.")


def _json(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, dumps=_compact_json)


class OracleEmulator(VendorEmulator):
    """Serves `/call/2.0/...` from an `OracleCallStore` (`self.calls`)."""

    vendor = "oracle"

    def __init__(self, control: EmulatorControl, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(control)
        self.calls = OracleCallStore(clock)

    def add_routes(self, app: web.Application) -> None:
        # Every method reaches a handler so that errors carry Oracle's plain-text bodies;
        # the status route comes first because its path also fits start's pattern.
        app.add_routes(
            [
                web.route("*", "/call/2.0/{session_id}/status", self._status),
                web.route("*", "/call/2.0/{session_id}", self._end),
                web.route("*", "/call/2.0/{contact_id}/{user_phone}", self._start),
                web.route("*", "/{path:.*}", self._invalid_path),
            ]
        )

    def seed_demo(self) -> None:
        self.calls.add(
            OracleSession(
                session_id=DEMO_SESSION_ID,
                contact_id=DEMO_CONTACT_ID,
                user_phone=DEMO_USER_PHONE,
                call_state="connected",
                time=DEMO_TIME,
            )
        )

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        delay = rng.choice((None, None, rng.randint(2, 5)))
        session = self.calls.start(
            rng.choice(("sales-callback", "support-callback", DEMO_CONTACT_ID)),
            f"+1555{rng.randrange(10**7):07d}",
            delay=delay,
            user_extension=rng.choice((None, str(rng.randint(100, 299)))),
        )
        steps: list[tuple[str, float]] = [("initiated", delay)] if delay else []
        if rng.random() < 0.8:
            steps += [("connected", rng.uniform(1, 4)), ("disconnected", rng.uniform(3, 10))]
        else:  # nobody answered
            steps.append(("disconnected", rng.uniform(5, 8)))
        for call_state, wait in steps:
            await asyncio.sleep(pace * wait)
            if session.ended:  # hung up meanwhile
                return
            self.calls.set_state(session.session_id, call_state)

    # -- routes ---------------------------------------------------------------------------

    async def _status(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            return _wrong_method("GET")
        session_id = request.match_info["session_id"]
        if _SESSION_ID.fullmatch(session_id) is None:
            return _bad_session_id()
        polled = self.calls.poll(session_id)
        if polled is None:
            return _no_session()
        return _json(status_body(*polled))

    async def _end(self, request: web.Request) -> web.Response:
        if request.method != "DELETE":
            return _wrong_method("DELETE")
        session_id = request.match_info["session_id"]
        if _SESSION_ID.fullmatch(session_id) is None:
            return _bad_session_id()
        session = self.calls.get(session_id)
        if session is None:
            return _no_session()
        if session.ended:
            return _plain(403, "The call has already ended.")
        self.calls.end(session.session_id)
        return _json({"callState": "ended"})

    async def _start(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return _wrong_method("POST")
        user_phone = request.match_info["user_phone"]
        if _E164.fullmatch(user_phone) is None:
            return _plain(400, "Invalid request parameters: userPhone must be in E.164 format.")
        raw = await request.text()
        try:
            options = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _plain(400, "Invalid request parameters: the body is not JSON.")
        problem = _start_options_problem(options)
        if problem is not None:
            return _plain(400, f"Invalid request parameters: {problem}")
        session = self.calls.start(
            request.match_info["contact_id"],
            user_phone,
            delay=options.get("delay"),
            user_extension=options.get("userExtension"),
            visitor_context=options.get("visitorContext"),
        )
        return _json({"sessionId": session.session_id})

    async def _invalid_path(self, request: web.Request) -> web.Response:
        # Quirk (seed 000): an invalid URI path is "404 Bad Request".
        return _plain(404, "Invalid URI path.", reason="Bad Request")


def _start_options_problem(options: Any) -> str | None:
    """Why a start request's JSON body is invalid, or None."""
    if not isinstance(options, dict):
        return "the body must be a JSON object."
    delay = options.get("delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int) or delay < 0):
        return "delay must be a whole number of seconds, 0 or more."
    extension = options.get("userExtension")
    if extension is not None and not isinstance(extension, str):
        return "userExtension must be a string."
    context = options.get("visitorContext")
    if context is not None and not isinstance(context, dict):
        return "visitorContext must be a JSON object."
    return None
