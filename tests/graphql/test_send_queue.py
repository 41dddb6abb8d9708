"""A websocket client that reads too slowly: its queue stays bounded, control messages
are kept, the oldest data messages go, and the drops are counted."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from app.graphql.schema import build_schema
from app.graphql.websocket import TRANSPORT_WS, Connection, SubscriptionServer, WebSocketLimits
from tests.metrics import process_samples, value


class StalledSocket:
    """An ASGI websocket send whose client does not read: every send waits."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.unblock = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        await self.unblock.wait()
        self.sent.append(message["text"])


async def no_context(principal: Any, params: dict[str, Any]) -> Any:
    raise AssertionError("not used")


async def test_slow_reader_keeps_only_the_latest_data_messages() -> None:
    limits = WebSocketLimits(send_queue=4)
    server = SubscriptionServer(build_schema(), no_context, limits)
    socket = StalledSocket()
    dropped = "switchboard_websocket_dropped_messages_total"
    before = value(process_samples(), dropped)
    connection = Connection(server, cast(Any, None), TRANSPORT_WS, cast(Any, socket))
    connection.send_data("1", '{"data":{"n":0}}')
    await asyncio.sleep(0)  # the sender takes message 0 and blocks on the socket
    for n in range(1, 20):
        connection.send_data("1", f'{{"data":{{"n":{n}}}}}')
    connection.send_complete("1")
    socket.unblock.set()
    async with asyncio.timeout(5):
        while len(socket.sent) < 6:  # noqa: ASYNC110 (the sender drains in the background)
            await asyncio.sleep(0.01)
    received = socket.sent
    assert received[0].endswith('"payload":{"data":{"n":0}}}')
    # Four latest data messages kept, in order, then the completion.
    assert [r.rsplit('"n":', 1)[1].split("}")[0] for r in received[1:5]] == ["16", "17", "18", "19"]
    assert received[5] == '{"id": "1", "type": "complete"}'
    assert connection.dropped == 15
    assert value(process_samples(), dropped) == before + 15  # and /metrics counts them
    await asyncio.sleep(0)
    assert not connection.outbox.sending  # idle again: no task left
