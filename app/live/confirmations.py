"""Confirming a command by the vendor's own notification when one comes, by reading
otherwise: the `StateWaiter` the gateway uses (see app/call_control.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.adapters import Adapters
from app.call_control import read_call
from app.calls import CallId, CallSnapshot
from app.errors import VendorError
from app.live.bus import Bus, call_channel
from app.live.codec import decode_event


class NotifiedOrPolledWaiter:
    """Reads the call every `interval` seconds, and at once when the bus announces a
    change of it: a pushed vendor event (Genesys CometD, for a watched call) or another
    instance's confirmation then ends the wait without waiting for the next read."""

    def __init__(self, adapters: Adapters, bus: Bus, interval: float = 0.2) -> None:
        self.adapters = adapters
        self.bus = bus
        self.interval = interval

    async def wait_for(
        self, call_id: CallId, accept: Callable[[CallSnapshot | None], bool]
    ) -> CallSnapshot | None:
        async with self.bus.listen(call_channel(call_id)) as events:
            while True:
                try:
                    snapshot = await read_call(self.adapters, call_id, missing_ok=True)
                except VendorError:
                    pass  # a passing failure: the deadline, not one bad read, decides
                else:
                    if accept(snapshot):
                        return snapshot
                try:
                    async with asyncio.timeout(self.interval):
                        message = await events.get()
                except TimeoutError:
                    continue
                if isinstance(message, str):
                    announced = decode_event(message).call
                    if accept(announced):
                        return announced
