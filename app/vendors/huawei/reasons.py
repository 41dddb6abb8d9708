"""Readable text for the reasonCode of an ended Huawei CEC bidirectional call (seed 001,
queryCallState Table 3 1.3.2 and Table 4, the ITA codes)."""

from __future__ import annotations

from collections.abc import Mapping

# The mobileAgent reason codes; every other code is "other exception".
MOBILE_AGENT_REASONS: Mapping[int, str] = {
    0: "Callee hung up",
    1: "Caller hung up",
    2: "Outbound call to the caller failed",
    3: "Callee could not be called",
    4: "Caller did not answer",
    5: "Callee did not answer",
    6: "Call could not be started",
}

# The reason codes of ITA bidirectional calls (the seed's Table 4), codes 1-127.
ITA_REASONS: Mapping[int, str] = {
    1: "The number cannot be found.",
    2: "Failed to route to the network.",
    3: "Failed to route to the destination.",
    4: "Special messages are sent.",
    5: "Incorrect trunk prefix.",
    6: "The channel cannot be accessed.",
    7: "A channel has been created.",
    8: "Preemption.",
    9: "Preemption reservation.",
    16: "Normal call clearance.",
    17: "The user is busy.",
    18: "No answer.",
    19: "No user answers the call.",
    20: "The user is unreachable.",
    21: "Call rejected.",
    22: "The number has been changed.",
    23: "Redirection.",
    25: "The switching route is incorrect.",
    26: "No user permission.",
    27: "The target is disordered.",
    28: "Invalid number format.",
    29: "Rejected by the device.",
    30: "Status query.",
    31: "Normal.",
    34: "Unreachable route.",
    38: "Poor network quality.",
    39: "Service out of connection.",
    40: "Connecting.",
    41: "Temporarily failed.",
    42: "The device is congested.",
    43: "Discarded information.",
    44: "The channel cannot be accessed.",
    46: "Call blocked.",
    47: "No available resource.",
    49: "Invalid quality.",
    50: "The device is not reserved.",
    53: "Outbound calls barred within the CUG.",
    55: "Inbound calls barred within the CUG.",
    57: "No permission for transmission.",
    58: "Invalid transmission.",
    62: "The levels are inconsistent.",
    63: "Invalid service.",
    65: "Transmission cannot be performed.",
    66: "The channel cannot be implemented.",
    69: "Invalid device.",
    70: "Valid transmission.",
    79: "The CV service is not configured.",
    81: "An invalid value is referenced.",
    82: "The channel does not exist.",
    83: "The ID does not exist.",
    84: "The call ID does not exist.",
    85: "No call is suspended.",
    86: "Anonymous call.",
    87: "The CUG has no member.",
    88: "Incompatible destination.",
    90: "The CUG does not exist.",
    91: "Invalid network.",
    95: "Invalid information.",
    96: "Not hosting element.",
    97: "Type not found.",
    98: "The information is not implemented.",
    99: "The information element does not exist.",
    100: "Invalid information element.",
    101: "Inconsistent call status.",
    102: "The timer times out.",
    103: "The parameter does not exist.",
    110: "The message contains unidentified parameters.",
    111: "Protocol error.",
    127: "Unspecified interaction.",
}


def reason_text(reason_code: int) -> str:
    """The mobileAgent meaning of `reason_code`; past 6, "Other exception" plus the ITA
    meaning when the ITA table has one."""
    if reason_code in MOBILE_AGENT_REASONS:
        return MOBILE_AGENT_REASONS[reason_code]
    ita = ITA_REASONS.get(reason_code)
    return "Other exception" if ita is None else f"Other exception: {ita}"
