"""The Oracle adapter against the Oracle emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app.calls import CallId, CallState, Capability, OracleCall, Vendor
from app.emulators.control import Fault
from app.emulators.oracle import DEMO_SESSION_ID, OracleCallStore, OracleEmulator
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    SwitchboardError,
    VendorForbidden,
    VendorTimeout,
    VendorUnavailable,
)
from app.vendors.oracle import ORACLE_STATES, OracleAdapter, OracleStatusWire, call_from_wire
from tests.adapters import fetch_one
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory

NOW = 1_800_000_000  # the emulator's clock in these tests
AT_NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(emulator_server: EmulatorServer) -> OracleCallStore:
    calls = emulator_server.emulator(OracleEmulator).calls
    calls.clock = ManualClock(now=NOW)
    return calls


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> OracleAdapter:
    return OracleAdapter(vendor_http(Vendor.ORACLE))


def new_session(
    store: OracleCallStore, *, delay: int | None = None, quirky_status: bool = False
) -> str:
    return store.start(
        "c2c-test", "+15550001111", delay=delay, quirky_status=quirky_status
    ).session_id


async def test_fetch_many_demo_call_has_exact_fields(adapter: OracleAdapter) -> None:
    call = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)

    connected_at = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert call == OracleCall(
        call_id=CallId(Vendor.ORACLE, DEMO_SESSION_ID),
        state=CallState.CONNECTED,
        vendor_state="connected",
        started_at=connected_at,
        ended_at=None,
        session_id=DEMO_SESSION_ID,
        time=connected_at,
        scheduled_time=None,
        more="yes",
        has_changed=True,
    )
    assert call.id == f"oracle:{DEMO_SESSION_ID}"
    assert call.capabilities == (Capability.HANGUP,)


@pytest.mark.parametrize(("raw_state", "state"), list(ORACLE_STATES.items()))
async def test_fetch_many_maps_every_raw_state(
    adapter: OracleAdapter, store: OracleCallStore, raw_state: str, state: CallState
) -> None:
    session_id = new_session(store)
    store.set_state(session_id, raw_state)

    call = await fetch_one(adapter, session_id, OracleCall)

    assert (call.state, call.vendor_state) == (state, raw_state)


@pytest.mark.parametrize(
    ("raw_state", "started_at", "ended_at"),
    [
        ("unknown", None, None),
        ("scheduled", None, None),
        ("initiated", AT_NOW, None),
        ("connected", AT_NOW, None),
        ("disconnected", None, AT_NOW),
    ],
)
async def test_fetch_many_takes_start_and_end_from_time(
    adapter: OracleAdapter,
    store: OracleCallStore,
    raw_state: str,
    started_at: datetime | None,
    ended_at: datetime | None,
) -> None:
    session_id = new_session(store)
    store.set_state(session_id, raw_state, at=NOW)

    call = await fetch_one(adapter, session_id, OracleCall)

    assert (call.started_at, call.ended_at) == (started_at, ended_at)
    assert call.started_at is None or call.started_at.tzinfo is UTC


async def test_fetch_many_scheduled_call_has_scheduled_time(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    session_id = new_session(store, delay=90)

    call = await fetch_one(adapter, session_id, OracleCall)

    assert (call.state, call.time) == (CallState.SCHEDULED, AT_NOW)
    assert call.scheduled_time == datetime(2027, 1, 15, 8, 1, 30, tzinfo=UTC)


def test_unrecognised_raw_state_is_unknown() -> None:
    call = call_from_wire("s1", {"sessionId": "s1", "callState": "transferring", "more": "yes"})

    assert (call.state, call.vendor_state) == (CallState.UNKNOWN, "transferring")


async def test_fetch_many_reads_quirky_status(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    session_id = new_session(store, delay=60, quirky_status=True)

    call = await fetch_one(adapter, session_id, OracleCall)

    assert call.session_id == session_id
    assert call.time == AT_NOW
    assert call.scheduled_time == datetime(2027, 1, 15, 8, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("has_changed", "expected"), [("yes", True), ("no", False), (True, True), (False, False)]
)
def test_has_changed_accepts_words_and_booleans(has_changed: str | bool, expected: bool) -> None:
    wire: OracleStatusWire = {
        "sessionId": "s1",
        "callState": "connected",
        "hasChanged": has_changed,
    }

    assert call_from_wire("s1", wire).has_changed is expected


def test_unreadable_time_is_refused() -> None:
    with pytest.raises(ValueError, match="not epoch seconds"):
        call_from_wire("s1", {"sessionId": "s1", "callState": "connected", "time": "soon"})


async def test_fetch_many_follows_has_changed_between_polls(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    first = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)
    second = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)
    store.end(DEMO_SESSION_ID)
    third = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)

    assert [(c.more, c.has_changed) for c in (first, second, third)] == [
        ("yes", True),
        ("maybe", False),
        ("no", True),
    ]


async def test_fetch_many_unknown_call_fails_only_its_slot(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    other = new_session(store)

    results = await adapter.fetch_many([DEMO_SESSION_ID, "NoSuchSession", other])

    assert isinstance(results[0], OracleCall)
    assert results[0].session_id == DEMO_SESSION_ID
    assert isinstance(results[1], CallNotFound)
    assert results[1].vendor == "oracle"
    assert "NoSuchSession" in results[1].message
    assert isinstance(results[2], OracleCall)
    assert results[2].session_id == other


async def test_fetch_many_sends_one_status_request_per_id(
    adapter: OracleAdapter, store: OracleCallStore, emulator_server: EmulatorServer
) -> None:
    ids = [DEMO_SESSION_ID, *(new_session(store) for _ in range(4))]
    emulator_server.control.requests.clear()

    results = await adapter.fetch_many(ids)

    assert [r.session_id for r in results if isinstance(r, OracleCall)] == ids
    control = emulator_server.control
    assert control.count("oracle") == len(ids)
    assert all(control.count("oracle", path_contains=f"/{i}/status") == 1 for i in ids)


async def test_fetch_many_has_every_request_in_flight_at_once(
    vendor_http: VendorHttpFactory, store: OracleCallStore, emulator_server: EmulatorServer
) -> None:
    adapter = OracleAdapter(vendor_http(Vendor.ORACLE, timeout=10))
    ids = [DEMO_SESSION_ID, new_session(store), new_session(store)]
    control = emulator_server.control
    control.set_fault("oracle", Fault(timeout=True))  # holds each request until cleared

    fetching = asyncio.create_task(adapter.fetch_many(ids))
    for _ in range(1000):  # until every request has reached the emulator, or the fetch ended
        if control.count("oracle") == len(ids) or fetching.done():
            break
        await asyncio.sleep(0.01)
    in_flight = control.count("oracle")
    control.clear_faults("oracle")

    with pytest.raises(VendorUnavailable):
        await fetching
    assert in_flight == len(ids)


async def test_fetch_many_4xx_is_vendor_unavailable_in_its_slot(
    adapter: OracleAdapter, emulator_server: EmulatorServer
) -> None:
    emulator_server.control.set_fault("oracle", Fault(status=400))

    (result,) = await adapter.fetch_many([DEMO_SESSION_ID])

    assert isinstance(result, VendorUnavailable)
    assert "HTTP 400" in result.message


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=503), VendorUnavailable),
        (Fault(drop=True), VendorUnavailable),
        (Fault(timeout=True), VendorTimeout),
    ],
)
async def test_fetch_many_vendor_failure_raises(
    vendor_http: VendorHttpFactory,
    emulator_server: EmulatorServer,
    fault: Fault,
    error: type[SwitchboardError],
) -> None:
    adapter = OracleAdapter(vendor_http(Vendor.ORACLE, timeout=0.3))
    emulator_server.control.set_fault("oracle", fault)

    with pytest.raises(error) as raised:
        await adapter.fetch_many([DEMO_SESSION_ID])

    assert raised.value.vendor == "oracle"
    assert emulator_server.url not in str(raised.value)


async def test_place_call_creates_the_session(
    adapter: OracleAdapter, store: OracleCallStore, emulator_server: EmulatorServer
) -> None:
    session_id = await adapter.place_call(
        "sales-callback",
        "+15551230000",
        delay=120,
        user_extension="204",
        visitor_context={"page": "pricing"},
    )

    session = store.get(session_id)
    assert session is not None
    assert (session.contact_id, session.user_phone, session.call_state) == (
        "sales-callback",
        "+15551230000",
        "scheduled",
    )
    assert (session.user_extension, session.visitor_context) == ("204", {"page": "pricing"})
    assert (await fetch_one(adapter, session_id, OracleCall)).state is CallState.SCHEDULED
    assert emulator_server.control.count("oracle", path_contains="/sales-callback/") == 1


async def test_place_call_without_options_is_dialing(adapter: OracleAdapter) -> None:
    session_id = await adapter.place_call("sales-callback", "+15551230000")

    assert (await fetch_one(adapter, session_id, OracleCall)).state is CallState.DIALING


@pytest.mark.parametrize(
    ("contact_id", "user_phone"),
    [("sales-callback", "5551230000"), ("..", "+15551230000"), ("a/b", "+15551230000")],
)
async def test_place_call_refuses_bad_input_without_a_request(
    adapter: OracleAdapter, emulator_server: EmulatorServer, contact_id: str, user_phone: str
) -> None:
    with pytest.raises(BadUserInput):
        await adapter.place_call(contact_id, user_phone)

    assert emulator_server.control.count("oracle") == 0


async def test_place_call_vendor_400_is_bad_user_input(adapter: OracleAdapter) -> None:
    with pytest.raises(BadUserInput, match="delay must be a whole number"):
        await adapter.place_call("sales-callback", "+15551230000", delay=-1)


async def test_place_call_403_is_forbidden(
    adapter: OracleAdapter, emulator_server: EmulatorServer
) -> None:
    emulator_server.control.set_fault("oracle", Fault(status=403))

    with pytest.raises(VendorForbidden):
        await adapter.place_call("sales-callback", "+15551230000")


async def test_place_call_is_not_retried_after_a_dropped_connection(
    adapter: OracleAdapter, emulator_server: EmulatorServer
) -> None:
    emulator_server.control.set_fault("oracle", Fault(drop=True))

    with pytest.raises(VendorUnavailable):
        await adapter.place_call("sales-callback", "+15551230000")

    assert emulator_server.control.count("oracle") == 1


@pytest.mark.usefixtures("store")
async def test_hangup_ends_the_call(adapter: OracleAdapter) -> None:
    await adapter.hangup(DEMO_SESSION_ID)

    call = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)
    assert (call.state, call.ended_at) == (CallState.ENDED, AT_NOW)
    assert call.capabilities == ()


async def test_hangup_of_ended_call_is_invalid_state(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    store.end(DEMO_SESSION_ID)

    with pytest.raises(InvalidState, match="already ended"):
        await adapter.hangup(DEMO_SESSION_ID)


async def test_hangup_of_unknown_call_is_not_found(adapter: OracleAdapter) -> None:
    with pytest.raises(CallNotFound):
        await adapter.hangup("NoSuchSession")


async def test_hangup_refuses_a_malformed_session_id(
    adapter: OracleAdapter, emulator_server: EmulatorServer
) -> None:
    with pytest.raises(BadUserInput):
        await adapter.hangup("../status")

    assert emulator_server.control.count("oracle") == 0


async def test_close_ends_the_http_session(vendor_http: VendorHttpFactory) -> None:
    http = vendor_http(Vendor.ORACLE)
    adapter = OracleAdapter(http)
    session = http.session

    await adapter.close()

    assert session.closed
