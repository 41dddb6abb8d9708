"""callStats' domain part (app/live/stats.py) against the emulators over loopback: counts
per state, one aggregator per distinct filter whatever the number of subscribers, none
left when they leave, and at most one value per interval (issue 14 item 5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from app.auth.parties import parties
from app.calls import CallSnapshot, CallState, Vendor
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_store import GenesysCallStore
from app.errors import BadUserInput
from app.live.bus import Bus
from app.live.leases import MemoryLeases
from app.live.stats import CallStats, CallStatsHub, Latest, StatsFilter
from app.live.watcher import Watcher
from app.vendors.registry import build_adapters
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import gateway_settings
from tests.waiting import eventually

GENESYS_DEMO = DEMO_IDS[Vendor.GENESYS].split(":", 1)[1]
EVERY_VENDOR = tuple(Vendor)


@dataclass
class Stack:
    hub: CallStatsHub
    watcher: Watcher
    emulator: EmulatorServer

    @property
    def genesys(self) -> GenesysCallStore:
        return self.emulator.emulator(GenesysEmulator).store


@asynccontextmanager
async def stack(
    emulator_server: EmulatorServer, *, interval: float = 0.05, poll_interval: float = 0.05
) -> AsyncIterator[Stack]:
    """Real adapters to the emulators, a memory bus, a watcher and the hub over them."""
    adapters = build_adapters(gateway_settings(emulator_server))
    bus = Bus("memory://")
    await bus.connect()
    watcher = Watcher(adapters, bus, MemoryLeases(), poll_interval=poll_interval, grace=0)
    hub = CallStatsHub.for_watcher(watcher, interval=interval)
    try:
        yield Stack(hub, watcher, emulator_server)
    finally:
        await hub.close()
        await watcher.close()
        await bus.disconnect()
        await adapters.close()


def every_call(
    vendors: tuple[Vendor, ...] | None = None, extensions: list[str] | None = None
) -> StatsFilter:
    return StatsFilter.of(vendors, extensions, None, configured=EVERY_VENDOR, max_extensions=100)


async def sees_all(call: CallSnapshot) -> bool:
    return True


async def until(values: Latest, condition: Callable[[CallStats], bool]) -> CallStats:
    """The first value that meets `condition` (the first ones may predate the watcher's
    first reads); fails on a hang."""
    async with asyncio.timeout(10):
        while True:
            value = await values.get()
            if condition(value):
                return value


def counts(value: CallStats) -> dict[str, dict[str, int]]:
    """Non-zero counts per vendor, e.g. {"GENESYS": {"CONNECTED": 1}}."""
    return {
        v.vendor.name: {c.state.name: c.count for c in v.by_state if c.count}
        for v in value.by_vendor
        if v.total
    }


async def test_counts_the_demo_calls_per_state_and_vendor(
    emulator_server: EmulatorServer,
) -> None:
    async with stack(emulator_server) as s, s.hub.subscribe(every_call(), sees_all) as values:
        value = await until(values, lambda v: v.total == 2)
        assert counts(value) == {"VOIPNOW": {"CONNECTED": 1}, "GENESYS": {"CONNECTED": 1}}
        assert [v.vendor for v in value.by_vendor] == list(Vendor)  # zeros listed too
        [genesys] = [v for v in value.by_vendor if v.vendor is Vendor.GENESYS]
        assert [c.state for c in genesys.by_state] == [
            CallState.SCHEDULED,
            CallState.DIALING,
            CallState.RINGING,
            CallState.CONNECTED,
            CallState.HELD,
            CallState.UNKNOWN,
        ]
        assert (value.longest_waiting_seconds, value.longest_held_seconds) == (None, None)


async def test_a_hold_moves_the_call_to_held_and_a_ringing_call_is_waiting(
    emulator_server: EmulatorServer,
) -> None:
    async with stack(emulator_server) as s, s.hub.subscribe(every_call(), sees_all) as values:
        await until(values, lambda v: v.total == 2)
        s.genesys.set_state(GENESYS_DEMO, "Held")
        held = await until(values, lambda v: v.longest_held_seconds is not None)
        assert counts(held) == {"VOIPNOW": {"CONNECTED": 1}, "GENESYS": {"HELD": 1}}
        s.genesys.add_call(state="Ringing")
        ringing = await until(values, lambda v: v.total == 3)
        assert counts(ringing) == {
            "VOIPNOW": {"CONNECTED": 1},
            "GENESYS": {"RINGING": 1, "HELD": 1},
        }
        assert ringing.longest_waiting_seconds is not None
        # The time runs from when the call entered its state, not from each value: it
        # grows while the call keeps ringing.
        later = await until(values, lambda v: (v.longest_waiting_seconds or 0) >= 1)
        assert counts(later) == counts(ringing)
        s.genesys.set_state(GENESYS_DEMO, "Released")
        ended = await until(values, lambda v: v.total == 2)
        assert counts(ended) == {"VOIPNOW": {"CONNECTED": 1}, "GENESYS": {"RINGING": 1}}
        assert ended.longest_held_seconds is None


async def test_the_filter_counts_only_its_vendors_and_extensions(
    emulator_server: EmulatorServer,
) -> None:
    # "0003*024" is the second view of the demo VoipNow call, written as a user might.
    only_voipnow = every_call((Vendor.VOIPNOW, Vendor.GENESYS), ["+0003*024"])
    async with stack(emulator_server) as s, s.hub.subscribe(only_voipnow, sees_all) as values:
        value = await until(values, lambda v: v.total == 1)
        assert [v.vendor for v in value.by_vendor] == [Vendor.VOIPNOW, Vendor.GENESYS]
        assert counts(value) == {"VOIPNOW": {"CONNECTED": 1}}
        s.genesys.add_call(state="Ringing", participants=[{"phoneNumber": "0003*024"}])
        more = await until(values, lambda v: v.total == 2)
        assert counts(more) == {"VOIPNOW": {"CONNECTED": 1}, "GENESYS": {"RINGING": 1}}


async def test_a_principal_with_lines_counts_only_its_calls(
    emulator_server: EmulatorServer,
) -> None:
    lines = frozenset({"voipnow:0003*024"})

    async def sees(call: CallSnapshot) -> bool:  # what Context.may_see decides for lines
        return bool(parties(call) & lines)

    own = StatsFilter.of(None, None, lines, configured=EVERY_VENDOR, max_extensions=100)
    async with (
        stack(emulator_server) as s,
        s.hub.subscribe(every_call(), sees_all) as everything,
        s.hub.subscribe(own, sees) as mine,
    ):
        await until(everything, lambda v: v.total == 2)
        value = await until(mine, lambda v: v.total >= 1)
        assert counts(value) == {"VOIPNOW": {"CONNECTED": 1}}
        assert len(s.hub.aggregators) == 2  # visibility is part of the filter


async def test_two_hundred_subscribers_share_one_aggregator_and_read_no_vendor(
    emulator_server: EmulatorServer,
) -> None:
    # Polling far apart: any vendor read after the first one would be for the subscribers.
    async with (
        stack(emulator_server, poll_interval=60) as s,
        s.hub.subscribe(every_call(), sees_all) as first,
        AsyncExitStack() as more,
    ):
        await until(first, lambda v: v.total == 2)
        control = emulator_server.control
        control.requests.clear()
        others = [
            await more.enter_async_context(s.hub.subscribe(every_call(), sees_all))
            for _ in range(199)
        ]
        for values in others:  # each got the current value at once
            assert counts(await until(values, lambda v: True)) == {
                "VOIPNOW": {"CONNECTED": 1},
                "GENESYS": {"CONNECTED": 1},
            }
        assert len(s.hub.aggregators) == 1
        [aggregator] = s.hub.aggregators.values()
        assert len(aggregator.subscribers) == 200
        reads = control.count("voipnow", path_contains="phoneCalls") + control.count(
            "genesys", path_contains="/me/calls"
        )
        assert reads == 0


async def test_two_filters_two_aggregators_and_the_last_to_leave_stops_them(
    emulator_server: EmulatorServer,
) -> None:
    async with stack(emulator_server) as s:
        async with (
            s.hub.subscribe(every_call(), sees_all) as a,
            s.hub.subscribe(every_call(), sees_all),
            s.hub.subscribe(every_call((Vendor.GENESYS,)), sees_all) as b,
        ):
            await until(a, lambda v: v.total == 2)
            await until(b, lambda v: v.total == 1)
            assert len(s.hub.aggregators) == 2
            running = list(s.hub.aggregators.values())
            assert all(aggregator.running for aggregator in running)
        assert s.hub.aggregators == {}
        assert not any(aggregator.running for aggregator in running)
        assert s.hub.samples()[0][3] == 0.0
        # Nothing keeps the vendors observed for callStats any more.
        await eventually(lambda: s.watcher.observers == 0)


async def test_at_most_one_value_per_interval_however_many_changes(
    emulator_server: EmulatorServer,
) -> None:
    async with (
        stack(emulator_server, interval=3600) as s,
        s.hub.subscribe(every_call((Vendor.GENESYS,)), sees_all),
    ):
        [aggregator] = s.hub.aggregators.values()
        # The first value at once, whatever the interval; the demo call once known.
        await eventually(lambda: len(aggregator.counted()) == 1)
        first_pushes = aggregator.pushes
        for state in ["Held", "Established", "Held", "Established", "Held"]:
            s.genesys.set_state(GENESYS_DEMO, state)
        await eventually(lambda: set(aggregator.counted().values()) == {CallState.HELD})
        await asyncio.sleep(0.2)  # room for a (wrong) push to go out
        assert aggregator.pushes == first_pushes
        # Late joiners get the value already pushed, not a new computation.
        async with s.hub.subscribe(every_call((Vendor.GENESYS,)), sees_all) as late:
            await late.get()
        assert aggregator.pushes == first_pushes


@pytest.mark.parametrize(
    ("vendors", "extensions", "message"),
    [
        ((), None, "vendors, when given, must name at least one vendor."),
        (None, [], "extensions, when given, must name at least one extension."),
        (None, ["x"] * 101, "At most 100 extensions, got 101."),
        (None, ["()"], "An extension must have at least one digit or letter."),
    ],
)
def test_a_filter_that_cannot_match_is_bad_user_input(
    vendors: tuple[Vendor, ...] | None, extensions: list[str] | None, message: str
) -> None:
    with pytest.raises(BadUserInput) as refused:
        every_call(vendors, extensions)
    assert refused.value.message == message


def test_filters_with_the_same_meaning_are_one_filter() -> None:
    one: Any = every_call((Vendor.GENESYS, Vendor.VOIPNOW), ["0003*024", "15000"])
    other: Any = every_call(
        (Vendor.VOIPNOW, Vendor.GENESYS, Vendor.VOIPNOW), ["15000", "0003 *024"]
    )
    assert one == other
    assert hash(one) == hash(other)
