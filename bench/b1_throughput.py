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
import jwt

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
from bench.lib.tokens import WALLBOARD, Keys, make_keys

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
    authorization: str | None = None  # "Bearer <jwt>" on every request (auth targets)


_NO_METRICS = {"SWITCHBOARD_METRICS": "0"}
_SWITCHBOARD_LABELS = {
    "switchboard": "(a) switchboard",
    "switchboard-nometrics": "(a') switchboard, metrics off",
    "switchboard-hs256": "(a-hs) switchboard, JWT HS256",
    "switchboard-rs256": "(a-rs) switchboard, JWT RS256",
}
_HIVE_LABELS = {
    "hive": "(c) Hive Gateway + Mesh OpenAPI",
    "hive-hs256": "(c-hs) Hive Gateway, JWT HS256",
    "hive-rs256": "(c-rs) Hive Gateway, JWT RS256",
}
# The authenticated targets (issue 12) and the algorithm of each.
AUTH_TARGETS = {
    "switchboard-hs256": "HS256",
    "switchboard-rs256": "RS256",
    "hive-hs256": "HS256",
    "hive-rs256": "RS256",
}
ALL_TARGETS = ("switchboard", "switchboard-nometrics", "raw", "hive", *AUTH_TARGETS)
# (name, ours, theirs, target) of every ratio reported, of req/s at each concurrency.
RATIOS = (
    ("a_over_c", "switchboard", "hive", 2.0),
    ("a_over_b", "switchboard", "raw", 0.5),
    # Issue 12: authenticated switchboard >= 2 x authenticated Hive Gateway, and auth
    # costs at most 15 % of switchboard's throughput.
    ("hs256_over_hive_hs256", "switchboard-hs256", "hive-hs256", 2.0),
    ("rs256_over_hive_rs256", "switchboard-rs256", "hive-rs256", 2.0),
    ("hs256_over_unauthenticated", "switchboard-hs256", "switchboard", 0.85),
    ("rs256_over_unauthenticated", "switchboard-rs256", "switchboard", 0.85),
)
AUTH_RATIOS = RATIOS[2:]
HIVE_JWT_CONFIG = "openapi/gateway-jwt.mjs"  # relative to bench/
AUTH_WRK = "[BENCH_AUTHORIZATION='Bearer <jwt>'] "
AUTH_COMMANDS = (
    "(switchboard-hs256: the same, plus) SWITCHBOARD_AUTH=jwt SWITCHBOARD_JWT_SECRET=<per run> "
    "SWITCHBOARD_JWT_ISSUER=https://idp.bench.invalid/ SWITCHBOARD_JWT_AUDIENCE=switchboard",
    "(switchboard-rs256: the same, plus) SWITCHBOARD_AUTH=jwt "
    "SWITCHBOARD_JWT_JWKS_FILE=<per run: one RSA key> SWITCHBOARD_JWT_ISSUER=... "
    "SWITCHBOARD_JWT_AUDIENCE=...",
    f"(hive-hs256, hive-rs256: the same, plus) BENCH_JWT_ALGORITHM=HS256|RS256 "
    "BENCH_JWT_KEY_FILE=<secret | public key PEM> BENCH_JWT_ISSUER=... BENCH_JWT_AUDIENCE=... "
    f"hive-gateway ... --config-path {HIVE_JWT_CONFIG}",
)


def switchboard_target(
    procs: Processes,
    emulators: str,
    key: str,
    extra_env: dict[str, str],
    authorization: str | None = None,
) -> Target:
    proc, base = start_switchboard(procs, emulators, extra_env=extra_env)
    label = _SWITCHBOARD_LABELS[key]
    return Target(
        key,
        label,
        f"{base}/graphql",
        proc.pid,
        SWITCHBOARD_QUERY,
        _switchboard_answer,
        authorization,
    )


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


def start_hive(
    procs: Processes,
    supergraph: Path,
    genesys_url: str,
    session: str,
    key: str = "hive",
    jwt_env: dict[str, str] | None = None,
    authorization: str | None = None,
) -> Target:
    """Hive Gateway; with `jwt_env`, its JWT plugin on (bench/openapi/gateway-jwt.mjs)."""
    port = free_port()
    creds = DEMO_CREDENTIALS["genesys"]
    config = ["--config-path", HIVE_JWT_CONFIG] if jwt_env is not None else []
    proc = procs.start(
        key,
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
            *config,
        ],
        env={
            **(jwt_env or {}),
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
        key,
        _HIVE_LABELS[key],
        f"http://127.0.0.1:{port}/graphql",
        proc.pid,
        HIVE_QUERY,
        _hive_answer,
        authorization,
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


def _headers(authorization: str | None) -> dict[str, str]:
    return {"Authorization": authorization} if authorization is not None else {}


def check_answer_of(url: str, query: str, authorization: str | None = None) -> dict[str, Any]:
    """POST `query` once; its `data`, or ProcessFailed for any error."""
    client = JsonClient(url.removesuffix("/graphql"), headers=_headers(authorization))
    try:
        status, answer = client.request("POST", "/graphql", {"query": query})
    finally:
        client.close()
    if status != 200 or not isinstance(answer, dict) or answer.get("errors"):
        raise ProcessFailed(f"{url} answered {status}: {json.dumps(answer)[:500]}")
    return dict(answer.get("data") or {})


def check_answer(target: Target) -> None:
    """One query first: a server that answers fast but wrong must not be measured."""
    data = check_answer_of(target.url, target.query, target.authorization)
    if not target.check(data):
        raise ProcessFailed(f"{target.label} answered wrong data: {json.dumps(data)[:500]}")


def check_refuses(target: Target) -> None:
    """An authenticated target must refuse the query without its token: else it would be
    measured without verifying anything."""
    client = JsonClient(target.url.removesuffix("/graphql"))
    try:
        status, answer = client.request("POST", "/graphql", {"query": target.query})
    finally:
        client.close()
    data = answer.get("data") if isinstance(answer, dict) else None
    if status == 200 and isinstance(data, dict) and target.check(data):
        raise ProcessFailed(f"{target.label} answered without a token: {json.dumps(answer)[:300]}")


def upstream_per_query(target: Target, requests: RequestLog, queries: int = 50) -> float:
    """Vendor requests per query, exactly: `queries` one after another, nothing in flight
    before or after (under load, queries still in flight when wrk stops reached the
    vendor but were not counted as answered)."""
    client = JsonClient(target.url.removesuffix("/graphql"), headers=_headers(target.authorization))
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
        wrk.run(
            target.url,
            body,
            connections=concurrency,
            duration=warmup,
            authorization=target.authorization,
        )
        requests.settle()
    requests.reset()
    before = cpu_snapshot(target, emulator_pid)
    summary = wrk.run(
        target.url,
        body,
        connections=concurrency,
        duration=duration,
        authorization=target.authorization,
    )
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
    """(a)/(c), (a)/(b) and the authentication ratios (RATIOS) per concurrency: of the
    medians, and of each round (the servers of a round ran back to back, so a round's
    ratio is the least disturbed by the machine's drift)."""
    ratios: dict[str, dict[str, Any]] = {}
    for concurrency in CONCURRENCIES:
        at = {p["target"]: p for p in points if p["concurrency"] == concurrency}
        entry: dict[str, Any] = {}
        for name, mine, other, _ in RATIOS:
            if mine in at and other in at:
                ours, theirs = at[mine], at[other]
                entry[name] = round(ours["rps"] / theirs["rps"], 2)
                entry[f"{name}_rounds"] = [
                    round(a / b, 2)
                    for a, b in zip(ours["rps_rounds"], theirs["rps_rounds"], strict=True)
                ]
        ratios[str(concurrency)] = entry
    return ratios


def verdict(entry: dict[str, Any], name: str, target: float) -> str:
    if name not in entry:
        return "-"
    value = entry[name]
    rounds = ", ".join(f"{r:.2f}" for r in entry[f"{name}_rounds"])
    return f"{value:.2f} ({'met' if value >= target else 'NOT met'}; rounds {rounds})"


def points_table(result: dict[str, Any]) -> str:
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
    return table(header, rows)


def measured_line(result: dict[str, Any]) -> str:
    return (
        f"Measured {result['date']} on {machine_line(result['machine'])}, "
        f"{source_line(result['source'])}; {result['rounds']} rounds per concurrency, "
        "each server in turn (the order rotating) for "
        f"{result['duration_s']:g} s after a {result['warmup_s']:g} s warm-up "
        f"(and {result['initial_warmup_s']:g} s per server at start); "
        f"B1 took {result['elapsed_s']:.0f} s. wrk: 1 thread, closed loop. "
        "req/s, p50 and p99 are the medians of the rounds; CPU per query is over all "
        "rounds; vendor requests per query were counted with 50 queries one after another."
    )


def commands(result: dict[str, Any]) -> str:
    return (
        "Commands:\n\n```sh\n"
        + "\n".join([result["command"], *result["server_commands"], result["load_command"]])
        + "\n```"
    )


def markdown(result: dict[str, Any]) -> str:
    ratio_rows = [
        [concurrency, verdict(entry, "a_over_c", 2), verdict(entry, "a_over_b", 0.5)]
        for concurrency, entry in result["ratios"].items()
    ]
    return "\n\n".join(
        [
            "## B1 — query throughput, `call(id)` of one Genesys call",
            measured_line(result),
            points_table(result),
            table(["conc.", "(a)/(c), target ≥ 2", "(a)/(b), target ≥ 0.5"], ratio_rows),
            commands(result),
        ]
    )


def auth_markdown(result: dict[str, Any], json_name: str) -> str:
    """Issue 12's section: B1 with JWT authentication on, beside the same servers without."""
    labels = {**_SWITCHBOARD_LABELS, **_HIVE_LABELS}
    header = ["conc."] + [
        f"{labels[mine]} / {labels[other]}, target ≥ {target:g}"
        for _, mine, other, target in AUTH_RATIOS
    ]
    ratio_rows = [
        [concurrency] + [verdict(entry, name, target) for name, _, _, target in AUTH_RATIOS]
        for concurrency, entry in result["ratios"].items()
    ]
    return "\n\n".join(
        [
            "## Authentication (issue 12) — B1 with JWT verification on",
            "The B1 query (`call(id)` of one Genesys call, wrk, 32 and 256 connections) with "
            "every request carrying `Authorization: Bearer <jwt>`: a token signed per run "
            f"(PyJWT; `sub`, `scope: {WALLBOARD}`, `iss`, `aud`, `exp` in a day, `kid`) with "
            "an HS256 secret or a 2048-bit RSA key (RS256). switchboard verifies it with "
            "`SWITCHBOARD_AUTH=jwt` and `SWITCHBOARD_JWT_SECRET` or `SWITCHBOARD_JWT_JWKS_FILE`, "
            "plus `SWITCHBOARD_JWT_ISSUER`/`_AUDIENCE`; Hive Gateway, the same tokens with "
            f"its own JWT plugin (`jwt` in `bench/{HIVE_JWT_CONFIG}`: inline signing key, "
            "the one algorithm, issuer and audience checked, missing or invalid tokens "
            "rejected, claims not forwarded). Every server of the table below ran in the "
            "same rounds, interleaved. Raw numbers: "
            f"`bench/results/{json_name}.json`.",
            measured_line(result),
            points_table(result),
            table(header, ratio_rows),
            commands(result),
        ]
    )


def start_targets(
    procs: Processes,
    emulators: str,
    wanted: list[str],
    tmp: Path,
    keys: dict[str, Keys],
    bearer: dict[str, str],
) -> list[Target]:
    """The servers of `wanted`, started and (the authenticated ones) checked to refuse a
    query without a token. `bearer`: the Authorization value of each algorithm's token."""
    genesys_url = f"{emulators}/genesys"
    targets: list[Target] = []
    # switchboard-nometrics: the cost of metrics, the same server with
    # SWITCHBOARD_METRICS=0 (with them on, at least 90 % of the throughput without).
    for key, env in (("switchboard", {}), ("switchboard-nometrics", _NO_METRICS)):
        if key in wanted:
            log(f"B1: starting {_SWITCHBOARD_LABELS[key]}")
            targets.append(switchboard_target(procs, emulators, key, env))
    for key in ("switchboard-hs256", "switchboard-rs256"):
        if key in wanted:
            log(f"B1: starting {_SWITCHBOARD_LABELS[key]}")
            algorithm = AUTH_TARGETS[key]
            env = keys[algorithm].switchboard_env
            targets.append(switchboard_target(procs, emulators, key, env, bearer[algorithm]))
    if "raw" in wanted:
        log("B1: starting the raw proxy")
        targets.append(start_raw_proxy(procs, genesys_url))
    hives = [key for key in _HIVE_LABELS if key in wanted]
    if hives:
        log("B1: composing the supergraph (Mesh Compose)")
        supergraph = compose_supergraph(tmp)
    for key in hives:
        log(f"B1: starting {_HIVE_LABELS[key]}")
        session = genesys_session(genesys_url)
        if key == "hive":
            targets.append(start_hive(procs, supergraph, genesys_url, session))
        else:
            algorithm = AUTH_TARGETS[key]
            jwt_env = keys[algorithm].hive_env
            hive = start_hive(
                procs, supergraph, genesys_url, session, key, jwt_env, bearer[algorithm]
            )
            targets.append(hive)
    for target in targets:
        if target.authorization is not None:
            check_refuses(target)
    return targets


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
        help=f"comma-separated subset of {','.join(ALL_TARGETS)}",
    )
    args = parser.parse_args()
    wanted = args.targets.split(",")
    unknown = set(wanted) - set(ALL_TARGETS)
    if unknown:
        parser.error(f"unknown targets {', '.join(sorted(unknown))}: expected {ALL_TARGETS}")
    exit_on_sigterm()
    with Processes() as procs, tempfile.TemporaryDirectory() as tmp:
        # From here: the wait for another benchmark's lock is not B1's time.
        started = time.monotonic()
        log("B1: starting the emulators")
        emulator_proc, emulators = start_emulators(procs)
        # The authenticated targets: keys made for this run, one token per algorithm that
        # switchboard and Hive Gateway both verify.
        keys = {
            algorithm: make_keys(algorithm, Path(tmp))
            for algorithm in sorted({AUTH_TARGETS[key] for key in wanted if key in AUTH_TARGETS})
        }
        # One token per algorithm: switchboard and Hive Gateway verify the same one.
        bearer = {
            algorithm: f"Bearer {k.token('bench-wallboard')}" for algorithm, k in keys.items()
        }
        targets = start_targets(procs, emulators, wanted, Path(tmp), keys, bearer)
        requests = RequestLog(emulators)
        # Once per server before any point: JIT (Hive's V8), caches and connection pools
        # warm, so that the first point measured is not the server's first load.
        for target in targets:
            log(f"B1: warming up {target.label} ({args.initial_warmup:g} s)")
            check_answer(target)
            body = json.dumps({"query": target.query})
            wrk.run(
                target.url,
                body,
                connections=CONCURRENCIES[0],
                duration=args.initial_warmup,
                authorization=target.authorization,
            )
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
            *(AUTH_COMMANDS if keys else []),
        ],
        "load_command": (
            f"BENCH_BODY='<query JSON>' {AUTH_WRK if keys else ''}"
            f"wrk -t1 -c<32|256> -d{args.duration:g}s --timeout=10s "
            "-s bench/lib/wrk_post.lua http://127.0.0.1:<port>/graphql"
        ),
        "auth": {
            algorithm: {
                "token_header": jwt.get_unverified_header(bearer[algorithm].split()[1]),
                "token_claims": jwt.decode(
                    bearer[algorithm].split()[1], options={"verify_signature": False}
                ),
                "hive_config": f"bench/{HIVE_JWT_CONFIG}",
            }
            for algorithm in keys
        },
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
    # The B1 section is the one of switchboard, raw proxy and Hive Gateway; a run with
    # authenticated targets writes the issue-12 section, and a run of auth targets
    # without those three its own JSON, so that it leaves B1's numbers as they were.
    base = {"switchboard", "raw", "hive"} <= set(wanted) or not keys
    name = "b1_throughput" if base else "b1_auth"
    path = write_json(name, result)
    if base:
        write_section("b1", markdown(result))
    if keys:
        write_section("b1_auth", auth_markdown(result, name))
    log(f"B1: done in {result['elapsed_s']:.0f} s: {path.relative_to(BENCH.parent)}, RESULTS.md")


if __name__ == "__main__":
    main()
