"""The Oracle Click-to-Call emulator's call sessions and call templates: the one API that
tests, the simulator and the HTTP routes change calls through (VENDORS.md §1 and §6).

Pages cited below are under docs.oracle.com
`cd/E71009_01/Click2Call.2016-01/C2CCallSetupAPI/html/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CALL_STATES = ("unknown", "scheduled", "initiated", "connected", "disconnected")

# A scheduled session with no scheduled time given starts this many seconds from now.
DEFAULT_SCHEDULE_DELAY = 60
# How long a hang-up takes: while a call is ending, a second DELETE is refused like one on
# an ended call (s0205endcallexamples01.html, example 2: "already ending or has already
# ended"; Appendix A: "Unable to end a call that is already ending"). [guess] the length.
HANGUP_SECONDS = 1.0

# Start-call refusals, status and plain text (s0203startcallresponse01.html lists the
# conditions; s0203startcallexamples01.html shows the statuses; the body texts are [guess]:
# the pages say only that "the body of the response may provide details").
CONTACT_ID_INVALID = (404, "Contact ID is invalid.")
TEMPLATE_NOT_FOUND = (404, "Call template identified by Contact ID cannot be found.")
PHONE_INVALID = (404, "Visitor phone number is invalid.")  # example 5: "404 Bad Request"
AUTHORIZATION_FAILED = (403, "Pre-call authorization checks failed.")  # example 6
START_FAILED = (404, "Start call attempt failed.")

_CONTACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_E164 = re.compile(r"\+?[1-9][0-9]{7,14}")  # the doc's own examples omit the "+"
_SESSION_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass
class CallTemplate:
    """A call template (`contactId`, s0203calltemplates01.html): the account, the agent
    leg to call and the pre-call checks. A closed template (its contact centre is outside
    its operating hours, Getting Started guide) cannot start calls."""

    contact_id: str
    open: bool = True


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
    authorize_url: str | None = None
    changes: int = 1  # bumped on every state change
    polled_changes: int = 0  # `changes` as of the last status request
    ending_at: float | None = None  # a hang-up is under way; disconnected at this time
    # Set (and replaced) on every change: what held status requests wait for.
    signal: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)

    @property
    def ended(self) -> bool:
        return self.call_state == "disconnected"

    @property
    def ending(self) -> bool:
        return self.ending_at is not None and not self.ended

    def due_at(self) -> float | None:
        """When this session next changes by itself (its scheduled start, its hang-up)."""
        if self.ending_at is not None and not self.ended:
            return self.ending_at
        if self.call_state == "scheduled" and self.scheduled_time is not None:
            return float(self.scheduled_time)
        return None


class OracleCallStore:
    """Sessions by sessionId and templates by contactId. Times come from `clock`."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.hangup_seconds = HANGUP_SECONDS
        self.templates: dict[str, CallTemplate] = {}
        # Pre-call authorization (s0203startcallrequest01.html `authorizeUrl`; the template's
        # "pre-call authorization checks"): blacklisted visitor numbers (Admin guide, call
        # blacklisting) and authorize URLs that refuse, both refused with 403.
        self.blacklist: set[str] = set()
        self.refusing_authorizers: set[str] = set()
        self.released = False  # the server is shutting down: hold no request any more
        self._sessions: dict[str, OracleSession] = {}

    def now(self) -> int:
        return int(self.clock())

    # -- templates ------------------------------------------------------------------------

    def add_template(self, contact_id: str, *, open: bool = True) -> CallTemplate:
        template = CallTemplate(contact_id, open)
        self.templates[contact_id] = template
        return template

    def path_refusal(self, contact_id: str, user_phone: str) -> tuple[int, str] | None:
        """Why Oracle refuses the path elements of a start request, as (status, text)."""
        if _CONTACT_ID.fullmatch(contact_id) is None:
            return CONTACT_ID_INVALID
        if contact_id not in self.templates:
            return TEMPLATE_NOT_FOUND
        if _E164.fullmatch(user_phone) is None:
            return PHONE_INVALID
        return None

    def start_refusal(
        self, contact_id: str, user_phone: str, authorize_url: str | None = None
    ) -> tuple[int, str] | None:
        """Why a start request with valid parameters fails: the pre-call checks (403),
        then the start itself (404)."""
        blacklisted = {number.lstrip("+") for number in self.blacklist}
        if user_phone.lstrip("+") in blacklisted or authorize_url in self.refusing_authorizers:
            return AUTHORIZATION_FAILED
        if not self.templates[contact_id].open:
            return START_FAILED
        return None

    # -- sessions -------------------------------------------------------------------------

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
        authorize_url: str | None = None,
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
                authorize_url=authorize_url,
            )
        )

    def get(self, session_id: str) -> OracleSession | None:
        """The session, moved on if its scheduled start or its hang-up has come."""
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if session.ending_at is not None and not session.ended and now >= session.ending_at:
            self._change(session, "disconnected", int(session.ending_at))
        elif (
            session.call_state == "scheduled"
            and session.scheduled_time is not None
            and now >= session.scheduled_time
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
        """The call ends now (the far end hung up): `disconnected` at once."""
        return self.set_state(session_id, "disconnected")

    def hang_up(self, session_id: str) -> OracleSession:
        """An end-call request: the call is ending, and disconnected `hangup_seconds` later."""
        session = self.get(session_id)
        if session is None:
            raise KeyError(session_id)
        if self.hangup_seconds <= 0:
            return self.end(session_id)
        session.ending_at = self.clock() + self.hangup_seconds
        return session

    def has_news(self, session: OracleSession) -> bool:
        """Whether the session changed since the last status request (of any poller: the
        docs say "since the last request", s0204longpollingmechanism01.html)."""
        return session.changes != session.polled_changes

    def poll(self, session_id: str) -> tuple[OracleSession, bool] | None:
        """A status request: the session and whether it changed since the last one."""
        session = self.get(session_id)
        if session is None:
            return None
        has_changed = self.has_news(session)
        session.polled_changes = session.changes
        return session, has_changed

    async def wait_for_news(self, session: OracleSession, seconds: float) -> None:
        """Return when `session` changes, or after `seconds`, or on release. A
        change that is due by the clock (scheduled start, hang-up) ends the wait too."""
        if self.released or seconds <= 0:
            return
        due = session.due_at()
        if due is not None:
            seconds = min(seconds, max(due - self.clock(), 0.0))
        signal = session.signal
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), seconds)
        self.get(session.session_id)  # applies a change that fell due meanwhile

    def release(self) -> None:
        """Shutdown: every held status request answers now, and none is held any more."""
        self.released = True
        for session in self._sessions.values():
            session.signal.set()

    @staticmethod
    def _change(session: OracleSession, call_state: str, at: int | None) -> None:
        session.call_state = call_state
        session.time = at
        session.changes += 1
        session.signal.set()
        session.signal = asyncio.Event()
