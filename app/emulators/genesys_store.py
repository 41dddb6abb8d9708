"""The Genesys emulator's state in memory (VENDORS.md §5, seed 004): the agent's device,
its calls as GWS call resources, and the HTTP sessions with their CSRF tokens. Tests, the
simulator and the HTTP layer (`app/emulators/genesys.py`) all drive this store; it knows
no HTTP beyond the status each refusal is answered with.
"""

from __future__ import annotations

import asyncio
import copy
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.emulators.genesys_resources import (
    AGENT_DN,
    CALLS_PATH,
    CAPABILITIES,
    DEMO_CALL_ID,
    DEVICE_ID,
    DEVICES_PATH,
    LINK_BASE,
    REVISION_850,
    REVISION_852,
    STATES,
    TRANSITIONS,
    EmulatedCall,
    EmulatedDevice,
    GenesysApiError,
    call_not_found,
    device_uri,
    missing_parameter,
)

# Re-exported: the emulator's HTTP layer and the tests know them from here.
__all__ = [
    "AGENT_DN",
    "CALLS_PATH",
    "CAPABILITIES",
    "DEMO_CALL_ID",
    "DEVICES_PATH",
    "DEVICE_ID",
    "LINK_BASE",
    "REVISION_850",
    "REVISION_852",
    "STATES",
    "GenesysApiError",
    "GenesysCallStore",
    "call_not_found",
    "device_uri",
    "missing_parameter",
]

# [guess] A DN of the agent's own switch: a few digits, no "+". Anything else is dialled
# out of the switch (callType "Outbound").
_INTERNAL_NUMBER = re.compile(r"[0-9]{1,6}")

CallListener = Callable[[dict[str, Any]], None]
DeviceListener = Callable[[list[dict[str, Any]]], None]


@dataclass
class _Session:
    csrf_token: str
    last_used: float
    node: int


class GenesysCallStore:
    """The agent's device, calls and HTTP sessions, in memory.

    Calls are read and written as GWS call resources (dicts). Listeners registered with
    `add_listener` receive the resource after every change, including calls created by a
    Dial and the transitions that follow (a CometD feed later). `clock` (seconds) drives
    durations, the list's retention of released calls and the session timeout; tests may
    replace it. `transition_delay` is real time. With `apply_operations` off, valid
    operations and Dials are acknowledged but never carried out: the vendor accepts and
    never confirms (for the gateway's confirmation-timeout tests).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        transition_delay: float = 0.3,
        released_retention: float = 10.0,
        session_timeout: float = 1800.0,
        apply_operations: bool = True,
    ) -> None:
        self.clock = clock
        self.transition_delay = transition_delay
        self.released_retention = released_retention
        self.session_timeout = session_timeout
        self.apply_operations = apply_operations
        self._calls: dict[str, EmulatedCall] = {}
        self._devices: dict[str, EmulatedDevice] = {}
        self._sessions: dict[str, _Session] = {}
        self._listeners: list[CallListener] = []
        self._device_listeners: list[DeviceListener] = []
        self._serial = 10  # the demo call's, the last six digits of its id
        self.revision = REVISION_850  # how call resources are written
        self.add_device(device_id=DEVICE_ID, phone_number=AGENT_DN)

    # -- devices ----------------------------------------------------------------------------

    def add_device(
        self, *, device_id: str | None = None, phone_number: str = AGENT_DN, state: str = "Active"
    ) -> dict[str, Any]:
        """Give the agent a device (GWS devices have uuid ids) and return its resource."""
        device = EmulatedDevice(device_id or str(uuid.uuid4()), phone_number, state)
        self._devices[device.id] = device
        self._devices_changed()
        return device.resource()

    def set_device_state(self, device_id: str, state: str) -> None:
        self._devices[device_id].state = state
        self._devices_changed()

    def remove_device(self, device_id: str) -> None:
        del self._devices[device_id]
        self._devices_changed()

    def add_device_listener(self, listener: DeviceListener) -> None:
        """`listener` gets every device resource after any device change (GWS sends the
        whole `devices` array in a DeviceStateChangeMessage)."""
        self._device_listeners.append(listener)

    def _devices_changed(self) -> None:
        for listener in list(self._device_listeners):
            listener(self.devices())

    def devices(self) -> list[dict[str, Any]]:
        return [device.resource() for device in self._devices.values()]

    def dial(
        self, device_id: str, destination: str | None, user_data: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Place a call from the device, as a Dial does: the call exists at once in
        "Dialing" and is answered `transition_delay` later. Returns the new call, or None
        when `apply_operations` is off (accepted, never placed). Refusals raise
        `GenesysApiError`: an unknown device first, then a missing destination."""
        device = self._devices.get(device_id)
        if device is None:
            # [guess] the documented "not found" code, under HTTP 404 as for calls.
            raise GenesysApiError(404, 6, "Device not found")
        if not destination:
            raise missing_parameter("destination.phoneNumber")
        if device.state != "Active":
            # [guess] the documented "invalid for the current state" code.
            raise GenesysApiError(
                400, 2, f"Operation Dial is not valid for a device in state {device.state}"
            )
        if not self.apply_operations:
            return None
        internal = _INTERNAL_NUMBER.fullmatch(destination) is not None
        call = self.add_call(
            state="Dialing",
            device_id=device_id,
            participants=[_participant(destination)],
            dnis=destination,
            call_type="Internal" if internal else "Outbound",
            user_data=user_data,
        )
        # The real switch connects when the called party answers (or never); the emulated
        # party always answers, after the same delay as an operation's transition.
        self._schedule(call["id"], "Established")
        return call

    # -- calls ------------------------------------------------------------------------------

    def add_call(
        self,
        *,
        state: str = "Ringing",
        call_id: str | None = None,
        conn_id: str | None = None,
        device_id: str = DEVICE_ID,
        participants: list[dict[str, Any]] | None = None,
        dnis: str = AGENT_DN,
        call_type: str = "Internal",
        user_data: dict[str, Any] | None = None,
        duration: str | None = None,
    ) -> dict[str, Any]:
        """Add a call and tell the listeners. `duration` freezes the reported duration."""
        self._check_state(state)
        if call_id is None:
            self._serial += 1
            call_id = "01" + _random_text(string.ascii_uppercase + string.digits, 24)
            call_id += f"{self._serial:06d}"
        call = EmulatedCall(
            id=call_id,
            state=state,
            conn_id=conn_id or _random_text("0123456789ABCDEF", 16),
            device_id=device_id,
            participants=copy.deepcopy(participants or []),
            dnis=dnis,
            call_type=call_type,
            user_data=copy.deepcopy(user_data or {}),
            started_at=self.clock(),
            released_at=self.clock() if state == "Released" else None,
            fixed_duration=duration,
        )
        self._calls[call_id] = call
        return self._changed(call)

    def get(self, call_id: str) -> dict[str, Any] | None:
        call = self._calls.get(call_id)
        return None if call is None else call.resource(self.clock(), self.revision)

    def current_calls(self) -> list[dict[str, Any]]:
        """The list endpoint's calls: all but those released longer than the retention ago."""
        now = self.clock()
        return [
            call.resource(now, self.revision)
            for call in self._calls.values()
            if call.released_at is None or now - call.released_at < self.released_retention
        ]

    def set_state(self, call_id: str, state: str) -> dict[str, Any]:
        """Move a call to any state now (KeyError for an unknown call) and tell the listeners."""
        self._check_state(state)
        call = self._calls[call_id]
        if state != "Released":
            call.released_at = None
        elif call.released_at is None:
            call.released_at = self.clock()
        call.state = state
        return self._changed(call)

    def end(self, call_id: str) -> dict[str, Any]:
        return self.set_state(call_id, "Released")

    def request_operation(self, call_id: str, operation: str) -> None:
        """Accept `operation` if the call's capabilities allow it, as GWS does, and carry it
        out `transition_delay` later (unless `apply_operations` is off); else raise
        `GenesysApiError`."""
        call = self._calls.get(call_id)
        if call is None:
            raise call_not_found()
        if operation not in CAPABILITIES[call.state]:
            raise GenesysApiError(
                400, 2, f"Operation {operation} is not valid for a call in state {call.state}"
            )
        target = TRANSITIONS.get(operation)
        if target is not None and self.apply_operations:
            self._schedule(call_id, target)

    def add_listener(self, listener: CallListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: CallListener) -> None:
        self._listeners.remove(listener)

    def _schedule(self, call_id: str, target: str) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(self.transition_delay, self._carry_out, call_id, target)

    def _carry_out(self, call_id: str, target: str) -> None:
        # A call hung up meanwhile stays released, as on the switch.
        if self._calls[call_id].state != "Released":
            self.set_state(call_id, target)

    def _changed(self, call: EmulatedCall) -> dict[str, Any]:
        resource = call.resource(self.clock(), self.revision)
        for listener in list(self._listeners):
            listener(copy.deepcopy(resource))
        return resource

    @staticmethod
    def _check_state(state: str) -> None:
        if state not in STATES:
            raise ValueError(f"not a Genesys call state: {state!r}")

    # -- sessions -------------------------------------------------------------------------------

    def open_session(self, node: int = 0) -> tuple[str, str]:
        """A new session on Web Services node `node`: its JSESSIONID and CSRF token.

        Jetty (GWS's servlet container) writes session ids with the node's worker name
        before and after them, `node0<id>.node0` (VENDORS.md §6); the CSRF token is a
        uuid, as in the CSRFProtection page's `4a92be65-ec55-4aa2-b9df-9518fd870f2f`."""
        session_id = f"node{node}{_random_text(_JETTY_ALPHABET, 26)}.node{node}"
        token = str(uuid.uuid4())
        self._sessions[session_id] = _Session(token, self.clock(), node)
        return session_id, token

    def csrf_token(self, session_id: str, node: int = 0) -> str | None:
        """The CSRF token of a live session of `node` (which this use keeps alive), else
        None: a node knows only its own sessions. Sessions idle longer than
        `session_timeout` (sessionMaxInactiveInterval, 1800 s by default) are gone."""
        session = self._sessions.get(session_id)
        now = self.clock()
        if session is not None and session.node != node:
            return None
        if session is None or now - session.last_used > self.session_timeout:
            self._sessions.pop(session_id, None)
            return None
        session.last_used = now
        return session.csrf_token

    def expire_sessions(self) -> None:
        """End every session, so every JSESSIONID and CSRF token issued so far is invalid."""
        self._sessions.clear()

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def session_secrets(self) -> list[str]:
        """Every live JSESSIONID and CSRF token (tests check that none ever leaks)."""
        return [value for sid, s in self._sessions.items() for value in (sid, s.csrf_token)]


def _participant(number: str) -> dict[str, Any]:
    """The far end of a dialled call, in the seed's participant shape."""
    # [guess] GWS adds country and location for numbers it can place; not emulated here.
    return {
        "e164Number": number if number.startswith("+") else "",
        "formattedPhoneNumber": number,
        "phoneNumber": number,
        "digits": number.removeprefix("+"),
    }


_JETTY_ALPHABET = string.ascii_lowercase + string.digits


def _random_text(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
