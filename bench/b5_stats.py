"""B5's second half: what `callStats` costs the gateway with 1,000 subscribers.

One gateway (memory://, SWITCHBOARD_STATS_INTERVAL=1) and, in this process, S websocket
subscribers of the same document, `subscription { callStats { at total byVendor { vendor
byState { state count } } } }` (one filter, so one aggregator), for S = 0, 1 and 1,000
(bench/b3_client.py's sans-I/O graphql-transport-ws connections, opened 250 at a time).
A `callEvents` subscriber stays connected in every row, so that the gateway follows
every Genesys call the same way in all of them and the rows differ by callStats only.

Per row: once every subscriber has its first value, the 100 calls are held and
retrieved over and over for `--stats-window` s (10); measured are the gateway's CPU
seconds in the window (/proc, bench/lib/procs.cpu_seconds), the changes confirmed, the
values each subscriber received whose `at` (when the value was computed) is in the window
(bound: window / interval + 1), the shortest spacing of two values' `at`, and the
delivery of a value: its `at` -> read off the subscriber's socket (all subscribers share
one clock). A value's own delay after a change is up to one interval by design (at most
one value per interval), so that is not what is timed.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from datetime import datetime
from typing import Any

from websockets.uri import WebSocketURI, parse_uri

from bench.b3_client import Subscriber
from bench.lib.call_changes import Changes, hold_and_retrieve
from bench.lib.event_streams import EventStream
from bench.lib.procs import cpu_seconds, log
from bench.lib.procs_ws import percentile

INTERVAL = 1.0  # SWITCHBOARD_STATS_INTERVAL of B5's gateways
STATS = "subscription { callStats { at total byVendor { vendor byState { state count } } } }"


class StatsSubscriber(Subscriber):
    """One websocket connection with one `callStats` subscription; `values` keeps each
    value's `at` and when it was read."""

    def __init__(self, uri: WebSocketURI) -> None:
        super().__init__(uri, call_id="", call_index=0, deflate=True)
        self.values: list[tuple[float, float]] = []  # (value's at, receipt time)

    def _message(self, message: dict[str, Any], received_at: float) -> None:
        kind = message.get("type")
        if kind == "connection_ack":
            self._send({"id": "1", "type": "subscribe", "payload": {"query": STATS}})
        elif kind == "next":
            payload = message["payload"]
            if payload.get("errors"):
                self._fail(f"errors: {payload['errors']}")
                return
            at = datetime.fromisoformat(payload["data"]["callStats"]["at"]).timestamp()
            self.values.append((at, received_at))
            if not self.subscribed.done():
                self.subscribed.set_result("value")
        else:
            super()._message(message, received_at)


async def open_stats(url: str, count: int, batch: int = 250) -> list[StatsSubscriber]:
    loop = asyncio.get_running_loop()
    uri = parse_uri(url.replace("http://", "ws://") + "/graphql")
    opened: list[StatsSubscriber] = []

    async def one() -> None:
        subscriber = StatsSubscriber(uri)
        opened.append(subscriber)
        async with asyncio.timeout(60):
            await loop.create_connection(lambda: subscriber, uri.host, uri.port)
            await subscriber.subscribed

    for start in range(0, count, batch):
        await asyncio.gather(*(one() for _ in range(start, min(start + batch, count))))
    return opened


async def stats_row(
    url: str, pid: int, calls: list[str], subscribers: int, window: float
) -> dict[str, Any]:
    follower = EventStream(url, "ws")  # the same following of every call in every row
    await follower.open()
    opened: list[StatsSubscriber] = []
    try:
        opened = await open_stats(url, subscribers)
        await asyncio.sleep(1.5)  # first values sent, connections settled
        cpu_before, started = cpu_seconds(pid), time.time()
        changes = await hold_and_retrieve(url, calls, until=time.monotonic() + window)
        ended, cpu_after = time.time(), cpu_seconds(pid)
        await asyncio.sleep(INTERVAL + 0.5)  # a value computed at the end arrives
        lost = sum(1 for s in opened if s.problem is not None)  # before we close them
    finally:
        for subscriber in opened:
            subscriber.close()
        await follower.drop()
    case = summarise(subscribers, opened, changes, started, ended, cpu_after - cpu_before)
    return {**case, "lost_connections": lost}


def summarise(
    subscribers: int,
    opened: list[StatsSubscriber],
    changes: Changes,
    started: float,
    ended: float,
    cpu: float,
) -> dict[str, Any]:
    window = ended - started
    counts, spacings, delivery = [], [], []
    for subscriber in opened:
        values = [(at, got) for at, got in subscriber.values if started <= at <= ended]
        counts.append(len(values))
        ats = [at for at, _ in values]
        spacings += [b - a for a, b in itertools.pairwise(ats)]
        delivery += [(got - at) * 1000 for at, got in values]
    bound = math.floor(window / INTERVAL) + 1
    return {
        "subscribers": subscribers,
        "window_s": round(window, 2),
        "changes_confirmed": changes.confirmed,
        "change_failures": changes.failed[:5],
        "gateway_cpu_s": round(cpu, 2),
        "gateway_cpu_ms_per_change": round(cpu * 1000 / max(1, changes.confirmed), 2),
        "values_per_subscriber_min": min(counts, default=None),
        "values_per_subscriber_max": max(counts, default=None),
        "values_bound": bound,
        "min_spacing_s": round(min(spacings), 3) if spacings else None,
        "delivery_ms": {
            "p50": round(percentile(delivery, 50), 1) if delivery else None,
            "p99": round(percentile(delivery, 99), 1) if delivery else None,
            "max": round(max(delivery), 1) if delivery else None,
        },
    }


def measure(
    url: str, pid: int, calls: list[str], rows: list[int], window: float
) -> list[dict[str, Any]]:
    cases = []
    for subscribers in rows:
        log(f"B5 callStats: {subscribers} subscribers, {window:g} s of changes")
        case = asyncio.run(stats_row(url, pid, calls, subscribers, window))
        log(
            f"  gateway CPU {case['gateway_cpu_s']} s for {case['changes_confirmed']} changes; "
            f"values/subscriber {case['values_per_subscriber_min']}.."
            f"{case['values_per_subscriber_max']} (bound {case['values_bound']}); "
            f"delivery {case['delivery_ms']}"
        )
        cases.append(case)
    return cases
