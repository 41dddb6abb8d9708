"""VoipNow UnifiedAPI adapter (VENDORS.md §4): OAuth client-credentials tokens, PhoneCall
reads batched per user and extension, call control (PUT OnHold / OffHold, DELETE to hang
up) and click-to-call (POST .../simple)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Required, TypedDict, cast
from urllib.parse import quote, unquote, urlsplit

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import (
    CallId,
    CallSnapshot,
    CallState,
    Capability,
    Vendor,
    VoipNowCall,
    VoipNowCallView,
)
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    NotSupported,
    VendorForbidden,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.http import TokenCache, VendorHttp, VendorResponse, concurrently

logger = logging.getLogger("switchboard.vendors.voipnow")

TOKEN_PATH = "/oauth/token.php"
DEFAULT_TOKEN_LIFETIME = 3600.0  # [doc] an access token is valid for one hour

# The state of a call is its own view's `status`; a view with `onHold` is HELD whatever
# its status, since hold is not a status in VoipNow.
VOIPNOW_VIEW_STATES: Mapping[int, CallState] = {
    0: CallState.UNKNOWN,
    1: CallState.DIALING,  # off hook
    2: CallState.DIALING,  # trying
    3: CallState.RINGING,
    4: CallState.RINGING,  # other side ringing
    5: CallState.CONNECTED,  # on call
}

# Read errors meaning the call is not there: unknown phoneCallId, user or extension.
_NOT_FOUND_CODES = frozenset({"pc_phonecall_invalid", "user_invalid", "extension_invalid"})
_ERROR_CODE = re.compile(r"[A-Za-z0-9_]{1,64}")
_EXTENSION = re.compile(r"[0-9*#]{1,32}")
# A destination: an extension, or a public number (optionally with "+").
_DESTINATION = re.compile(r"\+?[0-9*#]{1,32}")
# The success codes of an action or a hang-up: the seed answers 202; other doc versions say
# 200 with the PhoneCall, or 204.
_ACCEPTED = (200, 202, 204)


class PhoneCallViewWire(TypedDict, total=False):
    id: Required[str]
    extension: str
    source: list[str]
    destination: list[str]
    callerId: str
    flow: str | int
    status: str | int  # the docs' example sends "5"
    answered: str
    onHold: str
    holder: str | int
    recording: str


class LinkWire(TypedDict, total=False):
    self: str


class PhoneCallWire(TypedDict, total=False):
    id: Required[str]
    extension: str
    ownerId: str
    ownerName: str
    published: str
    answered: str
    phoneCallView: list[PhoneCallViewWire]
    link: LinkWire


class PhoneCallActionWire(TypedDict):
    action: str  # "OnHold" | "OffHold" | "Hangup"
    phoneCallViewId: str


class SimplePhoneCallViewWire(TypedDict, total=False):
    source: Required[list[str]]
    destination: Required[list[str]]
    callerId: str


class SimplePhoneCallWire(TypedDict):
    """The payload of Create Simple PhoneCalls."""

    extension: str
    phoneCallView: list[SimplePhoneCallViewWire]


class TokenWire(TypedDict):
    access_token: str
    expires_in: int | str


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _str(value: object) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _utc(value: object) -> datetime | None:
    """An ISO-8601 date with offset as an aware UTC datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        logger.debug("voipnow sent an unreadable date %r", value)
        return None
    # [guess] a date without an offset is UTC.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _strings(value: object) -> tuple[str, ...]:
    # Tolerance: a single number where the docs show a one-element list.
    items = value if isinstance(value, list) else [] if value is None else [value]
    return tuple(str(item) for item in items)


def _view_from_wire(wire: PhoneCallViewWire) -> VoipNowCallView:
    return VoipNowCallView(
        id=str(wire["id"]),
        extension=_str(wire.get("extension")),
        source=_strings(wire.get("source")),
        destination=_strings(wire.get("destination")),
        caller_id=_str(wire.get("callerId")),
        flow=_int(wire.get("flow")),
        status=_int(wire.get("status")),
        answered=_utc(wire.get("answered")),
        on_hold=_utc(wire.get("onHold")),
        holder=_int(wire.get("holder")),
        recording=_str(wire.get("recording")),
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


def phone_call_from_wire(wire: PhoneCallWire, *, user_id: str, extension: str) -> VoipNowCall:
    """The domain snapshot of a PhoneCall read under `user_id` / `extension`."""
    phone_call_id = str(wire["id"])
    views = tuple(
        _view_from_wire(view) for view in wire.get("phoneCallView") or () if isinstance(view, dict)
    )
    link = wire.get("link")
    call = VoipNowCall(
        call_id=CallId(Vendor.VOIPNOW, f"{user_id}/{extension}/{phone_call_id}"),
        state=CallState.UNKNOWN,
        vendor_state=None,
        started_at=_utc(wire.get("answered")),
        user_id=user_id,
        extension=_str(wire.get("extension")) or extension,
        phone_call_id=phone_call_id,
        owner_id=_str(wire.get("ownerId")),
        owner_name=_str(wire.get("ownerName")),
        published=_utc(wire.get("published")),
        answered=_utc(wire.get("answered")),
        views=views,
        link=_str(link.get("self")) if isinstance(link, dict) else None,
    )
    own = call.own_view
    vendor_state = str(own.status) if own is not None and own.status is not None else None
    return replace(call, state=view_state(own), vendor_state=vendor_state)


def phone_calls_from_body(body: Any, vendor: str) -> list[PhoneCallWire]:
    """The PhoneCall resources of a read: a JSON array (what the emulator sends), or, as
    tolerated variants, an object wrapping it in "entry" or "phoneCall", or one object."""
    if isinstance(body, dict):
        body = next((body[key] for key in ("entry", "phoneCall") if key in body), body)
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(item, dict) for item in items):
        raise VendorUnavailable(
            f"{vendor} answered a list that is not PhoneCall resources.", vendor=vendor
        )
    return [cast(PhoneCallWire, item) for item in items if "id" in item]


def ids_from_link(wire: PhoneCallWire) -> tuple[str, str, str] | None:
    """(userId, extension, phoneCallId) from `link.self`, or None when it has no such path."""
    link = wire.get("link")
    url = link.get("self") if isinstance(link, dict) else None
    if not isinstance(url, str):
        return None
    # Seed quirk: the example's link has "//uapi"; looking for the marker tolerates it.
    _, marker, rest = urlsplit(url).path.partition("/uapi/phoneCalls/")
    parts = [unquote(part) for part in rest.strip("/").split("/")]
    if not marker or len(parts) != 3:
        return None
    try:
        CallId.parse(f"{Vendor.VOIPNOW.value}:{'/'.join(parts)}")
    except BadUserInput:
        return None
    return parts[0], parts[1], parts[2]


def created_native_id(body: Any, vendor: str) -> str:
    """The native id of the call in a Create Simple PhoneCalls answer: the docs say
    Array<PhoneCall>; a single PhoneCall or {"entry": [...]} is tolerated. The ids come
    from the PhoneCall's link.self; an answer without one is malformed."""
    calls = phone_calls_from_body(body, vendor)
    ids = ids_from_link(calls[0]) if calls else None
    if ids is None:
        raise VendorUnavailable(
            f"{vendor} started a call but answered without a PhoneCall link.", vendor=vendor
        )
    return "/".join(ids)


def _error_code(response: VendorResponse) -> str | None:
    """The error code of `{"error": {"code": ...}}` or OAuth's `{"error": "..."}`, if any."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else error
    # Only a plain identifier goes into our messages, never free text from the vendor.
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None


def _segment(text: str) -> str:
    # Extensions hold "*" and "#": every path segment is percent-encoded.
    return quote(text, safe="")


class VoipNowAdapter(AdapterBase):
    """PhoneCalls of VoipNow users, read as `voipnow:<userId>/<extension>/<phoneCallId>`."""

    vendor = Vendor.VOIPNOW

    def __init__(
        self,
        http: VendorHttp,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._tokens = TokenCache(self._fetch_token, clock=clock)

    async def close(self) -> None:
        await self.http.close()

    # -- reads ---------------------------------------------------------------------------

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """One request per (userId, extension): the call itself for a single id, else the
        extension's list; the groups go out concurrently."""
        groups: dict[tuple[str, str], list[str]] = {}
        for native_id in native_ids:
            user_id, extension, phone_call_id = native_id.split("/", 2)
            groups.setdefault((user_id, extension), []).append(phone_call_id)
        found = await concurrently(
            self._fetch_group(user_id, ext, ids) for (user_id, ext), ids in groups.items()
        )
        results: dict[str, FetchResult] = {}
        for (user_id, extension), by_id in zip(groups, found, strict=True):
            for phone_call_id, result in by_id.items():
                results[f"{user_id}/{extension}/{phone_call_id}"] = result
        return [results[native_id] for native_id in native_ids]

    async def _fetch_group(
        self, user_id: str, extension: str, phone_call_ids: list[str]
    ) -> dict[str, FetchResult]:
        path = f"/uapi/phoneCalls/{_segment(user_id)}/{_segment(extension)}"
        if len(phone_call_ids) == 1:
            path += f"/{_segment(phone_call_ids[0])}"
        response = await self._send("GET", path)
        if response.status in (400, 404):
            code = _error_code(response)
            if response.status == 400 and code not in _NOT_FOUND_CODES:
                raise self._unexpected(response, code)
            return {
                pc_id: self._not_found(f"{user_id}/{extension}/{pc_id}", code)
                for pc_id in phone_call_ids
            }
        by_id = {str(wire["id"]): wire for wire in self._phone_calls(response)}
        return {
            pc_id: phone_call_from_wire(by_id[pc_id], user_id=user_id, extension=extension)
            if pc_id in by_id
            else self._not_found(f"{user_id}/{extension}/{pc_id}", None)
            for pc_id in phone_call_ids
        }

    async def active_calls(self, extension: str | None) -> Sequence[VoipNowCall]:
        """The calls in progress on `extension` of the App's user (default: "@self")."""
        if extension is not None and _EXTENSION.fullmatch(extension) is None:
            raise BadUserInput(
                "A VoipNow extension is 1 to 32 of the characters 0-9, * and #.",
                vendor=self.vendor.value,
            )
        path = f"/uapi/phoneCalls/@me/{'@self' if extension is None else _segment(extension)}"
        response = await self._send("GET", path)
        if response.status == 400 and _error_code(response) == "extension_invalid":
            raise BadUserInput(
                f"{self.vendor.value} has no extension {extension!r} for this user.",
                vendor=self.vendor.value,
            )
        calls = []
        for wire in self._phone_calls(response):
            ids = ids_from_link(wire)
            if ids is None:
                logger.debug("voipnow phone call %s has no usable link.self; skipped", wire["id"])
                continue
            user_id, call_extension, _ = ids
            calls.append(phone_call_from_wire(wire, user_id=user_id, extension=call_extension))
        return calls

    # -- actions ---------------------------------------------------------------------------

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        """HOLD and RETRIEVE are PUT OnHold / OffHold on the call's own view; HANGUP is
        Delete PhoneCalls. Sent once; the new state is for the caller to read back."""
        if not isinstance(call, VoipNowCall):
            raise TypeError(f"not a VoipNow call: {call.id}")
        native_id = call.call_id.native
        if operation is Capability.HANGUP:
            response = await self._send("DELETE", self._call_path(native_id))
            self._check_accepted(response, native_id, "the hang-up")
            return
        action = {Capability.HOLD: "OnHold", Capability.RETRIEVE: "OffHold"}[operation]
        # The documented rule: phoneCallViewId names the view of the extension that acts,
        # here the call's own extension (its view then has holder 1).
        own = call.own_view
        if own is None:
            raise InvalidState(
                f"{self.vendor.value} call {native_id} has no view to act on.",
                vendor=self.vendor.value,
            )
        await self.act(native_id, action, own.id)

    async def act(self, native_id: str, action: str, view_id: str) -> None:
        """PUT `action` ("OnHold", "OffHold", "Hangup") for view `view_id` of the call.
        Sent once: an action is never repeated after a lost connection."""
        payload: PhoneCallActionWire = {"action": action, "phoneCallViewId": view_id}
        response = await self._send("PUT", self._call_path(native_id), json_body=payload)
        self._check_accepted(response, native_id, action)

    def _check_accepted(self, response: VendorResponse, native_id: str, what: str) -> None:
        if response.status in _ACCEPTED:
            return
        code = _error_code(response)
        if response.status == 400 and code == "pc_phonecallview_invalid":
            # The view id came from the call as last read: the call has changed since.
            raise InvalidState(
                f"{self.vendor.value} call {native_id} changed since it was read; "
                f"{what} was refused ({code}).",
                vendor=self.vendor.value,
            )
        if response.status == 404 or code in _NOT_FOUND_CODES:
            raise self._not_found(native_id, code)
        if response.status == 400:
            raise InvalidState(
                f"{self.vendor.value} refused {what} on call {native_id} ({code}).",
                vendor=self.vendor.value,
            )
        raise self._unexpected(response, code)

    async def start_call(self, request: StartCall) -> str:
        """Create Simple PhoneCalls from extension `from_` of the App's user to `to`: VoipNow
        rings the extension first, then the destination. Sent once."""
        if request.delay_seconds is not None:
            raise NotSupported(
                f"{self.vendor.value} cannot schedule calls.", vendor=self.vendor.value
            )
        extension, destination = request.from_, request.to
        if extension is None or _EXTENSION.fullmatch(extension) is None:
            raise BadUserInput(
                "A VoipNow call starts from an extension (from), such as 0003*210.",
                vendor=self.vendor.value,
            )
        if _DESTINATION.fullmatch(destination) is None:
            raise BadUserInput(
                "A VoipNow destination (to) is an extension or a phone number.",
                vendor=self.vendor.value,
            )
        payload: SimplePhoneCallWire = {
            "extension": extension,
            "phoneCallView": [{"source": [extension], "destination": [destination]}],
        }
        response = await self._send("POST", "/uapi/phoneCalls/@me/simple", json_body=payload)
        if response.status == 400:
            code = _error_code(response)
            raise BadUserInput(
                f"{self.vendor.value} refused to call {destination} from {extension} ({code}).",
                vendor=self.vendor.value,
            )
        if response.status not in (200, 201):
            raise self._unexpected(response, _error_code(response))
        return created_native_id(response.json(), self.vendor.value)

    # -- plumbing --------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self.http.request(
            "POST",
            TOKEN_PATH,
            form={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
                "type": "unifiedapi",
                "redirect_uri": self._redirect_uri,
            },
            # Asking for a token changes nothing, so it may be sent again after a drop.
            idempotent=True,
        )
        if response.status in (400, 401, 403):
            raise VendorUnauthenticated(
                f"{self.vendor.value} refused the client credentials "
                f"(HTTP {response.status}, {_error_code(response)}).",
                vendor=self.vendor.value,
            )
        if response.status != 200:
            raise self._unexpected(response, _error_code(response))
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorUnavailable(
                f"{self.vendor.value} answered the token request without an access token.",
                vendor=self.vendor.value,
            )
        wire = cast(TokenWire, body)
        lifetime = _int(wire.get("expires_in"))
        return token, float(lifetime) if lifetime else DEFAULT_TOKEN_LIFETIME

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: PhoneCallActionWire | SimplePhoneCallWire | None = None,
    ) -> VendorResponse:
        """Send with the access token; on a 401 take a fresh token and send once more (a
        refused token means the vendor did nothing, so even a write may go again)."""
        for attempt in (1, 2):
            token = await self._tokens.get()
            response = await self.http.request(
                method, path, json_body=json_body, headers={"Authorization": f"Bearer {token}"}
            )
            if response.status == 403:
                raise VendorForbidden(
                    f"{self.vendor.value} forbids this App {method} {path}.",
                    vendor=self.vendor.value,
                )
            if response.status != 401:
                return response
            self._tokens.invalidate(token)
            if attempt == 1:
                logger.info("voipnow %s %s: access token refused, fetching a new one", method, path)
        raise VendorUnauthenticated(
            f"{self.vendor.value} refused a freshly issued access token.", vendor=self.vendor.value
        )

    @staticmethod
    def _call_path(native_id: str) -> str:
        return "/uapi/phoneCalls/" + "/".join(_segment(part) for part in native_id.split("/", 2))

    def _phone_calls(self, response: VendorResponse) -> list[PhoneCallWire]:
        if response.status == 200:
            return phone_calls_from_body(response.json(), self.vendor.value)
        if response.status == 204:
            # Documented quirk: "no phone calls to be returned" is a 204 without a body.
            return []
        raise self._unexpected(response, _error_code(response))

    def _not_found(self, native_id: str, code: str | None) -> CallNotFound:
        why = f" ({code})" if code else ""
        return CallNotFound(
            f"{self.vendor.value} has no call {native_id}{why}.", vendor=self.vendor.value
        )

    def _unexpected(self, response: VendorResponse, code: str | None) -> VendorUnavailable:
        why = f", {code}" if code else ""
        return VendorUnavailable(
            f"{self.vendor.value} answered HTTP {response.status}{why} unexpectedly.",
            vendor=self.vendor.value,
        )
