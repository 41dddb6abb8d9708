"""B4 polling economy: S subscribers of one poll-only call, spread over TWO gateway
instances sharing a Redis bus, cost how many upstream polls per poll interval?

Target: exactly one poll per interval, whatever S and however many instances (the Redis
lease per watched call lets one instance poll; the others hear the changes on the bus).

Setup (all on 127.0.0.1, free ports):
  - a redis-server of our own (not the machine's: tests use that one, with the same
    lease keys), no persistence;
  - the emulators: `python -m app emulate --no-simulate` (bench/lib/setup.py);
  - two gateways, `python -m app`, both with SWITCHBOARD_BROADCAST_URL=redis://...
    and SWITCHBOARD_POLL_INTERVAL=0.5, SWITCHBOARD_LONG_POLL=0 (the rest default: lease
    TTL 5 s);
  - S websocket subscribers (bench/b3_client.py's `Subscriber`, in this process), half
    on each gateway, all on the Oracle demo call oracle:1TfU02Xfme2GMuzfUh0rkdgvz4
    (connected; Oracle has no push, so it is polled).

Measured per S: once every subscriber has its first message, wait 2 s (leases taken,
first reads done), clear the emulators' request log, wait a window of W seconds, then
count the Oracle status requests for that call (GET /call/2.0/<id>/status) in the log.
polls per interval = polls x interval / W (1.0 = one poller; 2.0 = both instances poll).
Every other vendor request in the window is counted too (expected: none).

Run: `.venv/bin/python -m bench.b4_polling` (~40 s); `--subscribers 20,200 --window 10`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import time
from typing import Any

from bench.b3_client import open_subscribers
from bench.lib import results
from bench.lib.procs import PYTHON, Processes, ProcessFailed, exit_on_sigterm, free_port, log
from bench.lib.setup import RequestLog, start_emulators, switchboard_env

CALL = "oracle:1TfU02Xfme2GMuzfUh0rkdgvz4"
STATUS_PATH = f"/call/2.0/{CALL.split(':', 1)[1]}/status"
INTERVAL = 0.5


def start_redis(procs: Processes) -> str:
    """Our own redis-server on a free port (it cannot bind port 0 and say which)."""
    for _ in range(3):
        port = free_port()
        proc = procs.start(
            f"redis-{port}",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no"],
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return f"redis://127.0.0.1:{port}/0"
            except OSError:
                time.sleep(0.05)
        procs.stop(proc)  # port taken meanwhile, most likely: try another
    raise ProcessFailed(f"redis-server did not start\n{procs.tail(proc)}")


def start_gateways(
    procs: Processes, emulators: str, bus_url: str, count: int = 2
) -> list[tuple[subprocess.Popen[bytes], str]]:
    env = switchboard_env(emulators)
    # Plain polling (no long poll): B4 measures that one instance polls a call, once per
    # interval, whatever the number of subscribers.
    env.update(
        SWITCHBOARD_BROADCAST_URL=bus_url,
        SWITCHBOARD_POLL_INTERVAL=str(INTERVAL),
        SWITCHBOARD_LONG_POLL="0",
    )
    gateways = []
    for k in range(count):
        port = free_port()
        argv = [PYTHON, "-m", "app", "--host", "127.0.0.1", "--port", str(port)]
        scheme = bus_url.split(":", 1)[0]
        proc = procs.start(f"gateway-{scheme}-{k}", argv, env=env)
        gateways.append((proc, f"http://127.0.0.1:{port}"))
    for proc, url in gateways:
        procs.wait_http(proc, f"{url}/healthz")
    return gateways


async def measure(
    urls: list[str], subscribers: int, window: float, requests: RequestLog, bus: str
) -> dict[str, Any]:
    opened = []
    try:
        for k, url in enumerate(urls):  # half on each gateway
            share = subscribers * (k + 1) // len(urls) - subscribers * k // len(urls)
            ws_url = url.replace("http://", "ws://") + "/graphql"
            subs, problems = await open_subscribers(ws_url, [CALL], 0, share, deflate=False)
            opened += subs
            if problems:
                raise RuntimeError(f"{len(problems)} subscribers failed: {problems[:3]}")
        states = {s.states[0][0] for s in opened}
        await asyncio.sleep(2.0)  # leases taken, first reads done
        await asyncio.to_thread(requests.reset)
        started = time.monotonic()
        await asyncio.sleep(window)
        entries = await asyncio.to_thread(requests.entries)
        measured = time.monotonic() - started
        alive = sum(1 for s in opened if s.problem is None)
    finally:
        for subscriber in opened:
            subscriber.close()
    polls = sum(
        1
        for e in entries
        if e["vendor"] == "oracle" and e["method"] == "GET" and e["path"].endswith(STATUS_PATH)
    )
    return {
        "subscribers": subscribers,
        "gateways": len(urls),
        "bus": bus,
        "first_state": sorted(states),
        "window_s": round(measured, 2),
        "poll_interval_s": INTERVAL,
        "polls": polls,
        "polls_per_interval": round(polls * INTERVAL / measured, 2),
        "other_vendor_requests": len(entries) - polls,
        "subscribers_alive_after": alive,
    }


def _bus_label(bus: str) -> str:
    return "Redis" if bus.startswith("redis") else "memory:// each: control"


def report(cases: list[dict[str, Any]], machine: dict[str, Any], took: float) -> None:
    rows = [
        [
            c["subscribers"],
            f"{c['gateways']} ({_bus_label(c['bus'])})",
            f"{c['poll_interval_s']} s",
            f"{c['window_s']} s",
            c["polls"],
            c["polls_per_interval"],
            c["other_vendor_requests"],
        ]
        for c in cases
    ]
    table = results.table(
        [
            "subscribers",
            "gateways (bus)",
            "poll interval",
            "window",
            "status polls",
            "polls / interval",
            "other vendor requests",
        ],
        rows,
    )
    redis_cases = [c for c in cases if c["bus"].startswith("redis")]
    verdict = ", ".join(
        f"S={c['subscribers']}: {c['polls_per_interval']} "
        f"({'met' if round(c['polls_per_interval']) == 1 else 'NOT met'})"
        for c in redis_cases
    )
    results.write_section(
        "b4_polling",
        f"""## B4 — polling economy: one poll-only call, two instances over Redis

Measured {results.now()} on {results.machine_line(machine)}; B4 took {took:.0f} s;
{results.source_line(results.source())}.

S websocket subscribers of `callUpdated` on the connected Oracle demo call `{CALL}`,
half on each of two `python -m app` instances sharing a redis-server of their own
(SWITCHBOARD_BROADCAST_URL, SWITCHBOARD_POLL_INTERVAL={INTERVAL}); upstream status polls
of that call counted in the emulators' request log over the window. polls / interval =
polls x interval / window: 1.0 = one poller (a hair under 1: the next poll waits the
interval after the previous answer), 2.0 = both instances poll. The control row runs
the instances without Redis (each its own memory:// bus), where both must poll.

{table}

Target (exactly one poll per interval whatever S): {verdict}.

Commands:

```sh
{results.command_line()}
redis-server --bind 127.0.0.1 --port R --save '' --appendonly no
python -m app emulate --no-simulate --host 127.0.0.1 --port E
SWITCHBOARD_*_URL=http://127.0.0.1:E/<vendor> (+ demo credentials) SWITCHBOARD_SIMULATE=0 \\
  SWITCHBOARD_BROADCAST_URL=redis://127.0.0.1:R/0 SWITCHBOARD_POLL_INTERVAL={INTERVAL} \\
  SWITCHBOARD_LONG_POLL=0 \\
  python -m app --host 127.0.0.1 --port A   # and again on port B
GET /_emulator/requests  # after DELETE /_emulator/requests and the window
```

Raw numbers: `bench/results/b4_polling.json`.""",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.b4_polling", description=__doc__)
    parser.add_argument("--subscribers", default="20,200", help="comma-separated S values")
    parser.add_argument("--window", type=float, default=10.0, help="seconds counted")
    parser.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="skip the control run without Redis (memory:// per instance: 2 pollers)",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    machine = results.machine()
    cases = []
    with Processes() as procs:  # waits while another benchmark runs
        started = time.monotonic()
        redis_url = start_redis(procs)
        _, emulators = start_emulators(procs)
        requests = RequestLog(emulators)
        runs = [(redis_url, int(s)) for s in args.subscribers.split(",")]
        if args.control:
            # Each instance on its own memory:// bus: no shared lease, so both poll. Shows
            # that the count would see a second poller.
            runs.append(("memory://", int(args.subscribers.split(",")[0])))
        gateways: list[tuple[subprocess.Popen[bytes], str]] = []
        current_bus = None
        for bus, subscribers in runs:
            if bus != current_bus:  # fresh gateways for each bus
                for proc, _ in gateways:
                    procs.stop(proc)
                gateways, current_bus = start_gateways(procs, emulators, bus), bus
            urls = [url for _, url in gateways]
            log(f"B4 {subscribers} subscribers over {len(urls)} gateways, bus {bus}")
            case = asyncio.run(measure(urls, subscribers, args.window, requests, bus))
            log(
                f"  {case['polls']} polls in {case['window_s']} s = "
                f"{case['polls_per_interval']} per {INTERVAL} s interval"
            )
            cases.append(case)
    took = time.monotonic() - started
    payload = {
        "benchmark": "B4 polling economy",
        "command": results.command_line(),
        "date": results.now(),
        "machine": machine,
        "source": results.source(),
        "took_s": round(took, 1),
        "call": CALL,
        "target_polls_per_interval": 1.0,
        "cases": cases,
    }
    path = results.write_json("b4_polling", payload)
    report(cases, machine, took)
    log(f"B4 done in {took:.0f} s: {path} and bench/RESULTS.md")


if __name__ == "__main__":
    main()
