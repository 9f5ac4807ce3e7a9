"""The tracking store: its URI, checks before any work, retries on a locked SQLite file, experiments.

Writes go through :func:`retry`, so two processes sharing one SQLite store wait for each
other's transactions instead of failing on "database is locked"; the store itself is created
under a file lock (:func:`store_lock`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from training.errors import StanceError

DEFAULT_URI = "sqlite:///mlflow.db"
# Schemes MLflow's SQLAlchemy store takes (with an optional "+driver"), besides sqlite, http(s) and file.
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
RETRY_SECONDS = 120  # how long a locked SQLite store is waited for
T = TypeVar("T")


def resolve_uri(configured: str | None = None) -> str:
    """The tracking URI: the configured one, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def quiet_mlflow() -> None:
    """MLflow's INFO lines (store migrations, "Created version ...") stay out of our output.

    ``STANCE_VERBOSE=1`` keeps them.
    """
    import logging

    if os.environ.get("STANCE_VERBOSE") != "1":
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` says another process holds the SQLite database."""
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "database is busy" in text


def retry(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; on a locked SQLite database wait and try again (up to about two minutes).

    Each MLflow store call is one transaction that is rolled back when it fails, so a retry
    does not record anything twice.
    """
    delay, waited = 0.05, 0.0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_locked(exc) or waited > RETRY_SECONDS:
                raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:`` URI, or None for other stores and in-memory databases."""
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("sqlite://", 1)[1]
    if path.startswith("/"):
        path = path[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    if not path or path == ":memory:":
        return None
    return Path(path)


def artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: next to a SQLite database, else MLflow's default.

    With a SQLite store MLflow would put artifacts in ./mlruns of whatever folder the command
    runs in; next to the database they stay in one place (the same for the default
    sqlite:///mlflow.db).
    """
    db = sqlite_path(uri)
    return (db.parent.resolve() / "mlruns").as_uri() if db is not None else None


def git_commit() -> str | None:
    """The commit checked out in the working folder, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def check_store(uri: str) -> None:
    """Fail fast with one clear line if the tracking store cannot be used."""
    db = sqlite_path(uri)
    if db is not None:
        _check_sqlite(uri, db)
    elif uri.startswith(("http://", "https://")):
        _check_server(uri)
    elif uri.startswith("file:") or "://" not in uri:
        path = Path(uri[5:] if uri.startswith("file:") else uri)
        if path.exists() and not os.access(path, os.W_OK):
            raise StanceError(f"tracking store not writable: {uri}")
    else:
        from training.stores import check_database, shown

        scheme = uri.split("://", 1)[0].lower()
        if scheme.split("+", 1)[0] not in DATABASE_SCHEMES:
            raise StanceError(
                f"unknown tracking URI scheme: {shown(uri)} (use sqlite:///FILE, http(s)://HOST:PORT, file:DIR or "
                "a database URI such as postgresql://...)"
            )
        check_database(uri)  # a wrong password or a server that is down: one line, before any training


def _check_sqlite(uri: str, db: Path) -> None:
    """A SQLite store: its folder exists and is writable, an existing file is a database."""
    parent = db.parent if str(db.parent) else Path(".")
    if not parent.is_dir():
        raise StanceError(
            f"tracking store not reachable: {uri}: folder {parent} does not exist "
            "(create it or set MLFLOW_TRACKING_URI)"
        )
    if not os.access(parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        raise StanceError(f"tracking store not writable: {uri} (check the permissions or set MLFLOW_TRACKING_URI)")
    if not db.exists():
        return
    import sqlite3

    try:  # reading the schema is instant and catches a file that is not a database
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StanceError(
            f"tracking store not usable: {uri}: {exc} (repair it, or point MLFLOW_TRACKING_URI at another store)"
        ) from None


def _check_server(uri: str) -> None:
    """An MLflow server answers its health check."""
    import urllib.error
    import urllib.request

    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            if response.status != 200:
                raise StanceError(f"tracking server unhealthy: {uri} answered {response.status} (check the server)")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StanceError(
            f"tracking server not reachable: {uri} ({reason}; start `mlflow server` or "
            "unset MLFLOW_TRACKING_URI to use sqlite:///mlflow.db)"
        ) from None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Serialise creation of a SQLite store (and its experiment) between processes."""
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    import hashlib

    from filelock import FileLock

    # The lock file lives in the temp folder, named after the database's absolute path, so
    # no stray file appears next to mlflow.db in the user's working tree.
    key = hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:16]
    with FileLock(os.path.join(tempfile.gettempdir(), f"stance-mlflow-{key}.lock"), timeout=300):
        yield


def experiment_id(client: Any, name: str, create: bool, artifact_location: str | None = None) -> str:
    """The id of experiment ``name``; created (with ``artifact_location``) when missing and ``create``."""
    from mlflow.exceptions import MlflowException

    exp = retry(client.get_experiment_by_name, name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise StanceError(
                f"experiment '{name}' is deleted in the tracking store (restore it or choose another name)"
            )
        return str(exp.experiment_id)
    if not create:
        names = [e.name for e in retry(client.search_experiments, max_results=50)]
        raise StanceError(
            f"no experiment named '{name}' in the tracking store "
            f"(known: {', '.join(names) or 'none'}; run `stance train` first or pass --experiment)"
        )
    try:
        return str(retry(client.create_experiment, name, artifact_location=artifact_location))
    except MlflowException:
        exp = retry(client.get_experiment_by_name, name)  # another process created it meanwhile
        if exp is None:
            raise
        return str(exp.experiment_id)


def open_experiment(uri: str, name: str) -> tuple[Any, str]:
    """A client on ``uri`` and the id of experiment ``name``, created if needed, for a one-run command."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    with store_lock(uri):
        exp_id = experiment_id(client, name, create=True, artifact_location=artifact_location(uri))
    return client, exp_id
