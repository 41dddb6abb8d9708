"""A circuit breaker per vendor: a vendor that keeps failing is cut off for a while, so
that every request for it fails at once (VENDOR_UNAVAILABLE with `retryAfter`) instead of
each waiting out its own timeout, and the vendor is not hammered while it recovers.

    closed ──(`failures` consecutive failures)──▶ open ──(`cooldown` s)──▶ half-open
       ▲                                           ▲                           │
       └──────────── the probe succeeds ───────────┴──── the probe fails ◀─────┘

What counts as a failure: a timeout, a 5xx answer, a dropped or refused connection.
A 4xx answer is the vendor working (it refused *this* request). In half-open one read
probes the vendor; commands never probe (a command must not be the experiment, and the
client of a command needs a definite answer), nor do other requests while the probe runs.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from typing import Any

from app.calls import Vendor
from app.errors import VendorUnavailable


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        vendor: Vendor,
        *,
        failures: int = 5,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or cooldown < 0:
            raise ValueError("a breaker needs failures >= 1 and cooldown >= 0")
        self.vendor = vendor
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._open = False
        self._probing = False
        self.last_success: float | None = None  # clock time (readiness: last success age)
        self.last_error: str | None = None  # the code of the last failure
        self.openings = 0  # how often it opened (metrics, tests)

    @property
    def state(self) -> BreakerState:
        if not self._open:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def usable(self) -> bool:
        return self.state is not BreakerState.OPEN

    def describe(self) -> dict[str, Any]:
        age = None if self.last_success is None else round(self._clock() - self.last_success, 3)
        return {"breaker": self.state.value, "lastSuccessAge": age, "lastError": self.last_error}

    def admit(self, *, probe: bool) -> bool:
        """Before a request: may it go? Raises VENDOR_UNAVAILABLE when the breaker is
        open. Returns True when the request is the half-open probe (`probe`: it is a read
        that may serve as one); its outcome decides."""
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and probe and not self._probing:
            self._probing = True
            return True
        wait = max(self.cooldown - (self._clock() - self._opened_at), 0.0)
        raise VendorUnavailable(
            f"{self.vendor.value} is failing: requests to it are paused for "
            f"{math.ceil(wait) if wait else 'a moment'} s.",
            vendor=self.vendor.value,
            retryAfter=max(1, math.ceil(wait)),
        )

    def succeeded(self, *, probe: bool) -> None:
        self.last_success = self._clock()
        self._failures = 0
        if probe or self._open:
            self._open = False
            self._probing = False

    def failed(self, code: str, *, probe: bool) -> None:
        self.last_error = code
        if probe:
            self._probing = False
            self._trip()
            return
        self._failures += 1
        if not self._open and self._failures >= self.threshold:
            self._trip()

    def released(self, *, probe: bool) -> None:
        """The request ended without an outcome (cancelled): let another probe."""
        if probe:
            self._probing = False

    def _trip(self) -> None:
        self._open = True
        self._opened_at = self._clock()
        self.openings += 1
