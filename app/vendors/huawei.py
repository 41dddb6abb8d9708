"""Huawei Cloud CEC adapter: API Fabric AK/SK tokens, mobileAgent queryCallState and
createCall (VENDORS.md §2), mapped to `HuaweiCall` snapshots."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, cast

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import CallId, CallState, HuaweiCall, Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    SwitchboardError,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.http import TokenCache, VendorHttp, VendorResponse, concurrently
from app.vendors.huawei_reasons import reason_text

logger = logging.getLogger("switchboard.vendors.huawei")

TOKEN_PATH = "/apigovernance/api/oauth/tokenByAkSk"
CREATE_CALL_PATH = "/apiaccess/CC-Management/v1/mobileAgent/createCall"
QUERY_CALL_STATE_PATH = "/apiaccess/CC-Management/v1/mobileAgent/queryCallState"

MAX_TOKEN_LIFETIME = 3600
_MAX_SHOWN_RET_MSG = 200

# queryCallState `state` -> normalised state; any other value is UNKNOWN.
HUAWEI_STATES: Mapping[int, CallState] = {
    0: CallState.DIALING,  # to be called
    1: CallState.RINGING,  # calling
    2: CallState.CONNECTED,  # talking
    3: CallState.ENDED,  # ended
}


# -- wire shapes ---------------------------------------------------------------------------


class TokenAnswer(TypedDict):
    """tokenByAkSk answer. Every value is a string, `Expires` too (seconds)."""

    AccessToken: str
    ApplyType: str
    CreateTime: str
    Expires: str
    Scope: str
    AppKey: str
    UserID: str


class CallStateResult(TypedDict, total=False):
    """queryCallState `result`. Times are epoch milliseconds."""

    state: int
    reasonCode: int
    callData: str
    caller: str
    called: str
    startTime: int | str
    endTime: int | str
    callerPresent: str
    agentPresent: str


class QueryCallStateAnswer(TypedDict):
    retCode: str
    retMsg: str
    result: NotRequired[CallStateResult]


class CreateCallBody(TypedDict):
    caller: str
    called: str
    agentWorkNo: NotRequired[int]
    callData: NotRequired[str]
    callerPresent: NotRequired[str]
    agentPresent: NotRequired[str]


class CreateCallResult(TypedDict):
    callSerialNo: str


class CreateCallAnswer(TypedDict):
    retCode: str
    retMsg: str
    result: NotRequired[CreateCallResult]


# -- wire -> domain ------------------------------------------------------------------------


def huawei_call_from_wire(call_serial_no: str, result: CallStateResult) -> HuaweiCall:
    """The snapshot of one queryCallState result (which does not repeat the serial number)."""
    raw_state: object = result.get("state")
    state_code = _as_int(raw_state)
    reason_code = _as_int(result.get("reasonCode"))
    if state_code is None:
        state = CallState.UNKNOWN
        vendor_state = None if raw_state is None else str(raw_state)
    else:
        state = HUAWEI_STATES.get(state_code, CallState.UNKNOWN)
        vendor_state = str(state_code)
    return HuaweiCall(
        call_id=CallId(Vendor.HUAWEI, call_serial_no),
        state=state,
        vendor_state=vendor_state,
        started_at=_epoch_ms(result.get("startTime")),
        ended_at=_epoch_ms(result.get("endTime")),
        call_serial_no=call_serial_no,
        reason_code=reason_code,
        reason=None if reason_code is None else reason_text(reason_code),
        call_data=_as_text(result.get("callData")),
        caller=_as_text(result.get("caller")),
        called=_as_text(result.get("called")),
        caller_present=_as_text(result.get("callerPresent")),
        agent_present=_as_text(result.get("agentPresent")),
    )


def _as_int(value: object) -> int | None:
    # Numbers are documented as Number, but tolerate them sent as digit strings [guess].
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (digits := value.strip()).isascii() and digits.isdigit():
        return int(digits)
    return None


def _as_text(value: object) -> str | None:
    # Quirk: documented as strings, but the createCall example sends numbers as numbers.
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        whole = _as_int(value)
        return str(value if whole is None else whole)
    return str(value)


def _epoch_ms(value: object) -> datetime | None:
    # Quirk: startTime/endTime are documented as strings, the seed's example sends numbers.
    millis = _as_int(value)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- adapter -------------------------------------------------------------------------------


class HuaweiAdapter(AdapterBase):
    """Huawei calls by callSerialNo. Huawei has no batch query: one request per call."""

    vendor = Vendor.HUAWEI

    def __init__(
        self,
        http: VendorHttp,
        *,
        app_key: str,
        app_secret: str,
        token_lifetime: int = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= token_lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError(f"token_lifetime must be 1 to {MAX_TOKEN_LIFETIME} seconds")
        self._http = http
        self._app_key = app_key
        self._app_secret = app_secret
        self._token_lifetime = token_lifetime
        self._tokens = TokenCache(self._fetch_token, clock=clock)

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        return await concurrently(self._fetch_one(native_id) for native_id in native_ids)

    async def start_call(self, request: StartCall) -> str:
        """Click-to-call: Huawei rings `request.from_` (the agent's phone) first, then
        `request.to`; `request.user_data` travels as callData (JSON text)."""
        if not request.from_:
            raise BadUserInput(
                "Huawei calls the agent first: give `from` (the caller's number).",
                vendor=self.vendor.value,
            )
        call_data = json.dumps(dict(request.user_data)) if request.user_data else None
        return await self.create_call(request.from_, request.to, call_data=call_data)

    async def create_call(
        self,
        caller: str,
        called: str,
        *,
        agent_work_no: str | None = None,
        call_data: str | None = None,
        caller_present: str | None = None,
        agent_present: str | None = None,
    ) -> str:
        """Start a bidirectional call (the caller's phone rings first); its callSerialNo.

        Never resent after a lost connection: that could ring both parties twice.
        """
        body: CreateCallBody = {"caller": caller, "called": called}
        if agent_work_no is not None:
            if not (
                agent_work_no.isascii() and agent_work_no.isdigit() and len(agent_work_no) <= 5
            ):
                raise BadUserInput(
                    "An agent work number has at most 5 digits.", vendor=self.vendor.value
                )
            body["agentWorkNo"] = int(agent_work_no)  # documented as Decimal(5)
        if call_data is not None:
            body["callData"] = call_data
        if caller_present is not None:
            body["callerPresent"] = caller_present
        if agent_present is not None:
            body["agentPresent"] = agent_present
        answer = cast(CreateCallAnswer, await self._post(CREATE_CALL_PATH, body, idempotent=False))
        ret_code, ret_msg = _ret_code(answer), _ret_msg(answer)
        if ret_code in ("2", "5"):  # call data too long; a number of the wrong form
            raise BadUserInput(
                f"huawei refused to create the call: {ret_msg} (retCode {ret_code}).",
                vendor=self.vendor.value,
            )
        if ret_code != "0":
            raise VendorUnavailable(
                f"huawei could not create the call: {ret_msg} (retCode {ret_code}).",
                vendor=self.vendor.value,
            )
        result: object = answer.get("result")
        serial = _as_text(result.get("callSerialNo")) if isinstance(result, dict) else None
        if not serial:
            raise VendorUnavailable(
                "huawei answered createCall without a callSerialNo.", vendor=self.vendor.value
            )
        return serial

    async def _fetch_one(self, call_serial_no: str) -> FetchResult:
        answer = cast(
            QueryCallStateAnswer,
            await self._post(
                QUERY_CALL_STATE_PATH, {"callSerialNo": call_serial_no}, idempotent=True
            ),
        )
        ret_code, ret_msg = _ret_code(answer), _ret_msg(answer)
        if ret_code == "0":
            result: object = answer.get("result")
            if not isinstance(result, dict):
                return VendorUnavailable(
                    f"huawei answered queryCallState for call {call_serial_no} without a result.",
                    vendor=self.vendor.value,
                )
            return huawei_call_from_wire(call_serial_no, cast(CallStateResult, result))
        return self._query_error(call_serial_no, ret_code, ret_msg)

    def _query_error(self, call_serial_no: str, ret_code: str, ret_msg: str) -> SwitchboardError:
        vendor = self.vendor.value
        if ret_code == "1":
            return CallNotFound(f"huawei has no call {call_serial_no}: {ret_msg}", vendor=vendor)
        if ret_code == "3":
            return BadUserInput(
                f"huawei refused the call serial number {call_serial_no!r}: {ret_msg}",
                vendor=vendor,
            )
        return VendorUnavailable(
            f"huawei could not query call {call_serial_no}: {ret_msg} (retCode {ret_code}).",
            vendor=vendor,
        )

    async def _post(
        self, path: str, body: Mapping[str, object], *, idempotent: bool
    ) -> dict[str, Any]:
        """POST with the access token; the JSON answer of an HTTP 200.

        On a 401 the token is dropped and the request sent once more with a new one: the
        vendor refused it before doing anything, so even createCall may be resent then.
        """
        for _ in range(2):
            token = await self._tokens.get()
            response = await self._http.request(
                "POST",
                path,
                json_body=body,
                headers={"Authorization": f"Bearer {token}", "X-APP-Key": self._app_key},
                idempotent=idempotent,
            )
            if response.status == 401:
                self._tokens.invalidate(token)
                continue
            answer = self._json_answer(response, path)
            if not isinstance(answer.get("retCode"), str | int):
                raise VendorUnavailable(
                    f"huawei answered {_operation(path)} without a retCode.",
                    vendor=self.vendor.value,
                )
            return answer
        raise VendorUnauthenticated(
            f"huawei refused a new access token for {_operation(path)} (HTTP 401).",
            vendor=self.vendor.value,
        )

    async def _fetch_token(self) -> tuple[str, float]:
        # A token request changes nothing at the vendor, so a lost one may be resent.
        response = await self._http.request(
            "POST",
            TOKEN_PATH,
            json_body={"app_key": self._app_key, "app_secret": self._app_secret},
            headers={"X-Token-Expire": str(self._token_lifetime)},
            idempotent=True,
        )
        if response.status == 401:
            raise VendorUnauthenticated(
                "huawei refused the configured app key and secret (tokenByAkSk: HTTP 401).",
                vendor=self.vendor.value,
            )
        answer = cast(TokenAnswer, self._json_answer(response, TOKEN_PATH))
        token: object = answer.get("AccessToken")
        if not isinstance(token, str) or not token:
            raise VendorUnavailable(
                "huawei answered tokenByAkSk without an AccessToken.", vendor=self.vendor.value
            )
        # Quirk: Expires is a string of seconds.
        lifetime = _as_int(answer.get("Expires")) or self._token_lifetime
        logger.debug("huawei: new access token, valid for %d s", lifetime)
        return token, float(lifetime)

    def _json_answer(self, response: VendorResponse, path: str) -> dict[str, Any]:
        if response.status != 200:
            raise VendorUnavailable(
                f"huawei answered {_operation(path)} with HTTP {response.status}.",
                vendor=self.vendor.value,
            )
        answer = response.json()
        if not isinstance(answer, dict):
            raise VendorUnavailable(
                f"huawei answered {_operation(path)} with JSON that is not an object.",
                vendor=self.vendor.value,
            )
        return answer

    async def close(self) -> None:
        await self._http.close()


def _operation(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _ret_code(answer: QueryCallStateAnswer | CreateCallAnswer) -> str:
    # Documented as a string; a number is read the same.
    return str(answer["retCode"])


def _ret_msg(answer: QueryCallStateAnswer | CreateCallAnswer) -> str:
    message = str(answer.get("retMsg") or "no message")
    return message[:_MAX_SHOWN_RET_MSG]
