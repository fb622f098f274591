"""Incident storage: the all-or-nothing import, queries for the analysis, buurt statistics.

The import runs in one database transaction: a refusal, an error half way or a killed process
leaves the database as it was. Rows whose (source, id) is already stored are skipped, so
importing the same file twice changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, insert, select, text

from veilig.errors import VeiligError
from veilig.geo.crs import RD_BOUNDS
from veilig.geo.io import ReadResult, RowError, read_incidents
from veilig.geo.timeutil import period_bounds

from . import columnar
from .db import Database
from .models import BuurtStat, ImportBatch, Incident, Meta

CHUNK = 20_000
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

ProgressFn = Callable[[int, int], None]


@dataclass
class ImportReport:
    file: str
    rows_in_file: int
    inserted: int = 0
    skipped_existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    batch_id: int | None = None

    @property
    def invalid_rows(self) -> int:
        return len({e.row for e in self.errors})


def bump_data_version(conn: Connection) -> int:
    """Increment the data version (map caches key on it) inside the caller's transaction.

    It also replaces the data token, a random name for this state of the data that is never
    reused (the columnar cache keys its files on it: a recreated database starts its version at
    1 again, but never repeats a token).
    """
    current = conn.execute(select(Meta.value).where(Meta.key == "data_version")).scalar()
    new = int(current or 0) + 1
    _set_meta(conn, "data_version", str(new), exists=current is not None)
    token = conn.execute(select(Meta.value).where(Meta.key == columnar.TOKEN_KEY)).scalar()
    _set_meta(conn, columnar.TOKEN_KEY, columnar.new_token(), exists=token is not None)
    return new


def _set_meta(conn: Connection, key: str, value: str, exists: bool) -> None:
    if exists:
        conn.execute(Meta.__table__.update().where(Meta.key == key).values(value=value))
    else:
        conn.execute(insert(Meta).values(key=key, value=value))


def data_version(db: Database) -> int:
    with db.engine.connect() as conn:
        value = conn.execute(select(Meta.value).where(Meta.key == "data_version")).scalar()
    return int(value or 0)


def _existing_ids(conn: Connection, source: str, ids: np.ndarray) -> set[str]:
    # One scan per source keeps a million-row re-import fast; ids are unique per source.
    if ids.size == 0:
        return set()
    result = conn.execute(select(Incident.ext_id).where(Incident.source == source))
    return {r[0] for r in result}.intersection(ids.tolist())


def _sqlite_times(times: pd.Series) -> np.ndarray:
    # SQLAlchemy's SQLite DATETIME text format, in UTC; vectorised (strftime is 10x slower).
    utc = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    text_times = np.datetime_as_string(utc, unit="us")
    return np.char.replace(text_times, "T", " ")


def _insert_sqlite(conn: Connection, rows: pd.DataFrame, batch_id: int, progress: ProgressFn | None, done0: int, total: int) -> None:
    times = _sqlite_times(rows["occurred_at"]).tolist()
    desc = rows["description"].astype(object).where(rows["description"].notna(), None).tolist()
    data = list(zip(rows["source"].tolist(), rows["ext_id"].tolist(), times,
                    rows["category"].tolist(), rows["x"].tolist(), rows["y"].tolist(),
                    rows["buurt"].tolist(), desc, [batch_id] * len(rows)))
    raw = conn.connection.driver_connection
    sql = ("INSERT INTO incidents (source, ext_id, occurred_at, category, x, y, buurt, description, batch_id) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    cur = raw.cursor()
    # A larger page cache keeps the three indexes' B-trees in memory during a big import.
    cur.execute("PRAGMA cache_size=-262144")
    try:
        for i in range(0, len(data), CHUNK):
            cur.executemany(sql, data[i:i + CHUNK])
            if progress:
                progress(done0 + min(i + CHUNK, len(data)), total)
    finally:
        cur.execute("PRAGMA cache_size=-2000")
        cur.close()


def _insert_postgres(conn: Connection, rows: pd.DataFrame, batch_id: int, progress: ProgressFn | None, done0: int, total: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # COPY ... CSV written by Arrow's C++ writer: an order of magnitude faster than pandas.to_csv.
    table = pa.table({
        "source": pa.array(rows["source"].tolist(), pa.string()),
        "ext_id": pa.array(rows["ext_id"].tolist(), pa.string()),
        "occurred_at": pa.array(rows["occurred_at"].dt.tz_convert("UTC"), pa.timestamp("us", tz="UTC")),
        "category": pa.array(rows["category"].tolist(), pa.string()),
        "x": pa.array(rows["x"].to_numpy(dtype=float)),
        "y": pa.array(rows["y"].to_numpy(dtype=float)),
        "buurt": pa.array(rows["buurt"].tolist(), pa.string()),
        "description": pa.array(rows["description"].astype(object).where(rows["description"].notna(), None).tolist(), pa.string()),
        "batch_id": pa.array(np.full(len(rows), batch_id, dtype=np.int64)),
    })
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        # Unquoted empty field = NULL (description); Arrow quotes empty strings.
        with cur.copy("COPY incidents (source, ext_id, occurred_at, category, x, y, buurt, description, batch_id) "
                      "FROM STDIN WITH (FORMAT csv)") as copy:
            for i in range(0, len(rows), CHUNK * 5):
                buf = io.BytesIO()
                pacsv.write_csv(table.slice(i, CHUNK * 5), buf, options)
                copy.write(buf.getvalue())
                if progress:
                    progress(done0 + min(i + CHUNK * 5, len(rows)), total)


def store_incidents(
    db: Database,
    result: ReadResult,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
    imported_by: str | None = None,
) -> ImportReport:
    """Write the valid rows of ``result`` in one transaction (nothing when any row is invalid, unless ``skip_invalid``).

    The rows are one import batch (``imported_by`` names who), which
    :func:`veilig.storage.batches.undo_batch` can take back whole."""
    report = ImportReport(file=result.file, rows_in_file=result.n_rows, errors=list(result.errors))
    if result.errors and not skip_invalid:
        return report
    rows = result.valid
    with db.write() as conn:
        if not db.is_sqlite:
            # Serialise concurrent imports; readers are not blocked.
            conn.execute(text("LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE"))
        keep = np.ones(len(rows), dtype=bool)
        for source, idx in rows.groupby("source").indices.items():
            existing = _existing_ids(conn, source, rows["ext_id"].to_numpy()[idx])
            if existing:
                keep[idx] = ~np.isin(rows["ext_id"].to_numpy()[idx], list(existing))
        new_rows = rows[keep]
        report.skipped_existing = int((~keep).sum())
        batch_id = conn.execute(insert(ImportBatch).values(
            filename=result.file, source=",".join(sorted(rows["source"].unique())) or "-",
            rows_in_file=result.n_rows, rows_inserted=len(new_rows),
            rows_skipped_existing=report.skipped_existing, rows_invalid=report.invalid_rows,
            imported_at=datetime.now(timezone.utc), imported_by=imported_by,
        ).returning(ImportBatch.id)).scalar_one()
        if len(new_rows):
            writer = _insert_sqlite if db.is_sqlite else _insert_postgres
            writer(conn, new_rows, batch_id, progress, 0, len(new_rows))
            bump_data_version(conn)
        report.inserted = len(new_rows)
        report.batch_id = batch_id
    report.committed = True
    if report.inserted:
        columnar.refresh_cache(db)  # after the commit: the next analysis finds the new state's columns
    return report


def import_incidents_file(
    db: Database,
    path: str | Path,
    crs: str | None = None,
    source: str | None = None,
    skip_invalid: bool = False,
    labels=None,
    margin_m: float = 250.0,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Read, validate and store an incident file; see :func:`veilig.geo.io.read_incidents`."""
    result = read_incidents(path, crs=crs, source=source, labels=labels, margin_m=margin_m)
    return store_incidents(db, result, skip_invalid=skip_invalid, progress=progress)


#: The analysis edge: whatever the database holds (a row written by hand, by an older version, or
#: before the import checked it), only plausible rows reach an analysis. A time before 1970 or
#: far in the future, or a coordinate outside RD New's area (inf, NaN: NaN is NULL in SQLite
#: and sorts above every number in PostgreSQL) would otherwise turn a page into an error.
PLAUSIBLE_EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
PLAUSIBLE_FUTURE = pd.Timedelta(days=366)
PLAUSIBLE_PLACE_SQL = (f"x >= {RD_BOUNDS[0]} AND x <= {RD_BOUNDS[2]} AND y >= {RD_BOUNDS[1]} "
                       f"AND y <= {RD_BOUNDS[3]} AND buurt IS NOT NULL")


def plausible_bounds(lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[lo, hi)`` narrowed to the plausible times (1970 to a year from now)."""
    latest = pd.Timestamp.now(tz="UTC").floor("D") + PLAUSIBLE_FUTURE
    lo = PLAUSIBLE_EARLIEST if lo is None else max(lo, PLAUSIBLE_EARLIEST)
    hi = latest if hi is None else min(hi, latest)
    return lo, max(lo, hi)


_LOAD_COLUMNS = list(columnar.LOAD_COLUMNS)


def load_incidents(
    db: Database,
    categories: Sequence[str] | None = None,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    include_description: bool = False,
    categorical: bool = False,
) -> pd.DataFrame:
    """Incidents of ``categories`` in the inclusive local period, sorted by time (then id).

    Columns: ``id, source, ext_id, occurred_at`` (UTC, tz-aware), ``category, x, y, buurt``
    (and ``description`` when asked: personal data, for analysts only). With ``categorical``,
    ``source``, ``category`` and ``buurt`` are pandas Categoricals (same values): an analysis of a
    million rows then compares a handful of strings, not a million.
    With ``db.cache_dir`` set the rows come from the columnar cache of the current data state
    (:mod:`veilig.storage.columnar`; a million rows in a fraction of a second); otherwise, and
    for descriptions, straight from the database into Arrow columns. Both give the same frame.
    """
    columns = _LOAD_COLUMNS + (["description"] if include_description else [])
    lo, hi = plausible_bounds(*period_bounds(start, end))
    if categories is not None and not list(categories):
        return _empty_incidents(columns)
    table = None if include_description else columnar.cached_table(db)
    if table is not None:
        table = columnar.query_table(table, None if categories is None else list(categories), lo, hi)
    else:
        table = _query_database(db, columns, categories, lo, hi)
    if table.num_rows == 0:
        return _empty_incidents(columns)
    return columnar.to_frame(table, categorical=categorical)


def _query_database(db: Database, columns: list[str], categories: Sequence[str] | None,
                    lo: pd.Timestamp | None, hi: pd.Timestamp | None):
    where: list[str] = [PLAUSIBLE_PLACE_SQL]
    params: list[object] = []
    if categories is not None:
        cats = list(categories)
        where.append("category IN (" + ", ".join("?" * len(cats)) + ")")
        params.extend(cats)
    if lo is not None:
        where.append("occurred_at >= ?")
        params.append(lo)
    if hi is not None:
        where.append("occurred_at < ?")
        params.append(hi)
    sql = (f"SELECT {columnar.select_list(columns, db.is_sqlite)} FROM incidents"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY occurred_at, id")
    with db.engine.connect() as conn:
        if db.is_sqlite:
            bound = [p.tz_convert("UTC").strftime(SQLITE_TIME_FORMAT) if isinstance(p, pd.Timestamp) else p
                     for p in params]
            return columnar.fetch_sqlite(conn, sql, bound, columns)
        from psycopg import sql as pgsql

        # COPY takes no bind parameters: quote each value as a literal (psycopg does the escaping).
        parts = sql.split("?")
        query = pgsql.SQL("").join(
            [pgsql.SQL(parts[0])]
            + [x for p, rest in zip(params, parts[1:]) for x in (
                pgsql.Literal(p.to_pydatetime() if isinstance(p, pd.Timestamp) else p), pgsql.SQL(rest))]
        )
        table = columnar.fetch_postgres(conn, query, columns)
        conn.rollback()
        return table


def _empty_incidents(columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df["id"] = pd.Series(dtype="int64")
    df["occurred_at"] = pd.Series(dtype="datetime64[us, UTC]")
    df["x"] = pd.Series(dtype=float)
    df["y"] = pd.Series(dtype=float)
    return df


def count_incidents(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Incident)).scalar_one())


def load_buurt_stats(db: Database) -> pd.DataFrame:
    """Imported per-buurt statistics: ``statcode, statnaam, inhabitants, dwellings, year`` (maybe empty)."""
    with db.engine.connect() as conn:
        result = conn.execute(select(BuurtStat.statcode, BuurtStat.statnaam, BuurtStat.inhabitants,
                                     BuurtStat.dwellings, BuurtStat.year).order_by(BuurtStat.statcode))
        return pd.DataFrame(result.fetchall(), columns=["statcode", "statnaam", "inhabitants", "dwellings", "year"])


def import_buurt_stats(db: Database, path: str | Path, known_statcodes: set[str]) -> int:
    """Import a CSV of per-buurt figures (statcode, [statnaam], inhabitants, dwellings, [year]); all or nothing."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="utf-8-sig")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise VeiligError(f"{path.name}: geen leesbaar CSV-bestand ({exc})") from exc
    df.columns = [c.strip().lower() for c in df.columns]
    aliases = {"aantal_inwoners": "inhabitants", "inwoners": "inhabitants", "woningvoorraad": "dwellings",
               "woningen": "dwellings", "jaar": "year", "buurtcode": "statcode", "buurtnaam": "statnaam"}
    df = df.rename(columns=aliases)
    if "statcode" not in df.columns:
        raise VeiligError(f"{path.name}: ontbrekende kolom 'statcode'")
    problems: list[str] = []
    records = []
    seen: dict[str, int] = {}
    for i, row in enumerate(df.to_dict("records"), start=1):
        code = row["statcode"].strip()
        if code not in known_statcodes:
            problems.append(f"{path.name}, rij {i}, veld statcode: '{code}' is geen buurt van Zoetermeer")
            continue
        if code in seen:
            problems.append(f"{path.name}, rij {i}, veld statcode: '{code}' staat ook op rij {seen[code]} "
                            "(één rij per buurt; houd één jaar aan)")
            continue
        seen[code] = i
        rec = {"statcode": code, "statnaam": (row.get("statnaam") or None)}
        for fld in ("inhabitants", "dwellings", "year"):
            raw = str(row.get(fld, "")).strip().replace(".", "")
            if raw == "":
                rec[fld] = None
            elif raw.isdigit():
                rec[fld] = int(raw)
            else:
                problems.append(f"{path.name}, rij {i}, veld {fld}: '{row.get(fld)}' is geen geheel getal")
        records.append(rec)
    if problems:
        raise VeiligError("statistieken geweigerd, niets geïmporteerd:\n" + "\n".join(problems))
    with db.write() as conn:
        conn.execute(BuurtStat.__table__.delete().where(BuurtStat.statcode.in_([r["statcode"] for r in records])))
        if records:
            conn.execute(insert(BuurtStat), records)
        bump_data_version(conn)
    return len(records)


def incident_span(db: Database) -> tuple[date, date] | None:
    """First and last local date of all stored incidents (how far the data reach), or None."""
    plo, phi = plausible_bounds(None, None)
    table = columnar.cached_table(db)
    if table is not None:
        table = columnar.query_table(table, None, plo, phi)
        if table.num_rows == 0:
            return None
        times = table["occurred_at"]
        lo, hi = times[0].as_py(), times[-1].as_py()  # the cache is sorted by time
    else:
        with db.engine.connect() as conn:
            lo, hi = conn.execute(
                select(func.min(Incident.occurred_at), func.max(Incident.occurred_at))
                .where(text(PLAUSIBLE_PLACE_SQL))
                .where(Incident.occurred_at >= plo.to_pydatetime(), Incident.occurred_at < phi.to_pydatetime())
            ).one()
    if lo is None:
        return None
    lo_ts = pd.Timestamp(lo)
    hi_ts = pd.Timestamp(hi)
    lo_ts = lo_ts.tz_localize("UTC") if lo_ts.tzinfo is None else lo_ts
    hi_ts = hi_ts.tz_localize("UTC") if hi_ts.tzinfo is None else hi_ts
    return lo_ts.tz_convert("Europe/Amsterdam").date(), hi_ts.tz_convert("Europe/Amsterdam").date()
