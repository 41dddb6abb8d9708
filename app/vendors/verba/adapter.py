"""Verba Recording System adapter (VENDORS.md §3, §6): recordings looked up by CallID with
GetCallURL and by extension, status or call ids with GetCallID, over Verba's HTTP business
API, behind a token from RequestToken."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence

from app.adapters import AdapterBase, FetchResult, RecordingQuery
from app.calls import CallId, CallState, Vendor, VerbaCall
from app.errors import (
    BadUserInput,
    CallNotFound,
    SwitchboardError,
    VendorError,
    VendorForbidden,
    VendorUnauthenticated,
    VendorUnavailable,
)
from app.vendors.http import TokenCache, VendorHttp, VendorResponse, concurrently
from app.vendors.verba.search import recording_from_reply, search_parameters
from app.vendors.verba.wire import (
    VerbaApiReply,
    missing_roles,
    more_than_one,
    not_found,
    parse_reply,
    read,
    succeeded,
    token_refused,
)

logger = logging.getLogger("switchboard.vendors.verba")

API_PATH = "/verba/api"
TOKEN_LIFETIME = 3600.0  # [doc] "The security tokens' lifetime is 1 hour."
_CALL_ID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


class VerbaAdapter(AdapterBase):
    """`VendorAdapter` and `RecordingLookup` for Verba. Owns `http` and closes it."""

    vendor = Vendor.VERBA

    def __init__(
        self,
        http: VendorHttp,
        *,
        api_key: str,
        username: str,
        password: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._api_key = api_key
        # [doc] the login in a Basic Authorization header (API authentication page); a
        # header of our own: aiohttp 3.14 deprecates BasicAuth and `auth=`.
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._login = {"Authorization": f"Basic {credentials}"}
        self._secrets = (api_key, username, password, credentials)
        # What a recording URL must not carry; the user name is no secret (and may well be
        # part of a host name).
        self._url_secrets = (api_key, password, credentials)
        self._tokens = TokenCache(self._request_token, clock=clock, vendor=Vendor.VERBA)
        self._issued = ""  # the last token Verba issued, kept out of what we answer

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """GetCallURL by CallID, one request per id, concurrently: the recording with its
        URL, or `CallNotFound`. One token for the batch: if Verba issues none, the batch
        fails as a whole; any other failure is the one call's."""
        if not native_ids:
            return []
        await self._tokens.get()
        return await concurrently(self._fetch_one(native) for native in native_ids)

    async def _fetch_one(self, native: str) -> FetchResult:
        try:
            reply = await self._authorized("GetCallURL", {"callID": native})
        except VendorError as failed:
            return failed
        if succeeded(reply, "CallURL"):
            return VerbaCall(
                call_id=CallId(Vendor.VERBA, native),
                # GetCallURL says the recording exists, not whether it is still going on.
                state=CallState.UNKNOWN,
                vendor_state=None,
                verba_call_id=native,
                url=self._call_url(reply["CallURL"]),
            )
        message = reply["ErrorMessage"]
        if not_found(reply):
            return CallNotFound(f"verba has no recording {native}.", vendor=self.vendor.value)
        return self._unavailable(f"could not give the recording's URL: {_reason(message)}")

    def _call_url(self, url: str | None) -> str | None:
        """The recording's URL if it is an http(s) URL that carries none of our secrets."""
        if url is None:
            read.odd("CallURL", url, "a URL")
            return None
        if not url.lower().startswith(("http://", "https://")):
            read.odd("CallURL", url, "an http(s) URL")
            return None
        if any(secret and secret in url for secret in (*self._url_secrets, self._issued)):
            read.odd("CallURL", url, "a URL without credentials")
            return None
        return url

    async def find_recording(self, query: RecordingQuery) -> VerbaCall | None:
        """GetCallID: the one recording matching `query`, or None when Verba finds none."""
        reply = await self._authorized("GetCallID", search_parameters(query))
        if succeeded(reply, "CallID"):
            call_id = reply["CallID"]
            if call_id is None or _CALL_ID.fullmatch(call_id) is None:
                read.odd("CallID", call_id, "a uuid")
                raise self._unavailable("answered GetCallID without a usable CallID")
            return recording_from_reply(call_id.lower(), query)
        message = reply["ErrorMessage"]
        if not_found(reply):
            return None
        if more_than_one(reply):
            raise BadUserInput(
                "More than one Verba recording matches; narrow the query with a status, "
                "a platform call id or a native id.",
                vendor=self.vendor.value,
            )
        raise self._unavailable(f"could not look up the recording: {_reason(message)}")

    async def find_recordings(
        self, extensions: Sequence[str], statuses: tuple[str, ...] = ("ongoing",)
    ) -> list[VerbaCall | SwitchboardError | None]:
        """One concurrent GetCallID per distinct extension; results in `extensions` order.
        An extension Verba finds several records for gets its error in its own slot."""

        async def lookup(extension: str) -> VerbaCall | SwitchboardError | None:
            try:
                return await self.find_recording(
                    RecordingQuery(extension=extension, statuses=statuses)
                )
            except BadUserInput as ambiguous:
                return ambiguous

        distinct = list(dict.fromkeys(extensions))
        found = dict(zip(distinct, await concurrently(map(lookup, distinct)), strict=True))
        return [found[extension] for extension in extensions]

    async def close(self) -> None:
        await self._http.close()

    # -- wire -------------------------------------------------------------------------------

    def _params(self, action: str, **more: str) -> dict[str, str]:
        # [doc] responseType defaults to XML; said anyway, so no API key setting changes it.
        return {"action": action, "apiKey": self._api_key, "responseType": "XML", **more}

    async def _request_token(self) -> tuple[str, float]:
        response = await self._http.request(
            "GET", API_PATH, params=self._params("RequestToken"), headers=self._login
        )
        if response.status == 401:
            raise VendorUnauthenticated(
                "verba refused the API key or login (HTTP 401).", vendor=self.vendor.value
            )
        reply = self._reply(response, "RequestToken")
        if succeeded(reply, "Token") and reply["Token"]:
            self._issued = reply["Token"]
            return reply["Token"], TOKEN_LIFETIME
        message = reply["ErrorMessage"]
        if missing_roles(reply):
            raise VendorForbidden(
                "verba refused the API user: it needs the System Administrator and System "
                f"Supervisor roles ({_reason(message)}).",
                vendor=self.vendor.value,
            )
        raise VendorUnauthenticated(
            f"verba issued no token: {_reason(message)}", vendor=self.vendor.value
        )

    async def _authorized(self, action: str, parameters: Mapping[str, str]) -> VerbaApiReply:
        """One action with the current token. A refused token — HTTP 401, or in band:
        code 2 "This token is expired or never got authenticated." — is renewed once and
        the action sent once more; a fresh token refused again is UNAUTHENTICATED."""
        for attempt in (1, 2):
            token = await self._tokens.get()
            response = await self._http.request(
                "GET", API_PATH, params=self._params(action, token=token, **parameters)
            )
            how = "HTTP 401"
            if response.status != 401:
                reply = self._reply(response, action, token)
                if reply["code"] == "0" or not token_refused(reply):
                    return reply
                how = "in band"
            self._tokens.invalidate(token)
            if attempt == 1:
                logger.info("verba %s: token refused (%s), fetching a new one", action, how)
        raise VendorUnauthenticated(
            f"verba refused a fresh token for {action}.", vendor=self.vendor.value
        )

    def _reply(self, response: VendorResponse, action: str, token: str = "") -> VerbaApiReply:
        reply = parse_reply(response.body)
        if response.status == 403:
            said = reply["ErrorMessage"] if reply is not None else None
            reason = f": {_reason(self._redact(said, token))}" if said else ""
            raise VendorForbidden(
                f"verba refused {action} (HTTP 403){reason}.", vendor=self.vendor.value
            )
        # [doc] business errors come in band; accept a Verba answer with any status.
        if reply is None:
            raise self._unavailable(
                f"answered {action} with HTTP {response.status} and no Verba XML"
            )
        if reply["ErrorMessage"]:
            reply["ErrorMessage"] = self._redact(reply["ErrorMessage"], token)
        return reply

    def _redact(self, text: str, token: str) -> str:
        for secret in (*self._secrets, token):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _unavailable(self, what: str) -> VendorUnavailable:
        return VendorUnavailable(f"verba {what}.", vendor=self.vendor.value)


def _reason(message: str | None) -> str:
    return (message or "no reason given").rstrip(".")[:200]
