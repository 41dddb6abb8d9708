"""GWS call notifications as snapshots: a CometD (Bayeux 1.0) client of the
notifications servlet, subscribed to `/v2/me/calls`, on the adapter's HTTP session.

The stream never dies of a message: one it cannot map (an odd call, an unknown message
type such as DeviceStateChangeMessage, a payload in no known shape) is logged and skipped,
and later messages are still delivered. It ends only for what it cannot recover from:
rejected credentials, notifications refused on a fresh session, or GWS advising never to
reconnect (`BayeuxTerminated`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from app.calls import GenesysCall
from app.errors import VendorForbidden, VendorTimeout, VendorUnauthenticated, VendorUnavailable
from app.vendors.cometd import BayeuxClient, Subscribed
from app.vendors.genesys.mapping import changed_call
from app.vendors.genesys.session import SESSION_COOKIE, VENDOR, GenesysSession
from app.vendors.http import VendorResponse

logger = logging.getLogger("switchboard.vendors")

# GWS's CometD servlet, as Genesys's own sample client addresses it
# (ErnestoGarciaGenesys/GenesysWebServicesClient, GenesysEventReceiver.cs:
# `ServerUri + "/api/v2/notifications"`); the channels and messages are documented
# (docs.genesys.com Documentation/HTCC/latest/API/CallsMessageType).
NOTIFICATIONS_PATH = "/api/v2/notifications"
CALLS_CHANNEL = "/v2/me/calls"


async def call_events(
    session: GenesysSession,
    calls_now: Callable[[], Awaitable[list[GenesysCall]]],
    *,
    token_path: str,
) -> AsyncGenerator[GenesysCall, None]:
    """Every change of the agent's calls until cancelled; on each (re)subscription the
    calls `calls_now` lists come first, since changes while unsubscribed were not pushed."""
    sent_epoch, sent_session = session.epoch, session.http.cookie(SESSION_COOKIE)
    refused = False  # the last notification request was refused (401/403)

    async def headers() -> dict[str, str]:
        nonlocal sent_epoch, sent_session
        # [guess] the CSRF filter covers the CometD servlet too: send the token.
        await session.ensure_token(token_path, "opening call notifications")
        sent_epoch, sent_session = session.epoch, session.http.cookie(SESSION_COOKIE)
        return session.headers("POST")

    def answered(response: VendorResponse) -> None:
        nonlocal refused
        session.learn(response)
        if response.status not in (401, 403):
            refused = False
            return
        if refused:
            if response.status == 401:
                raise VendorUnauthenticated(
                    "genesys rejected the configured credentials (HTTP 401).", vendor=VENDOR
                )
            raise VendorForbidden("genesys refused call notifications (HTTP 403).", vendor=VENDOR)
        refused = True
        # The session is gone (expired, or another node answered): start a new one; the
        # client id dies with it, so the Bayeux client handshakes again (402).
        session.give_up(sent_epoch, sent_session)

    client = BayeuxClient(
        session.http, NOTIFICATIONS_PATH, CALLS_CHANNEL, headers=headers, on_response=answered
    )
    async with contextlib.aclosing(client.messages()) as messages:
        async for message in messages:
            if isinstance(message, Subscribed):
                for call in await _catch_up(calls_now):
                    yield call
                continue
            changed = _mapped(message)
            if changed is not None:
                yield changed


def _mapped(data: Mapping[str, Any]) -> GenesysCall | None:
    try:
        return changed_call(data)
    except Exception as failed:  # the stream outlives any one message
        # The reason only: the payload holds phone numbers and user data.
        call = data.get("call")
        call_id = call.get("id") if isinstance(call, Mapping) else None
        logger.warning(
            "genesys push: could not map a notification (call %r: %s); skipped",
            call_id if isinstance(call_id, str) else None,
            type(failed).__name__,
        )
        return None


async def _catch_up(calls_now: Callable[[], Awaitable[list[GenesysCall]]]) -> list[GenesysCall]:
    """The listed calls, to catch up after a (re)subscription; none if GWS fails now."""
    try:
        return await calls_now()
    except (VendorUnavailable, VendorTimeout) as failed:
        logger.info("genesys push: could not list calls to catch up: %s", failed.message)
        return []
