"""The Genesys emulator's CometD (Bayeux long-polling) server, spoken to directly with aiohttp
over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from app.emulators import build_emulators
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_cometd import CALLS_CHANNEL, CometdHub
from app.emulators.genesys_store import DEMO_CALL_ID, DEVICE_ID, GenesysCallStore
from tests.clock import ManualClock
from tests.conftest import EmulatorServer

AUTHORIZATION = aiohttp.encode_basic_auth(
    DEMO_CREDENTIALS["genesys"]["username"], DEMO_CREDENTIALS["genesys"]["password"]
)
HANDSHAKE: dict[str, Any] = {
    "channel": "/meta/handshake",
    "version": "1.0",
    "supportedConnectionTypes": ["long-polling"],
    "id": "1",
}


@pytest.fixture
def hub(emulator_server: EmulatorServer) -> CometdHub:
    hub = emulator_server.emulator(GenesysEmulator).cometd
    hub.connect_timeout = 0.2  # long polls end quickly when nothing happens
    return hub


@pytest.fixture
def store(emulator_server: EmulatorServer) -> GenesysCallStore:
    return emulator_server.emulator(GenesysEmulator).store


class Bayeux:
    """A session (JSESSIONID and CSRF token) and the messages posted with it."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.url = f"{base}/api/v2/notifications"
        self.headers: dict[str, str] = {}

    async def open(self) -> Bayeux:
        async with self.http.get(self.url.replace("notifications", "me/calls")) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"].split(";")[0]
            self.headers = {"Cookie": cookie, "X-CSRF-TOKEN": response.headers["X-CSRF-TOKEN"]}
        return self

    async def post(self, *messages: dict[str, Any], segment: str = "") -> list[dict[str, Any]]:
        url = f"{self.url}/{segment}" if segment else self.url
        async with self.http.post(url, json=list(messages), headers=self.headers) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        assert isinstance(body, list)
        return body

    async def client_id(self) -> str:
        [reply] = await self.post(HANDSHAKE, segment="handshake")
        return str(reply["clientId"])

    async def subscribed(self) -> str:
        client_id = await self.client_id()
        [reply] = await self.post(subscribe(client_id), segment="subscribe")
        assert reply["successful"] is True
        return client_id


def subscribe(client_id: str) -> dict[str, Any]:
    return {"channel": "/meta/subscribe", "clientId": client_id, "subscription": CALLS_CHANNEL}


def connect(client_id: str, msg_id: str = "3") -> dict[str, Any]:
    return {
        "channel": "/meta/connect",
        "clientId": client_id,
        "connectionType": "long-polling",
        "id": msg_id,
    }


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), headers={"Authorization": AUTHORIZATION}
    ) as session:
        yield session


@pytest.fixture
async def bayeux(
    emulator_server: EmulatorServer, client: aiohttp.ClientSession, hub: CometdHub
) -> Bayeux:
    return await Bayeux(client, emulator_server.base_url("genesys")).open()


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) until `condition()` holds."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (the server works in the background)
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("segment", ["", "handshake"], ids=["base-url", "segment-url"])
async def test_handshake_answers_a_client_id_and_long_polling_advice(
    bayeux: Bayeux, hub: CometdHub, segment: str
) -> None:
    [reply] = await bayeux.post(HANDSHAKE, segment=segment)
    assert reply == {
        "channel": "/meta/handshake",
        "successful": True,
        "id": "1",
        "clientId": reply["clientId"],
        "version": "1.0",
        "supportedConnectionTypes": ["long-polling"],
        "advice": {"reconnect": "retry", "interval": 0, "timeout": 200},
    }
    assert isinstance(reply["clientId"], str)
    assert reply["clientId"]
    assert hub.client_count == 1


async def test_handshake_without_long_polling_is_refused(bayeux: Bayeux) -> None:
    [reply] = await bayeux.post({**HANDSHAKE, "supportedConnectionTypes": ["websocket"]})
    assert reply["successful"] is False
    assert reply["error"].startswith("301:")
    assert reply["advice"] == {"reconnect": "none"}


async def test_subscribe_to_the_calls_channel_succeeds(bayeux: Bayeux) -> None:
    client_id = await bayeux.client_id()
    [reply] = await bayeux.post({**subscribe(client_id), "id": "2"}, segment="subscribe")
    assert reply == {
        "channel": "/meta/subscribe",
        "successful": True,
        "id": "2",
        "clientId": client_id,
        "subscription": CALLS_CHANNEL,
    }


async def test_connect_without_events_answers_after_the_long_poll_timeout(
    bayeux: Bayeux,
) -> None:
    client_id = await bayeux.subscribed()
    replies = await bayeux.post(connect(client_id), segment="connect")
    assert replies == [
        {
            "channel": "/meta/connect",
            "successful": True,
            "id": "3",
            "clientId": client_id,
            "advice": {"reconnect": "retry", "interval": 0},
        }
    ]


async def test_held_connect_answers_with_the_change_of_a_call(
    bayeux: Bayeux, hub: CometdHub, store: GenesysCallStore
) -> None:
    hub.connect_timeout = 30.0
    client_id = await bayeux.subscribed()
    held = asyncio.create_task(bayeux.post(connect(client_id)))
    await until(lambda: hub.held_connects == 1)
    held_call = store.set_state(DEMO_CALL_ID, "Held")
    reply, event = await held
    assert reply["channel"] == "/meta/connect"
    assert reply["successful"] is True
    assert event == {
        "channel": CALLS_CHANNEL,
        "data": {
            "messageType": "CallStateChangeMessage",
            "notificationType": "StatusChange",
            "call": held_call,
            "phoneNumber": "15000",
        },
    }


async def test_changes_between_connects_are_queued_in_order(
    bayeux: Bayeux, store: GenesysCallStore
) -> None:
    client_id = await bayeux.subscribed()
    store.set_state(DEMO_CALL_ID, "Held")
    store.set_state(DEMO_CALL_ID, "Established")
    _, *events = await bayeux.post(connect(client_id))
    assert [e["data"]["call"]["state"] for e in events] == ["Held", "Established"]
    # Delivered once: the next connect finds the queue empty.
    assert len(await bayeux.post(connect(client_id))) == 1


async def test_queue_keeps_only_the_newest_messages(
    bayeux: Bayeux, hub: CometdHub, store: GenesysCallStore
) -> None:
    hub.queue_limit = 2
    client_id = await bayeux.subscribed()
    for state in ("Held", "Established", "Released"):
        store.set_state(DEMO_CALL_ID, state)
    _, *events = await bayeux.post(connect(client_id))
    assert [e["data"]["call"]["state"] for e in events] == ["Established", "Released"]
    assert hub.dropped == 1


async def test_unsubscribed_client_gets_no_events(bayeux: Bayeux, store: GenesysCallStore) -> None:
    client_id = await bayeux.client_id()
    store.set_state(DEMO_CALL_ID, "Held")
    assert len(await bayeux.post(connect(client_id))) == 1


@pytest.mark.parametrize("channel", ["/meta/connect", "/meta/subscribe"])
async def test_unknown_client_is_told_to_handshake(bayeux: Bayeux, channel: str) -> None:
    message = {**subscribe("no-such-client"), **connect("no-such-client"), "channel": channel}
    [reply] = await bayeux.post(message)
    assert reply["successful"] is False
    assert reply["error"] == "402::Unknown client"
    assert reply["advice"] == {"reconnect": "handshake", "interval": 0}


async def test_client_of_another_session_is_unknown(
    bayeux: Bayeux, emulator_server: EmulatorServer, client: aiohttp.ClientSession
) -> None:
    client_id = await bayeux.subscribed()
    other = await Bayeux(client, emulator_server.base_url("genesys")).open()
    [reply] = await other.post(connect(client_id))
    assert reply["error"] == "402::Unknown client"


async def test_expire_clients_ends_a_held_connect_and_forces_a_handshake(
    bayeux: Bayeux, hub: CometdHub
) -> None:
    hub.connect_timeout = 30.0
    client_id = await bayeux.subscribed()
    held = asyncio.create_task(bayeux.post(connect(client_id)))
    await until(lambda: hub.held_connects == 1)
    hub.expire_clients()
    [reply] = await held
    assert reply["error"] == "402::Unknown client"
    assert reply["advice"]["reconnect"] == "handshake"
    assert (await bayeux.post(connect(client_id)))[0]["successful"] is False


async def test_client_that_stops_connecting_expires(
    bayeux: Bayeux, hub: CometdHub, store: GenesysCallStore
) -> None:
    clock = ManualClock(now=time.monotonic())
    store.clock = clock
    client_id = await bayeux.subscribed()
    clock.advance(hub.max_interval / 2)
    assert (await bayeux.post(connect(client_id)))[0]["successful"] is True
    clock.advance(hub.max_interval + 1)
    await bayeux.client_id()  # any request lets the hub forget clients gone quiet
    assert hub.client_count == 1
    assert (await bayeux.post(connect(client_id)))[0]["error"] == "402::Unknown client"


async def test_newer_connect_ends_the_held_one_without_its_events(
    bayeux: Bayeux, hub: CometdHub, store: GenesysCallStore
) -> None:
    hub.connect_timeout = 30.0
    client_id = await bayeux.subscribed()
    first = asyncio.create_task(bayeux.post(connect(client_id, "3")))
    await until(lambda: hub.held_connects == 1)
    second = asyncio.create_task(bayeux.post(connect(client_id, "4")))
    [first_reply] = await first
    assert first_reply["id"] == "3"
    assert first_reply["successful"] is True
    store.set_state(DEMO_CALL_ID, "Held")
    reply, event = await second
    assert reply["id"] == "4"
    assert event["data"]["call"]["state"] == "Held"


async def test_disconnect_forgets_the_client_and_ends_its_held_connect(
    bayeux: Bayeux, hub: CometdHub
) -> None:
    hub.connect_timeout = 30.0
    client_id = await bayeux.subscribed()
    held = asyncio.create_task(bayeux.post(connect(client_id)))
    await until(lambda: hub.held_connects == 1)
    [reply] = await bayeux.post(
        {"channel": "/meta/disconnect", "clientId": client_id, "id": "9"}, segment="disconnect"
    )
    assert reply == {
        "channel": "/meta/disconnect",
        "successful": True,
        "id": "9",
        "clientId": client_id,
    }
    await held
    assert hub.client_count == 0


async def test_publishing_is_denied(bayeux: Bayeux) -> None:
    client_id = await bayeux.client_id()
    [reply] = await bayeux.post({"channel": CALLS_CHANNEL, "clientId": client_id, "data": {}})
    assert reply["successful"] is False
    assert reply["error"].startswith("403:")


async def test_body_that_is_not_json_is_400(
    emulator_server: EmulatorServer, bayeux: Bayeux, client: aiohttp.ClientSession
) -> None:
    async with client.post(bayeux.url, data=b"{", headers=bayeux.headers) as response:
        assert response.status == 400


async def test_notifications_need_basic_auth_and_the_csrf_token(
    emulator_server: EmulatorServer, bayeux: Bayeux
) -> None:
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as anonymous,
        anonymous.post(bayeux.url, json=[HANDSHAKE]) as response,
    ):
        assert response.status == 401
    no_token = {"Cookie": bayeux.headers["Cookie"]}
    async with bayeux.http.post(bayeux.url, json=[HANDSHAKE], headers=no_token) as response:
        assert response.status == 403
        assert (await response.json())["statusMessage"] == "Missing or invalid Csrf token"


async def test_faults_apply_to_notifications(
    emulator_server: EmulatorServer, bayeux: Bayeux
) -> None:
    emulator_server.control.set_fault("genesys", Fault(status=503))
    async with bayeux.http.post(bayeux.url, json=[HANDSHAKE], headers=bayeux.headers) as response:
        assert response.status == 503


async def test_server_shutdown_ends_held_connects() -> None:
    emulators = build_emulators(demo=True)
    genesys = emulators.vendors["genesys"]
    assert isinstance(genesys, GenesysEmulator)
    server = TestServer(emulators.app, host="127.0.0.1", port=0)
    await server.start_server(access_log=None)
    try:
        async with aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), headers={"Authorization": AUTHORIZATION}
        ) as http:
            bayeux = await Bayeux(http, str(server.make_url("/genesys"))).open()
            client_id = await bayeux.subscribed()
            held = asyncio.create_task(bayeux.post(connect(client_id)))
            await until(lambda: genesys.cometd.held_connects == 1)
            # The hub's default hold is 30 s: only the shutdown can end this one in time.
            async with asyncio.timeout(10):
                await server.close()
                [reply] = await held
            assert reply["successful"] is True
    finally:
        await server.close()


async def test_device_changes_are_published_on_the_devices_channel(
    bayeux: Bayeux, hub: CometdHub, store: GenesysCallStore
) -> None:
    client_id = await bayeux.client_id()
    [reply] = await bayeux.post(
        {"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/devices"},
        segment="subscribe",
    )
    assert reply["successful"] is True
    store.set_device_state(DEVICE_ID, "Inactive")
    _, event = await bayeux.post(connect(client_id))
    assert event["channel"] == "/v2/me/devices"
    assert event["data"]["messageType"] == "DeviceStateChangeMessage"
    assert event["data"]["devices"][0]["deviceState"] == "Inactive"
