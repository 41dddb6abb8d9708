"""A broadcaster backend over Redis pub/sub that survives Redis going away, and says so.

Use it as `Broadcast(backend=RedisBackend(url))`. broadcaster 0.3.1's own redis:// backend
is not usable here: with redis-py 8 it receives nothing (it starts listening before it
subscribes), and when Redis drops, the exception kills broadcaster's listener task and
every subscriber waits forever. This backend instead:

- keeps one pub/sub connection, read by one task of its own (the reader), so nothing else
  ever reads that socket;
- returns from `subscribe()` only once Redis has confirmed the subscription (or, while
  Redis is unreachable, at once: see RESYNC below), so nothing published afterwards is
  missed;
- on a lost connection, reconnects with capped exponential backoff, subscribes again to
  every channel it tracks, then hands out `Event(RESYNC_CHANNEL, RESYNC_MESSAGE)`: events
  may have been missed during the outage, and whoever listens on RESYNC_CHANNEL (through
  `Broadcast.subscribe(RESYNC_CHANNEL)`, which stays local: it is never subscribed in
  Redis) should re-read state. `next_published()` itself never raises for a lost Redis;
- publishes through a separate pooled client; while Redis is unreachable `publish()`
  raises BusUnavailable within about `timeout` seconds instead of hanging.

The `memory://` bus keeps broadcaster's MemoryBackend: publisher and subscribers share
one process and one queue, so nothing can be missed and it never needs a resync.

broadcaster's per-subscriber queues are unbounded whatever the backend; the layer above
(app/live/bus.py) drains them at once into bounded queues of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final
from urllib.parse import urlsplit

from broadcaster import BroadcastBackend, Event
from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

logger = logging.getLogger("switchboard.live.redis")

RESYNC_CHANNEL: Final = "switchboard:bus:resync"
RESYNC_MESSAGE: Final = "reconnected"

# What "Redis is unreachable" looks like, here and in app/live/leases.py: redis-py's own
# errors (its ConnectionError covers refused connections, resets and authentication
# failures), socket errors, timeouts.
REDIS_UNREACHABLE: Final = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,  # includes the builtin TimeoutError that asyncio.timeout raises
)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class BusUnavailable(ConnectionError):
    """Redis cannot be reached right now: the message was not published."""


def command_client(url: str, timeout: float) -> Redis:
    """A client for short commands (leases, idempotency keys): every operation bounded by
    `timeout`, and one immediate retry for a pooled connection left stale by a Redis
    restart (callers' operations are safe to repeat)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


def redacted(url: str) -> str:
    """The URL without credentials, fit for logs and error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _text(value: Any) -> str:
    # Replies are bytes unless the URL asks for decode_responses; never fail on bad UTF-8,
    # since an exception in the reader would look like a lost connection.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class RedisBackend(BroadcastBackend):
    """`Broadcast(backend=RedisBackend(url))`: see the module docstring for the contract.

    `timeout` bounds publish() and each connection attempt; `backoff` is the (first,
    largest) pause between reconnection attempts; a pub/sub socket quiet for
    `health_interval` seconds gets a PING, and one quiet twice in a row counts as lost.
    `queue_size` bounds the messages read but not yet taken by next_published(): the
    reader (and with it subscribe() confirmations) waits while it is full.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 1.0,
        backoff: tuple[float, float] = (0.05, 2.0),
        health_interval: float = 5.0,
        queue_size: int = 1024,
    ) -> None:
        # BroadcastBackend.__init__ only raises NotImplementedError: not called.
        self.url = url
        self._timeout = timeout
        self._backoff_min, self._backoff_max = backoff
        self._health_interval = health_interval
        self._channels: set[str] = set()  # what we want subscribed in Redis
        self._confirming: dict[str, list[asyncio.Future[None]]] = {}
        self._conn: AbstractConnection | None = None  # the pub/sub connection, while live
        # Bounded: when nobody drains it the reader stops reading, Redis buffers, and if
        # Redis drops us for it we reconnect and resync like after any other outage.
        self._events: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self._client: Redis | None = None
        self._pool: ConnectionPool | None = None
        self._reader: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    @property
    def connected(self) -> bool:
        """Whether the pub/sub connection is up right now."""
        return self._conn is not None

    async def connect(self) -> None:
        """Start the reader; returns after its first attempt, even if Redis is down."""
        options: dict[str, Any] = {
            "socket_connect_timeout": self._timeout,
            "socket_timeout": self._timeout,
        }
        # One immediate retry, so that a pooled connection left stale by a Redis restart
        # costs nothing; asyncio.timeout in publish() still bounds the whole call.
        self._client = Redis.from_url(self.url, retry=Retry(NoBackoff(), 1), **options)
        # No retries on the pub/sub connection: a silent reconnect would lose
        # subscriptions without a resync. The reader does the reconnecting.
        # RESP2 unless the URL asks otherwise: the pub/sub replies parsed in _serve() are
        # plain arrays there (RESP3, redis-py 8's default, makes them push messages).
        self._pool = ConnectionPool.from_url(
            self.url, retry=Retry(NoBackoff(), 0), protocol=2, **options
        )
        self._started.clear()
        self._reader = asyncio.create_task(self._run(), name="switchboard-bus-reader")
        await self._started.wait()

    async def disconnect(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.wait({reader})  # its `finally` closes the pub/sub connection
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._pool is not None:
            await self._pool.disconnect()
            self._pool = None

    async def subscribe(self, channel: str) -> None:
        if channel == RESYNC_CHANNEL:
            return  # synthetic: produced here, never subscribed in Redis
        self._channels.add(channel)
        conn = self._conn
        # is_connected checked right before sending: redis-py would otherwise silently open
        # a fresh socket, with none of our subscriptions, under the reader.
        if conn is None or not conn.is_connected:
            return  # outage: the reconnection subscribes it, then RESYNC follows
        confirmed = asyncio.get_running_loop().create_future()
        self._confirming.setdefault(channel, []).append(confirmed)
        try:
            await conn.send_command("SUBSCRIBE", channel)
            # Resolved by the reader: on Redis' confirmation, or when the connection is lost.
            await confirmed
        except REDIS_UNREACHABLE:
            pass  # the reader sees the same loss: it resubscribes, then RESYNC follows
        finally:
            waiting = self._confirming.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    async def unsubscribe(self, channel: str) -> None:
        if channel == RESYNC_CHANNEL:
            return
        # Dropped from the set first: the reader filters on it, so delivery stops at once.
        self._channels.discard(channel)
        conn = self._conn
        if conn is None or not conn.is_connected:
            return  # the reconnection will not subscribe it again
        # A lost connection is fine: the channel is not subscribed there any more anyway.
        with contextlib.suppress(*REDIS_UNREACHABLE):
            await conn.send_command("UNSUBSCRIBE", channel)

    async def publish(self, channel: str, message: Any) -> None:
        if self._client is None:
            raise RuntimeError("RedisBackend.publish() before connect()")
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.publish(channel, message)
        except REDIS_UNREACHABLE as lost:
            raise BusUnavailable(
                f"cannot publish on {channel!r}: Redis at {redacted(self.url)} "
                f"is unreachable ({_describe(lost)})"
            ) from lost

    async def next_published(self) -> Event:
        while True:
            event = await self._events.get()
            # Messages already queued for a channel unsubscribed since are dropped here.
            if event.channel == RESYNC_CHANNEL or event.channel in self._channels:
                return event

    # The reader task -------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff_min
        first = True
        outage: str | None = None  # why Redis is unreachable, while it is
        try:
            while True:
                try:
                    conn = await self._open()
                except Exception as failed:
                    self._started.set()
                    if outage is None:
                        outage = _describe(failed)
                        logger.warning(
                            "bus: Redis at %s unreachable (%s); retrying",
                            redacted(self.url),
                            outage,
                        )
                    first = False  # a subscribe() may return unconfirmed from now on
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._backoff_max)
                    continue
                if outage is not None:
                    logger.info("bus: Redis at %s reachable again", redacted(self.url))
                    outage = None
                delay = self._backoff_min
                try:
                    await self._serve(conn, resync=not first or bool(self._channels))
                except Exception as lost:
                    outage = _describe(lost)
                    # A connection error is routine; anything else is a bug worth a trace.
                    logger.warning(
                        "bus: lost Redis at %s (%s); reconnecting",
                        redacted(self.url),
                        outage,
                        exc_info=not isinstance(lost, REDIS_UNREACHABLE),
                    )
                finally:
                    self._drop()
                    await self._close(conn)
                first = False
                await asyncio.sleep(delay)
        finally:
            self._drop()

    async def _open(self) -> AbstractConnection:
        assert self._pool is not None
        # A connection of our own, outside the pool's checkout: the reader owns it alone.
        # (redis-py leaves make_connection() and connect() unannotated.)
        conn: AbstractConnection = self._pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            async with asyncio.timeout(self._timeout):
                await conn.connect()  # type: ignore[no-untyped-call]
        except BaseException:
            await self._close(conn)
            raise
        return conn

    async def _serve(self, conn: AbstractConnection, *, resync: bool) -> None:
        """Subscribe to every tracked channel, then read until the connection fails."""
        # Published and snapshotted with no await in between: a subscribe() from now on
        # sends its own SUBSCRIBE on this connection; any earlier one is in the snapshot.
        self._conn = conn
        awaiting = set(self._channels)
        self._started.set()
        if awaiting:
            await conn.send_command("SUBSCRIBE", *sorted(awaiting))
        if resync and not awaiting:
            await self._events.put(Event(RESYNC_CHANNEL, RESYNC_MESSAGE))
            resync = False
        pinged = False
        while True:
            # push_request: under RESP3 return pub/sub pushes rather than only log them.
            reply = await conn.read_response(timeout=self._health_interval, push_request=True)
            if reply is None:
                # Quiet for a while: a PING tells a silent network failure from calm.
                if pinged:
                    raise redis_errors.ConnectionError("no reply to PING on the pub/sub socket")
                await conn.send_command("PING")
                pinged = True
                continue
            pinged = False
            if not isinstance(reply, list) or len(reply) < 2:
                continue  # RESP3's plain PONG
            kind, channel = _text(reply[0]), _text(reply[1])
            if kind == "message":
                if channel in self._channels:
                    await self._events.put(Event(channel, _text(reply[2])))
            elif kind == "subscribe":
                for confirmed in self._confirming.pop(channel, []):
                    if not confirmed.done():
                        confirmed.set_result(None)
                awaiting.discard(channel)
                if resync and not awaiting:
                    # Every channel is back: whatever was missed is now safe to re-read.
                    await self._events.put(Event(RESYNC_CHANNEL, RESYNC_MESSAGE))
                    resync = False
            # "unsubscribe" and "pong" replies need nothing.

    def _drop(self) -> None:
        """Forget the live connection; subscribe() calls waiting on it return now."""
        self._conn = None
        confirming, self._confirming = self._confirming, {}
        for waiting in confirming.values():
            for confirmed in waiting:
                if not confirmed.done():
                    confirmed.set_result(None)

    @staticmethod
    async def _close(conn: AbstractConnection) -> None:
        try:
            await conn.disconnect(nowait=True)
        except Exception:
            logger.debug("bus: error closing a pub/sub connection", exc_info=True)
