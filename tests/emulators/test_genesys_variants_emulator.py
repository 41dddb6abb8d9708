"""The Genesys emulator's documented variants over HTTP (VENDORS.md §6): the 8.5.2 call
resource and statusCodes, and two Web Services nodes behind a sticky balancer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_cometd import call_notification
from app.emulators.genesys_store import DEMO_CALL_ID
from tests.conftest import EmulatorServer

AUTHORIZATION = aiohttp.encode_basic_auth(
    DEMO_CREDENTIALS["genesys"]["username"], DEMO_CREDENTIALS["genesys"]["password"]
)


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> GenesysEmulator:
    return emulator_server.emulator(GenesysEmulator)


@pytest.fixture
async def jarless() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps no cookies at all, as an application without a cookie store."""
    async with aiohttp.ClientSession(
        headers={"Authorization": AUTHORIZATION}, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        yield session


@pytest.fixture
async def jar() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        headers={"Authorization": AUTHORIZATION}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        yield session


async def test_852_serves_the_call_resource_of_the_852_revision(
    emulator_server: EmulatorServer, emulator: GenesysEmulator, jar: aiohttp.ClientSession
) -> None:
    emulator.select_variant("8.5.2")
    base = emulator_server.base_url("genesys")
    async with jar.get(f"{base}/api/v2/me/calls/{DEMO_CALL_ID}") as response:
        call: dict[str, Any] = (await response.json())["call"]
    # The keys of the CallResource:8.5.2 sample, in its order.
    assert list(call) == [
        "id",
        "connId",
        "state",
        "callUuid",
        "deviceUri",
        "uri",
        "participants",
        "participantsInfo",
        "dnis",
        "callType",
        "capabilities",
        "userData",
        "duration",
        "mute",
        "supervisorListeningIn",
        "monitoredUserMuted",
    ]
    assert call["participants"] == ["15001"]
    assert call["participantsInfo"] == [
        {"digits": "15001", "e164Number": "15001", "formattedPhoneNumber": "15001"}
    ]


def test_852_notifications_carry_extensions_and_metrics() -> None:
    data = call_notification({"id": "X"}, "8.5.2")
    assert data["extensions"] == {"WrapUpTime": 0, "BusinessCall": 0}
    assert set(data["metrics"]["eventProcessing"]) == {
        "nodeProcessingTimeNanos",
        "serverGenerationTimestamp",
        "serverProcessingTimeTotalMs",
    }
    assert "extensions" not in call_notification({"id": "X"}, "8.5.0")


async def test_852_answers_bad_credentials_with_status_code_20(
    emulator_server: EmulatorServer, emulator: GenesysEmulator
) -> None:
    emulator.select_variant("8.5.2")
    base = emulator_server.base_url("genesys")
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(f"{base}/api/v2/me/calls") as response,
    ):
        assert response.status == 401
        assert (await response.json())["statusCode"] == 20


async def test_refuse_next_answers_the_given_status_code(
    emulator_server: EmulatorServer, emulator: GenesysEmulator, jar: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    emulator.refuse_next(400, 15, "Unable to update resource error", method="GET")
    async with jar.get(f"{base}/api/v2/me/calls") as response:
        assert response.status == 400
        assert await response.json() == {
            "statusCode": 15,
            "statusMessage": "Unable to update resource error",
        }
    async with jar.get(f"{base}/api/v2/me/calls") as response:
        assert response.status == 200  # only the next one


async def post_hold(client: aiohttp.ClientSession, base: str, token: str) -> int:
    async with client.post(
        f"{base}/api/v2/me/calls/{DEMO_CALL_ID}",
        json={"operationName": "Hold"},
        headers={"X-CSRF-TOKEN": token},
    ) as response:
        return response.status


async def test_two_nodes_balancer_sets_affinity_and_routes_by_it(
    emulator_server: EmulatorServer, emulator: GenesysEmulator, jar: aiohttp.ClientSession
) -> None:
    emulator.select_variant("8.5.2-two-nodes")
    base = emulator_server.base_url("genesys")
    async with jar.get(f"{base}/api/v2/me/calls") as response:
        token = response.headers["X-CSRF-TOKEN"]
        cookies = response.headers.getall("Set-Cookie")
    assert any(c.startswith("AWSELB=") for c in cookies)
    assert any(c.startswith("JSESSIONID=node0") for c in cookies)
    assert await post_hold(jar, base, token) == 200
    assert emulator.nodes_seen == [0, 0]


async def test_two_nodes_a_client_without_cookies_lands_on_the_other_node(
    emulator_server: EmulatorServer, emulator: GenesysEmulator, jarless: aiohttp.ClientSession
) -> None:
    emulator.select_variant("8.5.2-two-nodes")
    base = emulator_server.base_url("genesys")
    async with jarless.get(f"{base}/api/v2/me/calls") as response:
        token = response.headers["X-CSRF-TOKEN"]
        session = response.cookies["JSESSIONID"].value
    # Even with the session cookie sent by hand, the POST without AWSELB goes to node 1,
    # which does not know node 0's session: the documented 403.
    async with jarless.post(
        f"{base}/api/v2/me/calls/{DEMO_CALL_ID}",
        json={"operationName": "Hold"},
        headers={"X-CSRF-TOKEN": token, "Cookie": f"JSESSIONID={session}"},
    ) as response:
        assert response.status == 403
        assert (await response.json())["statusMessage"] == "Missing or invalid Csrf token"
    assert emulator.nodes_seen == [0, 1]
