"""Huawei CEC wire shapes: paths and the JSON of tokenByAkSk, createCall (V1 and V3) and
queryCallState as the vendor's pages give them (VENDORS.md §2, §6; seed 001).

Pages: support.huaweicloud.com `api-ccfs-cec/` (zh) and `intl/en-us/api-cec/` (en):
cec_07_0002 (token), cec_07_1303 (createCall V1.0.0), cec_07_0053 / cec_07_1304
(createCall V3.0.0), cec_07_0055 (queryCallState).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

TOKEN_PATH = "/apigovernance/api/oauth/tokenByAkSk"
CREATE_CALL_PATH = "/apiaccess/CC-Management/v1/mobileAgent/createCall"
CREATE_CALL_V3_PATH = "/apiaccess/CC-Management/v3/mobileAgent/createCall"
QUERY_CALL_STATE_PATH = "/apiaccess/CC-Management/v1/mobileAgent/queryCallState"

ApiVersion = Literal["v1", "v3"]
CREATE_CALL_PATHS: dict[ApiVersion, str] = {"v1": CREATE_CALL_PATH, "v3": CREATE_CALL_V3_PATH}

MAX_TOKEN_LIFETIME = 3600  # X-Token-Expire, seconds (cec_07_0002)
MAX_CALL_DATA = 1024
MAX_AGENT_WORK_NO_DIGITS = 5  # agentWorkNo: Decimal(5)


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
    """queryCallState `result`. Times are epoch milliseconds: strings in the field table,
    numbers in the page's example."""

    state: int
    reasonCode: int
    callData: str
    caller: str
    called: str
    startTime: int | str
    endTime: int | str
    callerPresent: str
    agentPresent: str


class QueryCallStateBody(TypedDict):
    callSerialNo: str  # a string of at most 50 characters, even where createCall sent a number


class QueryCallStateAnswer(TypedDict):
    retCode: str
    retMsg: str
    result: NotRequired[CallStateResult]


class CreateCallV1Body(TypedDict):
    caller: str  # the agent's (customer manager's) phone, rung first
    called: str
    agentWorkNo: NotRequired[int]
    callData: NotRequired[str]
    callerPresent: NotRequired[str]
    agentPresent: NotRequired[str]


class CreateCallV3Body(TypedDict):
    softPhone: str  # mandatory in V3: the agent's softphone number
    called: str
    caller: NotRequired[str]  # optional in V3: the agent's mobile, when not the softphone
    callData: NotRequired[str]
    callerPresent: NotRequired[str]


class CreateCallResult(TypedDict):
    # Quirk: a JSON number in V1 (zh cec_07_1303), a string in V3 (cec_07_0053).
    callSerialNo: int | str


class CreateCallAnswer(TypedDict):
    retCode: NotRequired[str]  # "mandatory: False" on the V3 page
    retMsg: NotRequired[str]
    result: NotRequired[CreateCallResult]
