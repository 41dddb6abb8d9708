"""Server processes for benchmarks: free ports, start, wait until ready, and stop.

Every process is started in a session (and so a process group) of its own, so that stopping
it also stops whatever it spawned (npx, node workers) and nothing else. `Processes` stops
all of its processes when its `with` block ends, whether by return, error or Ctrl-C;
`exit_on_sigterm` makes a SIGTERM (e.g. `timeout`, CI) unwind the same way. A
`Processes` block also holds a machine-wide lock, so that two benchmarks never share the
cores (see `machine_lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parents[2]  # the repository
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it: port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that `with Processes()` blocks clean up."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


class ProcessFailed(RuntimeError):
    pass


# One benchmark at a time on the machine: two at once share the 2 cores and both measure
# nonsense. Every `Processes` block holds this lock (re-entrant within a process).
LOCK_PATH = Path(tempfile.gettempdir()) / "switchboard-bench.lock"


class _MachineLock:
    def __init__(self) -> None:
        self.depth = 0
        self.handle: IO[str] | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if os.environ.get("BENCH_NO_LOCK") == "1":
            yield
            return
        if self.depth == 0:
            self.handle = self._acquire()
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if self.depth == 0 and self.handle is not None:
                self.handle.close()  # closing the file releases the flock
                self.handle = None

    @staticmethod
    def _acquire() -> IO[str]:
        handle = LOCK_PATH.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            log(f"another benchmark holds {LOCK_PATH} ({holder}): waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: {' '.join(sys.argv)}\n")
        handle.flush()
        return handle


_MACHINE_LOCK = _MachineLock()


def machine_lock() -> contextlib.AbstractContextManager[None]:
    """Hold the machine-wide benchmark lock; waits (saying so) while another process holds
    it. BENCH_NO_LOCK=1 skips it."""
    return _MACHINE_LOCK.held()


class Processes:
    """The server processes of one benchmark; all are stopped when the block ends.

    Output goes to a log file per process (not a pipe: a full pipe would stall a busy
    server); the tail is shown when a process dies or never gets ready.
    """

    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.log_dir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
        self._lock = machine_lock()

    def __enter__(self) -> Processes:
        self._lock.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop_all()
        finally:
            self._lock.__exit__(exc_type, exc, tb)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd or ROOT,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append((name, proc, log))
        return proc

    def wait_http(self, proc: subprocess.Popen[bytes], url: str, *, timeout: float = 30) -> None:
        """Wait until GET `url` answers 200; fail at once if `proc` exits, or after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ProcessFailed(
                    f"{self._name(proc)} exited ({proc.returncode})\n{self.tail(proc)}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise ProcessFailed(
                    f"{self._name(proc)} not ready at {url} within {timeout:g} s\n{self.tail(proc)}"
                )
            time.sleep(0.1)

    def stop(self, proc: subprocess.Popen[bytes], *, grace: float = 5) -> None:
        """SIGTERM to the process's group, SIGKILL after `grace` seconds."""
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        # Children that outlived their parent are still in the group: end them too.
        _signal_group(proc, signal.SIGKILL)
        self._procs = [entry for entry in self._procs if entry[1] is not proc]

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self._procs):
            self.stop(proc)

    def tail(self, proc: subprocess.Popen[bytes], lines: int = 30) -> str:
        for _, known, log in self._procs:
            if known is proc:
                text = log.read_text(errors="replace").splitlines()
                return "\n".join(text[-lines:])
        return ""

    def _name(self, proc: subprocess.Popen[bytes]) -> str:
        return next((name for name, known, _ in self._procs if known is proc), str(proc.args))


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    # The group is the process's own (start_new_session): nothing else is in it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid`, its threads and its living descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name (field 2) may contain spaces: split after its closing ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        times[child] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, ()))
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), for telling whether
    anything besides the benchmark used the machine during a measurement."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    """Progress output: flushed at once, so that `bench/run.sh` shows it as it happens."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
