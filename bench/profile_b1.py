"""Where switchboard spends its CPU under B1's load: a py-spy profile of the gateway
process while wrk sends B1's `call(id)` query, at 32 and then 256 connections, and a
summary of each.

How: emulators and switchboard start as in B1; after a warm-up, py-spy (PyPI `py-spy`,
a sampling profiler that reads the process from outside, so switchboard's code is
unchanged) records the gateway for `--duration` seconds under load. Writes

  bench/results/profile-b1-c<N>.speedscope.json   the samples at N connections (open in
                                             https://www.speedscope.app, or `npx speedscope`)
  bench/results/profile-b1.json              the summary below, as numbers
  bench/results/profile-b1.md                top functions: own time ("self", where the
                                             CPU actually was) and inclusive time ("total",
                                             the function and what it called), as a share
                                             of the samples; and the share per package

    .venv/bin/python -m bench.profile_b1 [--duration 10]

Needs root or ptrace permission (py-spy reads another process's memory).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.b1_throughput import SWITCHBOARD_QUERY, check_answer_of
from bench.lib import wrk
from bench.lib.procs import ROOT, Processes, exit_on_sigterm, log
from bench.lib.results import (
    RESULTS_DIR,
    command_line,
    machine,
    machine_line,
    now,
    source,
    source_line,
    table,
)
from bench.lib.setup import start_emulators, start_switchboard

CONCURRENCIES = (32, 256)
STDLIB = f"/lib/python{sys.version_info.major}.{sys.version_info.minor}/"
# Where a request's time goes, by the function that does each step (inclusive shares).
PHASES = (
    (
        "uvicorn + switchboard (whole request)",
        "uvicorn/protocols/http/httptools_impl.py:RequestResponseCycle.run_asgi",
    ),
    ("GraphQL over HTTP (app/graphql/http.py)", "app/graphql/http.py:GraphQLEndpoint._post"),
    (
        "GraphQL operation (SwitchboardSchema.execute)",
        "app/graphql/schema.py:SwitchboardSchema.execute",
    ),
    (
        "GraphQL parse + validation (once per query string)",
        "app/graphql/execution.py:PreparedOperations._prepare",
    ),
    ("GraphQL execution (graphql-core execute)", "graphql/execution/execute.py:execute"),
    (
        "loader batch (aiodataloader task, incl. vendor)",
        "aiodataloader/__init__.py:dispatch_queue_batch",
    ),
    ("vendor request (app/vendors/http.py)", "app/vendors/http.py:VendorHttp.request"),
    ("aiohttp client request", "aiohttp/client.py:ClientSession._request"),
    (
        "response to the socket (uvicorn send)",
        "uvicorn/protocols/http/httptools_impl.py:RequestResponseCycle.send",
    ),
)
# The parts of a stack, by the file a frame is in: where does the time go?
PACKAGES = (
    (f"{ROOT}/app/", "switchboard (app/)"),
    ("strawberry/", "strawberry"),
    ("graphql/", "graphql-core"),
    ("starlette/", "starlette"),
    ("cross_web/", "cross_web"),
    ("aiohttp/", "aiohttp"),
    ("uvicorn/", "uvicorn"),
    ("aiodataloader", "aiodataloader"),
    ("asyncio/", "asyncio"),
    ("json/", "json"),
)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("py-spy not found: .venv/bin/pip install py-spy (run.sh does)")
    return found


def package_of(filename: str) -> str:
    for needle, name in PACKAGES:
        if needle in filename:
            return name
    return "other"


def short(frame: dict[str, Any]) -> str:
    filename = frame.get("file") or "?"
    # Paths relative to site-packages, the standard library or the repository.
    for marker in ("site-packages/", STDLIB, str(ROOT) + "/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{frame.get('name')}"


def summarise(speedscope: dict[str, Any]) -> dict[str, Any]:
    """Self and inclusive shares per function and per package, over all sampled threads."""
    frames = speedscope["shared"]["frames"]
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    package_self: Counter[str] = Counter()
    package_incl: Counter[str] = Counter()
    total = 0
    for profile in speedscope["profiles"]:
        for stack in profile["samples"]:
            if not stack:
                continue
            weight = 1
            total += weight
            leaf = frames[stack[-1]]
            own[short(leaf)] += weight
            package_self[package_of(leaf.get("file") or "")] += weight
            # Recursion would count a function twice in one sample: count it once.
            for name in {short(frames[i]) for i in stack}:
                inclusive[name] += weight
            for name in {package_of(frames[i].get("file") or "") for i in stack}:
                package_incl[name] += weight

    def shares(counter: Counter[str], keep: int, only_app: bool = False) -> list[list[Any]]:
        rows = [
            [name, round(100 * weight / total, 1)]
            for name, weight in counter.most_common()
            # The entry point holds every sample: no news.
            if not only_app or (name.startswith("app/") and not name.startswith("app/__main__"))
        ]
        return rows[:keep]

    return {
        "samples": total,
        "packages_self_pct": shares(package_self, 20),
        "packages_inclusive_pct": shares(package_incl, 20),
        "phases_pct": [
            [label, round(100 * inclusive[function] / total, 1)] for label, function in PHASES
        ],
        "top_self_pct": shares(own, 25),
        "top_app_inclusive_pct": shares(inclusive, 30, only_app=True),
        "top_app_self_pct": shares(own, 15, only_app=True),
    }


def markdown(result: dict[str, Any]) -> str:
    parts = [
        "# B1 profile: switchboard under `call(id)` load",
        f"Measured {result['date']} on {machine_line(result['machine'])}, "
        f"{source_line(result['source'])}: py-spy at "
        f"{result['rate']} Hz for {result['duration_s']:g} s per concurrency while wrk sent "
        "B1's query. Shares are of all samples of the gateway process (py-spy samples only "
        "a running thread, so 100% = the CPU time switchboard used). Self = the function's "
        "own code; inclusive = the function and everything it called.",
        "Command: `" + result["command"] + "`",
    ]
    for run in result["runs"]:
        s = run["summary"]
        parts += [
            f"## {run['concurrency']} connections: {run['load_rps']:,.0f} req/s during the "
            f"profile, {s['samples']} samples",
            "### Where a request's time goes (inclusive)\n\n"
            + table(["step", "%"], s["phases_pct"]),
            "### Per package\n\n"
            + table(
                ["package", "self %", "inclusive %"],
                [
                    [name, pct, dict(s["packages_inclusive_pct"]).get(name, "")]
                    for name, pct in s["packages_self_pct"]
                ],
            ),
            "### switchboard's functions, inclusive\n\n"
            + table(["function", "%"], s["top_app_inclusive_pct"]),
            "### switchboard's functions, self\n\n"
            + table(["function", "%"], s["top_app_self_pct"]),
            "### All functions, self (top 25)\n\n" + table(["function", "%"], s["top_self_pct"]),
        ]
    return "\n\n".join(parts) + "\n"


def profile(url: str, pid: int, concurrency: int, args: argparse.Namespace) -> dict[str, Any]:
    """Load at `concurrency` and py-spy the gateway meanwhile; the run's summary."""
    body = json.dumps({"query": SWITCHBOARD_QUERY})
    out = RESULTS_DIR / f"profile-b1-c{concurrency}.speedscope.json"
    wrk.run(url, body, connections=concurrency, duration=2)  # warm-up
    load: dict[str, Any] = {}
    # The load runs a little longer than the profile, so that every sample is under load.
    loader = threading.Thread(
        target=lambda: load.update(
            wrk.run(url, body, connections=concurrency, duration=args.duration + 2)
        )
    )
    loader.start()
    try:
        time.sleep(1)
        log(f"profile: py-spy on pid {pid} for {args.duration:g} s, {concurrency} connections")
        subprocess.run(
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(args.duration)),
                "--rate",
                str(args.rate),
                "--format",
                "speedscope",
                "--output",
                str(out),
            ],
            check=True,
            capture_output=True,
            timeout=args.duration + 60,
        )
    finally:
        loader.join()
    summary = summarise(json.loads(out.read_text()))
    return {
        "concurrency": concurrency,
        "load_rps": load.get("rps", 0.0),
        "speedscope": str(out.relative_to(ROOT)),
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds profiled")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    args = parser.parse_args()
    exit_on_sigterm()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    runs = []
    with Processes() as procs:
        log("profile: starting the emulators and switchboard")
        _, emulators = start_emulators(procs)
        proc, base = start_switchboard(procs, emulators)
        url = f"{base}/graphql"
        check_answer_of(url, SWITCHBOARD_QUERY)
        for concurrency in CONCURRENCIES:
            runs.append(profile(url, proc.pid, concurrency, args))
    result = {
        "benchmark": "profile_b1",
        "date": now(),
        "machine": machine(),
        "source": source(),
        "command": command_line(),
        "duration_s": args.duration,
        "rate": args.rate,
        "runs": runs,
    }
    (RESULTS_DIR / "profile-b1.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS_DIR / "profile-b1.md").write_text(markdown(result))
    log("profile: bench/results/profile-b1.{md,json} and profile-b1-c*.speedscope.json")
    for run in runs:
        for label, pct in run["summary"]["phases_pct"]:
            log(f"profile:   c{run['concurrency']}: {pct:5.1f}%  {label}")


if __name__ == "__main__":
    main()
