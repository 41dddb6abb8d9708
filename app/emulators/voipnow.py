"""The VoipNow UnifiedAPI emulator (VENDORS.md §4, seed 003): OAuth client-credentials
tokens, PhoneCall listing, Create Simple PhoneCalls (click-to-call), the OnHold / OffHold /
Hangup actions and Delete PhoneCalls, over `PhoneCallStore`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl
from app.emulators.voipnow_store import (
    DEMO_CALL_ID,
    ME_USER_ID,
    ActionInvalid,
    PhoneCall,
    PhoneCallStore,
    PhoneCallView,
)

TOKEN_LIFETIME = 3600  # seconds; the token endpoint's `expires_in`

ACTIONS = ("OnHold", "OffHold", "Hangup")
# Emulator choice: OpenSocial's user aliases all name the user the App is registered to.
_ME_ALIASES = ("@me", "@viewer", "@owner")
_CALLER_NAMES = ("John Doe", "Jane Roe", "Ana Pop", "Ion Ionescu", "Maria Popescu")

# Top-level PhoneCall fields: those `filterBy` compares, and all that `fields` may name.
_FILTERABLE = ("id", "extension", "ownerId", "ownerName", "published", "answered")
_FIELDS = (*_FILTERABLE, "phoneCallView", "link")


def _error(status: int, code: str, message: str) -> web.HTTPException:
    body = json.dumps({"error": {"code": code, "message": message}})
    exception = web.HTTPBadRequest if status == 400 else web.HTTPUnauthorized
    return exception(text=body, content_type="application/json")


def _oauth_error(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


def _int_param(query: Mapping[str, str], name: str, code: str) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise _error(400, code, f"Parameter {name} is invalid.")
    return int(text)


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request payload if it is a JSON object, else an empty one (fails validation)."""
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    return payload if isinstance(payload, dict) else {}


def _numbers(value: object) -> list[str] | None:
    """A non-empty list of non-empty strings (source, destination), else None."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, str) and item for item in value):
        return None
    return list(value)


def _select(resources: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """Apply the list parameters: filter, then sort, then page, then pick fields."""
    filter_by = query.get("filterBy")
    if filter_by is not None:
        if filter_by not in _FILTERABLE:
            raise _error(400, "filterby_invalid", "Parameter filterBy is invalid.")
        op, value = query.get("filterOp", "eq"), query.get("filterValue")
        if op not in ("eq", "contains"):
            raise _error(400, "filterop_invalid", "Parameter filterOp is invalid.")
        if value is None:
            raise _error(400, "filtervalue_invalid", "Parameter filterValue is invalid.")
        resources = [
            r
            for r in resources
            if filter_by in r and (r[filter_by] == value if op == "eq" else value in r[filter_by])
        ]
    sort_order = query.get("sortOrder")
    if sort_order is not None:
        if sort_order not in ("asc", "desc"):
            raise _error(400, "sortorder_invalid", "Parameter sortOrder is invalid.")
        resources = sorted(
            resources,
            key=lambda r: datetime.fromisoformat(r["published"]),
            reverse=sort_order == "desc",
        )
    start = _int_param(query, "startIndex", "startindex_invalid") or 0
    count = _int_param(query, "count", "count_invalid")
    resources = resources[start : None if count is None else start + count]
    fields = query.get("fields")
    if fields is not None:
        wanted = {name.strip() for name in fields.split(",")}
        if not wanted <= set(_FIELDS):
            raise _error(400, "fields_invalid", "Parameter fields is invalid.")
        # The id is always returned, as OpenSocial (which UnifiedAPI follows) requires.
        resources = [{k: v for k, v in r.items() if k == "id" or k in wanted} for r in resources]
    return resources


class VoipNowEmulator(VendorEmulator):
    """VoipNow UnifiedAPI. `store` holds the calls; `tokens` maps each valid access token to
    its expiry on `clock` (default time.monotonic; tests replace it to move time)."""

    vendor = "voipnow"

    def __init__(
        self, control: EmulatorControl, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(control)
        self.store = PhoneCallStore(clock=clock)
        self.tokens: dict[str, float] = {}
        control.register_token_expirer(self.vendor, self.expire_tokens)

    @property
    def clock(self) -> Callable[[], float]:
        """One clock for token expiry and for the progress of started calls."""
        return self.store.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.store.clock = clock

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def add_routes(self, app: web.Application) -> None:
        call = "/uapi/phoneCalls/{user_id}/{extension}/{phone_call_id}"
        app.add_routes(
            [
                web.post("/oauth/token.php", self._issue_token),
                web.get("/uapi/phoneCalls/{user_id}/{extension}", self._list_phone_calls),
                # The docs write the list URI with a trailing slash too.
                web.get("/uapi/phoneCalls/{user_id}/{extension}/", self._list_phone_calls),
                web.get(call, self._get_phone_call),
                web.put(call, self._act_on_phone_call),
                web.delete(call, self._delete_phone_call),
                web.post("/uapi/phoneCalls/{user_id}/simple", self._create_simple_phone_call),
            ]
        )

    def seed_demo(self) -> None:
        answered = "2012-06-27T16:08:55+03:00"
        self.store.add_call(
            PhoneCall(
                id=DEMO_CALL_ID,
                user_id=ME_USER_ID,
                extension="0003*210",
                published="2012-06-27T16:08:50+02:00",
                answered=answered,
                views=[
                    PhoneCallView(
                        id="00",
                        extension="0003*210",
                        source=["0003*024"],
                        destination=["0003*210"],
                        flow="2",
                        status="5",
                        answered=answered,
                    ),
                    # The seed says view 01 identifies 0003*024.
                    PhoneCallView(
                        id="01",
                        extension="0003*024",
                        source=["0003*024"],
                        destination=["0003*210"],
                        caller_id="John Doe <3334444>",
                        status="5",
                        answered=answered,
                    ),
                ],
            )
        )

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        """A call on one of user 12's extensions: trying, ringing, on call (sometimes held
        and taken back), hung up; or unanswered and hung up while ringing."""
        store = self.store
        extension = rng.choice(store.directory[ME_USER_ID])
        outgoing = rng.random() < 0.5
        if rng.random() < 0.5:
            flow = "2"
            peer = rng.choice([e for es in store.directory.values() for e in es if e != extension])
        else:
            flow = "4" if outgoing else "8"
            peer = str(rng.randrange(2_000_000, 9_999_999))
        source, destination = ([extension], [peer]) if outgoing else ([peer], [extension])
        views = [PhoneCallView("00", extension, source, destination, flow=flow, status="2")]
        if flow == "2":
            peer_status = "3" if outgoing else "4"  # the peer's phone rings, or hears ringing
            views.append(
                PhoneCallView("01", peer, source, destination, flow=flow, status=peer_status)
            )
        elif not outgoing:
            views[0].caller_id = f"{rng.choice(_CALLER_NAMES)} <{peer}>"
        call = store.add_call(
            PhoneCall(f"{rng.getrandbits(80):020x}", ME_USER_ID, extension, views)
        )

        async def still_there() -> bool:
            await asyncio.sleep(pace * rng.uniform(1.0, 4.0))
            return call.id in store.calls

        if not await still_there():
            return
        store.set_status(call.id, "4" if outgoing else "3")
        if not await still_there():
            return
        if rng.random() < 0.8:
            for view in call.views:
                store.set_status(call.id, "5", view_id=view.id)
            if rng.random() < 0.5:
                holder = rng.choice(call.views).id
                # The API may have held or taken back the call meanwhile: then skip the step.
                if not await still_there():
                    return
                with contextlib.suppress(ActionInvalid):
                    store.hold(call.id, holder)
                if not await still_there():
                    return
                with contextlib.suppress(ActionInvalid):
                    store.retrieve(call.id, holder)
            if not await still_there():
                return
        store.hang_up(call.id)

    # -- HTTP ------------------------------------------------------------------------------

    async def _issue_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = DEMO_CREDENTIALS[self.vendor]
        client_id, client_secret = (
            str(form.get("client_id", "")),
            str(form.get("client_secret", "")),
        )
        if not (
            secrets.compare_digest(client_id, expected["client_id"])
            and secrets.compare_digest(client_secret, expected["client_secret"])
        ):
            return _oauth_error(401, "invalid_client")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + TOKEN_LIFETIME
        return web.json_response({"access_token": token, "expires_in": TOKEN_LIFETIME})

    def _authorize(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or self.clock() >= expires:
            raise _error(401, "access_denied", "You are not authorized to use this request.")

    def _user(self, request: web.Request) -> tuple[str, list[str]]:
        """The userId of the URI ("@me" and its aliases resolved) and the user's extensions."""
        user_id = request.match_info["user_id"]
        user_id = ME_USER_ID if user_id in _ME_ALIASES else user_id
        extensions = self.store.directory.get(user_id)
        if not extensions:
            raise _error(
                400, "user_invalid", "Value supplied in the URI-Fragment as userId is invalid."
            )
        return user_id, extensions

    def _owner(self, request: web.Request) -> tuple[str, str]:
        """The (userId, extension) of the URI, with "@me" and "@self" resolved."""
        user_id, extensions = self._user(request)
        extension = request.match_info["extension"]
        extension = extensions[0] if extension == "@self" else extension
        if extension not in extensions:
            raise _error(
                400,
                "extension_invalid",
                "Value supplied in the URI-Fragment as extension is invalid.",
            )
        return user_id, extension

    def _phone_call(self, request: web.Request) -> PhoneCall:
        user_id, extension = self._owner(request)
        call = self.store.get(request.match_info["phone_call_id"])
        if call is None or (call.user_id, call.extension) != (user_id, extension):
            raise _error(
                400,
                "pc_phonecall_invalid",
                "Value supplied in phoneCallId from the URI-Fragment is invalid.",
            )
        return call

    def _base_url(self, request: web.Request) -> str:
        return f"{request.url.origin()}/{self.vendor}"

    async def _list_phone_calls(self, request: web.Request) -> web.Response:
        self._authorize(request)
        user_id, extension = self._owner(request)
        base_url = self._base_url(request)
        resources = _select(
            [c.to_wire(base_url) for c in self.store.calls_of(user_id, extension)], request.query
        )
        if not resources:
            # Documented quirk: no phone calls is 204 without a body, not an empty list.
            return web.Response(status=204)
        # The docs show the PhoneCall resource but no list wrapper: we answer a bare array.
        return web.json_response(resources)

    async def _get_phone_call(self, request: web.Request) -> web.Response:
        self._authorize(request)
        call = self._phone_call(request)
        (resource,) = _select([call.to_wire(self._base_url(request))], request.query)
        return web.json_response(resource)

    async def _act_on_phone_call(self, request: web.Request) -> web.Response:
        self._authorize(request)
        call = self._phone_call(request)
        payload = await _json_object(request)
        view_id = payload.get("phoneCallViewId")
        if not isinstance(view_id, str) or call.view(view_id) is None:
            raise _error(
                400,
                "pc_phonecallview_invalid",
                "Value supplied in phoneCallViewId parameter is missing or invalid.",
            )
        action = payload.get("action")
        # Emulator choice (the docs name no code): an unknown action, or one unfit for the
        # call's state, is 400 pc_phonecall_action_invalid.
        apply = self.store.apply_actions
        try:
            if action == "OnHold":
                self.store.hold(call.id, view_id, apply=apply)
            elif action == "OffHold":
                self.store.retrieve(call.id, view_id, apply=apply)
            elif action == "Hangup":
                if apply:
                    self.store.hang_up(call.id)
            else:
                raise ActionInvalid(f"Action must be one of {', '.join(ACTIONS)}.")
        except ActionInvalid as exc:
            raise _error(400, "pc_phonecall_action_invalid", str(exc)) from None
        base_url = self._base_url(request)
        if self.store.action_status == 204:
            return web.Response(status=204)
        if self.store.action_status == 200:
            return web.json_response(call.to_wire(base_url))
        return web.json_response(
            {"id": call.id, "extension": call.extension, "link": call.link(base_url)},
            status=self.store.action_status,
        )

    async def _delete_phone_call(self, request: web.Request) -> web.Response:
        self._authorize(request)
        call = self._phone_call(request)
        if self.store.apply_actions:
            self.store.hang_up(call.id)
        # The docs name no success code for Delete PhoneCalls; the emulator answers as a
        # REST delete with nothing to return does (the adapter also takes 200 and 202).
        return web.Response(status=204)

    async def _create_simple_phone_call(self, request: web.Request) -> web.Response:
        """Create Simple PhoneCalls. Emulator choices where the docs name no error code:
        an extension not of the user is extension_invalid (as in the URI), a missing
        phoneCallView pc_phonecallview_invalid, empty or malformed source / destination /
        callerId pc_source_invalid / pc_destination_invalid / pc_callerid_invalid, and bad
        query parameters waitforpickup_invalid / callduration_invalid."""
        self._authorize(request)
        user_id, extensions = self._user(request)
        wait_for_pickup = _int_param(request.query, "waitForPickup", "waitforpickup_invalid")
        if wait_for_pickup == 0:
            raise _error(400, "waitforpickup_invalid", "Parameter waitForPickup is invalid.")
        call_duration = _int_param(request.query, "callDuration", "callduration_invalid")
        payload = await _json_object(request)
        extension = payload.get("extension")
        if not isinstance(extension, str) or extension not in extensions:
            raise _error(
                400,
                "extension_invalid",
                "Value supplied in the Request-Payload as extension is invalid.",
            )
        views = payload.get("phoneCallView")
        view = views[0] if isinstance(views, list) and views else None
        if not isinstance(view, dict):
            raise _error(
                400, "pc_phonecallview_invalid", "Value supplied as phoneCallView is invalid."
            )
        source, destination = _numbers(view.get("source")), _numbers(view.get("destination"))
        caller_id = view.get("callerId")
        if source is None:
            raise _error(400, "pc_source_invalid", "Value supplied as source is invalid.")
        if destination is None:
            raise _error(400, "pc_destination_invalid", "Value supplied as destination is invalid.")
        if caller_id is not None and not isinstance(caller_id, str):
            raise _error(400, "pc_callerid_invalid", "Value supplied as callerId is invalid.")
        call = self.store.start_call(
            user_id,
            extension,
            source,
            destination,
            caller_id=caller_id,
            wait_for_pickup=25 if wait_for_pickup is None else wait_for_pickup,
            call_duration=call_duration,
        )
        # The docs say the request returns Array<PhoneCall> without naming a code: 200 with
        # the array, as every other request that returns PhoneCalls answers.
        return web.json_response([call.to_wire(self._base_url(request))])
