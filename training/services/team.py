"""A team's services on one machine: PostgreSQL, an MLflow server on it, a Dask scheduler and workers.

``python -m training.services up --dir .team`` (``make server``) starts all of them and writes
``.team/env`` (``MLFLOW_TRACKING_URI`` and ``STANCE_CLUSTER``); ``down --dir .team``
(``make server-stop``) stops them. State (ports, password, process ids) is kept in
``.team/state.json`` so that ``down`` finds what ``up`` started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

from training.services.dask_cluster import start_cluster
from training.services.mlflow_server import start_mlflow
from training.services.postgres import Postgres, pg_data_dir
from training.services.process import ServiceError, free_port


def up(root: Path, workers: int = 2) -> dict[str, str]:
    """Start PostgreSQL, the MLflow server and a Dask cluster under ``root``; write ``root/env``."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    state_file = root / "state.json"
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else {}
    if any(_alive(pid) for pid in state.get("pids", [])):
        raise ServiceError(f"the services of {root} are already running (make server-stop first)")
    password = state.get("password") or secrets.token_urlsafe(16)
    pg = Postgres(pg_data_dir(root), int(state.get("pg_port") or free_port()), password, root / "postgres.log")
    pg.data.parent.mkdir(parents=True, exist_ok=True)
    pg.start()
    started: list[Any] = [pg]
    try:
        mlflow, url = start_mlflow(pg.uri(), root / "artifacts", root)
        started.append(mlflow)
        cluster = start_cluster(root / "dask", workers)
    except BaseException:
        for service in reversed(started):
            service.stop()
        raise
    state = {
        "password": password,
        "pg_port": pg.port,
        "pg_data": str(pg.data),
        "tracking_uri": url,
        "cluster": cluster.address,
        "pids": [mlflow.proc.pid, cluster.scheduler.proc.pid, *[w.proc.pid for w in cluster.workers]],
    }
    state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
    os.chmod(state_file, 0o600)
    (root / "env").write_text(
        f"export MLFLOW_TRACKING_URI={url}\nexport STANCE_CLUSTER={cluster.address}\n", encoding="utf-8"
    )
    return {"MLFLOW_TRACKING_URI": url, "STANCE_CLUSTER": cluster.address, "backend": pg.uri(password="***")}


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def down(root: Path) -> None:
    """Stop what :func:`up` started under ``root`` (the PostgreSQL data stays for the next ``up``)."""
    state_file = root.resolve() / "state.json"
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text(encoding="utf-8"))
    for pid in state.get("pids", []):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30  # the MLflow server's workers take a few seconds to stop
    while any(_alive(pid) for pid in state.get("pids", [])) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in state.get("pids", []):
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    Postgres(Path(state["pg_data"]), int(state["pg_port"]), state["password"], root / "postgres.log").stop()
    state["pids"] = []
    state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m training.services up|down [--dir DIR] [--workers N]``."""
    parser = argparse.ArgumentParser(prog="python -m training.services", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--dir", type=Path, default=Path(".team"), help="state, logs, artifacts (default: .team)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers, one thread each (default: 2)")
    args = parser.parse_args(argv)
    try:
        if args.action == "down":
            down(args.dir)
            print(f"stopped the services of {args.dir}")
            return 0
        for key, value in up(args.dir, args.workers).items():
            print(f"{key}={value}")
        print(f"source {args.dir / 'env'} to point `stance` at them; `make server-stop` stops them")
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
