"""The VoipNow App's session: OAuth client-credentials tokens from `/oauth/token.php`, and
every API request sent with one, renewed once when the vendor says it is no longer good.

A refused token is a 401 (seed 003) or, as 4PSA's own sample apps expect it, a 403: both
`4psa/app-click2conf` `request.php` and `4psa/app-facebookcallme` `plib/lib.php` regenerate
the token and resend the request when the answer is `Response::STATUS_FORBIDDEN`. So a 403
to a request that carried a cached token means "renew and resend once"; only a 403 to a
freshly issued token means the App is not allowed (FORBIDDEN)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.calls import Vendor
from app.errors import VendorForbidden, VendorUnauthenticated, VendorUnavailable
from app.vendors.fields import WireReader
from app.vendors.http import TokenCache, VendorHttp, VendorResponse
from app.vendors.voipnow.wire import PhoneCallActionWire, SimplePhoneCallWire

logger = logging.getLogger("switchboard.vendors.voipnow")

TOKEN_PATH = "/oauth/token.php"
# [doc] an access token lasts one hour (another revision says two); used when the token
# answer has no readable `expires_in`.
DEFAULT_TOKEN_LIFETIME = 3600.0

_ERROR_CODE = re.compile(r"[A-Za-z0-9_]{1,64}")
_read = WireReader(Vendor.VOIPNOW)

JsonBody = PhoneCallActionWire | SimplePhoneCallWire


def error_code(response: VendorResponse) -> str | None:
    """The code of `{"error": {"code": ...}}` or OAuth's `{"error": "..."}`, if any. Only a
    plain identifier goes into our messages, never free text from the vendor."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else error
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None


def unexpected(response: VendorResponse) -> VendorUnavailable:
    code = error_code(response)
    why = f", {code}" if code else ""
    return VendorUnavailable(
        f"voipnow answered HTTP {response.status}{why} unexpectedly.", vendor="voipnow"
    )


def token_lifetime(body: Mapping[str, Any]) -> float:
    """`expires_in` in seconds: a number on the wire, a digit string tolerated."""
    lifetime = _read.integer(body, "expires_in")
    return float(lifetime) if lifetime and lifetime > 0 else DEFAULT_TOKEN_LIFETIME


class VoipNowSession:
    """Tokens for one App (client id and secret) and authorised requests under `api_path`
    (`/uapi` as documented; 4PSA's apps use `/unifiedapi`)."""

    vendor = Vendor.VOIPNOW

    def __init__(
        self,
        http: VendorHttp,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str = "",
        api_path: str = "/uapi",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.api_path = "/" + api_path.strip("/") if api_path.strip("/") else ""
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._tokens = TokenCache(self._fetch_token, clock=clock, vendor=http.vendor)
        self._issued = 0  # tokens fetched so far: tells a fresh token from a cached one

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self.http.request(
            "POST",
            TOKEN_PATH,
            form={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
                "type": "unifiedapi",
                "redirect_uri": self._redirect_uri,
            },
            # Asking for a token changes nothing, so it may be sent again after a drop.
            idempotent=True,
        )
        if 400 <= response.status < 500 and error_code(response) is not None:
            # [doc] a bad client is >= 400 {"error": "invalid_client"}. A 4xx without an
            # OAuth error (a 404 page) is a wrong token URL, not refused credentials.
            raise VendorUnauthenticated(
                f"{self.vendor.value} refused the client credentials "
                f"(HTTP {response.status}, {error_code(response)}).",
                vendor=self.vendor.value,
            )
        if response.status != 200:
            raise unexpected(response)
        body = response.json()
        token = _read.text(body, "access_token") if isinstance(body, dict) else None
        if not token:
            raise VendorUnavailable(
                f"{self.vendor.value} answered the token request without an access token.",
                vendor=self.vendor.value,
            )
        self._issued += 1
        return token, token_lifetime(body)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: JsonBody | None = None,
    ) -> VendorResponse:
        """Send `method` to `api_path + path` with the access token.

        A 401, or a 403 to a request that carried a cached token, means the token is no
        longer good: renew it once and resend. Resending is safe even for a PUT, POST or
        DELETE: a 401/403 is VoipNow refusing the request at the door, before it acts, so
        the command has not happened. (A request that may have acted — a lost connection,
        a timeout — is never resent: `VendorHttp` raises for those.) A 403 to a fresh token
        is FORBIDDEN; a second 401 is UNAUTHENTICATED."""
        for attempt in (1, 2):
            issued_before = self._issued
            token = await self._tokens.get()
            fresh = self._issued > issued_before
            response = await self.http.request(
                method,
                self.api_path + path,
                params=params,
                json_body=json_body,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status not in (401, 403):
                return response
            if response.status == 403 and (fresh or attempt == 2):
                raise VendorForbidden(
                    f"{self.vendor.value} forbids this App {method} {path}.",
                    vendor=self.vendor.value,
                )
            self._tokens.invalidate(token)
            if attempt == 1:
                logger.info(
                    "voipnow %s %s: access token refused (HTTP %d), renewing it once",
                    method,
                    path,
                    response.status,
                )
        raise VendorUnauthenticated(
            f"{self.vendor.value} refused a freshly issued access token.", vendor=self.vendor.value
        )
