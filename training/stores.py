"""A database tracking store, tried once before any work: ``postgresql://`` (or MySQL, SQL Server) URIs.

``stance`` reaches such a store directly (``--tracking-uri postgresql://...``) when there is no
tracking server in between. A wrong password, a server that is down or a missing database
driver would otherwise surface deep inside MLflow after the training; here each is one line,
with the password left out of it.
"""

from __future__ import annotations

import re
from typing import Any

from training.errors import StanceError

CONNECT_SECONDS = 5


# In a database URI the password runs to the next "@", as SQLAlchemy reads it, "/" included; in
# an HTTP URL the user part ends at the first "/" (RFC 3986).
_WITH_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*):[^@]*@")
_HTTP_WITH_PASSWORD = re.compile(r"^(https?://[^:/@]*):[^@/]*@", re.IGNORECASE)


def shown(uri: str) -> str:
    """``uri`` with a password in it replaced by ``***``: for messages, tags and exported metadata."""
    pattern = _HTTP_WITH_PASSWORD if uri.lower().startswith(("http://", "https://")) else _WITH_PASSWORD
    return pattern.sub(r"\1:***@", uri)


def _connect_args(uri: str) -> dict[str, Any]:
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    return {"connect_timeout": CONNECT_SECONDS} if scheme in ("postgresql", "mysql") else {}


def check_database(uri: str) -> None:
    """Open one connection to the database of ``uri`` and run ``SELECT 1``; any failure is one :class:`StanceError`."""
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    where = shown(uri)
    try:
        engine = sqlalchemy.create_engine(uri, connect_args=_connect_args(uri), poolclass=NullPool)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise StanceError(
            f"no database driver for the tracking store {where} ({exc}; for PostgreSQL install "
            "psycopg: pip install 'psycopg[binary]', or write postgresql+psycopg2:// with psycopg2)"
        ) from None
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StanceError(f"invalid tracking store URI {where} ({str(exc).splitlines()[0]})") from None
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        if "password authentication failed" in reason or "access denied" in reason.lower():
            raise StanceError(
                f"tracking database refused the login: {where} ({reason}; check the user and password in the URI)"
            ) from None
        raise StanceError(
            f"tracking database not reachable: {where} ({reason}; check that the database server "
            "runs and the URI names it)"
        ) from None
    finally:
        engine.dispose()
