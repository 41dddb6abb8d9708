"""B3 (idle side): what 10,000 idle websocket subscribers cost the gateway between changes.

The gateway used to ping every graphql-transport-ws connection every
SWITCHBOARD_WS_KEEP_ALIVE seconds (default 15), all in one round, each answered with a
pong; it now sends those clients no application pings (uvicorn's websocket-level pings
keep them alive) and keeps "ka" rounds for legacy graphql-ws clients only. This
measures those rounds: N subscribers on one call (same setup as
bench/b3_fanout.py: emulators and gateway processes, subscribers in client processes
that answer pings like the graphql-ws library does), keep-alive shortened to
`--keep-alive` seconds so that a few rounds fit in `--observe` seconds, and nothing else
happening. Per round:
  - pings: how many subscribers got one, and the span from the first to the last
    receipt (how long a round keeps the gateway's loop busy, as the clients see it);
  - gateway CPU seconds from the round's first ping to 1 s after its last (sampled
    every 50 ms from /proc), pongs included;
  - full garbage collections in that span (a round allocates per connection and so
    triggers the collections that walk every subscriber's objects).
A first gateway with keep-alive 600 s (no round) gives the baseline CPU rate of N idle
connections; what the rounds add = the CPU of the stretch of rounds beyond that rate,
per round. The share of a core at the default interval = that / 15 s.

Run: `.venv/bin/python -m bench.b3_keepalive` (~70 s); `--subscribers 10000
--keep-alive 5 --observe 20`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from typing import Any

from bench.b3_fanout import connect, gc_pauses
from bench.lib import results
from bench.lib.http import JsonClient
from bench.lib.procs import Processes, cpu_seconds, exit_on_sigterm, log
from bench.lib.procs_ws import announced, emulators_command, gateway_command, raise_fd_limit
from bench.lib.setup import switchboard_env

DEFAULT_KEEP_ALIVE = 15.0  # SWITCHBOARD_WS_KEEP_ALIVE's default (README)
OBSERVE_NOTE = "the --observe window"
SETTLE = 1.0  # seconds after a round's last ping still counted: the pongs come back


def measure(procs: Processes, args: argparse.Namespace) -> dict[str, Any]:
    emulators_proc = procs.start("emulators", emulators_command())
    emulators = announced(procs, emulators_proc)["url"]
    natives = JsonClient(emulators).json("POST", "/_bench/genesys/calls", {"count": 1})
    call = f"genesys:{natives[0]}"
    log(f"B3 keep-alive: {args.subscribers} idle subscribers, first without keep-alive rounds")
    baseline = observe(procs, emulators, call, args, keep_alive=600.0)
    baseline_rate = (baseline.cpu[-1][1] - baseline.cpu[0][1]) / baseline.seconds
    log(f"  gateway CPU without rounds: {baseline_rate:.1%} of a core")
    log(f"  then a round every {args.keep_alive:g} s")
    run = observe(procs, emulators, call, args, keep_alive=args.keep_alive)
    found = [
        (first, last, count)
        for first, last, count in _rounds(run.pings, gap=args.keep_alive / 2)
        # Rounds while still connecting, or cut off by the end, are not whole rounds.
        if first >= run.cpu[0][0] and last + SETTLE <= run.cpu[-1][0]
    ]
    rounds = []
    for first, last, count in found:
        cpu = _cpu_between(run.cpu, first, last + SETTLE)
        gc = gc_pauses(run.gateway_log, first, last + SETTLE)
        rounds.append(
            {
                "pings": count,
                "span_ms": round((last - first) * 1000, 1),
                "gateway_cpu_s_in_window": round(cpu, 2),
                "full_gcs": gc["full_collections"],
                "gc_pause_ms": gc["total_ms"],
            }
        )
        log(f"  round: {count} pings over {rounds[-1]['span_ms']} ms, CPU {cpu:.2f} s, GC {gc}")
    # What the rounds add: all the CPU of the observed stretch beyond the baseline rate,
    # per round that fell in it (a round's pongs and collections spill past any window).
    if found:
        stretch = [(t, c) for t, c in run.cpu if found[0][0] <= t <= found[-1][1] + SETTLE]
    else:
        # No pings at all: the gateway sends graphql-transport-ws clients no application
        # pings (uvicorn's websocket pings keep them alive), so what rounds would add is
        # whatever the observed stretch costs beyond the baseline.
        log("  no keep-alive pings reached the graphql-transport-ws subscribers")
        stretch = run.cpu
    extra = stretch[-1][1] - stretch[0][1] - baseline_rate * (stretch[-1][0] - stretch[0][0])
    per_round = max(0.0, extra) / max(1, len(found))
    return {
        "subscribers": args.subscribers,
        "keep_alive_s": args.keep_alive,
        "baseline_cpu_share_without_rounds": round(baseline_rate, 3),
        "rounds": rounds,
        "extra_cpu_s_per_round": round(per_round, 2),
        "core_share_at_default_interval": round(per_round / DEFAULT_KEEP_ALIVE, 3),
    }


@dataclass
class Observed:
    cpu: list[tuple[float, float]]  # (unix time, gateway CPU seconds so far), every 50 ms
    seconds: float
    pings: list[float]  # every ping receipt time, all subscribers
    gateway_log: str


def observe(
    procs: Processes, emulators: str, call: str, args: argparse.Namespace, *, keep_alive: float
) -> Observed:
    """A fresh gateway with `keep_alive`, N subscribers on `call`, watched for --observe s."""
    env = switchboard_env(emulators)
    env["SWITCHBOARD_WS_KEEP_ALIVE"] = str(keep_alive)
    gateway = procs.start(
        f"gateway-ka{keep_alive:g}", gateway_command("auto", gc_log=True), env=env
    )
    url = announced(procs, gateway)["url"]
    procs.wait_http(gateway, f"{url}/healthz")
    # The clients wait for a HELD that never comes: they record pings until `wait` ends.
    clients, outputs = connect(
        procs, url, [call], args.subscribers, args, deflate=True, wait=args.observe
    )
    time.sleep(1.0)  # the last batch's first messages
    cpu: list[tuple[float, float]] = []
    while any(client.poll() is None for client in clients):
        cpu.append((time.time(), cpu_seconds(gateway.pid)))
        time.sleep(0.05)
    pings = sorted(
        t
        for k in range(len(clients))
        for t in json.loads((outputs / f"{k}.json").read_text())["pings"]
    )
    shutil.rmtree(outputs, ignore_errors=True)
    gateway_log = procs.tail(gateway, lines=100_000)
    procs.stop(gateway)
    return Observed(cpu, cpu[-1][0] - cpu[0][0], pings, gateway_log)


def _rounds(pings: list[float], gap: float) -> list[tuple[float, float, int]]:
    """(first, last, count) of each burst of ping receipts (bursts apart by > gap)."""
    found: list[tuple[float, float, int]] = []
    for t in pings:
        if found and t - found[-1][1] <= gap:
            first, _, count = found[-1]
            found[-1] = (first, t, count + 1)
        else:
            found.append((t, t, 1))
    return found


def _cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    inside = [cpu for t, cpu in samples if start - 0.05 <= t <= end]
    return inside[-1] - inside[0] if len(inside) > 1 else 0.0


def report(case: dict[str, Any], machine: dict[str, Any], took: float) -> None:
    rows = [
        [
            k + 1,
            f"{r['pings']:,}",
            r["span_ms"],
            r["gateway_cpu_s_in_window"],
            f"{r['full_gcs']} ({r['gc_pause_ms']:.0f} ms)",
        ]
        for k, r in enumerate(case["rounds"])
    ]
    table = results.table(
        [
            "round",
            "pings received",
            "first to last ping, ms",
            "gateway CPU s, first ping to last + 1 s",
            "GC pauses > 5 ms: full (total)",
        ],
        rows,
    )
    share = case["core_share_at_default_interval"]
    results.write_section(
        "b3_keepalive",
        f"""## B3 (idle) — keep-alive rounds with {case["subscribers"]:,} idle subscribers

Measured {results.now()} on {results.machine_line(machine)}; B3 keep-alive took
{took:.0f} s; {results.source_line(results.source())}.

One gateway, {case["subscribers"]:,} graphql-transport-ws subscribers on one call (the clients
offer permessage-deflate and answer each ping with a pong, as graphql-ws does); nothing
else happens. First {case["subscribers"]:,} subscribers with SWITCHBOARD_WS_KEEP_ALIVE=600 (no
round while watched): the gateway's baseline is {case["baseline_cpu_share_without_rounds"]:.1%}
of a core. Then a fresh gateway with SWITCHBOARD_WS_KEEP_ALIVE={case["keep_alive_s"]:g}, so
that several rounds fit in {OBSERVE_NOTE}; a round pings every connection at once:

{table}

Each round adds {case["extra_cpu_s_per_round"]} CPU s over the baseline (all CPU of the
stretch of rounds beyond the baseline rate, per round). At the default 15 s interval:
{share:.1%} of a core, in bursts of about a second during which no change is delivered.

Command: `{results.command_line()}` (setup as in B3). Raw numbers:
`bench/results/b3_keepalive.json`.""",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.b3_keepalive", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--keep-alive", type=float, default=5.0, help="seconds between rounds")
    parser.add_argument("--observe", type=float, default=20.0, help="seconds watched")
    parser.add_argument("--workers", type=int, default=4, help="client processes (max)")
    parser.add_argument("--batch", type=int, default=250, help="connects in flight/worker")
    args = parser.parse_args()
    exit_on_sigterm()
    raise_fd_limit()
    machine = results.machine()
    with Processes() as procs:  # waits while another benchmark runs
        started = time.monotonic()
        case = measure(procs, args)
    took = time.monotonic() - started
    payload = {
        "benchmark": "B3 keep-alive rounds",
        "command": results.command_line(),
        "date": results.now(),
        "machine": machine,
        "source": results.source(),
        "took_s": round(took, 1),
        **case,
    }
    path = results.write_json("b3_keepalive", payload)
    report(case, machine, took)
    log(f"B3 keep-alive done in {took:.0f} s: {path} and bench/RESULTS.md")


if __name__ == "__main__":
    main()
