"""The switchboard side of a benchmark: the vendor emulators in a process of their own,
switchboard pointed at them, and the emulators' request log.

The emulators run without simulated traffic (`--no-simulate`), so that the only vendor
requests are the benchmark's; switchboard runs with its access log off (one log line per
request is not what a benchmark should measure) and the demo credentials the emulators
accept.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from app.emulators.base import DEMO_CREDENTIALS
from bench.lib.http import JsonClient
from bench.lib.procs import PYTHON, Processes, free_port

VENDORS = ("oracle", "huawei", "verba", "voipnow", "genesys")
# Requests that fetch a credential, not a call (Verba's RequestToken shares /verba/api, but
# switchboard makes no Verba request for calls: see the README's Verba note).
TOKEN_PATHS = ("/apigovernance/api/oauth/tokenByAkSk", "/oauth/token.php")


def start_emulators(procs: Processes) -> tuple[subprocess.Popen[bytes], str]:
    """All five emulators on a free port; (process, base URL without vendor prefix)."""
    port = free_port()
    argv = [PYTHON, "-m", "app", "emulate", "--no-simulate", "--host", "127.0.0.1"]
    proc = procs.start("emulators", [*argv, "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    procs.wait_http(proc, f"{base}/_emulator/requests")
    return proc, base


def switchboard_env(emulators: str, vendors: Iterable[str] = VENDORS) -> dict[str, str]:
    """The environment that points switchboard at the emulators for `vendors`."""
    env = {
        "SWITCHBOARD_SIMULATE": "0",
        "SWITCHBOARD_ACCESS_LOG": "0",
        "SWITCHBOARD_GRAPHIQL": "0",
        # Real vendor URLs need it said; the auth benches set jwt (bench/b1_throughput.py).
        "SWITCHBOARD_AUTH": "none",
    }
    for vendor in vendors:
        env[f"SWITCHBOARD_{vendor.upper()}_URL"] = f"{emulators}/{vendor}"
        for name, value in DEMO_CREDENTIALS[vendor].items():
            env[f"SWITCHBOARD_{vendor.upper()}_{name.upper()}"] = value
    return env


def start_switchboard(
    procs: Processes,
    emulators: str,
    *,
    vendors: Iterable[str] = VENDORS,
    extra_env: Mapping[str, str] | None = None,
    argv_prefix: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m app` on a free port (optionally under `argv_prefix`, e.g. a profiler);
    (process, base URL)."""
    port = free_port()
    proc = procs.start(
        "switchboard",
        [*argv_prefix, PYTHON, "-m", "app", "--host", "127.0.0.1", "--port", str(port)],
        env={**switchboard_env(emulators, vendors), **(extra_env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    procs.wait_http(proc, f"{base}/healthz")
    return proc, base


class RequestLog:
    """The emulators' log of vendor requests (GET / DELETE /_emulator/requests)."""

    def __init__(self, emulators: str) -> None:
        self.client = JsonClient(emulators)

    def reset(self) -> None:
        self.client.request("DELETE", "/_emulator/requests")

    def settle(self, *, quiet: float = 0.5, timeout: float = 20) -> None:
        """Wait until no vendor request arrived for `quiet` seconds (at most `timeout`): a
        server may still work off queued requests after the load generator stopped, and
        those must not be counted in the next measurement."""
        deadline = time.monotonic() + timeout
        seen = len(self.entries())
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = len(self.entries())
            if now == seen:
                return
            seen = now

    def entries(self) -> list[dict[str, Any]]:
        return list(self.client.json("GET", "/_emulator/requests"))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per vendor: `calls` (requests for calls) and `tokens` (credential requests)."""
        counts: dict[str, Counter[str]] = {vendor: Counter() for vendor in VENDORS}
        for entry in self.entries():
            kind = "tokens" if entry["path"].endswith(TOKEN_PATHS) else "calls"
            counts.setdefault(entry["vendor"], Counter())[kind] += 1
        return {
            vendor: {"calls": c["calls"], "tokens": c["tokens"]} for vendor, c in counts.items()
        }
