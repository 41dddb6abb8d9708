"""GenesysAdapter against the emulator's documented variants (VENDORS.md §6): the 8.5.2
call resource, statusCodes 0-20, session loss, and two nodes behind a sticky balancer."""

from __future__ import annotations

import asyncio

import pytest

from app.adapters import StartCall
from app.calls import CallState, GenesysCall, Vendor
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_cometd import CALLS_CHANNEL
from app.emulators.genesys_store import DEMO_CALL_ID, DEVICE_ID, GenesysCallStore
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
from app.vendors.genesys import GenesysAdapter
from tests.conftest import EmulatorServer, VendorHttpFactory
from tests.vendors.test_genesys import state_reached
from tests.vendors.test_genesys_push import is_call, streaming

USERNAME = DEMO_CREDENTIALS["genesys"]["username"]
PASSWORD = DEMO_CREDENTIALS["genesys"]["password"]
CALLS = "/genesys/api/v2/me/calls"
DIAL = f"/genesys/api/v2/me/devices/{DEVICE_ID}/calls"


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> GenesysEmulator:
    emulator = emulator_server.emulator(GenesysEmulator)
    emulator.cometd.connect_timeout = 0.3
    return emulator


@pytest.fixture
def store(emulator: GenesysEmulator) -> GenesysCallStore:
    return emulator.store


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory, emulator: GenesysEmulator) -> GenesysAdapter:
    return GenesysAdapter(vendor_http(Vendor.GENESYS), username=USERNAME, password=PASSWORD)


def posts(server: EmulatorServer, path: str) -> int:
    return sum(
        1
        for r in server.control.requests
        if r.vendor == "genesys" and r.method == "POST" and r.path == path
    )


# -- the 8.5.2 call resource ------------------------------------------------------------------


async def test_852_tenant_reads_every_call(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    emulator.select_variant("8.5.2")
    assert store.get(DEMO_CALL_ID)["participants"] == ["15001"]  # type: ignore[index]
    other = store.add_call(state="Held")["id"]
    [one] = await adapter.fetch_many([DEMO_CALL_ID])
    assert isinstance(one, GenesysCall)
    assert one.state is CallState.CONNECTED
    assert one.participants[0].phone_number == "15001"
    assert one.participants[0].formatted_phone_number == "15001"
    many = await adapter.fetch_many([DEMO_CALL_ID, other])
    assert [c.state for c in many if isinstance(c, GenesysCall)] == [
        CallState.CONNECTED,
        CallState.HELD,
    ]
    assert [c.id for c in await adapter.active_calls("15001")] == [f"genesys:{DEMO_CALL_ID}"]


async def test_852_international_participant_keeps_its_country_details(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    # CallResource:8.5.2: "If the participant number contains +country_code, then
    # participantsInfo contains" country, location, localPhoneNumber, E164digits.
    emulator.select_variant("8.5.2")
    party = {
        "e164Number": "+14155550123",
        "formattedPhoneNumber": "(415) 555-0123",
        "phoneNumber": "+14155550123",
        "digits": "14155550123",
        "country": {"name": "United States", "code": "US", "callingCode": "1"},
        "location": "California",
        "localPhoneNumber": "(415) 555-0123",
        "E164digits": "+14155550123",
    }
    call_id = store.add_call(state="Established", participants=[party])["id"]
    [call] = await adapter.fetch_many([call_id])
    assert isinstance(call, GenesysCall)
    [read] = call.participants
    assert read.phone_number == "+14155550123"
    assert read.digits == "14155550123"
    assert read.country == {"name": "United States", "code": "US", "callingCode": "1"}
    assert read.location == "California"
    assert read.e164_digits == "+14155550123"


@pytest.mark.parametrize(
    ("http_status", "error"),
    [(400, BadUserInput), (409, InvalidState), (403, VendorForbidden), (404, CallNotFound)],
)
async def test_a_refusal_without_a_gws_body_is_read_from_its_http_status(
    adapter: GenesysAdapter,
    emulator_server: EmulatorServer,
    http_status: int,
    error: type[SwitchboardError],
) -> None:
    from app.emulators.control import Fault

    await adapter.fetch_many([DEMO_CALL_ID])
    emulator_server.control.set_fault("genesys", Fault(status=http_status, methods=("POST",)))
    with pytest.raises(error):
        await adapter.operate(DEMO_CALL_ID, "Hold")


async def test_852_start_call_dials_once_and_finds_the_call(
    adapter: GenesysAdapter, emulator: GenesysEmulator, emulator_server: EmulatorServer
) -> None:
    emulator.select_variant("8.5.2")
    native = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert emulator.store.get(native)["participants"] == ["5001"]  # type: ignore[index]
    assert posts(emulator_server, DIAL) == 1


async def test_852_push_delivers_string_participants(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    emulator.select_variant("8.5.2")
    async with streaming(adapter) as stream:
        await stream.next()
        store.set_state(DEMO_CALL_ID, "Held")
        held = await stream.until(is_call(DEMO_CALL_ID, CallState.HELD))
        assert held.participants[0].phone_number == "15001"


async def test_push_skips_unmappable_notifications_and_delivers_later_ones(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    emulator.select_variant("8.5.2")
    async with streaming(adapter) as stream:
        await stream.next()
        for junk in (
            {"messageType": "CallStateChangeMessage", "call": {"state": "Held"}},  # no id
            {"messageType": "CallStateChangeMessage", "call": {"id": {"x": 1}}},
            {"messageType": "CallStateChangeMessage", "call": [1, 2]},
            {"messageType": 7},
            {"messageType": "DeviceStateChangeMessage", "devices": "none"},
            "not an object",
            [1, 2],
            None,
        ):
            emulator.cometd.publish(CALLS_CHANNEL, junk)
        store.set_state(DEMO_CALL_ID, "Held")
        await stream.until(is_call(DEMO_CALL_ID, CallState.HELD))
        store.set_state(DEMO_CALL_ID, "Established")
        await stream.until(is_call(DEMO_CALL_ID, CallState.CONNECTED))


# -- statusCodes --------------------------------------------------------------------------------

# Expected errors from the ReturnValues pages (8.5.1: 0-7; 8.5.2: 0-20), not from the table.
STATUS_CODES: list[tuple[int, type[SwitchboardError]]] = [
    (1, BadUserInput),  # a required parameter is missing
    (2, InvalidState),  # not valid for the current state
    (3, VendorForbidden),  # forbidden
    (4, VendorUnavailable),  # internal error
    (5, VendorForbidden),  # no permission
    (6, CallNotFound),  # not found
    (7, VendorConnectionLost),  # partial success: something may have been done
    (8, VendorUnauthenticated),  # change password demanded
    (9, VendorConnectionLost),  # processing incomplete
    (10, BadUserInput),  # input validation error
    (11, BadUserInput),  # read-only property
    (12, VendorUnavailable),  # unable to retrieve
    (13, VendorUnavailable),  # unable to create
    (14, VendorUnavailable),  # unable to delete
    (15, VendorUnavailable),  # unable to update
    (16, VendorUnavailable),  # unable to assign
    (17, VendorUnavailable),  # unable to unassign
    (18, InvalidState),  # already exists
    (19, InvalidState),  # already in use
    (42, VendorUnavailable),  # undocumented
]


@pytest.mark.parametrize(("code", "error"), STATUS_CODES, ids=[str(c) for c, _ in STATUS_CODES])
async def test_every_status_code_is_its_domain_error_with_the_vendor_message(
    adapter: GenesysAdapter,
    emulator: GenesysEmulator,
    emulator_server: EmulatorServer,
    code: int,
    error: type[SwitchboardError],
) -> None:
    emulator.select_variant("8.5.2")
    await adapter.fetch_many([DEMO_CALL_ID])
    emulator.refuse_next(400, code, f"refusal number {code}")
    with pytest.raises(error) as caught:
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert type(caught.value) is error
    assert f"statusCode {code}" in caught.value.message
    assert f"refusal number {code}" in caught.value.message
    # A refusal other than "no session" is final: the command is not sent again.
    assert posts(emulator_server, f"{CALLS}/{DEMO_CALL_ID}") == 1


async def test_a_refusal_under_http_200_is_still_a_refusal(
    adapter: GenesysAdapter, emulator: GenesysEmulator, emulator_server: EmulatorServer
) -> None:
    # Genesys's sample client tests "200 OK but errored statusCode"
    # (ErnestoGarciaGenesys/GenesysWebServicesClient, GenesysRequestTest.cs).
    await adapter.fetch_many([DEMO_CALL_ID])
    emulator.refuse_next(200, 2, "Invalid state")
    with pytest.raises(InvalidState) as caught:
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert "Invalid state" in caught.value.message
    assert posts(emulator_server, f"{CALLS}/{DEMO_CALL_ID}") == 1


async def test_a_refusal_under_http_500_is_unavailable_and_not_resent(
    adapter: GenesysAdapter, emulator: GenesysEmulator, emulator_server: EmulatorServer
) -> None:
    # The same sample client's "responds with Genesys failure": HTTP 500 with a statusCode.
    await adapter.fetch_many([DEMO_CALL_ID])
    emulator.refuse_next(500, 4, "Internal error")
    with pytest.raises(VendorUnavailable):
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert posts(emulator_server, f"{CALLS}/{DEMO_CALL_ID}") == 1


async def test_a_refused_read_is_the_error_of_that_call_alone(
    adapter: GenesysAdapter, emulator: GenesysEmulator
) -> None:
    emulator.select_variant("8.5.2")
    emulator.refuse_next(400, 12, "Unable to retrieve resource", method="GET")
    [result] = await adapter.fetch_many([DEMO_CALL_ID])
    assert isinstance(result, VendorUnavailable)
    assert "Unable to retrieve resource" in result.message


# -- session loss ---------------------------------------------------------------------------


async def test_unauthenticated_session_is_renewed_and_the_refused_command_sent_again(
    adapter: GenesysAdapter,
    emulator: GenesysEmulator,
    emulator_server: EmulatorServer,
    store: GenesysCallStore,
) -> None:
    emulator.select_variant("8.5.2")
    await adapter.fetch_many([DEMO_CALL_ID])
    before = adapter._http.cookie("JSESSIONID")
    emulator.refuse_next(401, 20, "User is not authenticated")
    emulator_server.control.requests.clear()
    held = asyncio.ensure_future(state_reached(store, DEMO_CALL_ID, "Held"))
    await asyncio.sleep(0)
    await adapter.operate(DEMO_CALL_ID, "Hold")
    await held
    # Refused before acting: a new session (new JSESSIONID, CSRF by a GET), sent again.
    assert [r.method for r in emulator_server.control.requests] == ["POST", "GET", "POST"]
    assert adapter._http.cookie("JSESSIONID") not in (None, before)


async def test_a_command_whose_answer_is_lost_is_never_sent_again(
    adapter: GenesysAdapter, emulator: GenesysEmulator, emulator_server: EmulatorServer
) -> None:
    from app.emulators.control import Fault

    await adapter.fetch_many([DEMO_CALL_ID])
    emulator_server.control.set_fault("genesys", Fault(drop=True))
    with pytest.raises(VendorUnavailable):
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert posts(emulator_server, f"{CALLS}/{DEMO_CALL_ID}") == 1


async def test_852_wrong_password_is_unauthenticated(
    vendor_http: VendorHttpFactory, emulator: GenesysEmulator
) -> None:
    emulator.select_variant("8.5.2")
    adapter = GenesysAdapter(vendor_http(Vendor.GENESYS), username=USERNAME, password="nope")
    with pytest.raises(VendorUnauthenticated):
        await adapter.fetch_many([DEMO_CALL_ID])


# -- two nodes behind a sticky balancer -------------------------------------------------------


async def test_two_nodes_every_request_sticks_to_the_node_of_the_session(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    emulator.select_variant("8.5.2-two-nodes")
    await adapter.fetch_many([DEMO_CALL_ID])
    assert adapter._http.cookie("AWSELB") in emulator.affinity
    session = adapter._http.cookie("JSESSIONID")
    assert session is not None
    assert session.startswith("node")
    assert ".node" in session
    held = asyncio.ensure_future(state_reached(store, DEMO_CALL_ID, "Held"))
    await asyncio.sleep(0)
    await adapter.operate(DEMO_CALL_ID, "Hold")
    await held
    await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert len(set(emulator.nodes_seen)) == 1


async def test_two_nodes_push_keeps_its_node_and_sends_bayeux_browser_back(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    emulator.select_variant("8.5.2-two-nodes")
    async with streaming(adapter) as stream:
        await stream.next()
        store.set_state(DEMO_CALL_ID, "Held")
        await stream.until(is_call(DEMO_CALL_ID, CallState.HELD))
    assert len(set(emulator.nodes_seen)) == 1
    browsers = emulator.cometd.browsers_seen
    assert browsers[0] is None  # the handshake sets it...
    assert all(browsers[1:])
    assert len(set(browsers[1:])) == 1


async def test_two_nodes_session_loss_moves_to_a_new_session(
    adapter: GenesysAdapter, emulator: GenesysEmulator, store: GenesysCallStore
) -> None:
    emulator.select_variant("8.5.2-two-nodes")
    await adapter.fetch_many([DEMO_CALL_ID])
    store.expire_sessions()
    held = asyncio.ensure_future(state_reached(store, DEMO_CALL_ID, "Held"))
    await asyncio.sleep(0)
    await adapter.operate(DEMO_CALL_ID, "Hold")
    await held
