"""Call control through the gateway: hold, off-hold, hang-up and click-to-call answer with
the state the vendor confirmed, and every rule of app/call_control.py holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.calls import Vendor
from app.emulators.control import Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.oracle import OracleEmulator
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS, UNKNOWN_IDS
from tests.graphql.conftest import Gateway, serve_gateway

GENESYS = DEMO_IDS[Vendor.GENESYS]
GENESYS_NATIVE = GENESYS.split(":", 1)[1]

OPERATION = """mutation($id: ID!) {{
  {name}(id: $id) {{ id state vendorState capabilities }}
}}"""

START = """mutation($input: StartCallInput!) {
  startCall(input: $input) { __typename id vendor state vendorState }
}"""


@pytest.fixture
async def quick(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    """A gateway that gives up on confirmations after half a second."""
    async with serve_gateway(emulator_server, confirm_timeout=0.5, confirm_interval=0.05) as gw:
        yield gw


async def operate(gateway: Gateway, name: str, call_id: str) -> dict[str, Any]:
    return await gateway.client.execute(OPERATION.format(name=name), {"id": call_id})


def writes(gateway: Gateway, vendor: str) -> int:
    """Vendor requests that change something (token requests aside)."""
    return sum(
        1
        for r in gateway.control.requests
        if r.vendor == vendor and r.method in {"POST", "PUT", "DELETE"} and "token" not in r.path
    )


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None
    [error] = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


def genesys_store(gateway: Gateway) -> Any:
    return gateway.emulator.emulator(GenesysEmulator).store


async def test_hold_call_returns_the_call_once_the_vendor_confirms_it(gateway: Gateway) -> None:
    body = await operate(gateway, "holdCall", GENESYS)
    assert body["data"]["holdCall"] == {
        "id": GENESYS,
        "state": "HELD",
        "vendorState": "Held",
        "capabilities": ["RETRIEVE", "HANGUP"],
    }
    assert genesys_store(gateway).get(GENESYS_NATIVE)["state"] == "Held"
    assert writes(gateway, "genesys") == 1


async def test_retrieve_call_takes_a_held_call_off_hold(gateway: Gateway) -> None:
    await operate(gateway, "holdCall", GENESYS)
    body = await operate(gateway, "retrieveCall", GENESYS)
    assert body["data"]["retrieveCall"]["state"] == "CONNECTED"
    assert body["data"]["retrieveCall"]["vendorState"] == "Established"
    assert writes(gateway, "genesys") == 2


async def test_hold_on_a_held_call_is_a_no_op(gateway: Gateway) -> None:
    await operate(gateway, "holdCall", GENESYS)
    gateway.control.requests.clear()
    body = await operate(gateway, "holdCall", GENESYS)
    assert body["data"]["holdCall"]["state"] == "HELD"
    assert writes(gateway, "genesys") == 0


async def test_retrieve_on_a_connected_call_is_a_no_op(gateway: Gateway) -> None:
    body = await operate(gateway, "retrieveCall", GENESYS)
    assert body["data"]["retrieveCall"]["state"] == "CONNECTED"
    assert writes(gateway, "genesys") == 0


@pytest.mark.parametrize("vendor", [Vendor.ORACLE, Vendor.HUAWEI, Vendor.VERBA])
@pytest.mark.parametrize("name", ["holdCall", "retrieveCall"])
async def test_hold_is_not_supported_without_a_vendor_request(
    gateway: Gateway, vendor: Vendor, name: str
) -> None:
    body = await operate(gateway, name, DEMO_IDS[vendor])
    assert error_of(body) == {"code": "NOT_SUPPORTED", "vendor": vendor.value}
    assert gateway.control.requests == []


async def test_hold_on_an_ended_call_is_invalid_state(gateway: Gateway) -> None:
    genesys_store(gateway).set_state(GENESYS_NATIVE, "Released")
    body = await operate(gateway, "holdCall", GENESYS)
    assert error_of(body) == {"code": "INVALID_STATE", "vendor": "genesys", "state": "ENDED"}
    assert writes(gateway, "genesys") == 0


async def test_hold_on_an_unknown_call_is_not_found(gateway: Gateway) -> None:
    body = await operate(gateway, "holdCall", UNKNOWN_IDS[Vendor.GENESYS])
    assert error_of(body) == {"code": "NOT_FOUND", "vendor": "genesys"}
    assert writes(gateway, "genesys") == 0


async def test_hold_with_a_malformed_id_is_bad_user_input(gateway: Gateway) -> None:
    body = await operate(gateway, "holdCall", "genesys:../../devices")
    assert error_of(body)["code"] == "BAD_USER_INPUT"
    assert gateway.control.requests == []


async def test_concurrent_holds_of_one_call_send_one_request(gateway: Gateway) -> None:
    bodies = await asyncio.gather(*(operate(gateway, "holdCall", GENESYS) for _ in range(5)))
    assert [b["data"]["holdCall"]["state"] for b in bodies] == ["HELD"] * 5
    assert writes(gateway, "genesys") == 1


async def test_unconfirmed_hold_is_a_timeout_with_the_last_known_state(quick: Gateway) -> None:
    genesys_store(quick).transition_delay = 3600  # accepted, never carried out
    body = await operate(quick, "holdCall", GENESYS)
    error = error_of(body)
    assert error == {
        "code": "VENDOR_TIMEOUT",
        "vendor": "genesys",
        "lastKnownState": "CONNECTED",
        "lastKnownVendorState": "Established",
    }
    assert "did not confirm" in body["errors"][0]["message"]
    assert writes(quick, "genesys") == 1  # never resent


async def test_hold_after_the_genesys_session_expired_succeeds(gateway: Gateway) -> None:
    await gateway.client.execute("query($id: ID!) { call(id: $id) { id } }", {"id": GENESYS})
    gateway.control.expire_tokens("genesys")  # JSESSIONID and CSRF token now invalid
    gateway.control.requests.clear()
    body = await operate(gateway, "holdCall", GENESYS)
    assert body["data"]["holdCall"]["state"] == "HELD"
    # The read before the command opened a new session; a 403 on the command itself
    # (expiry in between) is refreshed once: tests/vendors/test_genesys.py covers it.
    posts = [r.path for r in gateway.control.requests if r.method == "POST"]
    assert posts == [f"/genesys/api/v2/me/calls/{GENESYS_NATIVE}"]


async def test_hold_whose_answer_is_lost_is_confirmed_not_resent(gateway: Gateway) -> None:
    gateway.control.set_fault("genesys", Fault(drop_after=True, methods=("POST",)))
    body = await operate(gateway, "holdCall", GENESYS)
    assert body["data"]["holdCall"]["state"] == "HELD"
    assert writes(gateway, "genesys") == 1


async def test_hold_that_times_out_unanswered_reports_the_state_read_back(
    quick: Gateway,
) -> None:
    quick.control.set_fault("genesys", Fault(timeout=True, methods=("POST",)))
    body = await operate(quick, "holdCall", GENESYS)
    error = error_of(body)
    assert error["code"] == "VENDOR_TIMEOUT"
    assert error["lastKnownState"] == "CONNECTED"
    assert writes(quick, "genesys") == 1


async def test_hold_refused_by_a_failing_vendor_is_unavailable(gateway: Gateway) -> None:
    await gateway.client.execute("query($id: ID!) { call(id: $id) { id } }", {"id": GENESYS})
    gateway.control.set_fault("genesys", Fault(status=503, methods=("POST",)))
    body = await operate(gateway, "holdCall", GENESYS)
    error = error_of(body)
    assert error["code"] == "VENDOR_UNAVAILABLE"
    assert error["lastKnownState"] == "CONNECTED"


async def test_hangup_call_ends_a_genesys_call(gateway: Gateway) -> None:
    body = await operate(gateway, "hangupCall", GENESYS)
    assert body["data"]["hangupCall"]["state"] == "ENDED"
    assert body["data"]["hangupCall"]["capabilities"] == []


async def test_hangup_call_ends_an_oracle_call(gateway: Gateway) -> None:
    oracle = DEMO_IDS[Vendor.ORACLE]
    body = await operate(gateway, "hangupCall", oracle)
    assert body["data"]["hangupCall"]["state"] == "ENDED"
    assert body["data"]["hangupCall"]["vendorState"] == "disconnected"
    again = await operate(gateway, "hangupCall", oracle)
    assert again["data"]["hangupCall"]["state"] == "ENDED"  # already there: no request
    assert writes(gateway, "oracle") == 1


@pytest.mark.parametrize("vendor", [Vendor.HUAWEI, Vendor.VERBA])
async def test_hangup_is_not_supported_without_a_hangup_api(
    gateway: Gateway, vendor: Vendor
) -> None:
    body = await operate(gateway, "hangupCall", DEMO_IDS[vendor])
    assert error_of(body)["code"] == "NOT_SUPPORTED"
    assert gateway.control.requests == []


async def test_start_call_at_oracle_answers_the_new_call(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        START, {"input": {"vendor": "ORACLE", "to": "+15551230000"}}
    )
    started = body["data"]["startCall"]
    assert started["__typename"] == "OracleCall"
    assert started["state"] == "DIALING"
    again = await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { id state } }", {"id": started["id"]}
    )
    assert again["data"]["call"] == {"id": started["id"], "state": "DIALING"}
    sessions = gateway.emulator.emulator(OracleEmulator).calls.sessions()
    assert (
        sessions[-1].contact_id
        == gateway.settings.vendors.configured[Vendor.ORACLE].credentials["contact_id"]
    )


async def test_start_call_at_oracle_with_a_delay_is_scheduled(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        START, {"input": {"vendor": "ORACLE", "to": "+15551230000", "delaySeconds": 600}}
    )
    assert body["data"]["startCall"]["state"] == "SCHEDULED"


async def test_start_call_at_huawei_rings_the_agent_first(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        START,
        {
            "input": {
                "vendor": "HUAWEI",
                "from": "88881234",
                "to": "60001234",
                "userData": {"ticket": "T-1"},
            }
        },
    )
    started = body["data"]["startCall"]
    assert started["__typename"] == "HuaweiCall"
    assert started["state"] == "DIALING"
    detail = await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { ... on HuaweiCall { caller called callData } } }",
        {"id": started["id"]},
    )
    assert detail["data"]["call"] == {
        "caller": "88881234",
        "called": "60001234",
        "callData": '{"ticket": "T-1"}',
    }


@pytest.mark.parametrize(
    "given",
    [
        {"vendor": "ORACLE", "to": "not a number"},
        {"vendor": "HUAWEI", "to": "60001234"},  # Huawei needs `from`
        {"vendor": "ORACLE", "to": "+15551230000", "delaySeconds": -5},
        {"vendor": "GENESYS", "to": "5001", "userData": [1, 2]},
    ],
)
async def test_start_call_refuses_bad_input_without_a_call(
    gateway: Gateway, given: dict[str, Any]
) -> None:
    body = await gateway.client.execute(START, {"input": given})
    assert error_of(body)["code"] == "BAD_USER_INPUT"
    assert writes(gateway, given["vendor"].lower()) == 0


async def test_start_call_is_not_supported_for_verba(gateway: Gateway) -> None:
    body = await gateway.client.execute(START, {"input": {"vendor": "VERBA", "to": "8856"}})
    assert error_of(body) == {"code": "NOT_SUPPORTED", "vendor": "verba"}
    assert gateway.control.requests == []


VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]


async def test_voipnow_hold_and_retrieve_act_on_the_own_view(gateway: Gateway) -> None:
    held = await operate(gateway, "holdCall", VOIPNOW)
    assert held["data"]["holdCall"]["state"] == "HELD"
    puts = [r for r in gateway.control.requests if r.method == "PUT"]
    assert len(puts) == 1
    views = await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { ... on VoipNowCall { views { id onHold holder } } } }",
        {"id": VOIPNOW},
    )
    own = next(v for v in views["data"]["call"]["views"] if v["id"] == "00")
    assert own["onHold"] is not None
    assert own["holder"] == 1
    retrieved = await operate(gateway, "retrieveCall", VOIPNOW)
    assert retrieved["data"]["retrieveCall"]["state"] == "CONNECTED"


@pytest.mark.parametrize("status", [200, 202, 204])
async def test_voipnow_hold_accepts_each_documented_success_code(
    gateway: Gateway, status: int
) -> None:
    from app.emulators.voipnow import VoipNowEmulator

    gateway.emulator.emulator(VoipNowEmulator).store.action_status = status
    body = await operate(gateway, "holdCall", VOIPNOW)
    assert body["data"]["holdCall"]["state"] == "HELD"


async def test_voipnow_hangup_ends_the_call_that_then_leaves_the_list(gateway: Gateway) -> None:
    body = await operate(gateway, "hangupCall", VOIPNOW)
    assert body["data"]["hangupCall"]["state"] == "ENDED"
    after = await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { id } }", {"id": VOIPNOW}
    )
    assert after["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_voipnow_unconfirmed_hold_times_out(quick: Gateway) -> None:
    from app.emulators.voipnow import VoipNowEmulator

    quick.emulator.emulator(VoipNowEmulator).store.apply_actions = False
    error = error_of(await operate(quick, "holdCall", VOIPNOW))
    assert error["code"] == "VENDOR_TIMEOUT"
    assert error["lastKnownState"] == "CONNECTED"


async def test_voipnow_hold_whose_answer_is_lost_is_confirmed_not_resent(
    gateway: Gateway,
) -> None:
    gateway.control.set_fault("voipnow", Fault(drop_after=True, methods=("PUT",)))
    body = await operate(gateway, "holdCall", VOIPNOW)
    assert body["data"]["holdCall"]["state"] == "HELD"
    assert writes(gateway, "voipnow") == 1


@pytest.mark.parametrize(
    ("given", "typename"),
    [
        ({"vendor": "VOIPNOW", "from": "0003*210", "to": "0003*024"}, "VoipNowCall"),
        ({"vendor": "GENESYS", "to": "5001", "userData": {"Product": "Guitars"}}, "GenesysCall"),
    ],
)
async def test_start_call_answers_a_call_that_can_be_queried_at_once(
    gateway: Gateway, given: dict[str, Any], typename: str
) -> None:
    body = await gateway.client.execute(START, {"input": given})
    started = body["data"]["startCall"]
    assert started["__typename"] == typename
    assert started["state"] in {"DIALING", "RINGING", "CONNECTED"}
    again = await gateway.client.execute(
        "query($id: ID!) { call(id: $id) { id state } }", {"id": started["id"]}
    )
    assert again["data"]["call"]["id"] == started["id"]
    assert writes(gateway, given["vendor"].lower()) == 1
