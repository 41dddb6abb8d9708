"""The Verba adapter's tokens against the emulator, in each variant: a refused token is
renewed once — whether Verba says so in band (HTTP 200, code 2, "This token is expired or
never got authenticated.") or with HTTP 401 — and a fresh token refused again is
UNAUTHENTICATED; a login without the two roles is FORBIDDEN."""

from __future__ import annotations

import pytest

from app.adapters import RecordingQuery
from app.calls import Vendor, VerbaCall
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.verba import DEMO_CALL_ID, VerbaEmulator
from app.errors import CallNotFound, VendorForbidden, VendorUnauthenticated
from app.vendors.verba import VerbaAdapter
from tests.conftest import EmulatorServer, VendorHttpFactory

CREDENTIALS = DEMO_CREDENTIALS["verba"]
REFUSING_VARIANTS = ["in-band", "http-401", "numbered-codes"]


@pytest.fixture
def verba(emulator_server: EmulatorServer) -> VerbaEmulator:
    return emulator_server.emulator(VerbaEmulator)


def make_adapter(
    vendor_http: VendorHttpFactory, *, username: str | None = None, password: str | None = None
) -> VerbaAdapter:
    return VerbaAdapter(
        vendor_http(Vendor.VERBA),
        api_key=CREDENTIALS["api_key"],
        username=username or CREDENTIALS["username"],
        password=password or CREDENTIALS["password"],
    )


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> VerbaAdapter:
    return make_adapter(vendor_http)


@pytest.mark.parametrize("variant", REFUSING_VARIANTS)
async def test_expired_token_is_renewed_once_and_the_lookup_resent(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, verba: VerbaEmulator, variant: str
) -> None:
    verba.select_variant(variant)
    query = RecordingQuery(extension="8856")
    await adapter.find_recording(query)

    emulator_server.control.expire_tokens("verba")
    found = await adapter.find_recording(query)

    assert found is not None
    assert found.verba_call_id == DEMO_CALL_ID
    # One refused GetCallID, one new token, one resent GetCallID.
    assert verba.action_counts == {"RequestToken": 2, "GetCallID": 3}


@pytest.mark.parametrize("variant", REFUSING_VARIANTS)
async def test_expired_token_is_renewed_for_get_call_url_too(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, verba: VerbaEmulator, variant: str
) -> None:
    verba.select_variant(variant)
    await adapter.fetch_many([DEMO_CALL_ID])

    emulator_server.control.expire_tokens("verba")
    [found] = await adapter.fetch_many([DEMO_CALL_ID])

    assert isinstance(found, VerbaCall)
    assert found.url is not None
    assert verba.action_counts == {"RequestToken": 2, "GetCallURL": 3}


@pytest.mark.parametrize("variant", REFUSING_VARIANTS)
async def test_fresh_token_refused_again_is_unauthenticated(
    adapter: VerbaAdapter, verba: VerbaEmulator, variant: str
) -> None:
    verba.select_variant(variant)
    verba.token_lifetime = 0.0  # every token is expired as soon as it is issued

    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.find_recording(RecordingQuery(extension="8856"))

    assert caught.value.vendor == "verba"
    assert caught.value.code == "UNAUTHENTICATED"
    # Renewed once only: never a third token, never a third lookup.
    assert verba.action_counts == {"RequestToken": 2, "GetCallID": 2}


async def test_fresh_token_refused_again_fails_that_call_only_in_a_batch(
    adapter: VerbaAdapter, verba: VerbaEmulator
) -> None:
    verba.token_lifetime = 0.0

    results = await adapter.fetch_many([DEMO_CALL_ID])

    assert len(results) == 1
    assert isinstance(results[0], VendorUnauthenticated)
    assert not isinstance(results[0], CallNotFound)


@pytest.mark.parametrize("variant", REFUSING_VARIANTS)
async def test_bad_login_is_unauthenticated_without_a_retry(
    vendor_http: VendorHttpFactory, verba: VerbaEmulator, variant: str
) -> None:
    verba.select_variant(variant)
    adapter = make_adapter(vendor_http, password="not-the-password")

    with pytest.raises(VendorUnauthenticated) as caught:
        await adapter.find_recording(RecordingQuery(extension="8856"))

    assert "not-the-password" not in str(caught.value)
    assert verba.action_counts == {"RequestToken": 1}


@pytest.mark.parametrize("variant", REFUSING_VARIANTS)
async def test_user_without_both_roles_is_forbidden(
    vendor_http: VendorHttpFactory, verba: VerbaEmulator, variant: str
) -> None:
    # [doc] "The provided user has to have System Administrator and System Supervisor roles."
    verba.select_variant(variant)
    verba.add_user("supervisor", "supervisor-pw", frozenset({"System Supervisor"}))
    adapter = make_adapter(vendor_http, username="supervisor", password="supervisor-pw")

    with pytest.raises(VendorForbidden) as caught:
        await adapter.find_recording(RecordingQuery(extension="8856"))

    assert caught.value.code == "FORBIDDEN"
    assert "System Administrator" in caught.value.message
    assert verba.action_counts == {"RequestToken": 1}


async def test_user_with_both_roles_among_others_gets_a_token(
    vendor_http: VendorHttpFactory, verba: VerbaEmulator
) -> None:
    roles = frozenset({"System Administrator", "System Supervisor", "Auditor"})
    verba.add_user("admin", "admin-pw", roles)
    adapter = make_adapter(vendor_http, username="admin", password="admin-pw")

    assert await adapter.find_recording(RecordingQuery(extension="8856")) is not None


async def test_api_key_only_deployment_answers_without_a_valid_token(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.select_variant("api-key-only")
    await adapter.find_recording(RecordingQuery(extension="8856"))

    emulator_server.control.expire_tokens("verba")
    found = await adapter.find_recording(RecordingQuery(extension="8856"))

    assert found is not None
    assert verba.action_counts == {"RequestToken": 1, "GetCallID": 2}
