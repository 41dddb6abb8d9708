"""Emulator of the Verba Recording System HTTP business API (VENDORS.md §3, seed 002): token
login and GetCallID recording lookups at `/verba/api`, answered as XML, HTML or TEXT."""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import html
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from aiohttp import hdrs, web

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl

# Demo recordings: the seed's example, and the recordings of the Genesys and VoipNow demo
# calls, so that the gateway can link those calls to their recordings.
DEMO_CALL_ID = "a8343631-9f35-4a3a-83f0-9e81592339fb"
DEMO_EXTENSION = "8856"
DEMO_PLATFORM_CALL_ID = "71627389"
DEMO_NATIVE_ID = "TRS26140192"
GENESYS_DEMO_RECORDING_ID = "3c1f7e52-0b6d-4c4e-9f2a-5d8e61a7b0c4"
GENESYS_DEMO_EXTENSION = "15001"
VOIPNOW_DEMO_RECORDING_ID = "b8d2f7a1-6e3c-4a95-8c0d-1f2e3a4b5c6d"
VOIPNOW_DEMO_EXTENSION = "0003*210"

TOKEN_LIFETIME = 3600.0  # [doc] a token is valid for one hour
NEXT_WINDOW = 60.0  # [doc] "next" is the next call within the upcoming minute
MAX_FINISHED = 1000  # finished recordings kept for "last", so a long simulation stays bounded

NOT_FOUND = "Unable to retrieve the call identifier, because the call cannot be found."
MORE_THAN_ONE = "Unable to retrieve the call identifier, because more than one record was found."

SEARCH_PARAMETERS = ("extension", "status", "platformCallID", "nativeID", "type")
_EXTENSION = re.compile(r"[0-9A-Za-z*#+@._-]{1,64}")


class RecordingStatus(enum.StrEnum):
    """A recording's status as GetCallID's `status` parameter names it."""

    NEXT = "next"  # scheduled, starting at `scheduled_at`
    ONGOING = "ongoing"
    LAST = "last"  # finished at `ended_at`


@dataclass
class Recording:
    call_id: str  # Verba's CallID (uuid)
    caller: str
    called: str
    status: RecordingStatus
    platform_call_id: str | None = None
    native_id: str | None = None
    scheduled_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None

    def has_party(self, extension: str) -> bool:
        return extension in (self.caller, self.called)


class AmbiguousRecording(LookupError):
    """More than one record matches a GetCallID search."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One API answer before rendering: code 0 with result elements, or code 2 with a message."""

    action: str
    elements: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    http_status: int = 200

    @property
    def code(self) -> int:
        return 0 if self.error is None else 2


class VerbaEmulator(VendorEmulator):
    """Verba's HTTP API over an in-memory store of recordings.

    Store API: `add_recording`, `set_status`, `end_recording`, `get_recording`,
    `find_recording` (GetCallID's search). `clock` (epoch seconds) drives token expiry and
    the "next" window; `token_lifetime`, `tokens`, `action_counts` and `lookups` let tests
    steer and observe the protocol.
    """

    vendor = "verba"

    def __init__(self, control: EmulatorControl, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(control)
        self.clock = clock
        self.token_lifetime = TOKEN_LIFETIME
        self.recordings: dict[str, Recording] = {}
        self.tokens: dict[str, float] = {}  # token -> expiry on `clock`
        self.action_counts: Counter[str] = Counter()
        self.lookups: list[dict[str, str]] = []  # GetCallID search parameters, in order
        control.register_token_expirer(self.vendor, self.expire_tokens)

    # -- store ------------------------------------------------------------------------------

    def add_recording(
        self,
        *,
        caller: str,
        called: str,
        status: RecordingStatus = RecordingStatus.ONGOING,
        call_id: str | None = None,
        platform_call_id: str | None = None,
        native_id: str | None = None,
        starts_in: float = 30.0,
    ) -> Recording:
        """Add a recording; a `next` one is scheduled `starts_in` seconds from now."""
        recording = Recording(
            call_id=call_id or str(uuid.uuid4()),
            caller=caller,
            called=called,
            status=status,
            platform_call_id=platform_call_id,
            native_id=native_id,
        )
        self.recordings[recording.call_id] = recording
        return self.set_status(recording.call_id, status, starts_in=starts_in)

    def set_status(
        self, call_id: str, status: RecordingStatus, *, starts_in: float = 30.0
    ) -> Recording:
        """Move a recording to `status`, stamping the matching time from `clock`."""
        recording = self.recordings[call_id]
        now = self.clock()
        recording.status = status
        if status is RecordingStatus.NEXT:
            recording.scheduled_at = now + starts_in
            recording.started_at = recording.ended_at = None
        elif status is RecordingStatus.ONGOING:
            recording.started_at = now
            recording.ended_at = None
        else:
            if recording.started_at is None:
                recording.started_at = now
            recording.ended_at = now
            self._forget_oldest_finished()
        return recording

    def end_recording(self, call_id: str) -> Recording:
        return self.set_status(call_id, RecordingStatus.LAST)

    def get_recording(self, call_id: str) -> Recording | None:
        return self.recordings.get(call_id)

    def find_recording(
        self,
        *,
        extension: str | None = None,
        statuses: Sequence[RecordingStatus] = (),
        platform_call_id: str | None = None,
        native_id: str | None = None,
    ) -> Recording | None:
        """GetCallID's search: statuses tried in order, None when nothing matches.

        Raises `AmbiguousRecording` when more than one record matches.
        """
        candidates = [
            r
            for r in self.recordings.values()
            if (extension is None or r.has_party(extension))
            and (platform_call_id is None or r.platform_call_id == platform_call_id)
            and (native_id is None or r.native_id == native_id)
        ]
        if not statuses:
            return _single(candidates)
        for status in statuses:
            found = self._find_by_status(candidates, status)
            if found is not None:
                return found
        return None

    def _find_by_status(
        self, candidates: list[Recording], status: RecordingStatus
    ) -> Recording | None:
        if status is RecordingStatus.ONGOING:
            return _single([r for r in candidates if r.status is status])
        if status is RecordingStatus.NEXT:
            horizon = self.clock() + NEXT_WINDOW
            return _first(
                [
                    (r.scheduled_at, r)
                    for r in candidates
                    if r.status is status and r.scheduled_at is not None
                    if r.scheduled_at <= horizon
                ],
                latest=False,
            )
        return _first(
            [(r.ended_at, r) for r in candidates if r.status is status and r.ended_at is not None],
            latest=True,
        )

    def _forget_oldest_finished(self) -> None:
        finished = [r for r in self.recordings.values() if r.status is RecordingStatus.LAST]
        finished.sort(key=lambda r: r.ended_at or 0.0)
        for recording in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self.recordings[recording.call_id]

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- demo data and simulation -----------------------------------------------------------

    def seed_demo(self) -> None:
        self.add_recording(
            call_id=DEMO_CALL_ID,
            caller=DEMO_EXTENSION,
            called="8857",
            platform_call_id=DEMO_PLATFORM_CALL_ID,
            native_id=DEMO_NATIVE_ID,
        )
        self.add_recording(
            call_id=GENESYS_DEMO_RECORDING_ID, caller="15000", called=GENESYS_DEMO_EXTENSION
        )
        self.add_recording(
            call_id=VOIPNOW_DEMO_RECORDING_ID, caller="0003*024", called=VOIPNOW_DEMO_EXTENSION
        )

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        """A recording scheduled as "next", then "ongoing", then finished ("last")."""
        starts_in = pace * rng.uniform(1.0, 3.0)
        recording = self.add_recording(
            call_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            caller=str(rng.randint(2000, 8999)),
            called=f"+1555{rng.randint(0, 9_999_999):07d}",
            status=RecordingStatus.NEXT,
            platform_call_id=str(rng.randint(10_000_000, 99_999_999)),
            native_id=f"TRS{rng.randint(0, 99_999_999):08d}",
            starts_in=starts_in,
        )
        await asyncio.sleep(starts_in)
        self.set_status(recording.call_id, RecordingStatus.ONGOING)
        await asyncio.sleep(pace * rng.uniform(2.0, 6.0))
        self.end_recording(recording.call_id)

    # -- HTTP -------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/verba/api", self._api, allow_head=False)
        app.router.add_post("/verba/api", self._api)

    async def _api(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            for name, value in (await request.post()).items():
                if isinstance(value, str):
                    params.setdefault(name, value)
        action = params.get("action", "")
        self.action_counts[action] += 1
        if action == "RequestToken":
            reply = self._request_token(request, params)
        else:
            reply = self._authenticate(action, params) or self._dispatch(action, params)
        return _render(reply, params.get("responseType", "XML"))

    def _request_token(self, request: web.Request, params: Mapping[str, str]) -> Reply:
        expected = DEMO_CREDENTIALS["verba"]
        login = _basic_login(request.headers.get(hdrs.AUTHORIZATION, ""))
        if params.get("apiKey") != expected["api_key"] or login != (
            expected["username"],
            expected["password"],
        ):
            return Reply("RequestToken", error="Authentication failed.", http_status=401)
        now = self.clock()
        self.tokens = {t: expiry for t, expiry in self.tokens.items() if expiry > now}
        token = str(uuid.uuid4())
        self.tokens[token] = now + self.token_lifetime
        return Reply("RequestToken", elements=(("Token", token),))

    def _authenticate(self, action: str, params: Mapping[str, str]) -> Reply | None:
        # The docs do not say how a bad key or token is answered: we chose HTTP 401 with
        # the usual code 2 error body, typed with the action that was refused.
        if params.get("apiKey") != DEMO_CREDENTIALS["verba"]["api_key"]:
            return Reply(action, error="Invalid API key.", http_status=401)
        expiry = self.tokens.get(params.get("token", ""))
        if expiry is None or self.clock() >= expiry:
            return Reply(action, error="Invalid or expired token.", http_status=401)
        return None

    def _dispatch(self, action: str, params: Mapping[str, str]) -> Reply:
        if action == "GetCallID":
            self.lookups.append({n: params[n] for n in SEARCH_PARAMETERS if n in params})
            return self._get_call_id(params)
        return Reply(action, error="Unknown action.")

    def _get_call_id(self, params: Mapping[str, str]) -> Reply:
        action = "GetCallID"
        try:
            # [doc] comma-separated, as in "ongoing, next": tolerate the blanks.
            statuses = [RecordingStatus(s.strip()) for s in params.get("status", "").split(",")]
        except ValueError:
            if params.get("status", "").strip():
                return Reply(action, error="Invalid value for parameter status.")
            statuses = []
        kind = params.get("type")
        if kind is not None and kind != "manualRecord":
            return Reply(action, error="Invalid value for parameter type.")
        if kind == "manualRecord" and not statuses:
            statuses = [RecordingStatus.ONGOING]  # [doc] the flag searches ongoing calls
        extension = params.get("extension")
        if extension is None and "platformCallID" not in params and "nativeID" not in params:
            return Reply(action, error="Missing parameter: extension, platformCallID or nativeID.")
        if extension is not None and _EXTENSION.fullmatch(extension) is None:
            return Reply(action, error="Invalid value for parameter extension.")
        try:
            recording = self.find_recording(
                extension=extension,
                statuses=statuses,
                platform_call_id=params.get("platformCallID"),
                native_id=params.get("nativeID"),
            )
        except AmbiguousRecording:
            return Reply(action, error=MORE_THAN_ONE)
        if recording is None:
            return Reply(action, error=NOT_FOUND)
        return Reply(action, elements=(("CallID", recording.call_id),))


def _basic_login(header: str) -> tuple[str, str] | None:
    """User name and password from an HTTP Basic `Authorization` header."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


def _single(matches: list[Recording]) -> Recording | None:
    if len(matches) > 1:
        raise AmbiguousRecording(MORE_THAN_ONE)
    return matches[0] if matches else None


def _first(timed: list[tuple[float, Recording]], *, latest: bool) -> Recording | None:
    """The soonest (or latest) record; a tie is more than one record."""
    if not timed:
        return None
    best = (max if latest else min)(at for at, _ in timed)
    return _single([r for at, r in timed if at == best])


def _render(reply: Reply, response_type: str) -> web.Response:
    """The reply as `responseType` asks; anything but HTML or TEXT gets the XML default."""
    kind = response_type.upper()
    if kind == "TEXT":
        lines = [f"{name}: {value}" for name, value in reply.elements]
        if reply.error is not None:
            lines = [f"Error (code {reply.code}): {reply.error}"]
        return web.Response(
            status=reply.http_status, text="\n".join(lines) + "\n", content_type="text/plain"
        )
    if kind == "HTML":
        items = [
            f"<p>{html.escape(name)}: {html.escape(value)}</p>" for name, value in reply.elements
        ]
        if reply.error is not None:
            items = [f'<p class="error">Error (code {reply.code}): {html.escape(reply.error)}</p>']
        title = html.escape(reply.action)
        page = (
            f"<!DOCTYPE html>\n<html><head><title>Verba API: {title}</title></head><body>\n"
            f"<h1>{title}</h1>\n" + "\n".join(items) + "\n</body></html>\n"
        )
        return web.Response(status=reply.http_status, text=page, content_type="text/html")
    # The seed's layout: one element per line, no indentation.
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<VerbaApi>"]
    response = f"<Response code={quoteattr(str(reply.code))} type={quoteattr(reply.action)}"
    if reply.error is None:
        lines.append(response + "/>")
        lines.extend(f"<{name}>{escape(value)}</{name}>" for name, value in reply.elements)
    else:
        lines.extend(
            [response + ">", f"<ErrorMessage>{escape(reply.error)}</ErrorMessage>", "</Response>"]
        )
    lines.append("</VerbaApi>")
    return web.Response(status=reply.http_status, text="\n".join(lines), content_type="text/xml")
