"""VoipNow wire → domain, totally (app/vendors/fields.py): PhoneCall resources in either
documented spelling become `VoipNowCall` snapshots, view status and `onHold` become a
`CallState`, and list answers (a bare array, an OpenSocial collection, one object) become
pages. An odd field reads as null and is logged once; only a resource without an id is
skipped, and only an answer with no usable PhoneCall at all is VENDOR_UNAVAILABLE."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from app.calls import CallId, CallState, Vendor, VoipNowCall, VoipNowCallView
from app.errors import BadUserInput
from app.vendors.fields import WireReader
from app.vendors.voipnow.wire import PhoneCallViewWire, PhoneCallWire

logger = logging.getLogger("switchboard.vendors.voipnow")

read = WireReader(Vendor.VOIPNOW)

# VENDORS.md §4 [doc]: the view `status`. A view with `onHold` is HELD whatever its status,
# since hold is not a status in VoipNow.
VOIPNOW_VIEW_STATES: Mapping[int, CallState] = {
    0: CallState.UNKNOWN,
    1: CallState.DIALING,  # off hook
    2: CallState.DIALING,  # trying
    3: CallState.RINGING,
    4: CallState.RINGING,  # other side ringing
    5: CallState.CONNECTED,  # on call
}


def _strings(wire: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """`source` / `destination`: a list of numbers; a lone string or number (as 4PSA's
    samples send them, uapi-example-python 02_public_call.py) is a list of one."""
    value = wire.get(key)
    if value is None:
        return ()
    if isinstance(value, str | int) and not isinstance(value, bool):
        return (str(value),)
    if not isinstance(value, list):
        read.odd(f"phoneCallView.{key}", value, "an array of numbers")
        return ()
    numbers = []
    for item in value:
        if isinstance(item, str | int) and not isinstance(item, bool):
            numbers.append(str(item))
        else:
            read.odd(f"phoneCallView.{key}[]", item, "a number")
    return tuple(numbers)


def _caller_id(wire: Mapping[str, Any]) -> str | None:
    # The seed spells `callerId`; the PhoneCalls Resource page `callerID`.
    for key in ("callerId", "callerID"):
        if key in wire:
            return read.text(wire, key, field=f"phoneCallView.{key}")
    return None


def view_from_wire(wire: PhoneCallViewWire) -> VoipNowCallView | None:
    """One view, or None when it has no readable id (it cannot be acted on)."""
    view = cast(Mapping[str, Any], wire)
    view_id = read.text(view, "id", field="phoneCallView.id")
    if view_id is None:
        return None
    return VoipNowCallView(
        id=view_id,
        extension=read.text(view, "extension", field="phoneCallView.extension"),
        source=_strings(view, "source"),
        destination=_strings(view, "destination"),
        caller_id=_caller_id(view),
        flow=read.integer(view, "flow", field="phoneCallView.flow"),
        status=read.integer(view, "status", field="phoneCallView.status"),
        answered=read.date(view, "answered", field="phoneCallView.answered"),
        on_hold=read.date(view, "onHold", field="phoneCallView.onHold"),
        holder=read.integer(view, "holder", field="phoneCallView.holder"),
        recording=read.text(view, "recording", field="phoneCallView.recording"),
    )


def view_state(view: VoipNowCallView | None) -> CallState:
    """The normalised state of a call whose own view is `view`."""
    if view is None:
        return CallState.UNKNOWN
    if view.on_hold is not None:
        return CallState.HELD
    if view.status is None:
        return CallState.UNKNOWN
    return VOIPNOW_VIEW_STATES.get(view.status, CallState.UNKNOWN)


def self_link(wire: Mapping[str, Any]) -> str | None:
    """`link.self` (the seed) or `links.self` (the PhoneCalls Resource page, 4PSA's apps)."""
    for key in ("link", "links"):
        link = read.mapping(wire, key)
        if link is not None:
            return read.text(link, "self", field=f"{key}.self")
    return None


def phone_call_from_wire(wire: PhoneCallWire, *, user_id: str, extension: str) -> VoipNowCall:
    """The domain snapshot of a PhoneCall read under `user_id` / `extension`."""
    resource = cast(Mapping[str, Any], wire)
    phone_call_id = read.text(resource, "id") or ""
    views = tuple(
        view
        for item in read.items(resource, "phoneCallView")
        if isinstance(item, Mapping) and (view := view_from_wire(cast(PhoneCallViewWire, item)))
    )
    call = VoipNowCall(
        call_id=CallId(Vendor.VOIPNOW, f"{user_id}/{extension}/{phone_call_id}"),
        state=CallState.UNKNOWN,
        vendor_state=None,
        started_at=read.date(resource, "answered"),
        user_id=user_id,
        extension=read.text(resource, "extension") or extension,
        phone_call_id=phone_call_id,
        owner_id=read.text(resource, "ownerId"),
        owner_name=read.text(resource, "ownerName"),
        published=read.date(resource, "published"),
        answered=read.date(resource, "answered"),
        views=views,
        link=self_link(resource),
    )
    own = call.own_view
    vendor_state = str(own.status) if own is not None and own.status is not None else None
    return replace(call, state=view_state(own), vendor_state=vendor_state)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of PhoneCalls, and what the answer says about the whole list: `total`
    (OpenSocial `totalResults`) when the vendor sent it."""

    calls: list[PhoneCallWire]
    total: int | None = None


def page_from_body(body: Any) -> Page | None:
    """The PhoneCalls of a read: a bare array, an OpenSocial collection
    (`{"startIndex", "itemsPerPage", "totalResults", "entry": [...]}`, as app-facebookcallme
    reads it), or one PhoneCall object. None when nothing in it can be a PhoneCall."""
    total: int | None = None
    items: list[Any]
    if isinstance(body, Mapping):
        if "entry" in body:
            total = read.integer(body, "totalResults")
            items = read.items(body, "entry")
        elif "id" in body:
            items = [body]
        else:
            return None
    elif isinstance(body, list):
        items = body
    else:
        return None
    calls = []
    for item in items:
        if isinstance(item, Mapping) and read.text(item, "id"):
            calls.append(cast(PhoneCallWire, item))
        else:
            read.odd("entry[]", item, "a PhoneCall with an id")
    if items and not calls:
        return None
    return Page(calls, total)


def ids_from_link(wire: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(userId, extension, phoneCallId) from the self link, or None when it has no such path.
    The marker is `/phoneCalls/`: the API root may be `/uapi` (the docs) or `/unifiedapi`
    (4PSA's apps), behind any prefix; the seed's link even has `//uapi`."""
    url = self_link(wire)
    if url is None:
        return None
    _, marker, rest = urlsplit(url).path.rpartition("/phoneCalls/")
    parts = [unquote(part) for part in rest.strip("/").split("/")]
    if not marker or len(parts) != 3:
        return None
    try:
        CallId.parse(f"{Vendor.VOIPNOW.value}:{'/'.join(parts)}")
    except BadUserInput:
        return None
    return parts[0], parts[1], parts[2]


def created_native_id(body: Any) -> str | None:
    """The native id of the call a Create Simple PhoneCalls answer names, or None when the
    answer does not say. The docs say `Array<PhoneCall>` (app-facebookcallme reads
    `JSON.parse(json)[0].links.self`); one PhoneCall or a collection is tolerated. The ids
    come from the PhoneCall's self link: the id alone lacks the numeric userId."""
    page = page_from_body(body)
    for wire in page.calls if page is not None else ():
        ids = ids_from_link(cast(Mapping[str, Any], wire))
        if ids is not None:
            return "/".join(ids)
    return None
