"""Where benchmark numbers go: bench/results/<name>.json (everything measured, with the
command, date and machine) and a section of bench/RESULTS.md (the summary table).

Each benchmark owns one section of RESULTS.md, between `<!-- BEGIN <name> -->` and
`<!-- END <name> -->`, and rewrites only that, so benchmarks can run in any order.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
RESULTS_DIR = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"

MD_HEADER = """# Benchmark results

Written by the benchmarks themselves (`bench/run.sh`, or each script alone): every
section says when, on which machine and with which commands its numbers were measured.
What each number means: bench/README.md. Raw numbers: bench/results/*.json.
"""


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = match.group(1).strip() if match else cpu
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _version(["node", "--version"]),
        "wrk": _version(["wrk", "--version"]),
    }


def _version(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else None


def source() -> dict[str, Any]:
    """Which code was measured: the commit, and the files of app/ changed since it (other
    engineers edit app/ while benchmarks run, so a commit alone may not say it)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=BENCH.parent, capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip()  # not strip(): porcelain lines start with a space

    changed = [line[3:] for line in git("status", "--porcelain", "--", "app").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "app_changed": changed}


def source_line(info: dict[str, Any]) -> str:
    changed = info.get("app_changed") or []
    dirty = f" plus uncommitted changes to {', '.join(changed)}" if changed else ""
    return f"code at commit {info.get('commit')}{dirty}"


def machine_line(info: dict[str, Any]) -> str:
    return f"{info['nproc']} cores (`nproc`), {info['cpu']}, {info['ram_gib']} GiB RAM"


def command_line() -> str:
    """How this benchmark was started, as one could type it again from the repository."""
    return shlex.join([".venv/bin/python", "-m", _module_name(), *sys.argv[1:]])


def _module_name() -> str:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).stem


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def write_section(name: str, markdown: str) -> None:
    """Replace this benchmark's section of RESULTS.md (append it the first time)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    RESULTS_MD.touch()
    with RESULTS_MD.open("r+") as md:
        # Another benchmark may write its own section at the same time: one writer at once.
        fcntl.flock(md, fcntl.LOCK_EX)
        text = md.read() or MD_HEADER
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        md.seek(0)
        md.truncate()
        md.write(text)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
