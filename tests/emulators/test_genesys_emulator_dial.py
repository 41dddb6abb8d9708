"""The Genesys emulator's devices and Dial, and operations accepted but never carried out,
spoken to directly with aiohttp over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_store import DEMO_CALL_ID, DEVICE_ID, GenesysCallStore
from tests.conftest import EmulatorServer
from tests.emulators.test_genesys_emulator import (
    AUTHORIZATION,
    CSRF_REFUSAL,
    NOT_FOUND,
    SEED_CALL,
    Session,
    next_state,
    open_session,
    operate,
)


@pytest.fixture
def store(emulator_server: EmulatorServer) -> GenesysCallStore:
    return emulator_server.emulator(GenesysEmulator).store


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """Sends the demo credentials; cookies are sent by hand, so each test says what it sends."""
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), headers={"Authorization": AUTHORIZATION}
    ) as session:
        yield session


# -- devices and Dial ---------------------------------------------------------------------


async def dial(
    client: aiohttp.ClientSession,
    base: str,
    session: Session,
    body: dict[str, Any],
    device_id: str = DEVICE_ID,
) -> tuple[int, Any]:
    async with client.post(
        f"{base}/api/v2/me/devices/{device_id}/calls", json=body, headers=session.headers
    ) as response:
        return response.status, await response.json()


def dial_body(number: str, **extra: Any) -> dict[str, Any]:
    return {"operationName": "Dial", "destination": {"phoneNumber": number}, **extra}


async def list_calls(client: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    async with client.get(f"{base}/api/v2/me/calls") as response:
        calls: list[dict[str, Any]] = (await response.json())["calls"]
        return calls


async def test_get_devices_lists_the_agents_device(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    async with client.get(f"{base}/api/v2/me/devices") as response:
        assert response.status == 200
        assert response.headers["X-CSRF-HEADER"] == "X-CSRF-TOKEN"
        body = await response.json()
    assert body == {
        "statusCode": 0,
        "devices": [{"id": DEVICE_ID, "deviceState": "Active", "phoneNumber": "15000"}],
    }
    assert SEED_CALL["deviceUri"].endswith(f"/devices/{DEVICE_ID}")


async def test_dial_creates_a_dialing_call_that_is_answered_later(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    changes: list[dict[str, Any]] = []
    store.add_listener(changes.append)

    body = dial_body("5001", userData={"ticket": "T-1"})
    assert await dial(client, base, session, body) == (200, {"statusCode": 0})
    [created] = changes
    assert created["state"] == "Dialing"
    assert created["capabilities"] == ["Hangup"]
    assert created["dnis"] == "5001"
    assert created["callType"] == "Internal"
    assert created["participants"] == [
        {"e164Number": "", "formattedPhoneNumber": "5001", "phoneNumber": "5001", "digits": "5001"}
    ]
    assert created["userData"] == {"ticket": "T-1"}
    assert created["deviceUri"] == SEED_CALL["deviceUri"]
    assert list(created) == list(SEED_CALL)
    assert created in (await list_calls(client, base))

    established = await next_state(store, created["id"], "Established")
    assert established["userData"] == {"ticket": "T-1"}
    assert [(c["id"], c["state"]) for c in changes] == [
        (created["id"], "Dialing"),
        (created["id"], "Established"),
    ]


async def test_dial_to_an_outside_number_is_outbound(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    assert await dial(client, base, session, dial_body("+14155550123")) == (
        200,
        {"statusCode": 0},
    )
    [call] = [c for c in store.current_calls() if c["id"] != DEMO_CALL_ID]
    assert call["callType"] == "Outbound"
    assert call["dnis"] == "+14155550123"
    assert call["participants"][0]["digits"] == "14155550123"
    assert call["userData"] == {}


@pytest.mark.parametrize(
    ("send_cookie", "send_token"),
    [(False, False), (True, False), (False, True)],
    ids=["nothing", "cookie-only", "token-only"],
)
async def test_dial_without_session_and_csrf_token_is_403(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    send_cookie: bool,
    send_token: bool,
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    headers = {
        name: value
        for name, value in session.headers.items()
        if (name == "Cookie" and send_cookie) or (name == "X-CSRF-TOKEN" and send_token)
    }
    async with client.post(
        f"{base}/api/v2/me/devices/{DEVICE_ID}/calls", json=dial_body("5001"), headers=headers
    ) as response:
        assert response.status == 403
        assert await response.json() == CSRF_REFUSAL
    assert [c["id"] for c in store.current_calls()] == [DEMO_CALL_ID]


async def test_dial_from_an_unknown_device_is_404_with_status_6(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    status, body = await dial(client, base, session, dial_body("5001"), device_id="no-device")
    assert status == 404
    assert body == {"statusCode": 6, "statusMessage": "Device not found"}
    assert [c["id"] for c in store.current_calls()] == [DEMO_CALL_ID]


@pytest.mark.parametrize(
    "body",
    [
        {"operationName": "Dial"},
        {"operationName": "Dial", "destination": {}},
        {"operationName": "Dial", "destination": {"phoneNumber": ""}},
        {"operationName": "Dial", "destination": {"phoneNumber": 5001}},
        {"operationName": "Dial", "destination": "5001"},
        {"destination": {"phoneNumber": "5001"}},
        dial_body("5001", userData=["not", "an", "object"]),
    ],
    ids=[
        "no-destination",
        "no-number",
        "blank-number",
        "number-not-text",
        "destination-not-object",
        "no-operation",
        "user-data-not-object",
    ],
)
async def test_dial_without_a_required_parameter_is_400_with_status_1(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    body: dict[str, Any],
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    status, answer = await dial(client, base, session, body)
    assert status == 400
    assert answer["statusCode"] == 1
    assert answer["statusMessage"].startswith("Missing required parameter")
    assert [c["id"] for c in store.current_calls()] == [DEMO_CALL_ID]


async def test_dial_from_an_inactive_device_is_400_with_status_2(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    store.remove_device(DEVICE_ID)
    inactive = store.add_device(state="Inactive")["id"]
    session = await open_session(client, base)
    status, answer = await dial(client, base, session, dial_body("5001"), device_id=inactive)
    assert (status, answer["statusCode"]) == (400, 2)
    status, answer = await dial(client, base, session, dial_body("5001"))
    assert (status, answer["statusCode"]) == (404, 6)
    async with client.get(f"{base}/api/v2/me/devices") as response:
        devices = (await response.json())["devices"]
    assert [(d["id"], d["deviceState"]) for d in devices] == [(inactive, "Inactive")]


async def test_other_operation_on_a_device_is_400_with_status_2(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    status, answer = await dial(client, base, session, {"operationName": "Hold"})
    assert (status, answer["statusCode"]) == (400, 2)


# -- operations that are accepted and never carried out ------------------------------------


async def test_apply_operations_off_acknowledges_without_changing_the_call(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    store.transition_delay = 0.01
    control_call = store.add_call(state="Established")["id"]
    session = await open_session(client, base)

    store.apply_operations = False
    assert await operate(client, base, session, DEMO_CALL_ID, "Hold") == (200, {"statusCode": 0})
    assert await dial(client, base, session, dial_body("5001")) == (200, {"statusCode": 0})
    store.apply_operations = True
    # Transitions fire in the order they were asked for: once this later one has, the
    # unapplied Hold would have too.
    held = asyncio.ensure_future(next_state(store, control_call, "Held"))
    await asyncio.sleep(0)
    assert await operate(client, base, session, control_call, "Hold") == (200, {"statusCode": 0})
    await held

    assert store.get(DEMO_CALL_ID) == SEED_CALL
    assert {c["id"] for c in store.current_calls()} == {DEMO_CALL_ID, control_call}


async def test_apply_operations_off_still_refuses_invalid_operations(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    store.apply_operations = False
    session = await open_session(client, base)
    status, body = await operate(client, base, session, DEMO_CALL_ID, "Retrieve")
    assert (status, body["statusCode"]) == (400, 2)
    assert await operate(client, base, session, "NOSUCHCALL", "Hold") == (404, NOT_FOUND)
    status, body = await dial(client, base, session, {"operationName": "Dial"})
    assert (status, body["statusCode"]) == (400, 1)
