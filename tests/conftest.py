"""Shared fixtures. Keep this file small: helpers with more logic live in tests/*kit.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 (SQLite store and artifacts in a temp dir); yields its URL."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited early: {(root / 'server.log').read_text(errors='replace')[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not answer /health within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture
def in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside ``tmp_path`` with no tracking URI from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("STANCE_CLUSTER", raising=False)  # a team's shell may set it; tests pick their cluster
    return tmp_path


# ---------------------------------------------------------------- team services (tests/teamkit.py)


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A real PostgreSQL server on 127.0.0.1 for the whole session."""
    from teamkit import running_postgres

    with running_postgres() as pg:
        yield pg


@pytest.fixture(scope="session")
def pg_tracking_server(postgres: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real ``mlflow server`` on that PostgreSQL, artifacts proxied (a ``teamkit.TrackingServer``)."""
    from teamkit import running_tracking_server

    with running_tracking_server(postgres, tmp_path_factory.mktemp("pg-mlflow")) as server:  # type: ignore[arg-type]
        yield server


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Dask scheduler and two single-threaded workers on 127.0.0.1 (a ``services.Cluster``)."""
    from teamkit import running_cluster

    with running_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster
