"""An ``mlflow server`` on a database, artifacts proxied into a folder."""

from __future__ import annotations

import sys
from pathlib import Path

from training.services.process import Process, free_port, http_ok, spawn, wait_until


def start_mlflow(
    backend_uri: str, artifacts: Path, root: Path, port: int | None = None, workers: int = 2
) -> tuple[Process, str]:
    """``mlflow server`` on ``backend_uri`` with artifacts proxied into ``artifacts``; returns it and its URL."""
    port = port or free_port()
    artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        str(artifacts),
    ]
    proc = spawn("mlflow server", cmd, root / "mlflow-server.log", root)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/health"), proc, 180)
    return proc, url
