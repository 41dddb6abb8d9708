"""What a Huawei CEC business refusal (HTTP 200, retCode ≠ "0") means for our user: each
documented retCode as the domain error a caller expects, with the vendor's own retMsg.

createCall: zh/en cec_07_1303 (V1.0.0) and cec_07_0053 (V3.0.0), Table 3 and Table 4 (ITA).
queryCallState: seed 001, Table 3 1.1.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    NotSupported,
    SwitchboardError,
    VendorForbidden,
    VendorUnavailable,
)

VENDOR = "huawei"
MAX_SHOWN_RET_MSG = 200

# createCall retCode -> the error class, and what the code means (to the user, in English).
CREATE_CALL_REFUSALS: Mapping[str, tuple[type[SwitchboardError], str]] = {
    "1": (InvalidState, "an outbound call task between these numbers may already exist"),
    "2": (BadUserInput, "the call data is not accepted (at most 1024 characters)"),
    "3": (VendorUnavailable, "no call serial number was generated"),
    "5": (BadUserInput, "a calling, called or display number has the wrong form"),
    "6": (VendorUnavailable, "the tenant's VDN is unavailable"),
    "8": (BadUserInput, "the calling number is outside the tenant's mobile-agent numbers"),
    "16": (VendorForbidden, "trial tenant: the agent-side number is not whitelisted"),
    "21": (VendorForbidden, "trial tenant: more than 10 bidirectional calls today"),
    # ITA bidirectional calls (Table 4).
    "90100100": (BadUserInput, "a parameter is missing or not supported for ITA calls"),
    "90100200": (VendorForbidden, "the ITA platform refused the request's origin or signature"),
    "90100300": (BadUserInput, "the ITA platform called the request bad"),
    "90100400": (VendorUnavailable, "the ITA platform lacks the requested resource"),
    "90100600": (VendorUnavailable, "the ITA platform had an internal error"),
    "90102001": (VendorForbidden, "the ITA account's balance is insufficient"),
    "90102002": (VendorForbidden, "the ITA platform restricts this request"),
    "90104001": (VendorForbidden, "the ITA account lacks the permission"),
    "90104003": (VendorForbidden, "the ITA platform forbids the request"),
    "90104004": (NotSupported, "the ITA platform does not support this service"),
    "90104008": (VendorUnavailable, "the ITA platform failed or timed out processing it"),
    "90104029": (VendorUnavailable, "the ITA platform has too many requests; try later"),
    "90106001": (InvalidState, "the privacy-number binding already exists"),
    "90106002": (VendorUnavailable, "the privacy-number binding does not exist"),
    "90106003": (VendorUnavailable, "the privacy-number pool is exhausted"),
    "90106004": (VendorUnavailable, "no privacy number is available"),
    "90106005": (VendorUnavailable, "the privacy-number binding data is inconsistent"),
    "90106006": (VendorUnavailable, "a privacy-number error occurred"),
    "90106010": (VendorForbidden, "a policy forbids the call"),
    "90106011": (VendorForbidden, "the calling number is barred"),
    "90106012": (VendorForbidden, "the called number is barred"),
}


def shown(ret_msg: str | None) -> str:
    """The vendor's retMsg as we repeat it: bounded, never empty."""
    return (ret_msg or "no message")[:MAX_SHOWN_RET_MSG]


def create_call_refusal(ret_code: str, ret_msg: str | None) -> SwitchboardError:
    """The error for a createCall answered with `ret_code` ≠ "0"; unknown codes say the
    vendor could not create the call."""
    error_class, meaning = CREATE_CALL_REFUSALS.get(
        ret_code, (VendorUnavailable, "the call could not be created")
    )
    message = (
        f"huawei refused to create the call: {meaning}: {shown(ret_msg)} (retCode {ret_code})."
    )
    return error_class(message, vendor=VENDOR)


def query_refusal(call_serial_no: str, ret_code: str, ret_msg: str | None) -> SwitchboardError:
    """The error, for that call alone, of a queryCallState answered with `ret_code` ≠ "0"."""
    if ret_code == "1":  # "Failed to query the status": no such call
        return CallNotFound(f"huawei has no call {call_serial_no}: {shown(ret_msg)}", vendor=VENDOR)
    if ret_code == "3":  # "The format of the call SN is incorrect."
        return BadUserInput(
            f"huawei refused the call serial number {call_serial_no!r}: {shown(ret_msg)}",
            vendor=VENDOR,
        )
    return VendorUnavailable(
        f"huawei could not query call {call_serial_no}: {shown(ret_msg)} (retCode {ret_code}).",
        vendor=VENDOR,
    )
