"""A worker that watches its parent ends when the parent is killed; SIGTERM becomes an interrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from training.processes import sigterm_as_interrupt, watch_parent

# The middle process forks a worker that watches it, prints the worker's pid, then dies by SIGKILL.
MIDDLE = textwrap.dedent("""
    import os, signal, sys, time
    from training.processes import watch_parent
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        watch_parent(parent, interval=0.05)
        time.sleep(600)
        os._exit(0)
    print(pid, flush=True)
    os.kill(parent, signal.SIGKILL)
""")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc").is_dir(), reason="needs fork and /proc")
def test_a_worker_ends_soon_after_its_parent_is_killed() -> None:
    out = subprocess.run([sys.executable, "-c", MIDDLE], capture_output=True, text=True, timeout=60)
    worker = int(out.stdout.split()[0])
    deadline = time.monotonic() + 30
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _gone(worker):
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its parent")


def test_watching_is_a_no_op_in_the_parent_itself() -> None:
    import threading

    before = {t.name for t in threading.enumerate()}
    watch_parent(os.getpid())
    assert {t.name for t in threading.enumerate()} == before


def test_sigterm_raises_keyboard_interrupt_in_the_main_thread() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    try:
        sigterm_as_interrupt()
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    finally:
        signal.signal(signal.SIGTERM, previous)
