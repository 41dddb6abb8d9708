"""The watcher keeps going: an observer that fails — a vendor reply nobody foresaw, a
bug — is logged (vendor, call, reason) and restarted with backoff, and later changes are
still delivered (issue 10 item 3). The adapters here are ordinary implementations of the
adapter contract (app/adapters.py) that misbehave the way a real vendor stream can."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

import pytest

from app.adapters import AdapterBase, Adapters, FetchResult
from app.calls import CallId, CallSnapshot, CallState, OracleCall, Vendor
from app.live.bus import ALL_CALLS, Bus, call_channel
from app.live.codec import decode_event
from app.live.leases import MemoryLeases
from app.live.watcher import Watcher


def oracle_call(native: str, state: CallState) -> OracleCall:
    return OracleCall(
        call_id=CallId(Vendor.ORACLE, native), state=state, vendor_state="x", session_id=native
    )


class StreamThatBreaksOnce(AdapterBase):
    """A push vendor whose first stream dies on a payload nobody mapped."""

    vendor = Vendor.ORACLE

    def __init__(self) -> None:
        self.streams = 0
        self.later: asyncio.Queue[CallSnapshot] = asyncio.Queue()

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        return [oracle_call(i, CallState.CONNECTED) for i in native_ids]

    async def call_events(self) -> AsyncIterator[CallSnapshot]:
        self.streams += 1
        if self.streams == 1:
            yield oracle_call("first", CallState.DIALING)
            raise KeyError("participants")  # e.g. a field in a shape the mapping did not know
        while True:
            yield await self.later.get()


class ReadThatBreaksOnce(AdapterBase):
    vendor = Vendor.ORACLE

    def __init__(self) -> None:
        self.reads = 0

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        self.reads += 1
        if self.reads == 1:
            raise TypeError("unexpected")
        return [oracle_call(i, CallState.CONNECTED) for i in native_ids]


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = Bus("memory://")
    await bus.connect()
    yield bus
    await bus.disconnect()


def watcher_for(adapter: AdapterBase, bus: Bus) -> Watcher:
    adapters = Adapters({Vendor.ORACLE: adapter}, None)  # type: ignore[dict-item]
    return Watcher(adapters, bus, MemoryLeases(), poll_interval=0.01, grace=0, restart_backoff=0.01)


async def next_call(listener: object) -> CallSnapshot:
    async with asyncio.timeout(5):
        message = await listener.get()  # type: ignore[attr-defined]
    assert isinstance(message, str)
    return decode_event(message).call


async def test_a_push_stream_that_fails_is_restarted_and_delivers_later_events(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "switchboard.live")
    adapter = StreamThatBreaksOnce()
    watcher = watcher_for(adapter, bus)
    async with bus.listen(ALL_CALLS) as events, watcher.watching_everything():
        assert (await next_call(events)).call_id.native == "first"
        await adapter.later.put(oracle_call("second", CallState.CONNECTED))
        assert (await next_call(events)).call_id.native == "second"
    await watcher.close()
    assert adapter.streams == 2
    assert watcher.restarts == 1
    [record] = [r for r in caplog.records if "observer failed" in r.getMessage()]
    message = record.getMessage()
    assert "oracle push stream" in message
    assert "KeyError at test_watcher.py:" in message
    assert "participants" not in message  # a foreign exception's text is not logged
    assert record.exc_info is None  # and no traceback


async def test_a_polled_call_whose_read_fails_is_still_watched(bus: Bus) -> None:
    adapter = ReadThatBreaksOnce()
    watcher = watcher_for(adapter, bus)
    call_id = CallId(Vendor.ORACLE, "polled")
    async with bus.listen(call_channel(call_id)) as events, watcher.watching(call_id):
        assert (await next_call(events)).state is CallState.CONNECTED
    await watcher.close()
    assert watcher.restarts == 1
    assert watcher.observers == 0
