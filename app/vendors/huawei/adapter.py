"""Huawei CEC adapter: mobileAgent queryCallState and createCall (V1.0.0 or V3.0.0) mapped
to `HuaweiCall` snapshots and domain errors (VENDORS.md §2, §6)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import Vendor
from app.errors import BadUserInput, VendorUnavailable
from app.vendors.http import VendorHttp, concurrently
from app.vendors.huawei.mapping import (
    call_serial_no_from_wire,
    huawei_call_from_wire,
    read,
    ret_code_from_wire,
)
from app.vendors.huawei.refusals import create_call_refusal, query_refusal
from app.vendors.huawei.session import (
    HuaweiSession,
    operation,
    parse_token_lifetime,
    token_base_url,
)
from app.vendors.huawei.wire import (
    CREATE_CALL_PATHS,
    MAX_AGENT_WORK_NO_DIGITS,
    QUERY_CALL_STATE_PATH,
    ApiVersion,
    CreateCallV1Body,
    CreateCallV3Body,
    QueryCallStateBody,
)

VENDOR = Vendor.HUAWEI.value


def parse_api_version(value: str) -> ApiVersion:
    """`api_version` as configured: "v1" (createCall V1.0.0) or "v3" (V3.0.0)."""
    version = value.strip().lower().removeprefix("v").split(".", 1)[0]
    if version == "1":
        return "v1"
    if version == "3":
        return "v3"
    raise ValueError(f"api_version must be v1 or v3, not {value!r}")


class HuaweiAdapter(AdapterBase):
    """Huawei calls by callSerialNo. Huawei has no batch query: one request per call.

    Options (SWITCHBOARD_HUAWEI_<NAME>): `token_url`, where tokenByAkSk is served when not
    on the API's host (zh cec_07_0002: port 28070); `api_version`, "v1" (default: the
    seed's API, agentWorkNo and agentPresent) or "v3" (softPhone mandatory);
    `soft_phone`, the agent softphone V3 calls from when a call names none;
    `token_lifetime`, seconds (X-Token-Expire, at most 3600).
    """

    vendor = Vendor.HUAWEI

    def __init__(
        self,
        http: VendorHttp,
        *,
        app_key: str,
        app_secret: str,
        token_url: str | None = None,
        api_version: str = "v1",
        soft_phone: str | None = None,
        token_lifetime: int | str = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api_version = parse_api_version(api_version)
        self._soft_phone = soft_phone or None
        token_http = http
        if token_url:
            # Same timeouts and cap as the API; its own session (and cookie jar): another host.
            token_http = VendorHttp(
                Vendor.HUAWEI,
                token_base_url(token_url),
                timeout=http.timeout,
                concurrency=http.concurrency,
            )
        self._session = HuaweiSession(
            http,
            token_http,
            app_key=app_key,
            app_secret=app_secret,
            token_lifetime=parse_token_lifetime(token_lifetime),
            clock=clock,
        )

    @property
    def api_version(self) -> ApiVersion:
        return self._api_version

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        return await concurrently(self._fetch_one(native_id) for native_id in native_ids)

    async def start_call(self, request: StartCall) -> str:
        """Click-to-call: Huawei rings `request.from_` (the agent's phone) first, then
        `request.to`; `request.user_data` travels as callData (JSON text). On V3 a
        configured `soft_phone` may stand in for `from_`."""
        if not request.from_ and not (self._api_version == "v3" and self._soft_phone):
            raise BadUserInput(
                "Huawei calls the agent first: give `from` (the caller's number).", vendor=VENDOR
            )
        call_data = json.dumps(dict(request.user_data)) if request.user_data else None
        return await self.create_call(request.from_, request.to, call_data=call_data)

    async def create_call(
        self,
        caller: str | None,
        called: str,
        *,
        soft_phone: str | None = None,
        agent_work_no: str | None = None,
        call_data: str | None = None,
        caller_present: str | None = None,
        agent_present: str | None = None,
    ) -> str:
        """Start a bidirectional call (the caller's phone rings first); its callSerialNo.

        V1 needs `caller`; V3 needs a softphone (`soft_phone`, the configured one, or else
        `caller`) and has no agentWorkNo or agentPresent. Never resent after a lost
        connection: that could ring both parties twice.
        """
        body: CreateCallV1Body | CreateCallV3Body
        if self._api_version == "v1":
            body = self._v1_body(caller, called, agent_work_no, agent_present)
        else:
            body = self._v3_body(caller, called, soft_phone, agent_work_no, agent_present)
        if call_data is not None:
            body["callData"] = call_data
        if caller_present is not None:
            body["callerPresent"] = caller_present
        path = CREATE_CALL_PATHS[self._api_version]
        answer = await self._session.post(path, body, idempotent=False)
        if isinstance(answer, VendorUnavailable):
            raise answer
        result = read.mapping(answer, "result", field="createCall.result")
        ret_code = ret_code_from_wire(answer)
        # V3 documents retCode as optional: a serial number without one is a success.
        if ret_code not in ("0", None) or (ret_code is None and result is None):
            if ret_code is None:
                raise VendorUnavailable(
                    f"huawei answered {operation(path)} without a retCode.", vendor=VENDOR
                )
            raise create_call_refusal(ret_code, read.text(answer, "retMsg"))
        serial = None if result is None else call_serial_no_from_wire(result)
        if not serial:
            raise VendorUnavailable(
                "huawei answered createCall without a usable callSerialNo.", vendor=VENDOR
            )
        return serial

    def _v1_body(
        self,
        caller: str | None,
        called: str,
        agent_work_no: str | None,
        agent_present: str | None,
    ) -> CreateCallV1Body:
        if not caller:
            raise BadUserInput("createCall V1 needs the caller's number.", vendor=VENDOR)
        body: CreateCallV1Body = {"caller": caller, "called": called}
        if agent_work_no is not None:
            if not (
                agent_work_no.isascii()
                and agent_work_no.isdigit()
                and len(agent_work_no) <= MAX_AGENT_WORK_NO_DIGITS
            ):
                raise BadUserInput("An agent work number has at most 5 digits.", vendor=VENDOR)
            body["agentWorkNo"] = int(agent_work_no)  # documented as Decimal(5)
        if agent_present is not None:
            body["agentPresent"] = agent_present
        return body

    def _v3_body(
        self,
        caller: str | None,
        called: str,
        soft_phone: str | None,
        agent_work_no: str | None,
        agent_present: str | None,
    ) -> CreateCallV3Body:
        if agent_work_no is not None or agent_present is not None:
            raise BadUserInput(
                "createCall V3 has no agent work number or agent display number.", vendor=VENDOR
            )
        phone = soft_phone or self._soft_phone or caller
        if not phone:
            raise BadUserInput("createCall V3 needs the agent's softphone number.", vendor=VENDOR)
        body: CreateCallV3Body = {"softPhone": phone, "called": called}
        if caller and caller != phone:
            body["caller"] = caller  # the agent's mobile, rung instead of the softphone
        return body

    async def _fetch_one(self, call_serial_no: str) -> FetchResult:
        query: QueryCallStateBody = {"callSerialNo": call_serial_no}
        answer = await self._session.post(QUERY_CALL_STATE_PATH, query, idempotent=True)
        if isinstance(answer, VendorUnavailable):
            return answer  # an unreadable reply fails this call alone
        ret_code = ret_code_from_wire(answer)
        result = read.mapping(answer, "result", field="queryCallState.result")
        if ret_code not in ("0", None):
            return query_refusal(call_serial_no, ret_code, read.text(answer, "retMsg"))
        if result is None:
            return VendorUnavailable(
                f"huawei answered queryCallState for call {call_serial_no} without a result.",
                vendor=VENDOR,
            )
        snapshot = huawei_call_from_wire(call_serial_no, result)
        if snapshot is None:
            return VendorUnavailable(
                f"huawei answered queryCallState for call {call_serial_no} without a usable state.",
                vendor=VENDOR,
            )
        return snapshot

    async def close(self) -> None:
        await self._session.close()
