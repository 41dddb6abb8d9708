"""The VoipNow session: OAuth tokens, and the renewal rule for a refused token — 401 (seed
003) or 403 (4psa/app-click2conf request.php, 4psa/app-facebookcallme plib/lib.php renew
and resend on STATUS_FORBIDDEN) — against the emulator's variants over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from app.calls import CallState, Capability, VoipNowCall
from app.emulators.voipnow import VoipNowEmulator
from app.emulators.voipnow_store import DEMO_CALL_ID, PhoneCallStore
from app.errors import VendorForbidden, VendorUnauthenticated
from app.vendors.voipnow.session import DEFAULT_TOKEN_LIFETIME, token_lifetime
from tests.adapters import fetch_one
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory
from tests.vendors.voipnow_support import (
    DEMO,
    assert_no_secrets,
    make_adapter,
    requests_of,
    token_requests,
)


@pytest.fixture
def store(emulator_server: EmulatorServer) -> PhoneCallStore:
    return emulator_server.emulator(VoipNowEmulator).store


@pytest.mark.parametrize("variant", ["seed", "expired-403"])
async def test_expired_token_is_renewed_once_and_the_read_resent(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory, variant: str
) -> None:
    emulator_server.control.select_variant("voipnow", variant)
    adapter = make_adapter(vendor_http)
    await fetch_one(adapter, DEMO, VoipNowCall)
    emulator_server.control.expire_tokens("voipnow")
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    assert call.state is CallState.CONNECTED
    assert token_requests(emulator_server) == 2
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 3


async def test_expired_token_answered_403_is_renewed_and_the_hold_resent_once(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory, store: PhoneCallStore
) -> None:
    emulator_server.control.select_variant("voipnow", "expired-403")
    adapter = make_adapter(vendor_http)
    call = await fetch_one(adapter, DEMO, VoipNowCall)
    emulator_server.control.expire_tokens("voipnow")
    await adapter.perform(call, Capability.HOLD)
    # Refused at the door (403), then sent once more with the new token, and done once.
    assert len(requests_of(emulator_server, "PUT", "/uapi/")) == 2
    assert token_requests(emulator_server) == 2
    assert store.calls[DEMO_CALL_ID].views[0].on_hold is not None


async def test_403_to_a_fresh_token_is_forbidden_without_renewal(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory, store: PhoneCallStore
) -> None:
    emulator_server.control.select_variant("voipnow", "expired-403")
    store.forbidden_users.add("12")
    adapter = make_adapter(vendor_http)
    with pytest.raises(VendorForbidden) as caught:
        await adapter.fetch_many([DEMO])
    assert caught.value.vendor == "voipnow"
    assert token_requests(emulator_server) == 1
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 1
    assert_no_secrets(caught.value, emulator_server.emulator(VoipNowEmulator))


async def test_403_to_a_cached_token_renews_once_then_forbidden(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory, store: PhoneCallStore
) -> None:
    adapter = make_adapter(vendor_http)
    await fetch_one(adapter, DEMO, VoipNowCall)
    store.forbidden_users.add("12")
    with pytest.raises(VendorForbidden):
        await adapter.fetch_many([DEMO])
    # One renewal, one resend, then the fresh token's 403 stands: no loop.
    assert token_requests(emulator_server) == 2
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 3


@pytest.mark.parametrize(
    ("variant", "error", "tokens"),
    [
        # 401 renews once whatever the token; a second 401 is UNAUTHENTICATED.
        ("seed", VendorUnauthenticated, 2),
        # A 403 to a token issued for this very request is FORBIDDEN at once.
        ("expired-403", VendorForbidden, 1),
    ],
)
async def test_token_refused_again_after_renewal_is_an_error_not_a_loop(
    emulator_server: EmulatorServer,
    vendor_http: VendorHttpFactory,
    variant: str,
    error: type[Exception],
    tokens: int,
) -> None:
    emulator_server.control.select_variant("voipnow", variant)
    emulator = emulator_server.emulator(VoipNowEmulator)
    # Every reading of this clock is hours after the last: each token is expired by the
    # time it is first used.
    emulator.clock = ManualClock(step=4 * 3600)
    adapter = make_adapter(vendor_http)
    with pytest.raises(error) as caught:
        await adapter.fetch_many([DEMO])
    assert token_requests(emulator_server) == tokens
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == tokens
    assert_no_secrets(caught.value, emulator)


@pytest.mark.parametrize(("variant", "lifetime"), [("seed", 3600), ("token-2h", 7200)])
async def test_token_lives_as_long_as_expires_in_says(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory, variant: str, lifetime: int
) -> None:
    emulator_server.control.select_variant("voipnow", variant)
    emulator_clock, adapter_clock = ManualClock(), ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = emulator_clock
    adapter = make_adapter(vendor_http, clock=adapter_clock)
    await fetch_one(adapter, DEMO, VoipNowCall)
    for clock in (emulator_clock, adapter_clock):
        clock.advance(lifetime - 120)  # past half the lifetime, before the 30 s margin
    await fetch_one(adapter, DEMO, VoipNowCall)
    assert token_requests(emulator_server) == 1
    for clock in (emulator_clock, adapter_clock):
        clock.advance(100)  # inside the refresh margin: renewed before it is refused
    await fetch_one(adapter, DEMO, VoipNowCall)
    assert token_requests(emulator_server) == 2
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 3


@pytest.mark.parametrize(
    ("body", "lifetime"),
    [
        ({"access_token": "t", "expires_in": 3600}, 3600.0),  # [doc] a number
        ({"access_token": "t", "expires_in": 7200}, 7200.0),  # another revision: 2 h
        ({"access_token": "t", "expires_in": "3600"}, 3600.0),  # tolerated: a string
        ({"access_token": "t"}, DEFAULT_TOKEN_LIFETIME),
        ({"access_token": "t", "expires_in": "soon"}, DEFAULT_TOKEN_LIFETIME),
        ({"access_token": "t", "expires_in": 0}, DEFAULT_TOKEN_LIFETIME),
    ],
)
def test_token_lifetime_reads_expires_in(body: dict[str, Any], lifetime: float) -> None:
    assert token_lifetime(body) == lifetime


def test_default_token_lifetime_is_one_hour() -> None:
    assert DEFAULT_TOKEN_LIFETIME == 3600.0  # VENDORS.md §6: "Token lifetime 1 h"


async def test_bad_client_secret_is_unauthenticated_naming_invalid_client(
    emulator_server: EmulatorServer, vendor_http: VendorHttpFactory
) -> None:
    adapter = make_adapter(vendor_http, client_secret="not-the-secret")
    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.fetch_many([DEMO])
    assert "invalid_client" in caught.value.message
    assert "not-the-secret" not in str(caught.value)
    assert len(requests_of(emulator_server, "GET", "/uapi/")) == 0
