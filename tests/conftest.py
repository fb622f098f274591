"""Shared fixtures: a fresh database on SQLite and on PostgreSQL for every storage test.

PostgreSQL: the server at ``VEILIG_TEST_PG_ADMIN_URL`` (default the local one on 127.0.0.1:5432,
user postgres, trust auth). Each test gets a database of its own, dropped afterwards. When no
server answers, the PostgreSQL variants are skipped with the reason.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

# Tests never touch the user's own data directory, and two test processes (pytest-xdist workers)
# never share one: commands started without VEILIG_DATA_DIR write under this process's own.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="veilig-tests-xdg-")

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


def create_pg_database(template: str | None = None) -> str:
    """Create a PostgreSQL database (empty, or a copy of ``template``); return its URL."""
    name = f"veilig_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Migrating a database costs ~0.5 s on PostgreSQL and ~0.15 s on SQLite, and some 300 tests want
# one: each process (xdist worker) migrates one template per backend once and copies it per test
# (CREATE DATABASE ... TEMPLATE, a file copy). The migrations themselves are tested from an empty
# database (``empty_db_url``, tests/test_service.py) and by the down/upgrade tests.
_templates: dict[str, str] = {}


def _migrated_template(backend: str, tmp_factory: pytest.TempPathFactory) -> str:
    if backend not in _templates:
        from veilig.storage import open_database

        if backend == "sqlite":
            url = f"sqlite:///{tmp_factory.mktemp('template') / 'template.db'}"
        else:
            url = create_pg_database()
        open_database(url).dispose()
        _templates[backend] = url
    return _templates[backend]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    url = _templates.pop("postgresql", None)
    if url:
        drop_pg_database(url)


def _require_pg() -> None:
    ok, why = _pg_available()
    if not ok:
        if os.environ.get("VEILIG_REQUIRE_POSTGRES"):
            pytest.fail(f"CI requires PostgreSQL: {why}")
        pytest.skip(why)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of a fresh, empty (unmigrated) database: SQLite file and PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'veilig.db'}"
        return
    _require_pg()
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path, tmp_path_factory) -> Iterator[str]:
    """URL of a fresh database of its own, migrated to the latest schema: SQLite file and PostgreSQL."""
    if request.param == "sqlite":
        import shutil

        template = make_url(_migrated_template("sqlite", tmp_path_factory)).database
        shutil.copyfile(template, tmp_path / "veilig.db")
        yield f"sqlite:///{tmp_path / 'veilig.db'}"
        return
    _require_pg()
    url = create_pg_database(template=make_url(_migrated_template("postgresql", tmp_path_factory)).database)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def db(db_url: str):
    """A :class:`veilig.storage.Database` on each backend (opening it checks the migrations are at head)."""
    from veilig.storage import open_database

    database = open_database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'veilig.db'}"


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium per test process (tests open a context each)."""
    from helpers import require
    from browserkit import CHROMIUM, LAUNCH_ARGS, skip_reason

    reason = skip_reason()
    require(reason is None, reason or "")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()
