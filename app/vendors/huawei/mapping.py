"""Huawei CEC wire -> domain, total: a field that cannot be read is null (logged once by
`WireReader`); only a result without a usable `state` is unreadable as a whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.calls import CallId, CallState, HuaweiCall, Vendor
from app.vendors.fields import WireReader
from app.vendors.huawei.reasons import reason_text

read = WireReader(Vendor.HUAWEI)

# queryCallState `state` -> normalised state (seed 001, 1.3.1); any other value is UNKNOWN.
HUAWEI_STATES: Mapping[int, CallState] = {
    0: CallState.DIALING,  # to be called
    1: CallState.RINGING,  # calling
    2: CallState.CONNECTED,  # talking
    3: CallState.ENDED,  # ended
}


def huawei_call_from_wire(call_serial_no: str, result: Mapping[str, Any]) -> HuaweiCall | None:
    """The snapshot of one queryCallState `result` (which does not repeat the serial
    number); None when it has no usable `state`."""
    state_code = read.integer(result, "state")
    if state_code is None:
        return None
    reason_code = read.integer(result, "reasonCode")
    return HuaweiCall(
        call_id=CallId(Vendor.HUAWEI, call_serial_no),
        state=HUAWEI_STATES.get(state_code, CallState.UNKNOWN),
        vendor_state=str(state_code),
        # Quirk: epoch ms, strings in the field table, numbers in the example (seed 001).
        started_at=read.epoch_millis(result, "startTime"),
        ended_at=read.epoch_millis(result, "endTime"),
        call_serial_no=call_serial_no,
        reason_code=reason_code,
        reason=None if reason_code is None else reason_text(reason_code),
        call_data=read.text(result, "callData"),
        caller=read.text(result, "caller"),
        called=read.text(result, "called"),
        caller_present=read.text(result, "callerPresent"),
        agent_present=read.text(result, "agentPresent"),
    )


def call_serial_no_from_wire(result: Mapping[str, Any]) -> str | None:
    """createCall's `result.callSerialNo` as text, every digit kept: a JSON number in V1
    (zh cec_07_1303) — longer than a double holds, and Python's json keeps ints exact —,
    a string in V3 (cec_07_0053). A fraction or exponent cannot be a serial: null."""
    value = result.get("callSerialNo")
    if isinstance(value, float):
        read.odd("callSerialNo", value, "an integer or a string")
        return None
    serial = read.text(result, "callSerialNo")
    return serial.strip() if serial and serial.strip() else None


def ret_code_from_wire(answer: Mapping[str, Any]) -> str | None:
    """retCode as text: documented as a string, a number reads the same."""
    code = read.text(answer, "retCode")
    return None if code is None else code.strip()
