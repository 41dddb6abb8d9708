"""The GWS HTTP session: Basic auth on every request, the cookies (JSESSIONID and any
load-balancer affinity cookie, kept by `VendorHttp`'s jar), the CSRF token bound to the
session, and what to do when the session is lost.

Genesys documents (Documentation/GWS/8.5.2/API/CSRFProtection): a GET returns headers
`X-CSRF-HEADER` (the header's name) and `X-CSRF-TOKEN`; every PUT, POST and DELETE must
carry it, else 403 "Missing or invalid Csrf token". "The token shares the life cycle of
the HTTP session", and "Web Services also requires your application to support cookies":
the example request carries `JSESSIONID` and an `AWSELB` affinity cookie. Sessions end
after `sessionMaxInactiveInterval` (1800 s by default) or when a node restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from app.calls import Vendor
from app.errors import (
    BadUserInput,
    CallNotFound,
    InvalidState,
    VendorForbidden,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.metrics import TOKEN_REFRESHES
from app.vendors.fields import as_int
from app.vendors.genesys.mapping import NOT_AUTHENTICATED, refusal
from app.vendors.genesys.wire import GenesysDialWire, GenesysOperationWire
from app.vendors.http import VendorHttp, VendorResponse

SESSION_COOKIE = "JSESSIONID"
VENDOR = Vendor.GENESYS.value


@dataclass(frozen=True, slots=True)
class _Csrf:
    """The CSRF header's name and token, and the JSESSIONID they were issued with."""

    header: str
    token: str
    session: str | None


class GenesysSession:
    """Requests to GWS as one HTTP session, renewed when GWS has forgotten it."""

    def __init__(self, http: VendorHttp, *, username: str, password: str) -> None:
        self.http = http
        # A header rather than aiohttp.BasicAuth, which aiohttp 3.14 deprecates.
        self._authorization = aiohttp.encode_basic_auth(username, password)
        self._csrf: _Csrf | None = None
        # Bumped each time a session is given up: a request refused under an older epoch
        # finds the session already renewed by another, instead of renewing it again.
        self.epoch = 0
        # Held while a session is opened or renewed, so that concurrent requests share one.
        self._lock = asyncio.Lock()
        # Requests on the way, by epoch: a renewal waits for the old session's requests to
        # come back, since each refusal may set a JSESSIONID of its own (a CSRF filter
        # opens a session for a request without one); the last to land would otherwise
        # replace the renewed session's cookie and make its fresh token stale.
        self._pending: dict[int, set[asyncio.Future[None]]] = {}

    # -- requests ---------------------------------------------------------------------------

    async def get(self, path: str, what: str) -> Any:
        """GET `path`; the checked JSON body (`checked`)."""
        return self.checked(await self.get_response(path, what), what)

    async def get_response(self, path: str, what: str) -> VendorResponse:
        """GET `path`. A GET that finds the session lost (401 to a request that carried a
        session) is sent once more on a new session. Raises only for the vendor as a whole
        (unreachable, 5xx, credentials rejected); the answer is for `checked`."""
        if self.http.cookie(SESSION_COOKIE) is None:
            # The first requests at once would each open a session of their own.
            async with self._lock:
                if self.http.cookie(SESSION_COOKIE) is None:
                    return await self._get_once(path, what)
        return await self._get_once(path, what)

    async def _get_once(self, path: str, what: str) -> VendorResponse:
        epoch, sent = self.epoch, self.http.cookie(SESSION_COOKIE)
        response = await self._exchange("GET", path)
        if sent is not None and _session_lost(response):
            self.give_up(epoch, sent)
            response = await self._exchange("GET", path)
        if response.status == 401:
            raise self._unauthenticated()
        return response

    async def post(
        self,
        path: str,
        body: GenesysOperationWire | GenesysDialWire,
        what: str,
        *,
        token_path: str,
    ) -> Any:
        """POST with the CSRF token, learnt first by a GET of `token_path` when unknown.

        Resent at most once, and only when GWS refused it *before acting*: a 403 (missing
        or invalid CSRF token: the session or its token is gone, or a balancer sent it to
        a node that does not know the session) or a 401 / statusCode 20 (session not
        authenticated). GWS checks these before it hands a command to T-Server, so the
        command has not acted and resending it on a new session cannot act twice. Any
        other answer - and no answer at all (timeout, dropped connection) - is final: the
        command may have acted, and a resent Hangup or Dial would act twice.
        """
        await self.ensure_token(token_path, what)
        epoch, sent = self.epoch, self.http.cookie(SESSION_COOKIE)
        response = await self._exchange("POST", path, body)
        if _session_lost(response) or response.status == 403:
            await self.renew(epoch, sent)
            await self.ensure_token(token_path, what)
            response = await self._exchange("POST", path, body)
        if response.status == 401:
            raise self._unauthenticated()
        return self.checked(response, what)

    async def ensure_token(self, path: str, what: str) -> None:
        """Learn the CSRF token of the current session by a GET of `path`, unless known:
        once for all requests waiting for it."""
        if self._token_current():
            return
        async with self._lock:
            if not self._token_current():
                self.checked(await self._get_once(path, what), what)

    async def renew(self, epoch: int, sent: str | None) -> None:
        """`give_up` the session of `epoch`, once the old session's requests are back."""
        async with self._lock:
            if epoch != self.epoch:
                return
            self.epoch += 1
            waiting = [f for e, pending in self._pending.items() if e < self.epoch for f in pending]
            if waiting:
                await asyncio.wait(waiting, timeout=self.http.timeout)
            self.give_up(epoch + 1, sent, renewed=True)

    def give_up(self, epoch: int, sent: str | None, *, renewed: bool = False) -> None:
        """The session of `epoch` (JSESSIONID `sent`) is lost: forget its token, and its
        cookies (JSESSIONID and affinity cookie: the new session may live on another
        node) - unless a newer session already replaced it. When the refusal itself set
        a new JSESSIONID, GWS has opened the new session already: it is kept, else each
        refusal would leave a session behind on the server until it times out."""
        if epoch == self.epoch:
            if not renewed:
                self.epoch += 1
            self._csrf = None
            TOKEN_REFRESHES.labels(self.http.vendor.value).inc()  # a new session follows
            if self.http.cookie(SESSION_COOKIE) == sent:
                self.http.forget_cookies()

    def headers(self, method: str) -> dict[str, str]:
        """Basic auth, and the CSRF token for anything but a GET. Cookies: the jar's."""
        headers = {"Authorization": self._authorization}
        if method != "GET" and self._csrf is not None:
            headers[self._csrf.header] = self._csrf.token
        return headers

    def learn(self, response: VendorResponse) -> None:
        """Remember the CSRF header and token a response announces (GETs do)."""
        header = response.headers.get("X-CSRF-HEADER")
        token = response.headers.get(header) if header else None
        if header and token:
            self._csrf = _Csrf(header, token, self.http.cookie(SESSION_COOKIE))

    def _token_current(self) -> bool:
        return self._csrf is not None and self._csrf.session == self.http.cookie(SESSION_COOKIE)

    async def _exchange(
        self,
        method: str,
        path: str,
        body: GenesysOperationWire | GenesysDialWire | None = None,
    ) -> VendorResponse:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = self._pending.setdefault(self.epoch, set())
        pending.add(done)
        try:
            response = await self.http.request(
                method, path, json_body=body, headers=self.headers(method)
            )
            self.learn(response)
        finally:
            done.set_result(None)
            pending.discard(done)
            if not pending:
                self._pending = {e: p for e, p in self._pending.items() if p}
        return response

    # -- answers ----------------------------------------------------------------------------

    def checked(self, response: VendorResponse, what: str) -> Any:
        """The JSON body of a successful answer, else the domain error for the answer:
        every non-zero statusCode, documented or not, with GWS's statusMessage."""
        try:
            body = response.json()
        except VendorUnavailable:
            body = None
        status = as_int(body.get("statusCode")) if isinstance(body, Mapping) else None
        if response.status < 300 and body is not None and status in (0, None):
            return body
        if status is not None and status != 0:
            said = body.get("statusMessage") if isinstance(body, Mapping) else None
            raise refusal(status, str(said or ""), what)
        if response.status == 401:
            raise self._unauthenticated()
        if response.status == 403:
            raise VendorForbidden(f"genesys refused {what} (HTTP 403).", vendor=VENDOR)
        if response.status == 404:
            raise CallNotFound(f"genesys found nothing for {what} (HTTP 404).", vendor=VENDOR)
        # A refusal without a GWS body (a proxy's, or a servlet error page): the status
        # says what kind it is. Nothing acted (ReturnValues: an error modifies nothing).
        if response.status in (400, 422):
            raise BadUserInput(f"genesys refused {what} (HTTP {response.status}).", vendor=VENDOR)
        if response.status == 409:
            raise InvalidState(f"genesys refused {what} (HTTP 409).", vendor=VENDOR)
        if response.status < 300:
            raise malformed(what)
        raise VendorUnavailable(
            f"genesys answered {what} with HTTP {response.status}.", vendor=VENDOR
        )

    def _unauthenticated(self) -> VendorUnauthenticated:
        # Basic credentials do not expire: asking again would fail the same way.
        return VendorUnauthenticated(
            "genesys rejected the configured credentials (HTTP 401).", vendor=VENDOR
        )


def malformed(what: str) -> VendorUnavailable:
    return VendorUnavailable(
        f"genesys answered {what} with a body that is not a GWS answer.", vendor=VENDOR
    )


def _session_lost(response: VendorResponse) -> bool:
    """401, or statusCode 20 "User is not authenticated" (8.5.2): no session for us."""
    if response.status == 401:
        return True
    if response.status < 400:
        return False
    try:
        body = response.json()
    except VendorUnavailable:
        return False
    return isinstance(body, Mapping) and as_int(body.get("statusCode")) == NOT_AUTHENTICATED
