"""Shared fixtures: a fresh database on SQLite and on PostgreSQL for every storage test.

PostgreSQL: the server at ``VEILIG_TEST_PG_ADMIN_URL`` (default the local one on 127.0.0.1:5432,
user postgres, trust auth). Each test gets a database of its own, dropped afterwards. When no
server answers, the PostgreSQL variants are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

PG_ADMIN_URL = os.environ.get(
    "VEILIG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

_pg_state: dict[str, object] = {}


def _pg_available() -> tuple[bool, str]:
    if "ok" not in _pg_state:
        try:
            eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            eng.dispose()
            _pg_state["ok"], _pg_state["why"] = True, ""
        except Exception as exc:  # any failure to connect means: skip, and say why
            _pg_state["ok"], _pg_state["why"] = False, f"no PostgreSQL at {PG_ADMIN_URL}: {exc}"
    return bool(_pg_state["ok"]), str(_pg_state["why"])


def create_pg_database() -> str:
    """Create an empty PostgreSQL database; return its URL."""
    name = f"veilig_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of a fresh, empty (unmigrated) database: SQLite file and PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'veilig.db'}"
        return
    ok, why = _pg_available()
    if not ok:
        if os.environ.get("VEILIG_REQUIRE_POSTGRES"):
            pytest.fail(f"CI requires PostgreSQL: {why}")
        pytest.skip(why)
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def db(db_url: str):
    """A migrated :class:`veilig.storage.Database` on each backend."""
    from veilig.storage import open_database

    database = open_database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'veilig.db'}"
