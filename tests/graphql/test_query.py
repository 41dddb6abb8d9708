"""Queries through the real HTTP gateway against the emulators: calls, batching, errors."""

from __future__ import annotations

from typing import Any

import pytest

from app.calls import Vendor
from app.emulators import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.emulators.verba import VerbaEmulator
from tests.demo import DEMO_IDS, TYPENAMES, UNKNOWN_IDS
from tests.graphql.conftest import Gateway

CALL_FIELDS = "__typename id vendor state vendorState capabilities startedAt endedAt"

# Paths that fetch call data (token requests are counted apart).
TOKEN_PATHS = ("tokenByAkSk", "token.php", "RequestToken")


def call_requests(gateway: Gateway) -> list[dict[str, str]]:
    return [
        r.as_json()
        for r in gateway.control.requests
        if not any(p in r.path for p in TOKEN_PATHS) and "RequestToken" not in r.path
    ]


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.mark.parametrize("vendor", list(Vendor), ids=lambda v: v.value)
async def test_call_returns_the_demo_call_of_each_vendor(gateway: Gateway, vendor: Vendor) -> None:
    body = await gateway.client.execute(
        f"query($id: ID!) {{ call(id: $id) {{ {CALL_FIELDS} }} }}", {"id": DEMO_IDS[vendor]}
    )
    assert "errors" not in body
    call = body["data"]["call"]
    assert call["__typename"] == TYPENAMES[vendor]
    assert call["id"] == DEMO_IDS[vendor]
    assert call["vendor"] == vendor.name


async def test_genesys_call_carries_every_seed_field(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        """query($id: ID!) { call(id: $id) { ... on GenesysCall {
            state vendorState capabilities callUuid connId deviceUri dnis callType
            vendorCapabilities userData duration mute recordingState supervisorListeningIn
            monitoredUserMuted monitoring uri path
            participants { e164Number formattedPhoneNumber phoneNumber digits }
        } } }""",
        {"id": DEMO_IDS[Vendor.GENESYS]},
    )
    call = body["data"]["call"]
    assert call["state"] == "CONNECTED"
    assert call["vendorState"] == "Established"
    assert call["capabilities"] == ["HOLD", "HANGUP"]
    assert call["connId"] == "0071027198180020"
    assert call["callUuid"] == "01RCC3N118B1V0SL8O7GK2LAES000010"
    assert call["dnis"] == "15001"
    assert call["callType"] == "Internal"
    assert call["userData"] == {"AccountNumber": "12345678"}
    assert call["duration"] == 7
    assert call["mute"] == "Off"
    assert call["recordingState"] == "Stopped"
    assert call["supervisorListeningIn"] is False
    assert "Hold" in call["vendorCapabilities"]
    assert call["participants"] == [
        {
            "e164Number": "",
            "formattedPhoneNumber": "15001",
            "phoneNumber": "15001",
            "digits": "15001",
        }
    ]


async def test_huawei_call_carries_every_seed_field(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        """query($id: ID!) { call(id: $id) { state vendorState startedAt endedAt
            ... on HuaweiCall { callSerialNo reasonCode reason caller called callerPresent
                                agentPresent startTime endTime } } }""",
        {"id": DEMO_IDS[Vendor.HUAWEI]},
    )
    call = body["data"]["call"]
    assert call["state"] == "ENDED"
    assert call["vendorState"] == "3"
    assert call["callSerialNo"] == "645735364434067472"
    assert call["reasonCode"] == 0
    assert call["reason"]
    assert (call["caller"], call["called"]) == ("88889050", "88889060")
    assert (call["callerPresent"], call["agentPresent"]) == ("640003", "640060")
    assert call["startTime"] == call["startedAt"] == "2021-05-24T02:37:45+00:00"
    assert call["endTime"] == call["endedAt"] == "2021-05-24T02:37:52+00:00"


async def test_voipnow_call_carries_its_views(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        """query($id: ID!) { call(id: $id) { state ... on VoipNowCall {
            userId extension phoneCallId ownerId ownerName published answered link
            views { id extension status callerId source destination onHold } } } }""",
        {"id": DEMO_IDS[Vendor.VOIPNOW]},
    )
    call = body["data"]["call"]
    assert call["state"] == "CONNECTED"
    assert (call["userId"], call["extension"]) == ("12", "0003*210")
    assert call["phoneCallId"] == "b817d2618fe6f1804333"
    assert call["ownerName"] == "Default Organization"
    views = {v["id"]: v for v in call["views"]}
    assert views["01"]["extension"] == "0003*024"
    assert views["01"]["callerId"] == "John Doe <3334444>"
    assert views["01"]["status"] == 5


async def test_calls_keeps_order_and_length_with_nulls_where_calls_fail(gateway: Gateway) -> None:
    ids = [
        DEMO_IDS[Vendor.GENESYS],
        "nonsense",
        UNKNOWN_IDS[Vendor.HUAWEI],
        DEMO_IDS[Vendor.ORACLE],
        DEMO_IDS[Vendor.GENESYS],
    ]
    body = await gateway.client.execute(
        "query($ids: [ID!]!) { calls(ids: $ids) { id } }", {"ids": ids}
    )
    calls = body["data"]["calls"]
    assert [c and c["id"] for c in calls] == [ids[0], None, None, ids[3], ids[4]]
    by_index = {e["path"][1]: e["extensions"] for e in body["errors"]}
    assert by_index[1]["code"] == "BAD_USER_INPUT"
    assert by_index[2] == {"code": "NOT_FOUND", "vendor": "huawei"}
    assert set(by_index) == {1, 2}


async def test_calls_fetches_each_distinct_call_once(gateway: Gateway) -> None:
    distinct = [DEMO_IDS[Vendor.HUAWEI], DEMO_IDS[Vendor.ORACLE], UNKNOWN_IDS[Vendor.HUAWEI]]
    ids = [distinct[i % 3] for i in range(8)]
    # Warm the Huawei token so that only call fetches are left to count.
    await gateway.client.execute("query($id: ID!) { call(id: $id) { id } }", {"id": distinct[0]})
    gateway.control.requests.clear()

    body = await gateway.client.execute(
        "query($ids: [ID!]!) { calls(ids: $ids) { id } }", {"ids": ids}
    )

    assert len(body["data"]["calls"]) == 8
    assert len(call_requests(gateway)) == 3
    assert gateway.control.count("huawei", path_contains="queryCallState") == 2
    assert gateway.control.count("oracle") == 1


async def test_calls_over_the_size_cap_is_bad_user_input_without_vendor_requests(
    gateway: Gateway,
) -> None:
    ids = [DEMO_IDS[Vendor.GENESYS]] * (gateway.settings.limits.max_ids + 1)
    body = await gateway.client.execute(
        "query($ids: [ID!]!) { calls(ids: $ids) { id } }", {"ids": ids}
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    assert str(gateway.settings.limits.max_ids) in body["errors"][0]["message"]
    assert gateway.control.requests == []


@pytest.mark.parametrize(
    "bad_id",
    [
        "skype:123",
        "genesys:",
        "genesys:" + "a" * 300,
        "huawei:" + "1" * 51,
        "genesys:01RCC 3N1",
        "oracle:abc\u0007",
        "genesys:../../api/v2/me",
        "voipnow:12/../../oauth/token.php",
    ],
)
async def test_malformed_id_is_bad_user_input_without_vendor_requests(
    gateway: Gateway, bad_id: str
) -> None:
    body = await gateway.client.execute("query($id: ID!) { call(id: $id) { id } }", {"id": bad_id})
    assert body["data"] == {"call": None}
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "expected" in body["errors"][0]["message"] or "longer" in body["errors"][0]["message"]
    assert gateway.control.requests == []


@pytest.mark.parametrize("vendor", list(UNKNOWN_IDS), ids=lambda v: v.value)
async def test_unknown_call_is_null_with_not_found(gateway: Gateway, vendor: Vendor) -> None:
    body = await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { id } }", {"id": UNKNOWN_IDS[vendor]}
    )
    assert body["data"] == {"call": None}
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "vendor": vendor.value}
    assert body["errors"][0]["path"] == ["call"]


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(status=503), "VENDOR_UNAVAILABLE"),
        (Fault(status=500), "VENDOR_UNAVAILABLE"),
        (Fault(drop=True), "VENDOR_UNAVAILABLE"),
        (Fault(timeout=True), "VENDOR_TIMEOUT"),
    ],
)
async def test_one_faulted_vendor_nulls_only_its_own_calls(
    gateway: Gateway, fault: Fault, code: str
) -> None:
    gateway.control.set_fault("genesys", fault)
    ids = [DEMO_IDS[Vendor.GENESYS], DEMO_IDS[Vendor.HUAWEI], DEMO_IDS[Vendor.VOIPNOW]]
    body = await gateway.client.execute(
        "query($ids: [ID!]!) { calls(ids: $ids) { id } }", {"ids": ids}
    )
    assert body["data"]["calls"] == [None, {"id": ids[1]}, {"id": ids[2]}]
    assert [(e["path"], e["extensions"]) for e in body["errors"]] == [
        (["calls", 0], {"code": code, "vendor": "genesys"})
    ]


async def test_active_calls_lists_genesys_and_voipnow_calls(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        """{ g: activeCalls(vendor: GENESYS) { id state }
             v: activeCalls(vendor: VOIPNOW, extension: "0003*210") { id state } }"""
    )
    assert "errors" not in body
    assert DEMO_IDS[Vendor.GENESYS] in [c["id"] for c in body["data"]["g"]]
    assert DEMO_IDS[Vendor.VOIPNOW] in [c["id"] for c in body["data"]["v"]]


@pytest.mark.parametrize("vendor", ["ORACLE", "HUAWEI", "VERBA"])
async def test_active_calls_is_not_supported_without_a_list_api(
    gateway: Gateway, vendor: str
) -> None:
    body = await gateway.client.execute(f"{{ activeCalls(vendor: {vendor}) {{ id }} }}")
    assert body["data"] is None
    assert codes(body) == ["NOT_SUPPORTED"]
    assert gateway.control.requests == []


async def test_recording_finds_the_verba_call_by_extension(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        '{ recording(extension: "8856", status: [ONGOING]) { id callId state extension } }'
    )
    assert body["data"]["recording"] == {
        "id": DEMO_IDS[Vendor.VERBA],
        "callId": "a8343631-9f35-4a3a-83f0-9e81592339fb",
        "state": "CONNECTED",
        "extension": "8856",
    }


async def test_recording_is_null_when_verba_finds_none(gateway: Gateway) -> None:
    body = await gateway.client.execute('{ recording(extension: "4711") { id } }')
    assert body == {"data": {"recording": None}}


@pytest.mark.parametrize(
    "arguments", ["", 'extension: "88 56"', 'extension: "8856", status: [ONGOING, ONGOING]']
)
async def test_recording_refuses_bad_criteria(gateway: Gateway, arguments: str) -> None:
    body = await gateway.client.execute(f"{{ recording({arguments}) {{ id }} }}".replace("()", ""))
    assert "BAD_USER_INPUT" in codes(body) or "GRAPHQL_VALIDATION_FAILED" in codes(body)
    assert gateway.control.count("verba") == 0


async def test_recording_field_links_calls_in_one_batch(gateway: Gateway) -> None:
    ids = [DEMO_IDS[Vendor.GENESYS], DEMO_IDS[Vendor.VOIPNOW], DEMO_IDS[Vendor.GENESYS]]
    body = await gateway.client.execute(
        """query($ids: [ID!]!) { calls(ids: $ids) {
             ... on GenesysCall { recording { callId extension } }
             ... on VoipNowCall { recording { callId extension } } } }""",
        {"ids": ids},
    )
    assert "errors" not in body
    recordings = [c["recording"] for c in body["data"]["calls"]]
    assert recordings[0]["extension"] == "15001"
    assert recordings[1]["extension"] == "0003*210"
    assert recordings[0] == recordings[2]
    verba = gateway.emulator.emulators.vendors["verba"]
    assert isinstance(verba, VerbaEmulator)
    assert verba.action_counts["GetCallID"] == 2  # one lookup per distinct extension


async def test_responses_never_contain_credentials(gateway: Gateway) -> None:
    gateway.control.set_fault("verba", Fault(status=502))
    gateway.control.set_fault("huawei", Fault(drop=True))
    text = await gateway.client.raw(
        """query($ids: [ID!]!) { calls(ids: $ids) {
             ... on GenesysCall { recording { callId } } } }""",
        {"ids": list(DEMO_IDS.values())},
    )
    for credentials in DEMO_CREDENTIALS.values():
        for secret in credentials.values():
            assert secret not in text
    assert "Traceback" not in text
