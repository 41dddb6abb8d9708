"""The VoipNow UnifiedAPI adapter (VENDORS.md §4, §6): PhoneCall reads batched per user and
extension (paged lists), call control (PUT OnHold / OffHold, DELETE to hang up) and
click-to-call (POST .../simple), over `VoipNowSession`."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

from app.adapters import AdapterBase, FetchResult, StartCall
from app.calls import CallSnapshot, Capability, Vendor, VoipNowCall
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    NotSupported,
    OutcomeUnknown,
    VendorUnavailable,
)
from app.vendors.http import VendorHttp, VendorResponse, concurrently
from app.vendors.voipnow.listing import MAX_COUNT, list_all, page_of, page_params
from app.vendors.voipnow.mapping import created_native_id, ids_from_link, phone_call_from_wire
from app.vendors.voipnow.session import VoipNowSession, error_code, unexpected
from app.vendors.voipnow.wire import PhoneCallActionWire, SimplePhoneCallWire

logger = logging.getLogger("switchboard.vendors.voipnow")

# Read errors meaning the call is not there: unknown phoneCallId, user or extension.
_NOT_FOUND_CODES = frozenset({"pc_phonecall_invalid", "user_invalid", "extension_invalid"})
_EXTENSION = re.compile(r"[0-9*#]{1,32}")
# A destination: an extension, or a public number (optionally with "+").
_DESTINATION = re.compile(r"\+?[0-9*#]{1,32}")
# The success codes of an action or a hang-up: the seed answers 202; the OnHold / OffHold
# pages say 200 with the PhoneCall, or 204.
_ACCEPTED = (200, 202, 204)
_NONCES_KEPT = 1024


def _rings(call: VoipNowCall, destination: str) -> bool:
    return any(destination in view.destination for view in call.views)


def _segment(text: str) -> str:
    # Extensions hold "*" and "#": every path segment is percent-encoded.
    return quote(text, safe="")


class VoipNowAdapter(AdapterBase):
    """PhoneCalls of VoipNow users, read as `voipnow:<userId>/<extension>/<phoneCallId>`.

    `api_path` is the API's root under the base URL: `/uapi` as the docs write it, or
    `/unifiedapi` as 4PSA's apps call it (`4psa/uapi-example-python` 04_park_call.py,
    `4psa/app-facebookcallme` plib/lib.php). `page_size` is the `count` of each List
    PhoneCalls page (at most 5000)."""

    vendor = Vendor.VOIPNOW

    def __init__(
        self,
        http: VendorHttp,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str = "",
        api_path: str = "/uapi",
        page_size: int = MAX_COUNT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.session = VoipNowSession(
            http,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            api_path=api_path,
            clock=clock,
        )
        self.page_size = page_size
        # The nonce of the latest start per (extension, destination): find_placed_call.
        self._nonces: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def close(self) -> None:
        await self.http.close()

    # -- reads ---------------------------------------------------------------------------

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """One read per (userId, extension): the call itself for a single id, else the
        extension's list (every page); the groups go out concurrently."""
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
        path = f"/phoneCalls/{_segment(user_id)}/{_segment(extension)}"
        single = len(phone_call_ids) == 1
        if single:
            path += f"/{_segment(phone_call_ids[0])}"
            response = await self.session.send("GET", path)
        else:
            response = await self.session.send("GET", path, params=page_params(0, self._count))
        if response.status in (400, 404):
            code = error_code(response)
            # Only the documented codes say "no such call"; a bare 404 is a path this
            # deployment does not serve (a wrong base URL or api_path), not a missing call.
            if code not in _NOT_FOUND_CODES:
                raise unexpected(response)
            return {
                pc_id: self._not_found(f"{user_id}/{extension}/{pc_id}", code)
                for pc_id in phone_call_ids
            }
        if single:
            wires = page_of(response).calls
        else:
            wires = await list_all(self.session, path, page_size=self._count, first=response)
        by_id = {str(wire["id"]): wire for wire in wires}
        return {
            pc_id: phone_call_from_wire(by_id[pc_id], user_id=user_id, extension=extension)
            if pc_id in by_id
            else self._not_found(f"{user_id}/{extension}/{pc_id}", None)
            for pc_id in phone_call_ids
        }

    @property
    def _count(self) -> int:
        return max(1, min(self.page_size, MAX_COUNT))

    async def active_calls(self, extension: str | None) -> Sequence[VoipNowCall]:
        """The calls in progress on `extension` of the App's user (default "@self": all of
        the user's extensions), every page of them."""
        if extension is not None and _EXTENSION.fullmatch(extension) is None:
            raise BadUserInput(
                "A VoipNow extension is 1 to 32 of the characters 0-9, * and #.",
                vendor=self.vendor.value,
            )
        path = f"/phoneCalls/@me/{'@self' if extension is None else _segment(extension)}"
        first = await self.session.send("GET", path, params=page_params(0, self._count))
        if first.status == 400 and error_code(first) == "extension_invalid":
            raise BadUserInput(
                f"{self.vendor.value} has no extension {extension!r} for this user.",
                vendor=self.vendor.value,
            )
        calls = []
        for wire in await list_all(self.session, path, page_size=self._count, first=first):
            ids = ids_from_link(cast(Mapping[str, Any], wire))
            if ids is None:
                logger.debug("voipnow phone call %s has no usable self link; skipped", wire["id"])
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
            response = await self.session.send("DELETE", self._call_path(native_id))
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
        response = await self.session.send("PUT", self._call_path(native_id), json_body=payload)
        self._check_accepted(response, native_id, action)

    def _check_accepted(self, response: VendorResponse, native_id: str, what: str) -> None:
        if response.status in _ACCEPTED:
            return
        code = error_code(response)
        if response.status == 400 and code == "pc_phonecallview_invalid":
            # [doc] the view id is missing or invalid; it came from the call as last read,
            # so the call has changed since.
            raise InvalidState(
                f"{self.vendor.value} call {native_id} changed since it was read; "
                f"{what} was refused ({code}).",
                vendor=self.vendor.value,
            )
        if code in _NOT_FOUND_CODES:
            # [doc] pc_phonecall_invalid: the phoneCallId references no existing call.
            raise self._not_found(native_id, code)
        if response.status == 400:
            raise InvalidState(
                f"{self.vendor.value} refused {what} on call {native_id} ({code}).",
                vendor=self.vendor.value,
            )
        raise unexpected(response)

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
        # A nonce of ours (PhoneCalls Resource: the client's, echoed in the PhoneCall) lets
        # a lost answer be told from a refusal: the call it placed carries it.
        nonce = uuid.uuid4().hex
        self._nonces[(extension, destination)] = nonce
        while len(self._nonces) > _NONCES_KEPT:
            self._nonces.popitem(last=False)
        payload: SimplePhoneCallWire = {
            "extension": extension,
            "phoneCallView": [{"source": [extension], "destination": [destination]}],
            "nonce": nonce,
        }
        response = await self.session.send("POST", "/phoneCalls/@me/simple", json_body=payload)
        if response.status == 400:
            code = error_code(response)
            raise BadUserInput(
                f"{self.vendor.value} refused to call {destination} from {extension} ({code}).",
                vendor=self.vendor.value,
            )
        if not 200 <= response.status < 300:
            raise unexpected(response)
        # From here on VoipNow has placed the call: an answer we cannot read must not become
        # an error that says it failed (a retry would ring the phones twice).
        try:
            body = response.json()
        except VendorUnavailable:  # a 2xx body that is not JSON: placed, id unknown
            body = None
        native_id = created_native_id(body)
        if native_id is None:
            found = await self.find_placed_call(request, datetime.fromtimestamp(0, UTC))
            if found is not None:
                return found.call_id.native
            raise OutcomeUnknown(
                f"{self.vendor.value} accepted the call from {extension} to {destination} "
                "but did not say which call it placed; the outcome is unknown.",
                vendor=self.vendor.value,
            )
        return native_id

    async def find_placed_call(self, request: StartCall, since: datetime) -> VoipNowCall | None:
        """The call a start request whose answer was lost placed: the one carrying our
        nonce (PhoneCalls Resource shape), else the newest call from `from_` to `to`
        published since `since` (the seed's shape has no nonce)."""
        if request.from_ is None:
            return None
        nonce = self._nonces.get((request.from_, request.to))
        path = f"/phoneCalls/@me/{_segment(request.from_)}"
        found: VoipNowCall | None = None
        for wire in await list_all(self.session, path, page_size=self._count):
            ids = ids_from_link(cast(Mapping[str, Any], wire))
            if ids is None:
                continue
            raw = cast(Mapping[str, Any], wire)
            call = phone_call_from_wire(wire, user_id=ids[0], extension=ids[1])
            if nonce is not None and raw.get("nonce") == nonce:
                return call
            # The seed's shape has no nonce: the newest call to `to` created since then.
            created = call.published or call.started_at
            newest = found is None or (found.published or since) <= (created or since)
            if created is not None and created >= since and _rings(call, request.to) and newest:
                found = call
        return found

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _call_path(native_id: str) -> str:
        return "/phoneCalls/" + "/".join(_segment(part) for part in native_id.split("/", 2))

    def _not_found(self, native_id: str, code: str | None) -> CallNotFound:
        why = f" ({code})" if code else ""
        return CallNotFound(
            f"{self.vendor.value} has no call {native_id}{why}.", vendor=self.vendor.value
        )
