"""The Huawei CEC emulator's tenant: what its administrator configured, and which createCall
business refusal (HTTP 200, retCode ≠ "0") a request meets — cec_07_1303 (V1.0.0) and
cec_07_0053 (V3.0.0), Table 3 retCodes and Table 4 (ITA), on support.huaweicloud.com."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.emulators.huawei_store import HuaweiCallStore

MAX_CALL_DATA = 1024
_NUMBER_FORM = re.compile(r"[0-9]{1,32}")

# The demo tenant's softphone numbers for mobile agents (retCode 8 outside the range).
DEMO_SOFTPHONE_RANGE = re.compile(r"8888[0-9]{4}")
DEMO_SOFT_PHONE = "88880001"

# retMsg wording [guess]: the pages describe each code, they do not quote the message.
RET_TASK_EXISTS = ("1", "Failed to add the outbound call task: the same task may already exist.")
RET_CALL_DATA = ("2", f"The call data exceeds {MAX_CALL_DATA} characters.")
RET_NO_SERIAL = ("3", "No call serial number was generated.")
RET_NUMBER_FORMAT = ("5", "The calling, called or display number format is incorrect.")
RET_VDN_UNAVAILABLE = ("6", "The VDN is unavailable.")
RET_CALLER_OUT_OF_RANGE = (
    "8",
    "The calling number is not in the softphone number range assigned to mobile agents.",
)
RET_TRIAL_NOT_WHITELISTED = ("16", "The agent-side number of the trial tenant is not whitelisted.")
RET_TRIAL_DAILY_LIMIT = ("21", "The trial tenant exceeded 10 bidirectional calls a day.")
# ITA bidirectional calls (Table 4): retMsg exactly as the table gives it.
RET_ITA_INVALID_INPUT = ("90100100", "Invalid Input Parameter")
RET_ITA_CALLEE_FORBID = ("90106012", "Callee forbid")

Refusal = tuple[str, str]  # (retCode, retMsg)


@dataclass(frozen=True, slots=True)
class CreateCallRequest:
    """The numbers and data of one createCall body, as sent (any JSON type)."""

    version: int  # 1 or 3
    caller: object
    called: object
    soft_phone: object = None  # V3 only
    call_data: str | None = None
    caller_present: object = None
    agent_present: object = None  # V1 only

    @property
    def agent_side(self) -> object:
        """The agent's number: V1 `caller` (mandatory), V3 `softPhone` (mandatory)."""
        return self.caller if self.version == 1 else self.soft_phone

    @property
    def first_rung(self) -> str:
        """The phone rung first: `caller` when given (V3: the agent's mobile), else V3's
        softphone. Only meaningful once the numbers passed the format check."""
        return str(self.caller if self.caller is not None else self.agent_side)


@dataclass
class HuaweiTenant:
    """The tenant's configuration that createCall's refusals depend on; tests may change it."""

    vdn_available: bool = True  # False: retCode 6
    serial_allocation_fails: bool = False  # True: retCode 3
    softphone_range: re.Pattern[str] = DEMO_SOFTPHONE_RANGE  # retCode 8 outside it
    trial_whitelist: set[str] = field(default_factory=lambda: {"88881234", DEMO_SOFT_PHONE})
    trial_daily_limit: int = 10  # the documented limit (retCode 21)
    ita_barred_callees: set[str] = field(default_factory=set)  # ITA 90106012
    _created_per_day: dict[int, int] = field(default_factory=dict)

    def refusal(
        self,
        request: CreateCallRequest,
        calls: HuaweiCallStore,
        *,
        day: int,
        trial: bool,
        ita: bool,
    ) -> Refusal | None:
        """The retCode and retMsg this tenant refuses `request` with, or None: it may go."""
        if ita and any(
            value is not None
            for value in (request.call_data, request.caller_present, request.agent_present)
        ):
            # cec_07_1303: "ITA bidirectional calls do not support the callData field" (nor
            # callerPresent, agentPresent); Table 4: 90100100, missing or unsupported parameter.
            return RET_ITA_INVALID_INPUT
        agent_side = request.agent_side
        if not (
            _number(agent_side)
            and _number(request.called)
            and all(
                value is None or _number(value)
                for value in (request.caller, request.caller_present, request.agent_present)
            )
        ):
            return RET_NUMBER_FORMAT
        assert isinstance(agent_side, str)
        if request.call_data is not None and len(request.call_data) > MAX_CALL_DATA:
            return RET_CALL_DATA
        if not self.vdn_available:
            return RET_VDN_UNAVAILABLE
        if self.softphone_range.fullmatch(agent_side) is None:
            return RET_CALLER_OUT_OF_RANGE
        if trial:
            if agent_side not in self.trial_whitelist:
                return RET_TRIAL_NOT_WHITELISTED
            if self._created_per_day.get(day, 0) >= self.trial_daily_limit:
                return RET_TRIAL_DAILY_LIMIT
        if calls.active_between(request.first_rung, str(request.called)) is not None:
            return RET_TASK_EXISTS
        if self.serial_allocation_fails:
            return RET_NO_SERIAL
        if ita and request.called in self.ita_barred_callees:
            return RET_ITA_CALLEE_FORBID
        return None

    def count_created(self, day: int) -> None:
        self._created_per_day[day] = self._created_per_day.get(day, 0) + 1


def _number(value: object) -> bool:
    return isinstance(value, str) and _NUMBER_FORM.fullmatch(value) is not None
