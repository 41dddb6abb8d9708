"""Huawei Cloud CEC emulator: API Fabric AK/SK tokens and the mobileAgent bidirectional-call
API (VENDORS.md §2, seed 001), over an in-memory call store that tests and the simulator drive.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from aiohttp import web

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl

TOKEN_PATH = "/apigovernance/api/oauth/tokenByAkSk"
CREATE_CALL_PATH = "/apiaccess/CC-Management/v1/mobileAgent/createCall"
QUERY_CALL_STATE_PATH = "/apiaccess/CC-Management/v1/mobileAgent/queryCallState"

# queryCallState `state` values.
TO_BE_CALLED, CALLING, TALKING, ENDED = 0, 1, 2, 3

DEFAULT_TOKEN_LIFETIME = 600
MAX_TOKEN_LIFETIME = 3600
MAX_CALL_DATA = 1024

_JSON = "application/json;charset=UTF-8"
_TEXT = "text/plain;charset=UTF-8"
# Gateway error bodies [guess]: the vendor documents only these descriptions per status.
_BAD_REQUEST = "Incorrect request. Check the request path and parameters."
_UNAUTHORIZED = (
    "Unauthorized operation. 1. Check whether you have purchased related services. "
    "2. Contact customer service to check the status of your account."
)
_SCOPE = "46fb027c8b4f1541e459cadea096495a"

_SERIAL_FORM = re.compile(r"[0-9]{1,50}")
_NUMBER_FORM = re.compile(r"[0-9]{1,32}")
_AGENT_WORK_NO_FORM = re.compile(r"[0-9]{1,5}")

DEMO_CALL_SERIAL_NO = "645735364434067472"

# Reason codes the simulator ends calls with: answered calls end by a hang-up (0, 1);
# the rest never reach "talking" (4, 5, and ITA failures: busy, no answer, rejected).
_ANSWERED_REASONS = (0, 1)
_UNANSWERED_REASONS = (4, 5)
_ITA_FAILURE_REASONS = (17, 18, 21, 34)


@dataclass
class HuaweiCallRecord:
    """One bidirectional call as the emulator keeps it."""

    call_serial_no: str
    caller: str
    called: str
    state: int = TO_BE_CALLED
    reason_code: int | None = None
    call_data: str | None = None
    caller_present: str | None = None
    agent_present: str | None = None
    agent_work_no: str | None = None
    call_back_url: str | None = None
    start_time: int | None = None  # epoch milliseconds
    end_time: int | None = None  # epoch milliseconds

    def as_result(self) -> dict[str, Any]:
        """The queryCallState `result`: the seed example's key order, times as numbers,
        absent fields left out."""
        result = {
            "caller": self.caller,
            "called": self.called,
            "callerPresent": self.caller_present,
            "startTime": self.start_time,
            "state": self.state,
            "reasonCode": self.reason_code,
            "agentPresent": self.agent_present,
            "endTime": self.end_time,
            "callData": self.call_data,
        }
        return {key: value for key, value in result.items() if value is not None}


class HuaweiCallStore:
    """The emulator's calls by callSerialNo. Every change of a call goes through here."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._calls: dict[str, HuaweiCallRecord] = {}
        self._clock = clock
        self._serials = itertools.count(645735364434100000)

    def __iter__(self) -> Iterator[HuaweiCallRecord]:
        return iter(list(self._calls.values()))

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_serial_no: str) -> HuaweiCallRecord | None:
        return self._calls.get(call_serial_no)

    def add_call(
        self,
        caller: str,
        called: str,
        *,
        call_serial_no: str | None = None,
        state: int = TO_BE_CALLED,
        reason_code: int | None = None,
        call_data: str | None = None,
        caller_present: str | None = None,
        agent_present: str | None = None,
        agent_work_no: str | None = None,
        call_back_url: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> HuaweiCallRecord:
        """Add a call (a fresh numeric callSerialNo unless given) exactly as described."""
        if call_serial_no is None:
            call_serial_no = self._next_serial()
        elif call_serial_no in self._calls:
            raise ValueError(f"call {call_serial_no} already exists")
        call = HuaweiCallRecord(
            call_serial_no,
            caller,
            called,
            state=state,
            reason_code=reason_code,
            call_data=call_data,
            caller_present=caller_present,
            agent_present=agent_present,
            agent_work_no=agent_work_no,
            call_back_url=call_back_url,
            start_time=start_time,
            end_time=end_time,
        )
        self._calls[call_serial_no] = call
        return call

    def set_state(
        self, call_serial_no: str, state: int, *, reason_code: int | None = None
    ) -> HuaweiCallRecord:
        """Put a call into any raw `state` (unknown values too, for tests). Leaving "to be
        called" stamps startTime and reaching "ended" stamps endTime, once each. A given
        `reason_code` replaces the call's. Raises KeyError for an unknown call."""
        call = self._calls[call_serial_no]
        call.state = state
        if state != TO_BE_CALLED and call.start_time is None:
            call.start_time = self._now_ms()
        if state == ENDED and call.end_time is None:
            call.end_time = self._now_ms()
        if reason_code is not None:
            call.reason_code = reason_code
        return call

    def set_reason_code(self, call_serial_no: str, reason_code: int | None) -> HuaweiCallRecord:
        call = self._calls[call_serial_no]
        call.reason_code = reason_code
        return call

    def end_call(self, call_serial_no: str, reason_code: int = 0) -> HuaweiCallRecord:
        """End a call (0: the callee hung up); an ended call keeps its first end."""
        call = self._calls[call_serial_no]
        if call.state == ENDED:
            return call
        return self.set_state(call_serial_no, ENDED, reason_code=reason_code)

    def _next_serial(self) -> str:
        serial = str(next(self._serials))
        while serial in self._calls:
            serial = str(next(self._serials))
        return serial

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    app_key: str
    expires_at: float  # on the emulator's clock


class HuaweiEmulator(VendorEmulator):
    """Serves tokenByAkSk, createCall and queryCallState under `/huawei`.

    `calls` is the call store; `tokens` the access tokens issued so far; `clock` (wall-clock
    seconds) decides token expiry and call times, and tests may replace it.
    """

    vendor = "huawei"

    def __init__(self, control: EmulatorControl, *, clock: Callable[[], float] = time.time):
        super().__init__(control)
        self.clock = clock
        self.calls = HuaweiCallStore(clock=self._now)
        self.tokens: dict[str, IssuedToken] = {}
        control.register_token_expirer(self.vendor, self.expire_tokens)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(TOKEN_PATH, self._token_by_ak_sk)
        app.router.add_post(CREATE_CALL_PATH, self._create_call)
        app.router.add_post(QUERY_CALL_STATE_PATH, self._query_call_state)

    def _now(self) -> float:
        return self.clock()  # looked up on each use, so that tests may swap `clock`

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def seed_demo(self) -> None:
        # Exactly the seed's queryCallState example.
        self.calls.add_call(
            "88889050",
            "88889060",
            call_serial_no=DEMO_CALL_SERIAL_NO,
            state=ENDED,
            reason_code=0,
            caller_present="640003",
            agent_present="640060",
            start_time=1621823865000,
            end_time=1621823872000,
        )

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        call = self.calls.add_call(
            f"8888{rng.randrange(10_000):04d}",
            f"{rng.choice('3456789')}{rng.randrange(10_000_000):07d}",
            caller_present=f"6400{rng.randrange(100):02d}",
            agent_present=f"6400{rng.randrange(100):02d}",
            call_data=rng.choice([None, f"order-{rng.randrange(100_000)}"]),
        )
        await self.run_lifecycle(call.call_serial_no, rng, pace)

    async def run_lifecycle(self, call_serial_no: str, rng: random.Random, pace: float) -> None:
        """Walk a call from "to be called" to "ended" (also for calls made by createCall).
        Stops early if something else ends the call meanwhile."""
        roll = rng.random()
        if roll < 0.85:
            reason = rng.choice(_ANSWERED_REASONS)
        elif roll < 0.97:
            reason = rng.choice(_UNANSWERED_REASONS)
        else:
            reason = rng.choice(_ITA_FAILURE_REASONS)
        steps = [(CALLING, rng.uniform(0.5, 2.0))]
        if reason in _ANSWERED_REASONS:
            steps.append((TALKING, rng.uniform(2.0, 6.0)))
        for state, wait in steps:
            await asyncio.sleep(pace * wait)
            call = self.calls.get(call_serial_no)
            if call is None or call.state == ENDED:
                return
            self.calls.set_state(call_serial_no, state)
        await asyncio.sleep(pace * rng.uniform(2.0, 8.0))
        self.calls.end_call(call_serial_no, reason)

    # -- HTTP ------------------------------------------------------------------------------

    async def _token_by_ak_sk(self, request: web.Request) -> web.Response:
        try:
            lifetime = int(request.headers.get("X-Token-Expire", DEFAULT_TOKEN_LIFETIME))
        except ValueError:
            return _text(400, _BAD_REQUEST)
        if not 1 <= lifetime <= MAX_TOKEN_LIFETIME:
            return _text(400, _BAD_REQUEST)
        body = await _json_object(request)
        if body is None:
            return _text(400, _BAD_REQUEST)
        expected = DEMO_CREDENTIALS[self.vendor]
        if not (
            _same(body.get("app_key"), expected["app_key"])
            and _same(body.get("app_secret"), expected["app_secret"])
        ):
            return _text(401, _UNAUTHORIZED)
        now = self.clock()
        token = secrets.token_hex(32)
        self.tokens[token] = IssuedToken(expected["app_key"], now + lifetime)
        return _json(
            {
                "AccessToken": token,
                "ApplyType": "Bearer",
                "CreateTime": str(int(now)),
                "Expires": str(lifetime),
                "Scope": _SCOPE,
                "AppKey": expected["app_key"],
                "UserID": "Anonymous",
            }
        )

    async def _create_call(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _text(401, _UNAUTHORIZED)
        body = await _json_object(request)
        if body is None:
            return _text(400, _BAD_REQUEST)
        call_data, call_back_url = body.get("callData"), body.get("callBackUrl")
        try:
            agent_work_no = _agent_work_no(body.get("agentWorkNo"))
        except ValueError:
            return _text(400, _BAD_REQUEST)
        if not (_optional(call_data, str) and _optional(call_back_url, str)):
            return _text(400, _BAD_REQUEST)
        caller, called = body.get("caller"), body.get("called")
        caller_present, agent_present = body.get("callerPresent"), body.get("agentPresent")
        if not (
            _matches(caller, _NUMBER_FORM)
            and _matches(called, _NUMBER_FORM)
            and (caller_present is None or _matches(caller_present, _NUMBER_FORM))
            and (agent_present is None or _matches(agent_present, _NUMBER_FORM))
        ):
            return _business("5", "The caller, called or display number format is incorrect.")
        if call_data is not None and len(call_data) > MAX_CALL_DATA:
            return _business("2", f"The call data exceeds {MAX_CALL_DATA} characters.")
        call = self.calls.add_call(
            caller,
            called,
            call_data=call_data,
            caller_present=caller_present,
            agent_present=agent_present,
            agent_work_no=agent_work_no,
            call_back_url=call_back_url,
        )
        return _json(
            {
                "retMsg": "Create call successfully",
                "retCode": "0",
                "result": {"callSerialNo": call.call_serial_no},
            }
        )

    async def _query_call_state(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _text(401, _UNAUTHORIZED)
        body = await _json_object(request)
        if body is None:
            return _text(400, _BAD_REQUEST)
        call_serial_no = body.get("callSerialNo")
        if not _matches(call_serial_no, _SERIAL_FORM):
            return _business("3", "The format of the call SN is incorrect.")
        call = self.calls.get(call_serial_no)
        if call is None:
            return _business("1", "Failed to query the status.")
        return _json(
            {"retMsg": "Query call state successfully", "retCode": "0", "result": call.as_result()}
        )

    def _authorized(self, request: web.Request) -> bool:
        # Exactly "Bearer <AccessToken>": the vendor requires the space after Bearer.
        scheme, space, token = request.headers.get("Authorization", "").partition(" ")
        issued = self.tokens.get(token) if scheme == "Bearer" and space else None
        if issued is None or self.clock() >= issued.expires_at:
            return False
        # [guess] X-APP-Key is optional, but when sent it must name the token's app.
        app_key = request.headers.get("X-APP-Key")
        return app_key is None or app_key == issued.app_key


def _same(given: object, expected: str) -> bool:
    return isinstance(given, str) and secrets.compare_digest(given, expected)


def _matches(value: object, form: re.Pattern[str]) -> TypeGuard[str]:
    return isinstance(value, str) and form.fullmatch(value) is not None


def _agent_work_no(value: object) -> str | None:
    """agentWorkNo as text. Documented as Decimal(5); digit strings are accepted too."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or _matches(value, _AGENT_WORK_NO_FORM):
        return value
    raise ValueError("agentWorkNo is not a number of up to 5 digits")


def _optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when the body is not one (the caller answers 400)."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _json(payload: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(payload, separators=(",", ":")).encode(), headers={"Content-Type": _JSON}
    )


def _business(ret_code: str, ret_msg: str) -> web.Response:
    """A business error: HTTP 200 with a non-zero retCode."""
    return _json({"retMsg": ret_msg, "retCode": ret_code})


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, body=text.encode(), headers={"Content-Type": _TEXT})
