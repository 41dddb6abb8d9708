"""Genesys Web Services 8.5 Voice API emulator (VENDORS.md §5, §6, seed 004): the agent's
calls and device behind HTTP Basic auth, a JSESSIONID session and CSRF tokens; operations
and Dials take effect a moment later. The state lives in `GenesysCallStore`
(genesys_store.py); every change is pushed over CometD (`CometdHub`, genesys_cometd.py).

Variants (VENDORS.md §6): "8.5.0" the seed's call resource and statusCodes 0-6; "8.5.2"
the CallResource:8.5.2 revision (participants as strings plus participantsInfo),
statusCodes up to 20, notifications with `extensions` and `metrics`; "8.5.2-two-nodes"
the same behind a sticky load balancer in front of two Web Services nodes.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from typing import Any

from aiohttp import BasicAuth, web
from aiohttp.typedefs import Handler

from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl
from app.emulators.genesys_cometd import (
    META_SEGMENTS,
    NOTIFICATIONS_PATH,
    SESSION_KEY,
    CometdHub,
)
from app.emulators.genesys_store import (
    AGENT_DN,
    CALLS_PATH,
    DEMO_CALL_ID,
    DEVICES_PATH,
    REVISION_850,
    REVISION_852,
    GenesysApiError,
    GenesysCallStore,
    call_not_found,
    missing_parameter,
)

SESSION_COOKIE = "JSESSIONID"
CSRF_HEADER = "X-CSRF-TOKEN"
# The load balancer's affinity cookie in the CSRFProtection page's example request
# (enu.docs.genesys.com Documentation:GWS:API:CSRFProtection:8.6.0 and 8.5.2).
AFFINITY_COOKIE = "AWSELB"

V850 = "8.5.0"
V852 = "8.5.2"
V852_TWO_NODES = "8.5.2-two-nodes"


class GenesysEmulator(VendorEmulator):
    vendor = "genesys"
    VARIANTS = {
        V850: "GWS 8.5.0/8.5.1: the seed's call resource (participant objects), "
        "statusCodes 0-7 (Documentation/GWS/8.5.1/API/ReturnValues)",
        V852: "GWS 8.5.2: participants as strings plus participantsInfo "
        "(Documentation:HTCC:API:CallResource:8.5.2), statusCodes 0-20 "
        "(Documentation:HTCC:API:ReturnValues:8.5.2), 401 with statusCode 20, "
        "notifications with extensions and metrics (CallsDial 8.5.2)",
        V852_TWO_NODES: "GWS 8.5.2 on two nodes behind a sticky load balancer: the balancer "
        "sets AWSELB and routes by it; each node has its own sessions and CSRF tokens",
    }

    def __init__(self, control: EmulatorControl) -> None:
        super().__init__(control)
        self.store = GenesysCallStore()
        self.cometd = CometdHub(clock=self._now)
        self.store.add_listener(self.cometd.publish_call)
        self.store.add_device_listener(self.cometd.publish_devices)
        control.register_token_expirer(self.vendor, self.store.expire_sessions)
        # Refusals to answer the next matching requests with (tests: every statusCode).
        self._refusals: list[tuple[str, GenesysApiError]] = []
        # The balancer's affinity cookie value of each node; and the node a request
        # without one goes to next (round robin: "the other node" for the second).
        self.affinity = [secrets.token_hex(40).upper() for _ in range(2)]
        self._next_node = 0
        self.nodes_seen: list[int] = []  # the node each request went to (two-node variant)

    def select_variant(self, name: str) -> None:
        super().select_variant(name)
        self.store.revision = REVISION_850 if name == V850 else REVISION_852
        self.cometd.revision = self.store.revision

    def refuse_next(
        self, http_status: int, status_code: int, message: str, *, method: str = "POST"
    ) -> None:
        """Answer the next authenticated `method` request with this refusal (any
        documented or undocumented statusCode), without acting on it."""
        self._refusals.append((method, GenesysApiError(http_status, status_code, message)))

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._authenticate)
        app.on_shutdown.append(self._close_notifications)
        return app

    def _now(self) -> float:
        # The store's clock as it is now: a test that replaces it moves client expiry too.
        return self.store.clock()

    async def _close_notifications(self, app: web.Application) -> None:
        # Held long polls would otherwise keep the server's graceful shutdown waiting.
        self.cometd.close()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(CALLS_PATH, self._list_calls)
        app.router.add_get(CALLS_PATH + "/{call_id}", self._get_call)
        app.router.add_post(CALLS_PATH + "/{call_id}", self._operate)
        app.router.add_get(DEVICES_PATH, self._list_devices)
        app.router.add_post(DEVICES_PATH + "/{device_id}/calls", self._dial)
        app.router.add_post(NOTIFICATIONS_PATH, self.cometd.handle)
        segments = "|".join(META_SEGMENTS)
        app.router.add_post(NOTIFICATIONS_PATH + "/{meta:(" + segments + ")}", self.cometd.handle)

    def seed_demo(self) -> None:
        self.store.add_call(
            call_id=DEMO_CALL_ID,
            state="Established",
            conn_id="0071027198180020",
            participants=[
                {
                    "e164Number": "",
                    "formattedPhoneNumber": "15001",
                    "phoneNumber": "15001",
                    "digits": "15001",
                }
            ],
            dnis="15001",
            call_type="Internal",
            user_data={"AccountNumber": "12345678"},
            # Frozen at the seed's "7" so that the demo call stays the seed's sample exactly.
            duration="7",
        )

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        inbound = rng.random() < 0.5
        participant, number = _random_participant(rng)
        internal = not participant["e164Number"]
        call = self.store.add_call(
            state="Ringing" if inbound else "Dialing",
            participants=[participant],
            dnis=AGENT_DN if inbound else number,
            call_type="Internal" if internal else ("Inbound" if inbound else "Outbound"),
            user_data={"AccountNumber": str(rng.randint(10_000_000, 99_999_999))},
        )
        call_id = call["id"]
        await asyncio.sleep(pace * rng.uniform(1, 4))
        if not self._advance(call_id, "Established"):
            return
        await asyncio.sleep(pace * rng.uniform(2, 6))
        if rng.random() < 0.4 and self._advance(call_id, "Held"):
            await asyncio.sleep(pace * rng.uniform(1, 4))
            if not self._advance(call_id, "Established"):
                return
            await asyncio.sleep(pace * rng.uniform(1, 4))
        self._advance(call_id, "Released")

    def _advance(self, call_id: str, state: str) -> bool:
        """Move the simulated call on, unless someone hung it up meanwhile."""
        current = self.store.get(call_id)
        if current is None or current["state"] == "Released":
            return False
        self.store.set_state(call_id, state)
        return True

    # -- HTTP ---------------------------------------------------------------------------------

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        node, affinity = self._route(request)
        if not _has_demo_credentials(request):
            # GWS documents no 401 body; we keep the envelope every answer has: 8.5.0 the
            # closest documented code (3, forbidden), 8.5.2 its own "20 User is not
            # authenticated. Any subsequent request should provide credentials".
            code = 3 if self.variant == V850 else 20
            message = "Unauthorized" if code == 3 else "User is not authenticated"
            unauthorized = _json_response(
                {"statusCode": code, "statusMessage": message},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="Genesys Web Services"'},
            )
            if affinity is not None:
                unauthorized.headers.add("Set-Cookie", affinity)
            return unauthorized
        session_id = request.cookies.get(SESSION_COOKIE, "")
        token = self.store.csrf_token(session_id, node) if session_id else None
        opened: str | None = None  # the id of a session opened by this request
        if token is None:
            # A node that does not know the session opens one (the CSRF filter saves a
            # token in a new session), as on a wrong node behind the balancer.
            opened, token = self.store.open_session(node)
        request[SESSION_KEY] = opened or session_id
        response: web.StreamResponse
        refusal = self._refusal_for(request.method)
        if (
            request.method in ("POST", "PUT", "DELETE")
            and request.headers.get(CSRF_HEADER) != token
        ):
            # The documented words (CSRFProtection page), under the "forbidden" code.
            response = _refusal(GenesysApiError(403, 3, "Missing or invalid Csrf token"))
        elif refusal is not None:
            response = _refusal(refusal)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                _stamp(exc, request.method, opened, token)
                raise
        _stamp(response, request.method, opened, token)
        if affinity is not None:
            response.headers.add("Set-Cookie", affinity)
        return response

    def _route(self, request: web.Request) -> tuple[int, str | None]:
        """The node that serves `request`, and the affinity cookie to set (if any).

        One node unless the two-node variant: then the balancer routes by its `AWSELB`
        cookie; a request without a known one goes to the next node in turn (so a client
        that drops the cookie lands on the other node: 403 for its POSTs) and is told
        the cookie of that node."""
        if self.variant != V852_TWO_NODES:
            return 0, None
        sticky = request.cookies.get(AFFINITY_COOKIE)
        if sticky in self.affinity:
            node = self.affinity.index(sticky)
            self.nodes_seen.append(node)
            return node, None
        node = self._next_node
        self._next_node = (node + 1) % len(self.affinity)
        self.nodes_seen.append(node)
        return node, f"{AFFINITY_COOKIE}={self.affinity[node]};PATH=/"

    def _refusal_for(self, method: str) -> GenesysApiError | None:
        for index, (wanted, refusal) in enumerate(self._refusals):
            if wanted == method:
                del self._refusals[index]
                return refusal
        return None

    async def _list_calls(self, request: web.Request) -> web.Response:
        return _json_response({"statusCode": 0, "calls": self.store.current_calls()})

    async def _get_call(self, request: web.Request) -> web.Response:
        call = self.store.get(request.match_info["call_id"])
        if call is None:
            return _refusal(call_not_found())
        return _json_response({"statusCode": 0, "call": call})

    async def _operate(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        try:
            self.store.request_operation(request.match_info["call_id"], _operation_name(body))
        except GenesysApiError as refused:
            return _refusal(refused)
        # Accepted only: the new state follows asynchronously, as on the real switch.
        return _json_response({"statusCode": 0})

    async def _list_devices(self, request: web.Request) -> web.Response:
        return _json_response({"statusCode": 0, "devices": self.store.devices()})

    async def _dial(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        destination = body.get("destination")
        phone_number = destination.get("phoneNumber") if isinstance(destination, dict) else None
        user_data = body.get("userData")
        try:
            operation = _operation_name(body)
            if operation != "Dial":
                # [guess] the device's calls take only Dial here; refused as "invalid".
                raise GenesysApiError(400, 2, f"Operation {operation} is not valid for a device")
            if user_data is not None and not isinstance(user_data, dict):
                if self.variant != V850:
                    # [guess] 8.5.2's "10 Input validation error" for a value of a wrong kind.
                    raise GenesysApiError(400, 10, "Input validation error: userData")
                raise missing_parameter("userData (an object)")
            # `location` (optional) picks the site to dial from; the emulator has one site.
            self.store.dial(
                request.match_info["device_id"],
                phone_number if isinstance(phone_number, str) else None,
                user_data,
            )
        except GenesysApiError as refused:
            return _refusal(refused)
        # The new call is announced asynchronously (CallStateChangeMessage, "Dialing").
        return _json_response({"statusCode": 0})


def _json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # GWS (Jackson) writes compact JSON.
    return web.json_response(body, status=status, headers=headers, dumps=_compact_json)


def _compact_json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def _refusal(error: GenesysApiError) -> web.Response:
    body = {"statusCode": error.status_code, "statusMessage": error.status_message}
    return _json_response(body, status=error.http_status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else (no body, not JSON) reads as empty."""
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _operation_name(body: dict[str, Any]) -> str:
    operation = body.get("operationName")
    if not isinstance(operation, str) or not operation:
        raise missing_parameter("operationName")
    return operation


def _has_demo_credentials(request: web.Request) -> bool:
    expected = DEMO_CREDENTIALS["genesys"]
    try:
        auth = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return False
    return secrets.compare_digest(auth.login, expected["username"]) and secrets.compare_digest(
        auth.password, expected["password"]
    )


def _stamp(
    response: web.StreamResponse, method: str, new_session_id: str | None, csrf_token: str
) -> None:
    """Add the session cookie to a new session's first answer, and CSRF headers to GETs."""
    if new_session_id is not None:
        response.headers.add("Set-Cookie", f"{SESSION_COOKIE}={new_session_id}; Path=/; HttpOnly")
    if method == "GET":
        response.headers["X-CSRF-HEADER"] = CSRF_HEADER
        response.headers[CSRF_HEADER] = csrf_token


def _random_participant(rng: random.Random) -> tuple[dict[str, Any], str]:
    """A plausible far end: an internal DN, or a US number with GWS's extra fields."""
    if rng.random() < 0.4:
        dn = str(rng.randint(15001, 15999))
        return {"e164Number": "", "formattedPhoneNumber": dn, "phoneNumber": dn, "digits": dn}, dn
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    e164 = f"+1{area}{exchange}{line:04d}"
    local = f"({area}) {exchange}-{line:04d}"
    participant = {
        "e164Number": e164,
        "formattedPhoneNumber": local,
        "phoneNumber": e164,
        "digits": e164[1:],
        "country": {"name": "United States", "code": "US", "callingCode": "1"},
        "location": rng.choice(["California", "New York", "Texas", "Illinois", "Florida"]),
        "localPhoneNumber": local,
        "E164digits": e164,
    }
    return participant, e164[1:]
