"""The VoipNow adapter against the VoipNow emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters import StartCall
from app.calls import CallId, CallState, Capability, Vendor, VoipNowCall, VoipNowCallView
from app.emulators.control import Fault
from app.emulators.voipnow import TOKEN_LIFETIME, VoipNowEmulator
from app.emulators.voipnow_store import DEMO_CALL_ID, PhoneCall, PhoneCallStore, PhoneCallView
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    NotSupported,
    OutcomeUnknown,
    SwitchboardError,
    VendorTimeout,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.voipnow import VoipNowAdapter, created_native_id
from tests.adapters import fetch_one
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory
from tests.vendors.voipnow_support import (
    DEMO,
    add_call,
    assert_no_secrets,
    make_adapter,
    requests_of,
    token_requests,
)


@pytest.fixture
def store(emulator_server: EmulatorServer) -> PhoneCallStore:
    return emulator_server.emulator(VoipNowEmulator).store


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> VoipNowAdapter:
    return make_adapter(vendor_http)


async def test_fetch_many_demo_call_has_exact_fields(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    answered = datetime(2012, 6, 27, 13, 8, 55, tzinfo=UTC)
    assert await fetch_one(adapter, DEMO, VoipNowCall) == VoipNowCall(
        call_id=CallId(Vendor.VOIPNOW, DEMO),
        state=CallState.CONNECTED,
        vendor_state="5",
        started_at=answered,
        user_id="12",
        extension="0003*210",
        phone_call_id=DEMO_CALL_ID,
        owner_id="3",
        owner_name="Default Organization",
        published=datetime(2012, 6, 27, 14, 8, 50, tzinfo=UTC),
        answered=answered,
        views=(
            VoipNowCallView(
                id="00",
                extension="0003*210",
                source=("0003*024",),
                destination=("0003*210",),
                flow=2,
                status=5,
                answered=answered,
            ),
            VoipNowCallView(
                id="01",
                extension="0003*024",
                source=("0003*024",),
                destination=("0003*210",),
                caller_id="John Doe <3334444>",
                status=5,
                answered=answered,
            ),
        ),
        link=f"{emulator_server.base_url('voipnow')}/uapi/phoneCalls/{DEMO}",
    )


# VENDORS.md §4: 0 unknown, 1 off hook, 2 trying, 3 ringing, 4 other side ringing, 5 on call.
@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("0", CallState.UNKNOWN),
        ("1", CallState.DIALING),
        ("2", CallState.DIALING),
        ("3", CallState.RINGING),
        ("4", CallState.RINGING),
        ("5", CallState.CONNECTED),
    ],
)
@pytest.mark.parametrize("variant", ["seed", "resource"])
async def test_view_status_maps_to_call_state(
    emulator_server: EmulatorServer,
    adapter: VoipNowAdapter,
    store: PhoneCallStore,
    status: str,
    state: CallState,
    variant: str,
) -> None:
    emulator_server.control.select_variant("voipnow", variant)
    store.set_status(DEMO_CALL_ID, status)
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    assert (call.state, call.vendor_state) == (state, status)


async def test_held_view_maps_to_held_whatever_its_status(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    store.hold(DEMO_CALL_ID, "01")
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    assert (call.state, call.vendor_state) == (CallState.HELD, "5")
    own, other = call.views
    assert (own.holder, other.holder) == (0, 1)
    assert own.on_hold is not None
    assert own.on_hold.tzinfo == UTC


async def test_call_without_views_is_unknown(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    store.add_call(PhoneCall("noviews", "12", "0003*211", []))
    call = await fetch_one(adapter, "12/0003*211/noviews", VoipNowCall)
    assert (call.state, call.vendor_state, call.views) == (CallState.UNKNOWN, None, ())


async def test_fetch_many_unknown_calls_are_not_found_in_their_slots(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    other = add_call(store, "othercall")
    ids = [
        "12/0003*210/nosuchcall",  # same extension as DEMO: read from the list
        DEMO,
        "12/0003*211/nosuchcall",  # alone on its extension: pc_phonecall_invalid
        other,
        "12/0003*999/nosuchcall",  # extension_invalid
        "99/0003*210/nosuchcall",  # user_invalid
    ]
    results = await adapter.fetch_many(ids)
    assert [type(r) for r in results] == [
        CallNotFound,
        VoipNowCall,
        CallNotFound,
        VoipNowCall,
        CallNotFound,
        CallNotFound,
    ]
    assert [r.id for r in results if isinstance(r, VoipNowCall)] == [
        f"voipnow:{DEMO}",
        f"voipnow:{other}",
    ]
    for native_id, result in zip(ids, results, strict=True):
        if isinstance(result, CallNotFound):
            assert native_id in result.message
            assert result.vendor == "voipnow"


async def test_fetch_many_reads_an_extension_once_and_a_lone_id_by_itself(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    ids = [DEMO, add_call(store, "second"), add_call(store, "third")]
    lone = add_call(store, "lone", "0003*211")
    results = await adapter.fetch_many([*ids, lone])
    assert [r.id for r in results if isinstance(r, VoipNowCall)] == [
        f"voipnow:{native_id}" for native_id in (*ids, lone)
    ]
    assert sorted(requests_of(emulator_server, "GET", "/uapi/")) == [
        "/voipnow/uapi/phoneCalls/12/0003*210",
        "/voipnow/uapi/phoneCalls/12/0003*211/lone",
    ]
    assert token_requests(emulator_server) == 1


async def test_fetch_many_encodes_extension_with_hash(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    native_id = add_call(store, "hashcall", "0003#7")
    call = await fetch_one(adapter, native_id, VoipNowCall)
    assert call.extension == "0003#7"
    assert requests_of(emulator_server, "GET", "/uapi/") == [
        "/voipnow/uapi/phoneCalls/12/0003#7/hashcall"
    ]


async def test_token_is_fetched_once_for_concurrent_requests(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    ids = [add_call(store, f"call{n}", "0003*211") for n in range(10)]
    results = await asyncio.gather(*(adapter.fetch_many([native_id]) for native_id in ids))
    assert all(isinstance(r, VoipNowCall) for (r,) in results)
    assert token_requests(emulator_server) == 1


async def test_token_is_refreshed_before_it_expires(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    emulator_clock, adapter_clock = ManualClock(), ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = emulator_clock
    adapter = make_adapter(vendor_http, clock=adapter_clock)
    await fetch_one(adapter, DEMO, VoipNowCall)
    # Shortly before expiry: the emulator still takes the old token, but it is not used.
    for clock in (emulator_clock, adapter_clock):
        clock.advance(TOKEN_LIFETIME - 10)
    await fetch_one(adapter, DEMO, VoipNowCall)
    assert token_requests(emulator_server) == 2
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 2  # no 401, no retry


async def test_expired_token_is_replaced_once_after_401(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    await fetch_one(adapter, DEMO, VoipNowCall)
    emulator_server.control.expire_tokens("voipnow")
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    assert call.state is CallState.CONNECTED
    assert token_requests(emulator_server) == 2
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 3


async def test_second_401_is_unauthenticated(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    emulator = emulator_server.emulator(VoipNowEmulator)
    # Every reading of this clock is two hours after the last: each token is expired
    # by the time it is first used.
    emulator.clock = ManualClock(step=2 * TOKEN_LIFETIME)
    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.fetch_many([DEMO])
    assert caught.value.vendor == "voipnow"
    assert token_requests(emulator_server) == 2
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 2
    assert_no_secrets(caught.value, emulator)


async def test_bad_client_secret_is_unauthenticated(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    adapter = make_adapter(vendor_http, client_secret="not-the-secret")
    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.fetch_many([DEMO])
    assert "invalid_client" in caught.value.message
    assert "not-the-secret" not in str(caught.value)
    assert_no_secrets(caught.value, emulator_server.emulator(VoipNowEmulator))


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=503), VendorUnavailable),
        (Fault(drop=True), VendorUnavailable),
        (Fault(timeout=True), VendorTimeout),
    ],
)
async def test_vendor_faults_raise_vendor_errors(
    emulator_server: EmulatorServer,
    vendor_http: VendorHttpFactory,
    fault: Fault,
    error: type[SwitchboardError],
) -> None:
    adapter = make_adapter(vendor_http, timeout=0.3)
    await fetch_one(adapter, DEMO, VoipNowCall)  # a token in hand: the fault hits the read itself
    emulator_server.control.set_fault("voipnow", fault)
    with pytest.raises(error) as caught:
        await adapter.fetch_many([DEMO])
    assert caught.value.vendor == "voipnow"
    assert_no_secrets(caught.value, emulator_server.emulator(VoipNowEmulator))


async def test_fault_on_token_request_raises_vendor_error(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    emulator_server.control.set_fault("voipnow", Fault(status=502))
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.fetch_many([DEMO])
    assert_no_secrets(caught.value, emulator_server.emulator(VoipNowEmulator))


async def test_active_calls_of_self_extension_builds_ids_from_links(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    (call,) = await adapter.active_calls(None)
    assert call == await fetch_one(adapter, DEMO, VoipNowCall)
    assert requests_of(emulator_server, "GET", "/uapi/")[0] == "/voipnow/uapi/phoneCalls/@me/@self"


async def test_active_calls_of_named_extension(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    native_id = add_call(store, "elsewhere", "0003*211")
    calls = await adapter.active_calls("0003*211")
    assert [call.id for call in calls] == [f"voipnow:{native_id}"]
    assert await adapter.active_calls("0003*212") == []  # the vendor's 204


@pytest.mark.parametrize("extension", ["0003*999", "../admin", ""])
async def test_active_calls_of_unknown_or_malformed_extension_is_bad_user_input(
    adapter: VoipNowAdapter, extension: str
) -> None:
    with pytest.raises(BadUserInput):
        await adapter.active_calls(extension)


@pytest.mark.parametrize("answer", [200, 202, 204])
async def test_act_accepts_every_documented_success_code(
    adapter: VoipNowAdapter, store: PhoneCallStore, answer: int
) -> None:
    store.action_status = answer
    await adapter.act(DEMO, "OnHold", "01")
    assert (await fetch_one(adapter, DEMO, VoipNowCall)).state is CallState.HELD
    await adapter.act(DEMO, "OffHold", "01")
    assert (await fetch_one(adapter, DEMO, VoipNowCall)).state is CallState.CONNECTED


async def test_act_hangup_ends_the_call(adapter: VoipNowAdapter) -> None:
    await adapter.act(DEMO, "Hangup", "00")
    (result,) = await adapter.fetch_many([DEMO])
    assert isinstance(result, CallNotFound)


@pytest.mark.parametrize(
    ("native_id", "action", "view_id", "error"),
    [
        (DEMO, "OnHold", "07", InvalidState),  # a view the call no longer has
        ("12/0003*210/nosuchcall", "OnHold", "01", CallNotFound),
        (DEMO, "OffHold", "01", InvalidState),
    ],
)
async def test_act_maps_vendor_errors(
    adapter: VoipNowAdapter,
    native_id: str,
    action: str,
    view_id: str,
    error: type[SwitchboardError],
) -> None:
    with pytest.raises(error) as caught:
        await adapter.act(native_id, action, view_id)
    assert caught.value.vendor == "voipnow"


async def test_act_is_sent_once_when_connection_drops(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    await fetch_one(adapter, DEMO, VoipNowCall)
    emulator_server.control.set_fault("voipnow", Fault(drop=True))
    with pytest.raises(VendorUnavailable):
        await adapter.act(DEMO, "OnHold", "01")
    assert len(requests_of(emulator_server, "PUT", "/uapi/")) == 1


async def test_act_after_expired_token_is_retried_once_with_new_token(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    await fetch_one(adapter, DEMO, VoipNowCall)
    emulator_server.control.expire_tokens("voipnow")
    await adapter.act(DEMO, "OnHold", "01")
    assert len(requests_of(emulator_server, "PUT", "/uapi/")) == 2
    held = store.get(DEMO_CALL_ID)
    assert held is not None
    assert held.views[1].holder == "1"


# -- perform: hold, retrieve, hang up ---------------------------------------------------


def emulated(store: PhoneCallStore, phone_call_id: str = DEMO_CALL_ID) -> PhoneCall:
    call = store.get(phone_call_id)
    assert call is not None
    return call


@pytest.mark.parametrize("answer", [200, 202, 204])
async def test_perform_hold_and_retrieve_act_on_the_own_view(
    adapter: VoipNowAdapter, store: PhoneCallStore, answer: int
) -> None:
    store.action_status = answer
    await adapter.perform(await fetch_one(adapter, DEMO, VoipNowCall), Capability.HOLD)
    own, other = emulated(store).views
    assert (own.id, own.holder, other.holder) == ("00", "1", "0")
    assert own.on_hold is not None
    held = await fetch_one(adapter, DEMO, VoipNowCall)
    assert held.state is CallState.HELD
    await adapter.perform(held, Capability.RETRIEVE)
    assert [(v.on_hold, v.holder) for v in emulated(store).views] == [(None, None)] * 2
    assert (await fetch_one(adapter, DEMO, VoipNowCall)).state is CallState.CONNECTED


async def test_perform_hold_names_the_own_view_even_when_it_is_not_first(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    views = [
        PhoneCallView("00", "0003*024", status="5"),
        PhoneCallView("01", "0003*211", status="5"),
    ]
    store.add_call(PhoneCall("ownsecond", "12", "0003*211", views))
    call = await fetch_one(adapter, "12/0003*211/ownsecond", VoipNowCall)
    await adapter.perform(call, Capability.HOLD)
    assert [v.holder for v in emulated(store, "ownsecond").views] == ["0", "1"]


async def test_perform_hangup_deletes_the_call(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    await adapter.perform(await fetch_one(adapter, DEMO, VoipNowCall), Capability.HANGUP)
    assert store.get(DEMO_CALL_ID) is None
    assert requests_of(emulator_server, "DELETE", "/uapi/") == [f"/voipnow/uapi/phoneCalls/{DEMO}"]
    (result,) = await adapter.fetch_many([DEMO])
    assert isinstance(result, CallNotFound)


async def test_perform_hangup_of_a_call_already_gone_is_not_found(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    store.hang_up(DEMO_CALL_ID)
    with pytest.raises(CallNotFound) as caught:
        await adapter.perform(call, Capability.HANGUP)
    assert caught.value.vendor == "voipnow"


async def test_perform_with_a_view_id_the_vendor_rejects_is_invalid_state(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    emulated(store).views[0].id = "02"  # the call changed (e.g. was transferred) since read
    with pytest.raises(InvalidState) as caught:
        await adapter.perform(call, Capability.HOLD)
    assert "pc_phonecallview_invalid" in caught.value.message


async def test_perform_hold_of_a_ringing_call_is_invalid_state(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    store.set_status(DEMO_CALL_ID, "3")
    with pytest.raises(InvalidState) as caught:
        await adapter.perform(call, Capability.HOLD)
    assert "pc_phonecall_action_invalid" in caught.value.message


async def test_perform_hold_of_a_call_without_views_is_invalid_state_without_request(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    store.add_call(PhoneCall("noviews", "12", "0003*211", []))
    call = await fetch_one(adapter, "12/0003*211/noviews", VoipNowCall)
    with pytest.raises(InvalidState):
        await adapter.perform(call, Capability.HOLD)
    assert requests_of(emulator_server, "PUT", "/uapi/") == []


async def test_perform_is_acknowledged_but_not_applied_when_vendor_never_confirms(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    store.apply_actions = False
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    for operation in (Capability.HOLD, Capability.HANGUP):
        await adapter.perform(call, operation)
    assert await fetch_one(adapter, DEMO, VoipNowCall) == call


async def test_perform_is_sent_once_when_the_answer_is_lost(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    emulator_server.control.set_fault("voipnow", Fault(drop_after=True, methods=("PUT",)))
    with pytest.raises(VendorUnavailable):
        await adapter.perform(call, Capability.HOLD)
    assert len(requests_of(emulator_server, "PUT", "/uapi/")) == 1
    assert emulated(store).views[0].holder == "1"  # the vendor did act


# -- start_call ------------------------------------------------------------------------


def start(to: str = "0003*024", from_: str | None = "0003*210", **more: Any) -> StartCall:
    return StartCall(Vendor.VOIPNOW, to=to, from_=from_, **more)


async def test_start_call_creates_a_call_that_connects_after_answer_delay(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    clock = ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = clock
    native_id = await adapter.start_call(start())
    user_id, extension, phone_call_id = native_id.split("/")
    assert (user_id, extension, phone_call_id in store.calls) == ("12", "0003*210", True)
    assert requests_of(emulator_server, "POST", "/uapi/") == ["/voipnow/uapi/phoneCalls/@me/simple"]
    call = await fetch_one(adapter, native_id, VoipNowCall)
    assert call.state is CallState.DIALING
    own = call.own_view
    assert own is not None
    assert (own.extension, own.source, own.destination) == (
        "0003*210",
        ("0003*210",),
        ("0003*024",),
    )
    clock.advance(store.ring_delay)
    assert (await fetch_one(adapter, native_id, VoipNowCall)).state is CallState.RINGING
    clock.advance(store.answer_delay - store.ring_delay)
    connected = await fetch_one(adapter, native_id, VoipNowCall)
    assert connected.state is CallState.CONNECTED
    await adapter.perform(connected, Capability.HOLD)
    assert (await fetch_one(adapter, native_id, VoipNowCall)).state is CallState.HELD


async def test_start_call_to_a_public_number_is_listed_as_active(
    adapter: VoipNowAdapter,
) -> None:
    native_id = await adapter.start_call(start(to="+40212345678"))
    calls = await adapter.active_calls(None)
    assert f"voipnow:{native_id}" in [call.id for call in calls]


@pytest.mark.parametrize(
    "request_",
    [
        start(from_=None),
        start(from_="alice"),
        start(from_="0003*210/x"),
        start(to=""),
        start(to="../admin"),
    ],
)
async def test_start_call_with_malformed_numbers_is_bad_user_input_without_request(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, request_: StartCall
) -> None:
    with pytest.raises(BadUserInput) as caught:
        await adapter.start_call(request_)
    assert caught.value.vendor == "voipnow"
    assert emulator_server.control.count("voipnow") == 0


async def test_start_call_from_another_users_extension_is_bad_user_input(
    adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    with pytest.raises(BadUserInput) as caught:
        await adapter.start_call(start(from_="0003*024"))
    assert "extension_invalid" in caught.value.message
    assert list(store.calls) == [DEMO_CALL_ID]


async def test_start_call_with_a_delay_is_not_supported(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    with pytest.raises(NotSupported):
        await adapter.start_call(start(delay_seconds=60))
    assert emulator_server.control.count("voipnow") == 0


async def test_start_call_is_sent_once_when_the_answer_is_lost(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    await fetch_one(adapter, DEMO, VoipNowCall)  # a token in hand: the fault hits the POST
    emulator_server.control.set_fault("voipnow", Fault(drop_after=True, methods=("POST",)))
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.start_call(start())
    assert len(requests_of(emulator_server, "POST", "/simple")) == 1
    assert len(store.calls) == 2  # the demo call and the one the vendor did create
    assert_no_secrets(caught.value, emulator_server.emulator(VoipNowEmulator))


async def test_start_call_answered_with_garbage_is_outcome_unknown(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    await fetch_one(adapter, DEMO, VoipNowCall)
    # A 2xx whose body names no call: the vendor may have placed one, so this is no failure
    # to report as such (a retry would ring the phones twice).
    emulator_server.control.set_fault("voipnow", Fault(status=200, methods=("POST",)))
    with pytest.raises(OutcomeUnknown, match="outcome is unknown"):
        await adapter.start_call(start())
    assert len(requests_of(emulator_server, "POST", "/simple")) == 1


LINK = "https://voipnow.example/uapi/phoneCalls/12/0003*210/abc123"


@pytest.mark.parametrize(
    "body",
    [
        [{"id": "abc123", "link": {"self": LINK}}],
        [{"id": "abc123", "links": {"self": LINK}}],
        {"id": "abc123", "link": {"self": LINK}},
        {"entry": [{"id": "abc123", "link": {"self": LINK}}]},
        [{"id": "abc123", "links": {"self": LINK.replace("/uapi/", "/unifiedapi/")}}],
    ],
    ids=["array", "links", "object", "entry", "unifiedapi"],
)
def test_created_native_id_reads_every_tolerated_answer_shape(body: Any) -> None:
    assert created_native_id(body) == "12/0003*210/abc123"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        None,
        "created",
        [{"id": "abc123"}],
        [{"id": "abc123", "link": {"self": "https://voipnow.example/uapi/phoneCalls/12/x"}}],
        [{"id": "abc123", "link": {"self": "https://h/uapi/phoneCalls/12/0003*210/a b"}}],
        [{"id": "abc123", "links": "https://h/uapi/phoneCalls/12/0003*210/abc123"}],
    ],
)
def test_created_native_id_of_an_answer_naming_no_call_is_none(body: Any) -> None:
    assert created_native_id(body) is None
