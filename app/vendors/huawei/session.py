"""Huawei CEC API Fabric session: AK/SK access tokens (tokenByAkSk, cec_07_0002), possibly
from a host of their own, and the authorised POST every other request is.

The zh page puts tokenByAkSk on its own port of the load balancer
(`https://<domain>:28070/apigovernance/...`) while the API stays on the domain, so the
token host is a `VendorHttp` of its own when `token_url` is configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.calls import Vendor
from app.errors import VendorUnauthenticated, VendorUnavailable
from app.vendors.fields import as_int
from app.vendors.http import TokenCache, VendorHttp, VendorResponse
from app.vendors.huawei.mapping import read
from app.vendors.huawei.wire import MAX_TOKEN_LIFETIME, TOKEN_PATH

logger = logging.getLogger("switchboard.vendors.huawei")

VENDOR = Vendor.HUAWEI.value


def token_base_url(token_url: str) -> str:
    """The token host's base URL from `token_url`, given as a base
    (`https://cec.example:28070`) or as the whole tokenByAkSk URL."""
    url = token_url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError("token_url must be an http(s) URL, e.g. https://<domain>:28070")
    if url.endswith(TOKEN_PATH):
        url = url[: -len(TOKEN_PATH)]
    return url


def token_from_answer(answer: Mapping[str, Any], asked_lifetime: int) -> tuple[str, float]:
    """(AccessToken, lifetime in seconds) of a tokenByAkSk answer. Quirk: `Expires` is a
    string of seconds; absent or unreadable, the lifetime we asked for holds."""
    token = read.text(answer, "AccessToken")
    if not token:
        raise VendorUnavailable(
            "huawei answered tokenByAkSk without an AccessToken.", vendor=VENDOR
        )
    lifetime = read.integer(answer, "Expires")
    if lifetime is None or lifetime <= 0:
        lifetime = asked_lifetime
    return token, float(lifetime)


class HuaweiSession:
    """Tokens from `token_http` (the API's own `api_http` unless the token host differs),
    refreshed before they expire and once more when the API answers 401."""

    def __init__(
        self,
        api_http: VendorHttp,
        token_http: VendorHttp,
        *,
        app_key: str,
        app_secret: str,
        token_lifetime: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= token_lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError(f"token_lifetime must be 1 to {MAX_TOKEN_LIFETIME} seconds")
        self._api = api_http
        self._token_host = token_http
        self._app_key = app_key
        self._app_secret = app_secret
        self._token_lifetime = token_lifetime
        self._tokens = TokenCache(self._fetch_token, clock=clock, vendor=api_http.vendor)

    async def post(
        self, path: str, body: Mapping[str, object], *, idempotent: bool
    ) -> dict[str, Any] | VendorUnavailable:
        """POST with the access token; the JSON object of an HTTP 200, or (returned, not
        raised) the error of a 200 whose body is not a JSON object: that reply alone is
        unreadable. Any other status raises, for the whole request.

        On a 401 the token is dropped and the request sent once more with a new one: the
        gateway refused it before the API did anything, so even createCall may be resent.
        """
        for _ in range(2):
            token = await self._tokens.get()
            response = await self._api.request(
                "POST",
                path,
                json_body=body,
                headers={"Authorization": f"Bearer {token}", "X-APP-Key": self._app_key},
                idempotent=idempotent,
            )
            if response.status == 401:
                self._tokens.invalidate(token)
                continue
            try:
                return json_answer(response, path)
            except VendorUnavailable as unreadable:
                if response.status != 200:
                    raise
                return unreadable
        raise VendorUnauthenticated(
            f"huawei refused a new access token for {operation(path)} (HTTP 401).", vendor=VENDOR
        )

    async def _fetch_token(self) -> tuple[str, float]:
        # A token request changes nothing at the vendor, so a lost one may be resent.
        response = await self._token_host.request(
            "POST",
            TOKEN_PATH,
            json_body={"app_key": self._app_key, "app_secret": self._app_secret},
            headers={"X-Token-Expire": str(self._token_lifetime)},
            idempotent=True,
        )
        if response.status == 401:
            raise VendorUnauthenticated(
                "huawei refused the configured app key and secret (tokenByAkSk: HTTP 401).",
                vendor=VENDOR,
            )
        token, lifetime = token_from_answer(json_answer(response, TOKEN_PATH), self._token_lifetime)
        logger.debug("huawei: new access token, valid for %d s", lifetime)
        return token, lifetime

    async def close(self) -> None:
        await self._api.close()
        if self._token_host is not self._api:
            await self._token_host.close()


def parse_token_lifetime(value: int | str) -> int:
    """`token_lifetime` as configured (SWITCHBOARD_HUAWEI_TOKEN_LIFETIME is text)."""
    lifetime = value if isinstance(value, int) else as_int(value)
    if lifetime is None:
        raise ValueError(f"token_lifetime must be 1 to {MAX_TOKEN_LIFETIME} seconds")
    return lifetime


def json_answer(response: VendorResponse, path: str) -> dict[str, Any]:
    if response.status == 404:
        raise VendorUnavailable(
            f"huawei answered {operation(path)} with HTTP 404: the API is not published at "
            "this URL (check the base URL, SWITCHBOARD_HUAWEI_TOKEN_URL and "
            "SWITCHBOARD_HUAWEI_API_VERSION).",
            vendor=VENDOR,
        )
    if response.status != 200:
        raise VendorUnavailable(
            f"huawei answered {operation(path)} with HTTP {response.status}.", vendor=VENDOR
        )
    answer = response.json()
    if not isinstance(answer, dict):
        raise VendorUnavailable(
            f"huawei answered {operation(path)} with JSON that is not an object.", vendor=VENDOR
        )
    return answer


def operation(path: str) -> str:
    return path.rsplit("/", 1)[-1]
