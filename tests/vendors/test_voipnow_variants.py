"""The VoipNow adapter against each documented variant of the emulator (VENDORS.md §6):
both PhoneCall spellings, paged lists, every action answer, an API under a path prefix or
at `/unifiedapi`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.adapters import StartCall
from app.calls import CallState, Capability, Vendor, VoipNowCall, VoipNowCallView
from app.config import Settings
from app.emulators.voipnow import VoipNowEmulator
from app.emulators.voipnow_store import DEMO_CALL_ID, PhoneCallStore
from app.errors import CallNotFound, VendorUnavailable
from app.vendors.http import VendorHttp
from app.vendors.registry import build_adapters
from app.vendors.voipnow import VoipNowAdapter
from tests.adapters import fetch_one
from tests.conftest import EmulatorServer, VendorHttpFactory
from tests.vendors.voipnow_support import DEMO, SECRET, add_call, make_adapter, requests_of


@pytest.fixture
def store(emulator_server: EmulatorServer) -> PhoneCallStore:
    return emulator_server.emulator(VoipNowEmulator).store


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> VoipNowAdapter:
    return make_adapter(vendor_http)


def select(server: EmulatorServer, variant: str) -> None:
    server.control.select_variant("voipnow", variant)


async def test_resource_spelling_reads_caller_id_numbers_and_links(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    select(emulator_server, "resource")
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    assert (call.state, call.vendor_state) == (CallState.CONNECTED, "5")
    assert call.views[0].flow == 2
    assert call.views[1].caller_id == "John Doe <3334444>"  # sent as "callerID"
    assert call.link == f"{emulator_server.base_url('voipnow')}/uapi/phoneCalls/{DEMO}"


@pytest.mark.parametrize("variant", ["seed", "resource"])
async def test_hold_reads_back_as_on_hold_with_holder(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, variant: str
) -> None:
    select(emulator_server, variant)
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    await adapter.perform(call, Capability.HOLD)
    held = await fetch_one(adapter, DEMO, VoipNowCall)
    assert (held.state, held.vendor_state) == (CallState.HELD, "5")
    own, other = held.views
    assert (own.holder, other.holder) == (1, 0)
    assert own.on_hold is not None


@pytest.mark.parametrize(
    ("variant", "status"), [("seed", 202), ("resource", 200), ("action-204", 204)]
)
async def test_every_documented_action_answer_is_accepted(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, variant: str, status: int
) -> None:
    select(emulator_server, variant)
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    await adapter.perform(call, Capability.HOLD)
    await adapter.perform(await fetch_one(adapter, DEMO, VoipNowCall), Capability.RETRIEVE)
    assert (await fetch_one(adapter, DEMO, VoipNowCall)).state is CallState.CONNECTED
    assert len(requests_of(emulator_server, "PUT", "/uapi/")) == 2


async def test_fetch_many_pages_through_an_extension_list(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    select(emulator_server, "paged")  # pages of at most 2, whatever count asks
    ids = [add_call(store, f"call{n}", "0003*211") for n in range(5)]
    unknown = "12/0003*211/ffffffffffffffffffff"
    results = await adapter.fetch_many([*reversed(ids), unknown])
    assert [r.call_id.native for r in results[:5]] == list(reversed(ids))  # type: ignore[union-attr]
    assert isinstance(results[5], CallNotFound)
    assert (
        requests_of(emulator_server, "GET", "/uapi/")
        == ["/voipnow/uapi/phoneCalls/12/0003*211"] * 3
    )


async def test_active_calls_pages_until_the_total_is_read(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore
) -> None:
    select(emulator_server, "paged")
    ids = [add_call(store, f"call{n}", extension) for n, extension in enumerate(["0003*211"] * 4)]
    calls = await adapter.active_calls(None)  # "@self": every extension of the user
    assert sorted(c.call_id.native for c in calls) == sorted([DEMO, *ids])
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 3  # 2 + 2 + 1


@pytest.mark.parametrize(("calls", "requests"), [(4, 3), (5, 3), (1, 1)])
async def test_a_bare_array_list_is_paged_by_count(
    emulator_server: EmulatorServer,
    vendor_http: VendorHttpFactory,
    store: PhoneCallStore,
    calls: int,
    requests: int,
) -> None:
    # seed: a bare array, `count` honoured; the list ends with a short page or a 204.
    adapter = make_adapter(vendor_http, page_size=2)
    ids = [add_call(store, f"call{n}", "0003*212") for n in range(calls)]
    results = await adapter.fetch_many(ids) if calls > 1 else await adapter.active_calls("0003*212")
    assert sorted(r.call_id.native for r in results) == sorted(ids)  # type: ignore[union-attr]
    paths = [r for r in emulator_server.control.requests if "/phoneCalls/" in r.path]
    assert len(paths) == requests


async def test_no_active_calls_is_a_204_read_as_none(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    select(emulator_server, "paged")
    assert await adapter.active_calls("0003*212") == []


@pytest.fixture
async def prefixed_http(emulator_server: EmulatorServer) -> AsyncIterator[VendorHttp]:
    http = VendorHttp(
        Vendor.VOIPNOW, emulator_server.base_url("voipnow") + "/unifiedapi", timeout=2.0
    )
    yield http
    await http.close()


def prefixed_adapter(http: VendorHttp) -> VoipNowAdapter:
    return VoipNowAdapter(http, client_id="switchboard-demo", client_secret=SECRET)


async def test_a_base_url_with_a_path_prefix_reaches_token_reads_and_actions(
    emulator_server: EmulatorServer, prefixed_http: VendorHttp, store: PhoneCallStore
) -> None:
    select(emulator_server, "unifiedapi-prefix")
    adapter = prefixed_adapter(prefixed_http)
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    await adapter.perform(call, Capability.HOLD)
    assert [c.call_id.native for c in await adapter.active_calls(None)] == [DEMO]
    started = await adapter.start_call(StartCall(Vendor.VOIPNOW, to="0003*024", from_="0003*210"))
    assert started.split("/")[:2] == ["12", "0003*210"]
    paths = [r.path for r in emulator_server.control.requests]
    assert paths
    assert all(p.startswith("/voipnow/unifiedapi/") for p in paths)
    assert store.calls[DEMO_CALL_ID].views[0].on_hold is not None


async def test_prefix_variant_serves_nothing_without_the_prefix(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter
) -> None:
    select(emulator_server, "unifiedapi-prefix")
    with pytest.raises(VendorUnavailable):
        await adapter.fetch_many([DEMO])


async def test_api_at_unifiedapi_is_reached_with_api_path(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    select(emulator_server, "unifiedapi-path")
    adapter = make_adapter(vendor_http, api_path="/unifiedapi")
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    assert call.link == f"{emulator_server.base_url('voipnow')}/unifiedapi/phoneCalls/{DEMO}"
    assert [c.id for c in await adapter.active_calls(None)] == [call.id]
    assert requests_of(emulator_server, "POST", "/oauth/") == ["/voipnow/oauth/token.php"]
    assert requests_of(emulator_server, "GET", "/unifiedapi/phoneCalls/")
    # The documented root is not served by this deployment.
    with pytest.raises(VendorUnavailable):
        await make_adapter(vendor_http).fetch_many([DEMO])


@pytest.mark.parametrize("variant", ["seed", "resource"])
async def test_start_call_reads_the_created_call_from_the_array(
    emulator_server: EmulatorServer, adapter: VoipNowAdapter, store: PhoneCallStore, variant: str
) -> None:
    select(emulator_server, variant)
    native_id = await adapter.start_call(StartCall(Vendor.VOIPNOW, to="5353535", from_="0003*210"))
    user_id, extension, phone_call_id = native_id.split("/")
    assert (user_id, extension) == ("12", "0003*210")
    assert phone_call_id in store.calls
    call = await fetch_one(adapter, native_id, VoipNowCall)
    assert call.views[1] == VoipNowCallView(
        id="01",
        source=("0003*210",),
        destination=("5353535",),
        flow=4,  # outgoing public
        status=2,  # trying
    )


async def test_a_tenant_configured_from_the_environment_reaches_the_unifiedapi_path(
    emulator_server: EmulatorServer,
) -> None:
    # SWITCHBOARD_VOIPNOW_API_PATH: the API root for a deployment that serves /unifiedapi.
    select(emulator_server, "unifiedapi-path")
    settings = Settings.from_env(
        {
            "SWITCHBOARD_VOIPNOW_URL": emulator_server.base_url("voipnow"),
            "SWITCHBOARD_VOIPNOW_CLIENT_ID": "switchboard-demo",
            "SWITCHBOARD_VOIPNOW_CLIENT_SECRET": SECRET,
            "SWITCHBOARD_VOIPNOW_API_PATH": "/unifiedapi",
            "SWITCHBOARD_AUTH": "none",
        }
    )
    adapters = build_adapters(settings)
    try:
        call = await fetch_one(adapters[Vendor.VOIPNOW], DEMO, VoipNowCall)
    finally:
        await adapters.close()
    assert call.state is CallState.CONNECTED
    assert requests_of(emulator_server, "GET", "/voipnow/unifiedapi/phoneCalls/")
