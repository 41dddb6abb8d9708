"""A clock that moves only when a test moves it (emulators and token caches take clocks)."""

from __future__ import annotations


class ManualClock:
    def __init__(self, now: float = 1_700_000_000.0, *, step: float = 0.0) -> None:
        self.now = now
        self.step = step  # added on every reading: e.g. every token expires before its use

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
