"""Verba Recording System adapter (VENDORS.md §3): recording lookups with GetCallID over
Verba's HTTP business API, behind a token from RequestToken."""

from __future__ import annotations

import base64
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from typing import TypedDict

from app.adapters import AdapterBase, FetchResult, RecordingQuery
from app.calls import CallId, CallState, Vendor, VerbaCall
from app.errors import BadUserInput, VendorForbidden, VendorUnauthenticated, VendorUnavailable
from app.vendors.http import TokenCache, VendorHttp, VendorResponse, concurrently

logger = logging.getLogger("switchboard.vendors.verba")

API_PATH = "/verba/api"
TOKEN_LIFETIME = 3600.0  # [doc] a token is valid for one hour

# The status a recording was found under; Verba itself knows no call state.
VERBA_STATES: Mapping[str, CallState] = {
    "ongoing": CallState.CONNECTED,
    "next": CallState.SCHEDULED,
    "last": CallState.ENDED,
}

# Verba answers failures in prose only; these are its texts for the two we act on.
_NOT_FOUND = re.compile(r"can ?not be found|not found", re.IGNORECASE)
_MORE_THAN_ONE = re.compile(r"more than (one|1)|multiple", re.IGNORECASE)


class VerbaApiReply(TypedDict):
    """A `<VerbaApi>` document: `<Response code type>` and the action's result elements."""

    code: str  # "0" success, "2" error
    type: str  # the action answered
    Token: str | None  # RequestToken
    CallID: str | None  # GetCallID
    ErrorMessage: str | None  # inside <Response> on code 2


def parse_reply(body: bytes) -> VerbaApiReply | None:
    """The XML answer as a `VerbaApiReply`, or None when the body is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    response = root.find("Response")
    if root.tag != "VerbaApi" or response is None:
        return None

    def text(path: str) -> str | None:
        found = root.findtext(path)
        return found.strip() if found is not None else None

    return {
        "code": response.get("code", "").strip(),
        "type": response.get("type", ""),
        "Token": text("Token"),
        "CallID": text("CallID"),
        # [guess] tolerate the message outside <Response> as well.
        "ErrorMessage": text(".//ErrorMessage"),
    }


def recording_from_reply(call_id: str, query: RecordingQuery) -> VerbaCall:
    """The recording GetCallID found: its state is the status it was asked and found under."""
    state, vendor_state = CallState.UNKNOWN, ",".join(query.statuses) or None
    if len(query.statuses) == 1:
        state = VERBA_STATES.get(query.statuses[0], CallState.UNKNOWN)
    return VerbaCall(
        call_id=CallId(Vendor.VERBA, call_id),
        state=state,
        vendor_state=vendor_state,
        verba_call_id=call_id,
        extension=query.extension,
        platform_call_id=query.platform_call_id,
        native_call_id=query.native_id,
    )


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
        # A header of our own: aiohttp 3.14 deprecates BasicAuth and `auth=`.
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._login = {"Authorization": f"Basic {credentials}"}
        self._secrets = (api_key, username, password, credentials)
        self._tokens = TokenCache(self._request_token, clock=clock)

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """Verba's HTTP API has no lookup by CallID, so this makes no request: each id is
        answered as a recording in an UNKNOWN state (use `find_recording` to find one)."""
        return [
            VerbaCall(
                call_id=CallId(Vendor.VERBA, native),
                state=CallState.UNKNOWN,
                vendor_state=None,
                verba_call_id=native,
            )
            for native in native_ids
        ]

    async def find_recording(self, query: RecordingQuery) -> VerbaCall | None:
        """GetCallID: the one recording matching `query`, or None when Verba finds none."""
        reply = await self._authorized("GetCallID", _search_parameters(query))
        if reply["code"] == "0":
            if not reply["CallID"]:
                raise self._unavailable("answered GetCallID without a CallID")
            return recording_from_reply(reply["CallID"], query)
        message = (reply["ErrorMessage"] or "").rstrip(".")
        if _NOT_FOUND.search(message):
            return None
        if _MORE_THAN_ONE.search(message):
            raise BadUserInput(
                "More than one Verba recording matches; narrow the query with a status, "
                "a platform call id or a native id.",
                vendor=self.vendor.value,
            )
        raise self._unavailable(f"could not look up the recording: {message or 'no reason given'}")

    async def find_recordings(
        self, extensions: Sequence[str], statuses: tuple[str, ...] = ("ongoing",)
    ) -> list[VerbaCall | BadUserInput | None]:
        """One concurrent GetCallID per distinct extension; results in `extensions` order.
        An extension Verba finds several records for gets its error in its own slot."""

        async def lookup(extension: str) -> VerbaCall | BadUserInput | None:
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

    async def _request_token(self) -> tuple[str, float]:
        response = await self._http.request(
            "GET",
            API_PATH,
            params={"action": "RequestToken", "apiKey": self._api_key},
            headers=self._login,
        )
        if response.status == 401:
            raise VendorUnauthenticated(
                "verba refused the API key or login (HTTP 401).", vendor=self.vendor.value
            )
        reply = self._reply(response, "RequestToken")
        if reply["code"] != "0" or not reply["Token"]:
            raise VendorUnauthenticated("verba issued no token.", vendor=self.vendor.value)
        return reply["Token"], TOKEN_LIFETIME

    async def _authorized(self, action: str, parameters: Mapping[str, str]) -> VerbaApiReply:
        """One action with the current token; on 401 one retry with a fresh token."""
        for attempt in (1, 2):
            token = await self._tokens.get()
            response = await self._http.request(
                "GET",
                API_PATH,
                params={"action": action, "apiKey": self._api_key, "token": token, **parameters},
            )
            if response.status != 401:
                return self._reply(response, action, token)
            self._tokens.invalidate(token)
            if attempt == 1:
                logger.info("verba %s: token refused (HTTP 401), fetching a new one", action)
        raise VendorUnauthenticated(
            f"verba refused a fresh token for {action} (HTTP 401).", vendor=self.vendor.value
        )

    def _reply(self, response: VendorResponse, action: str, token: str = "") -> VerbaApiReply:
        if response.status == 403:
            raise VendorForbidden(f"verba refused {action} (HTTP 403).", vendor=self.vendor.value)
        reply = parse_reply(response.body)
        # [guess] business errors come with HTTP 200; accept a Verba answer with any status.
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


def _search_parameters(query: RecordingQuery) -> dict[str, str]:
    """GetCallID's search parameters: only those the query gives."""
    unknown = [s for s in query.statuses if s not in VERBA_STATES]
    if unknown:
        raise BadUserInput(
            f"Unknown Verba status {unknown[0][:40]!r}: expected ongoing, next or last.",
            vendor=Vendor.VERBA.value,
        )
    if not (query.extension or query.platform_call_id or query.native_id):
        raise BadUserInput(
            "A Verba recording lookup needs an extension, a platform call id or a native id.",
            vendor=Vendor.VERBA.value,
        )
    wire = {
        "extension": query.extension,
        "status": ",".join(query.statuses),
        "platformCallID": query.platform_call_id,
        "nativeID": query.native_id,
    }
    return {name: value for name, value in wire.items() if value}
