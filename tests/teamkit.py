"""Real team services for the tests, started on 127.0.0.1 by :mod:`training.services`.

PostgreSQL (``initdb`` + ``pg_ctl``; as the ``postgres`` user when the tests run as root), an
MLflow server on it with proxied artifacts, and Dask clusters of single-threaded workers. Each
context manager stops what it started and removes its folders.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from training.services import Cluster, Postgres, free_port, start_cluster, start_mlflow, start_worker, wait_registered


@dataclass(frozen=True)
class TrackingServer:
    """An ``mlflow server`` on PostgreSQL: its URL, where it keeps artifacts, its database."""

    url: str
    artifacts: Path
    postgres: Postgres


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A fresh PostgreSQL cluster with an ``mlflow`` database; the password is random."""
    # The data folder must be reachable by the postgres user: pytest's own temp folders are not.
    base = Path(tempfile.mkdtemp(prefix="stance-test-pg-"))
    os.chmod(base, 0o755)
    pg = Postgres(base / "data", free_port(), secrets.token_urlsafe(12), base / "postgres.log")
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def running_tracking_server(pg: Postgres, root: Path) -> Iterator[TrackingServer]:
    """``mlflow server --backend-store-uri postgresql://... --artifacts-destination DIR``, two workers."""
    root.mkdir(parents=True, exist_ok=True)
    proc, url = start_mlflow(pg.uri(), root / "artifacts", root, workers=2)
    try:
        yield TrackingServer(url, root / "artifacts", pg)
    finally:
        proc.stop()


@contextlib.contextmanager
def running_cluster(root: Path, workers: int = 2, scheduler_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A Dask scheduler and ``workers`` workers of one thread each."""
    cluster = start_cluster(root, workers, scheduler_env=scheduler_env)
    try:
        yield cluster
    finally:
        cluster.stop()


def add_worker(cluster: Cluster, root: Path, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> None:
    """Start one more worker for ``cluster`` and wait until it has joined."""
    worker = start_worker(cluster.address, root, len(cluster.workers), env=env, extra=extra)
    cluster.workers.append(worker)
    wait_registered(worker)


def worker_pids(address: str) -> dict[str, int]:
    """The process id of each worker of the cluster (the process that runs the tasks, not its nanny)."""
    from distributed import Client

    with Client(address, timeout="10s", set_as_default=False) as client:
        return dict(client.run(os.getpid))
