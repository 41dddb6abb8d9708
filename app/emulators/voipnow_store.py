"""The VoipNow emulator's calls in memory: PhoneCall resources with their views, the store
that tests, the simulator and later features drive, and the wire form of each resource."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
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

    def to_wire(self) -> dict[str, Any]:
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


@dataclass
class PhoneCall:
    """A call in progress on `extension` of user `user_id`."""

    id: str
    user_id: str
    extension: str
    views: list[PhoneCallView]
    owner_id: str | None = "3"
    owner_name: str | None = "Default Organization"
    published: str = field(default_factory=now_iso)
    answered: str | None = None

    def view(self, view_id: str) -> PhoneCallView | None:
        return next((v for v in self.views if v.id == view_id), None)

    @property
    def own_view(self) -> PhoneCallView | None:
        """The view of the call's own extension, else the first view."""
        own = (v for v in self.views if v.extension == self.extension)
        return next(own, self.views[0] if self.views else None)

    def link(self, base_url: str) -> dict[str, str]:
        path = "/".join(quote(part, safe="*") for part in (self.user_id, self.extension, self.id))
        return {"self": f"{base_url}/uapi/phoneCalls/{path}"}

    def to_wire(self, base_url: str) -> dict[str, Any]:
        # Key order as in the seed's example.
        return _without_nulls(
            {
                "id": self.id,
                "extension": self.extension,
                "ownerId": self.owner_id,
                "ownerName": self.owner_name,
                "answered": self.answered,
                "published": self.published,
                "phoneCallView": [view.to_wire() for view in self.views],
                "link": self.link(base_url),
            }
        )


class ActionInvalid(Exception):
    """The action does not fit the call's state (e.g. OnHold on a call that is not on call)."""


# Called with ("added" | "updated" | "ended", call) after each change, e.g. for webhooks.
ChangeListener = Callable[[str, PhoneCall], None]


class PhoneCallStore:
    """The emulator's calls. Tests, the simulator and later features drive calls through it;
    an unknown `phone_call_id` raises KeyError, an action unfit for the state ActionInvalid."""

    def __init__(self) -> None:
        self.calls: dict[str, PhoneCall] = {}
        self.directory: dict[str, list[str]] = {u: list(e) for u, e in DEFAULT_DIRECTORY.items()}
        # The answer to a successful PUT action: 202 (the seed), 200 or 204 (other doc versions).
        self.action_status = 202
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

    def get(self, phone_call_id: str) -> PhoneCall | None:
        return self.calls.get(phone_call_id)

    def calls_of(self, user_id: str, extension: str) -> list[PhoneCall]:
        return [c for c in self.calls.values() if (c.user_id, c.extension) == (user_id, extension)]

    def set_status(self, phone_call_id: str, status: str, *, view_id: str | None = None) -> None:
        """Set a view's status (default: the call's own view); "5" also stamps `answered`."""
        call = self.calls[phone_call_id]
        view = call.view(view_id) if view_id is not None else call.own_view
        if view is None:
            raise KeyError(view_id)
        view.status = status
        if status == "5":
            view.answered = view.answered or now_iso()
            call.answered = call.answered or view.answered
        self._changed("updated", call)

    def hold(self, phone_call_id: str, view_id: str) -> None:
        """OnHold on view `view_id`: that view holds ("1"), every other view is held ("0")."""
        call = self.calls[phone_call_id]
        acted = call.view(view_id)
        if acted is None:
            raise KeyError(view_id)
        if acted.status != "5":
            raise ActionInvalid("The phone call is not on call.")
        if acted.on_hold is not None:
            raise ActionInvalid("The phone call is already on hold.")
        held_at = now_iso()
        for view in call.views:
            view.on_hold, view.holder = held_at, "1" if view is acted else "0"
        self._changed("updated", call)

    def retrieve(self, phone_call_id: str, view_id: str) -> None:
        """OffHold: the call is on call again on every view."""
        call = self.calls[phone_call_id]
        acted = call.view(view_id)
        if acted is None:
            raise KeyError(view_id)
        if acted.on_hold is None:
            raise ActionInvalid("The phone call is not on hold.")
        for view in call.views:
            view.on_hold = view.holder = None
        self._changed("updated", call)

    def hang_up(self, phone_call_id: str) -> PhoneCall:
        """End the call: ended calls disappear from VoipNow's lists."""
        call = self.calls.pop(phone_call_id)
        self._changed("ended", call)
        return call
