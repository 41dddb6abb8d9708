"""A/B of a hot-path change: B1's query against this working tree and against another
revision, in the same run, interleaved rounds (the order alternating), on one set of
emulators. The revision is checked out into a temporary git worktree that shares .venv.

    .venv/bin/python -m bench.ab_commits --base HEAD~1 [--rounds 6] [--connections 32]
        [--env SWITCHBOARD_ACCESS_LOG=1 ...]   (both servers; B1's defaults otherwise)

Prints req/s per round and the ratio of the medians (this tree / base); writes
bench/results/ab_commits.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.b1_throughput import SWITCHBOARD_QUERY
from bench.lib import results, wrk
from bench.lib.procs import PYTHON, ROOT, Processes, free_port, log
from bench.lib.setup import start_emulators, switchboard_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable for both servers, e.g. SWITCHBOARD_ACCESS_LOG=1 (B1 runs with it off)",
    )
    args = parser.parse_args()
    body = json.dumps({"query": SWITCHBOARD_QUERY})
    with tempfile.TemporaryDirectory(prefix="switchboard-ab-") as scratch:
        base_tree = Path(scratch) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base_tree), args.base],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        (base_tree / ".venv").symlink_to(ROOT / ".venv")
        try:
            rps = run(base_tree, body, args)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False
            )
    ratio = statistics.median(rps["this tree"]) / statistics.median(rps["base"])
    log(f"req/s per round: {rps}; median this tree / base: {ratio:.3f}")
    results.write_json(
        "ab_commits",
        {
            "base": args.base,
            "connections": args.connections,
            "env": args.env,
            "rps": rps,
            "ratio": ratio,
        },
    )


def run(base_tree: Path, body: str, args: argparse.Namespace) -> dict[str, list[float]]:
    with Processes() as procs:
        _, emulators = start_emulators(procs)
        env = switchboard_env(emulators) | dict(item.split("=", 1) for item in args.env)
        urls = {}
        for name, cwd in (("this tree", ROOT), ("base", base_tree)):
            port = free_port()
            argv = [PYTHON, "-m", "app", "--host", "127.0.0.1", "--port", str(port)]
            proc = procs.start(name.replace(" ", "-"), argv, env=env, cwd=cwd)
            procs.wait_http(proc, f"http://127.0.0.1:{port}/healthz")
            urls[name] = f"http://127.0.0.1:{port}/graphql"
        for url in urls.values():  # warm-up
            wrk.run(url, body, connections=args.connections, duration=2)
        rps: dict[str, list[float]] = {name: [] for name in urls}
        for round_ in range(args.rounds):
            order = list(urls) if round_ % 2 == 0 else list(reversed(urls))
            for name in order:
                answer = wrk.run(
                    urls[name], body, connections=args.connections, duration=args.duration
                )
                rps[name].append(round(answer["rps"]))
        return rps


if __name__ == "__main__":
    main()
