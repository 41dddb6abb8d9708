"""A small switch for the live API's tests: an ordinary implementation of the adapter
contract (app/adapters.py) whose calls the test sets, counting every read."""

from __future__ import annotations

from collections.abc import Sequence

from app.adapters import AdapterBase, Adapters, FetchResult
from app.calls import CallId, CallSnapshot, CallState, Capability, GenesysCall, Vendor
from app.errors import CallNotFound

HOLDS = {Capability.HOLD: CallState.HELD, Capability.RETRIEVE: CallState.CONNECTED}


def genesys_call(native: str, state: CallState) -> GenesysCall:
    return GenesysCall(call_id=CallId(Vendor.GENESYS, native), state=state, vendor_state=None)


class Switch(AdapterBase):
    """Polled (no push stream). `perform` records the command; the call changes only when
    the test says so (`apply_commands`), as on a switch that confirms later."""

    vendor = Vendor.GENESYS

    def __init__(self, *, apply_commands: bool = False) -> None:
        self.states: dict[str, CallState] = {}
        self.reads = 0
        self.commands: list[Capability] = []
        self.apply_commands = apply_commands

    def call(self, native: str) -> CallId:
        return CallId(Vendor.GENESYS, native)

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        self.reads += 1
        return [
            genesys_call(i, self.states[i]) if i in self.states else CallNotFound(f"no {i}")
            for i in native_ids
        ]

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        self.commands.append(operation)
        if self.apply_commands:
            self.states[call.call_id.native] = HOLDS.get(operation, CallState.ENDED)

    def adapters(self) -> Adapters:
        return Adapters({Vendor.GENESYS: self}, None)
