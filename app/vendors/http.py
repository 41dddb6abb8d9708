"""Client plumbing shared by the vendor adapters: one aiohttp session per vendor, timeouts,
a concurrency cap, one retry for idempotent reads, and the single place where aiohttp's
exceptions become domain errors (`raise VendorX(...) from exc`).

Nothing above `app/vendors/` ever sees an `aiohttp.ClientError`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from multidict import CIMultiDictProxy

from app import tracing
from app.calls import Vendor
from app.errors import VendorConnectionLost, VendorError, VendorTimeout, VendorUnavailable
from app.metrics import TOKEN_REFRESHES, VENDOR_REQUESTS, VENDOR_SECONDS, status_class
from app.vendors.breaker import CircuitBreaker

logger = logging.getLogger("switchboard.vendors")

T = TypeVar("T")

# Connection-level failures after which a read may safely be sent once more.
_RETRYABLE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


@dataclass(frozen=True, slots=True)
class VendorResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    vendor: Vendor

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON means the vendor is not well."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise VendorUnavailable(
                f"{self.vendor.value} answered HTTP {self.status} with a body that is not JSON.",
                vendor=self.vendor.value,
            ) from None


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One request as the adapter asked for it; `limit`: its deadline in seconds."""

    method: str
    path: str
    params: Mapping[str, str] | None
    json_body: Any
    form: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    idempotent: bool
    limit: float


class VendorHttp:
    """HTTP to one vendor's base URL. Adapters say what to send; this says how."""

    def __init__(
        self,
        vendor: Vendor,
        base_url: str,
        *,
        timeout: float = 5.0,
        concurrency: int = 16,
        breaker: CircuitBreaker | None = None,
        metrics: bool = True,
    ) -> None:
        self.vendor = vendor
        self.metrics = metrics
        self.breaker = breaker or CircuitBreaker(vendor)
        # Metric children by label values, looked up once (app/metrics.py).
        self._counters: dict[tuple[str, str], Any] = {}
        self._timers: dict[str, Any] = {}
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.concurrency = concurrency
        # Requests over the cap queue here, first come first served. The connector's own
        # limit (the same number) is never reached, so it never queues: its queue lets a
        # newcomer take a connection just released ahead of those already waiting, and
        # under load some requests waited seconds (B1 at 256 connections: p99 4.8 s).
        self._admission = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use so that it binds to the running loop.
        if self._session is None or self._session.closed:
            # A new session may be on a new loop: so is its queue.
            self._admission = asyncio.Semaphore(self.concurrency)
            self._session = aiohttp.ClientSession(
                # No aiohttp timeouts: `_send` bounds the queue and the exchange as one.
                timeout=aiohttp.ClientTimeout(),
                connector=aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300),
                # Every cookie the vendor sets is kept and sent back, not just a session
                # id: behind a sticky load balancer (Genesys: `JSESSIONID` plus `AWSELB`,
                # CometD's `BAYEUX_BROWSER`, VENDORS.md §6) a command without the
                # affinity cookie lands on another node and is refused. One jar per
                # vendor; `unsafe`: vendors are often addressed by IP.
                cookie_jar=aiohttp.CookieJar(unsafe=True, quote_cookie=False),
                raise_for_status=False,
            )
            # aiohttp silently resends GET/PUT/DELETE once when a kept-alive connection
            # drops; a resent PUT could act twice at the vendor (a second hold). No public
            # switch exists, so turn it off here: `request` decides what is retried.
            self._session._retry_connection = False
        return self._session

    def forget_cookies(self) -> None:
        """Drop every cookie the vendor set (its session ended: start a new one)."""
        if self._session is not None:
            self._session.cookie_jar.clear()

    def cookie(self, name: str) -> str | None:
        """The value of the vendor's cookie `name`, if it set one."""
        if self._session is None:
            return None
        for morsel in self._session.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        request_timeout: float | None = None,
    ) -> VendorResponse:
        """Send one request and read the whole answer.

        A 5xx answer, a timeout or a connection failure raises `VendorUnavailable` or
        `VendorTimeout`; every other status is returned for the adapter to interpret.
        Idempotent requests (GET by default) are sent once more after a dropped connection;
        nothing else is ever resent. Basic credentials go in `headers`
        (`aiohttp.encode_basic_auth`): aiohttp deprecates its `auth=` argument.
        `request_timeout` (seconds) replaces the vendor's total timeout for this request only,
        e.g. for a long poll that the vendor holds open on purpose.
        """
        outgoing = _Outgoing(
            method,
            path,
            params,
            json_body,
            form,
            headers,
            method == "GET" if idempotent is None else idempotent,
            self.timeout if request_timeout is None else request_timeout,
        )
        if tracing.enabled():
            attributes = {"vendor": self.vendor.value, "http.request.method": method}
            # The path only: query strings may hold credentials (Verba apiKey and token).
            attributes["url.path"] = path
            with tracing.span(f"{self.vendor.value} {method}", attributes):
                return await self._request(outgoing)
        return await self._request(outgoing)

    async def _request(self, outgoing: _Outgoing) -> VendorResponse:
        method = outgoing.method
        # Reads may probe a half-open breaker; commands never do (app/vendors/breaker.py).
        try:
            probe = self.breaker.admit(probe=outgoing.idempotent)
        except VendorUnavailable:
            self._count(method, "breaker_open")
            raise
        started = time.perf_counter()
        try:
            response = await self._exchange(outgoing)
        except VendorError as failed:  # timeouts, lost or refused connections
            self.breaker.failed(failed.code, probe=probe)
            self._count(method, _failure_kind(failed), started)
            raise
        except BaseException:
            self.breaker.released(probe=probe)
            raise
        if response.status >= 500:
            unavailable = self._unavailable(f"answered HTTP {response.status}")
            self.breaker.failed(unavailable.code, probe=probe)
            self._count(method, "5xx", started)
            raise unavailable
        self.breaker.succeeded(probe=probe)
        self._count(method, status_class(response.status), started)
        return response

    def _count(self, method: str, outcome: str, started: float | None = None) -> None:
        if not self.metrics:
            return
        key = (method, outcome)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = VENDOR_REQUESTS.labels(self.vendor.value, *key)
        counter.inc()
        if started is not None:
            timer = self._timers.get(method)
            if timer is None:
                timer = self._timers[method] = VENDOR_SECONDS.labels(self.vendor.value, method)
            timer.observe(time.perf_counter() - started)

    async def _exchange(self, outgoing: _Outgoing) -> VendorResponse:
        method, path, limit = outgoing.method, outgoing.path, outgoing.limit
        attempts = 2 if outgoing.idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._send(outgoing)
            except aiohttp.ClientConnectorError as exc:
                # No connection was made: the request never reached the vendor (a command
                # here is refused, not lost — it did not act).
                raise self._unavailable(f"could not be reached ({type(exc).__name__})") from exc
            except _RETRYABLE as exc:
                if attempt < attempts:
                    logger.info(
                        "%s %s %s: connection lost, retrying once", self.vendor.value, method, path
                    )
                    continue
                raise VendorConnectionLost(
                    f"{self.vendor.value} dropped the connection ({type(exc).__name__}).",
                    vendor=self.vendor.value,
                ) from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise VendorTimeout(
                    f"{self.vendor.value} did not answer within {limit:g} s.",
                    vendor=self.vendor.value,
                ) from exc
            except aiohttp.ClientError as exc:
                # str(exc) may carry the URL, and Verba puts its token in the query.
                raise self._unavailable(f"could not be reached ({type(exc).__name__})") from exc
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, outgoing: _Outgoing) -> VendorResponse:
        method, path, headers = outgoing.method, outgoing.path, outgoing.headers
        started = time.perf_counter()
        if tracing.enabled():
            headers = dict(headers or {})
            tracing.inject(headers)  # the vendor (or its gateway) may join the trace
        # One deadline for the wait in the queue and the exchange: a caller hears within
        # `limit` seconds, however busy the vendor's queue is.
        session = self.session
        async with (
            asyncio.timeout(outgoing.limit),
            self._admission,
            session.request(
                method,
                self.base_url + path,
                params=outgoing.params,
                json=outgoing.json_body,
                data=outgoing.form,
                headers=headers,
            ) as raw,
        ):
            body = await raw.read()
        if logger.isEnabledFor(logging.DEBUG):
            # Path only: query strings may hold credentials (Verba apiKey and token).
            elapsed = (time.perf_counter() - started) * 1e3
            logger.debug(
                "%s %s %s -> %d in %.1f ms", self.vendor.value, method, path, raw.status, elapsed
            )
        return VendorResponse(raw.status, raw.headers, body, self.vendor)

    def _unavailable(self, what: str) -> VendorUnavailable:
        return VendorUnavailable(f"{self.vendor.value} {what}.", vendor=self.vendor.value)


def _failure_kind(failed: VendorError) -> str:
    if isinstance(failed, VendorTimeout):
        return "timeout"
    if isinstance(failed, VendorConnectionLost):
        return "connection_lost"
    return "unreachable"


async def concurrently(requests: Iterable[Awaitable[T]]) -> list[T]:
    """Await all at once, results in order. The first failure (a vendor-wide one: per-call
    answers are returned, not raised) cancels the requests still running and is raised."""
    tasks = [asyncio.ensure_future(request) for request in requests]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


class TokenCache:
    """One access token, fetched on demand, refreshed shortly before it expires, and
    fetched once (not once per waiting request) however many requests need it at once."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        vendor: Vendor | None = None,
    ) -> None:
        self._fetch = fetch  # returns (token, lifetime in seconds)
        self._vendor = vendor  # counted in switchboard_vendor_token_refreshes
        self._margin = margin
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                try:
                    token, lifetime = await self._fetch()
                except VendorError as failed:
                    # Whatever needed the token was not sent: to a command this is a plain
                    # refusal, not a lost answer that might have acted.
                    failed.unsent = True
                    raise
                if self._vendor is not None:
                    TOKEN_REFRESHES.labels(self._vendor.value).inc()
                # Refresh a margin before expiry, but never sooner than half the lifetime.
                self._refresh_at = self._clock() + max(lifetime - self._margin, lifetime / 2)
                self._token = token
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (the vendor said 401), unless a newer one already replaced it."""
        if self._token == token:
            self._token = None
