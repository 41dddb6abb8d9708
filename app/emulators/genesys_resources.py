"""The Genesys emulator's resources as GWS writes them (seed 004, VENDORS.md §5, §6): call
resources in either revision (8.5.0 participant objects; 8.5.2 strings plus
participantsInfo), device resources, the states and capabilities, and refusals."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

CALLS_PATH = "/api/v2/me/calls"
DEVICES_PATH = "/api/v2/me/devices"
# Absolute links use the seed's host, so that the demo call is the seed's sample exactly.
LINK_BASE = "http://127.0.0.1:8080"
DEVICE_ID = "631608b3-ceb1-472b-ba05-2ae39555b0d1"  # the seed call's deviceUri
AGENT_DN = "15000"  # the agent's own DN: the phone number of its device

DEMO_CALL_ID = "01RCC3N118B1V0SL8O7GK2LAES000010"

# The two revisions of the call resource (VENDORS.md §6).
REVISION_850 = "8.5.0"
REVISION_852 = "8.5.2"

STATES = ("Dialing", "Ringing", "Established", "Held", "Released")
# The operations valid in each state, as the call resource's `capabilities` lists them.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "Dialing": ("Hangup",),
    "Ringing": ("Answer", "Hangup"),
    "Established": (
        "UpdateUserData",
        "SendDtmf",
        "InitiateConference",
        "Hold",
        "SingleStepTransfer",
        "InitiateTransfer",
        "AttachUserData",
        "DeleteUserDataPair",
        "SingleStepConference",
        "DeleteUserData",
        "Hangup",
        "StartCallRecording",
    ),
    "Held": (
        "Retrieve",
        "Hangup",
        "UpdateUserData",
        "AttachUserData",
        "DeleteUserDataPair",
        "DeleteUserData",
        "SendDtmf",
    ),
    "Released": (),
}
# Where an accepted operation leads once the switch has carried it out; the other
# capabilities are accepted without changing the emulated call.
TRANSITIONS: dict[str, str] = {
    "Answer": "Established",
    "Hold": "Held",
    "Retrieve": "Established",
    "Hangup": "Released",
}


def device_uri(device_id: str) -> str:
    return f"{LINK_BASE}/api/v2/devices/{device_id}"


class GenesysApiError(Exception):
    """A refused request: its HTTP status and the body's `statusCode` and `statusMessage`."""

    def __init__(self, http_status: int, status_code: int, status_message: str) -> None:
        super().__init__(status_message)
        self.http_status = http_status
        self.status_code = status_code
        self.status_message = status_message


def call_not_found() -> GenesysApiError:
    # [guess] VENDORS.md documents statusCode 6 only; the HTTP 404 is our guess.
    return GenesysApiError(404, 6, "Call not found")


def missing_parameter(what: str) -> GenesysApiError:
    return GenesysApiError(400, 1, f"Missing required parameter {what}")


@dataclass
class EmulatedDevice:
    id: str
    phone_number: str
    state: str = "Active"

    def resource(self) -> dict[str, Any]:
        # [guess] GWS's device resource has more (userState, e164Number, telephonyNetwork,
        # capabilities...); only what identifies the device and says it can dial is kept.
        return {"id": self.id, "deviceState": self.state, "phoneNumber": self.phone_number}


@dataclass
class EmulatedCall:
    id: str
    state: str
    conn_id: str
    device_id: str
    participants: list[dict[str, Any]]
    dnis: str
    call_type: str
    user_data: dict[str, Any]
    started_at: float
    released_at: float | None = None
    fixed_duration: str | None = None

    def resource(self, now: float, revision: str = REVISION_850) -> dict[str, Any]:
        """The call resource exactly as GWS serves it in `revision`: 8.5.0, the seed's
        keys in its order; 8.5.2, the CallResource:8.5.2 sample's."""
        if self.fixed_duration is not None:
            duration = self.fixed_duration
        else:
            end = self.released_at if self.released_at is not None else now
            duration = str(max(0, int(end - self.started_at)))
        if revision == REVISION_852:
            return self._resource_852(duration)
        return {
            "id": self.id,
            "state": self.state,
            "callUuid": self.id,
            "connId": self.conn_id,
            "deviceUri": device_uri(self.device_id),
            "participants": copy.deepcopy(self.participants),
            "dnis": self.dnis,
            "callType": self.call_type,
            "capabilities": list(CAPABILITIES[self.state]),
            "userData": copy.deepcopy(self.user_data),
            "duration": duration,
            "mute": "Off",
            "recordingState": "Stopped",
            "supervisorListeningIn": False,
            "monitoredUserMuted": False,
            "monitoring": False,
            "uri": f"{LINK_BASE}{CALLS_PATH}/{self.id}",
            "path": f"/calls/{self.id}",
        }

    def _resource_852(self, duration: str) -> dict[str, Any]:
        # en.docs.genesys.com Documentation:HTCC:API:CallResource:8.5.2 (revision of
        # 20:13, October 23, 2015), sample data: `participants` are the numbers as strings,
        # their details in `participantsInfo` (digits, e164Number, formattedPhoneNumber,
        # plus country/location/... for "+" numbers); no recordingState, monitoring, path.
        info = []
        for party in self.participants:
            entry = {
                "digits": party.get("digits"),
                "e164Number": party.get("e164Number") or party.get("digits"),
                "formattedPhoneNumber": party.get("formattedPhoneNumber"),
            }
            for extra in ("country", "location", "localPhoneNumber", "E164digits"):
                if extra in party:
                    entry[extra] = copy.deepcopy(party[extra])
            info.append(entry)
        return {
            "id": self.id,
            "connId": self.conn_id,
            "state": self.state,
            "callUuid": self.id,
            "deviceUri": device_uri(self.device_id),
            "uri": f"{LINK_BASE}{CALLS_PATH}/{self.id}",
            "participants": [party.get("phoneNumber") for party in self.participants],
            "participantsInfo": info,
            "dnis": self.dnis,
            "callType": self.call_type,
            "capabilities": list(CAPABILITIES[self.state]),
            "userData": copy.deepcopy(self.user_data),
            "duration": duration,
            "mute": "Off",
            "supervisorListeningIn": False,
            "monitoredUserMuted": False,
        }
