"""Brings the emulators to life: new calls keep arriving at random vendors and run their
course (ringing, connected, sometimes held, ended with a reason), so a demo has traffic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Sequence

from app.emulators.base import VendorEmulator

logger = logging.getLogger("switchboard.emulators")


class CallSimulator:
    """Starts a simulated call every `interval` seconds, at most `max_calls` at a time."""

    def __init__(
        self,
        emulators: Sequence[VendorEmulator],
        *,
        interval: float = 4.0,
        pace: float = 1.0,
        max_calls: int = 8,
        seed: int | None = None,
    ) -> None:
        self.emulators = list(emulators)
        self.interval = interval
        self.pace = pace
        self.max_calls = max_calls
        self.rng = random.Random(seed)
        self.completed: Counter[str] = Counter()  # calls run to their end, by vendor
        self.failed: Counter[str] = Counter()
        self._calls: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="call-simulator")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._calls) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._calls.clear()  # their done-callbacks may not have run yet

    async def _run(self) -> None:
        while True:
            if len(self._calls) < self.max_calls:
                emulator = self.rng.choice(self.emulators)
                task = asyncio.create_task(self._simulate(emulator))
                self._calls.add(task)
                task.add_done_callback(self._calls.discard)
            await asyncio.sleep(self.interval * self.rng.uniform(0.5, 1.5))

    async def _simulate(self, emulator: VendorEmulator) -> None:
        try:
            await emulator.simulate_call(self.rng, self.pace)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A broken scenario must not stop the others.
            self.failed[emulator.vendor] += 1
            logger.exception("simulated %s call failed", emulator.vendor)
        else:
            self.completed[emulator.vendor] += 1

    @property
    def running(self) -> int:
        return len(self._calls)
