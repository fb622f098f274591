"""Incidents as columns: the bulk read behind :func:`veilig.storage.incidents.load_incidents`.

Why: a million incidents read row by row become eight million Python objects, and building a
DataFrame from them (and parsing a million time strings) took most of an analysis. Here the rows
go straight into typed Arrow columns, and a columnar copy of the whole table is kept on disk:

* **Direct read** (always correct, used without a cache directory and for the free-text
  description): SQLite through the same ``sqlite3`` driver the engine uses (never a second SQLite
  library in the process: two copies of SQLite in one process release each other's POSIX locks,
  which can corrupt the file), times parsed by Arrow; PostgreSQL through ``COPY ... TO STDOUT``
  into Arrow's CSV reader, times as exact epoch microseconds.
* **Columnar cache** (with ``Database.cache_dir``): one Arrow IPC file per data state, sorted by
  time, memory-mapped and filtered with NumPy. Its name carries the database's *data token*, a
  random value that every change of the incidents (import, undo, buurt statistics) replaces in
  the same transaction (:func:`veilig.storage.incidents.bump_data_version`). A token names one
  state of the data and is never reused, so a file found under the current token is never stale,
  whatever other processes do; a file is written to a temporary name and renamed, so a reader
  sees a whole file or none. The file holds no free text (descriptions are read from the database
  only when an analyst asks for them) and is readable by the owner only, like the database.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, make_url, select

from .db import Database
from .models import Meta

log = logging.getLogger(__name__)

LOAD_COLUMNS = ("id", "source", "ext_id", "occurred_at", "category", "x", "y", "buurt")
TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(), "source": pa.string(), "ext_id": pa.string(), "occurred_at": pa.timestamp("us", tz="UTC"),
    "category": pa.string(), "x": pa.float64(), "y": pa.float64(), "buurt": pa.string(),
    "description": pa.string(),
}
# Few distinct values: stored dictionary-encoded in the cache (smaller file, integer category filter).
_DICTIONARY_COLUMNS = ("source", "category", "buurt")
TOKEN_KEY = "data_token"
_FORMAT = "v1"  # part of the file name: a change of layout never reads an old file
_TMP_MAX_AGE_S = 3600.0
_FETCH_ROWS = 100_000
_build_lock = threading.Lock()


# --- the direct read ---------------------------------------------------------------------------

def select_list(columns: Sequence[str], sqlite: bool) -> str:
    """The SELECT list for ``columns``; PostgreSQL sends times as exact epoch microseconds
    (``extract`` is exact ``numeric`` since PostgreSQL 14), whatever the session's time zone."""
    if sqlite:
        return ", ".join(columns)
    return ", ".join("(extract(epoch from occurred_at) * 1000000)::bigint AS occurred_at" if c == "occurred_at"
                     else c for c in columns)


def fetch_sqlite(conn: Connection, sql: str, params: Sequence[object], columns: Sequence[str]) -> pa.Table:
    """Run ``sql`` on the engine's own sqlite3 connection (inside ``conn``'s transaction) into Arrow."""
    schema = pa.schema([(c, TYPES[c]) for c in columns])
    batches = []
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql, list(params))
        # In slices: the Python row objects of one slice at a time, not of the whole table.
        while rows := cur.fetchmany(_FETCH_ROWS):
            values = list(zip(*rows))
            del rows
            arrays = [_parse_sqlite_times(pa.array(col, pa.string())) if name == "occurred_at"
                      else pa.array(col, TYPES[name]) for name, col in zip(columns, values)]
            batches.append(pa.record_batch(arrays, schema=schema))
    finally:
        cur.close()
    return pa.Table.from_batches(batches, schema=schema)


def _parse_sqlite_times(text_times: pa.Array) -> pa.Array:
    # SQLAlchemy stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff': Arrow parses that in C++. A row written
    # by other means may carry an offset; pandas' ISO 8601 parser (the old path) handles those.
    try:
        return pc.cast(pc.cast(text_times, pa.timestamp("us")), TYPES["occurred_at"])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pd.to_datetime(pd.Series(text_times.to_pylist(), dtype=object), format="ISO8601", utc=True)
        return pa.array(parsed.dt.as_unit("us"), TYPES["occurred_at"])


def fetch_postgres(conn: Connection, query, columns: Sequence[str]) -> pa.Table:
    """``COPY (query) TO STDOUT`` (a psycopg ``sql.Composable``) on ``conn``'s connection into Arrow."""
    import pyarrow.csv as pacsv
    from psycopg import sql as pgsql

    raw = conn.connection.driver_connection
    buf = io.BytesIO()
    with raw.cursor() as cur:
        with cur.copy(pgsql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)) as copy:
            for chunk in copy:
                buf.write(chunk)
    buf.seek(0)
    types = {c: (pa.int64() if c == "occurred_at" else TYPES[c]) for c in columns}
    table = pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False))
    if "occurred_at" in columns:
        i = table.schema.get_field_index("occurred_at")
        table = table.set_column(i, "occurred_at", pc.cast(table["occurred_at"], TYPES["occurred_at"]))
    return table


def to_frame(table: pa.Table, categorical: bool = False) -> pd.DataFrame:
    """The incident DataFrame as :func:`load_incidents` returns it (NumPy numbers, UTC times, str;
    with ``categorical`` the few-valued columns as pandas Categoricals)."""
    for i, f in enumerate(table.schema):
        encoded = pa.types.is_dictionary(f.type)
        if encoded and not categorical:
            table = table.set_column(i, f.name, pc.cast(table[f.name], f.type.value_type))
        elif categorical and not encoded and f.name in _DICTIONARY_COLUMNS:
            table = table.set_column(i, f.name, pc.dictionary_encode(table[f.name]))
    return table.to_pandas()


# --- the columnar cache ------------------------------------------------------------------------

def new_token() -> str:
    return uuid.uuid4().hex


def read_token(conn: Connection) -> str | None:
    return conn.execute(select(Meta.value).where(Meta.key == TOKEN_KEY)).scalar()


def _database_key(db: Database) -> str:
    # Several databases may share one data directory (SQLite and PostgreSQL, tests): keep their files apart.
    url = make_url(str(db.engine.url)).render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def cache_path(db: Database, token: str) -> Path:
    assert db.cache_dir is not None
    return Path(db.cache_dir) / f"incidents-{_database_key(db)}-{_FORMAT}-{token}.arrow"


def cached_table(db: Database) -> pa.Table | None:
    """The whole incidents table (no descriptions) as of now, sorted by (time, id); None without a cache.

    Opens the file of the current data token, or builds it from the database when there is none.
    """
    if db.cache_dir is None:
        return None
    with db.engine.connect() as conn:
        token = read_token(conn)
    if token is None:  # a database the token migration has not seen: read directly
        return None
    path = cache_path(db, token)
    table = _open(path)
    if table is None:
        with _build_lock:  # concurrent requests of one process build the file once
            table = _open(path)
            if table is None:
                table = build_cache(db)
    return table


def _open(path: Path) -> pa.Table | None:
    try:
        with pa.memory_map(str(path), "r") as source:
            return pa.ipc.open_file(source).read_all()
    except FileNotFoundError:
        return None
    except (OSError, pa.ArrowInvalid) as exc:  # a damaged file (disk trouble): rebuild it
        log.warning("incident cache %s unreadable (%s); rebuilding", path.name, exc)
        _unlink(path)
        return None


def build_cache(db: Database) -> pa.Table:
    """Read the whole incidents table and write it as the current token's file; return the table.

    The token is read before and after the rows in the same transaction: if an import committed
    in between (possible on PostgreSQL's READ COMMITTED), the rows are returned but not cached.
    """
    columns = list(LOAD_COLUMNS)
    with db.engine.connect() as conn:
        with conn.begin():
            before = read_token(conn)
            # Only rows an analysis may see (storage.incidents.PLAUSIBLE_PLACE_SQL: inside RD New,
            # with a buurt); the time window is applied per query, since "a year from now" moves.
            from .incidents import PLAUSIBLE_PLACE_SQL

            sql = f"SELECT {select_list(columns, db.is_sqlite)} FROM incidents WHERE {PLAUSIBLE_PLACE_SQL}"
            if db.is_sqlite:
                table = fetch_sqlite(conn, sql, [], columns)
            else:
                from psycopg import sql as pgsql

                table = fetch_postgres(conn, pgsql.SQL(sql), columns)
            after = read_token(conn)
    times = table["occurred_at"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    ids = table["id"].combine_chunks().to_numpy(zero_copy_only=False)
    order = np.lexsort((ids, times))
    table = table.take(pa.array(order))
    for name in _DICTIONARY_COLUMNS:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.dictionary_encode(table[name]))
    table = table.combine_chunks()
    if before is not None and before == after and db.cache_dir is not None:
        _write(cache_path(db, before), table)
    return table


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            with pa.ipc.new_file(fh, table.schema) as writer:
                writer.write_table(table, max_chunksize=max(table.num_rows, 1))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic: readers see the whole file or none
    except OSError as exc:  # a full disk must not fail the analysis: serve from memory
        log.warning("incident cache %s not written (%s)", path.name, exc)
        _unlink(tmp)
        return
    _remove_others(path)


def _remove_others(keep: Path) -> None:
    # Files of older tokens are never read again; a process that has one mapped keeps its copy.
    prefix = keep.name.split(f"-{_FORMAT}-")[0]
    now = time.time()
    for other in keep.parent.glob(f"{prefix}-*"):
        if other == keep:
            continue
        if other.suffix == ".tmp":
            try:
                if now - other.stat().st_mtime < _TMP_MAX_AGE_S:
                    continue  # another process may be writing it
            except OSError:
                continue
        _unlink(other)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def refresh_cache(db: Database) -> None:
    """Build the current token's file now (after an import), so the next analysis finds it."""
    if db.cache_dir is None:
        return
    try:
        cached_table(db)
    except Exception as exc:  # noqa: BLE001  (the import is committed; a cache failure must not undo that)
        log.warning("incident cache not refreshed: %s", exc)


def query_table(table: pa.Table, categories: Sequence[str] | None, lo: pd.Timestamp | None,
                hi: pd.Timestamp | None) -> pa.Table:
    """Rows of the cached table with category in ``categories`` and ``lo <= occurred_at < hi``."""
    if table.num_rows == 0:
        return table
    times = table["occurred_at"].chunk(0).cast(pa.int64()).to_numpy()
    i0 = int(np.searchsorted(times, _micros(lo), "left")) if lo is not None else 0
    i1 = int(np.searchsorted(times, _micros(hi), "left")) if hi is not None else table.num_rows
    part = table.slice(i0, max(i1 - i0, 0))
    if categories is not None and part.num_rows:
        col = part["category"].chunk(0)
        wanted = np.isin(np.asarray(col.dictionary.to_pylist(), dtype=object), list(categories))
        if not wanted.all():  # (every category wanted: no copy)
            keep = wanted[col.indices.to_numpy(zero_copy_only=False)]
            if not keep.all():
                part = part.filter(pa.array(keep))
    return part


def _micros(ts: pd.Timestamp) -> int:
    # The first whole microsecond at or after ``ts`` (``.value`` is nanoseconds): with
    # searchsorted "left" that gives ``>= lo`` and ``< hi`` exactly as the SQL comparison does.
    return -(-int(pd.Timestamp(ts).value) // 1000)
