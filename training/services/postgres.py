"""PostgreSQL for the tracking server: a cluster created with ``initdb`` and run by ``pg_ctl``.

Run as root, PostgreSQL runs as the ``postgres`` user (``initdb`` refuses root), so its data
folder must lie where that user can reach it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from training.services.process import ServiceError, tail

PG_USER, PG_DATABASE = "stance", "mlflow"


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
    """Hand ``path`` to the ``postgres`` user when we are root, so the server can write it."""
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
                run(
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
        run(
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


def run(cmd: list[str], log: Path) -> None:
    """Run a PostgreSQL tool to completion; a failure raises with its output and the log's tail."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=180)
    if out.returncode != 0:
        raise ServiceError(
            f"`{' '.join(cmd[-6:])}` failed ({out.returncode}): "
            f"{(out.stderr or out.stdout).strip()[-800:]} {tail(log, 800)}"
        )


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
