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
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from app.adapters import Adapters, StartCall
from app.calls import VENDOR_CAPABILITIES, CallId, CallSnapshot, CallState, Capability
from app.errors import (
    CallNotFound,
    InvalidState,
    NotSupported,
    VendorConnectionLost,
    VendorError,
    VendorTimeout,
)

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
    """How confirmations arrive. The default polls the vendor; live updates (push
    vendors, watched calls) can answer sooner through the same interface."""

    async def wait_for(
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

    async def wait_for(
        self,
        call_id: CallId,
        accept: Callable[[CallSnapshot | None], bool],
    ) -> CallSnapshot | None:
        while True:
            try:
                snapshot = await read_call(self.adapters, call_id, missing_ok=True)
            except VendorError:
                pass  # a passing failure: the deadline, not one bad read, decides
            else:
                if accept(snapshot):
                    return snapshot
            await asyncio.sleep(self.interval)


async def read_call(
    adapters: Adapters, call_id: CallId, *, missing_ok: bool = False
) -> CallSnapshot | None:
    """The call as the vendor has it now (no request-scoped cache: commands need truth)."""
    [result] = await adapters[call_id.vendor].fetch_many([call_id.native])
    if isinstance(result, CallNotFound) and missing_ok:
        return None
    if isinstance(result, Exception):
        raise result
    return result


class CallControl:
    """One per gateway: the same command on the same call is sent once, whoever asks."""

    def __init__(
        self,
        adapters: Adapters,
        *,
        confirm_timeout: float = 5.0,
        waiter: StateWaiter | None = None,
        on_confirmed: Callable[[CallSnapshot, CallSnapshot | None], Awaitable[None]] | None = None,
    ) -> None:
        self.adapters = adapters
        self.confirm_timeout = confirm_timeout
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

    async def start(self, request: StartCall) -> CallSnapshot:
        """Start a call; the call once the vendor knows it (typically DIALING or RINGING)."""
        adapter = self.adapters[request.vendor]
        native_id = await adapter.start_call(request)
        call_id = CallId.parse(f"{request.vendor.value}:{native_id}")
        started = await self._confirm(
            call_id,
            lambda snapshot: snapshot is not None,
            last_known=None,
            what=f"{request.vendor.value} started call {call_id} but does not show it",
        )
        assert started is not None
        if self.on_confirmed is not None:
            await self.on_confirmed(started, None)
        return started

    async def _perform(self, call_id: CallId, operation: Capability) -> _Change:
        current = await read_call(self.adapters, call_id)
        assert current is not None
        return current, await self._change(current, operation)

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
        except (VendorTimeout, VendorConnectionLost):
            # The answer is lost, not the command: it may have been carried out. Never
            # resend it; watch for its effect as if the vendor had said yes.
            what = f"the answer to the request to {_VERBS[operation]} call {call_id} was lost"
        except VendorError as refused:
            # The vendor answered and did not act. Still, read before deciding.
            latest = await self._read_back(call_id, current)
            if _reached(latest, target):
                return _settled(latest, current, target)
            raise _with_state(refused, latest or current) from refused

        def confirmed(snapshot: CallSnapshot | None) -> bool:
            return _reached(snapshot, target)

        latest = await self._confirm(
            call_id,
            confirmed,
            last_known=current,
            what=f"{what}, but {call_id.vendor.value} did not confirm it",
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
            async with asyncio.timeout(self.confirm_timeout):
                return await self.waiter.wait_for(call_id, accept)
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


def _reached(snapshot: CallSnapshot | None, target: CallState) -> bool:
    # A call the vendor no longer lists has ended (VoipNow drops ended calls).
    if snapshot is None:
        return target is CallState.ENDED
    return snapshot.state is target


def _settled(latest: CallSnapshot | None, before: CallSnapshot, target: CallState) -> CallSnapshot:
    if latest is not None:
        return latest
    return dataclasses.replace(before, state=target, vendor_state=None)


def _with_state(error: VendorError, snapshot: CallSnapshot | None) -> VendorError:
    """`error`, carrying the last state switchboard saw (clients can show it)."""
    if snapshot is not None:
        error.details.update(
            lastKnownState=snapshot.state.value, lastKnownVendorState=snapshot.vendor_state
        )
    return error
