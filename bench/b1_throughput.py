"""B1 — query throughput: one Genesys call, `call(id)`, through three servers.

What it measures: requests per second and latency (p50, p99) of a query for one Genesys
call under a closed-loop load of 32 and 256 concurrent connections (wrk, one POST after
another per connection), through

  (a) switchboard            `python -m app`, Genesys adapter, Strawberry GraphQL
  (b) raw Python proxy       bench/raw_proxy.py: same HTTP stack, no GraphQL ("Python limit")
  (c) Hive Gateway           @graphql-hive/gateway over a GraphQL Mesh OpenAPI source
                             composed from bench/openapi/genesys.yaml

all reading the same call from the same Genesys emulator (`python -m app emulate
--no-simulate`, its own process). For each point it also records the vendor requests the
emulator saw per answered query (GET /_emulator/requests, reset before the point) and
the CPU time each server process used per query (from /proc), which is what a server
costs independently of how the 2 cores are shared between load generator, emulator and
server.

How: all servers start on free ports and stay up for the whole run; each first gets
`--initial-warmup` seconds of load (V8's JIT, caches, pools). Then, per concurrency,
`--rounds` rounds; in each, every server in turn (the order rotating) gets a 1 s warm-up
(discarded) and `--duration` seconds measured. This machine's speed drifts by tens of
percent over minutes: servers measured back to back within a round, and the median of
the rounds, keep that drift out of the ratios. A round during which other programs used
more than 0.2 cores is flagged. Targets: (a) >= 2 x (c) and (a) >= 0.5 x (b), in req/s
at each concurrency.

    .venv/bin/python -m bench.b1_throughput [--rounds 3] [--duration 4] [--warmup 1]

Writes bench/results/b1_throughput.json and the B1 section of bench/RESULTS.md. Needs wrk
and bench/node_modules (bench/run.sh installs both).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import aiohttp

from app.emulators.base import DEMO_CREDENTIALS
from bench.lib import wrk
from bench.lib.http import JsonClient
from bench.lib.procs import (
    PYTHON,
    Processes,
    ProcessFailed,
    cpu_seconds,
    exit_on_sigterm,
    free_port,
    log,
    machine_busy_seconds,
)
from bench.lib.results import (
    command_line,
    machine,
    machine_line,
    now,
    source,
    source_line,
    table,
    write_json,
    write_section,
)
from bench.lib.setup import RequestLog, start_emulators, start_switchboard

BENCH = Path(__file__).resolve().parent
NODE_BIN = BENCH / "node_modules" / ".bin"

CALL_ID = "01RCC3N118B1V0SL8O7GK2LAES000010"  # the Genesys emulator's demo call
# The same fields from each server; (c)'s schema is the OpenAPI document's, so its query
# has that shape (the 404 answer makes the field a union, hence the fragment).
SWITCHBOARD_QUERY = (
    f'{{ call(id: "genesys:{CALL_ID}") {{ id state vendorState '
    "... on GenesysCall { connId dnis } } }"
)
HIVE_QUERY = (
    f'{{ genesysCall(id: "{CALL_ID}") {{ ... on CallEnvelope '
    "{ call { id state connId dnis } } } }"
)
CONCURRENCIES = (32, 256)
# Cores used by other programs during a round above which the round is flagged.
DISTURBED = 0.2


@dataclass
class Target:
    key: str
    label: str
    url: str
    pid: int
    query: str
    check: Callable[[dict[str, Any]], bool]  # is this `data` the right answer?


_NO_METRICS = {"SWITCHBOARD_METRICS": "0"}
_SWITCHBOARD_LABELS = {
    "switchboard": "(a) switchboard",
    "switchboard-nometrics": "(a') switchboard, metrics off",
}


def switchboard_target(
    procs: Processes, emulators: str, key: str, extra_env: dict[str, str]
) -> Target:
    proc, base = start_switchboard(procs, emulators, extra_env=extra_env)
    label = _SWITCHBOARD_LABELS[key]
    return Target(key, label, f"{base}/graphql", proc.pid, SWITCHBOARD_QUERY, _switchboard_answer)


def _switchboard_answer(data: dict[str, Any]) -> bool:
    call = data.get("call") or {}
    return call.get("id") == f"genesys:{CALL_ID}" and call.get("connId") is not None


def _hive_answer(data: dict[str, Any]) -> bool:
    call = (data.get("genesysCall") or {}).get("call") or {}
    return call.get("id") == CALL_ID and call.get("connId") is not None


def genesys_session(genesys_url: str) -> str:
    """Open a GWS session (JSESSIONID) for Hive Gateway to send, as switchboard's adapter
    and the raw proxy keep theirs; without one, every request would open a new session."""
    creds = DEMO_CREDENTIALS["genesys"]
    request = urllib.request.Request(
        f"{genesys_url}/api/v2/me/calls",
        headers={"Authorization": aiohttp.encode_basic_auth(creds["username"], creds["password"])},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        for header in response.headers.get_all("Set-Cookie") or ():
            cookie: SimpleCookie = SimpleCookie(header)
            if "JSESSIONID" in cookie:
                return cookie["JSESSIONID"].value
    raise RuntimeError("the Genesys emulator opened no session")


def compose_supergraph(out_dir: Path) -> Path:
    """bench/openapi/mesh.config.ts -> supergraph.graphql (GraphQL Mesh Compose)."""
    import subprocess

    compose = NODE_BIN / "mesh-compose"
    if not compose.exists():
        raise RuntimeError("bench/node_modules is missing: run `npm ci` in bench/ (run.sh does)")
    out = out_dir / "supergraph.graphql"
    subprocess.run(
        [str(compose), "-c", "openapi/mesh.config.ts", "-o", str(out)],
        cwd=BENCH,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def start_hive(procs: Processes, supergraph: Path, genesys_url: str, session: str) -> Target:
    port = free_port()
    creds = DEMO_CREDENTIALS["genesys"]
    proc = procs.start(
        "hive-gateway",
        [
            str(NODE_BIN / "hive-gateway"),
            "supergraph",
            str(supergraph),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--fork",
            "1",  # one process, like switchboard's one uvicorn worker
            "--disable-websockets",
        ],
        env={
            "NODE_ENV": "production",
            "GENESYS_URL": genesys_url,
            "GENESYS_AUTHORIZATION": aiohttp.encode_basic_auth(
                creds["username"], creds["password"]
            ),
            "GENESYS_JSESSIONID": session,
        },
        cwd=BENCH,
    )
    procs.wait_http(proc, f"http://127.0.0.1:{port}/readiness", timeout=60)
    return Target(
        "hive",
        "(c) Hive Gateway + Mesh OpenAPI",
        f"http://127.0.0.1:{port}/graphql",
        proc.pid,
        HIVE_QUERY,
        _hive_answer,
    )


def start_raw_proxy(procs: Processes, genesys_url: str) -> Target:
    port = free_port()
    proc = procs.start(
        "raw-proxy",
        [PYTHON, "-m", "bench.raw_proxy", "--port", str(port), "--genesys-url", genesys_url],
    )
    procs.wait_http(proc, f"http://127.0.0.1:{port}/healthz")
    return Target(
        "raw",
        "(b) raw Starlette + aiohttp proxy",
        f"http://127.0.0.1:{port}/graphql",
        proc.pid,
        SWITCHBOARD_QUERY,
        _switchboard_answer,
    )


def check_answer_of(url: str, query: str) -> dict[str, Any]:
    """POST `query` once; its `data`, or ProcessFailed for any error."""
    client = JsonClient(url.removesuffix("/graphql"))
    try:
        status, answer = client.request("POST", "/graphql", {"query": query})
    finally:
        client.close()
    if status != 200 or not isinstance(answer, dict) or answer.get("errors"):
        raise ProcessFailed(f"{url} answered {status}: {json.dumps(answer)[:500]}")
    return dict(answer.get("data") or {})


def check_answer(target: Target) -> None:
    """One query first: a server that answers fast but wrong must not be measured."""
    data = check_answer_of(target.url, target.query)
    if not target.check(data):
        raise ProcessFailed(f"{target.label} answered wrong data: {json.dumps(data)[:500]}")


def upstream_per_query(target: Target, requests: RequestLog, queries: int = 50) -> float:
    """Vendor requests per query, exactly: `queries` one after another, nothing in flight
    before or after (under load, queries still in flight when wrk stops reached the
    vendor but were not counted as answered)."""
    client = JsonClient(target.url.removesuffix("/graphql"))
    requests.reset()
    try:
        for _ in range(queries):
            client.json("POST", "/graphql", {"query": target.query})
    finally:
        client.close()
    return requests.counts()["genesys"]["calls"] / queries


def cpu_snapshot(target: Target, emulator_pid: int) -> dict[str, float]:
    """CPU seconds so far: the server, the emulators, this script's children (wrk), this
    script, and the whole machine."""
    return {
        "server": cpu_seconds(target.pid),
        "emulator": cpu_seconds(emulator_pid),
        "wrk": _rusage_seconds(resource.RUSAGE_CHILDREN),
        "self": _rusage_seconds(resource.RUSAGE_SELF),
        "machine": machine_busy_seconds(),
    }


def _rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(
    target: Target,
    concurrency: int,
    duration: float,
    warmup: float,
    requests: RequestLog,
    emulator_pid: int,
) -> dict[str, Any]:
    """One round of one server at one concurrency: `warmup` seconds discarded, then
    `duration` seconds measured."""
    body = json.dumps({"query": target.query})
    check_answer(target)
    if warmup > 0:
        wrk.run(target.url, body, connections=concurrency, duration=warmup)
        requests.settle()
    requests.reset()
    before = cpu_snapshot(target, emulator_pid)
    summary = wrk.run(target.url, body, connections=concurrency, duration=duration)
    after = cpu_snapshot(target, emulator_pid)
    # What the server still works off after wrk stopped reached the vendor all the same.
    requests.settle()
    used = {key: after[key] - before[key] for key in before}
    seconds = summary["duration_us"] / 1e6
    ours = used["server"] + used["emulator"] + used["wrk"] + used["self"]
    return {
        "rps": round(summary["rps"], 1),
        "p50_ms": summary["latency_us"]["p50"] / 1000,
        "p99_ms": summary["latency_us"]["p99"] / 1000,
        "requests": summary["requests"],
        "seconds": seconds,
        "bad_answers": summary["bad_answers"],
        "socket_errors": summary["errors"],
        "bad_sample": summary["bad_sample"],
        "upstream_requests": requests.counts()["genesys"]["calls"],
        "server_cpu_s": used["server"],
        "emulator_cpu_s": used["emulator"],
        "wrk_cpu_s": used["wrk"],
        # Busy CPU of the machine not used by this benchmark: other programs disturbing
        # the measurement (should be near 0 on a quiet machine).
        "other_cpu_s": max(0.0, used["machine"] - ours),
    }


def combine(target: Target, concurrency: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A point from its rounds: medians of rate and latencies, CPU per query over all."""
    answered = max(sum(r["requests"] for r in rounds), 1)
    seconds = sum(r["seconds"] for r in rounds)
    return {
        "target": target.key,
        "label": target.label,
        "concurrency": concurrency,
        "rps": statistics.median(r["rps"] for r in rounds),
        "rps_rounds": [r["rps"] for r in rounds],
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "requests": answered,
        "bad_answers": sum(r["bad_answers"] for r in rounds),
        "socket_errors": sum(sum(r["socket_errors"].values()) for r in rounds),
        # Under load: a little above the exact count (measured apart, one query after
        # another), since queries in flight when wrk stops reach the vendor unanswered.
        "upstream_per_answered_under_load": round(
            sum(r["upstream_requests"] for r in rounds) / answered, 3
        ),
        "server_cpu_ms_per_query": round(
            sum(r["server_cpu_s"] for r in rounds) * 1000 / answered, 3
        ),
        "server_cpu_cores": round(sum(r["server_cpu_s"] for r in rounds) / seconds, 2),
        "emulator_cpu_ms_per_query": round(
            sum(r["emulator_cpu_s"] for r in rounds) * 1000 / answered, 3
        ),
        "wrk_cpu_cores": round(sum(r["wrk_cpu_s"] for r in rounds) / seconds, 2),
        "other_cpu_cores": round(sum(r["other_cpu_s"] for r in rounds) / seconds, 2),
        "rounds": rounds,
    }


def summarise(points: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """(a)/(c) and (a)/(b) per concurrency: of the medians, and of each round (the servers
    of a round ran back to back, so a round's ratio is the least disturbed by the
    machine's drift)."""
    ratios: dict[str, dict[str, Any]] = {}
    for concurrency in CONCURRENCIES:
        at = {p["target"]: p for p in points if p["concurrency"] == concurrency}
        entry: dict[str, Any] = {}
        for name, other in (("a_over_c", "hive"), ("a_over_b", "raw")):
            if "switchboard" in at and other in at:
                ours, theirs = at["switchboard"], at[other]
                entry[name] = round(ours["rps"] / theirs["rps"], 2)
                entry[f"{name}_rounds"] = [
                    round(a / b, 2)
                    for a, b in zip(ours["rps_rounds"], theirs["rps_rounds"], strict=True)
                ]
        ratios[str(concurrency)] = entry
    return ratios


def markdown(result: dict[str, Any]) -> str:
    rows = [
        [
            p["concurrency"],
            p["label"],
            f"{p['rps']:,.0f}",
            ", ".join(f"{r:,.0f}" for r in p["rps_rounds"]),
            f"{p['p50_ms']:.1f}",
            f"{p['p99_ms']:.1f}",
            f"{result['upstream_per_query'][p['target']]:.2f}",
            f"{p['server_cpu_ms_per_query']:.2f}",
            f"{p['emulator_cpu_ms_per_query']:.2f}",
            f"{p['other_cpu_cores']:.2f}",
            p["bad_answers"] + p["socket_errors"],
        ]
        for p in result["points"]
    ]
    header = ["conc.", "server", "req/s (median)", "req/s by round", "p50 ms", "p99 ms"]
    header += ["vendor req/query", "server CPU ms/query", "emulator CPU ms/query"]
    header += ["other load (cores)", "errors"]

    def verdict(entry: dict[str, Any], name: str, target: float) -> str:
        if name not in entry:
            return "-"
        value = entry[name]
        rounds = ", ".join(f"{r:.2f}" for r in entry[f"{name}_rounds"])
        return f"{value:.2f} ({'met' if value >= target else 'NOT met'}; rounds {rounds})"

    ratio_rows = [
        [concurrency, verdict(entry, "a_over_c", 2), verdict(entry, "a_over_b", 0.5)]
        for concurrency, entry in result["ratios"].items()
    ]
    return "\n\n".join(
        [
            "## B1 — query throughput, `call(id)` of one Genesys call",
            f"Measured {result['date']} on {machine_line(result['machine'])}, "
            f"{source_line(result['source'])}; {result['rounds']} rounds per concurrency, "
            "each server in turn (the order rotating) for "
            f"{result['duration_s']:g} s after a {result['warmup_s']:g} s warm-up "
            f"(and {result['initial_warmup_s']:g} s per server at start); "
            f"B1 took {result['elapsed_s']:.0f} s. wrk: 1 thread, closed loop. "
            "req/s, p50 and p99 are the medians of the rounds; CPU per query is over all "
            "rounds; vendor requests per query were counted with 50 queries one after another.",
            table(header, rows),
            table(["conc.", "(a)/(c), target ≥ 2", "(a)/(b), target ≥ 0.5"], ratio_rows),
            "Commands:\n\n```sh\n"
            + "\n".join([result["command"], *result["server_commands"], result["load_command"]])
            + "\n```",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per concurrency")
    parser.add_argument("--duration", type=float, default=4, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per round")
    parser.add_argument(
        "--initial-warmup", type=float, default=5, help="seconds of load per server at start"
    )
    parser.add_argument(
        "--targets",
        default="switchboard,raw,hive",
        help="comma-separated subset of switchboard,switchboard-nometrics,raw,hive",
    )
    args = parser.parse_args()
    wanted = args.targets.split(",")
    exit_on_sigterm()
    with Processes() as procs, tempfile.TemporaryDirectory() as tmp:
        # From here: the wait for another benchmark's lock is not B1's time.
        started = time.monotonic()
        log("B1: starting the emulators")
        emulator_proc, emulators = start_emulators(procs)
        genesys_url = f"{emulators}/genesys"
        targets: list[Target] = []
        # switchboard-nometrics: the cost of metrics, the same server with
        # SWITCHBOARD_METRICS=0 (with them on, at least 90 % of the throughput without).
        for key, env in (("switchboard", {}), ("switchboard-nometrics", _NO_METRICS)):
            if key in wanted:
                log(f"B1: starting {_SWITCHBOARD_LABELS[key]}")
                targets.append(switchboard_target(procs, emulators, key, env))
        if "raw" in wanted:
            log("B1: starting the raw proxy")
            targets.append(start_raw_proxy(procs, genesys_url))
        if "hive" in wanted:
            log("B1: composing the supergraph (Mesh Compose) and starting Hive Gateway")
            supergraph = compose_supergraph(Path(tmp))
            targets.append(start_hive(procs, supergraph, genesys_url, genesys_session(genesys_url)))
        requests = RequestLog(emulators)
        # Once per server before any point: JIT (Hive's V8), caches and connection pools
        # warm, so that the first point measured is not the server's first load.
        for target in targets:
            log(f"B1: warming up {target.label} ({args.initial_warmup:g} s)")
            check_answer(target)
            body = json.dumps({"query": target.query})
            wrk.run(target.url, body, connections=CONCURRENCIES[0], duration=args.initial_warmup)
            requests.settle()
        # Exactly, once per server: one query after another, nothing else in flight.
        upstream = {target.key: upstream_per_query(target, requests) for target in targets}
        points = []
        for concurrency in CONCURRENCIES:
            rounds: dict[str, list[dict[str, Any]]] = {target.key: [] for target in targets}
            for round_ in range(args.rounds):
                # The order rotates: no server always runs right after another's load.
                shift = round_ % len(targets)
                for target in targets[shift:] + targets[:shift]:
                    log(
                        f"B1: round {round_ + 1}/{args.rounds}, {target.label}, "
                        f"{concurrency} connections, {args.duration:g} s"
                    )
                    run = measure(
                        target, concurrency, args.duration, args.warmup, requests, emulator_proc.pid
                    )
                    log(
                        f"B1:   {run['rps']:,.0f} req/s, p50 {run['p50_ms']:.1f} ms, "
                        f"p99 {run['p99_ms']:.1f} ms, "
                        f"{run['server_cpu_s'] * 1000 / max(run['requests'], 1):.2f} CPU ms/query"
                    )
                    other = run["other_cpu_s"] / run["seconds"]
                    if other > DISTURBED:
                        log(f"B1:   WARNING: other programs used {other:.2f} cores meanwhile")
                    rounds[target.key].append(run)
            points += [combine(target, concurrency, rounds[target.key]) for target in targets]
    result = {
        "benchmark": "b1_throughput",
        "date": now(),
        "machine": machine(),
        "source": source(),
        "command": command_line(),
        "server_commands": [
            "python -m app emulate --no-simulate --host 127.0.0.1 --port E",
            "SWITCHBOARD_{ORACLE,HUAWEI,VERBA,VOIPNOW,GENESYS}_URL=http://127.0.0.1:E/<vendor> "
            "(+ demo credentials) SWITCHBOARD_SIMULATE=0 SWITCHBOARD_ACCESS_LOG=0 "
            "SWITCHBOARD_GRAPHIQL=0 python -m app --host 127.0.0.1 --port A",
            "python -m bench.raw_proxy --port B --genesys-url http://127.0.0.1:E/genesys",
            "(cd bench && mesh-compose -c openapi/mesh.config.ts -o supergraph.graphql && "
            "NODE_ENV=production GENESYS_URL=http://127.0.0.1:E/genesys "
            "GENESYS_AUTHORIZATION=... GENESYS_JSESSIONID=... "
            "hive-gateway supergraph supergraph.graphql --port C --fork 1 "
            "--disable-websockets)",
        ],
        "load_command": (
            f"BENCH_BODY='<query JSON>' wrk -t1 -c<32|256> -d{args.duration:g}s --timeout=10s "
            "-s bench/lib/wrk_post.lua http://127.0.0.1:<port>/graphql"
        ),
        "queries": {"switchboard_and_raw": SWITCHBOARD_QUERY, "hive": HIVE_QUERY},
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "initial_warmup_s": args.initial_warmup,
        "upstream_per_query": upstream,
        "points": points,
        "ratios": summarise(points),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    path = write_json("b1_throughput", result)
    write_section("b1", markdown(result))
    log(f"B1: done in {result['elapsed_s']:.0f} s: {path.relative_to(BENCH.parent)}, RESULTS.md")


if __name__ == "__main__":
    main()
