"""The VoipNow emulator's calls in memory: PhoneCall resources with their views, the store
that tests, the simulator and later features drive, and the wire form of each resource.

Calls started through the API (`start_call`) progress by themselves: each carries the
steps it will take (ringing, on call, ended) on the store's clock, and a read applies the
steps that are due. Nothing runs in the background, so nothing needs cleaning up."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

ME_USER_ID = "12"  # "@me": the user the App is registered to
DEMO_CALL_ID = "b817d2618fe6f1804333"

# Each user's extensions; the first is the user's default ("@self").
DEFAULT_DIRECTORY: Mapping[str, tuple[str, ...]] = {
    ME_USER_ID: ("0003*210", "0003*211", "0003*212"),
    "14": ("0003*024",),
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# The two documented spellings of a PhoneCall (see voipnow_variants).
Shape = Literal["seed", "resource"]


def _number(text: str | None) -> int | None:
    return None if text is None else int(text)


def _without_nulls(resource: dict[str, Any]) -> dict[str, Any]:
    # VoipNow omits null fields rather than sending them as null.
    return {key: value for key, value in resource.items() if value is not None}


@dataclass
class PhoneCallView:
    """One party's view of a call (`phoneCallView[]`), its values as they go on the wire."""

    id: str
    extension: str | None = None
    source: list[str] = field(default_factory=list)
    destination: list[str] = field(default_factory=list)
    caller_id: str | None = None
    flow: str | None = None  # "2" local, "4" outgoing public, "8" incoming public
    status: str = "0"  # "0" unknown … "5" on call
    answered: str | None = None
    on_hold: str | None = None  # when held; hold is not a status
    holder: str | None = None  # "1": this side put the call on hold
    recording: str | None = None
    ringing: str | None = None  # when the source started ringing (PhoneCalls Resource)

    def to_wire(self, shape: Shape = "seed") -> dict[str, Any]:
        """The view as the seed spells it (`callerId`, numbers as strings), or as the
        PhoneCalls Resource page does (`callerID`, numbers as numbers, `ringing`)."""
        if shape == "resource":
            return _without_nulls(
                {
                    "id": self.id,
                    "extension": self.extension,
                    "source": self.source,
                    "destination": self.destination,
                    "flow": _number(self.flow),
                    "status": _number(self.status),
                    "ringing": self.ringing,
                    "callerID": self.caller_id,
                    "answered": self.answered,
                    "onHold": self.on_hold,
                    "holder": _number(self.holder),
                    "recording": self.recording,
                }
            )
        return _without_nulls(
            {
                "id": self.id,
                "extension": self.extension,
                "source": self.source,
                "destination": self.destination,
                "callerId": self.caller_id,
                "flow": self.flow,
                "status": self.status,
                "answered": self.answered,
                "onHold": self.on_hold,
                "holder": self.holder,
                "recording": self.recording,
            }
        )


@dataclass(frozen=True, slots=True)
class Step:
    """A change a started call makes by itself once the store clock reaches `at`."""

    at: float
    statuses: Mapping[str, str] | None  # view id -> new status; None: the call ends


@dataclass
class PhoneCall:
    """A call in progress on `extension` of user `user_id`. `steps` (never on the wire) are
    the changes still to come, in time order."""

    id: str
    user_id: str
    extension: str
    views: list[PhoneCallView]
    owner_id: str | None = "3"
    owner_name: str | None = "Default Organization"
    published: str = field(default_factory=now_iso)
    answered: str | None = None
    nonce: str | None = None  # the client's, from Create Simple (PhoneCalls Resource)
    steps: list[Step] = field(default_factory=list)

    def view(self, view_id: str) -> PhoneCallView | None:
        return next((v for v in self.views if v.id == view_id), None)

    @property
    def own_view(self) -> PhoneCallView | None:
        """The view of the call's own extension, else the first view."""
        own = (v for v in self.views if v.extension == self.extension)
        return next(own, self.views[0] if self.views else None)

    def link(self, base_url: str) -> dict[str, str]:
        """`{"self": url}`; `base_url` ends with the API root (e.g. ".../uapi")."""
        path = "/".join(quote(part, safe="*") for part in (self.user_id, self.extension, self.id))
        return {"self": f"{base_url}/phoneCalls/{path}"}

    def to_wire(self, base_url: str, shape: Shape = "seed") -> dict[str, Any]:
        # Key order as in the seed's example, or as in the PhoneCalls Resource page's.
        if shape == "resource":
            return _without_nulls(
                {
                    "id": self.id,
                    "nonce": self.nonce,
                    "extension": self.extension,
                    "ownerId": self.owner_id,
                    "ownerName": self.owner_name,
                    "published": self.published,
                    "answered": self.answered,
                    "phoneCallView": [view.to_wire(shape) for view in self.views],
                    "links": self.link(base_url),
                }
            )
        return _without_nulls(
            {
                "id": self.id,
                "extension": self.extension,
                "ownerId": self.owner_id,
                "ownerName": self.owner_name,
                "answered": self.answered,
                "published": self.published,
                "phoneCallView": [view.to_wire(shape) for view in self.views],
                "link": self.link(base_url),
            }
        )


class ActionInvalid(Exception):
    """The action does not fit the call's state (e.g. OnHold on a call that is not on call)."""


# Called with ("added" | "updated" | "ended", call) after each change, e.g. for webhooks.
ChangeListener = Callable[[str, PhoneCall], None]


class PhoneCallStore:
    """The emulator's calls. Tests, the simulator and later features drive calls through it;
    an unknown `phone_call_id` raises KeyError, an action unfit for the state ActionInvalid.

    Knobs for tests: `action_status` (the answer to a PUT action; None: as the selected
    variant answers), `forbidden_users` (users the App may not act for: 403), `ring_delay` and
    `answer_delay` (seconds from start_call until the source rings, and until the call is on
    call), `apply_actions` (False: the API acknowledges
    OnHold, OffHold and hang-ups but never carries them out), `clock` (moves started calls).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.calls: dict[str, PhoneCall] = {}
        self.directory: dict[str, list[str]] = {u: list(e) for u, e in DEFAULT_DIRECTORY.items()}
        # The answer to a successful PUT action: 202 (the seed), 200 or 204 (other doc
        # versions); None leaves it to the selected variant.
        self.action_status: int | None = None
        self.forbidden_users: set[str] = set()
        self.ring_delay = 0.1
        self.answer_delay = 0.3
        self.apply_actions = True
        self.clock = clock
        self._listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def _changed(self, event: str, call: PhoneCall) -> None:
        for listener in self._listeners:
            listener(event, call)

    def add_call(self, call: PhoneCall) -> PhoneCall:
        """Store `call`, registering its extension with its user if new."""
        extensions = self.directory.setdefault(call.user_id, [])
        if call.extension not in extensions:
            extensions.append(call.extension)
        self.calls[call.id] = call
        self._changed("added", call)
        return call

    def start_call(
        self,
        user_id: str,
        extension: str,
        source: Sequence[str],
        destination: Sequence[str],
        *,
        caller_id: str | None = None,
        wait_for_pickup: float = 25,
        call_duration: float | None = None,
        nonce: str | None = None,
    ) -> PhoneCall:
        """A click-to-call from `extension`: VoipNow first rings the source and, once it is
        picked up, connects the destination. Here the own view is trying ("2"), ringing
        ("3") from `ring_delay`, on call ("5") from `answer_delay`; a call not
        picked up within `wait_for_pickup` ends, an answered one ends after `call_duration`.
        """
        now = self.clock()
        local = any(destination[0] in extensions for extensions in self.directory.values())
        flow = "2" if local else "4"  # local, or outgoing public
        own = PhoneCallView("00", extension, list(source), list(destination), flow=flow, status="2")
        peer = PhoneCallView(
            "01",
            destination[0] if local else None,  # a public number has no extension
            list(source),
            list(destination),
            caller_id=caller_id,
            flow=flow,
            status="2",
        )
        # Emulator choice: while the source rings, the destination's view hears it ringing.
        ring_at = now + min(self.ring_delay, self.answer_delay)
        steps = [Step(ring_at, {"00": "3", "01": "4"})]
        if self.answer_delay <= wait_for_pickup:
            answered_at = now + self.answer_delay
            steps.append(Step(answered_at, {"00": "5", "01": "5"}))
            if call_duration is not None:
                steps.append(Step(answered_at + call_duration, None))
        else:
            steps.append(Step(now + wait_for_pickup, None))
        call = PhoneCall(secrets.token_hex(10), user_id, extension, [own, peer], nonce=nonce)
        call.steps = sorted(steps, key=lambda step: step.at)
        return self.add_call(call)

    def catch_up(self) -> None:
        """Apply every step of the started calls that is due on the store's clock."""
        now = self.clock()
        for call in [c for c in self.calls.values() if c.steps]:
            while call.steps and call.steps[0].at <= now:
                step = call.steps.pop(0)
                if step.statuses is None:
                    self.hang_up(call.id)
                    break
                for view_id, status in step.statuses.items():
                    self.set_status(call.id, status, view_id=view_id)

    def get(self, phone_call_id: str) -> PhoneCall | None:
        self.catch_up()
        return self.calls.get(phone_call_id)

    def calls_of(self, user_id: str, extension: str) -> list[PhoneCall]:
        self.catch_up()
        return [c for c in self.calls.values() if (c.user_id, c.extension) == (user_id, extension)]

    def set_status(self, phone_call_id: str, status: str, *, view_id: str | None = None) -> None:
        """Set a view's status (default: the call's own view); "5" also stamps `answered`."""
        call = self.calls[phone_call_id]
        view = call.view(view_id) if view_id is not None else call.own_view
        if view is None:
            raise KeyError(view_id)
        view.status = status
        if status == "3":
            view.ringing = view.ringing or now_iso()
        if status == "5":
            view.answered = view.answered or now_iso()
            call.answered = call.answered or view.answered
        self._changed("updated", call)

    def _acted_view(self, phone_call_id: str, view_id: str) -> tuple[PhoneCall, PhoneCallView]:
        self.catch_up()
        call = self.calls[phone_call_id]
        acted = call.view(view_id)
        if acted is None:
            raise KeyError(view_id)
        return call, acted

    def hold(self, phone_call_id: str, view_id: str, *, apply: bool = True) -> None:
        """OnHold on view `view_id`: that view holds ("1"), every other view is held ("0").
        With `apply` False the action is only checked."""
        call, acted = self._acted_view(phone_call_id, view_id)
        if acted.status != "5":
            raise ActionInvalid("The phone call is not on call.")
        if acted.on_hold is not None:
            raise ActionInvalid("The phone call is already on hold.")
        if not apply:
            return
        held_at = now_iso()
        for view in call.views:
            view.on_hold, view.holder = held_at, "1" if view is acted else "0"
        self._changed("updated", call)

    def retrieve(self, phone_call_id: str, view_id: str, *, apply: bool = True) -> None:
        """OffHold: the call is on call again on every view. With `apply` False the action
        is only checked."""
        call, acted = self._acted_view(phone_call_id, view_id)
        if acted.on_hold is None:
            raise ActionInvalid("The phone call is not on hold.")
        if not apply:
            return
        for view in call.views:
            view.on_hold = view.holder = None
        self._changed("updated", call)

    def hang_up(self, phone_call_id: str) -> PhoneCall:
        """End the call: ended calls disappear from VoipNow's lists."""
        call = self.calls.pop(phone_call_id)
        self._changed("ended", call)
        return call
