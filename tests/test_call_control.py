"""Call control over the live API (app/live/api.py is its StateWaiter): a command is
confirmed by the bus event of its effect when one comes (a vendor push, another
instance), by reading otherwise, and the confirmed change is published with a version."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from app.call_control import CallControl
from app.calls import CallState, Capability
from app.errors import VendorTimeout
from app.live.api import Live
from app.live.bus import Bus
from app.live.leases import MemoryLeases
from app.live.watcher import Watcher
from tests.live.switch import Switch, genesys_call


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = Bus("memory://")
    await bus.connect()
    yield bus
    await bus.disconnect()


@contextlib.asynccontextmanager
async def control_over(
    switch: Switch, bus: Bus, *, confirm_interval: float, confirm_timeout: float = 5.0
) -> AsyncIterator[tuple[CallControl, Live]]:
    watcher = Watcher(switch.adapters(), bus, MemoryLeases(), poll_interval=0.01, grace=0)
    live = Live(switch.adapters(), watcher, confirm_interval=confirm_interval)
    control = CallControl(
        switch.adapters(),
        confirm_timeout=confirm_timeout,
        waiter=live,
        on_confirmed=live.publish,
    )
    try:
        yield control, live
    finally:
        await live.close()


async def test_a_hold_is_confirmed_by_the_announced_change_after_one_read(bus: Bus) -> None:
    switch = Switch()  # accepts the command; its reads go on showing CONNECTED
    switch.states["a"] = CallState.CONNECTED
    async with control_over(switch, bus, confirm_interval=30.0) as (control, live):

        async def vendor_pushes_the_hold() -> None:
            while not switch.commands:  # noqa: ASYNC110 (the command is sent by the gateway)
                await asyncio.sleep(0.01)
            await live.publish(genesys_call("a", CallState.HELD))

        pusher = asyncio.create_task(vendor_pushes_the_hold())
        async with asyncio.timeout(5):
            held = await control.perform(switch.call("a"), Capability.HOLD)
        await pusher
        assert held.state is CallState.HELD
        assert switch.commands == [Capability.HOLD]
        # One read before the command (its state allows a hold) and one after; a
        # polling confirmation would have read until the deadline.
        assert switch.reads == 2


async def test_a_hold_nobody_announces_is_confirmed_by_reading(bus: Bus) -> None:
    switch = Switch(apply_commands=True)
    switch.states["a"] = CallState.CONNECTED
    async with control_over(switch, bus, confirm_interval=0.01) as (control, live):
        held = await control.perform(switch.call("a"), Capability.HOLD)
        assert held.state is CallState.HELD
        # Published, numbered: what a subscriber gets next.
        current = live.current(switch.call("a"))
        assert current is not None
        assert (current.state, current.version) == (CallState.HELD, 1)
        retrieved = await control.perform(switch.call("a"), Capability.RETRIEVE)
        assert retrieved.state is CallState.CONNECTED
        assert live.current(switch.call("a")).version == 2  # type: ignore[union-attr]


async def test_a_hold_neither_announced_nor_read_times_out(bus: Bus) -> None:
    switch = Switch()
    switch.states["a"] = CallState.CONNECTED
    async with control_over(switch, bus, confirm_interval=0.05, confirm_timeout=0.3) as (
        control,
        _,
    ):
        with pytest.raises(VendorTimeout) as timed_out:
            await control.perform(switch.call("a"), Capability.HOLD)
        assert timed_out.value.details["lastKnownState"] == "CONNECTED"
