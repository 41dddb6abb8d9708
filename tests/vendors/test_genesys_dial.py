"""GenesysAdapter.start_call (Dial from the agent's device) against the Genesys emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.adapters import StartCall
from app.calls import CallState, Capability, Vendor
from app.emulators.control import Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_store import DEMO_CALL_ID, DEVICE_ID, LINK_BASE, GenesysCallStore
from app.errors import BadUserInput, InvalidState, OutcomeUnknown, VendorUnavailable
from app.vendors.genesys import GenesysAdapter
from tests.conftest import EmulatorServer, VendorHttpFactory
from tests.vendors.test_genesys import (
    CALLS,
    DEMO_CALL,
    DEVICES,
    DIAL,
    PASSWORD,
    USERNAME,
    assert_no_secrets,
    fetched,
    reaches,
    requests,
)


@pytest.fixture
def store(emulator_server: EmulatorServer) -> GenesysCallStore:
    return emulator_server.emulator(GenesysEmulator).store


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> GenesysAdapter:
    return GenesysAdapter(vendor_http(Vendor.GENESYS), username=USERNAME, password=PASSWORD)


# -- call control: start_call ------------------------------------------------------------------


def new_calls(store: GenesysCallStore) -> list[dict[str, Any]]:
    return [call for call in store.current_calls() if call["id"] != DEMO_CALL_ID]


async def test_start_call_returns_the_new_call_dialing_then_connected(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    store.transition_delay = 1.0  # long enough to read the call while it dials
    call_id = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))

    [created] = new_calls(store)
    assert call_id == created["id"]
    call = await fetched(adapter, call_id)
    assert call.state is CallState.DIALING
    assert call.vendor_state == "Dialing"
    assert call.dnis == "5001"
    assert call.call_type == "Internal"
    assert call.device_uri == DEMO_CALL.device_uri
    assert call.capabilities == (Capability.HANGUP,)
    assert (await reaches(adapter, call_id, CallState.CONNECTED)).vendor_state == "Established"


async def test_start_call_attaches_user_data(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    user_data = {"ticket": "T-1", "priority": 2}
    call_id = await adapter.start_call(
        StartCall(vendor=Vendor.GENESYS, to="+14155550123", user_data=user_data)
    )
    call = await fetched(adapter, call_id)
    assert call.user_data == user_data
    assert call.call_type == "Outbound"
    assert [p.phone_number for p in call.participants] == ["+14155550123"]


async def test_start_call_sends_one_dial_and_reads_the_devices_once(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    first = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001", from_="9999"))
    assert [(r.method, r.path) for r in emulator_server.control.requests] == [
        ("GET", DEVICES),
        ("GET", CALLS),
        ("POST", DIAL),
        ("GET", CALLS),
    ]
    emulator_server.control.requests.clear()
    second = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert second != first
    assert requests(emulator_server, "GET", DEVICES) == 0
    assert requests(emulator_server, "POST", DIAL) == 1
    assert {call["id"] for call in new_calls(store)} == {first, second}


async def test_concurrent_start_calls_to_one_number_each_get_their_own_call(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    started = await asyncio.gather(
        *(adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001")) for _ in range(3))
    )
    assert sorted(started) == sorted(call["id"] for call in new_calls(store))


@pytest.mark.parametrize(
    "to", ["", "+", "abc", "50 01", "5001\n", "../5001", "1" * 33, "++5001", "50+01"]
)
async def test_start_call_to_an_implausible_number_is_bad_user_input_without_a_request(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, to: str
) -> None:
    with pytest.raises(BadUserInput) as caught:
        await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to=to))
    assert caught.value.vendor == "genesys"
    assert emulator_server.control.requests == []


@pytest.mark.parametrize("to", ["5", "+14155550123", "*72#", "1" * 32])
async def test_start_call_accepts_plausible_numbers(
    adapter: GenesysAdapter, store: GenesysCallStore, to: str
) -> None:
    call_id = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to=to))
    assert (await fetched(adapter, call_id)).dnis == to


async def test_start_call_whose_answer_is_lost_dials_exactly_once(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    emulator_server.control.set_fault("genesys", Fault(drop_after=True, methods=("POST",)))
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert_no_secrets(caught.value)
    assert requests(emulator_server, "POST", DIAL) == 1
    assert len(new_calls(store)) == 1


async def test_start_call_that_never_appears_is_an_unknown_outcome(
    vendor_http: VendorHttpFactory, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    adapter = GenesysAdapter(
        vendor_http(Vendor.GENESYS, timeout=0.3), username=USERNAME, password=PASSWORD
    )
    store.apply_operations = False  # GWS accepts the Dial, and no call comes of it
    # GWS accepted the Dial: the call may exist. Not a plain timeout, which a client might
    # take as "nothing happened" and retry (dialling twice): the outcome is unknown.
    with pytest.raises(OutcomeUnknown) as caught:
        await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert "accepted the Dial but the call did not appear" in caught.value.message
    assert "outcome unknown" in caught.value.message
    assert caught.value.extensions["retrySafe"] is False
    assert requests(emulator_server, "POST", DIAL) == 1
    assert requests(emulator_server, "GET", CALLS) >= 2


async def test_start_call_ignores_calls_to_other_numbers_and_calls_seen_before(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    earlier = store.add_call(state="Dialing", dnis="5001")["id"]

    def meanwhile(call: dict[str, Any]) -> None:
        # Another call shows up with the dialled one, to a different number.
        if call["state"] == "Dialing" and call["dnis"] == "5001" and call["id"] != earlier:
            store.remove_listener(meanwhile)
            store.add_call(state="Ringing", dnis="15000")

    store.add_listener(meanwhile)
    call_id = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert call_id != earlier
    assert (await fetched(adapter, call_id)).state is CallState.DIALING


async def test_start_call_without_an_active_device_is_invalid_state(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    store.remove_device(DEVICE_ID)
    store.add_device(state="Inactive")
    with pytest.raises(InvalidState) as caught:
        await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert "no active device" in caught.value.message
    assert [r.method for r in emulator_server.control.requests] == ["GET"]
    assert new_calls(store) == []


async def test_start_call_uses_the_first_active_device(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    store.remove_device(DEVICE_ID)
    store.add_device(state="Inactive")
    active = store.add_device()["id"]
    call_id = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert requests(emulator_server, "POST", f"{DEVICES}/{active}/calls") == 1
    assert (await fetched(adapter, call_id)).device_uri == (f"{LINK_BASE}/api/v2/devices/{active}")


async def test_start_call_from_a_device_gone_since_read_is_invalid_state_then_reread(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    store.remove_device(DEVICE_ID)
    replacement = store.add_device()["id"]
    emulator_server.control.requests.clear()

    with pytest.raises(InvalidState) as caught:
        await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5002"))
    assert "no call was placed" in caught.value.message
    assert requests(emulator_server, "POST", DIAL) == 1

    call_id = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5002"))
    assert requests(emulator_server, "GET", DEVICES) == 1
    assert requests(emulator_server, "POST", f"{DEVICES}/{replacement}/calls") == 1
    assert (await fetched(adapter, call_id)).dnis == "5002"


async def test_start_call_after_session_expiry_dials_once(
    adapter: GenesysAdapter, emulator_server: EmulatorServer, store: GenesysCallStore
) -> None:
    await adapter.fetch_many([DEMO_CALL_ID])
    emulator_server.control.expire_tokens("genesys")
    call_id = await adapter.start_call(StartCall(vendor=Vendor.GENESYS, to="5001"))
    assert requests(emulator_server, "POST", DIAL) == 1
    assert [call["id"] for call in new_calls(store)] == [call_id]
