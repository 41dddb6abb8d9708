"""The Oracle adapter against the Oracle emulator over loopback HTTP.

Pages cited are under docs.oracle.com `cd/E71009_01/Click2Call.2016-01/C2CCallSetupAPI/html/`.
"""

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
from app.vendors.oracle import OracleAdapter
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


def new_session(store: OracleCallStore, *, delay: int | None = None) -> str:
    return store.start("c2c-test", "+15550001111", delay=delay).session_id


async def until_requests(emulator_server: EmulatorServer, count: int) -> None:
    async with asyncio.timeout(5):
        while emulator_server.control.count("oracle") < count:  # noqa: ASYNC110 (server side)
            await asyncio.sleep(0.01)


# -- plain reads ---------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("raw_state", "state", "started_at", "ended_at"),
    [
        ("unknown", CallState.UNKNOWN, None, None),
        ("scheduled", CallState.SCHEDULED, None, None),
        ("initiated", CallState.DIALING, AT_NOW, None),
        ("connected", CallState.CONNECTED, AT_NOW, None),
        ("disconnected", CallState.ENDED, None, AT_NOW),
    ],
)
async def test_fetch_many_maps_each_state_and_its_time(
    adapter: OracleAdapter,
    store: OracleCallStore,
    raw_state: str,
    state: CallState,
    started_at: datetime | None,
    ended_at: datetime | None,
) -> None:
    session_id = new_session(store)
    store.set_state(session_id, raw_state, at=NOW)

    call = await fetch_one(adapter, session_id, OracleCall)

    assert (call.state, call.vendor_state) == (state, raw_state)
    assert (call.started_at, call.ended_at) == (started_at, ended_at)


@pytest.mark.parametrize("variant", ["integer-times", "string-times", "date-times"])
async def test_fetch_many_reads_a_scheduled_call_in_every_variant(
    adapter: OracleAdapter,
    emulator_server: EmulatorServer,
    store: OracleCallStore,
    variant: str,
) -> None:
    emulator_server.control.select_variant("oracle", variant)
    session_id = new_session(store, delay=90)

    call = await fetch_one(adapter, session_id, OracleCall)

    assert (call.state, call.session_id, call.time) == (CallState.SCHEDULED, session_id, AT_NOW)
    assert call.scheduled_time == datetime(2027, 1, 15, 8, 1, 30, tzinfo=UTC)
    assert (call.more, call.has_changed) == ("no", True)


async def test_a_second_plain_read_of_an_unchanged_call_answers_at_once(
    vendor_http: VendorHttpFactory,
) -> None:
    # Oracle holds a status request without `waitperiod` for 30 s when nothing changed
    # (s0204longpollingmechanism01.html): a plain read must ask for no wait.
    adapter = OracleAdapter(vendor_http(Vendor.ORACLE, timeout=1.0))
    first = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)

    second = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)

    assert (first.has_changed, second.has_changed) == (True, False)
    assert (second.state, second.more) == (CallState.CONNECTED, "maybe")


async def test_fetch_many_follows_has_changed_between_reads(
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


# -- the long poll, for watchers ------------------------------------------------------------


async def test_wait_for_change_answers_when_the_state_changes(
    adapter: OracleAdapter, store: OracleCallStore, emulator_server: EmulatorServer
) -> None:
    await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)  # the watcher's first snapshot
    emulator_server.control.requests.clear()

    waiting = asyncio.ensure_future(adapter.wait_for_change(DEMO_SESSION_ID, 60))
    await until_requests(emulator_server, 1)
    await asyncio.sleep(0.2)
    held = not waiting.done()
    store.end(DEMO_SESSION_ID)
    async with asyncio.timeout(5):
        call = await waiting

    assert held
    assert isinstance(call, OracleCall)
    assert (call.state, call.ended_at, call.has_changed) == (CallState.ENDED, AT_NOW, True)


async def test_wait_for_change_outlasts_the_request_timeout(
    vendor_http: VendorHttpFactory,
) -> None:
    # The wait (1 s) is longer than the vendor's request timeout (0.5 s): the long poll
    # gets its own deadline, and answers "unchanged" when Oracle's wait runs out.
    adapter = OracleAdapter(vendor_http(Vendor.ORACLE, timeout=0.5))
    await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)

    call = await adapter.wait_for_change(DEMO_SESSION_ID, 1)

    assert isinstance(call, OracleCall)
    assert (call.state, call.has_changed) == (CallState.CONNECTED, False)


async def test_wait_for_change_keeps_waitperiod_within_oracles_maximum(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    # Oracle permits at most 120 s (s0204longpollingmechanism01.html); more is refused.
    store.end(DEMO_SESSION_ID)

    call = await adapter.wait_for_change(DEMO_SESSION_ID, 600)

    assert isinstance(call, OracleCall)
    assert call.state is CallState.ENDED


async def test_wait_for_change_sees_a_change_a_plain_read_took_first(
    adapter: OracleAdapter, store: OracleCallStore, emulator_server: EmulatorServer
) -> None:
    # Oracle says "changed since the last request" of anyone: a query in between takes the
    # change, and the watcher's next long poll would wait the whole period for nothing.
    await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)
    waiting = asyncio.ensure_future(adapter.wait_for_change(DEMO_SESSION_ID, 60))
    await until_requests(emulator_server, 2)
    store.set_state(DEMO_SESSION_ID, "unknown")
    assert isinstance(await waiting, OracleCall)
    store.set_state(DEMO_SESSION_ID, "connected")
    query = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)  # takes the change

    async with asyncio.timeout(2):
        call = await adapter.wait_for_change(DEMO_SESSION_ID, 60)

    assert (query.state, query.has_changed) == (CallState.CONNECTED, True)
    assert isinstance(call, OracleCall)
    assert call.state is CallState.CONNECTED


async def test_wait_for_change_of_unknown_call_is_not_found(adapter: OracleAdapter) -> None:
    result = await adapter.wait_for_change("NoSuchSession", 30)

    assert isinstance(result, CallNotFound)


async def test_wait_for_change_vendor_timeout_raises(
    vendor_http: VendorHttpFactory, emulator_server: EmulatorServer
) -> None:
    adapter = OracleAdapter(vendor_http(Vendor.ORACLE, timeout=0.3))
    emulator_server.control.set_fault("oracle", Fault(timeout=True))

    with pytest.raises(VendorTimeout):
        await adapter.wait_for_change(DEMO_SESSION_ID, 0.5)


# -- start ----------------------------------------------------------------------------------


async def test_place_call_creates_the_session(
    adapter: OracleAdapter, store: OracleCallStore, emulator_server: EmulatorServer
) -> None:
    session_id = await adapter.place_call(
        "sales-callback",
        "+15551230000",
        delay=120,
        user_extension="204",
        visitor_context={"visitorId": "v-1", "language": "en"},
        authorize_url="https://crm.example.com/authorize",
        auth_encrypted=False,
    )

    session = store.get(session_id)
    assert session is not None
    assert (session.contact_id, session.user_phone, session.call_state) == (
        "sales-callback",
        "+15551230000",
        "scheduled",
    )
    assert (session.user_extension, session.visitor_context, session.authorize_url) == (
        "204",
        {"visitorId": "v-1", "language": "en"},
        "https://crm.example.com/authorize",
    )
    assert (await fetch_one(adapter, session_id, OracleCall)).state is CallState.SCHEDULED
    assert emulator_server.control.count("oracle", path_contains="/sales-callback/") == 1


async def test_place_call_without_options_is_dialing(adapter: OracleAdapter) -> None:
    session_id = await adapter.place_call("sales-callback", "+15551230000")

    assert (await fetch_one(adapter, session_id, OracleCall)).state is CallState.DIALING


@pytest.mark.parametrize(
    ("contact_id", "user_phone", "options"),
    [
        ("sales-callback", "5551230000", {}),
        ("..", "+15551230000", {}),
        ("a/b", "+15551230000", {}),
        ("sales-callback", "+15551230000", {"delay": -1}),
        ("sales-callback", "+15551230000", {"user_extension": "20a"}),
    ],
)
async def test_place_call_refuses_bad_input_without_a_request(
    adapter: OracleAdapter,
    emulator_server: EmulatorServer,
    contact_id: str,
    user_phone: str,
    options: dict[str, object],
) -> None:
    with pytest.raises(BadUserInput):
        await adapter.place_call(contact_id, user_phone, **options)  # type: ignore[arg-type]

    assert emulator_server.control.count("oracle") == 0


async def test_place_call_with_an_unknown_template_is_bad_user_input_with_oracles_text(
    adapter: OracleAdapter,
) -> None:
    # s0203startcallexamples01.html, example 4: no call template with that contactId → 404.
    with pytest.raises(BadUserInput) as raised:
        await adapter.place_call("ABC123", "+12026345789")

    assert raised.value.message == (
        "oracle refused to start the call (HTTP 404): "
        "Call template identified by Contact ID cannot be found."
    )


async def test_place_call_with_a_number_oracle_finds_invalid_is_bad_user_input(
    adapter: OracleAdapter,
) -> None:
    # Example 5: an invalid visitor number is "404 Bad Request" (E.164 in form, too short).
    with pytest.raises(BadUserInput, match="Visitor phone number is invalid"):
        await adapter.place_call("sales-callback", "+1202")


async def test_place_call_that_fails_to_start_is_bad_user_input_with_oracles_text(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    store.add_template("after-hours", open=False)

    with pytest.raises(BadUserInput, match=r"\(HTTP 404\): Start call attempt failed\.$"):
        await adapter.place_call("after-hours", "+15551230000")


async def test_place_call_vendor_400_is_bad_user_input_with_oracles_text(
    adapter: OracleAdapter,
) -> None:
    # JSON true is no delay (bool passes for int in Python, not at Oracle): a real 400.
    with pytest.raises(BadUserInput) as raised:
        await adapter.place_call("sales-callback", "+15551230000", delay=True)

    assert raised.value.message == (
        "oracle refused to start the call (HTTP 400): Call delay parameter is invalid."
    )


async def test_place_call_refused_user_extension_is_bad_user_input(
    adapter: OracleAdapter, emulator_server: EmulatorServer
) -> None:
    # A 400 as Oracle sends it, for an extension that passes our own check.
    emulator_server.control.set_fault("oracle", Fault(status=400))

    with pytest.raises(BadUserInput, match=r"\(HTTP 400\): emulated HTTP 400"):
        await adapter.place_call("sales-callback", "+15551230000", user_extension="204")


async def test_place_call_blacklisted_number_is_forbidden_with_oracles_text(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    # Example 6: the pre-call authorization checks failed (a blacklisted visitor number).
    store.blacklist.add("+15551230000")

    with pytest.raises(VendorForbidden) as raised:
        await adapter.place_call("sales-callback", "+15551230000")

    assert raised.value.message == (
        "oracle refused to start the call: Pre-call authorization checks failed."
    )
    assert raised.value.code == "FORBIDDEN"


async def test_place_call_refused_by_the_authorize_url_is_forbidden(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    store.refusing_authorizers.add("https://crm.example.com/authorize")

    with pytest.raises(VendorForbidden):
        await adapter.place_call(
            "sales-callback", "+15551230000", authorize_url="https://crm.example.com/authorize"
        )


async def test_place_call_is_not_retried_after_a_dropped_connection(
    adapter: OracleAdapter, emulator_server: EmulatorServer
) -> None:
    emulator_server.control.set_fault("oracle", Fault(drop=True))

    with pytest.raises(VendorUnavailable):
        await adapter.place_call("sales-callback", "+15551230000")

    assert emulator_server.control.count("oracle") == 1


# -- end ------------------------------------------------------------------------------------


async def test_hangup_ends_the_call(adapter: OracleAdapter, store: OracleCallStore) -> None:
    await adapter.hangup(DEMO_SESSION_ID)
    assert isinstance(store.clock, ManualClock)
    store.clock.advance(1)  # the hang-up takes a moment

    call = await fetch_one(adapter, DEMO_SESSION_ID, OracleCall)
    ended_at = datetime(2027, 1, 15, 8, 0, 1, tzinfo=UTC)
    assert (call.state, call.ended_at) == (CallState.ENDED, ended_at)
    assert call.capabilities == ()


async def test_hangup_of_ended_call_is_invalid_state_with_oracles_text(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    store.end(DEMO_SESSION_ID)

    with pytest.raises(InvalidState) as raised:
        await adapter.hangup(DEMO_SESSION_ID)

    assert raised.value.message == (
        f"oracle did not end call {DEMO_SESSION_ID}: The call has already ended."
    )


async def test_hangup_of_ending_call_is_invalid_state(
    adapter: OracleAdapter, store: OracleCallStore
) -> None:
    await adapter.hangup(DEMO_SESSION_ID)  # ending: still connected for a moment

    with pytest.raises(InvalidState, match="already ended"):
        await adapter.hangup(DEMO_SESSION_ID)


async def test_hangup_of_unknown_call_is_not_found_with_oracles_text(
    adapter: OracleAdapter,
) -> None:
    with pytest.raises(CallNotFound) as raised:
        await adapter.hangup("NoSuchSession")

    assert raised.value.message == (
        "oracle has no call session NoSuchSession: Attempt to end the call failed."
    )


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
