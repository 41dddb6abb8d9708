"""GWS wire shapes to the domain: call states, call resources (both revisions), the
documented `statusCode`s as domain errors, and CometD notifications as snapshots.

Every read goes through one `WireReader`: a field GWS sends in a shape we do not know is
null (logged once), never an exception; only a resource without a usable id is unreadable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.calls import CallId, CallState, Capability, GenesysCall, GenesysParticipant, Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    SwitchboardError,
    VendorConnectionLost,
    VendorForbidden,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.fields import WireReader

logger = logging.getLogger("switchboard.vendors")

read = WireReader(Vendor.GENESYS)

GENESYS_STATES: Mapping[str, CallState] = {
    "Dialing": CallState.DIALING,
    "Ringing": CallState.RINGING,
    "Established": CallState.CONNECTED,
    "Held": CallState.HELD,
    "Released": CallState.ENDED,
}

GENESYS_OPERATIONS: Mapping[Capability, str] = {
    Capability.HOLD: "Hold",
    Capability.RETRIEVE: "Retrieve",
    Capability.HANGUP: "Hangup",
}

# statusCode -> (domain error, what Genesys documents it to mean). Codes 0-6: 8.5.0,
# 7: 8.5.1 (docs.genesys.com Documentation/GWS/8.5.1/API/ReturnValues), 8-20: 8.5.2
# (enu.docs.genesys.com Documentation:HTCC:API:ReturnValues:8.5.2). "If an error occurs
# during a request, you can assume that the request failed to modify the data of the
# contact center" (same pages) - except 7 (partial success) and 9 (processing incomplete),
# after which the vendor may have acted: "outcome unknown".
GENESYS_STATUS_ERRORS: Mapping[int, tuple[type[SwitchboardError], str]] = {
    1: (BadUserInput, "a required parameter is missing"),
    2: (InvalidState, "not valid in the current state"),
    3: (VendorForbidden, "the operation is forbidden"),
    4: (VendorUnavailable, "an internal error occurred"),
    5: (VendorForbidden, "the user has no permission for this operation"),
    6: (CallNotFound, "the resource was not found"),
    7: (VendorConnectionLost, "only partly done"),
    8: (VendorUnauthenticated, "the user must change the password"),
    9: (VendorConnectionLost, "processing incomplete"),
    10: (BadUserInput, "a value is out of the valid range"),
    11: (BadUserInput, "a read-only property cannot be changed"),
    12: (VendorUnavailable, "unable to retrieve the resource"),
    13: (VendorUnavailable, "unable to create the resource"),
    14: (VendorUnavailable, "unable to delete the resource"),
    15: (VendorUnavailable, "unable to update the resource"),
    16: (VendorUnavailable, "unable to assign the resource"),
    17: (VendorUnavailable, "unable to unassign the resource"),
    18: (InvalidState, "the resource already exists"),
    19: (InvalidState, "the resource is already in use"),
    20: (VendorUnauthenticated, "the user is not authenticated"),
}
# Answered when the HTTP session ended: a new session is opened and the request resent.
NOT_AUTHENTICATED = 20


def refusal(status: int, said: str, what: str) -> SwitchboardError:
    """The domain error for a GWS `statusCode` (any non-zero one), with its message."""
    error, meaning = GENESYS_STATUS_ERRORS.get(
        status, (VendorUnavailable, "an undocumented status code")
    )
    message = f"genesys refused {what}: {meaning} (statusCode {status}: {said[:200]!r})."
    return error(message, vendor=Vendor.GENESYS.value)


def call_from_wire(
    wire: Mapping[str, Any],
    native_id: str | None = None,
    device_numbers: Mapping[str, str] | None = None,
) -> GenesysCall:
    """The domain snapshot of a GWS call resource of either revision (`native_id`: the id
    it was asked for; `device_numbers`: device id -> phone number, as GET
    /api/v2/me/devices lists them, for `device_number`). Raises `VendorUnavailable` only
    when the resource has no usable id."""
    call_id = native_id or read.text(wire, "id", field="call.id")
    if not call_id:
        raise VendorUnavailable(
            "genesys sent a call resource without an id.", vendor=Vendor.GENESYS.value
        )
    raw_state = read.text(wire, "state", field="call.state")
    user_data = read.mapping(wire, "userData", field="call.userData")
    device_uri = read.text(wire, "deviceUri", field="call.deviceUri")
    return GenesysCall(
        call_id=CallId(Vendor.GENESYS, call_id),
        state=GENESYS_STATES.get(raw_state or "", CallState.UNKNOWN),
        vendor_state=raw_state,
        call_uuid=read.text(wire, "callUuid", field="call.callUuid"),
        conn_id=read.text(wire, "connId", field="call.connId"),
        device_uri=device_uri,
        device_number=device_numbers.get(device_of(device_uri) or "") if device_numbers else None,
        participants=_participants(wire),
        dnis=read.text(wire, "dnis", field="call.dnis"),
        call_type=read.text(wire, "callType", field="call.callType"),
        vendor_capabilities=tuple(_texts(wire, "capabilities")),
        user_data=dict(user_data or {}),
        # Quirk: `duration` is documented as a string of seconds ("7"); numbers count too.
        duration=read.integer(wire, "duration", field="call.duration"),
        mute=read.text(wire, "mute", field="call.mute"),
        recording_state=read.text(wire, "recordingState", field="call.recordingState"),
        supervisor_listening_in=read.flag(
            wire, "supervisorListeningIn", field="call.supervisorListeningIn"
        ),
        monitored_user_muted=read.flag(wire, "monitoredUserMuted", field="call.monitoredUserMuted"),
        monitoring=read.flag(wire, "monitoring", field="call.monitoring"),
        uri=read.text(wire, "uri", field="call.uri"),
        path=read.text(wire, "path", field="call.path"),
    )


def _participants(wire: Mapping[str, Any]) -> tuple[GenesysParticipant, ...]:
    """Participants of either revision: 8.5.0 objects, or 8.5.2 strings whose details
    are the entry at the same index of `participantsInfo` (ErnestoGarciaGenesys/
    GenesysWebServicesClient, `AttachedDataChanged Event.txt`, shows the same)."""
    listed = read.items(wire, "participants", field="call.participants")
    info: list[Mapping[str, Any]] = []
    for entry in read.items(wire, "participantsInfo", field="call.participantsInfo"):
        if isinstance(entry, Mapping):
            info.append(entry)
        else:
            read.odd("call.participantsInfo[]", entry, "an object")
            info.append({})  # keeps the indexes of the entries after it
    participants: list[GenesysParticipant] = []
    for index, entry in enumerate(listed):
        if isinstance(entry, Mapping):
            participants.append(_participant(entry, None))
        elif isinstance(entry, str | int) and not isinstance(entry, bool):
            details = info[index] if index < len(info) else {}
            participants.append(_participant(details, str(entry)))
        else:
            read.odd("call.participants[]", entry, "an object or a string")
    if not listed:
        # participantsInfo without participants: the details are all there is.
        participants.extend(_participant(details, None) for details in info)
    return tuple(participants)


def _participant(wire: Mapping[str, Any], number: str | None) -> GenesysParticipant:
    country = read.mapping(wire, "country", field="participant.country")
    return GenesysParticipant(
        e164_number=read.text(wire, "e164Number", field="participant.e164Number"),
        formatted_phone_number=read.text(
            wire, "formattedPhoneNumber", field="participant.formattedPhoneNumber"
        ),
        # 8.5.2 names the number in `participants` and gives no phoneNumber in the info.
        phone_number=read.text(wire, "phoneNumber", field="participant.phoneNumber") or number,
        digits=read.text(wire, "digits", field="participant.digits"),
        country=dict(country) if country is not None else None,
        location=read.text(wire, "location", field="participant.location"),
        local_phone_number=read.text(
            wire, "localPhoneNumber", field="participant.localPhoneNumber"
        ),
        e164_digits=read.text(wire, "E164digits", field="participant.E164digits"),
    )


def _texts(wire: Mapping[str, Any], key: str) -> list[str]:
    texts = []
    for item in read.items(wire, key, field=f"call.{key}"):
        if isinstance(item, str):
            texts.append(item)
        else:
            read.odd(f"call.{key}[]", item, "a string")
    return texts


def changed_call(data: Mapping[str, Any]) -> GenesysCall | None:
    """The call of a CallStateChangeMessage (any notificationType); None for any other
    message, and for one whose call cannot be read - logged (the call id if known, the
    reason; never the payload, which holds personal data) and skipped."""
    message_type = data.get("messageType")
    if message_type != "CallStateChangeMessage":
        # DeviceStateChangeMessage (/v2/me/devices) and others say nothing about calls.
        logger.debug("genesys push: %s skipped", read.text(data, "messageType") or "a message")
        return None
    wire = data.get("call")
    if not isinstance(wire, Mapping):
        logger.warning("genesys push: a CallStateChangeMessage without a call object; skipped")
        return None
    try:
        return call_from_wire(wire)
    except VendorUnavailable as unreadable:
        logger.warning("genesys push: %s; skipped", unreadable.message)
        return None


def involves(call: GenesysCall, extension: str) -> bool:
    numbers = {call.dnis}
    for party in call.participants:
        numbers.update((party.phone_number, party.digits))
    return extension in numbers


def dialled(call: GenesysCall, destination: str) -> bool:
    """Whether `call` goes to `destination`: its DNIS or a participant's number."""
    # [guess] GWS may show a dialled "+1..." as digits only: compare without the "+".
    numbers = {call.dnis}
    for party in call.participants:
        numbers.update((party.phone_number, party.digits, party.e164_number))
    wanted = destination.removeprefix("+")
    return any(number and number.removeprefix("+") == wanted for number in numbers)


def device_of(device_uri: str | None) -> str | None:
    """The device id at the end of a call's `deviceUri` (".../api/v2/devices/<id>")."""
    if not device_uri:
        return None
    _, _, device_id = device_uri.rstrip("/").rpartition("/devices/")
    return device_id or None
