"""One contract suite, run over all five adapters against their emulators (built by the
same registry the gateway uses), in every documented variant each emulator can show
(VENDORS.md §6): what the GraphQL layer relies on from any vendor, whatever its version."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest

from app.adapters import Adapters, VendorAdapter
from app.calls import SNAPSHOT_TYPES, CallId, CallState, Vendor
from app.config import Settings
from app.emulators import EMULATOR_CLASSES
from app.emulators.control import Fault
from app.errors import CallNotFound, NotSupported, VendorError, VendorTimeout, VendorUnavailable
from app.vendors.registry import build_adapters
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS, UNKNOWN_IDS

# Every (vendor, variant) an emulator can show; the first variant of each is its default.
CASES = [
    pytest.param(Vendor(cls.vendor), variant, id=f"{cls.vendor}-{variant}")
    for cls in EMULATOR_CLASSES
    for variant in cls.VARIANTS
]
LIST_VENDORS = {Vendor.GENESYS, Vendor.VOIPNOW}
# Verba is a recorder: a recording read by CallID (GetCallURL) has no call state.
STATELESS = {Vendor.VERBA}


def cases(keep: Callable[[Vendor], bool] = lambda vendor: True) -> list[Any]:
    return [case for case in CASES if keep(cast(Vendor, case.values[0]))]


@pytest.fixture
async def adapters(
    emulator_server: EmulatorServer, vendor: Vendor, variant: str
) -> AsyncIterator[Adapters]:
    """The adapters, the vendor's emulator showing `variant`, configured as such a tenant."""
    emulator_server.control.select_variant(vendor.value, variant)
    settings = emulator_server.emulators.settings_for(
        Settings().with_values(vendor_timeout=0.5), emulator_server.url
    )
    built = build_adapters(settings)
    yield built
    await built.close()


def native(text: str) -> str:
    return CallId.parse(text).native


@pytest.mark.parametrize(("vendor", "variant"), cases())
async def test_adapter_fetches_its_demo_call(adapters: Adapters, vendor: Vendor) -> None:
    adapter: VendorAdapter = adapters[vendor]
    assert adapter.vendor is vendor
    [snapshot] = await adapter.fetch_many([native(DEMO_IDS[vendor])])
    assert isinstance(snapshot, SNAPSHOT_TYPES[vendor])
    assert snapshot.id == DEMO_IDS[vendor]
    assert snapshot.call_id.vendor is vendor
    assert isinstance(snapshot.state, CallState)
    if vendor not in STATELESS:
        assert snapshot.vendor_state
        assert snapshot.state is not CallState.UNKNOWN


@pytest.mark.parametrize(("vendor", "variant"), cases(lambda v: v in UNKNOWN_IDS))
async def test_adapter_answers_one_result_per_id_in_order(
    adapters: Adapters, vendor: Vendor
) -> None:
    ids = [native(UNKNOWN_IDS[vendor]), native(DEMO_IDS[vendor])]
    results = await adapters[vendor].fetch_many(ids)
    assert len(results) == 2
    assert isinstance(results[0], CallNotFound)
    assert results[0].vendor == vendor.value
    assert not isinstance(results[1], Exception)
    assert results[1].call_id.native == ids[1]


@pytest.mark.parametrize(("vendor", "variant"), cases())
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=503), VendorUnavailable),
        (Fault(timeout=True), VendorTimeout),
        (Fault(drop=True), VendorUnavailable),
    ],
    ids=["5xx", "timeout", "drop"],
)
async def test_adapter_reports_a_failing_vendor_as_a_domain_error(
    adapters: Adapters,
    emulator_server: EmulatorServer,
    vendor: Vendor,
    fault: Fault,
    error: type[VendorError],
) -> None:
    emulator_server.control.set_fault(vendor.value, fault)
    result: object
    try:
        [result] = await adapters[vendor].fetch_many([native(DEMO_IDS[vendor])])
    except VendorError as raised:  # a whole-vendor failure may be raised for the batch
        result = raised
    assert isinstance(result, error)
    assert result.vendor == vendor.value


@pytest.mark.parametrize(("vendor", "variant"), cases())
async def test_adapter_lists_active_calls_only_with_a_list_api(
    adapters: Adapters, emulator_server: EmulatorServer, vendor: Vendor
) -> None:
    if vendor in LIST_VENDORS:
        calls = await adapters[vendor].active_calls(None)
        assert DEMO_IDS[vendor] in [c.id for c in calls]
    else:
        with pytest.raises(NotSupported):
            await adapters[vendor].active_calls(None)
        assert emulator_server.control.count(vendor.value) == 0


@pytest.mark.parametrize(("vendor", "variant"), cases())
async def test_adapter_serves_concurrent_batches(adapters: Adapters, vendor: Vendor) -> None:
    batches = await asyncio.gather(
        *(adapters[vendor].fetch_many([native(DEMO_IDS[vendor])]) for _ in range(10))
    )
    assert {b[0].id for b in batches} == {DEMO_IDS[vendor]}  # type: ignore[union-attr]
