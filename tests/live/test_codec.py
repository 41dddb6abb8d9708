"""Snapshots and events survive the trip through JSON exactly, for every vendor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.adapters import Adapters
from app.calls import CallId, CallState, Vendor
from app.config import Settings
from app.emulators import DEMO_CREDENTIALS
from app.live.codec import CallEvent, decode_event, decode_snapshot, encode_event, encode_snapshot
from app.vendors.registry import build_adapters
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS


@pytest.mark.parametrize("vendor", list(Vendor), ids=lambda v: str(v.value))
async def test_demo_snapshot_round_trips_through_json(
    emulator_server: EmulatorServer, vendor: Vendor
) -> None:
    adapters: Adapters = build_adapters(
        Settings().with_vendors(emulator_server.url, DEMO_CREDENTIALS)
    )
    try:
        [snapshot] = await adapters[vendor].fetch_many([CallId.parse(DEMO_IDS[vendor]).native])
    finally:
        await adapters.close()
    assert not isinstance(snapshot, Exception)
    assert decode_snapshot(encode_snapshot(snapshot)) == snapshot
    event = CallEvent(snapshot, CallState.RINGING, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert decode_event(encode_event(event)) == event
