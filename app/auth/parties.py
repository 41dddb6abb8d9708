"""The line rule: which lines a call's parties are, as the vendor reports them. A call is
a principal's when one of these is one of the principal's lines (README, "Whose call is
it"). Each vendor names its parties differently:

- VoipNow: the call's own extension and the extension of every view (`phoneCallView`).
- Genesys: every participant's numbers (phoneNumber, e164Number, digits, the formatted
  and local forms), `dnis`, and the number of the call's device (`deviceUri`, numbered by
  GET /api/v2/me/devices).
- Huawei: caller, called, callerPresent and agentPresent (queryCallState).
- Verba: the recorded extension.
- Oracle: its status names no party, so the numbers of a call placed through
  switchboard, remembered when it was placed (`PlacedCalls`), with who placed it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.auth.principal import line
from app.calls import CallSnapshot, GenesysCall, HuaweiCall, VerbaCall, VoipNowCall


def parties(snapshot: CallSnapshot) -> frozenset[str]:
    """The lines ("<vendor>:<number>", normalised) the vendor reports as the call's parties."""
    vendor = snapshot.call_id.vendor
    numbers: Iterable[str | None]
    if isinstance(snapshot, VoipNowCall):
        numbers = (snapshot.extension, *(view.extension for view in snapshot.views))
    elif isinstance(snapshot, GenesysCall):
        numbers = [snapshot.dnis, snapshot.device_number]
        for party in snapshot.participants:
            numbers += (
                party.phone_number,
                party.e164_number,
                party.digits,
                party.formatted_phone_number,
                party.local_phone_number,
                party.e164_digits,
            )
    elif isinstance(snapshot, HuaweiCall):
        numbers = (
            snapshot.caller,
            snapshot.called,
            snapshot.caller_present,
            snapshot.agent_present,
        )
    elif isinstance(snapshot, VerbaCall):
        numbers = (snapshot.extension,)
    else:
        numbers = ()
    found = (line(vendor, number) for number in numbers if number)
    empty = f"{vendor.value}:"
    return frozenset(party for party in found if party != empty)
