"""The Genesys emulator's push channel: a Bayeux 1.0 (CometD) server, long-polling transport
only, at `/api/v2/notifications` (VENDORS.md §5 calls the path a guess; Genesys's sample
client ErnestoGarciaGenesys/GenesysWebServicesClient, GenesysEventReceiver.cs, uses it).

Clients handshake, subscribe to `/v2/me/calls` and hold a `/meta/connect` open; every change
of a call in the store is queued for every subscribed client as a `CallStateChangeMessage`
and delivered by that client's next (or held) connect. Requests pass the same middleware as
the rest of the API (faults, Basic auth, JSESSIONID and CSRF token); a client id is bound
to the session that handshook it [guess: GWS ties notifications to the HTTP session], so
after the session ends the client must handshake again. CometD clients post meta messages
to the base URL plus the meta channel's last segment (`.../handshake`); both are served.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.emulators.genesys_store import AGENT_DN

NOTIFICATIONS_PATH = "/api/v2/notifications"
CALLS_CHANNEL = "/v2/me/calls"
DEVICES_CHANNEL = "/v2/me/devices"
META_SEGMENTS = ("handshake", "connect", "subscribe", "unsubscribe", "disconnect")
# The session of the request, set by the emulator's authentication middleware.
SESSION_KEY = web.RequestKey("genesys_session", str)

Message = dict[str, Any]


def call_notification(call: dict[str, Any], revision: str = "8.5.0") -> Message:
    """The `data` GWS publishes on /v2/me/calls for a change of `call` (a call resource).
    8.5.2 adds `extensions` and `metrics` blocks (en.docs.genesys.com
    Documentation:HTCC:API:CallsDial:8.5.2 and its 8.5.2DRAFT, Notification samples)."""
    data: Message = {
        "messageType": "CallStateChangeMessage",
        "notificationType": "StatusChange",
        "call": call,
        "phoneNumber": AGENT_DN,
    }
    if revision != "8.5.0":
        data["extensions"] = {"WrapUpTime": 0, "BusinessCall": 0}
        data["metrics"] = {
            "eventProcessing": {
                "nodeProcessingTimeNanos": 4911602,
                "serverGenerationTimestamp": int(time.time() * 1000),
                "serverProcessingTimeTotalMs": 5,
            }
        }
    return data


@dataclass(eq=False)
class _Client:
    id: str
    session: str
    last_seen: float
    queue: deque[Message]
    subscriptions: set[str] = field(default_factory=set)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    connects: int = 0  # serial of the latest /meta/connect: a newer one ends an older one
    holding: int = 0  # /meta/connect requests held open right now


class CometdHub:
    """Bayeux clients, their subscriptions and queued messages.

    Knobs (attributes, may be changed at any time):
    - `connect_timeout`: seconds a `/meta/connect` is held when nothing is queued; also
      advised to clients at handshake (default 30, as CometD's);
    - `max_interval`: a client that neither holds a connect nor sent one for this long is
      forgotten (CometD's maxInterval, default 10 s), so abandoned clients don't pile up;
    - `queue_limit`: messages kept per client between its connects; beyond it the oldest
      are dropped (each message carries the whole call, so a later one supersedes it) and
      counted in `dropped`.
    `clock` (seconds) drives expiry only; waits are real time.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        connect_timeout: float = 30.0,
        max_interval: float = 10.0,
        queue_limit: int = 1000,
    ) -> None:
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.max_interval = max_interval
        self.queue_limit = queue_limit
        self.dropped = 0
        self.revision = "8.5.0"  # the notifications' shape (see `call_notification`)
        # The BAYEUX_BROWSER cookie each request carried (None: none): tests check that
        # clients send it back.
        self.browsers_seen: list[str | None] = []
        self._clients: dict[str, _Client] = {}
        self._closed = False

    # -- used by the emulator and tests ---------------------------------------------------

    def publish(self, channel: str, data: Any) -> None:
        """Queue `{"channel", "data"}` for every client subscribed to `channel`."""
        self._sweep()
        for client in self._clients.values():
            if channel in client.subscriptions:
                if len(client.queue) >= self.queue_limit:
                    self.dropped += 1
                client.queue.append({"channel": channel, "data": data})
                client.wakeup.set()

    def publish_call(self, call: dict[str, Any]) -> None:
        """The store's listener: every change of a call, to /v2/me/calls."""
        self.publish(CALLS_CHANNEL, call_notification(call, self.revision))

    def publish_devices(self, devices: list[dict[str, Any]]) -> None:
        """The store's device listener: a DeviceStateChangeMessage on /v2/me/devices
        (docs.genesys.com Documentation/HTCC/latest/API/CallsMessageType, example)."""
        self.publish(
            DEVICES_CHANNEL, {"messageType": "DeviceStateChangeMessage", "devices": devices}
        )

    def expire_clients(self) -> None:
        """Forget every client now (held connects answer 402): each must handshake again."""
        for client in self._clients.values():
            client.wakeup.set()
        self._clients.clear()

    def close(self) -> None:
        """Server shutdown: answer every held connect now and hold no more."""
        self._closed = True
        for client in self._clients.values():
            client.wakeup.set()

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def held_connects(self) -> int:
        return sum(client.holding for client in self._clients.values())

    # -- HTTP -----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """POST of a Bayeux message array (or one message) → the array of replies."""
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="Bayeux messages must be JSON")
        messages = body if isinstance(body, list) else [body]
        replies = await self.answer(messages, request.get(SESSION_KEY, ""))
        response = web.json_response(replies, dumps=_compact_json)
        handshook = any(
            r.get("channel") == "/meta/handshake" and r.get("successful") for r in replies
        )
        # CometD's server marks the browser with a cookie at handshake, and expects it
        # back (its multi-client detection): BAYEUX_BROWSER (VENDORS.md §6).
        if handshook and "BAYEUX_BROWSER" not in request.cookies:
            response.set_cookie("BAYEUX_BROWSER", secrets.token_hex(8), path="/")
        self.browsers_seen.append(request.cookies.get("BAYEUX_BROWSER"))
        return response

    async def answer(self, messages: list[Any], session: str) -> list[Message]:
        """The replies to one request's messages, a `/meta/connect` last (it may wait)."""
        self._sweep()
        replies: list[Message] = []
        connect: Message | None = None
        for message in messages:
            if not isinstance(message, dict):
                replies.append({"successful": False, "error": "400::Not a Bayeux message"})
            elif message.get("channel") == "/meta/connect" and connect is None:
                connect = message
            else:
                replies.append(self._answer_now(message, session))
        if connect is not None:
            replies.extend(await self._connect(connect, session))
        return replies

    # -- Bayeux ---------------------------------------------------------------------------

    def _answer_now(self, message: Message, session: str) -> Message:
        channel = message.get("channel")
        if channel == "/meta/handshake":
            return self._handshake(message, session)
        client = self._client_of(message, session)
        if not isinstance(channel, str) or not channel.startswith("/meta/"):
            # GWS publishes; its clients only listen.
            return _reply(message, False, error="403::Publish denied")
        if channel not in ("/meta/subscribe", "/meta/unsubscribe", "/meta/disconnect"):
            return _reply(message, False, error=f"400::Unknown meta channel {channel}")
        if client is None:
            return _unknown_client(message)
        client.last_seen = self.clock()
        if channel == "/meta/disconnect":
            del self._clients[client.id]
            client.wakeup.set()  # its held connect, if any, answers now
            return _reply(message, True)
        subscription = message.get("subscription")
        if not isinstance(subscription, str) or not _is_channel(subscription):
            return _reply(message, False, error="400::Invalid subscription")
        if channel == "/meta/subscribe":
            client.subscriptions.add(subscription)
        else:
            client.subscriptions.discard(subscription)
        return _reply(message, True, subscription=subscription)

    def _handshake(self, message: Message, session: str) -> Message:
        types = message.get("supportedConnectionTypes")
        if not isinstance(types, list) or "long-polling" not in types:
            return _reply(
                message,
                False,
                error="301::Unsupported connection types",
                supportedConnectionTypes=["long-polling"],
                advice={"reconnect": "none"},
            )
        client_id = secrets.token_hex(12)
        self._clients[client_id] = _Client(
            client_id, session, self.clock(), deque(maxlen=max(1, self.queue_limit))
        )
        return _reply(
            message,
            True,
            clientId=client_id,
            version="1.0",
            supportedConnectionTypes=["long-polling"],
            advice={
                "reconnect": "retry",
                "interval": 0,
                "timeout": int(self.connect_timeout * 1000),
            },
        )

    async def _connect(self, message: Message, session: str) -> list[Message]:
        client = self._client_of(message, session)
        if client is None:
            return [_unknown_client(message)]
        if message.get("connectionType") != "long-polling":
            return [_reply(message, False, error="301::Unsupported connection type")]
        client.connects += 1
        serial = client.connects
        client.wakeup.set()  # a connect already held for this client answers now
        client.wakeup.clear()
        if not client.queue and not self._closed:
            client.holding += 1
            try:
                await asyncio.wait_for(client.wakeup.wait(), self._hold_for(message))
            except TimeoutError:
                pass
            finally:
                client.holding -= 1
        client.last_seen = self.clock()
        if self._clients.get(client.id) is not client:
            return [_unknown_client(message)]  # expired or disconnected meanwhile
        reply = _reply(message, True, advice={"reconnect": "retry", "interval": 0})
        if serial != client.connects:
            return [reply]  # superseded: the newer connect takes the queue
        events = list(client.queue)
        client.queue.clear()
        return [reply, *events]

    def _hold_for(self, message: Message) -> float:
        # A client may ask for a shorter hold (CometD's first connect asks for 0).
        advice = message.get("advice")
        asked = advice.get("timeout") if isinstance(advice, dict) else None
        if isinstance(asked, int | float) and not isinstance(asked, bool) and asked >= 0:
            return min(self.connect_timeout, asked / 1000)
        return self.connect_timeout

    def _client_of(self, message: Message, session: str) -> _Client | None:
        client = self._clients.get(str(message.get("clientId")))
        if client is None or not secrets.compare_digest(client.session, session):
            return None
        return client

    def _sweep(self) -> None:
        now = self.clock()
        for client in list(self._clients.values()):
            if not client.holding and now - client.last_seen > self.max_interval:
                del self._clients[client.id]


def _reply(message: Message, successful: bool, **fields: Any) -> Message:
    reply: Message = {"channel": message.get("channel"), "successful": successful}
    for name in ("id", "clientId"):
        if name in message:
            reply[name] = message[name]
    reply.update(fields)
    return reply


def _unknown_client(message: Message) -> Message:
    return _reply(
        message,
        False,
        error="402::Unknown client",
        advice={"reconnect": "handshake", "interval": 0},
    )


def _is_channel(name: str) -> bool:
    return name.startswith("/") and not name.startswith("/meta/") and len(name) > 1


def _compact_json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))
