"""GenesysAdapter.call_events (CometD push) against the Genesys emulator over loopback HTTP;
and the Bayeux client's handling of advice the emulator never gives, against a scripted
Bayeux server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.adapters import StartCall
from app.calls import CallState, GenesysCall, Vendor
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.genesys_cometd import CALLS_CHANNEL, CometdHub
from app.emulators.genesys_store import DEMO_CALL_ID, GenesysCallStore
from app.errors import VendorUnauthenticated
from app.live.watcher import PushSource
from app.vendors.cometd import SUBSCRIBED, Backoff, BayeuxClient, BayeuxTerminated, Subscribed
from app.vendors.genesys import GenesysAdapter, call_from_wire
from app.vendors.http import VendorHttp
from tests.conftest import EmulatorServer, VendorHttpFactory

USERNAME = DEMO_CREDENTIALS["genesys"]["username"]
PASSWORD = DEMO_CREDENTIALS["genesys"]["password"]
NOTIFICATIONS = "/genesys/api/v2/notifications"
WITHIN = 10.0  # seconds: a bound against hangs, never an expectation


@pytest.fixture
def store(emulator_server: EmulatorServer) -> GenesysCallStore:
    return emulator_server.emulator(GenesysEmulator).store


@pytest.fixture
def hub(emulator_server: EmulatorServer) -> CometdHub:
    hub = emulator_server.emulator(GenesysEmulator).cometd
    hub.connect_timeout = 0.3  # short long polls: every path of the loop runs often
    return hub


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory, hub: CometdHub) -> GenesysAdapter:
    return GenesysAdapter(vendor_http(Vendor.GENESYS), username=USERNAME, password=PASSWORD)


class Stream:
    """`call_events` consumed by a task of its own, as the live watcher consumes it."""

    def __init__(self, adapter: GenesysAdapter) -> None:
        self.received: asyncio.Queue[GenesysCall | Exception] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump(adapter))

    async def _pump(self, adapter: GenesysAdapter) -> None:
        try:
            async for call in adapter.call_events():
                self.received.put_nowait(call)
        except Exception as failed:
            self.received.put_nowait(failed)

    async def next(self) -> GenesysCall:
        async with asyncio.timeout(WITHIN):
            item = await self.received.get()
        if isinstance(item, Exception):
            raise item
        return item

    async def until(self, wanted: Callable[[GenesysCall], bool]) -> GenesysCall:
        """The first call received from now on that is `wanted`."""
        while not wanted(call := await self.next()):
            pass
        return call

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def streaming(adapter: GenesysAdapter) -> AsyncIterator[Stream]:
    stream = Stream(adapter)
    try:
        yield stream
    finally:
        await stream.stop()


def is_call(native_id: str, state: CallState) -> Callable[[GenesysCall], bool]:
    return lambda call: call.call_id.native == native_id and call.state is state


def requests_to(server: EmulatorServer, segment: str) -> int:
    return server.control.count("genesys", path_contains=f"{NOTIFICATIONS}/{segment}")


def client_tasks() -> set[asyncio.Task[object]]:
    """The running tasks but the emulator server's own (one per open connection)."""
    return {
        task
        for task in asyncio.all_tasks()
        if not getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    }


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WITHIN):
        while not condition():  # noqa: ASYNC110 (the stream works in the background)
            await asyncio.sleep(0.01)


def test_adapter_is_a_push_source(adapter: GenesysAdapter) -> None:
    assert isinstance(adapter, PushSource)


async def test_stream_starts_with_the_listed_calls_then_pushes_each_change(
    adapter: GenesysAdapter, store: GenesysCallStore
) -> None:
    async with streaming(adapter) as stream:
        first = await stream.next()
        seed = call_from_wire(store.get(DEMO_CALL_ID))  # type: ignore[arg-type]
        # The device list numbers the call's device: 15000, the agent's DN.
        assert first == dataclasses.replace(seed, device_number="15000")
        held = store.set_state(DEMO_CALL_ID, "Held")
        assert await stream.next() == dataclasses.replace(
            call_from_wire(held), device_number="15000"
        )
        store.set_state(DEMO_CALL_ID, "Established")
        assert (await stream.next()).state is CallState.CONNECTED


async def test_stream_pushes_a_dialled_call_from_dialing_to_connected(
    adapter: GenesysAdapter,
) -> None:
    async with streaming(adapter) as stream:
        await stream.next()  # subscribed: the listed demo call
        native_id = await adapter.start_call(StartCall(Vendor.GENESYS, to="15002"))
        dialing = await stream.until(is_call(native_id, CallState.DIALING))
        assert dialing.dnis == "15002"
        await stream.until(is_call(native_id, CallState.CONNECTED))


async def test_stream_skips_other_messages(
    adapter: GenesysAdapter, store: GenesysCallStore, hub: CometdHub
) -> None:
    async with streaming(adapter) as stream:
        await stream.next()
        hub.publish(CALLS_CHANNEL, {"messageType": "DeviceStateChangeMessage", "devices": []})
        hub.publish(CALLS_CHANNEL, {"messageType": "CallStateChangeMessage", "call": "?"})
        store.set_state(DEMO_CALL_ID, "Held")
        assert (await stream.next()).state is CallState.HELD


async def test_stream_handshakes_again_after_the_server_forgets_the_client(
    adapter: GenesysAdapter,
    store: GenesysCallStore,
    hub: CometdHub,
    emulator_server: EmulatorServer,
) -> None:
    async with streaming(adapter) as stream:
        await stream.next()
        hub.expire_clients()
        store.set_state(DEMO_CALL_ID, "Held")
        await stream.until(is_call(DEMO_CALL_ID, CallState.HELD))
        assert requests_to(emulator_server, "handshake") == 2
        store.set_state(DEMO_CALL_ID, "Established")
        await stream.until(is_call(DEMO_CALL_ID, CallState.CONNECTED))


async def test_stream_continues_on_a_new_session_after_the_session_expires(
    adapter: GenesysAdapter, store: GenesysCallStore, emulator_server: EmulatorServer
) -> None:
    async with streaming(adapter) as stream:
        await stream.next()
        sessions = store.session_count
        emulator_server.control.expire_tokens("genesys")
        # The client of the ended session is unknown on the new one: it handshakes again.
        await until(lambda: requests_to(emulator_server, "handshake") == 2)
        store.set_state(DEMO_CALL_ID, "Held")
        await stream.until(is_call(DEMO_CALL_ID, CallState.HELD))
        assert store.session_count == sessions


async def test_stream_recovers_once_a_vendor_outage_ends(
    adapter: GenesysAdapter, store: GenesysCallStore, emulator_server: EmulatorServer
) -> None:
    async with streaming(adapter) as stream:
        await stream.next()
        emulator_server.control.set_fault("genesys", Fault(status=503))
        refused_from = requests_to(emulator_server, "")
        await until(lambda: requests_to(emulator_server, "") >= refused_from + 3)
        emulator_server.control.clear_faults("genesys")
        store.set_state(DEMO_CALL_ID, "Held")
        await stream.until(is_call(DEMO_CALL_ID, CallState.HELD))


async def test_long_poll_outlasts_the_vendors_usual_timeout(
    vendor_http: VendorHttpFactory,
    hub: CometdHub,
    emulator_server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub.connect_timeout = 0.6
    http = vendor_http(Vendor.GENESYS, timeout=0.3)
    adapter = GenesysAdapter(http, username=USERNAME, password=PASSWORD)
    caplog.set_level(logging.INFO, logger="switchboard.vendors")
    async with streaming(adapter) as stream:
        await stream.next()
        connects = requests_to(emulator_server, "connect")
        await until(lambda: requests_to(emulator_server, "connect") >= connects + 2)
    assert not [r for r in caplog.records if "push" in r.getMessage()]


async def test_cancelling_the_consumer_disconnects_and_leaves_no_task(
    adapter: GenesysAdapter, hub: CometdHub, emulator_server: EmulatorServer
) -> None:
    before = client_tasks()
    stream = Stream(adapter)
    await stream.next()
    await until(lambda: hub.held_connects == 1)
    await stream.stop()
    assert client_tasks() == before
    assert requests_to(emulator_server, "disconnect") == 1
    assert hub.client_count == 0


async def test_closing_the_iteration_disconnects(
    adapter: GenesysAdapter, hub: CometdHub, emulator_server: EmulatorServer
) -> None:
    async with contextlib.aclosing(adapter.call_events()) as events:
        async for _ in events:
            break
    assert requests_to(emulator_server, "disconnect") == 1
    assert hub.client_count == 0


async def test_rejected_credentials_end_the_stream(
    vendor_http: VendorHttpFactory, emulator_server: EmulatorServer
) -> None:
    adapter = GenesysAdapter(vendor_http(Vendor.GENESYS), username=USERNAME, password="wrong")
    async with streaming(adapter) as stream:
        with pytest.raises(VendorUnauthenticated):
            await stream.next()
    assert requests_to(emulator_server, "handshake") == 0


# -- the Bayeux client against a scripted server ----------------------------------------------

Reply = list[dict[str, Any]]
Script = dict[str, list[Reply | int]]


class ScriptedBayeux:
    """Answers each meta channel from its script in turn (the last answer repeats); an
    answer is the replies, or an HTTP status to fail with."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        [message] = await request.json()
        self.received.append(message)
        answers = self.script[message["channel"]]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, int):
            return web.Response(status=answer)
        return web.json_response([{**a, "id": message["id"]} for a in answer])

    def sent(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m["channel"] == channel]


@contextlib.asynccontextmanager
async def scripted(
    script: Script,
) -> AsyncIterator[tuple[ScriptedBayeux, str]]:
    server = ScriptedBayeux(script)
    app = web.Application()
    app.router.add_post("/cometd/{meta}", server.handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server(access_log=None)
    try:
        yield server, str(test_server.make_url("")).rstrip("/")
    finally:
        await test_server.close()


def handshake(client_id: str) -> Reply:
    advice = {"reconnect": "retry", "interval": 0, "timeout": 0}
    return [
        {"channel": "/meta/handshake", "successful": True, "clientId": client_id, "advice": advice}
    ]


SUBSCRIBE_OK: Reply = [{"channel": "/meta/subscribe", "successful": True}]


async def collect(base_url: str) -> list[Mapping[str, Any] | Subscribed | Exception]:
    """All the client yields, and what ends it."""
    http = VendorHttp(Vendor.GENESYS, base_url, timeout=2.0)

    async def no_headers() -> dict[str, str]:
        return {}

    client = BayeuxClient(http, "/cometd", "/ch", headers=no_headers, backoff=Backoff(0.01))
    items: list[Mapping[str, Any] | Subscribed | Exception] = []
    try:
        async with asyncio.timeout(WITHIN):
            async for item in client.messages():
                items.append(item)
    except BayeuxTerminated as ended:
        items.append(ended)
    finally:
        await http.close()
    return items


async def test_client_yields_what_came_with_reconnect_none_then_ends() -> None:
    connect: Reply = [
        {"channel": "/meta/connect", "successful": True, "advice": {"reconnect": "none"}},
        {"channel": "/ch", "data": {"n": 1}},
        {"channel": "/other", "data": {"n": 2}},
    ]
    script: Script = {
        "/meta/handshake": [handshake("c1")],
        "/meta/subscribe": [SUBSCRIBE_OK],
        "/meta/connect": [connect],
    }
    async with scripted(script) as (server, url):
        *items, ended = await collect(url)
        assert items == [SUBSCRIBED, {"n": 1}]
        assert isinstance(ended, BayeuxTerminated)
        # The server already dropped the client: nothing to disconnect.
        assert server.sent("/meta/disconnect") == []


async def test_client_retries_a_refused_handshake_and_follows_handshake_advice() -> None:
    refused: Reply = [
        {
            "channel": "/meta/handshake",
            "successful": False,
            "error": "500::busy",
            "advice": {"reconnect": "retry"},
        }
    ]
    again: Reply = [
        {"channel": "/meta/connect", "successful": True, "advice": {"reconnect": "handshake"}}
    ]
    last: Reply = [
        {"channel": "/meta/connect", "successful": True, "advice": {"reconnect": "none"}},
        {"channel": "/ch", "data": {"n": 1}},
    ]
    script: Script = {
        "/meta/handshake": [refused, handshake("c1"), handshake("c2")],
        "/meta/subscribe": [SUBSCRIBE_OK],
        "/meta/connect": [again, last],
    }
    async with scripted(script) as (server, url):
        *items, ended = await collect(url)
        assert items == [SUBSCRIBED, SUBSCRIBED, {"n": 1}]
        assert isinstance(ended, BayeuxTerminated)
        assert len(server.sent("/meta/handshake")) == 3
        assert [m["clientId"] for m in server.sent("/meta/subscribe")] == ["c1", "c2"]
        assert [m["clientId"] for m in server.sent("/meta/connect")] == ["c1", "c2"]


async def test_client_subscribes_again_after_a_failed_subscribe() -> None:
    last: Reply = [
        {"channel": "/meta/connect", "successful": True, "advice": {"reconnect": "none"}},
        {"channel": "/ch", "data": {"n": 1}},
    ]
    script: Script = {
        "/meta/handshake": [handshake("c1")],
        "/meta/subscribe": [503, SUBSCRIBE_OK],
        "/meta/connect": [last],
    }
    async with scripted(script) as (server, url):
        *items, _ = await collect(url)
        assert items == [SUBSCRIBED, {"n": 1}]
        assert len(server.sent("/meta/handshake")) == 1
        assert [m["clientId"] for m in server.sent("/meta/subscribe")] == ["c1", "c1"]
