"""The Verba adapter against the Verba emulator over loopback HTTP: lookups, states,
batching, tokens, faults and what error messages may never contain."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from app.adapters import RecordingQuery
from app.calls import CallId, CallState, Vendor, VerbaCall
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.emulators.verba import (
    DEMO_CALL_ID,
    GENESYS_DEMO_RECORDING_ID,
    VOIPNOW_DEMO_RECORDING_ID,
    RecordingStatus,
    VerbaEmulator,
)
from app.errors import (
    BadUserInput,
    SwitchboardError,
    VendorTimeout,
    VendorUnavailable,
)
from app.vendors.http import VendorHttp
from app.vendors.verba import VerbaAdapter
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory

CREDENTIALS = DEMO_CREDENTIALS["verba"]


@pytest.fixture
def verba(emulator_server: EmulatorServer) -> VerbaEmulator:
    return emulator_server.emulator(VerbaEmulator)


def demo_adapter(http: VendorHttp, clock: Callable[[], float] = time.monotonic) -> VerbaAdapter:
    return VerbaAdapter(
        http,
        api_key=CREDENTIALS["api_key"],
        username=CREDENTIALS["username"],
        password=CREDENTIALS["password"],
        clock=clock,
    )


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> VerbaAdapter:
    return demo_adapter(vendor_http(Vendor.VERBA))


def ongoing_recording(call_id: str, extension: str) -> VerbaCall:
    return VerbaCall(
        call_id=CallId(Vendor.VERBA, call_id),
        state=CallState.CONNECTED,
        vendor_state="ongoing",
        verba_call_id=call_id,
        extension=extension,
    )


async def test_find_recording_demo_call_has_seed_values(adapter: VerbaAdapter) -> None:
    found = await adapter.find_recording(RecordingQuery(extension="8856", statuses=("ongoing",)))

    assert found == VerbaCall(
        call_id=CallId(Vendor.VERBA, "a8343631-9f35-4a3a-83f0-9e81592339fb"),
        state=CallState.CONNECTED,
        vendor_state="ongoing",
        verba_call_id="a8343631-9f35-4a3a-83f0-9e81592339fb",
        extension="8856",
        platform_call_id=None,
        native_call_id=None,
    )
    assert found.id == "verba:a8343631-9f35-4a3a-83f0-9e81592339fb"
    assert found.capabilities == ()


async def test_find_recording_by_platform_and_native_id_without_status(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    found = await adapter.find_recording(
        RecordingQuery(platform_call_id="71627389", native_id="TRS26140192")
    )

    assert found == VerbaCall(
        call_id=CallId(Vendor.VERBA, DEMO_CALL_ID),
        state=CallState.UNKNOWN,
        vendor_state=None,
        verba_call_id=DEMO_CALL_ID,
        platform_call_id="71627389",
        native_call_id="TRS26140192",
    )
    assert verba.lookups == [{"platformCallID": "71627389", "nativeID": "TRS26140192"}]


@pytest.mark.parametrize(
    ("raw", "state"),
    # VENDORS.md §3: ongoing, next (within a minute), last (finished).
    [("ongoing", CallState.CONNECTED), ("next", CallState.SCHEDULED), ("last", CallState.ENDED)],
)
async def test_find_recording_maps_each_raw_status(
    adapter: VerbaAdapter, verba: VerbaEmulator, raw: str, state: CallState
) -> None:
    made = verba.add_recording(caller="4242", called="4343")
    verba.set_status(made.call_id, RecordingStatus(raw))

    found = await adapter.find_recording(RecordingQuery(extension="4242", statuses=(raw,)))

    assert found is not None
    assert (found.verba_call_id, found.state, found.vendor_state) == (made.call_id, state, raw)


async def test_find_recording_with_several_statuses_has_unknown_state(
    adapter: VerbaAdapter, verba: VerbaEmulator
) -> None:
    found = await adapter.find_recording(
        RecordingQuery(extension="8856", statuses=("last", "ongoing"))
    )

    assert found is not None
    assert (found.verba_call_id, found.state, found.vendor_state) == (
        DEMO_CALL_ID,
        CallState.UNKNOWN,
        "last,ongoing",
    )
    assert verba.lookups == [{"extension": "8856", "status": "last,ongoing"}]


async def test_find_recording_unknown_extension_is_none(adapter: VerbaAdapter) -> None:
    assert await adapter.find_recording(RecordingQuery(extension="4711")) is None


async def test_find_recording_more_than_one_record_asks_to_narrow(
    adapter: VerbaAdapter, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="8856", called="4000")

    with pytest.raises(BadUserInput, match="narrow the query") as caught:
        await adapter.find_recording(RecordingQuery(extension="8856", statuses=("ongoing",)))

    assert caught.value.vendor == "verba"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (RecordingQuery(extension="8856", statuses=("soon",)), "Unknown Verba status 'soon'"),
        (RecordingQuery(statuses=("ongoing",)), "needs an extension"),
        # [doc] only the listed combinations: "ongoing, next" and "last, ongoing".
        (RecordingQuery(extension="8856", statuses=("next", "ongoing")), r"not \[next, ongoing\]"),
        (RecordingQuery(extension="8856", statuses=("ongoing", "last")), r"not \[ongoing, last\]"),
        (RecordingQuery(extension="8856", statuses=("ongoing", "ongoing")), "combinations"),
    ],
    ids=["unknown-status", "no-search", "next-ongoing", "ongoing-last", "twice"],
)
async def test_find_recording_bad_query_makes_no_request(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, query: RecordingQuery, message: str
) -> None:
    with pytest.raises(BadUserInput, match=message):
        await adapter.find_recording(query)

    assert emulator_server.control.count("verba") == 0


async def test_find_recording_other_vendor_error_is_unavailable_with_its_message(
    adapter: VerbaAdapter,
) -> None:
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.find_recording(RecordingQuery(extension="88 56"))

    assert caught.value.vendor == "verba"
    assert "Invalid value for parameter extension." in caught.value.message


async def test_find_recordings_keeps_order_with_none_for_unknown(adapter: VerbaAdapter) -> None:
    found = await adapter.find_recordings(["15001", "4711", "0003*210"])

    assert found == [
        ongoing_recording(GENESYS_DEMO_RECORDING_ID, "15001"),
        None,
        ongoing_recording(VOIPNOW_DEMO_RECORDING_ID, "0003*210"),
    ]


async def test_find_recordings_answers_an_ambiguous_extension_in_its_slot(
    adapter: VerbaAdapter, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="4242", called="15002")
    verba.add_recording(caller="4242", called="15003")

    found = await adapter.find_recordings(["4242", "8856"])

    assert isinstance(found[0], BadUserInput)
    assert "more than one" in found[0].message.lower()
    assert isinstance(found[1], VerbaCall)
    assert found[1].verba_call_id == DEMO_CALL_ID


async def test_find_recordings_looks_up_each_extension_once(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    found = await adapter.find_recordings(["8856", "15001", "8856", "0003*210", "15001"])

    assert [r.verba_call_id if isinstance(r, VerbaCall) else r for r in found] == [
        DEMO_CALL_ID,
        GENESYS_DEMO_RECORDING_ID,
        DEMO_CALL_ID,
        VOIPNOW_DEMO_RECORDING_ID,
        GENESYS_DEMO_RECORDING_ID,
    ]
    assert sorted(lookup["extension"] for lookup in verba.lookups) == [
        "0003*210",
        "15001",
        "8856",
    ]
    assert verba.action_counts == {"RequestToken": 1, "GetCallID": 3}
    assert emulator_server.control.count("verba", path_contains="/verba/api") == 4


async def test_token_fetched_once_for_concurrent_lookups(
    adapter: VerbaAdapter, verba: VerbaEmulator
) -> None:
    queries = [RecordingQuery(extension=e, statuses=("ongoing",)) for e in ("8856", "15001")]

    await asyncio.gather(*(adapter.find_recording(q) for q in queries * 5))

    assert verba.action_counts == {"RequestToken": 1, "GetCallID": 10}
    assert len(verba.tokens) == 1


async def test_token_refreshed_before_expiry(
    vendor_http: VendorHttpFactory, verba: VerbaEmulator
) -> None:
    emulator_clock, adapter_clock = ManualClock(), ManualClock(5_000.0)
    verba.clock = emulator_clock
    adapter = demo_adapter(vendor_http(Vendor.VERBA), adapter_clock)
    query = RecordingQuery(extension="8856")
    await adapter.find_recording(query)

    emulator_clock.advance(3590)
    adapter_clock.advance(3590)
    found = await adapter.find_recording(query)

    assert found is not None
    # A new token before the old one ran out: no request was refused on the way.
    assert verba.action_counts == {"RequestToken": 2, "GetCallID": 2}


@pytest.mark.parametrize(
    ("fault", "http_timeout", "error"),
    [
        (Fault(status=503), 2.0, VendorUnavailable),
        (Fault(timeout=True), 0.3, VendorTimeout),
        (Fault(drop=True), 2.0, VendorUnavailable),
    ],
    ids=["503", "timeout", "drop"],
)
async def test_vendor_faults_become_vendor_errors(
    vendor_http: VendorHttpFactory,
    emulator_server: EmulatorServer,
    fault: Fault,
    http_timeout: float,
    error: type[SwitchboardError],
) -> None:
    adapter = demo_adapter(vendor_http(Vendor.VERBA, timeout=http_timeout))
    await adapter.find_recording(RecordingQuery(extension="8856"))  # holds a token now
    emulator_server.control.set_fault("verba", fault)

    with pytest.raises(error) as caught:
        await adapter.find_recording(RecordingQuery(extension="8856"))

    assert caught.value.vendor == "verba"


async def test_errors_never_contain_credentials_or_token(
    vendor_http: VendorHttpFactory, emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    adapter = demo_adapter(vendor_http(Vendor.VERBA, timeout=0.3))
    await adapter.find_recording(RecordingQuery(extension="8856"))
    (token,) = verba.tokens
    verba.add_recording(caller="8856", called="4000")
    errors: list[SwitchboardError] = []

    async def collect(query: RecordingQuery) -> None:
        try:
            await adapter.find_recording(query)
        except SwitchboardError as error:
            errors.append(error)

    await collect(RecordingQuery(extension="8856", statuses=("ongoing",)))
    await collect(RecordingQuery(extension="88 56"))
    for fault in (Fault(status=503), Fault(timeout=True), Fault(drop=True), Fault(status=401)):
        emulator_server.control.set_fault("verba", fault)
        await collect(RecordingQuery(extension="8856"))
        emulator_server.control.clear_faults("verba")

    assert len(errors) == 6
    secrets = (token, CREDENTIALS["api_key"], CREDENTIALS["password"], "apiKey=", "token=")
    for error in errors:
        text = f"{error} {error.extensions}"
        assert not [secret for secret in secrets if secret in text], text
