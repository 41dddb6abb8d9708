"""Emulator of Oracle Click-to-Call's Call Setup API 2.0 (VENDORS.md §1 and §6, seed 000):
start a call, long-poll its status, end it. No authentication; errors are a status and a
plain-text body. Every documented variant of the status body is selectable (`VARIANTS`).

Pages cited below are under docs.oracle.com
`cd/E71009_01/Click2Call.2016-01/C2CCallSetupAPI/html/`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from app.emulators.base import VendorEmulator
from app.emulators.control import EmulatorControl
from app.emulators.oracle_store import (
    CALL_STATES,
    DEFAULT_SCHEDULE_DELAY,
    PHONE_INVALID,
    CallTemplate,
    OracleCallStore,
    OracleSession,
)

__all__ = [
    "CALL_STATES",
    "DEFAULT_SCHEDULE_DELAY",
    "DEFAULT_WAIT_PERIOD",
    "DEMO_CONTACT_ID",
    "DEMO_SESSION_ID",
    "DEMO_TIME",
    "DEMO_USER_PHONE",
    "MAX_WAIT_PERIOD",
    "CallTemplate",
    "OracleCallStore",
    "OracleEmulator",
    "OracleSession",
    "status_body",
]

DEMO_SESSION_ID = "1TfU02Xfme2GMuzfUh0rkdgvz4"
DEMO_CONTACT_ID = "switchboard-demo"
DEMO_USER_PHONE = "+15551234567"
DEMO_TIME = 1_736_942_400  # 2025-01-15T12:00:00Z, when the demo call connected
# Call templates the emulator knows besides the demo one (the simulator uses them).
KNOWN_TEMPLATES = (DEMO_CONTACT_ID, "sales-callback", "support-callback")

# Get Call Status is a long poll (s0204longpollingmechanism01.html): "The default timeout
# period for each request is 30 seconds ... the 'waitperiod' request parameter ... The
# maximum wait period that is permitted is 120 seconds". [guess] waitperiod=0 answers at
# once, and a value above the maximum is refused like any invalid request parameter (400,
# s0204getcallstatusresponse01.html); the pages say neither.
DEFAULT_WAIT_PERIOD = 30
MAX_WAIT_PERIOD = 120

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# userExtension: "The only characters permitted are numeric digits (0-9), period (.), comma
# (,), asterisk (*) and hash (#)" (s0203startcallrequest01.html).
_USER_EXTENSION = re.compile(r"[0-9.,*#]{1,32}")
_CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.]{0,63}")
_compact_json = functools.partial(json.dumps, separators=(",", ":"))


def _date(seconds: int) -> str:
    """A time as example 1 of s0204getcallstatusexamples01.html writes it: "2013-07-25
    4:35:50" (hour without a leading zero). [guess] the zone: UTC."""
    at = datetime.fromtimestamp(seconds, UTC)
    return f"{at:%Y-%m-%d} {at.hour}:{at:%M:%S}"


def status_body(session: OracleSession, has_changed: bool, variant: str) -> dict[str, Any]:
    """The Get Call Status response for `session`, as the deployment `variant` sends it."""
    # The published examples (s0204getcallstatusexamples01.html, and the JSONP page
    # s0304getcurrentstatusrequestusingjson01.html) spell the key "sessionid"; the response
    # page (seed 000) spells "sessionId".
    lowercase_key = variant in ("string-times", "date-times")

    def epoch(seconds: int) -> int | str:
        if variant == "string-times":
            return f" {seconds}"  # examples 3 and 4: " 1343129570"
        if variant == "date-times":
            return _date(seconds)  # example 1: "2013-07-25 4:35:50"
        return seconds

    state = session.call_state
    body: dict[str, Any] = {
        "sessionid" if lowercase_key else "sessionId": session.session_id,
        "callState": state,
    }
    if state != "unknown" and session.time is not None:
        body["time"] = epoch(session.time)
    if state == "scheduled" and session.scheduled_time is not None:
        body["scheduledTime"] = epoch(session.scheduled_time)
    body["more"] = _more(state, has_changed, by_state=variant == "more-by-state")
    body["hasChanged"] = "yes" if has_changed else "no"
    return body


def _more(state: str, has_changed: bool, *, by_state: bool) -> str:
    # "no" for scheduled as well as disconnected: the Call States table
    # (s0204callstates01.html), the long-poll page and example 1 all say so.
    if state in ("disconnected", "scheduled"):
        return "no"
    if state == "unknown":
        return "maybe"
    # The response page (seed 000): "maybe ... if the call state has not changed since the
    # last status request". The long-poll page: a poll that timed out sets `more` "according
    # to the new state" (yes for initiated / connected).
    return "yes" if has_changed or by_state else "maybe"


def _plain(status: int, text: str, **kwargs: Any) -> web.Response:
    return web.Response(status=status, text=text, **kwargs)


def _wrong_method(allowed: str) -> web.Response:
    return _plain(405, "Use of an invalid HTTP method.", headers={"Allow": allowed})


def _bad_session_id() -> web.Response:
    return _plain(400, "Invalid request parameters: sessionId.")


def _json(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, dumps=_compact_json)


def _jsonp(callback: str, body: dict[str, Any]) -> web.Response:
    """The JSONP interface for browsers (s0304getcurrentstatusrequestusingjson01.html):
    `callback({...});`, the example with "sessionid" and string times; a failure is
    `callback({"statuscode": "404", "reason": "..."});`. [guess] HTTP 200 either way, so
    that the browser runs the script."""
    return web.Response(
        text=f"{callback}({_compact_json(body)});", content_type="application/javascript"
    )


class OracleEmulator(VendorEmulator):
    """Serves `/call/2.0/...` from an `OracleCallStore` (`self.calls`)."""

    vendor = "oracle"
    VARIANTS: ClassVar[Mapping[str, str]] = {
        "integer-times": "sessionId and times as integer epoch seconds (response page, seed 000)",
        "string-times": 'sessionid and times as strings with a leading space, " 1343129570" '
        "(s0204getcallstatusexamples01.html, examples 3-4)",
        "date-times": 'sessionid and times as date strings, "2013-07-25 4:35:50" '
        "(s0204getcallstatusexamples01.html, example 1)",
        "more-by-state": "a status request that waited in vain says more by the state (yes "
        "for a live call), not maybe (s0204longpollingmechanism01.html)",
    }

    def __init__(self, control: EmulatorControl, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(control)
        self.calls = OracleCallStore(clock)
        for contact_id in KNOWN_TEMPLATES:
            self.calls.add_template(contact_id)

    def build_app(self) -> web.Application:
        app = super().build_app()
        # Held long polls would otherwise keep the server's graceful shutdown waiting.
        app.on_shutdown.append(self._release_long_polls)
        return app

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
            rng.choice(KNOWN_TEMPLATES),
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
            self.calls.get(session.session_id)
            if session.ended or session.ending:  # hung up meanwhile
                return
            self.calls.set_state(session.session_id, call_state)

    async def _release_long_polls(self, app: web.Application) -> None:
        self.calls.release()

    # -- routes ---------------------------------------------------------------------------

    async def _status(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            return _wrong_method("GET")
        session_id = request.match_info["session_id"]
        if _SESSION_ID.fullmatch(session_id) is None:
            return _bad_session_id()
        wait = _wait_period(request.query.get("waitperiod"))
        if wait is None:
            return _plain(400, "Invalid request parameters: waitperiod.")
        callback = request.query.get("callback")
        if callback is not None and _CALLBACK.fullmatch(callback) is None:
            return _plain(400, "Invalid request parameters: callback.")
        session = self.calls.get(session_id)
        if session is None:
            if callback is not None:
                return _jsonp(
                    callback, {"statuscode": "404", "reason": "Call session does not exist."}
                )
            return _plain(404, "Call session does not exist.")
        # The long poll: answer once the state changed since the last status request, or
        # when the wait period is over (s0204longpollingmechanism01.html).
        deadline = asyncio.get_running_loop().time() + wait
        while not self.calls.has_news(session) and not self.calls.released:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await self.calls.wait_for_news(session, remaining)
        polled = self.calls.poll(session_id)
        assert polled is not None  # sessions are never removed
        if callback is not None:
            return _jsonp(callback, status_body(*polled, "string-times"))
        return _json(status_body(*polled, self.variant))

    async def _end(self, request: web.Request) -> web.Response:
        if request.method != "DELETE":
            return _wrong_method("DELETE")
        session_id = request.match_info["session_id"]
        if _SESSION_ID.fullmatch(session_id) is None:
            return _bad_session_id()
        session = self.calls.get(session_id)
        if session is None:
            # s0205endcallexamples01.html, example 3 ("End a call that does not exist").
            return _plain(404, "Attempt to end the call failed.")
        if session.ended or session.ending:
            # Example 2: "End a call that is already ending or has already ended".
            return _plain(403, "The call has already ended.")
        self.calls.hang_up(session.session_id)
        return _json({"callState": "ended"})  # example 1

    async def _start(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return _wrong_method("POST")
        contact_id = request.match_info["contact_id"]
        user_phone = request.match_info["user_phone"]
        # The checks in the order of s0203startcallresponse01.html: path elements (404), the
        # options (400), the pre-call authorization (403), the start itself (404).
        refused = self.calls.path_refusal(contact_id, user_phone)
        if refused is not None:
            return _start_refused(refused)
        raw = await request.text()
        try:
            options = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _plain(400, "Invalid request parameters: the body is not JSON.")
        problem = _start_options_problem(options)
        if problem is not None:
            return _plain(400, problem)
        authorize_url = options.get("authorizeUrl")
        refused = self.calls.start_refusal(contact_id, user_phone, authorize_url)
        if refused is not None:
            return _start_refused(refused)
        session = self.calls.start(
            contact_id,
            user_phone,
            delay=options.get("delay"),
            user_extension=options.get("userExtension"),
            visitor_context=options.get("visitorContext"),
            authorize_url=authorize_url,
        )
        return _json({"sessionId": session.session_id})

    async def _invalid_path(self, request: web.Request) -> web.Response:
        # Quirk (seed 000; s0205endcallexamples01.html, example 4): an invalid URI path is
        # "404 Bad Request". The start examples (s0203startcallexamples01.html, example 2:
        # an API version that does not exist) answer a POST "404 Not Found".
        reason = "Not Found" if request.method == "POST" else "Bad Request"
        return _plain(404, "Invalid URI path.", reason=reason)


def _start_refused(refused: tuple[int, str]) -> web.Response:
    status, text = refused
    # s0203startcallexamples01.html, example 5: an invalid visitor number is "404 Bad Request".
    reason = "Bad Request" if refused == PHONE_INVALID else None
    return _plain(status, text, reason=reason)


def _wait_period(raw: str | None) -> int | None:
    """The `waitperiod` parameter in seconds (default 30), or None when it is invalid."""
    if raw is None:
        return DEFAULT_WAIT_PERIOD
    text = raw.strip()
    if not text.isdigit() or int(text) > MAX_WAIT_PERIOD:
        return None
    return int(text)


def _start_options_problem(options: Any) -> str | None:
    """Why a start request's JSON body is invalid (the 400 text), or None."""
    if not isinstance(options, dict):
        return "Invalid request parameters: the body must be a JSON object."
    delay = options.get("delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int) or delay < 0):
        return "Call delay parameter is invalid."
    extension = options.get("userExtension")
    if extension is not None and (
        not isinstance(extension, str) or _USER_EXTENSION.fullmatch(extension) is None
    ):
        return "User extension parameter is invalid."
    context = options.get("visitorContext")
    if context is not None and not isinstance(context, dict):
        return "Invalid request parameters: visitorContext must be a JSON object."
    authorize_url = options.get("authorizeUrl")
    if authorize_url is not None and not isinstance(authorize_url, str):
        return "Invalid request parameters: authorizeUrl must be a string."
    encrypted = options.get("authEncrypted")
    if encrypted is not None and not isinstance(encrypted, bool):
        return "Invalid request parameters: authEncrypted must be true or false."
    return None
