"""B5 resuming after a drop: a `callEvents` client drops off for 5 s while 100 calls
change; on reconnecting with its last cursor, does it get every event it missed, once
and in order per call, and how soon? Plus what `callStats` costs with 1,000 subscribers
(bench/b5_stats.py).

Setup (all on 127.0.0.1, every server on a port the OS picked):
  - the emulators in a process of their own (bench/lib/procs_ws.py `emulators`: `python
    -m app emulate --no-simulate` plus B3's route creating Established Genesys calls):
    101 calls, 100 to change and one for the warm-up;
  - per bus, one gateway (bench/lib/procs_ws.py `gateway`, what `python -m app` runs),
    first with SWITCHBOARD_BROADCAST_URL=memory:// (the in-process event buffer), then
    with redis:// on a redis-server of the run's own (the Redis Streams event log; a
    private server because Redis pub/sub channels are server-wide, not per database:
    on the shared 127.0.0.1:6379 the bench's gateway and the tests running meanwhile
    would hear each other's `switchboard:calls` events).

A case (per bus: websocket, then SSE): a reference client and the measured client both
subscribe `callEvents(vendors: [GENESYS]) { kind cursor callId state version }`
(bench/lib/event_streams.py; websocket = graphql-transport-ws on /graphql, SSE = GET
/graphql/stream with Accept: text/event-stream). A warm-up change (the spare call held or
retrieved) gives both a cursor. The measured client notes its last cursor and closes its
socket; for `--gap` s (5) every one of the 100 calls is held, then retrieved, through the
gateway's mutations (all 100 at once; a half cycle starts only within the gap). At the
end of the gap, the missed events are the reference client's events after that cursor.
The measured client reconnects, over the websocket with `after: <cursor>`, over SSE with
`Last-Event-ID: <the last id:>` (what EventSource sends), and reads until it has every
missed event (15 s at most), then 1 s more for late duplicates.

Measured: recovered (missed events received after the reconnect, by cursor; target all),
duplicates (an event received twice, on either side of the drop; target 0), out of order
(an event whose version is not above the last one received for its call; target 0),
RESYNC events (expected 0: the cursor is within the retention), and caught-up ms
(reconnect started -> the last missed event read off the socket).

Run: `.venv/bin/python -m bench.b5_resume` (~1.5 min; `--gap 5`, `--stats-subscribers
0,1,1000`, `--stats-window 10`, `--no-stats`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import aiohttp

from bench import b5_stats
from bench.b4_polling import start_redis
from bench.b5_report import report
from bench.lib import results
from bench.lib.call_changes import Changes, change_all, hold_and_retrieve, state_of
from bench.lib.event_streams import EventStream, Received, cursor_key
from bench.lib.http import JsonClient
from bench.lib.procs import Processes, exit_on_sigterm, log
from bench.lib.procs_ws import announced, emulators_command, gateway_command, raise_fd_limit
from bench.lib.setup import switchboard_env

CALLS = 100
TARGETS = {"recovered": "all", "duplicates": 0, "out_of_order": 0, "resync": 0}


def gateway_env(emulators: str, bus: str, send_queue: int | None) -> dict[str, str]:
    env = switchboard_env(emulators, vendors=("genesys",))
    env["SWITCHBOARD_BROADCAST_URL"] = bus
    if send_queue is not None:  # a diagnosis: the default is the gateway's own
        env["SWITCHBOARD_WS_SEND_QUEUE"] = str(send_queue)
    env["SWITCHBOARD_STATS_INTERVAL"] = str(b5_stats.INTERVAL)
    return env


def start_gateway(
    procs: Processes, emulators: str, bus: str, name: str, send_queue: int | None = None
) -> tuple[str, int]:
    env = gateway_env(emulators, bus, send_queue)
    gateway = procs.start(name, gateway_command(), env=env)
    url = str(announced(procs, gateway)["url"])
    procs.wait_http(gateway, f"{url}/healthz")
    return url, gateway.pid


async def resume_case(
    url: str, transport: str, calls: list[str], spare: str, gap: float
) -> dict[str, Any]:
    reference, measured = EventStream(url, transport), EventStream(url, transport)
    await reference.open()
    await measured.open()
    try:
        # callEvents sends nothing until a change and subscribing has no answer: give the
        # subscriptions a moment, then a change on the spare call gives both a cursor.
        await asyncio.sleep(1.0)
        warm = "CONNECTED" if await state_of(url, spare) == "HELD" else "HELD"
        async with aiohttp.ClientSession() as session:
            await change_all(session, url, [spare], warm, Changes())
        for client in (reference, measured):
            if not await client.wait_for(bool, within=10):
                raise RuntimeError(f"{transport}: no warm-up event: {client.problems}")
        last = measured.last_cursor
        assert last is not None
        before = len(measured.events)

        dropped = time.monotonic()
        await measured.drop()
        changes = await hold_and_retrieve(url, calls, until=dropped + gap, cycles=1)
        changed_in = time.monotonic() - dropped
        await asyncio.sleep(max(0.0, dropped + gap - time.monotonic()))
        missed = [r for r in reference.events if cursor_key(r.event["cursor"]) > cursor_key(last)]
        wanted = {r.event["cursor"] for r in missed}

        dropped_before = await websocket_drops(url)
        reconnected = time.time()
        await measured.open(after=last)

        def caught_up(events: list[Received]) -> bool:
            return wanted <= {r.event["cursor"] for r in events[before:]}

        complete = await measured.wait_for(caught_up, within=15)
        await asyncio.sleep(1.0)  # late duplicates would arrive now
        send_queue_drops = await websocket_drops(url) - dropped_before
    finally:
        await measured.drop()
        await reference.drop()
    case = summarise(
        transport, measured, reference, before, missed, reconnected, complete, changes, changed_in
    )
    # Events a websocket's bounded send queue dropped (oldest first) after the reconnect.
    return {**case, "ws_send_queue_drops": send_queue_drops}


async def websocket_drops(url: str) -> int:
    """The gateway's switchboard_websocket_dropped_messages_total (/metrics)."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith("switchboard_websocket_dropped_messages_total "):
            return int(float(line.split()[1]))
    return 0


def summarise(
    transport: str,
    measured: EventStream,
    reference: EventStream,
    before: int,
    missed: list[Received],
    reconnected: float,
    complete: bool,
    changes: Changes,
    changed_in: float,
) -> dict[str, Any]:
    wanted = {r.event["cursor"] for r in missed}
    after = measured.events[before:]
    changes_after = [r for r in after if r.event["kind"] == "CHANGE"]
    cursors_before = {r.event["cursor"] for r in measured.events[:before]}
    cursors_after = [r.event["cursor"] for r in changes_after]
    recovered = [r for r in changes_after if r.event["cursor"] in wanted]
    last_missed = max((r.at for r in recovered), default=None)
    return {
        "transport": "websocket" if transport == "ws" else "SSE",
        "changes_confirmed_in_gap": changes.confirmed,
        "change_failures": changes.failed[:5],
        "changes_took_s": round(changed_in, 2),
        "missed": len(wanted),
        "recovered": len({r.event["cursor"] for r in recovered}),
        "duplicates": len(cursors_after)
        - len(set(cursors_after))
        + len(set(cursors_after) & cursors_before),
        "out_of_order": out_of_order(measured.events),
        "resync": sum(1 for r in after if r.event["kind"] == "RESYNC"),
        "other_events_after_reconnect": len([c for c in cursors_after if c not in wanted]),
        "caught_up": complete,
        "first_event_ms": round((after[0].at - reconnected) * 1000, 1) if after else None,
        "caught_up_ms": round((last_missed - reconnected) * 1000, 1) if last_missed else None,
        "reference_duplicates": len(reference.events)
        - len({r.event["cursor"] for r in reference.events}),
        "reference_out_of_order": out_of_order(reference.events),
        "problems": (measured.problems + reference.problems)[:5],
    }


def out_of_order(events: list[Received]) -> int:
    """Events whose version is not above the last one received for the same call."""
    latest: dict[str, int] = {}
    wrong = 0
    for received in events:
        event = received.event
        if event["kind"] != "CHANGE":
            continue
        call, version = event["callId"], event["version"]
        if call in latest and version <= latest[call]:
            wrong += 1
        latest[call] = max(version, latest.get(call, version))
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.b5_resume", description=__doc__)
    parser.add_argument("--gap", type=float, default=5.0, help="seconds the client is away")
    parser.add_argument("--buses", default="memory,redis", help="memory, redis or both")
    parser.add_argument("--stats-subscribers", default="0,1,1000", help="comma-separated")
    parser.add_argument("--stats-window", type=float, default=10.0, help="seconds of changes")
    parser.add_argument("--no-stats", dest="stats", action="store_false")
    parser.add_argument(
        "--diagnose-send-queue",
        type=int,
        default=512,
        help="also the websocket case on memory:// with this SWITCHBOARD_WS_SEND_QUEUE "
        "(a diagnosis row, not judged by the targets; 0: skip)",
    )
    parser.add_argument(
        "--ws-send-queue",
        type=int,
        default=None,
        help="SWITCHBOARD_WS_SEND_QUEUE of the resume gateways (default: the gateway's, 64)",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    raise_fd_limit()
    machine = results.machine()
    resume: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    with Processes() as procs:  # waits while another benchmark runs
        started = time.monotonic()
        emulators_proc = procs.start("emulators", emulators_command())
        emulators = str(announced(procs, emulators_proc)["url"])
        natives = JsonClient(emulators).json("POST", "/_bench/genesys/calls", {"count": CALLS + 1})
        spare, *calls = [f"genesys:{native}" for native in natives]
        runs: list[tuple[str, int | None, tuple[str, ...], str]] = [
            (bus, args.ws_send_queue, ("ws", "sse"), "main") for bus in args.buses.split(",")
        ]
        if args.diagnose_send_queue:  # the same websocket case with a larger send queue
            size = args.diagnose_send_queue
            runs.append(("memory", size, ("ws",), f"SWITCHBOARD_WS_SEND_QUEUE={size}"))
        redis_url = None
        for bus_name, send_queue, transports, variant in runs:
            if bus_name == "redis" and redis_url is None:
                redis_url = start_redis(procs)  # the run's own: stopped (and gone) at the end
            bus = redis_url if bus_name == "redis" and redis_url else "memory://"
            name = f"gateway-{bus_name}-{send_queue or 'default'}"
            url, _ = start_gateway(procs, emulators, bus, name, send_queue)
            for transport in transports:
                log(f"B5 resume over {transport}, bus {bus} ({variant}): {args.gap:g} s away")
                case = asyncio.run(resume_case(url, transport, calls, spare, args.gap))
                label = "Redis" if bus_name == "redis" else "memory://"
                case = {"bus": label, "variant": variant, **case}
                log(
                    f"  {case['recovered']}/{case['missed']} recovered, {case['duplicates']} "
                    f"duplicates, {case['out_of_order']} out of order, {case['resync']} RESYNC, "
                    f"{case['ws_send_queue_drops']} dropped by the send queue, "
                    f"caught up in {case['caught_up_ms']} ms"
                )
                resume.append(case)
        if args.stats:
            url, pid = start_gateway(procs, emulators, "memory://", "gateway-stats")
            rows = [int(s) for s in args.stats_subscribers.split(",")]
            stats = b5_stats.measure(url, pid, calls, rows, args.stats_window)
    took = time.monotonic() - started
    payload = {
        "benchmark": "B5 resume after a drop; callStats cost",
        "command": results.command_line(),
        "date": results.now(),
        "machine": machine,
        "source": results.source(),
        "took_s": round(took, 1),
        "gap_s": args.gap,
        "ws_send_queue": args.ws_send_queue or "default (64)",
        "diagnose_send_queue": args.diagnose_send_queue,
        "calls": CALLS,
        "stats_interval_s": b5_stats.INTERVAL,
        "targets": TARGETS,
        "resume": resume,
        "stats": stats,
    }
    path = results.write_json("b5_resume", payload)
    report(payload)
    log(f"B5 done in {took:.0f} s: {path} and bench/RESULTS.md")


if __name__ == "__main__":
    main()
