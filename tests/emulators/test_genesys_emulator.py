"""The Genesys emulator's protocol, spoken to directly with aiohttp over loopback HTTP."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_store import CAPABILITIES, DEMO_CALL_ID, GenesysCallStore
from tests.clock import ManualClock
from tests.conftest import EmulatorServer

AUTHORIZATION = aiohttp.encode_basic_auth(
    DEMO_CREDENTIALS["genesys"]["username"], DEMO_CREDENTIALS["genesys"]["password"]
)

# The seed's sample call resource, keys in the seed's order. Its URLs are data copied from the
# vendor page (host 127.0.0.1:8080 there); nothing binds that port.
SEED_CALL: dict[str, Any] = {
    "id": "01RCC3N118B1V0SL8O7GK2LAES000010",
    "state": "Established",
    "callUuid": "01RCC3N118B1V0SL8O7GK2LAES000010",
    "connId": "0071027198180020",
    "deviceUri": "http://127.0.0.1:8080/api/v2/devices/631608b3-ceb1-472b-ba05-2ae39555b0d1",
    "participants": [
        {
            "e164Number": "",
            "formattedPhoneNumber": "15001",
            "phoneNumber": "15001",
            "digits": "15001",
        }
    ],
    "dnis": "15001",
    "callType": "Internal",
    "capabilities": [
        "UpdateUserData",
        "SendDtmf",
        "InitiateConference",
        "Hold",
        "SingleStepTransfer",
        "InitiateTransfer",
        "AttachUserData",
        "DeleteUserDataPair",
        "SingleStepConference",
        "DeleteUserData",
        "Hangup",
        "StartCallRecording",
    ],
    "userData": {"AccountNumber": "12345678"},
    "duration": "7",
    "mute": "Off",
    "recordingState": "Stopped",
    "supervisorListeningIn": False,
    "monitoredUserMuted": False,
    "monitoring": False,
    "uri": "http://127.0.0.1:8080/api/v2/me/calls/01RCC3N118B1V0SL8O7GK2LAES000010",
    "path": "/calls/01RCC3N118B1V0SL8O7GK2LAES000010",
}
HELD_CAPABILITIES = [
    "Retrieve",
    "Hangup",
    "UpdateUserData",
    "AttachUserData",
    "DeleteUserDataPair",
    "DeleteUserData",
    "SendDtmf",
]
CSRF_REFUSAL = {"statusCode": 3, "statusMessage": "Missing or invalid Csrf token"}
NOT_FOUND = {"statusCode": 6, "statusMessage": "Call not found"}


@pytest.fixture
def store(emulator_server: EmulatorServer) -> GenesysCallStore:
    return emulator_server.emulator(GenesysEmulator).store


@pytest.fixture
def clock(store: GenesysCallStore) -> ManualClock:
    # A whole number, so that moving it by whole seconds gives exact durations.
    clock = ManualClock(now=float(int(time.monotonic())))
    store.clock = clock
    return clock


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """Sends the demo credentials; cookies are sent by hand, so each test says what it sends."""
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), headers={"Authorization": AUTHORIZATION}
    ) as session:
        yield session


class Session:
    """A JSESSIONID and its CSRF token, learnt from one authenticated GET."""

    def __init__(self, cookie: str, csrf_token: str) -> None:
        self.cookie = cookie
        self.csrf_token = csrf_token

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"JSESSIONID={self.cookie}", "X-CSRF-TOKEN": self.csrf_token}


async def open_session(client: aiohttp.ClientSession, base: str) -> Session:
    async with client.get(f"{base}/api/v2/me/calls") as response:
        assert response.status == 200
        cookie = response.headers["Set-Cookie"].split(";")[0].removeprefix("JSESSIONID=")
        return Session(cookie, response.headers["X-CSRF-TOKEN"])


async def operate(
    client: aiohttp.ClientSession, base: str, session: Session, call_id: str, operation: str
) -> tuple[int, Any]:
    async with client.post(
        f"{base}/api/v2/me/calls/{call_id}",
        json={"operationName": operation},
        headers=session.headers,
    ) as response:
        return response.status, await response.json()


async def next_state(store: GenesysCallStore, call_id: str, state: str) -> dict[str, Any]:
    """Wait (bounded) until the store tells its listeners that the call reached `state`."""
    reached: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def listen(call: dict[str, Any]) -> None:
        if call["id"] == call_id and call["state"] == state and not reached.done():
            reached.set_result(call)

    store.add_listener(listen)
    try:
        return await asyncio.wait_for(reached, timeout=5)
    finally:
        store.remove_listener(listen)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": aiohttp.encode_basic_auth("agent15000", "wrong-password")},
        {"Authorization": aiohttp.encode_basic_auth("someone", "genesys-demo-password")},
        {"Authorization": "Bearer genesys-demo-password"},
    ],
    ids=["no-credentials", "wrong-password", "wrong-user", "not-basic"],
)
async def test_request_without_valid_basic_auth_is_401(
    emulator_server: EmulatorServer, headers: dict[str, str]
) -> None:
    base = emulator_server.base_url("genesys")
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(f"{base}/api/v2/me/calls", headers=headers) as response,
    ):
        assert response.status == 401
        assert await response.json() == {"statusCode": 3, "statusMessage": "Unauthorized"}
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert "Set-Cookie" not in response.headers
        assert "X-CSRF-TOKEN" not in response.headers


async def test_first_get_opens_session_with_cookie_and_csrf_headers(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    async with client.get(f"{base}/api/v2/me/calls") as response:
        assert response.status == 200
        assert re.fullmatch(
            # Jetty's session ids carry the node's worker name (VENDORS.md §6).
            r"JSESSIONID=node0[0-9a-z]+\.node0; Path=/; HttpOnly",
            response.headers["Set-Cookie"],
        )
        assert response.headers["X-CSRF-HEADER"] == "X-CSRF-TOKEN"
        # A uuid, as the CSRFProtection page's "4a92be65-ec55-4aa2-b9df-9518fd870f2f".
        assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["X-CSRF-TOKEN"])


async def test_get_with_session_cookie_keeps_session_and_token(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    url = f"{base}/api/v2/me/calls/{DEMO_CALL_ID}"
    headers = {"Cookie": f"JSESSIONID={session.cookie}"}
    async with client.get(url, headers=headers) as response:
        assert response.status == 200
        assert "Set-Cookie" not in response.headers
        assert response.headers["X-CSRF-TOKEN"] == session.csrf_token
    assert store.session_count == 1


async def test_list_calls_serves_the_seed_call_byte_for_byte(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    async with client.get(f"{base}/api/v2/me/calls") as response:
        assert response.content_type == "application/json"
        text = await response.text()
    assert text.startswith('{"statusCode":0,"calls":[{"id":"01RCC3N118B1V0SL8O7GK2LAES000010",')
    body = await response.json()
    assert body == {"statusCode": 0, "calls": [SEED_CALL]}
    assert list(body["calls"][0]) == list(SEED_CALL)


async def test_get_call_serves_the_seed_call(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    async with client.get(f"{base}/api/v2/me/calls/{DEMO_CALL_ID}") as response:
        assert response.status == 200
        body = await response.json()
    assert body == {"statusCode": 0, "call": SEED_CALL}
    assert list(body["call"]) == list(SEED_CALL)


async def test_get_unknown_call_is_404_with_status_6(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    async with client.get(f"{base}/api/v2/me/calls/NOSUCHCALL") as response:
        assert response.status == 404
        assert await response.json() == NOT_FOUND
        assert response.headers["X-CSRF-HEADER"] == "X-CSRF-TOKEN"


@pytest.mark.parametrize(
    ("send_cookie", "send_token"),
    [(False, None), (True, None), (True, "not-the-token"), (False, "session-token")],
    ids=["nothing", "cookie-only", "wrong-token", "token-without-cookie"],
)
async def test_post_without_session_and_matching_csrf_token_is_403(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    send_cookie: bool,
    send_token: str | None,
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    headers: dict[str, str] = {}
    if send_cookie:
        headers["Cookie"] = f"JSESSIONID={session.cookie}"
    if send_token is not None:
        headers["X-CSRF-TOKEN"] = (
            session.csrf_token if send_token == "session-token" else send_token
        )
    async with client.post(
        f"{base}/api/v2/me/calls/{DEMO_CALL_ID}",
        json={"operationName": "Hold"},
        headers=headers,
    ) as response:
        assert response.status == 403
        assert await response.json() == CSRF_REFUSAL
    assert store.get(DEMO_CALL_ID) == SEED_CALL


async def test_post_hold_is_accepted_before_the_call_is_held(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    held = asyncio.ensure_future(next_state(store, DEMO_CALL_ID, "Held"))
    await asyncio.sleep(0)

    assert await operate(client, base, session, DEMO_CALL_ID, "Hold") == (200, {"statusCode": 0})
    call = store.get(DEMO_CALL_ID)
    assert call is not None
    assert call["state"] == "Established"

    assert (await held)["capabilities"] == HELD_CAPABILITIES
    async with client.get(f"{base}/api/v2/me/calls/{DEMO_CALL_ID}") as response:
        assert (await response.json())["call"]["state"] == "Held"


async def test_operations_walk_a_call_through_hold_retrieve_and_hangup(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, store: GenesysCallStore
) -> None:
    base = emulator_server.base_url("genesys")
    store.transition_delay = 0.01
    session = await open_session(client, base)
    call_id = store.add_call(state="Ringing")["id"]
    for operation, state, capabilities in [
        ("Answer", "Established", list(CAPABILITIES["Established"])),
        ("Hold", "Held", HELD_CAPABILITIES),
        ("Retrieve", "Established", list(CAPABILITIES["Established"])),
        ("Hangup", "Released", []),
    ]:
        reached = asyncio.ensure_future(next_state(store, call_id, state))
        await asyncio.sleep(0)
        assert await operate(client, base, session, call_id, operation) == (
            200,
            {"statusCode": 0},
        )
        assert (await reached)["capabilities"] == capabilities


async def test_post_operation_not_in_capabilities_is_400_with_status_2(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    status, body = await operate(client, base, session, DEMO_CALL_ID, "Retrieve")
    assert status == 400
    assert body["statusCode"] == 2
    assert body["statusMessage"]


@pytest.mark.parametrize(
    "body", [b"{}", b'{"operationName":""}', b"not json"], ids=["empty", "blank", "not-json"]
)
async def test_post_without_operation_name_is_400_with_status_1(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, body: bytes
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    async with client.post(
        f"{base}/api/v2/me/calls/{DEMO_CALL_ID}",
        data=body,
        headers={**session.headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["statusCode"] == 1
    assert "operationName" in answer["statusMessage"]


async def test_post_to_unknown_call_is_404_with_status_6(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    assert await operate(client, base, session, "NOSUCHCALL", "Hold") == (404, NOT_FOUND)


@pytest.mark.parametrize("expiry", ["expire-sessions", "control-expire-tokens", "idle-timeout"])
async def test_expired_session_is_refused_and_next_get_opens_a_new_one(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    clock: ManualClock,
    expiry: str,
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    if expiry == "expire-sessions":
        store.expire_sessions()
    elif expiry == "control-expire-tokens":
        emulator_server.control.expire_tokens("genesys")
    else:
        clock.advance(store.session_timeout + 1)

    assert await operate(client, base, session, DEMO_CALL_ID, "Hold") == (403, CSRF_REFUSAL)
    async with client.get(
        f"{base}/api/v2/me/calls", headers={"Cookie": f"JSESSIONID={session.cookie}"}
    ) as response:
        assert not response.headers["Set-Cookie"].startswith(f"JSESSIONID={session.cookie};")
        assert response.headers["X-CSRF-TOKEN"] != session.csrf_token


async def test_session_in_use_does_not_time_out(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    clock: ManualClock,
) -> None:
    base = emulator_server.base_url("genesys")
    session = await open_session(client, base)
    for _ in range(3):
        clock.advance(store.session_timeout * 0.75)
        async with client.get(
            f"{base}/api/v2/me/calls", headers={"Cookie": f"JSESSIONID={session.cookie}"}
        ) as response:
            assert "Set-Cookie" not in response.headers
    assert await operate(client, base, session, DEMO_CALL_ID, "Hold") == (200, {"statusCode": 0})


async def test_released_call_leaves_the_list_but_stays_fetchable(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    clock: ManualClock,
) -> None:
    base = emulator_server.base_url("genesys")
    call_id = store.add_call(state="Established")["id"]
    store.end(call_id)

    async def listed_ids() -> list[str]:
        async with client.get(f"{base}/api/v2/me/calls") as response:
            return [call["id"] for call in (await response.json())["calls"]]

    assert call_id in await listed_ids()
    clock.advance(store.released_retention + 1)
    assert await listed_ids() == [DEMO_CALL_ID]
    async with client.get(f"{base}/api/v2/me/calls/{call_id}") as response:
        body = await response.json()
    assert body["call"]["state"] == "Released"
    assert body["call"]["capabilities"] == []


async def test_duration_grows_until_release_except_for_the_demo_call(
    store: GenesysCallStore, clock: ManualClock
) -> None:
    call_id = store.add_call(state="Established")["id"]
    clock.advance(42.5)
    running = store.get(call_id)
    assert running is not None
    assert running["duration"] == "42"
    store.end(call_id)
    clock.advance(100)
    released = store.get(call_id)
    assert released is not None
    assert released["duration"] == "42"
    demo = store.get(DEMO_CALL_ID)
    assert demo is not None
    assert demo["duration"] == "7"


async def test_listeners_receive_every_change_until_removed(store: GenesysCallStore) -> None:
    seen: list[tuple[str, str]] = []

    def listen(call: dict[str, Any]) -> None:
        seen.append((call["id"], call["state"]))

    store.add_listener(listen)
    call_id = store.add_call(state="Dialing")["id"]
    store.set_state(call_id, "Established")
    store.end(call_id)
    store.remove_listener(listen)
    store.set_state(DEMO_CALL_ID, "Held")
    assert seen == [(call_id, "Dialing"), (call_id, "Established"), (call_id, "Released")]


async def test_store_rejects_unknown_state(store: GenesysCallStore) -> None:
    with pytest.raises(ValueError, match="Alerting"):
        store.set_state(DEMO_CALL_ID, "Alerting")


async def test_operation_on_call_hung_up_meanwhile_leaves_it_released(
    store: GenesysCallStore,
) -> None:
    store.transition_delay = 0.01
    store.request_operation(DEMO_CALL_ID, "Hold")
    store.end(DEMO_CALL_ID)
    await asyncio.sleep(0.05)
    call = store.get(DEMO_CALL_ID)
    assert call is not None
    assert call["state"] == "Released"


# The transitions a simulated call may make, one step at a time.
SIMULATED_STEPS = {
    ("Dialing", "Established"),
    ("Ringing", "Established"),
    ("Established", "Held"),
    ("Held", "Established"),
    ("Established", "Released"),
}


@pytest.mark.parametrize("seed", range(6))
async def test_simulate_call_walks_a_call_to_released(
    emulator_server: EmulatorServer,
    client: aiohttp.ClientSession,
    store: GenesysCallStore,
    seed: int,
) -> None:
    emulator = emulator_server.emulator(GenesysEmulator)
    changes: list[dict[str, Any]] = []
    store.add_listener(changes.append)
    await emulator.simulate_call(random.Random(seed), 0.001)

    states = [call["state"] for call in changes]
    assert states[0] in {"Dialing", "Ringing"}
    assert states[-1] == "Released"
    assert set(itertools.pairwise(states)) <= SIMULATED_STEPS
    assert {call["id"] for call in changes} == {changes[0]["id"]}

    base = emulator_server.base_url("genesys")
    url = f"{base}/api/v2/me/calls/{changes[0]['id']}"
    async with client.get(url) as response:
        call = (await response.json())["call"]
    assert call["state"] == "Released"
    assert call["participants"]
    assert call["callType"] in {"Internal", "Inbound", "Outbound"}
