"""The event log and the versions, in memory and in a real Redis (restarts included):
cursors in order, replay after a cursor, too old or unknown cursors, versions monotonic
across instances sharing one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from app.calls import CallId, CallState, Vendor
from app.errors import BadUserInput
from app.live.codec import CallEvent
from app.live.event_log import EventLog, MemoryEventLog, RedisEventLog, parse_cursor
from app.live.versions import MemoryVersions, RedisVersions
from tests.live.conftest import RedisServer, unique
from tests.live.switch import genesys_call


def event(native: str, state: CallState) -> CallEvent:
    return CallEvent(genesys_call(native, state), None, datetime.now(UTC))


@pytest.fixture(params=["memory", "redis"])
async def log(request: pytest.FixtureRequest) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        yield MemoryEventLog(count=3)
        return
    url = request.getfixturevalue("redis_url")
    redis_log = RedisEventLog(url, count=3, key=unique("events"))
    yield redis_log
    await redis_log.aclose()


async def test_events_after_a_cursor_in_order_with_their_cursors(log: EventLog) -> None:
    cursors = [await log.append(event("a", s)) for s in (CallState.RINGING, CallState.CONNECTED)]
    assert parse_cursor(cursors[0]) < parse_cursor(cursors[1])
    assert await log.latest() == cursors[1]
    replayed = await log.after(parse_cursor(cursors[0]))
    assert replayed is not None
    assert [(e.call.state, e.cursor) for e in replayed] == [(CallState.CONNECTED, cursors[1])]
    assert await log.after(parse_cursor(cursors[1])) == []


async def test_a_cursor_from_before_the_log_or_after_it_is_unknown(log: EventLog) -> None:
    cursor = await log.append(event("a", CallState.RINGING))
    ms, _seq = parse_cursor(cursor)
    assert await log.after((ms - 60_000, 0)) is None  # before the log began
    assert await log.after((ms + 60_000, 0)) is None  # not one of this log's


async def test_memory_log_keeps_count_events_and_knows_what_it_dropped() -> None:
    log = MemoryEventLog(count=2)
    states = [CallState.RINGING, CallState.CONNECTED, CallState.HELD, CallState.CONNECTED]
    cursors = [await log.append(event("a", s)) for s in states]
    assert await log.after(parse_cursor(cursors[0])) is None  # its successor was dropped
    kept = await log.after(parse_cursor(cursors[1]))  # the last one dropped: all after kept
    assert kept is not None
    assert [e.cursor for e in kept] == cursors[2:4]


async def test_memory_log_keeps_events_for_the_retention_only() -> None:
    log = MemoryEventLog(retention=0.05)
    first = await log.append(event("a", CallState.RINGING))
    second = await log.append(event("a", CallState.CONNECTED))
    await asyncio.sleep(0.1)
    third = await log.append(event("a", CallState.HELD))
    assert await log.after(parse_cursor(first)) is None  # the second is gone
    kept = await log.after(parse_cursor(second))
    assert kept is not None
    assert [e.cursor for e in kept] == [third]


async def test_redis_log_restarted_empty_makes_every_earlier_cursor_too_old(
    redis_server: RedisServer,
) -> None:
    log = RedisEventLog(redis_server.url, key=unique("events"))
    try:
        cursor = await log.append(event("a", CallState.RINGING))
        assert await log.after(parse_cursor(cursor)) == []
        redis_server.stop()
        assert await log.after(parse_cursor(cursor)) is None  # unreachable: cannot tell
        # Unreachable: the event still gets a cursor, after the one before.
        assert parse_cursor(await log.append(event("a", CallState.CONNECTED))) > parse_cursor(
            cursor
        )
        redis_server.start()
        assert await log.after(parse_cursor(cursor)) is None  # nothing yet: unknown
        await log.append(event("a", CallState.HELD))
        assert await log.after(parse_cursor(cursor)) is None  # a new stream, newer start
    finally:
        await log.aclose()


@pytest.mark.parametrize(
    "text", ["", "x", "1", "1-", "-1", "1-2-3", " 1-2", "1-2 ", "9" * 16 + "-0"]
)
def test_malformed_cursors_are_bad_user_input(text: str) -> None:
    with pytest.raises(BadUserInput):
        parse_cursor(text)


async def test_versions_are_monotonic_across_instances_on_one_redis(redis_url: str) -> None:
    call = CallId(Vendor.GENESYS, unique("call").replace(":", "-")[-40:])
    a, b = RedisVersions(redis_url), RedisVersions(redis_url)
    try:
        first = await a.next(call, CallState.RINGING, 0)
        assert (first.version, first.new) == (1, True)
        # Instance B reads the same state without having heard of it: same version.
        same = await b.next(call, CallState.RINGING, 0)
        assert (same.version, same.new, same.observed_at) == (1, False, first.observed_at)
        assert (await b.next(call, CallState.CONNECTED, 1)).version == 2
        assert (await a.next(call, CallState.HELD, 1)).version == 3  # a's floor is behind
    finally:
        await a.aclose()
        await b.aclose()


async def test_versions_keep_rising_through_a_redis_restart(redis_server: RedisServer) -> None:
    call = CallId(Vendor.GENESYS, "restarted")
    versions = RedisVersions(redis_server.url)
    try:
        assert (await versions.next(call, CallState.RINGING, 0)).version == 1
        assert (await versions.next(call, CallState.CONNECTED, 1)).version == 2
        redis_server.stop()
        down = await versions.next(call, CallState.HELD, 2)  # numbered locally meanwhile
        assert (down.version, down.new) == (3, True)
        redis_server.start()  # empty: its counter starts again, but not below our floor
        assert (await versions.next(call, CallState.CONNECTED, 3)).version == 4
    finally:
        await versions.aclose()


async def test_memory_versions_number_each_new_state_once() -> None:
    versions = MemoryVersions()
    call = CallId(Vendor.GENESYS, "a")
    assert (await versions.next(call, CallState.RINGING, 0)).version == 1
    again = await versions.next(call, CallState.RINGING, 0)
    assert (again.version, again.new) == (1, False)
    assert (await versions.next(call, CallState.CONNECTED, 1)).version == 2
    assert (await versions.next(call, CallState.HELD, 7)).version == 8  # above the floor


async def test_resuming_from_the_latest_cursor_of_an_empty_log_is_safe(log: EventLog) -> None:
    """A RESYNC of an empty log hands out its latest cursor: resuming there again must
    not be told to RESYNC a second time."""
    assert await log.after(parse_cursor(await log.latest())) == []
    cursor = await log.append(event("a", CallState.RINGING))
    assert await log.latest() == cursor


async def test_redis_replay_reads_every_event_after_the_cursor(redis_url: str) -> None:
    log = RedisEventLog(redis_url, key=unique("events"))
    try:
        states = [CallState.RINGING, CallState.CONNECTED]
        cursors = [await log.append(event("a", states[i % 2])) for i in range(2501)]
        replayed = await log.after(parse_cursor(cursors[0]))
        assert replayed is not None
        assert [e.cursor for e in replayed] == cursors[1:]  # more than one page of them
    finally:
        await log.aclose()
