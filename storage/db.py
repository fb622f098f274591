"""Engine set-up for SQLite (embedded default) and PostgreSQL (production), and migrations on start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and ignores isolation; take it over so
    # transactions are real (the documented SQLAlchemy recipe) and writers can ask for
    # BEGIN IMMEDIATE, which takes the write lock up front instead of failing at COMMIT.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write_lock") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply all migrations (idempotent). "heads": features add independent migration branches off 0003."""
    command.upgrade(alembic_config(engine), "heads")


@dataclass
class Database:
    """One engine plus a session factory; the handle that api/ passes around.

    ``cache_dir``: where the columnar incident cache lives (:mod:`veilig.storage.columnar`);
    None reads every analysis straight from the database.
    """

    engine: Engine
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it holds the write lock from the start (BEGIN IMMEDIATE)."""
        with self.engine.connect().execution_options(write_lock=True) as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """An ORM session in one transaction: committed on success, rolled back on any error."""
        conn = self.engine.connect()
        if write:
            conn = conn.execution_options(write_lock=True)
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                with session.begin():
                    yield session
        finally:
            conn.close()

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, migrate: bool = True, cache_dir: str | Path | None = None) -> Database:
    """Open the database at ``url`` and, by default, bring its schema to the latest migration.

    With ``cache_dir`` the analyses read incidents from a columnar cache kept there."""
    engine = create_db_engine(url)
    if migrate:
        upgrade(engine)
    return Database(engine, Path(cache_dir) if cache_dir is not None else None)


def ping(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1
