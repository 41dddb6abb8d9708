"""B3 fan-out: N websocket subscribers in ONE gateway process, one state change: how fast
does every subscriber hear of it, and what does an idle subscriber cost in memory?

Setup (all on 127.0.0.1, every server on a port the OS picked):
  - the five vendor emulators in a process of their own (bench/lib/procs_ws.py
    `emulators`: `python -m app emulate --no-simulate`, plus a log of Genesys state
    changes with their time and a route creating Established Genesys calls);
  - one fresh gateway process per case, pointed at them (bench/lib/procs_ws.py
    `gateway`: what `python -m app` runs, on uvicorn `--ws auto` = websockets-sansio),
    with SWITCHBOARD_WS_KEEP_ALIVE=600 so that a keep-alive round (a ping to every
    connection at once, every 15 s by default) never lands on the measured change;
  - the subscribers in up to `--workers` client processes (bench/b3_client.py), each
    connection running `subscription { callUpdated(id: $id) { id state } }` over
    graphql-transport-ws, offering permessage-deflate as browsers do. Subscriber i
    follows call i mod `spread`: spread 1 = everyone on one call, 100 = spread evenly
    over 100 calls. Connections open in batches, each batch subscribed before the next.

Measured per case:
  - memory per idle subscriber: gateway VmRSS once every subscriber has received its
    first message (the call's current state) and 1 s has passed, minus VmRSS before the
    first subscriber connected, divided by N (KiB = 1024 bytes); also the number of
    objects the cyclic GC tracks per subscriber (what a full collection has to walk);
  - delivery latency: the change is a `holdCall` mutation on every followed call (one
    request per call, all sent at once). START = the moment the emulated vendor
    switches the call to Held (time.time() inside the emulator's call store); Genesys
    then pushes the change over CometD, the gateway publishes and fans it out. END = the
    moment the subscriber's process reads the `next` message carrying HELD off its
    socket (time.time(), before parsing). Same machine, same clock. p50/p99/max over
    all subscribers; every subscriber must receive it. Also in the JSON: latency from
    the mutation's HTTP answer (the gateway publishes before it answers, so early
    receipts are negative), gateway CPU seconds and GC pauses during the change.

`--auth` (issue 12): the gateway runs with SWITCHBOARD_AUTH=jwt (HS256, a secret made
for the run, bench/lib/tokens.py) and every subscriber sends its own token (its own
`sub`, scope "calls:read calls:all") in connection_init's payload, `{"Authorization":
"Bearer <jwt>"}`; the holdCall mutations carry a supervisor's token (calls:control).
Written to bench/results/b3_fanout_auth.json and its own section of RESULTS.md.

`--compare` adds 10,000-subscriber, one-call runs that change one thing each (see
VARIANTS). Run: `.venv/bin/python -m bench.b3_fanout` (the four main cases, ~1.5 min);
bench/run.sh adds every comparison (~3.5 min). `--profile` also records the gateway with
py-spy (.venv/bin/py-spy, non-blocking, 250 Hz) during each 10,000-subscriber change into
bench/results/b3_profile_<N>x<calls>_<variant>.txt (collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.b3_client import open_subscribers
from bench.lib import results
from bench.lib.http import JsonClient
from bench.lib.procs import PYTHON, Processes, cpu_seconds, exit_on_sigterm, log
from bench.lib.procs_ws import (
    announced,
    emulators_command,
    gateway_command,
    percentile,
    raise_fd_limit,
    rss_kib,
)
from bench.lib.setup import switchboard_env
from bench.lib.tokens import SUPERVISOR, Keys, make_keys

HOLD = "mutation($id: ID!) { holdCall(id: $id) { id state } }"
# Bench-only Python packages (wsproto), installed by bench/run.sh with pip --target.
DEPS = Path(__file__).resolve().parent / ".deps"
PY_SPY = str(Path(PYTHON).with_name("py-spy"))  # bench/run.sh installs it into .venv
TARGETS = {"subscribers": 10_000, "p99_ms": 500, "kib_per_subscriber": 30}


def run_case(
    procs: Processes,
    emulators: str,
    subscribers: int,
    spread: int,
    args: argparse.Namespace,
    *,
    ws: str = "auto",
    deflate: bool = True,
    profile: Path | None = None,
    gc_freeze: bool = False,
    ws_direct: bool = False,
    keys: Keys | None = None,
) -> dict[str, Any]:
    name = f"{subscribers} subscribers on {spread} call{'s' if spread > 1 else ''}"
    log(f"B3 {name} (ws={ws}, deflate={deflate}): starting a fresh gateway")
    env = gateway_env(emulators, ws, keys)
    command = gateway_command(ws, gc_log=True, gc_freeze=gc_freeze, ws_direct=ws_direct)
    gateway = procs.start(f"gateway-{subscribers}-{spread}-{ws}", command, env=env)
    url = announced(procs, gateway)["url"]
    procs.wait_http(gateway, f"{url}/healthz")
    bench_routes = JsonClient(emulators)
    natives = bench_routes.json("POST", "/_bench/genesys/calls", {"count": spread})
    calls = [f"genesys:{native}" for native in natives]
    if keys is not None:
        refuses_anonymous(url, calls)
    objects_before = count_objects(procs, gateway)
    rss_before = rss_kib(gateway.pid)

    started = time.monotonic()
    # When profiling, the clients stay connected past the profile's end (see below).
    linger = 6.0 if profile is not None else 0.0
    clients, outputs = connect(
        procs, url, calls, subscribers, args, deflate=deflate, linger=linger, keys=keys
    )
    connect_s = time.monotonic() - started
    time.sleep(1.0)  # let the first messages' send buffers drain before reading RSS
    rss_after = rss_kib(gateway.pid)
    objects_after = count_objects(procs, gateway)  # with --gc-freeze: then frozen

    profiler = None
    if profile is not None:
        profiler = procs.start(
            "py-spy",
            # --nonblocking: a sampler that stops the process 250 times a second would
            # make the change itself several times slower.
            [PY_SPY if Path(PY_SPY).exists() else "py-spy", "record", "--pid", str(gateway.pid),
             "--rate", "250", "--duration", "5", "--nonblocking", "--format", "raw",
             "--output", str(profile)],
        )  # fmt: skip
        time.sleep(1.0)  # attached before the change
    cpu_before = cpu_seconds(gateway.pid)
    supervisor = None if keys is None else f"Bearer {keys.token('bench-supervisor', SUPERVISOR)}"
    answered = asyncio.run(hold_all(url, calls, supervisor))
    for client in clients:  # each exits once all its subscribers saw HELD (or at 60 s)
        try:
            client.wait(90)
        except subprocess.TimeoutExpired:
            client.send_signal(signal.SIGUSR1)
            client.wait(10)
    cpu_change = cpu_seconds(gateway.pid) - cpu_before
    if profiler is not None:
        profiler.wait(30)
    received = collect(outputs, len(clients))
    shutil.rmtree(outputs, ignore_errors=True)
    changed = vendor_change_times(bench_routes, calls)
    gateway_log = procs.tail(gateway, lines=100_000)
    procs.stop(gateway)

    receipts = received.pop("receipts")
    from_vendor = [(t - changed[calls[i]]) * 1000 for i, t in receipts]
    from_answer = [(t - answered[calls[i]]) * 1000 for i, t in receipts]
    window = (min(changed[call] for call in calls), max(t for _, t in receipts))
    case = {
        "case": name,
        "subscribers": subscribers,
        "spread": spread,
        "ws": ws,
        "client_deflate": deflate,
        "auth": "jwt HS256, one token per subscriber" if keys is not None else "none",
        "workers": len(clients),
        "connect_s": round(connect_s, 2),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "kib_per_subscriber": round((rss_after - rss_before) / subscribers, 1),
        "gc_objects_per_subscriber": round(
            (objects_after["objects"] - objects_before["objects"]) / subscribers, 1
        ),
        "gc_object_types_after": objects_after["types"][:15],
        "gc_frozen_after_connect": gc_freeze,
        "received": len(receipts),
        **received,
        "latency_from_vendor_change_ms": _summary(from_vendor),
        "latency_from_mutation_answer_ms": _summary(from_answer),
        "gateway_cpu_s_during_change": round(cpu_change, 2),
        "change_window_s": round(window[1] - window[0], 3),
        "gc_pauses_in_change_window_ms": gc_pauses(gateway_log, *window),
        "gc_pauses_while_connecting_ms": gc_pauses(gateway_log, 0, window[0] - 1.5),
    }
    lat = case["latency_from_vendor_change_ms"]
    log(
        f"  p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
        f"{case['kib_per_subscriber']} KiB/subscriber; {received['missing']} missing; "
        f"GC in the change {case['gc_pauses_in_change_window_ms']}"
    )
    return case


def refuses_anonymous(url: str, calls: list[str]) -> None:
    """With --auth, a subscriber without a token must not get its subscription: else the
    run would measure a gateway that checks nothing."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    opened, problems = asyncio.run(open_subscribers(ws_url, calls, 0, 1, within=10))
    for subscriber in opened:
        subscriber.close()
    if opened or not problems:
        raise RuntimeError("the gateway took a subscription without a token")
    log(f"  without a token: refused ({problems[0]})")


def gateway_env(emulators: str, ws: str, keys: Keys | None) -> dict[str, str]:
    env = switchboard_env(emulators)
    # No Genesys poll is involved (CometD pushes), but keep a polled change quick too.
    env["SWITCHBOARD_POLL_INTERVAL"] = "0.2"
    # One keep-alive round pings every connection at once; at 15 s it would sometimes
    # land on the measured change and sometimes not. Measured apart (README).
    env["SWITCHBOARD_WS_KEEP_ALIVE"] = "600"
    if keys is not None:  # --auth: every subscriber with its own token
        env.update(keys.switchboard_env)
    if ws == "wsproto":  # kept out of the project's venv: bench/run.sh puts it in DEPS
        env["PYTHONPATH"] = str(DEPS)
    return env


def count_objects(procs: Processes, gateway: subprocess.Popen[bytes]) -> dict[str, Any]:
    """What the gateway's cyclic GC tracks now (SIGUSR2 makes it log the count)."""
    seen = procs.tail(gateway, lines=100_000).count('{"objects"')
    gateway.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = [
            line
            for line in procs.tail(gateway, lines=100_000).splitlines()
            if line.startswith('{"objects"')
        ]
        if len(lines) > seen:
            found: dict[str, Any] = json.loads(lines[-1])
            return found
        time.sleep(0.1)
    raise RuntimeError("the gateway did not count its objects")


def connect(
    procs: Processes,
    url: str,
    calls: list[str],
    subscribers: int,
    args: argparse.Namespace,
    *,
    deflate: bool,
    wait: float = 60.0,
    linger: float = 0.0,
    keys: Keys | None = None,
) -> tuple[list[subprocess.Popen[bytes]], Path]:
    """Start the client processes; return once every subscriber has its first message.
    Each client then waits (at most `wait` s) for HELD, writes what it got and exits.
    With `keys`, subscriber i connects with a token of its own (sub "wallboard-i")."""
    workers = max(1, min(args.workers, math.ceil(subscribers / 1000)))
    outputs = Path(tempfile.mkdtemp(prefix="b3-"))
    tokens = outputs / "tokens.json"
    if keys is not None:
        tokens.write_text(json.dumps([keys.token(f"wallboard-{i}") for i in range(subscribers)]))
    clients = []
    started = time.monotonic()
    for k in range(workers):
        first, stop = k * subscribers // workers, (k + 1) * subscribers // workers
        argv = [
            PYTHON, "-m", "bench.b3_client",
            "--url", url.replace("http://", "ws://") + "/graphql",
            "--calls", json.dumps(calls),
            "--first", str(first), "--count", str(stop - first),
            "--batch", str(args.batch), "--out", str(outputs / f"{k}.json"),
            "--timeout", str(wait), "--linger", str(linger),
        ]  # fmt: skip
        if not deflate:
            argv.append("--no-deflate")
        if keys is not None:
            argv += ["--tokens", str(tokens)]
        clients.append(procs.start(f"b3-client-{k}", argv))
    ready = [announced(procs, client, "ready", within=300) for client in clients]
    failed = sum(r["failed"] for r in ready)
    held = sum(r["ready"] for r in ready)
    took = time.monotonic() - started
    log(f"  {held} subscribed in {took:.1f} s ({failed} failed) with {workers} workers")
    if failed or held != subscribers:
        raise RuntimeError(f"only {held} of {subscribers} subscribed: {ready}")
    return clients, outputs


def collect(outputs: Path, workers: int) -> dict[str, Any]:
    """The workers' receipts [(call index, time)] and their counts of what went wrong."""
    receipts: list[tuple[int, float]] = []
    totals = {"missing": 0, "lost_connections": 0, "extra_messages": 0}
    for k in range(workers):
        out = json.loads((outputs / f"{k}.json").read_text())
        receipts += [(index, t) for index, t in out["received"]]
        totals["missing"] += out["missing"]
        totals["lost_connections"] += out["lost"]
        totals["extra_messages"] += out["extra_messages"]
    return {"receipts": receipts, **totals}


def gc_pauses(gateway_log: str, start: float, end: float) -> dict[str, Any]:
    """The gateway's GC pauses over 5 ms (its --gc-log lines) overlapping start..end."""
    pauses = []
    for line in gateway_log.splitlines():
        if line.startswith('{"gc"'):
            entry = json.loads(line)
            # Logged when the pause ended, `ms` after it began.
            if entry["at"] >= start and entry["at"] - entry["ms"] / 1000 <= end:
                pauses.append((entry["gc"], entry["ms"]))
    return {
        "count": len(pauses),
        "total_ms": round(sum(ms for _, ms in pauses), 1),
        "max_ms": max((ms for _, ms in pauses), default=0.0),
        "full_collections": sum(1 for generation, _ in pauses if generation == 2),
    }


async def hold_all(url: str, calls: list[str], authorization: str | None) -> dict[str, float]:
    """holdCall on every call at once; when each answer arrived (time.time())."""
    answered: dict[str, float] = {}
    limits = aiohttp.TCPConnector(limit=len(calls))
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with aiohttp.ClientSession(connector=limits, headers=headers) as session:

        async def hold(call_id: str) -> None:
            body = {"query": HOLD, "variables": {"id": call_id}}
            async with session.post(f"{url}/graphql", json=body) as response:
                answer = await response.json()
            answered[call_id] = time.time()
            if answer.get("errors") or answer["data"]["holdCall"]["state"] != "HELD":
                raise RuntimeError(f"holdCall {call_id}: {answer}")

        await asyncio.gather(*(hold(call_id) for call_id in calls))
    return answered


def vendor_change_times(emulators: JsonClient, calls: list[str]) -> dict[str, float]:
    """When the emulated vendor switched each call to Held (its first such change)."""
    held: dict[str, float] = {}
    for native, state, at in emulators.json("GET", "/_bench/genesys/changes"):
        if state == "Held":
            held.setdefault(f"genesys:{native}", at)
    missing = [call for call in calls if call not in held]
    if missing:
        raise RuntimeError(f"the vendor never held {missing[:3]}")
    return held


def _summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values_ms, 50), 1),
        "p90": round(percentile(values_ms, 90), 1),
        "p99": round(percentile(values_ms, 99), 1),
        "max": round(max(values_ms), 1) if values_ms else float("nan"),
        "min": round(min(values_ms), 1) if values_ms else float("nan"),
    }


VARIANTS = {
    "main": "as shipped: `python -m app`'s uvicorn (`--ws auto` = websockets-sansio); "
    "clients offer permessage-deflate, as browsers do",
    "no-deflate": "clients offer no permessage-deflate: what the gateway would do with "
    "uvicorn `ws_per_message_deflate=False`",
    "ws-direct": "experiment: /graphql websockets routed straight to the SubscriptionServer, "
    "not through Starlette's middleware and router",
    "gc-freeze": "experiment: the gateway runs gc.collect(); gc.freeze() once everyone is "
    "subscribed, so full collections skip the subscribers' objects",
    "wsproto": "uvicorn `--ws wsproto` (wsproto 1.3.2)",
    "websockets": "uvicorn `--ws websockets` (the legacy websockets implementation)",
}


def report(
    cases: list[dict[str, Any]], machine: dict[str, Any], took: float, *, auth: bool = False
) -> None:
    rows = []
    for c in cases:
        lat, gc = c["latency_from_vendor_change_ms"], c["gc_pauses_in_change_window_ms"]
        rows.append(
            [
                f"{c['subscribers']:,}",
                c["spread"],
                c["variant"],
                c.get("run", 1),
                f"{c['received']:,}",
                lat["p50"],
                lat["p99"],
                lat["max"],
                c["kib_per_subscriber"],
                c["gc_objects_per_subscriber"],
                f"{gc['full_collections']} ({gc['total_ms']:.0f} ms)",
                c["gateway_cpu_s_during_change"],
                c["connect_s"],
            ]
        )
    table = results.table(
        [
            "subscribers",
            "calls",
            "variant",
            "run",
            "received",
            "p50 ms",
            "p99 ms",
            "max ms",
            "KiB / idle subscriber",
            "GC objects / subscriber",
            "full GCs in the change (pause)",
            "gateway CPU s in the change",
            "connect s",
        ],
        rows,
    )
    variants = "\n".join(
        f"- `{name}`: {text}"
        for name, text in VARIANTS.items()
        if any(c["variant"] == name for c in cases)
    )
    verdicts = []
    for (subscribers, spread), runs in _target_runs(cases).items():
        p99s = [c["latency_from_vendor_change_ms"]["p99"] for c in runs]
        kibs = [c["kib_per_subscriber"] for c in runs]
        p99, kib = statistics.median(p99s), statistics.median(kibs)
        held = min(c["received"] for c in runs)
        verdicts.append(
            f"- {subscribers:,} on {spread} call(s), median of {len(runs)} run(s): "
            f"held {held:,}/{subscribers:,} (fewest); p99 {p99} ms "
            f"({_met(p99 <= TARGETS['p99_ms'])}; runs {', '.join(map(str, p99s))}); "
            f"{kib} KiB/subscriber ({_met(kib <= TARGETS['kib_per_subscriber'])})"
        )
    verdict = "\n".join(verdicts)
    cases_repeat = max((len(r) for r in _target_runs(cases).values()), default=1)
    name, title, auth_note = "b3_fanout", "", ""
    if auth:
        name, title = "b3_fanout_auth", " — authenticated (issue 12)"
        auth_note = (
            "\nAuthentication on (`--auth`): SWITCHBOARD_AUTH=jwt with an HS256 secret made "
            "for the run; every subscriber sends its own token (`sub` wallboard-<i>, scope "
            '"calls:read calls:all", `iss`, `aud`, `exp` in a day) in connection_init\'s '
            'payload, `{"Authorization": "Bearer <jwt>"}`; the holdCall mutations carry a '
            "supervisor's token (calls:control).\n"
        )
    results.write_section(
        name,
        f"""## B3 — fan-out: websocket subscribers of `callUpdated` in one gateway process{title}

Measured {results.now()} on {results.machine_line(machine)}; the subscribers' processes
run on the same machine. B3 took {took:.0f} s; {results.source_line(results.source())}.

Latency = from the moment the emulated vendor switched the call to Held (a `holdCall`
mutation per call, all sent at once; Genesys pushes the change over CometD) to the
moment a subscriber's process read the HELD `next` message off its socket. Memory =
gateway VmRSS growth per subscriber once all are subscribed. One run per row, each with
a fresh gateway: how fast this machine runs drifts by tens of percent from minute to
minute, so the cases the targets name run {cases_repeat} times and are judged by the median.
{auth_note}
{table}

Variants:
{variants}

Targets (10,000 held, p99 <= {TARGETS["p99_ms"]} ms, <= {TARGETS["kib_per_subscriber"]} KiB per idle
subscriber), as shipped:
{verdict}

Commands:

```sh
{results.command_line()}
.venv/bin/python -m bench.lib.procs_ws emulators  # = python -m app emulate --no-simulate
SWITCHBOARD_*_URL=... SWITCHBOARD_POLL_INTERVAL=0.2 SWITCHBOARD_WS_KEEP_ALIVE=600 \\
  .venv/bin/python -m bench.lib.procs_ws gateway --ws auto --gc-log  # = python -m app
.venv/bin/python -m bench.b3_client --url ws://127.0.0.1:G/graphql --calls '[...]' \\
  --first F --count N/4 --batch 250 --out ...   # x4 processes
```

Raw numbers (also latency from the mutation's answer, GC pauses while connecting, the
commonest object types): `bench/results/{name}.json`. Columns: bench/README.md.""",
    )


def _target_runs(cases: list[dict[str, Any]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The runs of each main case with the targets' number of subscribers."""
    runs: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for c in cases:
        if c["subscribers"] >= TARGETS["subscribers"] and c["variant"] == "main":
            runs.setdefault((c["subscribers"], c["spread"]), []).append(c)
    return runs


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def plan(args: argparse.Namespace) -> list[tuple[int, int, str, int]]:
    """(subscribers, spread, variant, run) of every case: the main grid, the cases with
    the targets' 10,000 subscribers `--repeat` times, then the comparisons (each 10,000
    subscribers on one call, one thing changed)."""
    cases = [
        (int(n), int(s), "main", run)
        for n in args.subscribers.split(",")
        for s in args.spreads.split(",")
        for run in range(1, (args.repeat if int(n) >= TARGETS["subscribers"] else 1) + 1)
    ]
    return cases + [(10_000, 1, extra, 1) for extra in args.compare.split(",") if extra]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.b3_fanout", description=__doc__)
    parser.add_argument("--subscribers", default="1000,10000", help="comma-separated")
    parser.add_argument("--spreads", default="1,100", help="calls the subscribers follow")
    parser.add_argument("--ws", default="auto", help="uvicorn --ws for the main cases")
    parser.add_argument(
        "--compare",
        default="",
        help="extra 10,000 x 1 runs, comma-separated: wsproto, websockets (uvicorn --ws), "
        "no-deflate (clients offer no permessage-deflate), gc-freeze (gateway runs "
        "gc.collect(); gc.freeze() once all subscribed: an experiment)",
    )
    parser.add_argument("--workers", type=int, default=4, help="client processes (max)")
    parser.add_argument("--batch", type=int, default=250, help="connects in flight/worker")
    parser.add_argument("--profile", action="store_true", help="py-spy the 10k changes")
    parser.add_argument(
        "--auth",
        action="store_true",
        help="SWITCHBOARD_AUTH=jwt (HS256); each subscriber sends its own token (issue 12)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each main case with 10,000 subscribers (targets: the median run)",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    raise_fd_limit()
    machine = results.machine()
    cases: list[dict[str, Any]] = []
    with Processes() as procs, tempfile.TemporaryDirectory() as tmp:  # waits for the lock
        started = time.monotonic()
        keys = make_keys("HS256", Path(tmp)) if args.auth else None
        emulators_proc = procs.start("emulators", emulators_command())
        emulators = announced(procs, emulators_proc)["url"]
        for subscribers, spread, variant, run in plan(args):
            options: dict[str, Any] = {"ws": args.ws}
            if variant == "no-deflate":
                options["deflate"] = False
            elif variant == "gc-freeze":
                options["gc_freeze"] = True
            elif variant == "ws-direct":
                options["ws_direct"] = True
            elif variant != "main":
                options["ws"] = variant
            if args.profile and subscribers >= 10_000:
                name = f"b3_profile_{subscribers}x{spread}_{variant}.txt"
                options["profile"] = results.RESULTS_DIR / name
            case = run_case(procs, emulators, subscribers, spread, args, keys=keys, **options)
            cases.append({"variant": variant, "run": run, **case})
    took = time.monotonic() - started
    payload = {
        "benchmark": "B3 fan-out",
        "command": results.command_line(),
        "date": results.now(),
        "machine": machine,
        "source": results.source(),
        "took_s": round(took, 1),
        "targets": TARGETS,
        "cases": cases,
    }
    path = results.write_json("b3_fanout_auth" if args.auth else "b3_fanout", payload)
    report(cases, machine, took, auth=args.auth)
    log(f"B3 done in {took:.0f} s: {path} and bench/RESULTS.md")


if __name__ == "__main__":
    main()
