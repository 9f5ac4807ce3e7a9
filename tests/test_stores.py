"""training.stores: database tracking URIs shown without their password, and checked before any work."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from training import stores
from training.errors import StanceError

from conftest import free_port


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://stance:s3cret@127.0.0.1:5432/mlflow", "postgresql://stance:***@127.0.0.1:5432/mlflow"),
        ("postgresql+psycopg://stance:s3cret@db/mlflow", "postgresql+psycopg://stance:***@db/mlflow"),
        ("mysql+pymysql://root:p%40ss@db:3306/runs", "mysql+pymysql://root:***@db:3306/runs"),
        ("mssql+pyodbc://sa:@db/runs", "mssql+pyodbc://sa:***@db/runs"),
        ("postgresql://:only-a-password@db/mlflow", "postgresql://:***@db/mlflow"),
    ],
)
def test_a_password_is_replaced_by_stars(uri: str, expected: str) -> None:
    assert stores.shown(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://stance@db/mlflow",
        "postgresql://db:5432/mlflow",
        "sqlite:////tmp/mlflow.db",
        "http://127.0.0.1:5000",
        "http://tracking.example:5000/path/user:name@x",
        "file:/tmp/mlruns",
        "mlruns",
    ],
)
def test_uris_without_a_password_are_shown_as_they_are(uri: str) -> None:
    assert stores.shown(uri) == uri


def test_an_at_sign_ends_the_password_as_sqlalchemy_reads_it() -> None:
    from sqlalchemy.engine import make_url

    uri = "postgresql://stance:p@ss@db/mlflow"
    assert (make_url(uri).password, make_url(uri).host) == ("p", "ss@db")
    assert stores.shown(uri) == "postgresql://stance:***@ss@db/mlflow"


def test_a_password_with_a_slash_is_hidden_too() -> None:
    from sqlalchemy.engine import make_url

    port = free_port()
    uri = f"postgresql://stance:pa/ss@127.0.0.1:{port}/mlflow"
    assert make_url(uri).password == "pa/ss"
    with pytest.raises(StanceError) as caught:
        stores.check_database(uri)
    assert "pa/ss" not in str(caught.value)
    assert stores.shown(uri) == f"postgresql://stance:***@127.0.0.1:{port}/mlflow"


def test_network_databases_get_a_connect_timeout() -> None:
    assert stores._connect_args("postgresql+psycopg://u:p@h/db") == {"connect_timeout": stores.CONNECT_SECONDS}
    assert stores._connect_args("MySQL://u:p@h/db") == {"connect_timeout": stores.CONNECT_SECONDS}
    assert stores._connect_args("sqlite:///x.db") == {}
    assert stores._connect_args("mssql+pyodbc://u:p@h/db") == {}


def test_a_working_database_passes(tmp_path: Path) -> None:
    stores.check_database(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with sqlite3.connect(tmp_path / "mlflow.db") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_database_that_cannot_be_opened_is_not_reachable(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'no-such-folder' / 'mlflow.db'}"
    with pytest.raises(
        StanceError, match=r"^tracking database not reachable: sqlite:///.*no-such-folder/mlflow\.db \("
    ) as caught:
        stores.check_database(uri)
    assert "unable to open database file" in str(caught.value) and len(caught.value.problems) == 1


def test_an_unknown_driver_is_one_line_without_the_password() -> None:
    with pytest.raises(
        StanceError,
        match=r"^no database driver for the tracking store postgresql\+nodriver://u:\*\*\*@127\.0\.0\.1/db \(.*pip install 'psycopg\[binary\]'",
    ) as caught:
        stores.check_database("postgresql+nodriver://u:hunter2@127.0.0.1/db")
    assert "hunter2" not in str(caught.value)


def test_a_driver_that_is_not_installed_is_one_line() -> None:
    import importlib.util

    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("mysqlclient is installed here")
    with pytest.raises(
        StanceError, match=r"^no database driver for the tracking store mysql://u:\*\*\*@127\.0\.0\.1/db \("
    ):
        stores.check_database("mysql://u:hunter2@127.0.0.1/db")


def test_an_unparsable_uri_is_invalid() -> None:
    with pytest.raises(
        StanceError, match=r"^invalid tracking store URI postgresql:/db \(Could not parse SQLAlchemy URL"
    ):
        stores.check_database("postgresql:/db")


def test_a_port_that_is_not_a_number_is_one_line() -> None:
    with pytest.raises(StanceError, match=r"tracking store URI postgresql://u:\*\*\*@127\.0\.0\.1:port/db"):
        stores.check_database("postgresql://u:hunter2@127.0.0.1:port/db")


def test_a_server_that_is_down_is_not_reachable_and_the_password_stays_hidden() -> None:
    port = free_port()
    with pytest.raises(StanceError) as caught:
        stores.check_database(f"postgresql://stance:hunter2@127.0.0.1:{port}/mlflow")
    (line,) = caught.value.problems
    assert line.startswith(f"tracking database not reachable: postgresql://stance:***@127.0.0.1:{port}/mlflow (")
    assert line.endswith("; check that the database server runs and the URI names it)")
    assert "hunter2" not in line and "\n" not in line


@pytest.mark.slow
def test_a_real_postgres_passes_and_a_wrong_password_is_refused(postgres: Any) -> None:
    stores.check_database(postgres.uri())
    with pytest.raises(StanceError) as caught:
        stores.check_database(postgres.uri(password="not-the-password"))
    (line,) = caught.value.problems
    assert line.startswith(
        f"tracking database refused the login: postgresql://stance:***@127.0.0.1:{postgres.port}/mlflow ("
    )
    assert "password authentication failed" in line and "not-the-password" not in line
    assert line.endswith("; check the user and password in the URI)")


@pytest.mark.slow
def test_a_missing_database_on_a_real_server_is_not_reachable(postgres: Any) -> None:
    with pytest.raises(
        StanceError, match=r'^tracking database not reachable: .*/no_such_db \(.*database "no_such_db" does not exist'
    ):
        stores.check_database(postgres.uri(database="no_such_db"))
