"""The tracking store: URI precedence, checks before any work, retries on a locked SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from training.errors import StanceError
from training.tracking import store

from conftest import free_port


def test_tracking_uri_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert store.resolve_uri(None) == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert store.resolve_uri(None) == "http://127.0.0.1:5999"
    assert store.resolve_uri("sqlite:///other.db") == "sqlite:///other.db"


def test_unreachable_stores_fail_fast(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(StanceError, match=rf"tracking server not reachable: {url} .*start `mlflow server`"):
        store.check_store(url)
    assert time.monotonic() - t0 < 10
    with pytest.raises(StanceError, match=r"folder .*missing does not exist"):
        store.check_store(f"sqlite:///{tmp_path / 'missing' / 'mlflow.db'}")
    store.check_store(f"sqlite:///{tmp_path / 'mlflow.db'}")  # a new file in an existing folder is fine


def test_a_file_that_is_not_a_database_and_unknown_schemes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"not a database" * 100)
    with pytest.raises(StanceError, match=r"tracking store not usable: sqlite:///.*mlflow.db: .*\(repair it"):
        store.check_store(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(StanceError, match=r"unknown tracking URI scheme: ftp://host/x \(use sqlite"):
        store.check_store("ftp://host/x")
    with pytest.raises(StanceError, match=r"scheme: mongodb://user:\*\*\*@host/db \(use") as caught:
        store.check_store("mongodb://user:secret@host/db")
    assert "secret" not in str(caught.value)


def test_sqlite_paths_and_artifact_locations(tmp_path: Path) -> None:
    assert store.sqlite_path("sqlite:///rel.db") == Path("rel.db")
    assert store.sqlite_path("sqlite:////abs/mlflow.db") == Path("/abs/mlflow.db")
    assert store.sqlite_path("sqlite:///:memory:") is None
    assert store.sqlite_path("http://127.0.0.1:5000") is None
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert store.artifact_location(uri) == (tmp_path.resolve() / "mlruns").as_uri()
    assert store.artifact_location("postgresql://u@h/db") is None


def test_retry_waits_out_a_locked_database() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    assert store.retry(flaky) == "ok" and len(calls) == 3

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("no such table: runs")

    calls.clear()
    with pytest.raises(RuntimeError, match="no such table"):
        store.retry(broken)
    assert len(calls) == 1


def test_experiment_id_names_the_known_experiments_when_one_is_missing(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, exp_id = store.open_experiment(uri, "known")
    assert store.open_experiment(uri, "known")[1] == exp_id
    assert store.experiment_id(client, "known", create=False) == exp_id
    with pytest.raises(StanceError, match=r"no experiment named 'other' .*known: .*known"):
        store.experiment_id(client, "other", create=False)
    assert isinstance(client, mlflow.MlflowClient)
