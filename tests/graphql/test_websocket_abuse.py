"""Websocket clients that try to hold a connection for free: pinging instead of
initialising, or flooding pings and never reading the pongs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from app.graphql.websocket import Connection, SubscriptionServer
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway
from tests.sockets import StalledWebSocket
from tests.ws import LEGACY_WS, TRANSPORT_WS, raw_ws

INIT_TIMEOUT = 0.5
SEND_QUEUE = 8


@pytest.fixture
async def guarded(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(
        emulator_server,
        ws_init_timeout=INIT_TIMEOUT,
        ws_send_queue=SEND_QUEUE,
        ws_max_subscriptions=2,
    ) as gateway:
        yield gateway


def server_of(gateway: Gateway) -> SubscriptionServer:
    server = gateway.app_state.subscriptions
    assert isinstance(server, SubscriptionServer)
    return server


async def test_ping_does_not_replace_connection_init(guarded: Gateway) -> None:
    async with raw_ws(guarded.url) as ws:
        started = time.monotonic()
        await ws.send({"type": "ping"})
        assert await ws.closed_with(within=3) == 4408
    assert time.monotonic() - started < INIT_TIMEOUT + 1


async def test_init_timeout_counts_from_the_upgrade_whatever_is_sent(guarded: Gateway) -> None:
    async with raw_ws(guarded.url) as ws:
        started = time.monotonic()

        async def keep_pinging() -> None:
            while True:
                await ws.send({"type": "ping"})
                await asyncio.sleep(0.05)

        pinger = asyncio.create_task(keep_pinging())
        try:
            assert await ws.closed_with(within=3) == 4408
        finally:
            pinger.cancel()
    assert time.monotonic() - started < INIT_TIMEOUT + 1


async def test_connection_init_ends_the_init_timeout(guarded: Gateway) -> None:
    async with raw_ws(guarded.url, LEGACY_WS) as ws:
        await ws.init()
        await asyncio.sleep(INIT_TIMEOUT * 2)
        await ws.subscribe("1", "query { __typename }")
        assert await ws.receive() == {
            "id": "1",
            "type": "data",
            "payload": {"data": {"__typename": "Query"}},
        }


async def test_client_that_reads_no_pongs_is_closed_once_its_queue_is_full(
    guarded: Gateway,
) -> None:
    server = server_of(guarded)
    client = await StalledWebSocket.connect(guarded.url, TRANSPORT_WS)
    try:
        await client.send({"type": "connection_init"})
        assert (await client.next_message())["type"] == "connection_ack"
        (connection,) = server.connections
        assert isinstance(connection, Connection)
        ping = client.frame({"type": "ping"})
        # The kernel's buffers take some 100,000 pongs (~4 MB on loopback); past those,
        # pongs wait in the connection's queue, and at most a queue's worth of them.
        peak = 0
        stopped_reading = False
        for _ in range(100):  # 500,000 pings, as in issue 11
            client.writer.write(ping * 5000)
            try:
                async with asyncio.timeout(1):
                    await client.writer.drain()
            except TimeoutError:
                stopped_reading = True  # the server has stopped reading from us
                break
            await asyncio.sleep(0.05)  # the server runs in this loop: its turn to read
            peak = max(peak, connection.queued)
            if connection.closed:
                break
        assert peak <= connection.max_control
        if stopped_reading and not connection.closed:
            # Where the kernel's loopback buffers are large (tcp_rmem up to 32 MB), uvicorn
            # stops reading once its writes back up, before our queue fills: the client
            # then gets nothing more read, and the queue stayed bounded all the same.
            assert connection.queued <= connection.max_control
            return
        assert connection.closed, f"still open with {connection.queued} frames queued"
        # Reading now: the pongs that had been written, then the close frame.
        pongs, code = await client.read_until_closed(b'{"type":"pong"}', within=10)
        assert code == 4429
        assert pongs < 500_000
    finally:
        client.close()
    async with asyncio.timeout(5):
        while server.connections:  # noqa: ASYNC110 (the server cleans up in the background)
            await asyncio.sleep(0.01)


async def test_a_burst_of_pings_from_a_client_that_reads_is_answered(guarded: Gateway) -> None:
    # Far more pings in one write than the queue holds: received back to back by the
    # server, but the client reads, so every one is answered and nothing is closed.
    server = server_of(guarded)
    client = await StalledWebSocket.connect(guarded.url, TRANSPORT_WS, receive_buffer=None)
    try:
        await client.send({"type": "connection_init"})
        assert (await client.next_message())["type"] == "connection_ack"
        (connection,) = server.connections
        burst = 20 * connection.max_control
        client.writer.write(client.frame({"type": "ping"}) * burst)
        await client.writer.drain()
        for _ in range(burst):
            assert await client.next_message() == {"type": "pong"}
        assert not connection.closed
    finally:
        client.close()
