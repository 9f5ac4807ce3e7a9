"""Running a command once, and the row every benchmark reports.

A run is a fresh child process: wall time from just before ``fork`` to its exit, and its peak
resident set size from ``os.wait4`` (the kernel's ``ru_maxrss`` of that child, including any
children it waited for). Nothing is imported into the parent that the child would share.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Thread pools of numpy/BLAS/OpenMP honour these; set for the one-core measurements only.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class BenchError(RuntimeError):
    """A measured command failed: the row cannot be filled, the reason says why."""


@dataclass(frozen=True)
class Run:
    """One finished child process."""

    seconds: float
    peak_rss: int  # bytes
    returncode: int
    stdout: str
    stderr: str


# Linux carries a process's peak RSS across fork and exec, so a child of a large process (a test
# runner with MLflow loaded) would report its parent's size. A small launcher forks the command
# from a fresh interpreter, waits for it and reports the command's own peak through a pipe.
_TRAMPOLINE = (
    "import os, sys, time\n"
    "fd = int(sys.argv[1])\n"
    "t0 = time.perf_counter()\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.close(fd)\n"
    "    try:\n"
    "        os.execvp(sys.argv[2], sys.argv[2:])\n"
    "    except OSError as exc:\n"
    "        sys.stderr.write(f'cannot run {sys.argv[2]}: {exc}')\n"
    "        os._exit(127)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "os.write(fd, f'{usage.ru_maxrss} {time.perf_counter() - t0}'.encode())\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    stdin_text: str | None = None,
    stdin_file: str | Path | None = None,
    check: bool = True,
    timeout: float = 3600.0,
) -> Run:
    """Run ``cmd`` to completion and measure it; a non-zero exit raises :class:`BenchError`.

    Output goes to temporary files rather than pipes so that a chatty command can never block
    on a full pipe while we wait for it, which would be counted as its own time.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    with (
        tempfile.TemporaryFile("w+b") as out,
        tempfile.TemporaryFile("w+b") as err,
        tempfile.TemporaryFile("w+b") as inp,
        contextlib.ExitStack() as stack,
    ):
        stdin: Any = subprocess.DEVNULL
        if stdin_text is not None:
            inp.write(stdin_text.encode("utf-8"))
            inp.seek(0)
            stdin = inp
        elif stdin_file:
            stdin = stack.enter_context(open(stdin_file, "rb"))
        t0 = time.perf_counter()
        read_fd, write_fd = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _TRAMPOLINE, str(write_fd), *map(str, cmd)],
                stdin=stdin,
                stdout=out,
                stderr=err,
                env=full_env,
                cwd=str(cwd) if cwd else None,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
            os.close(write_fd)
            status, _ = _wait(proc, timeout)
            with os.fdopen(read_fd, "rb") as fh:
                reported = fh.read().decode().split()
            # The launcher's own start-up is not the command's time: use the span it measured.
            seconds = float(reported[1]) if len(reported) == 2 else time.perf_counter() - t0
        except BaseException:
            os.close(read_fd)
            raise
        out.seek(0)
        err.seek(0)
        result = Run(
            seconds=seconds,
            peak_rss=int(reported[0]) * 1024 if reported else 0,
            returncode=status,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
    if check and result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
        raise BenchError(f"`{' '.join(map(str, cmd))[:160]}` exited {result.returncode}: {' | '.join(tail)[:400]}")
    return result


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, Any]:
    """Block in ``os.wait4`` on the child; a timer kills it if it outlives ``timeout``."""
    import threading

    killed: list[bool] = []

    def kill() -> None:
        killed.append(True)
        os.killpg(proc.pid, 9)  # the launcher and the command it started

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, rusage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here; stop Popen from waiting on a pid that is gone
    if killed:
        raise BenchError(f"`{' '.join(map(str, proc.args))[:160]}` took more than {timeout:.0f} s and was stopped")
    return code, rusage


def repeat(times: int, *makers: Callable[[], Run]) -> list[list[Run]]:
    """Call each maker ``times`` times, interleaved (A B A B ...), so drift hits every side alike."""
    results: list[list[Run]] = [[] for _ in makers]
    for _ in range(times):
        for i, make in enumerate(makers):
            results[i].append(make())
    return results


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))


def stance_exe() -> list[str]:
    """The ``stance`` console script next to this interpreter, as a user would call it."""
    script = Path(sys.executable).with_name("stance")
    if script.exists():
        return [str(script)]
    found = shutil.which("stance")
    return [found] if found else [sys.executable, "-m", "training"]


def one_core() -> list[str]:
    """A ``taskset`` prefix pinning a command to the first CPU this process may use, if possible."""
    taskset = shutil.which("taskset")
    if not taskset or not hasattr(os, "sched_getaffinity"):
        return []
    return [taskset, "-c", str(min(os.sched_getaffinity(0)))]


@dataclass
class Row:
    """One figure of the report, with its reference, ratio and target.

    ``ok`` is ``None`` when the row has no target (information only) or could not be
    measured; ``note`` then says which.
    """

    key: str
    what: str
    value: float | None = None
    unit: str = ""
    reference: float | None = None
    reference_what: str = ""
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    runs: int = 0
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def failed(self, reason: str) -> Row:
        """Mark the row as not measured, keeping why."""
        self.value = self.reference = self.ratio = None
        self.ok = None
        self.note = f"not measured: {reason}"
        return self


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def mib(nbytes: float) -> float:
    """Bytes to MiB."""
    return nbytes / (1024 * 1024)


def dir_size(path: str | Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
