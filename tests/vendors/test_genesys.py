"""GenesysAdapter against the Genesys emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

from app.calls import (
    CallId,
    CallState,
    Capability,
    GenesysCall,
    GenesysParticipant,
    Vendor,
)
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_store import (
    DEMO_CALL_ID,
    DEVICE_ID,
    LINK_BASE,
    STATES,
    GenesysCallStore,
)
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    SwitchboardError,
    VendorForbidden,
    VendorTimeout,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.genesys import GENESYS_STATES, GenesysAdapter, call_from_wire
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory

USERNAME = DEMO_CREDENTIALS["genesys"]["username"]
PASSWORD = DEMO_CREDENTIALS["genesys"]["password"]
CALLS = "/genesys/api/v2/me/calls"

DEMO_CALL = GenesysCall(
    call_id=CallId(Vendor.GENESYS, DEMO_CALL_ID),
    state=CallState.CONNECTED,
    vendor_state="Established",
    call_uuid="01RCC3N118B1V0SL8O7GK2LAES000010",
    conn_id="0071027198180020",
    device_uri=f"{LINK_BASE}/api/v2/devices/631608b3-ceb1-472b-ba05-2ae39555b0d1",
    device_number="15000",  # GET /api/v2/me/devices: that device's phoneNumber
    participants=(
        GenesysParticipant(
            e164_number="",
            formatted_phone_number="15001",
            phone_number="15001",
            digits="15001",
        ),
    ),
    dnis="15001",
    call_type="Internal",
    vendor_capabilities=(
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
    user_data={"AccountNumber": "12345678"},
    duration=7,
    mute="Off",
    recording_state="Stopped",
    supervisor_listening_in=False,
    monitored_user_muted=False,
    monitoring=False,
    uri=f"{LINK_BASE}/api/v2/me/calls/01RCC3N118B1V0SL8O7GK2LAES000010",
    path="/calls/01RCC3N118B1V0SL8O7GK2LAES000010",
)


@pytest.fixture
def store(emulator_server: EmulatorServer) -> GenesysCallStore:
    return emulator_server.emulator(GenesysEmulator).store


@pytest.fixture
def clock(store: GenesysCallStore) -> ManualClock:
    # A whole number, so that moving it by whole seconds gives exact durations.
    clock = ManualClock(now=float(int(time.monotonic())))
    store.clock = clock
    return clock


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> GenesysAdapter:
    return GenesysAdapter(vendor_http(Vendor.GENESYS), username=USERNAME, password=PASSWORD)


def requests(server: EmulatorServer, method: str, path: str) -> int:
    """How many `method` requests the Genesys emulator received for exactly `path`."""
    return sum(
        1
        for r in server.control.requests
        if r.vendor == "genesys" and r.method == method and r.path == path
    )


def assert_no_secrets(error: BaseException) -> None:
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, basic, "JSESSIONID", "X-CSRF-TOKEN"):
        assert secret not in str(error)


async def state_reached(store: GenesysCallStore, call_id: str, state: str) -> None:
    """Wait (bounded) until the emulator moves the call to `state`."""
    reached = asyncio.Event()

    def listen(call: dict[str, Any]) -> None:
        if call["id"] == call_id and call["state"] == state:
            reached.set()

    store.add_listener(listen)
    try:
        await asyncio.wait_for(reached.wait(), timeout=5)
    finally:
        store.remove_listener(listen)


# -- fetching ---------------------------------------------------------------------------------


async def test_fetch_demo_call_has_the_seed_values(
    adapter: GenesysAdapter, emulator_server: EmulatorServer
) -> None:
    [call] = await adapter.fetch_many([DEMO_CALL_ID])
    assert call == DEMO_CALL
    assert isinstance(call, GenesysCall)
    assert call.id == f"genesys:{DEMO_CALL_ID}"
    assert call.capabilities == (Capability.HOLD, Capability.HANGUP)
    assert requests(emulator_server, "GET", f"{CALLS}/{DEMO_CALL_ID}") == 1
    assert requests(emulator_server, "GET", CALLS) == 0


async def test_fetch_many_sends_one_list_request_for_listed_calls(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    added = [store.add_call(state=state)["id"] for state in ("Dialing", "Ringing", "Held")]
    results = await adapter.fetch_many([added[2], DEMO_CALL_ID, added[0], added[1]])
    assert results[1] == DEMO_CALL
    assert [r.id for r in results if isinstance(r, GenesysCall)] == [
        f"genesys:{native}" for native in (added[2], DEMO_CALL_ID, added[0], added[1])
    ]
    assert requests(emulator_server, "GET", CALLS) == 1
    # Call requests (the device list that numbers the calls is read once, aside).
    assert emulator_server.control.count("genesys", path_contains="/calls") == 1


async def test_fetch_many_unknown_call_is_not_found_in_its_slot(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    other = store.add_call(state="Established")["id"]
    results = await adapter.fetch_many([DEMO_CALL_ID, "NOSUCHCALL", other])

    assert results[0] == DEMO_CALL
    assert isinstance(results[1], CallNotFound)
    assert results[1].vendor == "genesys"
    assert "NOSUCHCALL" in results[1].message
    assert isinstance(results[2], GenesysCall)
    assert results[2].call_id == CallId(Vendor.GENESYS, other)
    assert requests(emulator_server, "GET", CALLS) == 1
    assert requests(emulator_server, "GET", f"{CALLS}/NOSUCHCALL") == 1
    assert emulator_server.control.count("genesys", path_contains="/calls") == 2


async def test_fetch_single_unknown_call_is_not_found(adapter: GenesysAdapter) -> None:
    [result] = await adapter.fetch_many(["NOSUCHCALL"])
    assert isinstance(result, CallNotFound)


async def test_fetch_many_gets_a_released_call_gone_from_the_list_once(
    adapter: GenesysAdapter,
    emulator_server: EmulatorServer,
    store: GenesysCallStore,
    clock: ManualClock,
) -> None:
    released = store.add_call(state="Established")["id"]
    store.end(released)
    clock.advance(store.released_retention + 1)

    results = await adapter.fetch_many([DEMO_CALL_ID, released])
    assert results[0] == DEMO_CALL
    assert isinstance(results[1], GenesysCall)
    assert results[1].state is CallState.ENDED
    assert results[1].vendor_capabilities == ()
    assert requests(emulator_server, "GET", CALLS) == 1
    assert requests(emulator_server, "GET", f"{CALLS}/{released}") == 1
    assert requests(emulator_server, "GET", f"{CALLS}/{DEMO_CALL_ID}") == 0


# The states VENDORS.md §5 lists (Dialing, Ringing, Established, Held, Released) and what
# each means in the domain: literals, not the adapter's own table.
DOCUMENTED_STATES = [
    ("Dialing", CallState.DIALING),
    ("Ringing", CallState.RINGING),
    ("Established", CallState.CONNECTED),
    ("Held", CallState.HELD),
    ("Released", CallState.ENDED),
]


def test_state_table_covers_every_emulated_state() -> None:
    assert set(GENESYS_STATES) == set(STATES)


@pytest.mark.parametrize(("raw_state", "state"), DOCUMENTED_STATES)
async def test_fetch_maps_each_raw_state(
    adapter: GenesysAdapter, store: GenesysCallStore, raw_state: str, state: CallState
) -> None:
    call_id = store.add_call(state="Ringing")["id"]
    store.set_state(call_id, raw_state)

    [single] = await adapter.fetch_many([call_id])
    listed = (await adapter.fetch_many([call_id, DEMO_CALL_ID]))[0]
    for call in (single, listed):
        assert isinstance(call, GenesysCall)
        assert call.state is state
        assert call.vendor_state == raw_state


def test_call_from_wire_unknown_or_missing_state_is_unknown() -> None:
    assert call_from_wire({"id": "X1", "state": "Alerting"}).state is CallState.UNKNOWN
    assert call_from_wire({"id": "X1"}).vendor_state is None
    assert call_from_wire({"id": "X1"}).state is CallState.UNKNOWN


async def test_fetch_maps_international_participant_and_growing_duration(
    adapter: GenesysAdapter, store: GenesysCallStore, clock: ManualClock
) -> None:
    country = {"name": "United States", "code": "US", "callingCode": "1"}
    call_id = store.add_call(
        state="Established",
        call_type="Inbound",
        participants=[
            {
                "e164Number": "+14155550123",
                "formattedPhoneNumber": "(415) 555-0123",
                "phoneNumber": "+14155550123",
                "digits": "14155550123",
                "country": country,
                "location": "California",
                "localPhoneNumber": "(415) 555-0123",
                "E164digits": "+14155550123",
            }
        ],
    )["id"]
    clock.advance(65)

    [call] = await adapter.fetch_many([call_id])
    assert isinstance(call, GenesysCall)
    assert call.participants == (
        GenesysParticipant(
            e164_number="+14155550123",
            formatted_phone_number="(415) 555-0123",
            phone_number="+14155550123",
            digits="14155550123",
            country=country,
            location="California",
            local_phone_number="(415) 555-0123",
            e164_digits="+14155550123",
        ),
    )
    assert call.duration == 65
    assert call.call_type == "Inbound"


async def test_active_calls_lists_calls_in_progress_by_extension(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    ringing = store.add_call(
        state="Ringing",
        dnis="15000",
        participants=[{"phoneNumber": "15123", "digits": "15123"}],
    )["id"]
    store.end(store.add_call(state="Established", dnis="15000")["id"])

    everything = await adapter.active_calls(None)
    assert {call.call_id.native for call in everything} == {DEMO_CALL_ID, ringing}
    assert await adapter.active_calls("15001") == [DEMO_CALL]
    assert [c.call_id.native for c in await adapter.active_calls("15123")] == [ringing]
    assert [c.call_id.native for c in await adapter.active_calls("15000")] == [ringing]
    assert await adapter.active_calls("99999") == []


# -- sessions and operations ----------------------------------------------------------------


async def test_concurrent_first_requests_share_one_session(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    results = await asyncio.gather(*(adapter.fetch_many([DEMO_CALL_ID]) for _ in range(6)))
    assert all(result == [DEMO_CALL] for result in results)
    assert store.session_count == 1


async def test_operate_hold_is_accepted_and_the_call_is_held_later(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    held = asyncio.ensure_future(state_reached(store, DEMO_CALL_ID, "Held"))
    await asyncio.sleep(0)
    await adapter.operate(DEMO_CALL_ID, "Hold")
    [accepted] = await adapter.fetch_many([DEMO_CALL_ID])
    assert isinstance(accepted, GenesysCall)
    assert accepted.state is CallState.CONNECTED

    await held
    [call] = await adapter.fetch_many([DEMO_CALL_ID])
    assert isinstance(call, GenesysCall)
    assert call.state is CallState.HELD
    assert "Retrieve" in call.vendor_capabilities
    assert call.capabilities == (Capability.RETRIEVE, Capability.HANGUP)


async def test_operate_without_a_session_gets_the_csrf_token_first(
    adapter: GenesysAdapter, emulator_server: EmulatorServer
) -> None:
    await adapter.operate(DEMO_CALL_ID, "Hold")
    assert [(r.method, r.path) for r in emulator_server.control.requests] == [
        ("GET", f"{CALLS}/{DEMO_CALL_ID}"),
        ("POST", f"{CALLS}/{DEMO_CALL_ID}"),
    ]


async def test_operate_after_a_fetch_sends_only_the_post(
    adapter: GenesysAdapter, emulator_server: EmulatorServer
) -> None:
    await adapter.fetch_many([DEMO_CALL_ID, "NOSUCHCALL"])
    emulator_server.control.requests.clear()
    await adapter.operate(DEMO_CALL_ID, "Hold")
    assert [r.method for r in emulator_server.control.requests] == ["POST"]


async def test_operate_invalid_for_the_state_is_invalid_state(
    adapter: GenesysAdapter, emulator_server: EmulatorServer
) -> None:
    with pytest.raises(InvalidState) as caught:
        await adapter.operate(DEMO_CALL_ID, "Retrieve")
    assert caught.value.vendor == "genesys"
    assert "statusCode 2" in caught.value.message
    assert requests(emulator_server, "POST", f"{CALLS}/{DEMO_CALL_ID}") == 1


async def test_operate_without_operation_name_is_bad_user_input(adapter: GenesysAdapter) -> None:
    with pytest.raises(BadUserInput):
        await adapter.operate(DEMO_CALL_ID, "")


async def test_operate_on_unknown_call_is_not_found(
    adapter: GenesysAdapter, emulator_server: EmulatorServer
) -> None:
    await adapter.fetch_many([DEMO_CALL_ID])
    with pytest.raises(CallNotFound):
        await adapter.operate("NOSUCHCALL", "Hold")
    assert requests(emulator_server, "POST", f"{CALLS}/NOSUCHCALL") == 1


@pytest.mark.parametrize("expiry", ["expire-sessions", "control-expire-tokens", "idle-timeout"])
async def test_operate_after_session_expiry_refreshes_once_and_succeeds(
    adapter: GenesysAdapter,
    emulator_server: EmulatorServer,
    store: GenesysCallStore,
    clock: ManualClock,
    expiry: str,
) -> None:
    await adapter.fetch_many([DEMO_CALL_ID])
    if expiry == "expire-sessions":
        store.expire_sessions()
    elif expiry == "control-expire-tokens":
        emulator_server.control.expire_tokens("genesys")
    else:
        clock.advance(store.session_timeout + 1)
    emulator_server.control.requests.clear()

    held = asyncio.ensure_future(state_reached(store, DEMO_CALL_ID, "Held"))
    await asyncio.sleep(0)
    await adapter.operate(DEMO_CALL_ID, "Hold")
    await held
    assert [r.method for r in emulator_server.control.requests] == ["POST", "GET", "POST"]


async def test_concurrent_operations_after_expiry_refresh_the_session_once(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    call_ids = [store.add_call(state="Established")["id"] for _ in range(4)]
    await adapter.fetch_many(call_ids)
    store.expire_sessions()
    emulator_server.control.requests.clear()

    await asyncio.gather(*(adapter.operate(call_id, "Hold") for call_id in call_ids))
    methods = [r.method for r in emulator_server.control.requests]
    assert methods.count("GET") == 1
    assert methods.count("POST") == 8


async def test_operate_refused_again_after_refresh_is_forbidden(
    adapter: GenesysAdapter, emulator_server: EmulatorServer
) -> None:
    await adapter.fetch_many([DEMO_CALL_ID])
    emulator_server.control.requests.clear()
    emulator_server.control.set_fault("genesys", Fault(status=403))
    with pytest.raises(VendorForbidden) as caught:
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert [r.method for r in emulator_server.control.requests] == ["POST", "GET"]
    assert_no_secrets(caught.value)


# -- credentials and vendor failures --------------------------------------------------------


async def test_wrong_password_is_unauthenticated_without_retry(
    vendor_http: VendorHttpFactory, emulator_server: EmulatorServer
) -> None:
    adapter = GenesysAdapter(
        vendor_http(Vendor.GENESYS), username=USERNAME, password="not-the-password"
    )
    with pytest.raises(VendorUnauthenticated) as fetching:
        await adapter.fetch_many([DEMO_CALL_ID, "OTHER"])
    with pytest.raises(VendorUnauthenticated) as operating:
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert emulator_server.control.count("genesys") == 2
    for error in (fetching.value, operating.value):
        assert error.vendor == "genesys"
        assert "not-the-password" not in str(error)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=503), VendorUnavailable),
        (Fault(timeout=True), VendorTimeout),
        (Fault(drop=True), VendorUnavailable),
    ],
    ids=["503", "timeout", "drop"],
)
@pytest.mark.parametrize(
    "native_ids", [[DEMO_CALL_ID], [DEMO_CALL_ID, "OTHER"]], ids=["one", "two"]
)
async def test_vendor_failure_fails_the_fetch(
    vendor_http: VendorHttpFactory,
    emulator_server: EmulatorServer,
    fault: Fault,
    error: type[SwitchboardError],
    native_ids: list[str],
) -> None:
    adapter = GenesysAdapter(
        vendor_http(Vendor.GENESYS, timeout=0.3), username=USERNAME, password=PASSWORD
    )
    emulator_server.control.set_fault("genesys", fault)
    with pytest.raises(error) as caught:
        await adapter.fetch_many(native_ids)
    assert caught.value.vendor == "genesys"
    assert_no_secrets(caught.value)


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault(status=503), VendorUnavailable), (Fault(drop=True), VendorUnavailable)],
    ids=["503", "drop"],
)
async def test_vendor_failure_during_an_operation_is_not_retried(
    adapter: GenesysAdapter,
    emulator_server: EmulatorServer,
    fault: Fault,
    error: type[SwitchboardError],
) -> None:
    await adapter.fetch_many([DEMO_CALL_ID])
    emulator_server.control.requests.clear()
    emulator_server.control.set_fault("genesys", fault)
    with pytest.raises(error) as caught:
        await adapter.operate(DEMO_CALL_ID, "Hold")
    assert [r.method for r in emulator_server.control.requests] == ["POST"]
    assert_no_secrets(caught.value)


# -- call control: perform ---------------------------------------------------------------------

DEVICES = "/genesys/api/v2/me/devices"
DIAL = f"{DEVICES}/{DEVICE_ID}/calls"


async def fetched(adapter: GenesysAdapter, native_id: str) -> GenesysCall:
    [call] = await adapter.fetch_many([native_id])
    assert isinstance(call, GenesysCall)
    return call


async def reaches(adapter: GenesysAdapter, native_id: str, state: CallState) -> GenesysCall:
    """Fetch until the call is in `state` (bounded), as the gateway confirms an operation."""
    for _ in range(250):  # 5 s at most
        call = await fetched(adapter, native_id)
        if call.state is state:
            return call
        await asyncio.sleep(0.02)
    raise AssertionError(f"call {native_id} never reached {state}; last {call.vendor_state}")


async def test_perform_walks_a_call_through_hold_retrieve_and_hangup(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    store.transition_delay = 0.05
    for operation, state in [
        (Capability.HOLD, CallState.HELD),
        (Capability.RETRIEVE, CallState.CONNECTED),
        (Capability.HANGUP, CallState.ENDED),
    ]:
        await adapter.perform(await fetched(adapter, DEMO_CALL_ID), operation)
        call = await reaches(adapter, DEMO_CALL_ID, state)
        assert (
            call.vendor_state
            == {
                CallState.HELD: "Held",
                CallState.CONNECTED: "Established",
                CallState.ENDED: "Released",
            }[state]
        )
    assert requests(emulator_server, "POST", f"{CALLS}/{DEMO_CALL_ID}") == 3


async def test_perform_returns_once_accepted_before_the_state_changes(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    store.transition_delay = 3600
    await adapter.perform(DEMO_CALL, Capability.HOLD)
    assert (await fetched(adapter, DEMO_CALL_ID)).state is CallState.CONNECTED


async def test_perform_with_operations_not_applied_is_accepted_but_unchanged(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    store.transition_delay = 0.01
    store.apply_operations = False
    await adapter.perform(DEMO_CALL, Capability.HOLD)
    store.apply_operations = True
    # A later operation's transition fires after the first one would have.
    other = store.add_call(state="Established")["id"]
    await adapter.perform(await fetched(adapter, other), Capability.HANGUP)
    await reaches(adapter, other, CallState.ENDED)

    assert await fetched(adapter, DEMO_CALL_ID) == DEMO_CALL
    assert requests(emulator_server, "POST", f"{CALLS}/{DEMO_CALL_ID}") == 1


async def test_perform_invalid_for_the_vendors_state_is_invalid_state(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    ringing = store.add_call(state="Ringing")["id"]
    with pytest.raises(InvalidState) as caught:
        await adapter.perform(await fetched(adapter, ringing), Capability.HOLD)
    assert caught.value.vendor == "genesys"


async def test_perform_after_csrf_expiry_refreshes_once_and_succeeds(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    store.transition_delay = 0.01
    call = await fetched(adapter, DEMO_CALL_ID)
    emulator_server.control.expire_tokens("genesys")
    emulator_server.control.requests.clear()

    await adapter.perform(call, Capability.HOLD)
    assert [r.method for r in emulator_server.control.requests] == ["POST", "GET", "POST"]
    await reaches(adapter, DEMO_CALL_ID, CallState.HELD)


async def test_perform_whose_answer_is_lost_is_not_resent(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    store.transition_delay = 0.01
    call = await fetched(adapter, DEMO_CALL_ID)
    emulator_server.control.set_fault("genesys", Fault(drop_after=True, methods=("POST",)))
    with pytest.raises(VendorUnavailable):
        await adapter.perform(call, Capability.HOLD)
    emulator_server.control.clear_faults()
    await reaches(adapter, DEMO_CALL_ID, CallState.HELD)
    assert requests(emulator_server, "POST", f"{CALLS}/{DEMO_CALL_ID}") == 1
