"""The JSON shapes of Genesys Web Services 8.5 (VENDORS.md §5 and §6), as `TypedDict`s.

Two revisions of the call resource occur in the field: the seed's (004, CallResource
8.5.0 and the 8.5.2DRAFT copy) sends participant objects; the later 8.5.2 revision
(en.docs.genesys.com Documentation:HTCC:API:CallResource:8.5.2) sends `participants` as
strings plus `participantsInfo` objects. The types say what each revision documents; the
reader (`mapping.py`) trusts none of it.
"""

from __future__ import annotations

from typing import Any, Required, TypedDict


class GenesysCountryWire(TypedDict, total=False):
    name: str
    code: str
    callingCode: str


class GenesysParticipantWire(TypedDict, total=False):
    """A participant object (8.5.0), or an entry of `participantsInfo` (8.5.2)."""

    e164Number: str
    formattedPhoneNumber: str
    phoneNumber: str  # 8.5.0 only: 8.5.2's participantsInfo has no phoneNumber
    digits: str
    # Only for numbers given with +country_code:
    country: GenesysCountryWire
    location: str
    localPhoneNumber: str
    E164digits: str


class GenesysCallWire(TypedDict, total=False):
    id: Required[str]
    state: str
    callUuid: str
    connId: str
    deviceUri: str
    # 8.5.0: objects; 8.5.2: the numbers as strings, with the objects in participantsInfo.
    participants: list[GenesysParticipantWire | str]
    participantsInfo: list[GenesysParticipantWire]
    dnis: str
    callType: str
    capabilities: list[str]
    userData: dict[str, Any]
    duration: str
    mute: str
    recordingState: str
    supervisorListeningIn: bool
    monitoredUserMuted: bool
    monitoring: bool
    uri: str
    path: str


class GenesysStatusWire(TypedDict, total=False):
    """Every GWS answer has `statusCode`; failures add `statusMessage` (ReturnValues)."""

    statusCode: int
    statusMessage: str


class GenesysCallListWire(GenesysStatusWire, total=False):
    calls: list[GenesysCallWire]


class GenesysCallEnvelopeWire(GenesysStatusWire, total=False):
    call: GenesysCallWire


class GenesysOperationWire(TypedDict):
    operationName: str


class GenesysDestinationWire(TypedDict):
    phoneNumber: str


class GenesysDialWire(TypedDict, total=False):
    operationName: Required[str]  # "Dial"
    destination: Required[GenesysDestinationWire]
    userData: dict[str, Any]
    location: str


class GenesysDeviceWire(TypedDict, total=False):
    # The device resource of the DeviceStateChangeMessage example (CallsMessageType page).
    id: Required[str]
    deviceState: str
    userState: dict[str, Any]
    phoneNumber: str
    e164Number: str
    telephonyNetwork: str
    doNotDisturb: str
    voiceEnvironmentUri: str
    capabilities: list[str]


class GenesysDeviceListWire(GenesysStatusWire, total=False):
    devices: list[GenesysDeviceWire]


class GenesysCallNotificationWire(TypedDict, total=False):
    """`data` of a CallStateChangeMessage on /v2/me/calls (CallsMessageType; CallsDial
    8.5.2 adds `extensions` and `metrics` blocks)."""

    messageType: Required[str]
    notificationType: str
    call: GenesysCallWire
    phoneNumber: str
    extensions: dict[str, Any]
    metrics: dict[str, Any]


class GenesysDeviceNotificationWire(TypedDict, total=False):
    """`data` of a DeviceStateChangeMessage on /v2/me/devices."""

    messageType: Required[str]
    devices: list[GenesysDeviceWire]
