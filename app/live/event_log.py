"""The log of call events, so that a callEvents subscriber can resume where it left off.

Every published event is appended first and gets its `cursor`: "<ms>-<seq>", the form of
a Redis stream id, ordered by (ms, seq). A subscriber that comes back with the cursor of
the last event it got is replayed what followed (`after`), then goes live.

Events are kept for `retention` seconds and at most `count` of them. A cursor older than
what is kept (or one this log cannot place: from before a restart) gets None from
`after`: the caller then tells the subscriber to redraw (a RESYNC event).

`RedisEventLog` keeps them in a Redis stream (XADD with MAXLEN ~ count, XTRIM MINID by
age), so any instance can resume any client. Trimming is approximate and Redis (7.0)
does not record what it trimmed, so a cursor older than the oldest event kept counts as
too old; so does every cursor handed out before a Redis restarted empty, since its new
stream's events are all newer. `MemoryEventLog` is a bounded deque for one process,
which knows exactly what it dropped. `event_log_for(url, ...)` picks by URL scheme.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import re
import time
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from app.errors import BadUserInput
from app.live.codec import CallEvent, decode_event, encode_event
from app.live.redis_backend import REDIS_UNREACHABLE, command_client, redacted

logger = logging.getLogger("switchboard.live")

STREAM_KEY: Final = "switchboard:events"
NO_CURSOR: Final = "0-0"  # before every event
_PAGE: Final = 1000  # stream entries read at a time when replaying

Cursor = tuple[int, int]

_CURSOR: Final = re.compile(r"([0-9]{1,15})-([0-9]{1,15})")

# KEYS[1] the stream; ARGV[1] the event, ARGV[2] the count kept, ARGV[3] the oldest id kept.
_APPEND: Final = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
return id
"""


def parse_cursor(text: str) -> Cursor:
    """A cursor as given by a client; BAD_USER_INPUT unless it has the "<ms>-<seq>" form."""
    match = _CURSOR.fullmatch(text)
    if match is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise BadUserInput(
            f"Malformed cursor {shown!r}: expected the cursor of an event, '<ms>-<seq>'."
        )
    return int(match[1]), int(match[2])


def format_cursor(cursor: Cursor) -> str:
    return f"{cursor[0]}-{cursor[1]}"


class EventLog(Protocol):
    async def append(self, event: CallEvent) -> str:
        """Keep `event`; its cursor, greater than every cursor before it."""
        ...

    async def after(self, cursor: Cursor) -> list[CallEvent] | None:
        """The events after `cursor`, oldest first, each with its cursor; None when the
        log no longer has (or never had) everything after it."""
        ...

    async def latest(self) -> str:
        """The cursor of the newest event (NO_CURSOR if none)."""
        ...

    async def aclose(self) -> None: ...


class Cursors:
    """Cursors from this process's clock, never going back (a clock step backwards, or
    several events in one millisecond, advance the sequence)."""

    def __init__(self) -> None:
        self.last: Cursor = (0, 0)

    def next(self) -> Cursor:
        ms = int(time.time() * 1000)
        last_ms, last_seq = self.last
        self.last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self.last

    def saw(self, cursor: Cursor) -> None:
        self.last = max(self.last, cursor)


class MemoryEventLog:
    def __init__(self, retention: float = 300.0, count: int = 10_000) -> None:
        self.retention = retention
        self.count = count
        self._cursors = Cursors()
        self._events: collections.deque[tuple[Cursor, CallEvent]] = collections.deque()
        # Everything after `_floor` is kept: the last event dropped, or this log's start.
        self._floor: Cursor = (int(time.time() * 1000), 0)
        self._cursors.saw(self._floor)

    async def append(self, event: CallEvent) -> str:
        cursor = self._cursors.next()
        text = format_cursor(cursor)
        self._events.append((cursor, dataclasses.replace(event, cursor=text)))
        self._trim()
        return text

    async def after(self, cursor: Cursor) -> list[CallEvent] | None:
        self._trim()
        if cursor < self._floor or cursor > self._cursors.last:
            return None
        return [event for at, event in self._events if at > cursor]

    async def latest(self) -> str:
        # Empty: everything after the floor is kept (none), so resuming there is safe.
        return format_cursor(self._events[-1][0] if self._events else self._floor)

    def _trim(self) -> None:
        oldest_kept = int(time.time() * 1000) - round(self.retention * 1000)
        events = self._events
        while events and (len(events) > self.count or events[0][0][0] < oldest_kept):
            self._floor = events.popleft()[0]

    async def aclose(self) -> None:
        pass


class RedisEventLog:
    def __init__(
        self,
        url: str,
        retention: float = 300.0,
        count: int = 10_000,
        *,
        key: str = STREAM_KEY,
        timeout: float = 1.0,
    ) -> None:
        self.url = url
        self.retention = retention
        self.count = count
        self.key = key
        self._timeout = timeout
        self._redis = command_client(url, timeout)
        self._append = self._redis.register_script(_APPEND)
        self._cursors = Cursors()  # for events appended while Redis is unreachable
        self._unreachable = False  # logged once per outage

    async def append(self, event: CallEvent) -> str:
        oldest_kept = int(time.time() * 1000) - round(self.retention * 1000)
        try:
            async with asyncio.timeout(self._timeout):
                raw = await self._append(
                    keys=[self.key], args=[encode_event(event), self.count, f"{oldest_kept}-0"]
                )
        except (*REDIS_UNREACHABLE, RedisError) as lost:
            self._lost("append", lost)
            # The event still goes out where it can; it cannot be replayed. Its cursor is
            # from our clock, so a client resuming from it later gets what was logged.
            return format_cursor(self._cursors.next())
        self._back()
        cursor = _text(raw)
        self._cursors.saw(parse_cursor(cursor))
        return cursor

    async def after(self, cursor: Cursor) -> list[CallEvent] | None:
        try:
            async with asyncio.timeout(self._timeout * 5):
                info = await self._info()
                if info is None:
                    # No stream: nothing logged since Redis (re)started. Only a cursor
                    # from before every event (a RESYNC's, when there was none) is safe.
                    return [] if cursor == (0, 0) else None
                if _too_old(cursor, info):
                    return None
                entries = await self._entries_after(cursor)
        except (*REDIS_UNREACHABLE, RedisError) as lost:
            self._lost("replay", lost)
            return None  # cannot tell what was missed: the subscriber redraws
        self._back()
        events = []
        for raw_id, fields in entries:
            text = (fields or {}).get(b"e")
            if text is not None:
                events.append(dataclasses.replace(decode_event(_text(text)), cursor=_text(raw_id)))
        return events

    async def _entries_after(self, cursor: Cursor) -> list[tuple[Any, Any]]:
        """Every entry after `cursor`, read in pages: approximate trimming keeps more
        than `count`, and a replay must not stop short of what it has."""
        entries: list[tuple[Any, Any]] = []
        start = format_cursor(cursor)
        while True:
            page = await self._redis.xrange(self.key, min=f"({start}", max="+", count=_PAGE)
            entries.extend(page or ())
            if not page or len(page) < _PAGE:
                return entries
            start = _text(page[-1][0])

    async def latest(self) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                info = await self._info()
        except (*REDIS_UNREACHABLE, RedisError) as lost:
            self._lost("latest", lost)
            return format_cursor(self._cursors.last)
        return NO_CURSOR if info is None else info.get("last-generated-id", NO_CURSOR)

    async def _info(self) -> dict[str, str] | None:
        """XINFO STREAM's ids, as text; None when the stream does not exist."""
        if not await self._redis.exists(self.key):
            return None
        raw = await self._redis.execute_command(  # type: ignore[no-untyped-call]
            "XINFO", "STREAM", self.key
        )
        pairs = raw if isinstance(raw, list) else [x for kv in raw.items() for x in kv]
        info: dict[str, str] = {}
        for name, raw_value in zip(pairs[::2], pairs[1::2], strict=True):
            value = raw_value
            if isinstance(value, list | tuple):
                value = value[0] if value else None  # an entry: [id, fields]
            if value is not None:
                info[_text(name)] = _text(value)
        return info

    def _lost(self, operation: str, lost: BaseException) -> None:
        if not self._unreachable:
            self._unreachable = True
            logger.warning(
                "event log: Redis at %s unreachable (%s on %s); events are not kept for "
                "replay meanwhile",
                redacted(self.url),
                type(lost).__name__,
                operation,
            )

    def _back(self) -> None:
        if self._unreachable:
            self._unreachable = False
            logger.info("event log: Redis at %s reachable again", redacted(self.url))

    async def aclose(self) -> None:
        await self._redis.aclose()


def _too_old(cursor: Cursor, info: dict[str, str]) -> bool:
    last = parse_cursor(info.get("last-generated-id", NO_CURSOR))
    if cursor > last:
        return True  # not from this stream (another Redis, or one restarted since)
    first = info.get("first-entry")
    if first is None:  # everything trimmed by age: only what came after the last is safe
        return cursor < last
    return cursor < parse_cursor(first)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def event_log_for(url: str, retention: float, count: int) -> EventLog:
    """Redis when the bus is Redis, else in-process."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisEventLog(url, retention, count)
    return MemoryEventLog(retention, count)
