"""Call control: hold, retrieve, hang up and start calls, each answered with the call in
its state as CONFIRMED by the vendor.

Telephony commands are asynchronous: a vendor that accepted `Hold` has not yet held the
call. So every command here reads the call first, checks what its state allows, sends
the command once, then waits (bounded) until the vendor shows the new state. Nothing is
retried blindly: when a command's answer is lost, the call is read back before deciding.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from app import tracing
from app.adapters import Adapters, FindsPlacedCalls, StartCall, read_call, read_if_accepted
from app.calls import VENDOR_CAPABILITIES, CallId, CallSnapshot, CallState, Capability
from app.errors import (
    InvalidState,
    NotSupported,
    OutcomeUnknown,
    SwitchboardError,
    VendorConnectionLost,
    VendorError,
    VendorTimeout,
)
from app.idempotency import DAY, IdempotencyStore, IdempotentStarts, MemoryIdempotency
from app.metrics import COMMANDS, CONFIRMATION_SECONDS

logger = logging.getLogger("switchboard.control")

# A lost start answer: look for the placed call among those begun this long before the
# request was sent (vendor clocks drift from ours).
_CLOCK_SLACK = timedelta(seconds=5)

# The state each operation leads to.
TARGET_STATES: Mapping[Capability, CallState] = {
    Capability.HOLD: CallState.HELD,
    Capability.RETRIEVE: CallState.CONNECTED,
    Capability.HANGUP: CallState.ENDED,
}

_VERBS: Mapping[Capability, str] = {
    Capability.HOLD: "hold",
    Capability.RETRIEVE: "take off hold",
    Capability.HANGUP: "hang up",
}


# A confirmed change: the call before and after.
_Change = tuple[CallSnapshot, CallSnapshot]


class StateWaiter(Protocol):
    """How confirmations arrive. The default polls the vendor; the live API
    (app/live/api.py, `Live.confirm`) answers sooner from push and bus events."""

    async def confirm(
        self,
        call_id: CallId,
        accept: Callable[[CallSnapshot | None], bool],
    ) -> CallSnapshot | None:
        """The first snapshot `accept` takes (None: the vendor no longer knows the call).
        Waits as long as it takes: the caller bounds it."""
        ...


class PollingWaiter:
    """Reads the call every `interval` seconds until it is accepted."""

    def __init__(self, adapters: Adapters, interval: float = 0.2) -> None:
        self.adapters = adapters
        self.interval = interval

    async def confirm(
        self,
        call_id: CallId,
        accept: Callable[[CallSnapshot | None], bool],
    ) -> CallSnapshot | None:
        while True:
            done, snapshot = await read_if_accepted(self.adapters, call_id, accept)
            if done:
                return snapshot
            await asyncio.sleep(self.interval)


class CallControl:
    """One per gateway: the same command on the same call is sent once, whoever asks."""

    def __init__(
        self,
        adapters: Adapters,
        *,
        confirm_timeout: float = 5.0,
        waiter: StateWaiter | None = None,
        on_confirmed: Callable[[CallSnapshot, CallSnapshot | None], Awaitable[None]] | None = None,
        idempotency: IdempotencyStore | None = None,
        idempotency_ttl: float = DAY,
    ) -> None:
        self.adapters = adapters
        self.confirm_timeout = confirm_timeout
        self.once = IdempotentStarts(
            idempotency or MemoryIdempotency(),
            place=self._start,
            find=self._find_placed,
            ttl=idempotency_ttl,
        )
        self.waiter: StateWaiter = waiter or PollingWaiter(adapters)
        # Live updates: subscribers hear of a confirmed change at once, not at next poll.
        # Called with the call after, and as it was before (None: a new call).
        self.on_confirmed = on_confirmed
        self._in_flight: dict[tuple[CallId, Capability], asyncio.Future[_Change]] = {}

    async def perform(self, call_id: CallId, operation: Capability) -> CallSnapshot:
        """Hold, retrieve or hang up; the call in its confirmed new state."""
        before, after = await self._shared(call_id, operation)
        if self.on_confirmed is not None:
            await self.on_confirmed(after, before)
        return after

    async def _shared(self, call_id: CallId, operation: Capability) -> _Change:
        vendor = call_id.vendor
        if operation not in VENDOR_CAPABILITIES[vendor]:
            raise NotSupported(
                f"{vendor.value} calls cannot be asked to {_VERBS[operation]}.",
                vendor=vendor.value,
            )
        key = (call_id, operation)
        running = self._in_flight.get(key)
        if running is None:
            running = asyncio.ensure_future(self._perform(call_id, operation))
            self._in_flight[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        # Shielded: one caller going away must not cancel the command for the others.
        return await asyncio.shield(running)

    def _finished(self, key: tuple[CallId, Capability], done: asyncio.Future[_Change]) -> None:
        self._in_flight.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have gone away meanwhile

    async def start(
        self, request: StartCall, *, idempotency_key: str | None = None, scope: str = ""
    ) -> CallSnapshot:
        """Start a call; the call once the vendor knows it (typically DIALING or RINGING).

        With an `idempotency_key`, a repeat of the same request (by the same `scope`, the
        principal) answers the first one's outcome and sends nothing to the vendor."""
        if idempotency_key is None:
            return await self._start(request)
        return await self.once.start(request, idempotency_key, scope)

    async def _start(self, request: StartCall) -> CallSnapshot:
        try:
            started = await self._place(request)
        except SwitchboardError as failed:
            _count(request.vendor.value, "start", failed.code)
            raise
        _count(request.vendor.value, "start", "confirmed")
        return started

    async def _place(self, request: StartCall) -> CallSnapshot:
        adapter = self.adapters[request.vendor]
        vendor = request.vendor.value
        sent_at = datetime.now(UTC)
        try:
            native_id = await adapter.start_call(request)
        except (VendorTimeout, VendorConnectionLost) as lost:
            if lost.unsent:
                raise  # e.g. no token: the start was never sent
            # The vendor may have placed the call: never send it again. Where the vendor
            # lists calls, the call it placed can be found; otherwise say so plainly.
            found = await self._find_placed(request, sent_at - _CLOCK_SLACK)
            if found is not None:
                logger.info("%s start answer lost; found the call it placed", vendor)
                return await self._announce_started(found)
            raise OutcomeUnknown(
                f"The answer to the start request was lost ({lost.message}): {vendor} may "
                "have placed the call. Do not retry blindly: retry with the same "
                "idempotencyKey, or look for the call.",
                vendor=vendor,
            ) from lost
        call_id = CallId.parse(f"{vendor}:{native_id}")
        try:
            started = await self._confirm(
                call_id,
                lambda snapshot: snapshot is not None,
                last_known=None,
                what=f"{vendor} started call {call_id} but does not show it",
            )
        except SwitchboardError as unconfirmed:
            # The call was placed: whatever else fails, the client learns which call.
            unconfirmed.details["callId"] = str(call_id)
            raise
        assert started is not None
        return await self._announce_started(started)

    async def _announce_started(self, started: CallSnapshot) -> CallSnapshot:
        if self.on_confirmed is not None:
            await self.on_confirmed(started, None)
        return started

    async def _find_placed(self, request: StartCall, since: datetime) -> CallSnapshot | None:
        adapter = self.adapters.by_vendor.get(request.vendor)
        if not isinstance(adapter, FindsPlacedCalls):
            return None
        try:
            async with asyncio.timeout(self.confirm_timeout):
                return await adapter.find_placed_call(request, since)
        except (SwitchboardError, TimeoutError) as failed:
            logger.info(
                "%s: could not look for a placed call: %s",
                request.vendor.value,
                getattr(failed, "message", type(failed).__name__),
            )
            return None

    async def _perform(self, call_id: CallId, operation: Capability) -> _Change:
        name = operation.value.lower()
        try:
            current = await read_call(self.adapters, call_id)
            assert current is not None
            after = await self._change(current, operation)
        except SwitchboardError as failed:
            _count(call_id.vendor.value, name, failed.code)
            raise
        _count(call_id.vendor.value, name, "no_op" if after is current else "confirmed")
        return current, after

    async def _change(self, current: CallSnapshot, operation: Capability) -> CallSnapshot:
        call_id, target = current.call_id, TARGET_STATES[operation]
        if current.state is target:
            return current  # already there: nothing to ask the vendor
        if operation not in current.capabilities:
            raise InvalidState(
                f"Cannot {_VERBS[operation]} a call that is {current.state.value}.",
                vendor=call_id.vendor.value,
                state=current.state.value,
            )
        what = f"{call_id.vendor.value} accepted the request to {_VERBS[operation]} call {call_id}"
        try:
            await self.adapters[call_id.vendor].perform(current, operation)
        except (VendorTimeout, VendorConnectionLost) as lost:
            if lost.unsent:
                raise _with_state(lost, current) from None  # e.g. no token: never sent
            # The answer is lost, not the command: it may have been carried out. Never
            # resend it; watch for its effect as if the vendor had said yes.
            what = f"the answer to the request to {_VERBS[operation]} call {call_id} was lost"
        except NotSupported:
            raise  # said before anything was sent
        except SwitchboardError as refused:
            # The vendor answered and did not act (HTTP 4xx, GWS statusCode != 0, Oracle
            # 403 "already ended"). Still, read before deciding: the effect may be there
            # already (the far end hung up first), which is what the client asked for.
            latest = await self._read_back(call_id, current)
            if _reached(latest, target):
                return _settled(latest, current, target)
            if not (operation is Capability.HANGUP and isinstance(refused, InvalidState)):
                raise _with_state(refused, latest or current) from refused
            # A hang-up refused as "already ending" (Oracle answers 403 while a hang-up is
            # under way, s0205endcallexamples01.html) while the call still shows as live:
            # its end is coming. Wait for it as for a command the vendor accepted.
            what = f"{call_id.vendor.value} said call {call_id} is already ending"

        def confirmed(snapshot: CallSnapshot | None) -> bool:
            return _reached(snapshot, target)

        accepted = time.monotonic()
        latest = await self._confirm(
            call_id,
            confirmed,
            last_known=current,
            what=f"{what}, but {call_id.vendor.value} did not confirm it",
        )
        CONFIRMATION_SECONDS.labels(call_id.vendor.value, operation.value.lower()).observe(
            time.monotonic() - accepted
        )
        return _settled(latest, current, target)

    async def _confirm(
        self,
        call_id: CallId,
        accept: Callable[[CallSnapshot | None], bool],
        *,
        last_known: CallSnapshot | None,
        what: str,
    ) -> CallSnapshot | None:
        started = time.monotonic()
        try:
            with tracing.span("confirm", {"vendor": call_id.vendor.value}):
                async with asyncio.timeout(self.confirm_timeout):
                    return await self.waiter.confirm(call_id, accept)
        except TimeoutError:
            latest = await self._read_back(call_id, last_known)
            if accept(latest):
                return latest
            waited = time.monotonic() - started
            raise _with_state(
                VendorTimeout(f"{what} within {waited:.1f} s.", vendor=call_id.vendor.value),
                latest or last_known,
            ) from None

    async def _read_back(
        self, call_id: CallId, fallback: CallSnapshot | None
    ) -> CallSnapshot | None:
        try:
            return await read_call(self.adapters, call_id, missing_ok=True)
        except VendorError:
            return fallback


def _count(vendor: str, operation: str, outcome: str) -> None:
    COMMANDS.labels(vendor, operation, outcome).inc()


def _reached(snapshot: CallSnapshot | None, target: CallState) -> bool:
    # A call the vendor no longer lists has ended (VoipNow drops ended calls).
    if snapshot is None:
        return target is CallState.ENDED
    return snapshot.state is target


def _settled(latest: CallSnapshot | None, before: CallSnapshot, target: CallState) -> CallSnapshot:
    if latest is not None:
        return latest
    return dataclasses.replace(before, state=target, vendor_state=None)


E = TypeVar("E", bound=SwitchboardError)


def _with_state(error: E, snapshot: CallSnapshot | None) -> E:
    """`error`, carrying the last state switchboard saw (clients can show it)."""
    if snapshot is not None:
        error.details.update(
            lastKnownState=snapshot.state.value, lastKnownVendorState=snapshot.vendor_state
        )
    return error
