"""The service as a user starts it: migrations, `veilig serve`, /health, demo data on first start."""

from __future__ import annotations


import httpx
from sqlalchemy import inspect, text

from veilig.storage import open_database
from veilig.storage.incidents import count_incidents

from helpers import run_cli, start_server, stop_server


def test_migrations_create_the_schema_and_are_idempotent(empty_db_url):
    db_url = empty_db_url
    db = open_database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    assert {"incidents", "import_batches", "buurt_stats", "meta", "alembic_version"} <= tables
    db.dispose()
    again = open_database(db_url)  # a second start changes nothing
    with again.engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    # Features add independent branches off 0003 (COMMON.md); the database is at every head once.
    from alembic.script import ScriptDirectory

    from veilig.storage.db import alembic_config

    expected = ScriptDirectory.from_config(alembic_config(again.engine)).get_heads()
    assert sorted(heads) == sorted(expected) and len(heads) == len(set(heads))
    again.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    db = open_database(sqlite_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_serve_answers_health_and_loads_demo_data_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    proc, base = start_server({"VEILIG_DATABASE_URL": url, "VEILIG_DATA_DIR": str(tmp_path)})
    try:
        body = httpx.get(f"{base}/health", timeout=5).json()
        assert body["status"] == "ok"
    finally:
        out = stop_server(proc)
    assert f"Uvicorn running on {base}" in out  # bound to loopback by default
    db = open_database(url)
    n = count_incidents(db)
    db.dispose()
    assert 13_000 < n < 17_000  # three years at ~5,000 a year, labelled synthetic


def test_every_command_has_help_and_unknown_input_gives_no_traceback(tmp_path):
    # A database of its own: the default data directory may hold another version's schema.
    env = {"VEILIG_DATA_DIR": str(tmp_path), "VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    for args in (["--help"], ["serve", "--help"], ["import", "incidents", "--help"], ["import", "list", "--help"],
                 ["import", "undo", "--help"], ["demo", "--help"]):
        proc = run_cli(*args, env=env)
        assert proc.returncode == 0, (args, proc.stderr)
    proc = run_cli("import", "incidents", "/nonexistent/file.csv", env=env)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "bestand niet gevonden" in proc.stderr
    proc = run_cli("demo", "--incidents", "2000000", "--out", "x.csv")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "--incidents" in proc.stderr
