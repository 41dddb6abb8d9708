"""The Huawei CEC adapter against the Huawei emulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app.calls import CallId, CallState, HuaweiCall, Vendor
from app.emulators import DEMO_CREDENTIALS, Fault
from app.emulators.huawei import DEMO_CALL_SERIAL_NO, ENDED, HuaweiEmulator
from app.errors import (
    BadUserInput,
    CallNotFound,
    NotSupported,
    SwitchboardError,
    VendorTimeout,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.huawei import (
    CREATE_CALL_PATH,
    QUERY_CALL_STATE_PATH,
    TOKEN_PATH,
    HuaweiAdapter,
    huawei_call_from_wire,
)
from app.vendors.huawei.reasons import ITA_REASONS
from tests.adapters import fetch_one
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory

CREDENTIALS = DEMO_CREDENTIALS["huawei"]


@pytest.fixture
def huawei(emulator_server: EmulatorServer) -> HuaweiEmulator:
    return emulator_server.emulator(HuaweiEmulator)


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> HuaweiAdapter:
    return HuaweiAdapter(
        vendor_http(Vendor.HUAWEI),
        app_key=CREDENTIALS["app_key"],
        app_secret=CREDENTIALS["app_secret"],
    )


def token_requests(server: EmulatorServer) -> int:
    return server.control.count("huawei", path_contains=TOKEN_PATH)


def queries(server: EmulatorServer) -> int:
    return server.control.count("huawei", path_contains=QUERY_CALL_STATE_PATH)


def assert_no_secrets(error: BaseException, huawei: HuaweiEmulator) -> None:
    message = str(error)
    assert CREDENTIALS["app_secret"] not in message
    assert CREDENTIALS["app_key"] not in message
    for token in huawei.tokens:
        assert token not in message


# -- snapshots -----------------------------------------------------------------------------


async def test_fetch_many_demo_call_has_seed_values(adapter: HuaweiAdapter) -> None:
    call = await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert call == HuaweiCall(
        call_id=CallId(Vendor.HUAWEI, DEMO_CALL_SERIAL_NO),
        state=CallState.ENDED,
        vendor_state="3",
        started_at=datetime(2021, 5, 24, 2, 37, 45, tzinfo=UTC),
        ended_at=datetime(2021, 5, 24, 2, 37, 52, tzinfo=UTC),
        call_serial_no=DEMO_CALL_SERIAL_NO,
        reason_code=0,
        reason="Callee hung up",
        call_data=None,
        caller="88889050",
        called="88889060",
        caller_present="640003",
        agent_present="640060",
    )
    assert call.id == f"huawei:{DEMO_CALL_SERIAL_NO}"
    assert call.capabilities == ()


# VENDORS.md §2 / seed 001 1.3.1: 0 to be called, 1 calling, 2 talking, 3 ended.
@pytest.mark.parametrize(
    ("raw_state", "state"),
    [
        (0, CallState.DIALING),
        (1, CallState.RINGING),
        (2, CallState.CONNECTED),
        (3, CallState.ENDED),
    ],
)
async def test_fetch_many_maps_every_raw_state(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, raw_state: int, state: CallState
) -> None:
    call = huawei.calls.add_call("88881234", "60001234")
    huawei.calls.set_state(call.call_serial_no, raw_state)
    snapshot = await fetch_one(adapter, call.call_serial_no, HuaweiCall)
    assert (snapshot.state, snapshot.vendor_state) == (state, str(raw_state))


async def test_fetch_many_unmapped_state_is_unknown(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator
) -> None:
    call = huawei.calls.add_call("88881234", "60001234")
    huawei.calls.set_state(call.call_serial_no, 7)
    snapshot = await fetch_one(adapter, call.call_serial_no, HuaweiCall)
    assert (snapshot.state, snapshot.vendor_state) == (CallState.UNKNOWN, "7")


async def test_fetch_many_call_to_be_called_has_no_times(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator
) -> None:
    call = huawei.calls.add_call("88881234", "60001234", call_data="order-7")
    snapshot = await fetch_one(adapter, call.call_serial_no, HuaweiCall)
    assert (snapshot.state, snapshot.started_at, snapshot.ended_at) == (
        CallState.DIALING,
        None,
        None,
    )
    assert (snapshot.reason_code, snapshot.reason, snapshot.call_data) == (None, None, "order-7")


@pytest.mark.parametrize(
    ("reason_code", "reason"),
    [
        (0, "Callee hung up"),
        (1, "Caller hung up"),
        (2, "Outbound call to the caller failed"),
        (3, "Callee could not be called"),
        (4, "Caller did not answer"),
        (5, "Callee did not answer"),
        (6, "Call could not be started"),
        (17, "Other exception: The user is busy."),
        (127, "Other exception: Unspecified interaction."),
        (10, "Other exception"),
        (65535, "Other exception"),
    ],
)
async def test_fetch_many_reason_code_is_readable(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, reason_code: int, reason: str
) -> None:
    call = huawei.calls.add_call("88881234", "60001234")
    huawei.calls.end_call(call.call_serial_no, reason_code)
    snapshot = await fetch_one(adapter, call.call_serial_no, HuaweiCall)
    assert (snapshot.reason_code, snapshot.reason) == (reason_code, reason)


def test_ita_reasons_cover_the_seed_table_range() -> None:
    assert min(ITA_REASONS) == 1
    assert max(ITA_REASONS) == 127
    assert len(ITA_REASONS) == 69  # every row of the seed's table but 0 (N/A)


def test_call_from_wire_accepts_times_and_numbers_as_strings() -> None:
    # Quirk: times are documented as strings but sent as numbers; both must parse.
    snapshot = huawei_call_from_wire(
        "42",
        {
            "state": 2,
            "startTime": "1572794607000",
            "endTime": " 1572794608000 ",
            "caller": "88881234",
        },
    )
    assert snapshot is not None
    assert snapshot.started_at == datetime(2019, 11, 3, 15, 23, 27, tzinfo=UTC)
    assert snapshot.ended_at == datetime(2019, 11, 3, 15, 23, 28, tzinfo=UTC)
    assert (snapshot.state, snapshot.vendor_state) == (CallState.CONNECTED, "2")


def test_call_from_wire_tolerates_missing_and_odd_values() -> None:
    snapshot = huawei_call_from_wire("42", {"state": 1, "startTime": "", "endTime": "soon"})
    assert snapshot is not None
    assert (snapshot.state, snapshot.vendor_state) == (CallState.RINGING, "1")
    assert (snapshot.started_at, snapshot.ended_at) == (None, None)


def test_call_from_wire_without_usable_state_is_unreadable() -> None:
    assert huawei_call_from_wire("42", {"startTime": 1572794607000}) is None
    assert huawei_call_from_wire("42", {"state": "talking"}) is None


# -- batches -------------------------------------------------------------------------------


async def test_fetch_many_unknown_call_is_not_found_in_its_slot(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator
) -> None:
    other = huawei.calls.add_call("88881234", "60001234")
    results = await adapter.fetch_many([DEMO_CALL_SERIAL_NO, "999", other.call_serial_no])
    first, missing, last = results
    assert isinstance(first, HuaweiCall)
    assert first.call_serial_no == DEMO_CALL_SERIAL_NO
    assert isinstance(missing, CallNotFound)
    assert missing.vendor == "huawei"
    assert "999" in str(missing)
    assert isinstance(last, HuaweiCall)
    assert last.call_serial_no == other.call_serial_no


async def test_fetch_many_malformed_serial_is_bad_user_input_in_its_slot(
    adapter: HuaweiAdapter,
) -> None:
    # CallId allows letters in a native id; Huawei's serial numbers are digits only.
    results = await adapter.fetch_many(["abc", DEMO_CALL_SERIAL_NO])
    assert isinstance(results[0], BadUserInput)
    assert results[0].vendor == "huawei"
    assert isinstance(results[1], HuaweiCall)


async def test_fetch_many_queries_each_id_once_with_one_token(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    serials = [huawei.calls.add_call("88881234", f"6000{i:04d}").call_serial_no for i in range(20)]
    results = await adapter.fetch_many(serials)
    assert [r.call_serial_no for r in results if isinstance(r, HuaweiCall)] == serials
    assert queries(emulator_server) == 20
    assert token_requests(emulator_server) == 1
    assert [r.path for r in emulator_server.control.requests if r.method != "POST"] == []


async def test_fetch_many_empty_batch_makes_no_request(
    adapter: HuaweiAdapter, emulator_server: EmulatorServer
) -> None:
    assert await adapter.fetch_many([]) == []
    assert emulator_server.control.count("huawei") == 0


# -- tokens --------------------------------------------------------------------------------


async def test_token_is_fetched_once_for_concurrent_batches(
    adapter: HuaweiAdapter, emulator_server: EmulatorServer
) -> None:
    batches = await asyncio.gather(*(adapter.fetch_many([DEMO_CALL_SERIAL_NO]) for _ in range(10)))
    assert all(isinstance(batch[0], HuaweiCall) for batch in batches)
    assert token_requests(emulator_server) == 1
    assert queries(emulator_server) == 10


async def test_token_is_refreshed_before_expiry(
    vendor_http: VendorHttpFactory, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    vendor_clock, our_clock = ManualClock(), ManualClock(50.0)
    huawei.clock = vendor_clock
    adapter = HuaweiAdapter(
        vendor_http(Vendor.HUAWEI),
        app_key=CREDENTIALS["app_key"],
        app_secret=CREDENTIALS["app_secret"],
        token_lifetime=120,
        clock=our_clock,
    )
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    [issued] = huawei.tokens.values()
    assert issued.expires_at == vendor_clock.now + 120  # X-Token-Expire carried the lifetime
    for clock in (vendor_clock, our_clock):
        clock.advance(60)
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert token_requests(emulator_server) == 1
    for clock in (vendor_clock, our_clock):
        clock.advance(35)  # 95 s in: 25 s before the vendor would refuse the token
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert token_requests(emulator_server) == 2
    assert queries(emulator_server) == 3  # no request was refused and resent


async def test_token_expired_by_vendor_is_refreshed_once(
    adapter: HuaweiAdapter, emulator_server: EmulatorServer
) -> None:
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    emulator_server.control.expire_tokens("huawei")
    results = await adapter.fetch_many([DEMO_CALL_SERIAL_NO, "999"])
    assert isinstance(results[0], HuaweiCall)
    assert isinstance(results[1], CallNotFound)
    assert token_requests(emulator_server) == 2
    assert queries(emulator_server) == 5  # 1, then 2 refused and 2 resent


async def test_token_refused_twice_is_unauthenticated(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.clock = ManualClock(step=700.0)  # every token expires before it is used
    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.fetch_many([DEMO_CALL_SERIAL_NO])
    assert caught.value.vendor == "huawei"
    assert token_requests(emulator_server) == 2
    assert queries(emulator_server) == 2
    assert_no_secrets(caught.value, huawei)


async def test_wrong_secret_is_unauthenticated_without_leaking_it(
    vendor_http: VendorHttpFactory, huawei: HuaweiEmulator
) -> None:
    adapter = HuaweiAdapter(
        vendor_http(Vendor.HUAWEI), app_key=CREDENTIALS["app_key"], app_secret="not-the-secret"
    )
    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.fetch_many([DEMO_CALL_SERIAL_NO])
    assert "not-the-secret" not in str(caught.value)
    assert_no_secrets(caught.value, huawei)


def test_adapter_refuses_token_lifetime_beyond_vendor_maximum(
    vendor_http: VendorHttpFactory,
) -> None:
    with pytest.raises(ValueError, match="3600"):
        HuaweiAdapter(vendor_http(Vendor.HUAWEI), app_key="a", app_secret="s", token_lifetime=3601)


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [Fault(status=503), Fault(status=500), Fault(drop=True), Fault(status=404)]
)
async def test_vendor_failure_is_unavailable(
    adapter: HuaweiAdapter,
    huawei: HuaweiEmulator,
    emulator_server: EmulatorServer,
    fault: Fault,
) -> None:
    emulator_server.control.set_fault("huawei", fault)
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.fetch_many([DEMO_CALL_SERIAL_NO, "999"])
    assert caught.value.vendor == "huawei"
    assert_no_secrets(caught.value, huawei)


async def test_vendor_failure_after_token_is_unavailable_without_token(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    emulator_server.control.set_fault("huawei", Fault(status=503))
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.fetch_many([DEMO_CALL_SERIAL_NO])
    assert huawei.tokens
    assert_no_secrets(caught.value, huawei)


async def test_vendor_silence_is_timeout(
    vendor_http: VendorHttpFactory, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    adapter = HuaweiAdapter(
        vendor_http(Vendor.HUAWEI, timeout=0.3),
        app_key=CREDENTIALS["app_key"],
        app_secret=CREDENTIALS["app_secret"],
    )
    emulator_server.control.set_fault("huawei", Fault(timeout=True))
    with pytest.raises(VendorTimeout) as caught:
        await adapter.fetch_many([DEMO_CALL_SERIAL_NO])
    assert caught.value.vendor == "huawei"
    assert_no_secrets(caught.value, huawei)


async def test_active_calls_is_not_supported(adapter: HuaweiAdapter) -> None:
    with pytest.raises(NotSupported):
        await adapter.active_calls(None)


# -- createCall ----------------------------------------------------------------------------


async def test_create_call_starts_a_call_to_be_called(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    serial = await adapter.create_call(
        "88881234",
        "60001234",
        agent_work_no="101",
        call_data="order-7",
        caller_present="640003",
        agent_present="640060",
    )
    call = huawei.calls.get(serial)
    assert call is not None
    assert (call.caller, call.called, call.agent_work_no, call.call_data) == (
        "88881234",
        "60001234",
        "101",
        "order-7",
    )
    assert (call.caller_present, call.agent_present) == ("640003", "640060")
    snapshot = await fetch_one(adapter, serial, HuaweiCall)
    assert (snapshot.state, snapshot.vendor_state) == (CallState.DIALING, "0")
    huawei.calls.end_call(serial, 1)
    assert (await fetch_one(adapter, serial, HuaweiCall)).state == CallState.ENDED
    assert huawei.calls.get(serial) is not None
    assert emulator_server.control.count("huawei", path_contains=CREATE_CALL_PATH) == 1


@pytest.mark.parametrize(("caller", "call_data"), [("+88881234", None), ("88881234", "x" * 1025)])
async def test_create_call_refused_input_is_bad_user_input(
    adapter: HuaweiAdapter, caller: str, call_data: str | None
) -> None:
    with pytest.raises(BadUserInput) as caught:
        await adapter.create_call(caller, "60001234", call_data=call_data)
    assert caught.value.vendor == "huawei"


async def test_create_call_long_agent_work_no_is_refused_before_any_request(
    adapter: HuaweiAdapter, emulator_server: EmulatorServer
) -> None:
    with pytest.raises(BadUserInput):
        await adapter.create_call("88881234", "60001234", agent_work_no="123456")
    assert emulator_server.control.count("huawei") == 0


async def test_create_call_is_not_resent_after_a_dropped_connection(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)  # token in hand
    calls_before = len(huawei.calls)
    emulator_server.control.set_fault("huawei", Fault(drop=True))
    with pytest.raises(VendorUnavailable):
        await adapter.create_call("88881234", "60001234")
    assert emulator_server.control.count("huawei", path_contains=CREATE_CALL_PATH) == 1
    assert len(huawei.calls) == calls_before


async def test_create_call_after_token_expiry_is_sent_again_once(
    adapter: HuaweiAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    emulator_server.control.expire_tokens("huawei")
    calls_before = len(huawei.calls)
    serial = await adapter.create_call("88881234", "60001234")
    assert len(huawei.calls) == calls_before + 1
    assert emulator_server.control.count("huawei", path_contains=CREATE_CALL_PATH) == 2
    call = huawei.calls.get(serial)
    assert call is not None
    assert call.state != ENDED


async def test_errors_are_switchboard_errors_naming_the_vendor(
    adapter: HuaweiAdapter,
) -> None:
    results = await adapter.fetch_many(["1", "abc"])
    for result in results:
        assert isinstance(result, SwitchboardError)
        assert result.extensions["vendor"] == "huawei"
