"""A small Bayeux 1.0 (CometD) client, long-polling transport only, over `VendorHttp`.

It handshakes, subscribes to one channel and keeps a `/meta/connect` long poll open,
following the server's advice: `retry` connects again after `interval`, `handshake` starts
over, `none` ends the stream (the server will not take the client back). An unsuccessful
reply (e.g. `402::Unknown client` after the server forgot the client) starts over with a
new handshake; vendor failures (unreachable, 5xx, timeouts, unexpected answers) are retried
with a capped exponential backoff, forever: a push stream outlives outages.

Meta messages go to the base path plus the meta channel's last segment (`.../connect`), as
CometD's own clients send them by default; the servers accept the base path too.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, Final

from app.errors import SwitchboardError, VendorError, VendorTimeout, VendorUnavailable
from app.vendors.http import VendorHttp, VendorResponse

logger = logging.getLogger("switchboard.vendors")

# How long the server holds a connect until it advises otherwise (CometD's default).
DEFAULT_LONG_POLL = 30.0
# An advised interval longer than this is taken as this: a stream never sleeps for hours.
MAX_INTERVAL = 60.0

Message = dict[str, Any]


class BayeuxTerminated(VendorError):
    """The server advised `reconnect: none`: it will not take this client back."""


class Subscribed:
    """Yielded each time the subscription is (re)established. Messages published while the
    client was not subscribed are lost: a consumer reads the current state here."""

    def __repr__(self) -> str:
        return "SUBSCRIBED"


SUBSCRIBED: Final = Subscribed()


class Backoff:
    """Delays between failed attempts: `initial`, doubling up to `maximum`, until `reset`."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class BayeuxClient:
    """One Bayeux client of `path` on the vendor, subscribed to `channel`.

    `headers` is called before every request for what authenticates it (credentials,
    session cookie, CSRF token...); it may send requests of its own. `on_response` sees
    every answer first, e.g. to remember a new session cookie; what it raises ends the
    stream (for answers the stream cannot recover from, such as rejected credentials).
    """

    def __init__(
        self,
        http: VendorHttp,
        path: str,
        channel: str,
        *,
        headers: Callable[[], Awaitable[Mapping[str, str]]],
        on_response: Callable[[VendorResponse], None] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.http = http
        self.path = path.rstrip("/")
        self.channel = channel
        self._headers = headers
        self._on_response = on_response
        self._backoff = backoff or Backoff()
        self._client_id: str | None = None
        self._subscribed_as: str | None = None  # the client id whose subscription succeeded
        self._long_poll = DEFAULT_LONG_POLL
        self._ids = itertools.count(1)
        self._received: deque[Mapping[str, Any]] = deque()
        self._ended = False  # the server advised `reconnect: none`
        self._vendor = http.vendor.value

    async def messages(self) -> AsyncGenerator[Mapping[str, Any] | Subscribed, None]:
        """`SUBSCRIBED` whenever subscribed anew, then the `data` of each message on the
        channel, until cancelled (or closed); then sends `/meta/disconnect`, best-effort.
        Raises `BayeuxTerminated`, or what `headers` / `on_response` raise; nothing else."""
        try:
            while True:
                try:
                    if self._client_id is None or self._subscribed_as != self._client_id:
                        if self._client_id is None:
                            await self._handshake()
                        # Also after a handshake whose subscribe failed on the way.
                        await self._subscribe()
                        self._subscribed_as = self._client_id
                        yield SUBSCRIBED
                    while self._received:
                        yield self._received.popleft()
                    await self._connect()
                    while self._received:
                        yield self._received.popleft()
                    if self._ended:
                        raise BayeuxTerminated(
                            f"{self._vendor} ended the push connection (reconnect: none).",
                            vendor=self._vendor,
                        )
                except (VendorUnavailable, VendorTimeout) as failed:
                    delay = self._backoff.next()
                    logger.info("%s push: %s; again in %.1f s", self._vendor, failed.message, delay)
                    await asyncio.sleep(delay)
        finally:
            await self._disconnect()

    # -- the meta messages ----------------------------------------------------------------

    async def _handshake(self) -> None:
        reply = await self._send(
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"],
            },
            self.http.timeout,
        )
        client_id = reply.get("clientId")
        if reply.get("successful") is not True or not isinstance(client_id, str):
            self._refused("the handshake", reply)
            raise self._unavailable(f"refused the handshake ({_error(reply)})")
        self._client_id = client_id
        self._follow_timeout(reply)

    async def _subscribe(self) -> None:
        reply = await self._send(
            {"channel": "/meta/subscribe", "subscription": self.channel}, self.http.timeout
        )
        if reply.get("successful") is not True:
            self._client_id = None  # start over: handshake, then subscribe again
            self._refused("the subscription", reply)
            raise self._unavailable(f"refused the subscription ({_error(reply)})")

    async def _connect(self) -> None:
        # The server holds a connect for up to its long-poll timeout: allow that and the
        # vendor's usual time to answer on top.
        reply = await self._send(
            {"channel": "/meta/connect", "connectionType": "long-polling"},
            self._long_poll + self.http.timeout,
        )
        self._follow_timeout(reply)
        advice = _advice(reply)
        reconnect = advice.get("reconnect")
        if reply.get("successful") is not True:
            self._refused("the connection", reply)
            if reconnect != "retry" or str(reply.get("error", "")).startswith("402"):
                self._client_id = None  # the server forgot this client: handshake again
            raise self._unavailable(f"refused the connection ({_error(reply)})")
        self._backoff.reset()
        if reconnect in ("none", "handshake"):
            self._client_id = None
            # What came with this reply is yielded before the stream ends.
            self._ended = reconnect == "none"
        interval = _seconds(advice.get("interval"))
        if interval:
            await asyncio.sleep(min(interval, MAX_INTERVAL))

    async def _disconnect(self) -> None:
        """Tell the server this client is gone, bounded by the vendor's timeout; a failure
        only means the server forgets the client later by itself."""
        if self._client_id is None:
            return
        try:
            async with asyncio.timeout(self.http.timeout):
                await self._send({"channel": "/meta/disconnect"}, self.http.timeout)
        except (SwitchboardError, TimeoutError) as failed:
            logger.debug("%s push: disconnect failed: %s", self._vendor, failed)
        finally:
            self._client_id = None

    # -- the wire -------------------------------------------------------------------------

    async def _send(self, message: Message, request_timeout: float) -> Message:
        """Post one meta message; return the server's reply to it. Channel messages that
        arrive with it are kept for `messages` to yield."""
        channel = message["channel"]
        message = {**message, "id": str(next(self._ids))}
        if self._client_id is not None and channel != "/meta/handshake":
            message["clientId"] = self._client_id
        response = await self.http.request(
            "POST",
            f"{self.path}/{channel.rsplit('/', 1)[1]}",
            json_body=[message],
            headers=await self._headers(),
            request_timeout=request_timeout,
        )
        if self._on_response is not None:
            self._on_response(response)
        if not 200 <= response.status < 300:
            raise self._unavailable(f"answered {channel} with HTTP {response.status}")
        body = response.json()
        reply: Message | None = None
        for item in body if isinstance(body, list) else [body]:
            if not isinstance(item, dict):
                continue
            if item.get("channel") == channel and reply is None:
                reply = item
            elif item.get("channel") == self.channel:
                if isinstance(item.get("data"), dict):
                    self._received.append(item["data"])
                else:
                    # Skipped, never fatal: the stream outlives any one message.
                    logger.warning(
                        "%s push: a message on %s without a data object; skipped",
                        self._vendor,
                        self.channel,
                    )
        if reply is None:
            raise self._unavailable(f"answered {channel} without a reply to it")
        return reply

    def _follow_timeout(self, reply: Message) -> None:
        timeout = _seconds(_advice(reply).get("timeout"))
        if timeout is not None:
            self._long_poll = timeout

    def _refused(self, what: str, reply: Message) -> None:
        if _advice(reply).get("reconnect") == "none":
            raise BayeuxTerminated(
                f"{self._vendor} refused {what} for good ({_error(reply)}).", vendor=self._vendor
            )

    def _unavailable(self, what: str) -> VendorUnavailable:
        return VendorUnavailable(f"{self._vendor} push {what}.", vendor=self._vendor)


def _advice(reply: Message) -> dict[str, Any]:
    advice = reply.get("advice")
    return advice if isinstance(advice, dict) else {}


def _error(reply: Message) -> str:
    # Bayeux errors are "code:args:text"; vendor text is kept short in our messages.
    return str(reply.get("error") or "no error given")[:120]


def _seconds(milliseconds: object) -> float | None:
    """An advised duration (Bayeux advice is in milliseconds) in seconds, if it is one."""
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool):
        return max(0.0, milliseconds / 1000)
    return None
