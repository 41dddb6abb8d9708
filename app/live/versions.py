"""Versions of call states: a per-call counter, bumped once per published state change.

A subscriber compares versions to never go backwards: a state it is sent is never older
than one it has. With a shared bus the counter must be shared too, or two instances
publishing changes of one call would number them independently: `RedisVersions` keeps a
per-call key (with a TTL, a day by default, so ended calls do not stay forever) holding
the version and the state it numbers, bumped atomically by a script. Since the state is
kept beside it, the counter also tells an instance whether a state it read is news: one
that joins a call another instance follows gets the call's version, not a new one, and
publishes no "first seen" event of its own.

Every `next` is given a `floor`, the highest version this instance knows of the call: a
Redis restarted empty (or unreachable) must not hand out a version a subscriber already
has. Unreachable, the next version is `floor + 1`, decided locally (logged once per
outage): monotonic for this instance's subscribers, the best that can be done alone.
`versions_for(url)` picks by URL scheme, like the bus.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from app.calls import CallId, CallState
from app.live.redis_backend import REDIS_UNREACHABLE, command_client, redacted

logger = logging.getLogger("switchboard.live")

KEY_PREFIX: Final = "switchboard:version:"
DAY: Final = 86_400.0

# KEYS[1] the call's hash (v: version, s: state, o: observed at); ARGV[1] the caller's
# floor, ARGV[2] the state, ARGV[3] the TTL in ms, ARGV[4] now (ISO 8601).
# Returns {version, 1 if bumped else 0, observed at}.
_NEXT: Final = """
local held = redis.call('HMGET', KEYS[1], 'v', 's', 'o')
local version = tonumber(held[1]) or 0
local floor = tonumber(ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if held[2] == ARGV[2] and version > 0 and version >= floor then
    return {version, 0, held[3] or ARGV[4]}
end
version = math.max(version, floor) + 1
redis.call('HSET', KEYS[1], 'v', version, 's', ARGV[2], 'o', ARGV[4])
return {version, 1, ARGV[4]}
"""


@dataclass(frozen=True, slots=True)
class Numbered:
    """A state's version, when it was first seen, and whether it was new (just numbered)."""

    version: int
    observed_at: datetime
    new: bool


class Versions(Protocol):
    async def next(self, call_id: CallId, state: CallState, floor: int) -> Numbered:
        """The version of `state` of `call_id`: a new state gets a version above `floor`
        and above every version handed out for the call before; the state last numbered
        keeps its version and first sighting (`new` False)."""
        ...

    async def aclose(self) -> None: ...


class MemoryVersions:
    """One process's counters, the least recently bumped forgotten past `limit` (the
    caller's floor still keeps a forgotten call's versions rising)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._counters: collections.OrderedDict[CallId, tuple[CallState, Numbered]] = (
            collections.OrderedDict()
        )
        self._limit = limit

    async def next(self, call_id: CallId, state: CallState, floor: int) -> Numbered:
        held = self._counters.get(call_id)
        if held is not None and held[0] is state and held[1].version >= floor:
            return dataclasses.replace(held[1], new=False)
        version = max(held[1].version if held else 0, floor) + 1
        numbered = Numbered(version, datetime.now(UTC), True)
        self._counters[call_id] = (state, numbered)
        self._counters.move_to_end(call_id)
        while len(self._counters) > self._limit:
            self._counters.popitem(last=False)
        return numbered

    async def aclose(self) -> None:
        pass


class RedisVersions:
    def __init__(self, url: str, *, ttl: float = DAY, timeout: float = 1.0) -> None:
        self.url = url
        self._ttl_ms = max(1, round(ttl * 1000))
        self._timeout = timeout
        self._redis = command_client(url, timeout)
        self._next = self._redis.register_script(_NEXT)
        self._unreachable = False  # logged once per outage

    async def next(self, call_id: CallId, state: CallState, floor: int) -> Numbered:
        now = datetime.now(UTC)
        try:
            async with asyncio.timeout(self._timeout):
                version, bumped, observed = await self._next(
                    keys=[f"{KEY_PREFIX}{call_id}"],
                    args=[floor, state.value, self._ttl_ms, now.isoformat()],
                )
        except (*REDIS_UNREACHABLE, RedisError) as lost:
            if not self._unreachable:
                self._unreachable = True
                logger.warning(
                    "versions: Redis at %s unreachable (%s); numbering states locally",
                    redacted(self.url),
                    type(lost).__name__,
                )
            return Numbered(floor + 1, now, True)
        if self._unreachable:
            self._unreachable = False
            logger.info("versions: Redis at %s reachable again", redacted(self.url))
        text = observed.decode() if isinstance(observed, bytes) else str(observed)
        return Numbered(int(version), datetime.fromisoformat(text), bool(bumped))

    async def aclose(self) -> None:
        await self._redis.aclose()


def versions_for(url: str) -> Versions:
    """Redis when the bus is Redis, else in-process."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisVersions(url)
    return MemoryVersions()
