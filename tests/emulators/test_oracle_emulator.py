"""The Oracle Click-to-Call emulator's wire protocol, spoken to over loopback HTTP."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

from app.emulators.oracle import (
    DEMO_SESSION_ID,
    DEMO_TIME,
    OracleCallStore,
    OracleEmulator,
    OracleSession,
)
from tests.clock import ManualClock
from tests.conftest import EmulatorServer


@pytest.fixture
async def client(emulator_server: EmulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(emulator_server.base_url("oracle") + "/") as session:
        yield session


@pytest.fixture
def store(emulator_server: EmulatorServer) -> OracleCallStore:
    return emulator_server.emulator(OracleEmulator).calls


@pytest.fixture
def clock(store: OracleCallStore) -> ManualClock:
    clock = ManualClock(now=1_800_000_000.0)
    store.clock = clock
    return clock


async def status_of(client: aiohttp.ClientSession, session_id: str) -> dict[str, object]:
    async with client.get(f"call/2.0/{session_id}/status") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body: dict[str, object] = await response.json()
        return body


async def test_status_of_demo_call_is_connected(client: aiohttp.ClientSession) -> None:
    assert await status_of(client, DEMO_SESSION_ID) == {
        "sessionId": DEMO_SESSION_ID,
        "callState": "connected",
        "time": DEMO_TIME,
        "more": "yes",
        "hasChanged": "yes",
    }


async def test_status_unchanged_since_last_poll_says_maybe(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    await status_of(client, DEMO_SESSION_ID)
    second = await status_of(client, DEMO_SESSION_ID)
    store.set_state(DEMO_SESSION_ID, "disconnected")
    third = await status_of(client, DEMO_SESSION_ID)
    fourth = await status_of(client, DEMO_SESSION_ID)

    assert (second["more"], second["hasChanged"]) == ("maybe", "no")
    assert (third["callState"], third["more"], third["hasChanged"]) == ("disconnected", "no", "yes")
    assert (fourth["more"], fourth["hasChanged"]) == ("no", "no")


async def test_status_of_unknown_state_has_no_time(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    store.set_state(DEMO_SESSION_ID, "unknown")

    assert await status_of(client, DEMO_SESSION_ID) == {
        "sessionId": DEMO_SESSION_ID,
        "callState": "unknown",
        "more": "maybe",
        "hasChanged": "yes",
    }


async def test_status_quirk_sends_lowercase_key_and_string_times(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    clock.now = 1343129570
    store.add(
        OracleSession(
            session_id="QuirkySession01",
            contact_id="c2c",
            user_phone="+15550000001",
            call_state="scheduled",
            time=1343129570,
            scheduled_time=1343129630,
            quirky_status=True,
        )
    )

    assert await status_of(client, "QuirkySession01") == {
        "sessionid": "QuirkySession01",
        "callState": "scheduled",
        "time": " 1343129570",
        "scheduledTime": " 1343129630",
        "more": "yes",
        "hasChanged": "yes",
    }


async def test_start_returns_a_session_that_is_initiated(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    async with client.post("call/2.0/sales-callback/+15551230000") as response:
        assert response.status == 200
        session_id = (await response.json())["sessionId"]

    assert await status_of(client, session_id) == {
        "sessionId": session_id,
        "callState": "initiated",
        "time": 1_800_000_000,
        "more": "yes",
        "hasChanged": "yes",
    }
    session = store.get(session_id)
    assert session is not None
    assert (session.contact_id, session.user_phone) == ("sales-callback", "+15551230000")


async def test_start_with_delay_is_scheduled_until_its_time(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    options = {"delay": 30, "userExtension": "204", "visitorContext": {"page": "pricing"}}
    async with client.post("call/2.0/sales-callback/+15551230000", json=options) as response:
        session_id = (await response.json())["sessionId"]

    scheduled = await status_of(client, session_id)
    clock.advance(30)
    started = await status_of(client, session_id)

    assert scheduled == {
        "sessionId": session_id,
        "callState": "scheduled",
        "time": 1_800_000_000,
        "scheduledTime": 1_800_000_030,
        "more": "yes",
        "hasChanged": "yes",
    }
    assert (started["callState"], started["time"], started["hasChanged"]) == (
        "initiated",
        1_800_000_030,
        "yes",
    )
    assert "scheduledTime" not in started
    session = store.get(session_id)
    assert session is not None
    assert (session.user_extension, session.visitor_context) == ("204", {"page": "pricing"})


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("call/2.0/c2c/5551230000", None, "userPhone must be in E.164 format."),
        ("call/2.0/c2c/+15551230000", b"{not json", "the body is not JSON."),
        ("call/2.0/c2c/+15551230000", b"[1]", "the body must be a JSON object."),
        ("call/2.0/c2c/+15551230000", b'{"delay": -5}', "delay must be a whole number"),
        ("call/2.0/c2c/+15551230000", b'{"delay": "5"}', "delay must be a whole number"),
        ("call/2.0/c2c/+15551230000", b'{"userExtension": 204}', "userExtension must be"),
        ("call/2.0/c2c/+15551230000", b'{"visitorContext": "x"}', "visitorContext must be"),
    ],
)
async def test_start_with_bad_parameters_is_400_plain_text(
    client: aiohttp.ClientSession, path: str, body: bytes | None, reason: str
) -> None:
    async with client.post(path, data=body) as response:
        assert response.status == 400
        assert response.content_type == "text/plain"
        text = await response.text()

    assert text.startswith("Invalid request parameters: ")
    assert reason in text


async def test_end_answers_ended_and_then_403(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    async with client.delete(f"call/2.0/{DEMO_SESSION_ID}") as response:
        assert response.status == 200
        assert await response.read() == b'{"callState":"ended"}'
    async with client.delete(f"call/2.0/{DEMO_SESSION_ID}") as response:
        assert response.status == 403
        assert await response.text() == "The call has already ended."

    assert (await status_of(client, DEMO_SESSION_ID))["callState"] == "disconnected"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "call/2.0/NoSuchSession/status"), ("DELETE", "call/2.0/NoSuchSession")],
)
async def test_unknown_session_is_404_not_found(
    client: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with client.request(method, path) as response:
        assert (response.status, response.reason) == (404, "Not Found")
        assert await response.text() == "Call session does not exist."


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "call/2.0/bad$id/status"), ("DELETE", "call/2.0/bad$id")]
)
async def test_malformed_session_id_is_400(
    client: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with client.request(method, path) as response:
        assert response.status == 400
        assert await response.text() == "Invalid request parameters: sessionId."


@pytest.mark.parametrize("path", ["call/1.0/x/status", "call/2.0/a/b/c/d", "status"])
async def test_invalid_path_is_404_bad_request(client: aiohttp.ClientSession, path: str) -> None:
    async with client.get(path) as response:
        assert (response.status, response.reason) == (404, "Bad Request")
        assert await response.text() == "Invalid URI path."


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", f"call/2.0/{DEMO_SESSION_ID}/status", "GET"),
        ("GET", f"call/2.0/{DEMO_SESSION_ID}", "DELETE"),
        ("GET", "call/2.0/c2c/+15551230000", "POST"),
    ],
)
async def test_wrong_method_is_405(
    client: aiohttp.ClientSession, method: str, path: str, allowed: str
) -> None:
    async with client.request(method, path) as response:
        assert response.status == 405
        assert response.headers["Allow"] == allowed
        assert await response.text() == "Use of an invalid HTTP method."


@pytest.mark.parametrize("seed", range(6))
async def test_simulate_call_reaches_disconnected(
    emulator_server: EmulatorServer, seed: int
) -> None:
    emulator = emulator_server.emulator(OracleEmulator)
    before = {s.session_id for s in emulator.calls.sessions()}

    await emulator.simulate_call(random.Random(seed), pace=0.001)

    (simulated,) = [s for s in emulator.calls.sessions() if s.session_id not in before]
    assert simulated.call_state == "disconnected"
    assert simulated.time is not None


async def test_simulate_call_stops_when_hung_up(emulator_server: EmulatorServer) -> None:
    emulator = emulator_server.emulator(OracleEmulator)
    running = asyncio.create_task(emulator.simulate_call(random.Random(1), pace=0.001))
    await asyncio.sleep(0)  # the simulator has started its call and waits for the next step
    simulated = emulator.calls.sessions()[-1]
    emulator.calls.end(simulated.session_id)
    changes = simulated.changes

    await running

    assert (simulated.call_state, simulated.changes) == ("disconnected", changes)
