"""The live API (app/live/api.py) over its watcher, tested directly: `follow` sends the
current state, then changes only, never an older version, and stops its polling when
the call ends; `events` replays from a cursor without a duplicate at the seam and sends
RESYNC for a cursor the log no longer covers; `confirm` takes the bus event.

And the watcher keeps going: an observer that fails — a vendor reply nobody foresaw, a
bug — is logged (vendor, call, reason) and restarted with backoff, and later changes are
still delivered (issue 10 item 3). The adapters here are ordinary implementations of the
adapter contract (app/adapters.py) that misbehave the way a real vendor stream can."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

import pytest

from app.adapters import AdapterBase, Adapters, FetchResult
from app.calls import CallId, CallSnapshot, CallState, OracleCall, Vendor
from app.errors import BadUserInput
from app.live.api import Live, ResyncEvent
from app.live.bus import ALL_CALLS, Bus, call_channel
from app.live.codec import CallEvent, encode_event
from app.live.event_log import Cursor, EventLog, MemoryEventLog
from app.live.leases import MemoryLeases
from app.live.watcher import Watcher
from tests.live.conftest import wait_until
from tests.live.switch import Switch, genesys_call
from tests.metrics import process_samples, value

T = TypeVar("T")


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
    assert isinstance(message, CallEvent)  # decoded by the bus, once
    return message.call


async def test_a_push_stream_that_fails_is_restarted_and_delivers_later_events(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "switchboard.live")
    adapter = StreamThatBreaksOnce()
    watcher = watcher_for(adapter, bus)
    restarts = "switchboard_observer_restarts_total"
    before = value(process_samples(), restarts, vendor="oracle")
    async with bus.listen(ALL_CALLS) as events, watcher.watching_everything():
        assert (await next_call(events)).call_id.native == "first"
        await adapter.later.put(oracle_call("second", CallState.CONNECTED))
        assert (await next_call(events)).call_id.native == "second"
    await watcher.close()
    assert adapter.streams == 2
    assert watcher.restarts == 1
    assert value(process_samples(), restarts, vendor="oracle") == before + 1  # /metrics too
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


# -- the live API ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def live_over(
    switch: Switch, bus: Bus, *, log: EventLog | None = None, grace: float = 0
) -> AsyncIterator[Live]:
    watcher = Watcher(
        switch.adapters(), bus, MemoryLeases(), poll_interval=0.01, grace=grace, log=log
    )
    live = Live(switch.adapters(), watcher, confirm_interval=0.01)
    try:
        yield live
    finally:
        await live.close()


class Drained(Generic[T]):
    """An async iterator read by a task of its own into a queue, so that a test can wait
    for "nothing more" without cancelling (and so closing) the iterator itself."""

    def __init__(self, stream: AsyncGenerator[T, None]) -> None:
        self.stream = stream
        self.items: asyncio.Queue[T | BaseException] = asyncio.Queue()
        self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            async for item in self.stream:
                self.items.put_nowait(item)
            self.items.put_nowait(StopAsyncIteration())
        except Exception as failed:
            self.items.put_nowait(failed)

    async def next(self, within: float = 5) -> T:
        async with asyncio.timeout(within):
            item = await self.items.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def nothing_more(self, within: float = 0.3) -> None:
        await asyncio.sleep(within)
        assert self.items.empty(), self.items.get_nowait()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.stream.aclose()


@contextlib.asynccontextmanager
async def drained(stream: AsyncGenerator[T, None]) -> AsyncIterator[Drained[T]]:
    reader = Drained(stream)
    try:
        yield reader
    finally:
        await reader.close()


async def test_follow_sends_the_call_then_each_change_and_ends_with_it(bus: Bus) -> None:
    switch = Switch()
    switch.states["a"] = CallState.RINGING
    async with live_over(switch, bus) as live:
        async with drained(live.follow(switch.call("a"))) as updates:
            first = await updates.next()
            assert (first.state, first.version) == (CallState.RINGING, 1)
            assert first.observed_at is not None
            switch.states["a"] = CallState.CONNECTED
            second = await updates.next()
            assert (second.state, second.version) == (CallState.CONNECTED, 2)
            await updates.nothing_more()  # polled many times since: no news, no update
            switch.states["a"] = CallState.ENDED
            assert (await updates.next()).state is CallState.ENDED
            with pytest.raises(StopAsyncIteration):
                await updates.next()
        current = live.current(switch.call("a"))  # the one current state, kept
        assert current is not None
        assert (current.state, current.version) == (CallState.ENDED, 3)


async def test_polling_stops_when_the_call_ends_within_the_grace_period(bus: Bus) -> None:
    switch = Switch()
    switch.states["a"] = CallState.CONNECTED
    async with live_over(switch, bus, grace=30) as live:
        async with drained(live.follow(switch.call("a"))) as updates:
            await updates.next()
            switch.states["a"] = CallState.ENDED
            assert (await updates.next()).state is CallState.ENDED
        reads = switch.reads
        await asyncio.sleep(0.3)  # thirty poll intervals, well within the grace period
        assert switch.reads == reads
        assert live.watcher.observers == 0


async def test_follow_never_sends_an_older_or_the_same_version(bus: Bus) -> None:
    switch = Switch()
    switch.states["a"] = CallState.CONNECTED
    async with (
        live_over(switch, bus) as live,
        drained(live.follow(switch.call("a"))) as updates,
    ):
        assert (await updates.next()).version == 1
        switch.states["a"] = CallState.HELD
        assert (await updates.next()).version == 2
        # A late event from another instance, of a state this one has replaced.
        stale = CallEvent(
            dataclasses.replace(genesys_call("a", CallState.CONNECTED), version=1),
            None,
            datetime.now(UTC),
        )
        await bus.publish(call_channel(switch.call("a")), encode_event(stale))
        await updates.nothing_more()
        switch.states["a"] = CallState.CONNECTED
        latest = await updates.next()
        assert (latest.state, latest.version) == (CallState.CONNECTED, 3)


async def test_events_resume_after_a_cursor_then_go_live_each_event_once(bus: Bus) -> None:
    switch = Switch()
    async with live_over(switch, bus) as live:
        cursors = []
        for native, state in [("a", CallState.RINGING), ("b", CallState.RINGING)]:
            await live.publish(genesys_call(native, state))
        async with drained(live.events(admit_all)) as first_visit:
            await listening(bus)
            await live.publish(genesys_call("a", CallState.CONNECTED))
            seen = await first_visit.next()
            cursors.append(seen.cursor)
        # Away: these are missed.
        await live.publish(genesys_call("b", CallState.CONNECTED))
        await live.publish(genesys_call("a", CallState.HELD))
        async with drained(live.events(admit_all, cursors[0])) as resumed:
            replayed = [await resumed.next(), await resumed.next()]
            assert [(e.call_id.native, e.call.state) for e in replayed] == [  # type: ignore[union-attr]
                ("b", CallState.CONNECTED),
                ("a", CallState.HELD),
            ]
            await live.publish(genesys_call("b", CallState.ENDED))
            after = await resumed.next()
            assert isinstance(after, CallEvent)
            assert (after.call_id.native, after.call.state) == ("b", CallState.ENDED)
            await resumed.nothing_more()


class LogThatGrowsWhileReplaying:
    """An event log (the EventLog protocol) to which an event is published while a
    subscriber's replay reads it: that event is then both replayed and on the bus."""

    def __init__(self) -> None:
        self.inner = MemoryEventLog()
        self.during_replay: Callable[[], Awaitable[None]] | None = None

    async def append(self, event: CallEvent) -> str:
        return await self.inner.append(event)

    async def after(self, cursor: Cursor) -> list[CallEvent] | None:
        if self.during_replay is not None:
            publish, self.during_replay = self.during_replay, None
            await publish()
        return await self.inner.after(cursor)

    async def latest(self) -> str:
        return await self.inner.latest()

    async def aclose(self) -> None:
        pass


async def test_no_duplicate_at_the_seam_between_replay_and_live(bus: Bus) -> None:
    switch = Switch()
    log = LogThatGrowsWhileReplaying()
    async with live_over(switch, bus, log=log) as live:
        await live.publish(genesys_call("a", CallState.RINGING))
        cursor = await log.latest()

        async def change() -> None:
            await live.publish(genesys_call("a", CallState.CONNECTED))

        log.during_replay = change
        async with drained(live.events(admit_all, cursor)) as resumed:
            event = await resumed.next()
            assert isinstance(event, CallEvent)
            assert event.call.state is CallState.CONNECTED
            await resumed.nothing_more()  # not a second time from the bus


async def test_live_events_of_two_calls_arriving_out_of_cursor_order_all_go_out(
    bus: Bus,
) -> None:
    # Two calls published at once by different tasks: each call's events are logged and
    # published in order, but the bus may deliver call b's (cursor 2) before call a's
    # (cursor 1). Neither is a duplicate: both are sent.
    switch = Switch()
    async with live_over(switch, bus) as live, drained(live.events(admit_all)) as stream:
        await listening(bus)
        at = datetime.now(UTC)
        b = CallEvent(genesys_call("b", CallState.RINGING), None, at, cursor="1764748800002-0")
        a = CallEvent(genesys_call("a", CallState.RINGING), None, at, cursor="1764748800001-0")
        for event in (b, a):
            await bus.publish(ALL_CALLS, encode_event(event))
        got = [await stream.next(), await stream.next()]
        assert [e.call.call_id.native for e in got if isinstance(e, CallEvent)] == ["b", "a"]


async def test_a_cursor_older_than_the_retention_gets_resync_first(bus: Bus) -> None:
    switch = Switch()
    async with live_over(switch, bus, log=MemoryEventLog(count=2)) as live:
        await live.publish(genesys_call("a", CallState.RINGING))
        first = await live.log.latest()
        await live.publish(genesys_call("b", CallState.RINGING))
        await live.publish(genesys_call("a", CallState.CONNECTED))
        await live.publish(genesys_call("c", CallState.CONNECTED))
        await live.publish(genesys_call("c", CallState.ENDED))  # not in progress: left out
        newest = await live.log.latest()
        only_a_and_b = {"a", "b"}

        def accept(call: CallSnapshot) -> bool:
            return call.call_id.native in only_a_and_b | {"c"}

        async with drained(live.events(accept, first)) as resumed:
            resync = await resumed.next()
            assert isinstance(resync, ResyncEvent)
            assert resync.cursor == newest
            assert sorted((c.call_id.native, c.state, c.version) for c in resync.calls) == [
                ("a", CallState.CONNECTED, 2),
                ("b", CallState.RINGING, 1),
            ]
            await live.publish(genesys_call("b", CallState.CONNECTED))
            change = await resumed.next()
            assert isinstance(change, CallEvent)
            assert change.call_id.native == "b"
            await resumed.nothing_more()


async def test_a_malformed_cursor_is_bad_user_input(bus: Bus) -> None:
    async with live_over(Switch(), bus) as live:
        for cursor in ("", "abc", "12", "1-2-3", "-1-0", "1" * 40 + "-0"):
            with pytest.raises(BadUserInput):
                await Drained(live.events(admit_all, cursor)).next()
        assert bus.channels == 0


async def test_confirm_takes_the_bus_event_without_reading_again(bus: Bus) -> None:
    switch = Switch()
    switch.states["a"] = CallState.CONNECTED
    async with live_over(switch, bus) as live:
        live.confirm_interval = 30.0  # a read would come far too late

        async def pushed_later() -> None:
            await asyncio.sleep(0.1)
            await live.publish(genesys_call("a", CallState.HELD))

        pusher = asyncio.create_task(pushed_later())
        async with asyncio.timeout(5):
            held = await live.confirm(
                switch.call("a"), lambda c: c is not None and c.state is CallState.HELD
            )
        await pusher
        assert held is not None
        assert (held.state, held.version) == (CallState.HELD, 1)
        assert switch.reads == 1  # the first read only


async def listening(bus: Bus) -> None:
    """Until a subscriber listens to every call's channel (its task runs on its own)."""
    await wait_until(lambda: bus.channels > 0)
    await asyncio.sleep(0.05)  # its subscription to the broadcaster settles


def admit_all(call: CallSnapshot) -> bool:
    return True


class ReadThatTakesTimeToCancel(AdapterBase):
    """A read that, cancelled, takes a moment to let go (a connection being closed)."""

    vendor = Vendor.ORACLE

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        self.reading.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.2)
        raise AssertionError("unreachable")


async def test_closing_the_watcher_can_itself_be_cancelled(bus: Bus) -> None:
    """Cancelled while it waits for an observer to stop, `close` must end cancelled: if
    it swallowed that, whoever cancelled it (a server shutting down) would wait for a
    task that carries on as if nothing had happened."""
    adapter = ReadThatTakesTimeToCancel()
    watcher = watcher_for(adapter, bus)
    async with watcher.watching(CallId(Vendor.ORACLE, "slow")):
        await asyncio.wait_for(adapter.reading.wait(), 5)
        closer = asyncio.create_task(watcher.close())
        await asyncio.sleep(0.05)  # close() is waiting for the observer to let go
        closer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closer
