"""The event bus between gateway instances: broadcaster underneath, channels by call.

`memory://` serves one process; `redis://` lets several instances share events through
our own resilient backend (app/live/redis_backend.py). Each channel has one broadcaster
subscription per process, drained at once into bounded local queues, so broadcaster's
own (unbounded) queues never grow; a slow local reader loses its oldest events, which
is safe because every reader re-reads state when told to `RESYNC`.

Messages are call events (app/live/codec.py), decoded here once per message and process:
listeners get typed `CallEvent`s. The same event is published on its call's channel and
on ALL_CALLS, so the last decoded text is remembered and not decoded twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse

from broadcaster import Broadcast

from app.live.codec import CallEvent, decode_event

if TYPE_CHECKING:
    from app.live.redis_backend import RedisBackend

logger = logging.getLogger("switchboard.live")

ALL_CALLS: Final = "switchboard:calls"  # every call event, for callEvents


def call_channel(call_id: object) -> str:
    return f"switchboard:call:{call_id}"


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are being cancelled ourselves, not only the pump: pass it on
    except Exception:
        # Unsubscribing from a bus that is down: nothing left to release.
        logger.debug("bus: pump ended with an error", exc_info=True)


class Resync:
    """Events may have been missed (the bus reconnected): re-read the state."""


RESYNC: Final = Resync()


class Listener:
    """One local reader of a channel, with a bounded queue (oldest dropped when full)."""

    def __init__(self, maxlen: int) -> None:
        self._items: collections.deque[CallEvent | Resync] = collections.deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, item: CallEvent | Resync) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
            # A gap: make sure the reader re-reads state rather than trust what is left.
            self._items.append(RESYNC)
        self._items.append(item)
        self._ready.set()

    async def get(self) -> CallEvent | Resync:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> CallEvent | Resync:
        return await self.get()


class Bus:
    def __init__(self, url: str = "memory://", *, queue_size: int = 256) -> None:
        self.url = url
        self.queue_size = queue_size
        scheme = urlparse(url).scheme
        self._resync_channel: str | None = None
        self._redis: RedisBackend | None = None
        if scheme in ("redis", "rediss"):
            from app.live.redis_backend import RESYNC_CHANNEL, RedisBackend

            self._redis = RedisBackend(url)
            self._broadcast = Broadcast(backend=self._redis)
            self._resync_channel = RESYNC_CHANNEL
        elif scheme == "memory":
            self._broadcast = Broadcast(url)
        else:
            raise ValueError(f"unsupported bus URL scheme {scheme!r}: use memory:// or redis://")
        self._listeners: dict[str, set[Listener]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._connected = False
        self._decoded: tuple[str, CallEvent] | None = None  # the last message decoded
        self.undecodable = 0  # messages that were not call events (tests, logs)

    @property
    def connected(self) -> bool:
        """Whether publishing reaches the other instances now (Redis up), or, in memory,
        whether the bus is open."""
        if self._redis is not None:
            return self._connected and self._redis.connected
        return self._connected

    @property
    def shared(self) -> bool:
        """Whether other instances see what this one publishes."""
        return self._resync_channel is not None

    async def connect(self) -> None:
        await self._broadcast.connect()
        self._connected = True
        if self._resync_channel is not None:
            self._pumps[self._resync_channel] = asyncio.create_task(
                self._pump(self._resync_channel), name="bus-resync"
            )

    async def disconnect(self) -> None:
        self._connected = False
        for pump in list(self._pumps.values()):
            await _stop(pump)
        self._pumps.clear()
        await self._broadcast.disconnect()

    async def publish(self, channel: str, message: str) -> bool:
        """Publish; False (logged) when the bus cannot take it — readers resync later."""
        try:
            await self._broadcast.publish(channel, message)
        except ConnectionError as lost:
            logger.warning("bus: could not publish on %s: %s", channel, lost)
            return False
        return True

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        """A local reader of `channel`, subscribed before this returns (no gap)."""
        listener = Listener(self.queue_size)
        listeners = self._listeners.setdefault(channel, set())
        listeners.add(listener)
        try:
            if channel not in self._pumps:
                ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._pumps[channel] = asyncio.create_task(
                    self._pump(channel, ready), name=f"bus:{channel}"
                )
                await ready  # raises if subscribing failed
            yield listener
        finally:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[channel]
                pump = self._pumps.pop(channel, None)
                if pump is not None:
                    await _stop(pump)

    async def _pump(self, channel: str, ready: asyncio.Future[None] | None = None) -> None:
        try:
            async with self._broadcast.subscribe(channel) as subscriber:
                if ready is not None:
                    ready.set_result(None)
                await self._deliver(channel, subscriber)
        except Exception as failed:
            if ready is not None and not ready.done():
                ready.set_exception(failed)
                return
            raise

    async def _deliver(self, channel: str, subscriber: Any) -> None:
        while True:
            event = await subscriber.get()
            if channel == self._resync_channel:
                for group in self._listeners.values():
                    for listener in group:
                        listener.put(RESYNC)
                continue
            listeners = self._listeners.get(channel)
            if not listeners:
                continue
            decoded = self._decode(event.message)
            if decoded is None:
                continue
            for listener in listeners:
                listener.put(decoded)

    def _decode(self, message: str) -> CallEvent | None:
        last = self._decoded
        if last is not None and last[0] == message:
            return last[1]
        try:
            decoded = decode_event(message)
        except (ValueError, KeyError, TypeError):
            # Not ours (another program on the channel, or a newer switchboard's format
            # we cannot read): skipped, never the reason a pump dies.
            self.undecodable += 1
            logger.warning("bus: skipped a message that is not a call event")
            return None
        self._decoded = (message, decoded)
        return decoded

    @property
    def channels(self) -> int:
        """Channels with a local reader (tests check that nothing is left behind)."""
        return len(self._listeners)
