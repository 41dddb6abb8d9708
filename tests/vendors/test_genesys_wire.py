"""Every example body of the Genesys pages (seed 004, VENDORS.md §6 sources), parsed
verbatim by the adapter's mapping; and odd shapes that must not fail a whole call."""

from __future__ import annotations

import json
import logging

import pytest

from app.calls import CallState, GenesysParticipant
from app.errors import VendorUnavailable
from app.vendors.genesys import call_from_wire
from app.vendors.genesys.mapping import changed_call

# Seed 004 (CallResource, "Revision as of 19:43, October 23, 2015"), Sample Data, verbatim.
SEED_004_CALL = """{
   "id":"01RCC3N118B1V0SL8O7GK2LAES000010",
   "state":"Established",
   "callUuid":"01RCC3N118B1V0SL8O7GK2LAES000010",
   "connId":"0071027198180020",
   "deviceUri":"http://127.0.0.1:8080/api/v2/devices/631608b3-ceb1-472b-ba05-2ae39555b0d1",
   "participants":[
      {
         "e164Number":"",
         "formattedPhoneNumber":"15001",
         "phoneNumber":"15001",
         "digits":"15001"
      }
   ],
   "dnis":"15001",
   "callType":"Internal",
   "capabilities":[
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
      "StartCallRecording"
   ],
   "userData":{
      "AccountNumber":"12345678"
   },
   "duration":"7",
   "mute":"Off",
   "recordingState":"Stopped",
   "supervisorListeningIn":false,
   "monitoredUserMuted":false,
   "monitoring":false,
   "uri":"http://127.0.0.1:8080/api/v2/me/calls/01RCC3N118B1V0SL8O7GK2LAES000010",
   "path":"/calls/01RCC3N118B1V0SL8O7GK2LAES000010"
}"""

# en.docs.genesys.com index.php?title=Documentation:HTCC:API:CallResource:8.5.2
# (revision of 20:13, October 23, 2015), Sample Data, verbatim up to the call's closing
# brace; the page's sample then goes on with `"phoneNumber": "5001" }` of the message
# it was cut from, which is not JSON on its own.
CALL_RESOURCE_852 = """{
      "id": "011DJV5JI898NB2L04000VTAES00000I",
      "connId": "0072026cb98d140f",
      "state": "Established",
      "callUuid": "011DJV5JI898NB2L04000VTAES00000I",
      "deviceUri": "http://127.0.0.1:8080/api/v2/devices/9c14cad7-17c4-48d0-8492-7cf0ff92c224",
      "uri": "http://127.0.0.1:8080/api/v2/me/calls/011DJV5JI898NB2L04000VTAES00000I",
      "participants": [
        "5000"
      ],
      "participantsInfo": [
        {
          "digits": "5000",
          "e164Number": "5000",
          "formattedPhoneNumber": "5000"
        }
      ],
      "dnis": "5001",
      "callType": "Internal",
      "capabilities": [
        "AttachUserData",
        "InitiateConference",
        "UpdateUserData",
        "Hold",
        "SingleStepTransfer",
        "DeleteUserData",
        "SingleStepConference",
        "Hangup",
        "DeleteUserDataPair",
        "SendDtmf",
        "InitiateTransfer"
      ],
      "userData": {
        "DispositionCode": "IssueResolved"
      },
      "duration": "1174",
      "mute": "Off",
      "supervisorListeningIn": true,
      "monitoredUserMuted": false
    }"""

# github.com/ErnestoGarciaGenesys/GenesysWebServicesClient @ d8f0deb6,
# Genesys.WebServicesClient.Test/AttachedDataChanged Event.txt: a captured live event,
# verbatim (its byte-order mark aside).
ATTACHED_DATA_CHANGED = """{
	"data": {
		"messageType": "CallStateChangeMessage",
		"notificationType": "AttachedDataChanged",
		"call": {
			"id": "0071025563e9f00f",
			"state": "Established",
			"callUuid": "00QEAG4KU4A5P78IG2DAHG5AES00000F",
			"deviceUri": "http://192.168.154.128/api/v2/devices/bf78972f-a0f3-44da-9ca6-0a9a7ec5dbea",
			"uri": "http://192.168.154.128/api/v2/me/calls/0071025563e9f00f",
			"participants": ["1001"],
			"participantsInfo": [{
				"digits": "1001",
				"e164Number": "1001",
				"formattedPhoneNumber": "1001"
			}],
			"dnis": "1000",
			"callType": "Internal",
			"capabilities": ["SingleStepTransfer",
			"InitiateConference",
			"AttachUserData",
			"Hangup",
			"SingleStepConference",
			"Hold",
			"InitiateTransfer",
			"DeleteUserDataPair",
			"SendDtmf",
			"DeleteUserData",
			"UpdateUserData"],
			"userData": {
				"hello": "hola"
			},
			"duration": "13",
			"mute": "Off"
		},
		"phoneNumber": "1000"
	},
	"channel": "/v2/me/calls"
}"""

# enu.docs.genesys.com index.php?title=Documentation:HTCC:API:CallsDial:8.5.2
# (revision of 20:13, October 23, 2015), Sample #1, Notification, verbatim.
DIAL_NOTIFICATION_852 = """{
  "data": {
    "messageType": "CallStateChangeMessage",
    "notificationType": "StatusChange",
    "extensions": {
      "WrapUpTime": 0,
      "BusinessCall": 0
    },
    "call": {
      "id": "013V08JRL498H1OI04000VTAES00000G",
      "connId": "0072026cb98d140f",
      "state": "Dialing",
      "callUuid": "013V08JRL498H1OI04000VTAES00000G",
      "deviceUri": "http://127.0.0.1:8080/api/v2/devices/efe1ab32-53f9-43ce-b65e-5768c61f7d4a",
      "uri": "http://127.0.0.1:8080/api/v2/me/calls/013V08JRL498H1OI04000VTAES00000G",
      "participants": [
        "5001"
      ],
      "participantsInfo": [
        {
          "digits": "5001",
          "e164Number": "5001",
          "formattedPhoneNumber": "5001"
        }
      ],
      "dnis": "5001",
      "callType": "Internal",
      "capabilities": [
        "DeleteUserDataPair",
        "AttachUserData",
        "Hangup",
        "DeleteUserData",
        "SendDtmf",
        "UpdateUserData"
      ],
      "duration": "0",
      "mute": "Off",
      "supervisorListeningIn": false,
      "monitoredUserMuted": false
    },
    "phoneNumber": "5005"
  },
  "channel": "/v2/me/calls"
}"""

# en.docs.genesys.com index.php?oldid=327086&title=Documentation:HTCC:API:CallsDial:
# 8.5.2DRAFT, Sample #1, Notification, verbatim (with `metrics` and `extensions`).
DIAL_NOTIFICATION_852_DRAFT = """{
   "data": {
	"notificationType": "StatusChange",
	"call": {
		"id": "012PUFMMS0ASNAK48O7GK2LAES000004",
		"state": "Dialing",
		"callUuid": "012PUFMMS0ASNAK48O7GK2LAES000004",
		"connId": "007102719260b004",
		"deviceUri": "http://hpe-voicevm-70.genesyslab.com:8090/api/v2/devices/631608b3-ceb1-472b-ba05-2ae39555b0d1",
		"participants": [
			{
				"e164Number": "",
				"formattedPhoneNumber": "15002",
				"phoneNumber": "15002",
				"digits": "15002"
			}
		],
		"dnis": "15002",
		"callType": "Internal",
		"capabilities": [
			"SendDtmf",
			"DeleteUserData",
			"AttachUserData",
			"DeleteUserDataPair",
			"Hangup",
			"UpdateUserData"
		],
		"duration": "0",
		"mute": "Off",
		"supervisorListeningIn": false,
		"monitoredUserMuted": false,
		"monitoring": false,
		"uri": "http://hpe-voicevm-70.genesyslab.com:8090/api/v2/me/calls/012PUFMMS0ASNAK48O7GK2LAES000004",
		"path": "/calls/012PUFMMS0ASNAK48O7GK2LAES000004"
	},
	"phoneNumber": "15000",
	"extensions": {
		"BusinessCall": 0
	},
	"messageType": "CallStateChangeMessage",
	"metrics": {
		"eventProcessing": {
			"nodeProcessingTimeNanos": 4911602,
			"serverGenerationTimestamp": 1444920326391,
			"serverProcessingTimeTotalMs": 5
		}
	},
	"channel": "/v2/me/calls"
   }
}"""

# docs.genesys.com Documentation/HTCC/latest/API/CallsMessageType, DeviceStateChangeMessage
# example, verbatim but for the host of voiceEnvironmentUri (the page's own GWS at a
# loopback address and port; nothing reads that URI).
DEVICE_STATE_CHANGE = """{
  "data": {
    "messageType": "DeviceStateChangeMessage",
    "devices": [
      {
        "id": "efe1ab32-53f9-43ce-b65e-5768c61f7d4a",
        "deviceState": "Active",
        "userState": {
          "id": "900D55CC-2BB0-431F-8BF9-D3525B383BE6",
          "displayName": "Not Ready",
          "state": "NotReady"
        },
        "phoneNumber": "5005",
        "e164Number": "5005",
        "telephonyNetwork": "Private",
        "doNotDisturb": "Off",
        "voiceEnvironmentUri": "https://gws.example/api/v2/voice-environments/370ef5e6-9e3c-4d91-9588-7f4dfe67e011",
        "capabilities": [
          "DoNotDisturbOn",
          "ForwardCallsOn",
          "ListenIn",
          "Coach",
          "BargeIn"
        ]
      }
    ]
  },
  "channel": "/v2/me/devices"
}"""


def test_seed_call_resource_reads_participant_objects() -> None:
    call = call_from_wire(json.loads(SEED_004_CALL))
    assert call.state is CallState.CONNECTED
    assert call.participants == (
        GenesysParticipant(
            e164_number="", formatted_phone_number="15001", phone_number="15001", digits="15001"
        ),
    )
    assert call.duration == 7
    assert call.recording_state == "Stopped"


def test_852_call_resource_reads_participant_strings_with_their_info() -> None:
    call = call_from_wire(json.loads(CALL_RESOURCE_852))
    assert call.id == "genesys:011DJV5JI898NB2L04000VTAES00000I"
    assert call.state is CallState.CONNECTED
    assert call.conn_id == "0072026cb98d140f"
    assert call.participants == (
        GenesysParticipant(
            e164_number="5000", formatted_phone_number="5000", phone_number="5000", digits="5000"
        ),
    )
    assert call.user_data == {"DispositionCode": "IssueResolved"}
    assert call.duration == 1174
    assert call.supervisor_listening_in is True
    assert call.recording_state is None
    assert call.path is None


def test_captured_attached_data_changed_event_maps_to_its_call() -> None:
    message = json.loads(ATTACHED_DATA_CHANGED)
    call = changed_call(message["data"])
    assert call is not None
    assert call.id == "genesys:0071025563e9f00f"
    assert call.call_uuid == "00QEAG4KU4A5P78IG2DAHG5AES00000F"
    assert call.conn_id is None
    assert call.participants[0].phone_number == "1001"
    assert call.participants[0].e164_number == "1001"
    assert call.user_data == {"hello": "hola"}
    assert call.duration == 13


@pytest.mark.parametrize(
    ("body", "call_id", "number"),
    [
        (DIAL_NOTIFICATION_852, "013V08JRL498H1OI04000VTAES00000G", "5001"),
        (DIAL_NOTIFICATION_852_DRAFT, "012PUFMMS0ASNAK48O7GK2LAES000004", "15002"),
    ],
    ids=["8.5.2", "8.5.2DRAFT"],
)
def test_dial_notifications_with_extensions_and_metrics_map_to_a_dialing_call(
    body: str, call_id: str, number: str
) -> None:
    message = json.loads(body)
    # The DRAFT page puts "channel" inside "data"; both are read the same.
    call = changed_call(message["data"])
    assert call is not None
    assert call.id == f"genesys:{call_id}"
    assert call.state is CallState.DIALING
    assert call.participants[0].phone_number == number
    assert call.dnis == number


def test_device_state_change_message_is_no_call_change() -> None:
    assert changed_call(json.loads(DEVICE_STATE_CHANGE)["data"]) is None


@pytest.mark.parametrize(
    "odd",
    [
        {"participants": [5000, None, {"phoneNumber": 7}], "participantsInfo": "x"},
        {"participants": {"phoneNumber": "5000"}},
        {"participantsInfo": [{"digits": "5000"}], "capabilities": [1, "Hold"]},
        {"duration": "seven", "userData": ["x"], "supervisorListeningIn": "maybe"},
        {"state": 3, "dnis": {"x": 1}, "mute": []},
    ],
)
def test_odd_fields_read_as_null_and_never_fail_the_call(
    odd: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    wire = {**json.loads(CALL_RESOURCE_852), **odd}
    with caplog.at_level(logging.WARNING, "switchboard.vendors"):
        call = call_from_wire(wire)
    assert call.call_id.native == "011DJV5JI898NB2L04000VTAES00000I"
    for record in caplog.records:
        assert "5000" not in record.getMessage()  # shapes are logged, never values


def test_a_resource_without_an_id_is_unavailable_for_that_call_alone() -> None:
    with pytest.raises(VendorUnavailable):
        call_from_wire({"state": "Established"})
    assert changed_call({"messageType": "CallStateChangeMessage", "call": {"id": []}}) is None
