"""Huawei Cloud CEC emulator: API Fabric AK/SK tokens and the mobileAgent bidirectional-call
API (VENDORS.md §2 and §6, seed 001), over the in-memory call store of `huawei_store`.

Documented variants (`VARIANTS`) a real tenant shows: createCall V1.0.0 or V3.0.0, the token
endpoint on its own port, a gzipping gateway, times typed as strings, ITA bidirectional
calls, a trial tenant. Pages cited below are under support.huaweicloud.com: `api-ccfs-cec/`
(zh) and `intl/en-us/api-cec/` (en).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeGuard

from aiohttp import web
from aiohttp.typedefs import Handler

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl
from app.emulators.huawei_store import (
    CALLING,
    ENDED,
    TALKING,
    TO_BE_CALLED,
    HuaweiCallRecord,
    HuaweiCallStore,
)
from app.emulators.huawei_tenant import DEMO_SOFT_PHONE, CreateCallRequest, HuaweiTenant

__all__ = [
    "CALLING",
    "CREATE_CALL_PATH",
    "CREATE_CALL_V3_PATH",
    "DEMO_CALL_SERIAL_NO",
    "DEMO_SOFT_PHONE",
    "ENDED",
    "QUERY_CALL_STATE_PATH",
    "TALKING",
    "TOKEN_HOST_PREFIX",
    "TOKEN_PATH",
    "TO_BE_CALLED",
    "HuaweiCallRecord",
    "HuaweiCallStore",
    "HuaweiEmulator",
]

TOKEN_PATH = "/apigovernance/api/oauth/tokenByAkSk"
# Variant "token-port": where the token host is mounted in this emulator. The zh page
# cec_07_0002 serves tokenByAkSk at https://<domain>:28070/apigovernance/... (a port of its
# own on the load balancer), the API stays at https://<domain>/apiaccess/...
TOKEN_HOST_PREFIX = "/_token_host"
CREATE_CALL_PATH = "/apiaccess/CC-Management/v1/mobileAgent/createCall"  # cec_07_1303
CREATE_CALL_V3_PATH = "/apiaccess/CC-Management/v3/mobileAgent/createCall"  # cec_07_0053
QUERY_CALL_STATE_PATH = "/apiaccess/CC-Management/v1/mobileAgent/queryCallState"

DEFAULT_TOKEN_LIFETIME = 600
MAX_TOKEN_LIFETIME = 3600  # cec_07_0002: "The maximum value is 3600."

_JSON = "application/json;charset=UTF-8"
_TEXT = "text/plain;charset=UTF-8"
# Gateway error bodies [guess]: the pages give only these descriptions per status (seed 001).
_BAD_REQUEST = "Incorrect request. Check the request path and parameters."
_UNAUTHORIZED = (
    "Unauthorized operation. 1. Check whether you have purchased related services. "
    "2. Contact customer service to check the status of your account."
)
_NOT_FOUND = "The requested content is not found. Check the request path."
_SCOPE = "46fb027c8b4f1541e459cadea096495a"

_SERIAL_FORM = re.compile(r"[0-9]{1,50}")
_AGENT_WORK_NO_FORM = re.compile(r"[0-9]{1,5}")

DEMO_CALL_SERIAL_NO = "645735364434067472"

# Reason codes the simulator ends calls with: answered calls end by a hang-up (0, 1);
# the rest never reach "talking" (4, 5, and ITA failures: busy, no answer, rejected).
_ANSWERED_REASONS = (0, 1)
_UNANSWERED_REASONS = (4, 5)
_ITA_FAILURE_REASONS = (17, 18, 21, 34)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    app_key: str
    expires_at: float  # on the emulator's clock


class HuaweiEmulator(VendorEmulator):
    """Serves tokenByAkSk, createCall (V1 and V3) and queryCallState under `/huawei`.

    `calls` is the call store; `tokens` the access tokens issued so far; `clock` (wall-clock
    seconds) decides token expiry and call times, and tests may replace it; `tenant` holds
    the settings createCall's refusals depend on (`huawei_tenant`), which tests may change.
    """

    vendor = "huawei"
    VARIANTS: ClassVar[dict[str, str]] = {
        "default": (
            "createCall V1.0.0 and V3.0.0 published; V1 answers callSerialNo as a JSON "
            "number (zh cec_07_1303), V3 as a string (cec_07_0053); queryCallState times "
            "as numbers (seed 001 example); tokenByAkSk on the API's host"
        ),
        "v3": (
            "a tenant on createCall V3.0.0 only (softPhone mandatory, callSerialNo a string, "
            "cec_07_0053 / en cec_07_1304); the V1 path is not published (404)"
        ),
        "token-port": (
            "tokenByAkSk on its own port, apart from the API (zh cec_07_0002: "
            "https://<domain>:28070/apigovernance/...): served under /_token_host only"
        ),
        "gzip": "a gateway in front of CEC gzips every JSON reply (Content-Encoding: gzip)",
        "string-times": (
            "queryCallState startTime/endTime as strings of epoch ms, the type the field "
            "table gives (seed 001, 1.3.6/1.3.7)"
        ),
        "ita": (
            "the tenant's bidirectional calls go through ITA: callData, callerPresent and "
            "agentPresent are refused (cec_07_1303 notes) with ITA retCode 90100100"
        ),
        "trial": (
            "a trial tenant: agent-side numbers outside the whitelist get retCode 16, more "
            "than 10 calls a day retCode 21 (cec_07_1303 Table 3)"
        ),
    }

    def __init__(self, control: EmulatorControl, *, clock: Callable[[], float] = time.time):
        super().__init__(control)
        self.clock = clock
        self.calls = HuaweiCallStore(clock=self._now)
        self.tokens: dict[str, IssuedToken] = {}
        self.tenant = HuaweiTenant()  # what createCall's refusals depend on
        control.register_token_expirer(self.vendor, self.expire_tokens)

    def tenant_options(self, base_url: str) -> dict[str, str]:
        if self.variant == "token-port":
            return {"url": base_url, "token_url": base_url + TOKEN_HOST_PREFIX}
        if self.variant == "v3":
            return {"url": base_url, "api_version": "v3", "soft_phone": DEMO_SOFT_PHONE}
        return {"url": base_url}

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.control.middleware(self.vendor), self._gateway])
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(TOKEN_PATH, self._token_by_ak_sk)
        app.router.add_post(TOKEN_HOST_PREFIX + TOKEN_PATH, self._token_by_ak_sk)
        app.router.add_post(CREATE_CALL_PATH, self._create_call_v1)
        app.router.add_post(CREATE_CALL_V3_PATH, self._create_call_v3)
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

    # -- the gateway in front of the API ---------------------------------------------------

    @web.middleware
    async def _gateway(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = _text(404, _NOT_FOUND)
        if (
            self.variant == "gzip"
            and isinstance(response, web.Response)
            and response.content_type == "application/json"
        ):
            # VENDORS.md §6: gateways in front of CEC may gzip replies, asked or not.
            response.enable_compression(web.ContentCoding.gzip)
        return response

    # -- HTTP ------------------------------------------------------------------------------

    async def _token_by_ak_sk(self, request: web.Request) -> web.Response:
        on_token_host = request.path.endswith(TOKEN_HOST_PREFIX + TOKEN_PATH)
        if on_token_host != (self.variant == "token-port"):
            # zh cec_07_0002: the token module has its own port; the API host lacks it.
            return _text(404, _NOT_FOUND)
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
        # cec_07_0002 "Response Parameters": every value a string, Expires too.
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

    async def _create_call_v1(self, request: web.Request) -> web.Response:
        if self.variant == "v3":
            return _text(404, _NOT_FOUND)  # this tenant's gateway publishes V3 only
        return await self._create_call(request, version=1)

    async def _create_call_v3(self, request: web.Request) -> web.Response:
        return await self._create_call(request, version=3)

    async def _create_call(self, request: web.Request, *, version: int) -> web.Response:
        if not self._authorized(request):
            return _text(401, _UNAUTHORIZED)
        body = await _json_object(request)
        if body is None:
            return _text(400, _BAD_REQUEST)
        call_data, call_back_url = body.get("callData"), body.get("callBackUrl")
        try:
            # V3 has no agentWorkNo (cec_07_0053 Table 2): ignored there, like any extra key.
            agent_work_no = _agent_work_no(body.get("agentWorkNo")) if version == 1 else None
        except ValueError:
            return _text(400, _BAD_REQUEST)
        if not (_optional(call_data, str) and _optional(call_back_url, str)):
            return _text(400, _BAD_REQUEST)
        create = CreateCallRequest(
            version,
            body.get("caller"),
            body.get("called"),
            soft_phone=body.get("softPhone") if version == 3 else None,
            call_data=call_data,
            caller_present=body.get("callerPresent"),
            # V3 has no agentPresent (cec_07_0053 Table 2): ignored there.
            agent_present=body.get("agentPresent") if version == 1 else None,
        )
        refusal = self.tenant.refusal(
            create,
            self.calls,
            day=self._today(),
            trial=self.variant == "trial",
            ita=self.variant == "ita",
        )
        if refusal is not None:
            return _business(*refusal)
        call = self.calls.add_call(
            create.first_rung,
            str(create.called),
            call_data=call_data,
            caller_present=_text_or_none(create.caller_present),
            agent_present=_text_or_none(create.agent_present),
            agent_work_no=agent_work_no,
            soft_phone=_text_or_none(create.soft_phone),
            call_back_url=call_back_url,
        )
        self.tenant.count_created(self._today())
        # Quirk: V1 types result.callSerialNo as a number (zh cec_07_1303 Table 3), V3 as a
        # string (cec_07_0053). The number has more digits than a double holds.
        serial: int | str = int(call.call_serial_no) if version == 1 else call.call_serial_no
        return _json(
            {
                "retMsg": "Create call successfully",
                "retCode": "0",
                "result": {"callSerialNo": serial},
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
        result = call.as_result(times_as_strings=self.variant == "string-times")
        return _json({"retMsg": "Query call state successfully", "retCode": "0", "result": result})

    def _authorized(self, request: web.Request) -> bool:
        # Exactly "Bearer <AccessToken>": the vendor requires the space after Bearer.
        scheme, space, token = request.headers.get("Authorization", "").partition(" ")
        issued = self.tokens.get(token) if scheme == "Bearer" and space else None
        if issued is None or self.clock() >= issued.expires_at:
            return False
        # [guess] X-APP-Key is optional, but when sent it must name the token's app.
        app_key = request.headers.get("X-APP-Key")
        return app_key is None or app_key == issued.app_key

    def _today(self) -> int:
        return int(self.clock() // 86_400)


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


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


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
