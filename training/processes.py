"""Worker processes that do not outlive their parent, and SIGTERM handled like Ctrl-C.

A ``kill -9`` of a command gives it no chance to stop its workers; each worker therefore
watches its parent and exits as soon as the parent is gone. A plain SIGTERM becomes a
``KeyboardInterrupt`` in the main thread, so the same clean-up runs as for Ctrl-C (temporary
files removed, earlier outputs left as they were, runs marked KILLED).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

PARENT_POLL_SECONDS = 0.5
_watched: int | None = None


def watch_parent(parent_pid: int, interval: float = PARENT_POLL_SECONDS) -> None:
    """In a worker, start a thread that ends the process once ``parent_pid`` is no longer its parent.

    A no-op in the parent itself and when the watch already runs in this process.
    """
    global _watched
    if os.getpid() == parent_pid or _watched == parent_pid:
        return
    _watched = parent_pid

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)  # the parent died: nobody will read this worker's results

    threading.Thread(target=watch, name="stance-parent-watch", daemon=True).start()


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_interrupt() -> None:
    """Handle SIGTERM like Ctrl-C in this process (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
