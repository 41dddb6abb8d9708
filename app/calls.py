"""The call domain: global call ids, normalised states, capabilities and call snapshots.

Plain frozen dataclasses and enums: no GraphQL, no HTTP. Vendor adapters produce these;
the GraphQL layer serves them as they are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from app.errors import BadUserInput


class Vendor(enum.Enum):
    ORACLE = "oracle"
    HUAWEI = "huawei"
    VERBA = "verba"
    VOIPNOW = "voipnow"
    GENESYS = "genesys"


class CallState(enum.Enum):
    """A call's state, normalised over the vendors (each adapter has its mapping table)."""

    SCHEDULED = "SCHEDULED"
    DIALING = "DIALING"
    RINGING = "RINGING"
    CONNECTED = "CONNECTED"
    HELD = "HELD"
    ENDED = "ENDED"
    UNKNOWN = "UNKNOWN"


class Capability(enum.Enum):
    """An operation the gateway can perform on a call now."""

    HOLD = "HOLD"
    RETRIEVE = "RETRIEVE"
    HANGUP = "HANGUP"


# What each normalised state allows, before asking whether the vendor can do it at all.
_STATE_CAPABILITIES: Mapping[CallState, frozenset[Capability]] = {
    CallState.SCHEDULED: frozenset({Capability.HANGUP}),
    CallState.DIALING: frozenset({Capability.HANGUP}),
    CallState.RINGING: frozenset({Capability.HANGUP}),
    CallState.CONNECTED: frozenset({Capability.HOLD, Capability.HANGUP}),
    CallState.HELD: frozenset({Capability.RETRIEVE, Capability.HANGUP}),
    CallState.ENDED: frozenset(),
    CallState.UNKNOWN: frozenset(),
}

# What each vendor's API can do at all (VENDORS.md, summary table).
VENDOR_CAPABILITIES: Mapping[Vendor, frozenset[Capability]] = {
    Vendor.ORACLE: frozenset({Capability.HANGUP}),
    Vendor.HUAWEI: frozenset(),
    Vendor.VERBA: frozenset(),
    Vendor.VOIPNOW: frozenset({Capability.HOLD, Capability.RETRIEVE, Capability.HANGUP}),
    Vendor.GENESYS: frozenset({Capability.HOLD, Capability.RETRIEVE, Capability.HANGUP}),
}

_CAPABILITY_ORDER = tuple(Capability)


def capabilities_for(vendor: Vendor, state: CallState) -> tuple[Capability, ...]:
    """The operations valid now: allowed by the state and offered by the vendor."""
    allowed = _STATE_CAPABILITIES[state] & VENDOR_CAPABILITIES[vendor]
    return tuple(c for c in _CAPABILITY_ORDER if c in allowed)


# ---------------------------------------------------------------------------------------
# Call ids: "<vendor>:<native id>"

MAX_CALL_ID_LENGTH = 200

# The native part of each vendor's id. Strict on purpose: a native id is put into a
# vendor URL path or body, so anything outside these alphabets (whitespace, control
# characters, "..", "?", "%", "#") is refused before any vendor request.
_NATIVE_FORMS: Mapping[Vendor, tuple[re.Pattern[str], str]] = {
    Vendor.ORACLE: (re.compile(r"[A-Za-z0-9_-]{1,64}"), "oracle:<sessionId>"),
    # Huawei documents callSerialNo as string(50).
    Vendor.HUAWEI: (re.compile(r"[A-Za-z0-9_-]{1,50}"), "huawei:<callSerialNo, at most 50>"),
    Vendor.VERBA: (
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
        "verba:<CallID uuid>",
    ),
    Vendor.VOIPNOW: (
        re.compile(r"[0-9]{1,20}/[0-9*#]{1,32}/[A-Za-z0-9_-]{1,64}"),
        "voipnow:<userId>/<extension>/<phoneCallId>",
    ),
    Vendor.GENESYS: (re.compile(r"[A-Za-z0-9_-]{1,64}"), "genesys:<call id>"),
}

ID_FORMS = "; ".join(form for _, form in _NATIVE_FORMS.values())


def _shown(text: str) -> str:
    """The offending input, short enough to put into an error message."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


@dataclass(frozen=True, slots=True)
class CallId:
    """A global call id: the vendor plus the vendor's own id for the call."""

    vendor: Vendor
    native: str

    @classmethod
    def parse(cls, text: str) -> CallId:
        """Parse and validate `<vendor>:<native id>`; a malformed id raises `BadUserInput`."""
        if len(text) > MAX_CALL_ID_LENGTH:
            raise BadUserInput(f"Malformed call id: longer than {MAX_CALL_ID_LENGTH} characters.")
        prefix, sep, native = text.partition(":")
        try:
            vendor = Vendor(prefix)
        except ValueError:
            raise BadUserInput(
                f"Malformed call id {_shown(text)}: expected '<vendor>:<native id>' with "
                f"vendor one of {', '.join(v.value for v in Vendor)}."
            ) from None
        pattern, form = _NATIVE_FORMS[vendor]
        if not sep or pattern.fullmatch(native) is None:
            raise BadUserInput(
                f"Malformed call id {_shown(text)}: expected '{form}'.", vendor=vendor.value
            )
        return cls(vendor, native)

    def __str__(self) -> str:
        return f"{self.vendor.value}:{self.native}"


# ---------------------------------------------------------------------------------------
# Snapshots: what a vendor said about a call at one moment.


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSnapshot:
    """The vendor-neutral part of a call. Vendor subclasses add the vendor's own fields."""

    vendor: ClassVar[Vendor]

    call_id: CallId
    state: CallState
    vendor_state: str | None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # Set by the live layer (app/live/versions.py) when it publishes this state: a per-call
    # counter, monotonic across instances, and when switchboard first saw the state. A
    # fresh vendor read has version 0 until the live layer knows it.
    version: int = 0
    observed_at: datetime | None = None

    @property
    def id(self) -> str:
        return str(self.call_id)

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        return capabilities_for(self.call_id.vendor, self.state)


@dataclass(frozen=True, slots=True, kw_only=True)
class OracleCall(CallSnapshot):
    """Oracle Click-to-Call status (seed 000). `vendor_state` is `callState`."""

    vendor: ClassVar[Vendor] = Vendor.ORACLE

    session_id: str
    time: datetime | None = None
    scheduled_time: datetime | None = None
    more: str | None = None
    has_changed: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HuaweiCall(CallSnapshot):
    """Huawei CEC queryCallState result (seed 001). `vendor_state` is `state` as text."""

    vendor: ClassVar[Vendor] = Vendor.HUAWEI

    call_serial_no: str
    reason_code: int | None = None
    reason: str | None = None
    call_data: str | None = None
    caller: str | None = None
    called: str | None = None
    caller_present: str | None = None
    agent_present: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VerbaCall(CallSnapshot):
    """A Verba recording, found by GetCallID (seed 002) or read by its CallID with
    GetCallURL. Verba knows no call state; the state reflects the status the record was
    found under (ongoing, next, last). `url`: GetCallURL's link to the recording."""

    vendor: ClassVar[Vendor] = Vendor.VERBA

    verba_call_id: str
    extension: str | None = None
    platform_call_id: str | None = None
    native_call_id: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class VoipNowCallView:
    """One party's view of a VoipNow PhoneCall (`phoneCallView[]`)."""

    id: str
    extension: str | None = None
    source: tuple[str, ...] = ()
    destination: tuple[str, ...] = ()
    caller_id: str | None = None
    flow: int | None = None
    status: int | None = None
    answered: datetime | None = None
    on_hold: datetime | None = None
    holder: int | None = None
    recording: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VoipNowCall(CallSnapshot):
    """A VoipNow PhoneCall resource (seed 003). State and `vendor_state` come from the
    view of the call's own extension (`own_view`)."""

    vendor: ClassVar[Vendor] = Vendor.VOIPNOW

    user_id: str
    extension: str
    phone_call_id: str
    owner_id: str | None = None
    owner_name: str | None = None
    published: datetime | None = None
    answered: datetime | None = None
    views: tuple[VoipNowCallView, ...] = ()
    link: str | None = None

    @property
    def own_view(self) -> VoipNowCallView | None:
        """The view of the call's own extension, else the first view."""
        for view in self.views:
            if view.extension == self.extension:
                return view
        return self.views[0] if self.views else None


@dataclass(frozen=True, slots=True)
class GenesysParticipant:
    e164_number: str | None = None
    formatted_phone_number: str | None = None
    phone_number: str | None = None
    digits: str | None = None
    country: Mapping[str, Any] | None = None
    location: str | None = None
    local_phone_number: str | None = None
    e164_digits: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenesysCall(CallSnapshot):
    """A Genesys Web Services call resource (seed 004). `vendor_state` is `state`."""

    vendor: ClassVar[Vendor] = Vendor.GENESYS

    call_uuid: str | None = None
    conn_id: str | None = None
    device_uri: str | None = None
    # The phone number of the device in `device_uri` (GET /api/v2/me/devices): the agent's line.
    device_number: str | None = None
    participants: tuple[GenesysParticipant, ...] = ()
    dnis: str | None = None
    call_type: str | None = None
    vendor_capabilities: tuple[str, ...] = ()
    user_data: Mapping[str, Any] = field(default_factory=dict)
    duration: int | None = None
    mute: str | None = None
    recording_state: str | None = None
    supervisor_listening_in: bool | None = None
    monitored_user_muted: bool | None = None
    monitoring: bool | None = None
    uri: str | None = None
    path: str | None = None


SNAPSHOT_TYPES: Mapping[Vendor, type[CallSnapshot]] = {
    cls.vendor: cls for cls in (OracleCall, HuaweiCall, VerbaCall, VoipNowCall, GenesysCall)
}


def distinct(ids: Sequence[CallId]) -> list[CallId]:
    """The ids in first-seen order, each once."""
    return list(dict.fromkeys(ids))
