"""The Huawei CEC emulator's bidirectional calls, by callSerialNo (seed 001): what
queryCallState reports and createCall adds. Tests and the simulator drive it directly."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# queryCallState `state` values (seed 001, Table 3 1.3.1).
TO_BE_CALLED, CALLING, TALKING, ENDED = 0, 1, 2, 3


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
    soft_phone: str | None = None
    call_back_url: str | None = None
    start_time: int | None = None  # epoch milliseconds
    end_time: int | None = None  # epoch milliseconds
    # Result fields sent exactly as given (None: left out), over the ones above: the odd
    # shapes a vendor update brings (VENDORS.md §6, "Everywhere"), for tests.
    wire_overrides: dict[str, Any] = field(default_factory=dict)

    def as_result(self, *, times_as_strings: bool = False) -> dict[str, Any]:
        """The queryCallState `result`: the seed example's key order, absent fields left out.

        Times are numbers as in the seed's example, or strings as its field table types
        them (Table 3, 1.3.6/1.3.7: "String ... a timestamp, for example, 1572794607000").
        """
        start: int | str | None = self.start_time
        end: int | str | None = self.end_time
        if times_as_strings:
            start = None if start is None else str(start)
            end = None if end is None else str(end)
        result = {
            "caller": self.caller,
            "called": self.called,
            "callerPresent": self.caller_present,
            "startTime": start,
            "state": self.state,
            "reasonCode": self.reason_code,
            "agentPresent": self.agent_present,
            "endTime": end,
            "callData": self.call_data,
        }
        result.update(self.wire_overrides)
        return {key: value for key, value in result.items() if value is not None}


class HuaweiCallStore:
    """The emulator's calls by callSerialNo. Every change of a call goes through here."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._calls: dict[str, HuaweiCallRecord] = {}
        self._clock = clock
        # Beyond 2**53 like the seed's 645735364434067472: a JSON number this long loses
        # digits in any reader that takes numbers as doubles.
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
        soft_phone: str | None = None,
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
            soft_phone=soft_phone,
            call_back_url=call_back_url,
            start_time=start_time,
            end_time=end_time,
        )
        self._calls[call_serial_no] = call
        return call

    def active_between(self, caller: str, called: str) -> HuaweiCallRecord | None:
        """A call between these two numbers that has not ended (createCall retCode 1: "the
        same outbound task may already exist")."""
        for call in self._calls.values():
            if (call.caller, call.called) == (caller, called) and call.state != ENDED:
                return call
        return None

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
