"""The VoipNow UnifiedAPI emulator (VENDORS.md §4, §6, seed 003): OAuth client-credentials
tokens, PhoneCall listing (paged), Create Simple PhoneCalls (click-to-call), the OnHold /
OffHold / Hangup actions and Delete PhoneCalls, over `PhoneCallStore`, in every documented
variant of `voipnow_variants`."""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl
from app.emulators.voipnow_listing import error, int_param, select
from app.emulators.voipnow_simulation import simulate_call
from app.emulators.voipnow_store import (
    DEMO_CALL_ID,
    ME_USER_ID,
    ActionInvalid,
    PhoneCall,
    PhoneCallStore,
    PhoneCallView,
)
from app.emulators.voipnow_variants import VARIANTS, Behaviour, behaviour_of

TOKEN_LIFETIME = 3600  # seconds: the default variant's `expires_in`

ACTIONS = ("OnHold", "OffHold", "Hangup")
# [doc] Create Simple / List PhoneCalls: "@me" and "@viewer" are the authenticated user;
# emulator choice: "@owner" too (the user owning the extension is the App's user here).
_ME_ALIASES = ("@me", "@viewer", "@owner")
# Every root a variant may serve from: the routes exist for all, `_guard` keeps the others.
_PREFIXES = ("", "/unifiedapi")
_API_PATHS = ("/uapi", "/unifiedapi")


def _oauth_error(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request payload if it is a JSON object, else an empty one (fails validation)."""
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    return payload if isinstance(payload, dict) else {}


def _numbers(value: object) -> list[str] | None:
    """`source` / `destination`: a non-empty list of non-empty strings; a lone string is a
    list of one, as 4PSA's samples send them (uapi-example-python 02_public_call.py sends
    both as strings, app-facebookcallme plib/lib.php the destination). Else None."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, str) and item for item in value):
        return None
    return list(value)


class VoipNowEmulator(VendorEmulator):
    """VoipNow UnifiedAPI. `store` holds the calls; `tokens` maps each valid access token to
    its expiry on `clock` (default time.monotonic; tests replace it to move time)."""

    vendor = "voipnow"
    VARIANTS = VARIANTS

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

    @property
    def behaviour(self) -> Behaviour:
        return behaviour_of(self.variant)

    def tenant_options(self, base_url: str) -> dict[str, str]:
        behaviour = self.behaviour
        options = {"url": base_url + behaviour.prefix}
        if behaviour.api_path != "/uapi":
            options["api_path"] = behaviour.api_path
        return options

    def add_routes(self, app: web.Application) -> None:
        routes = []
        for prefix in _PREFIXES:
            routes.append(
                web.post(f"{prefix}/oauth/token.php", self._guard(prefix, None, self._issue_token))
            )
            for api in _API_PATHS:
                root = f"{prefix}{api}/phoneCalls"
                call = root + "/{user_id}/{extension}/{phone_call_id}"

                def guarded(handler: Handler, prefix: str = prefix, api: str = api) -> Handler:
                    return self._guard(prefix, api, handler)

                routes += [
                    web.get(root + "/{user_id}/{extension}", guarded(self._list_phone_calls)),
                    # The docs write the list URI with a trailing slash too.
                    web.get(root + "/{user_id}/{extension}/", guarded(self._list_phone_calls)),
                    web.get(call, guarded(self._get_phone_call)),
                    web.put(call, guarded(self._act_on_phone_call)),
                    web.delete(call, guarded(self._delete_phone_call)),
                    web.post(root + "/{user_id}/simple", guarded(self._create_simple_phone_call)),
                ]
        app.add_routes(routes)

    def _guard(self, prefix: str, api: str | None, handler: Handler) -> Handler:
        """`handler` where the selected variant serves it; elsewhere 404, as a server that
        has no such path answers."""

        async def route(request: web.Request) -> web.StreamResponse:
            behaviour = self.behaviour
            if behaviour.prefix != prefix or (api is not None and behaviour.api_path != api):
                raise web.HTTPNotFound()
            return await handler(request)

        return route

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
        await simulate_call(self.store, rng, pace)

    # -- HTTP ------------------------------------------------------------------------------

    async def _issue_token(self, request: web.Request) -> web.StreamResponse:
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
            # [doc] a bad client is >= 400 {"error": "invalid_client"}.
            return _oauth_error(401, "invalid_client")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        token = secrets.token_urlsafe(24)
        lifetime = self.behaviour.token_lifetime
        self.tokens[token] = self.clock() + lifetime
        # [doc] `expires_in` is a number (seconds): one hour, two in another revision.
        return web.json_response({"access_token": token, "expires_in": lifetime})

    def _authorize(self, request: web.Request) -> None:
        """A valid bearer token, else 401 (seed 003) or 403 (the variant 4PSA's sample apps
        expect: app-click2conf request.php renews the token on STATUS_FORBIDDEN)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or self.clock() >= expires:
            raise error(
                self.behaviour.expired_token_status,
                "access_denied",
                "You are not authorized to use this request.",
            )

    def _user(self, request: web.Request) -> tuple[str, list[str]]:
        """The userId of the URI ("@me" and its aliases resolved) and the user's extensions."""
        user_id = request.match_info["user_id"]
        user_id = ME_USER_ID if user_id in _ME_ALIASES else user_id
        extensions = self.store.directory.get(user_id)
        if not extensions:
            raise error(
                400, "user_invalid", "Value supplied in the URI-Fragment as userId is invalid."
            )
        if user_id in self.store.forbidden_users:
            # Emulator choice (the docs name no code): a valid token, a user not the App's.
            raise error(403, "access_denied", "This App may not act for this user.")
        return user_id, extensions

    def _owner(self, request: web.Request) -> tuple[str, list[str]]:
        """The userId of the URI and the extensions it names: "@self" matches all of the
        user's extensions ([doc] List PhoneCalls: "Use @self to match all the extensions
        under the User")."""
        user_id, extensions = self._user(request)
        extension = request.match_info["extension"]
        if extension == "@self":
            return user_id, list(extensions)
        if extension not in extensions:
            raise error(
                400,
                "extension_invalid",
                "Value supplied in the URI-Fragment as extension is invalid.",
            )
        return user_id, [extension]

    def _phone_call(self, request: web.Request) -> PhoneCall:
        user_id, extensions = self._owner(request)
        call = self.store.get(request.match_info["phone_call_id"])
        if call is None or call.user_id != user_id or call.extension not in extensions:
            raise error(
                400,
                "pc_phonecall_invalid",
                "Value supplied in phoneCallId from the URI-Fragment is invalid.",
            )
        return call

    def _api_url(self, request: web.Request) -> str:
        """Where the selected variant serves the API: self links point there."""
        behaviour = self.behaviour
        return f"{request.url.origin()}/{self.vendor}{behaviour.prefix}{behaviour.api_path}"

    def _wire(self, request: web.Request, call: PhoneCall) -> dict[str, Any]:
        return call.to_wire(self._api_url(request), self.behaviour.shape)

    def _collection(self, request: web.Request, calls: list[PhoneCall]) -> web.Response:
        """A list answer: 204 without a body when empty ([doc] "There are no phone calls to
        be returned"), else a bare array (seed) or an OpenSocial collection."""
        behaviour = self.behaviour
        selection = select(
            [self._wire(request, c) for c in calls], request.query, page_size=behaviour.page_size
        )
        if not selection.entry:
            return web.Response(status=204)
        if behaviour.collection:
            return web.json_response(selection.collection())
        return web.json_response(selection.entry)

    async def _list_phone_calls(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        user_id, extensions = self._owner(request)
        calls = [c for e in extensions for c in self.store.calls_of(user_id, e)]
        return self._collection(request, calls)

    async def _get_phone_call(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        call = self._phone_call(request)
        if self.behaviour.collection:
            # app-facebookcallme js/lib.js reads `json.entry[0]` from its call's self link.
            return self._collection(request, [call])
        (resource,) = select([self._wire(request, call)], request.query, page_size=1).entry
        return web.json_response(resource)

    async def _act_on_phone_call(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        call = self._phone_call(request)
        payload = await _json_object(request)
        view_id = payload.get("phoneCallViewId")
        if not isinstance(view_id, str) or call.view(view_id) is None:
            # [doc] OnHold / OffHold PhoneCalls: 400 pc_phonecallview_invalid.
            raise error(
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
            raise error(400, "pc_phonecall_action_invalid", str(exc)) from None
        status = self.store.action_status or self.behaviour.action_status
        if status == 204:
            # OffHold PhoneCalls "Success": 204.
            return web.Response(status=204)
        if status == 200:
            # OnHold PhoneCalls: "the Service returns the PhoneCall that was updated".
            return web.json_response(self._wire(request, call))
        # Seed 003: 202 with the id, the extension and the link.
        link_key = "links" if self.behaviour.shape == "resource" else "link"
        return web.json_response(
            {
                "id": call.id,
                "extension": call.extension,
                link_key: call.link(self._api_url(request)),
            },
            status=status,
        )

    async def _delete_phone_call(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        call = self._phone_call(request)
        if self.store.apply_actions:
            self.store.hang_up(call.id)
        # The docs name no success code for Delete PhoneCalls; the emulator answers as a
        # REST delete with nothing to return does (the adapter also takes 200 and 202).
        return web.Response(status=204)

    async def _create_simple_phone_call(self, request: web.Request) -> web.StreamResponse:
        """Create Simple PhoneCalls. Emulator choices where the docs name no error code:
        an extension not of the user is extension_invalid (as in the URI), a missing
        phoneCallView pc_phonecallview_invalid, empty or malformed source / destination /
        callerId pc_source_invalid / pc_destination_invalid / pc_callerid_invalid, and bad
        query parameters waitforpickup_invalid / callduration_invalid."""
        self._authorize(request)
        user_id, extensions = self._user(request)
        wait_for_pickup = int_param(request.query, "waitForPickup", "waitforpickup_invalid")
        if wait_for_pickup == 0:
            raise error(400, "waitforpickup_invalid", "Parameter waitForPickup is invalid.")
        call_duration = int_param(request.query, "callDuration", "callduration_invalid")
        payload = await _json_object(request)
        extension = payload.get("extension")
        if not isinstance(extension, str) or extension not in extensions:
            raise error(
                400,
                "extension_invalid",
                "Value supplied in the Request-Payload as extension is invalid.",
            )
        views = payload.get("phoneCallView")
        view = views[0] if isinstance(views, list) and views else None
        if not isinstance(view, dict):
            raise error(
                400, "pc_phonecallview_invalid", "Value supplied as phoneCallView is invalid."
            )
        source, destination = _numbers(view.get("source")), _numbers(view.get("destination"))
        caller_id = view.get("callerId")
        nonce = payload.get("nonce")
        if source is None:
            raise error(400, "pc_source_invalid", "Value supplied as source is invalid.")
        if destination is None:
            raise error(400, "pc_destination_invalid", "Value supplied as destination is invalid.")
        if caller_id is not None and not isinstance(caller_id, str):
            raise error(400, "pc_callerid_invalid", "Value supplied as callerId is invalid.")
        call = self.store.start_call(
            user_id,
            extension,
            source,
            destination,
            caller_id=caller_id,
            wait_for_pickup=25 if wait_for_pickup is None else wait_for_pickup,
            call_duration=call_duration,
            nonce=nonce if isinstance(nonce, str) else None,
        )
        # [doc] Return-Object = Array<PhoneCall>, no code named: 200 with the array, as every
        # other request that returns PhoneCalls answers.
        return web.json_response([self._wire(request, call)])
