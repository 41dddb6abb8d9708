"""Emulator of the Verba Recording System HTTP business API (VENDORS.md §3 and §6, seed
002): RequestToken, GetCallID and GetCallURL at `/verba/api`, answered as XML (the
default), HTML or TEXT, in each documented variant.

Sources (Verba's own pages; "[guess]" marks what no page shows):
- API authentication: verbalabs.atlassian.net/wiki/spaces/docs/pages/6816935 and
  kanasoftware.jira.com/wiki/pages/diffpagesbyversion.action?pageId=4387800473 (Basic
  header or `userName`/`password`; System Administrator and System Supervisor roles;
  token lifetime 1 hour; API keys with or without "Requires Authentication").
- Get Call ID: seed 002, kanasoftware.jira.com/wiki/spaces/docs/pages/4387800506.
- Get Call URL: kanasoftware.jira.com/wiki/spaces/v93/pages/4388496599/Get+Call+URL.
- Call detail URL (what GetCallURL points at): verbalabs.atlassian.net/wiki/spaces/docs/
  pages/6817040/Call+detail+URL.
- ReleaseToken (v2), SOAP API: verbalabs.atlassian.net/wiki/spaces/docs/pages/6818823
  ("This token is expired or never got authenticated.").
- Get Markers: kanasoftware.jira.com/wiki/pages/diffpages.action?pageId=4387800553
  (result elements inside <Response>, an ErrorMessage with a `description` attribute).
- Not Verba's own, marked where used: a public VFC (Verint Financial Compliance) client's
  RequestToken sample (GitHub, a "vfc-recording-retriever" SKILL.md: the token as an
  attribute of <Response>, a JSESSIONID session), and a third-party Python client (GitHub
  "verba_client": <VerbaData>, negative error codes, results as attributes).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import hdrs, web

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl
from app.emulators.verba_store import (
    AmbiguousRecording,
    Recording,
    RecordingStatus,
    RecordingStore,
    parse_statuses,
)
from app.emulators.verba_wire import (
    BAD_API_KEY,
    BAD_LOGIN,
    MISSING_ROLES,
    MORE_THAN_ONE,
    NOT_FOUND,
    TOKEN_EXPIRED,
    URL_MORE_THAN_ONE,
    URL_NOT_FOUND,
    Reply,
    render,
)

__all__ = [
    "DEMO_CALL_ID",
    "GENESYS_DEMO_RECORDING_ID",
    "VOIPNOW_DEMO_RECORDING_ID",
    "Recording",
    "RecordingStatus",
    "VerbaEmulator",
]

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

TOKEN_LIFETIME = 3600.0  # [doc] "The security tokens' lifetime is 1 hour."
# [doc] "The provided user has to have System Administrator and System Supervisor roles."
REQUIRED_ROLES = frozenset({"System Administrator", "System Supervisor"})

SEARCH_PARAMETERS = ("extension", "status", "platformCallID", "nativeID", "type")
_EXTENSION = re.compile(r"[0-9A-Za-z*#+@._-]{1,64}")
_CALL_ID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, slots=True)
class ApiUser:
    password: str
    roles: frozenset[str] = REQUIRED_ROLES


class VerbaEmulator(VendorEmulator, RecordingStore):
    """Verba's HTTP API over an in-memory store of recordings (`RecordingStore`).

    `clock` (epoch seconds) drives token expiry and the "next" window; `token_lifetime`,
    `tokens`, `users` (`add_user`), `action_counts` and `lookups` let tests steer and
    observe the protocol.
    """

    vendor = "verba"
    VARIANTS: ClassVar[Mapping[str, str]] = {
        # The HTTP API pages show every error in band (code 2, HTTP 200); the only wording
        # Verba documents for a dead token is the SOAP ReleaseToken page's.
        "in-band": "every error, an expired or unknown token too, answered HTTP 200 with "
        'code="2" and an ErrorMessage (Get Call ID page; ReleaseToken (v2) wording)',
        "http-401": "a refused token, API key or login answered HTTP 401 (a user lacking "
        "the roles 403) with the same code-2 body [guess: no page shows it]",
        "nested-results": "result elements inside <Response>, and ErrorMessage with a "
        "description attribute, as the Get Markers page shows them",
        "api-key-only": "an API key without 'Requires Authentication': requests need no "
        "token (API authentication page, 'Simple, API key only based authentication')",
        "numbered-codes": "<VerbaData> documents with negative codes (-43 TOKEN_EXPIRED, "
        "-50 CALL_NOT_FOUND, -40 INVALID_CREDENTIALS, -41 INVALID_API_KEY, -30 "
        "INVALID_ACTION, -20 INVALID_PARAMETERS) and results as <Response> attributes "
        "(token, callID, url), as a third-party client reads them [third-party: GitHub "
        "verba_client, 'Error code reference (from API docs)']",
        "vfc": "Verint Financial Compliance builds: RequestToken's token as a `token` "
        "attribute of <Response>, beside SessionId, SessionParameterName, SessionCookieName "
        "and Remote elements, and a JSESSIONID cookie (a public VFC client's sample)",
    }

    def __init__(self, control: EmulatorControl, *, clock: Callable[[], float] = time.time) -> None:
        VendorEmulator.__init__(self, control)
        RecordingStore.__init__(self, clock=clock)
        self.token_lifetime = TOKEN_LIFETIME
        demo = DEMO_CREDENTIALS["verba"]
        self.api_key = demo["api_key"]
        self.users: dict[str, ApiUser] = {demo["username"]: ApiUser(demo["password"])}
        self.tokens: dict[str, float] = {}  # token -> expiry on `clock`
        self.action_counts: Counter[str] = Counter()
        self.lookups: list[dict[str, str]] = []  # GetCallID search parameters, in order
        control.register_token_expirer(self.vendor, self.expire_tokens)

    def add_user(self, name: str, password: str, roles: frozenset[str] = REQUIRED_ROLES) -> None:
        self.users[name] = ApiUser(password, roles)

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
        # [doc] "The function is available as a HTTP GET or HTTP POST request."
        app.router.add_get("/verba/api", self._api, allow_head=False)
        app.router.add_post("/verba/api", self._api)
        app.router.add_get("/verba/gwtCallDetail.do", self._call_detail, allow_head=False)

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
            reply = self._authenticate(action, params) or self._dispatch(request, action, params)
        # [doc] "If the parameter is missing, it defaults to XML."
        return render(reply, params.get("responseType", "XML"), self.variant)

    def _refusal(self, action: str, message: str, http_status: int = 401) -> Reply:
        """An authentication refusal: in band, except in the "http-401" variant."""
        status = http_status if self.variant == "http-401" else 200
        return Reply(action, error=message, http_status=status)

    def _request_token(self, request: web.Request, params: Mapping[str, str]) -> Reply:
        if params.get("apiKey") != self.api_key:
            return self._refusal("RequestToken", BAD_API_KEY)
        # [doc] the login in a Basic Authorization header, or as `userName` and `password`.
        login = _basic_login(request.headers.get(hdrs.AUTHORIZATION, ""))
        if login is None and "userName" in params:
            login = (params["userName"], params.get("password", ""))
        user = self.users.get(login[0]) if login is not None else None
        if login is None or user is None or user.password != login[1]:
            return self._refusal("RequestToken", BAD_LOGIN)
        if not REQUIRED_ROLES.issubset(user.roles):
            return self._refusal("RequestToken", MISSING_ROLES, http_status=403)
        now = self.clock()
        self.tokens = {t: expiry for t, expiry in self.tokens.items() if expiry > now}
        token = str(uuid.uuid4())
        self.tokens[token] = now + self.token_lifetime
        if self.variant == "vfc":
            # The sample a public VFC client (GitHub, a "vfc-recording-retriever" SKILL.md)
            # reads its token from: <Response code="0" type="RequestToken" token="…"/>.
            session = uuid.uuid4().hex.upper()
            return Reply(
                "RequestToken",
                attributes=(("token", token),),
                elements=(
                    ("SessionId", session),
                    ("SessionParameterName", "jsessionid"),
                    ("SessionCookieName", "JSESSIONID"),
                    ("Remote", "false"),
                ),
                cookies=(("JSESSIONID", session),),
            )
        return Reply("RequestToken", elements=(("Token", token),))

    def _authenticate(self, action: str, params: Mapping[str, str]) -> Reply | None:
        if params.get("apiKey") != self.api_key:
            return self._refusal(action, BAD_API_KEY)
        if self.variant == "api-key-only":
            return None  # [doc] "only the API key has to be provided in each API request"
        expiry = self.tokens.get(params.get("token", ""))
        if expiry is None or self.clock() >= expiry:
            return self._refusal(action, TOKEN_EXPIRED)
        return None

    def _dispatch(self, request: web.Request, action: str, params: Mapping[str, str]) -> Reply:
        if action == "GetCallID":
            self.lookups.append({n: params[n] for n in SEARCH_PARAMETERS if n in params})
            return self._get_call_id(params)
        if action == "GetCallURL":
            return self._get_call_url(request, params)
        return Reply(action, error="Unknown action.")  # [guess]

    def _get_call_id(self, params: Mapping[str, str]) -> Reply:
        action = "GetCallID"
        statuses = parse_statuses(params.get("status", ""))
        if statuses is None:
            return Reply(action, error="Invalid value for parameter status.")  # [guess]
        kind = params.get("type")
        if kind is not None and kind != "manualRecord":
            return Reply(action, error="Invalid value for parameter type.")  # [guess]
        if kind == "manualRecord" and not statuses:
            # [doc] an earlier revision: "Flag to search ongoing calls".
            statuses = (RecordingStatus.ONGOING,)
        extension = params.get("extension")
        if extension is None and "platformCallID" not in params and "nativeID" not in params:
            return Reply(action, error="Missing parameter: extension, platformCallID or nativeID.")
        if extension is not None and _EXTENSION.fullmatch(extension) is None:
            return Reply(action, error="Invalid value for parameter extension.")  # [guess]
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

    def _get_call_url(self, request: web.Request, params: Mapping[str, str]) -> Reply:
        action = "GetCallURL"
        call_id, extension = params.get("callID"), params.get("extension")
        recording: Recording | None
        if call_id is not None:
            # [doc] "callID ... Defines the internal ID of the call."
            if _CALL_ID.fullmatch(call_id) is None:
                return Reply(action, error="Invalid value for parameter callID.")  # [guess]
            recording = self.get_recording(call_id.lower())
        elif extension is not None:
            # [doc] status is "Mandatory if the number parameter is specified".
            statuses = parse_statuses(params.get("status", ""))
            if not statuses:
                return Reply(action, error="Invalid value for parameter status.")  # [guess]
            if _EXTENSION.fullmatch(extension) is None:
                return Reply(action, error="Invalid value for parameter extension.")
            try:
                recording = self.find_recording(extension=extension, statuses=statuses)
            except AmbiguousRecording:
                return Reply(action, error=URL_MORE_THAN_ONE)
        else:
            # [doc] "Either the callID or either the number parameter is mandatory".
            return Reply(action, error="Missing parameter: callID or extension.")
        if recording is None:
            return Reply(action, error=URL_NOT_FOUND)
        # [doc] "the full HTTP URL pointing to the given call": the web application's call
        # detail page (Call detail URL page). [guess] the element's name, CallURL.
        return Reply(action, elements=(("CallURL", _call_detail_url(request, recording)),))

    async def _call_detail(self, request: web.Request) -> web.Response:
        """The web application's call detail page, so that a GetCallURL link opens."""
        recording = self.get_recording(request.query.get("ccdrId", "").lower())
        if recording is None:
            raise web.HTTPNotFound(text="No such call.")
        title = html.escape(f"Call {recording.call_id}")
        parties = html.escape(f"{recording.caller} -> {recording.called}: {recording.status}")
        page = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n"
        page += f"<h1>{title}</h1>\n<p>{parties}</p>\n</body></html>\n"
        return web.Response(text=page, content_type="text/html")


def _call_detail_url(request: web.Request, recording: Recording) -> str:
    """`http://<host>/verba/gwtCallDetail.do?ccdrId=<CallID>` (Call detail URL page), under
    wherever this API is served (the emulator mounts each vendor under a prefix)."""
    api = request.url.with_query(None)
    detail = api.with_path(api.path.removesuffix("/api") + "/gwtCallDetail.do")
    return str(detail.with_query({"ccdrId": recording.call_id}))


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
