"""Services as child processes: spawning, waiting for them to answer, stopping them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A service did not start; the message ends with the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tail(log: Path, chars: int = 1500) -> str:
    """The last ``chars`` characters of a log, empty when it cannot be read."""
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


@dataclass
class Process:
    """A service running as its own process group; its output goes to ``log``."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM its process group, then SIGKILL what is left after ``timeout`` seconds."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass


def spawn(name: str, cmd: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> Process:
    """Start ``cmd`` in its own session (so it stops as a group), its output appended to ``log``.

    The tracking URI of this process is not passed on: a service picks its own store.
    """
    full = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",)}
    full.update(env or {})
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd, env=full, start_new_session=True)
    return Process(name, proc, log)


def wait_until(check: Callable[[], bool], what: Process, seconds: float = 120) -> None:
    """Poll ``check`` until it is true; a process that exits or a deadline that passes raises."""
    deadline = time.monotonic() + seconds
    while True:
        if what.proc.poll() is not None:
            raise ServiceError(f"{what.name} exited early ({what.proc.returncode}): {tail(what.log)}")
        if check():
            return
        if time.monotonic() > deadline:
            raise ServiceError(f"{what.name} did not answer within {seconds:.0f} s: {tail(what.log)}")
        time.sleep(0.3)


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def tool(name: str) -> list[str]:
    """A console script of this environment (next to the running interpreter), else on PATH."""
    here = Path(sys.executable).parent / name
    return [str(here)] if here.exists() else [shutil.which(name) or name]


def tcp_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
