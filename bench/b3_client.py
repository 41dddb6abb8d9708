"""B3's subscriber side: many graphql-transport-ws subscribers in one asyncio process.

Each subscriber is one websocket connection running
`subscription { callUpdated(id: $id) { id state } }`. It is a bare asyncio.Protocol
over the `websockets` library's sans-I/O `ClientProtocol` (handshake, framing, masking,
answering websocket pings, optional permessage-deflate) rather than a full client with
a task and buffers per connection: 5,000 of them fit in one process, and the receipt
time is taken with time.time() as soon as the bytes come off the socket, before any
parsing, so the client's own processing adds as little as possible to the measured
latency.

`python -m bench.b3_client --url ws://.../graphql --calls '["genesys:...", ...]'
--first F --count N` opens subscribers F..F+N-1 (subscriber i follows
calls[i % len(calls)]) in batches of `--batch`, each batch fully subscribed (first
`next` received) before the next one starts, so the gateway is never SYN-flooded.
Then it prints one JSON line `{"ready": ..., "failed": ..., "states": {...}}`, waits
until every subscriber has received `--state` (HELD), or SIGUSR1, or `--timeout`, writes
`{"received": [[call_index, unix_time], ...], "missing": ..., ...}` to `--out` and
prints `{"done": ...}`.

bench/b4_polling.py uses `Subscriber` / `open_subscribers` in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import resource
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import WebSocketURI, parse_uri

QUERY = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"
TRANSPORT_WS = Subprotocol("graphql-transport-ws")


class Subscriber(asyncio.Protocol):
    """One websocket connection with one `callUpdated` subscription."""

    def __init__(
        self,
        uri: WebSocketURI,
        call_id: str,
        call_index: int,
        *,
        deflate: bool,
        token: str | None = None,
    ):
        self.call_id = call_id
        # With authentication on, each subscriber's own JWT, sent in connection_init.
        self.init_payload = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self.call_index = call_index
        # Browsers and Node's `ws` offer permessage-deflate by default; --no-deflate doesn't.
        extensions = [ClientPerMessageDeflateFactory()] if deflate else None
        self.ws = ClientProtocol(uri, subprotocols=[TRANSPORT_WS], extensions=extensions)
        self.transport: asyncio.Transport | None = None
        self.subscribed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.states: list[tuple[str, float]] = []  # (state, receipt time) of every `next`
        self.pings: list[float] = []  # receipt times of the server's keep-alive pings
        self.problem: str | None = None

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave like one.
        self.transport = cast(asyncio.Transport, transport)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        received_at = time.time()  # first thing: parsing below is the client's cost
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(f"handshake: {self.ws.handshake_exc}")
                else:
                    self._send({"type": "connection_init", "payload": self.init_payload})
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(json.loads(event.data), received_at)
        self._flush()  # includes pongs to the server's websocket pings

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc or 'closed'}")

    # -- graphql-transport-ws -------------------------------------------------------------

    def _message(self, message: dict[str, Any], received_at: float) -> None:
        kind = message.get("type")
        if kind == "connection_ack":
            self._send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": QUERY, "variables": {"id": self.call_id}},
                }
            )
        elif kind == "next":
            state = message["payload"]["data"]["callUpdated"]["state"]
            self.states.append((state, received_at))
            if not self.subscribed.done():
                self.subscribed.set_result(state)
        elif kind == "ping":
            self.pings.append(received_at)
            self._send({"type": "pong"})  # as graphql-ws clients do: the protocol asks it
        elif kind in ("error", "complete"):
            self._fail(f"{kind}: {message.get('payload')}")

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(json.dumps(message).encode())

    def _flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            for chunk in self.ws.data_to_send():
                self.transport.write(chunk)

    def _fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(problem))

    def first_time_in(self, state: str) -> float | None:
        """Receipt time of the first `next` carrying `state` after the initial one."""
        return next((t for s, t in self.states[1:] if s == state), None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_subscribers(
    url: str,
    calls: Sequence[str],
    first: int,
    count: int,
    *,
    batch: int = 250,
    deflate: bool = True,
    within: float = 60.0,
    tokens: Sequence[str] | None = None,
) -> tuple[list[Subscriber], list[str]]:
    """Subscribers first..first+count-1 (subscriber i follows calls[i % len(calls)]),
    opened `batch` at a time; those subscribed, and the problems of the others.
    `tokens`: subscriber i's JWT is tokens[i] (None: no credential)."""
    loop = asyncio.get_running_loop()
    uri = parse_uri(url)
    opened: list[Subscriber] = []
    problems: list[str] = []

    async def one(index: int) -> None:
        call_index = index % len(calls)
        token = tokens[index] if tokens is not None else None
        subscriber = Subscriber(uri, calls[call_index], call_index, deflate=deflate, token=token)
        try:
            async with asyncio.timeout(within):
                await loop.create_connection(lambda: subscriber, uri.host, uri.port)
                await subscriber.subscribed
        except (OSError, TimeoutError) as failed:
            subscriber.close()
            problems.append(f"{type(failed).__name__}: {failed}")
        else:
            opened.append(subscriber)

    for start in range(first, first + count, batch):
        stop = min(start + batch, first + count)
        await asyncio.gather(*(one(i) for i in range(start, stop)))
    return opened, problems


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    calls: list[str] = json.loads(args.calls)
    started = time.monotonic()
    subscribers, problems = await open_subscribers(
        args.url,
        calls,
        args.first,
        args.count,
        batch=args.batch,
        deflate=args.deflate,
        tokens=args.token_list,
    )
    first_states = collections.Counter(s.states[0][0] for s in subscribers)
    _say(
        {
            "ready": len(subscribers),
            "failed": len(problems),
            "problems": collections.Counter(problems).most_common(3),
            "states": first_states,
            "connect_s": round(time.monotonic() - started, 2),
        }
    )
    # Until every subscriber has the new state, or the parent wants the results now.
    report_now = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report_now.set)
    deadline = time.monotonic() + args.timeout
    while not report_now.is_set() and time.monotonic() < deadline:
        if all(s.first_time_in(args.state) is not None for s in subscribers):
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(report_now.wait(), timeout=0.05)
    # Stay connected a while (--linger): 10,000 disconnects at once would otherwise be in a
    # profile of the change.
    await asyncio.sleep(args.linger)
    received = [
        [s.call_index, t] for s in subscribers if (t := s.first_time_in(args.state)) is not None
    ]
    results = {
        "received": received,
        "missing": len(subscribers) - len(received),
        "lost": sum(1 for s in subscribers if s.problem is not None),
        "extra_messages": sum(max(0, len(s.states) - 2) for s in subscribers),
        "pings": [t for s in subscribers for t in s.pings],
    }
    for subscriber in subscribers:
        subscriber.close()
    return results


def _say(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.b3_client", description=__doc__)
    parser.add_argument("--url", required=True, help="ws://host:port/graphql")
    parser.add_argument("--calls", required=True, help="JSON list of call ids")
    parser.add_argument("--first", type=int, default=0, help="global index of the first")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--state", default="HELD", help="the state whose receipt is timed")
    parser.add_argument("--out", required=True, help="where to write the receipts (JSON)")
    parser.add_argument("--timeout", type=float, default=60.0, help="max wait for --state")
    parser.add_argument("--linger", type=float, default=0.0, help="stay connected after (s)")
    parser.add_argument("--no-deflate", dest="deflate", action="store_false")
    parser.add_argument(
        "--tokens", default="", help="JSON file: a list of JWTs, subscriber i sends the i-th"
    )
    args = parser.parse_args()
    # One fd per connection; ulimit -n's soft limit may be lower than needed.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    args.token_list = json.loads(Path(args.tokens).read_text()) if args.tokens else None
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(worker(args))
    else:
        results = uvloop.run(worker(args))
    Path(args.out).write_text(json.dumps(results))
    _say({"done": len(results["received"])})


if __name__ == "__main__":
    main()
