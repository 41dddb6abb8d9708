"""wrk (Debian package `wrk`) as the load generator: a fixed number of open connections,
each sending the next request as soon as the previous answer arrived (closed loop), for a
fixed duration. Latencies are wrk's own (per request, from send to full answer);
lib/wrk_post.lua POSTs the body and reports as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk_post.lua")


def run(
    url: str,
    body: str,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    timeout: float = 10,
    authorization: str | None = None,
) -> dict[str, Any]:
    """One wrk run; its summary with `rps` added. One thread is enough on 2 cores: wrk
        drives tens of thousands of requests per second per thread, and every core it does not
        use is left to the servers under test. `authorization`: the Authorization header of
    every request (none when None)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not found: apt-get install -y wrk (bench/run.sh does)")
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={timeout:g}s",
        "-s",
        str(SCRIPT),
        url,
    ]
    env = {**os.environ, "BENCH_BODY": body}
    env.pop("BENCH_AUTHORIZATION", None)
    if authorization is not None:
        env["BENCH_AUTHORIZATION"] = authorization
    done = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + timeout + 30,
        check=True,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    summary: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    summary["command"] = " ".join(argv)
    return summary
