"""A Dask scheduler and single-threaded workers on 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.services.process import Process, free_port, spawn, tail, tcp_open, tool, wait_until


@dataclass
class Cluster:
    """A Dask scheduler and its workers on 127.0.0.1."""

    address: str
    scheduler: Process
    workers: list[Process] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the workers, then the scheduler."""
        for proc in self.workers:
            proc.stop()
        self.scheduler.stop()


def start_worker(
    address: str,
    root: Path,
    index: int,
    nthreads: int = 1,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Process:
    """One ``dask worker`` (with its nanny, which restarts it if it dies) of ``nthreads`` threads.

    ``extra`` are more ``dask worker`` options (``--preload SCRIPT``, say).
    """
    local = root / f"worker-{index}"
    local.mkdir(parents=True, exist_ok=True)
    cmd = [
        *tool("dask"),
        "worker",
        address,
        "--host",
        "127.0.0.1",
        "--nthreads",
        str(nthreads),
        "--nworkers",
        "1",
        "--no-dashboard",
        "--memory-limit",
        "0",
        "--local-directory",
        str(local),
        "--name",
        f"stance-{index}",
        *extra,
    ]
    return spawn(f"dask worker {index}", cmd, root / f"worker-{index}.log", root, env)


def start_cluster(
    root: Path,
    workers: int = 2,
    port: int | None = None,
    nthreads: int = 1,
    scheduler_env: dict[str, str] | None = None,
) -> Cluster:
    """A scheduler and ``workers`` single-process workers; returns once every worker has joined."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    address = f"tcp://127.0.0.1:{port}"
    cmd = [*tool("dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    sched = spawn("dask scheduler", cmd, root / "scheduler.log", root, scheduler_env)
    wait_until(lambda: tcp_open(port), sched, 120)
    cluster = Cluster(address, sched)
    try:
        for i in range(workers):
            cluster.workers.append(start_worker(address, root, i, nthreads))
        for proc in cluster.workers:
            wait_registered(proc)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def wait_registered(worker: Process) -> None:
    """Return once ``worker`` has joined its scheduler (its log says so)."""
    wait_until(lambda: "Registered to" in tail(worker.log, 100_000), worker, 180)
