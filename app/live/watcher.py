"""Watching calls: one observer per watched call, however many subscribers, and with a
shared bus, however many gateway instances.

A call is watched while anyone follows it (and for a grace period after the last one
left). Its observer runs only while this instance holds the call's lease, so exactly one
instance polls it; if that instance dies, another takes the lease over within its TTL.
Push vendors (Genesys CometD) feed one stream per vendor instead of polling, under a
lease of their own. Every change is published once (app/live/states.py: numbered,
logged, then on the bus on the call's channel and on the channel of all calls). The live
API (app/live/api.py) is the watcher's one client outside app/live.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import time
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from app.adapters import Adapters, LongPolls
from app.calls import CallId, CallSnapshot, CallState, Vendor
from app.errors import CallNotFound, SwitchboardError
from app.live.bus import ALL_CALLS, Bus, Listener, Resync, call_channel
from app.live.codec import CallEvent
from app.live.event_log import EventLog, MemoryEventLog
from app.live.leases import Leases
from app.live.states import CallStates
from app.live.versions import MemoryVersions, Versions
from app.metrics import OBSERVER_RESTARTS, Sample

logger = logging.getLogger("switchboard.live")

# Vendors whose list API can report every call (for callEvents): polled as a list.
LIST_POLLED: frozenset[Vendor] = frozenset({Vendor.VOIPNOW})


@runtime_checkable
class PushSource(Protocol):
    """An adapter whose vendor pushes call changes (Genesys CometD)."""

    def call_events(self) -> AsyncIterator[CallSnapshot]:
        """Every change of every call the vendor reports, until cancelled. Reconnects by
        itself; raises only for what it cannot recover from."""
        ...


class Watcher:
    def __init__(
        self,
        adapters: Adapters,
        bus: Bus,
        leases: Leases,
        *,
        poll_interval: float = 1.0,
        grace: float = 5.0,
        lease_ttl: float = 5.0,
        known_limit: int = 10_000,
        restart_backoff: float = 0.5,
        restart_backoff_max: float = 30.0,
        long_poll: float = 0.0,
        versions: Versions | None = None,
        log: EventLog | None = None,
    ) -> None:
        self.adapters = adapters
        self.bus = bus
        self.leases = leases
        self.log: EventLog = log or MemoryEventLog()
        # The one current state per call of this process; events only on change.
        self.states = CallStates(
            bus, versions or MemoryVersions(), self.log, known_limit=known_limit
        )
        self.poll_interval = poll_interval
        self.grace = grace
        self.lease_ttl = lease_ttl
        self._interest: collections.Counter[CallId] = collections.Counter()
        self._everything = 0  # callEvents subscribers
        # One task per watched call, per push vendor and per list-polled vendor.
        self._observers: dict[object, asyncio.Task[None]] = {}
        self._stops: dict[object, asyncio.TimerHandle] = {}
        self.leased: set[str] = set()  # leases this instance holds and observes under
        self.restart_backoff = restart_backoff
        self.long_poll = long_poll  # seconds a long-polling vendor may hold a read; 0: off
        self.restart_backoff_max = restart_backoff_max
        self.restarts = 0  # observers restarted after a failure (tests, metrics)

    # -- interest -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def watching(self, call_id: CallId) -> AsyncIterator[None]:
        """Keep `call_id` observed while the block runs (and `grace` seconds after)."""
        self._interest[call_id] += 1
        key = self._observer_key(call_id)
        self._ensure(key)
        try:
            yield
        finally:
            self._interest[call_id] -= 1
            if self._interest[call_id] <= 0:
                del self._interest[call_id]
                if not self._needed(key):
                    self._stop_later(key)

    @contextlib.asynccontextmanager
    async def watching_everything(self) -> AsyncIterator[None]:
        """Observe every call the list-capable vendors report (for callEvents)."""
        self._everything += 1
        keys = [("list", v) for v in LIST_POLLED if v in self.adapters.by_vendor]
        keys += [("push", v) for v, a in self.adapters.by_vendor.items() if _pushes(a)]
        for key in keys:
            self._ensure(key)
        try:
            yield
        finally:
            self._everything -= 1
            for key in keys:
                if not self._needed(key):
                    self._stop_later(key)

    def current_calls(self) -> list[CallSnapshot]:
        """The last known state of every call not ended that is observed now: all calls of
        the vendors `watching_everything()` covers while it runs, and the calls followed
        one by one (a call nobody observes any more may have changed unseen)."""
        everything = {_vendor_of(key) for key in self._observers if not isinstance(key, CallId)}
        if self._everything <= 0:
            everything.clear()
        return [
            snapshot
            for snapshot in self.states.known()
            if snapshot.state is not CallState.ENDED
            and (snapshot.call_id.vendor in everything or self._interest[snapshot.call_id] > 0)
        ]

    @property
    def observers(self) -> int:
        """Running observers (tests check that none is left behind)."""
        return sum(1 for task in self._observers.values() if not task.done())

    def samples(self) -> list[Sample]:
        """For /metrics: calls watched per vendor and how each is observed here."""
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for call_id in self._interest:
            key = self._observer_key(call_id)
            lease = f"call:{call_id}" if isinstance(key, CallId) else None
            if not isinstance(key, CallId):
                how = "push"
            elif lease in self.leased:
                how = "poll"
            else:
                how = "lease_elsewhere"
            counts[(call_id.vendor.value, how)] += 1
        return [
            (
                "switchboard_watched_calls",
                "Calls followed by subscribers, per vendor and how this instance observes "
                "them (push, poll, lease_elsewhere: another instance polls).",
                {"vendor": vendor, "observed": how},
                float(n),
            )
            for (vendor, how), n in sorted(counts.items())
        ]

    async def close(self) -> None:
        for handle in self._stops.values():
            handle.cancel()
        self._stops.clear()
        for task in list(self._observers.values()):
            await _cancel(task)
        self._observers.clear()

    # -- publishing -----------------------------------------------------------------------

    def known(self) -> list[CallSnapshot]:
        """Every call's current state known here, least recently changed first."""
        return self.states.known()

    def current(self, call_id: CallId) -> CallSnapshot | None:
        """The call's last state published here or heard of on the bus (None: unknown)."""
        return self.states.current(call_id)

    async def publish(
        self, snapshot: CallSnapshot, before: CallSnapshot | None = None
    ) -> CallSnapshot:
        """Publish `snapshot` if its state is news (app/live/states.py)."""
        return await self.states.publish(snapshot, before)

    def learn(self, message: CallEvent | Resync) -> None:
        """What another instance published (app/live/states.py)."""
        self.states.learn(message)

    def pushed(self, call_id: CallId) -> bool:
        """Whether this instance hears of the call's changes by its vendor's push now (its
        push stream runs here, under the lease, and the call is of interest)."""
        key = self._observer_key(call_id)
        if isinstance(key, CallId):
            return False
        task = self._observers.get(key)
        wanted = self._everything > 0 or self._interest[call_id] > 0
        running = task is not None and not task.done()
        return wanted and running and f"push:{call_id.vendor.value}" in self.leased

    # -- observers ------------------------------------------------------------------------

    def _observer_key(self, call_id: CallId) -> object:
        if _pushes(self.adapters.by_vendor.get(call_id.vendor)):
            return ("push", call_id.vendor)
        return call_id

    def _needed(self, key: object) -> bool:
        if isinstance(key, CallId):
            return self._interest[key] > 0
        kind, vendor = cast(tuple[str, Vendor], key)
        if self._everything > 0:
            return True
        return kind == "push" and any(c.vendor is vendor for c in self._interest)

    def _ensure(self, key: object) -> None:
        pending = self._stops.pop(key, None)
        if pending is not None:
            pending.cancel()
        task = self._observers.get(key)
        if task is None or task.done():
            self._observers[key] = asyncio.create_task(self._supervise(key), name=f"watch:{key}")

    def _stop_later(self, key: object) -> None:
        def stop() -> None:
            self._stops.pop(key, None)
            if not self._needed(key):
                task = self._observers.pop(key, None)
                if task is not None:
                    task.cancel()

        if self.grace <= 0:
            stop()
        else:
            self._stops[key] = asyncio.get_running_loop().call_later(self.grace, stop)

    async def _supervise(self, key: object) -> None:
        """Run the observer of `key` until it is done (its call ended) or stopped. An
        observer that fails — a vendor reply nobody foresaw, a bug — is logged and started
        again after a backoff: a watched call never goes silent without a word."""
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self._observe(key)
                return
            except Exception as failed:
                if time.monotonic() - started > self.restart_backoff_max:
                    failures = 0  # it ran well for a while: this is a new failure
                failures += 1
                delay = min(self.restart_backoff * 2 ** (failures - 1), self.restart_backoff_max)
                self.restarts += 1
                OBSERVER_RESTARTS.labels(_vendor_of(key).value).inc()
                logger.error(
                    "watch %s: observer failed (%s); restarting in %.1f s",
                    _describe(key),
                    _reason(failed),
                    delay,
                )
            await asyncio.sleep(delay)

    async def _observe(self, key: object) -> None:
        work: Callable[[], Coroutine[Any, Any, None]]
        if isinstance(key, CallId):
            work = functools.partial(self._poll_call, key)
            lease, channel = f"call:{key}", call_channel(key)
        else:
            kind, vendor = cast(tuple[str, Vendor], key)
            follow = self._poll_list if kind == "list" else self._follow_pushes
            work = functools.partial(follow, vendor)
            lease, channel = f"{kind}:{vendor.value}", ALL_CALLS
        async with self.bus.listen(channel) as listener:
            learner = asyncio.create_task(self._learn_from(listener))
            try:
                await self._while_leased(lease, work)
            finally:
                await _cancel(learner)

    async def _learn_from(self, listener: Listener) -> None:
        async for message in listener:
            self.learn(message)

    async def _while_leased(
        self, lease: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """Run `work` while this instance holds `lease`; wait for it otherwise. Returns
        when `work` is done (the call ended)."""
        while True:
            if not await self.leases.acquire(lease, self.lease_ttl):
                # Another instance observes. Ask again soon, not only at its TTL: one that
                # drains releases its leases at once (app/probes.py), and a call should not
                # go unobserved for long.
                await asyncio.sleep(min(self.lease_ttl / 3, 1.0))
                continue
            task = asyncio.create_task(work())
            held = True
            self.leased.add(lease)
            try:
                while not task.done():
                    await asyncio.wait({task}, timeout=self.lease_ttl / 3)
                    if not task.done() and not await self.leases.renew(lease, self.lease_ttl):
                        logger.info("lost lease %s: another instance observes", lease)
                        held = False
                        break
                if task.done():
                    task.result()
                    return
            finally:
                self.leased.discard(lease)
                try:
                    await _cancel(task)  # re-raises if we are being cancelled (stopped)
                finally:
                    if held:  # done, or stopped: let another instance take over at once
                        await self.leases.release(lease)

    async def _poll_call(self, call_id: CallId) -> None:
        """Poll one call until it ends. Oracle's `hasChanged` only tells about the
        previous poller, and queries poll too, so states are compared here."""
        adapter = self.adapters[call_id.vendor]
        long_poll = adapter if isinstance(adapter, LongPolls) and self.long_poll > 0 else None
        while True:
            pause = self.poll_interval
            try:
                if long_poll is not None:
                    # The vendor answers when the call changes: ask again at once.
                    result = await long_poll.wait_for_change(call_id.native, self.long_poll)
                    pause = 0.0
                else:
                    [result] = await adapter.fetch_many([call_id.native])
            except SwitchboardError as failed:
                logger.info("watch %s: %s", call_id, failed.message)
                pause = _backoff(failed, pause)
            else:
                snapshot = self._ended_if_gone(call_id, result)
                if snapshot is not None:
                    await self.publish(snapshot)
                    if _finished(snapshot):
                        return
            await asyncio.sleep(pause)

    def _ended_if_gone(
        self, call_id: CallId, result: CallSnapshot | SwitchboardError
    ) -> CallSnapshot | None:
        if isinstance(result, CallNotFound):
            # VoipNow drops ended calls from its list: gone means ended.
            last = self.states.current(call_id)
            if last is None or last.state is CallState.ENDED:
                return None
            return dataclasses.replace(last, state=CallState.ENDED, vendor_state=None)
        if isinstance(result, SwitchboardError):
            logger.info("watch %s: %s", call_id, result.message)
            return None
        return result

    async def _poll_list(self, vendor: Vendor) -> None:
        adapter = self.adapters[vendor]
        listed: set[CallId] = set()
        while True:
            pause = self.poll_interval
            try:
                calls = await adapter.active_calls(None)
            except SwitchboardError as failed:
                logger.info("watch %s calls: %s", vendor.value, failed.message)
                pause = _backoff(failed, pause)
            else:
                now_listed = {call.call_id for call in calls}
                for call in calls:
                    await self.publish(call)
                for gone in listed - now_listed:
                    snapshot = self._ended_if_gone(gone, CallNotFound("gone"))
                    if snapshot is not None:
                        await self.publish(snapshot)
                listed = now_listed
            await asyncio.sleep(pause)

    async def _follow_pushes(self, vendor: Vendor) -> None:
        source = self.adapters.by_vendor[vendor]
        assert isinstance(source, PushSource)
        async for snapshot in source.call_events():
            if self._everything > 0 or self._interest[snapshot.call_id] > 0:
                await self.publish(snapshot)


def _backoff(failed: SwitchboardError, pause: float) -> float:
    """How long to wait before polling again: a vendor whose breaker is open says when
    it may be asked again (`retryAfter`); polling sooner would only be refused."""
    retry_after = failed.details.get("retryAfter")
    return max(pause, float(retry_after)) if isinstance(retry_after, int | float) else pause


def _vendor_of(key: object) -> Vendor:
    if isinstance(key, CallId):
        return key.vendor
    return cast(tuple[str, Vendor], key)[1]


def _describe(key: object) -> str:
    if isinstance(key, CallId):
        return f"{key.vendor.value} call {key}"
    kind, vendor = cast(tuple[str, Vendor], key)
    return f"{vendor.value} {'push stream' if kind == 'push' else 'call list'}"


def _reason(failed: BaseException) -> str:
    """What failed, without a traceback or the exception's text for foreign exceptions
    (which may quote a URL with a credential): our errors' messages are safe by design."""
    if isinstance(failed, SwitchboardError):
        return f"{type(failed).__name__}: {failed.message}"
    frames = traceback.extract_tb(failed.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(failed).__name__}{where}"


def _pushes(adapter: object) -> bool:
    return isinstance(adapter, PushSource)


def _finished(snapshot: CallSnapshot) -> bool:
    return snapshot.state is CallState.ENDED


async def _cancel(task: asyncio.Task[None]) -> None:
    if task.done():
        # Awaiting it again would raise its exception anew, rewriting the traceback that
        # the supervisor is about to report.
        if not task.cancelled():
            task.exception()  # retrieved
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        # The task's own cancellation, expected; but if we are being cancelled ourselves
        # (the instance shutting down while closing an observer), that must go on up, or
        # the caller would carry on as if never cancelled.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception:
        logger.debug("a cancelled task ended with an error", exc_info=True)
