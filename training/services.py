"""A team's services on one machine: PostgreSQL, an MLflow server on it, a Dask scheduler and workers.

For a local try (``make server``), the tests and the benchmarks. Everything listens on
127.0.0.1 only; each service is a real program started from this machine's packages
(PostgreSQL's ``initdb``/``pg_ctl``) or this environment (``mlflow server``, ``dask scheduler``,
``dask worker``). Run as root, PostgreSQL runs as the ``postgres`` user (``initdb`` refuses
root), so its data folder must lie where that user can reach it.

``python -m training.services up --dir .team`` starts all of them and writes ``.team/env``
(``MLFLOW_TRACKING_URI`` and ``STANCE_CLUSTER``); ``down --dir .team`` stops them.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_USER, PG_DATABASE = "stance", "mlflow"


class ServiceError(RuntimeError):
    """A service did not start; the message ends with the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path, chars: int = 1500) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def pg_binary(name: str) -> str:
    """Path of a PostgreSQL server program: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise ServiceError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return candidates[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` user when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Postgres:
    """A PostgreSQL cluster in ``data`` listening on 127.0.0.1:``port``."""

    data: Path
    port: int
    password: str
    log: Path

    def uri(self, database: str = PG_DATABASE, password: str | None = None) -> str:
        """A ``postgresql://`` URI of ``database`` (psycopg 3 is the driver SQLAlchemy picks)."""
        return f"postgresql://{PG_USER}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Create the cluster if needed, start it, and create the ``mlflow`` database."""
        fresh = not (self.data / "PG_VERSION").exists()
        if fresh:
            self.data.mkdir(parents=True, exist_ok=True)
            _chown_postgres(self.data)
            pwfile = self.data.parent / f".{self.data.name}.pw"
            pwfile.write_text(self.password + "\n", encoding="utf-8")
            _chown_postgres(pwfile)
            try:
                _run(
                    _as_postgres(
                        [
                            pg_binary("initdb"),
                            "-D",
                            str(self.data),
                            "-U",
                            PG_USER,
                            "-E",
                            "UTF8",
                            "--auth=scram-sha-256",
                            f"--pwfile={pwfile}",
                            "--no-instructions",
                        ]
                    ),
                    self.log,
                )
            finally:
                pwfile.unlink(missing_ok=True)
            with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(
                    "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                    "max_connections = 100\nfsync = on\n"
                )
        self.log.touch()
        _chown_postgres(self.log)  # the server itself writes it
        _run(
            _as_postgres(
                [
                    pg_binary("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-p {self.port}",
                    "start",
                ]
            ),
            self.log,
        )
        if fresh:
            import psycopg

            with psycopg.connect(self.uri("postgres"), autocommit=True, connect_timeout=10) as conn:
                conn.execute(f"CREATE DATABASE {PG_DATABASE}")

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are rolled back)."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres([pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                check=False,
                timeout=60,
            )


def _run(cmd: list[str], log: Path) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=180)
    if out.returncode != 0:
        raise ServiceError(
            f"`{' '.join(cmd[-6:])}` failed ({out.returncode}): "
            f"{(out.stderr or out.stdout).strip()[-800:]} {_tail(log, 800)}"
        )


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


def _spawn(name: str, cmd: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> Process:
    full = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",)}
    full.update(env or {})
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd, env=full, start_new_session=True)
    return Process(name, proc, log)


def _wait(check: Callable[[], bool], what: Process, seconds: float = 120) -> None:
    """Poll ``check`` until it is true; a process that exits or a deadline that passes raises."""
    deadline = time.monotonic() + seconds
    while True:
        if what.proc.poll() is not None:
            raise ServiceError(f"{what.name} exited early ({what.proc.returncode}): {_tail(what.log)}")
        if check():
            return
        if time.monotonic() > deadline:
            raise ServiceError(f"{what.name} did not answer within {seconds:.0f} s: {_tail(what.log)}")
        time.sleep(0.3)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _tool(name: str) -> list[str]:
    """A console script of this environment (next to the running interpreter), else on PATH."""
    here = Path(sys.executable).parent / name
    return [str(here)] if here.exists() else [shutil.which(name) or name]


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
    proc = _spawn("mlflow server", cmd, root / "mlflow-server.log", root)
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _http_ok(f"{url}/health"), proc, 180)
    return proc, url


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
        *_tool("dask"),
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
    return _spawn(f"dask worker {index}", cmd, root / f"worker-{index}.log", root, env)


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
    cmd = [*_tool("dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    sched = _spawn("dask scheduler", cmd, root / "scheduler.log", root, scheduler_env)
    _wait(lambda: _tcp_open(port), sched, 120)
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
    _wait(lambda: "Registered to" in _tail(worker.log, 100_000), worker, 180)


def _tcp_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pg_data_dir(root: Path) -> Path:
    """Where PostgreSQL keeps its data for ``root``: inside it, or under the temp folder when running
    as root and ``root`` is not reachable by the ``postgres`` user."""
    if os.geteuid() != 0:
        return root / "postgres"
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(root)], check=False)
    if probe.returncode == 0:
        return root / "postgres"
    import hashlib
    import tempfile

    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"stance-postgres-{key}"


# ---------------------------------------------------------------- make server


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
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
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


if __name__ == "__main__":
    sys.exit(main())
