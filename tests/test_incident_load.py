"""The analyses' incident load: the Arrow read and the columnar cache return exactly what the plain
query returns (same rows, same order, same values) on SQLite and PostgreSQL, and the cache never
serves an older state of the data after an import, an undo-like deletion or a write by another process."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from veilig.geo.categories import CATEGORIES
from veilig.geo.demo import generate_incidents
from veilig.geo.io import write_incidents
from veilig.geo.timeutil import period_bounds
from veilig.storage import Database, open_database
from veilig.storage import columnar
from veilig.storage.incidents import bump_data_version, count_incidents, import_incidents_file, incident_span, load_incidents
from veilig.storage.models import Incident

COLUMNS = ["id", "source", "ext_id", "occurred_at", "category", "x", "y", "buurt"]


def reference_load(db: Database, categories=None, start=None, end=None, include_description=False) -> pd.DataFrame:
    """The plain ORM query that load_incidents replaced: what the fast paths must reproduce."""
    cols = COLUMNS + (["description"] if include_description else [])
    lo, hi = period_bounds(start, end)

    def bound(ts: pd.Timestamp):
        # SQLite stores naive UTC text; PostgreSQL compares aware times.
        return ts.tz_convert("UTC").tz_localize(None).to_pydatetime() if db.is_sqlite else ts.to_pydatetime()

    q = select(*(getattr(Incident, c) for c in cols)).order_by(Incident.occurred_at, Incident.id)
    if categories is not None:
        q = q.where(Incident.category.in_(list(categories)))
    if lo is not None:
        q = q.where(Incident.occurred_at >= bound(lo))
    if hi is not None:
        q = q.where(Incident.occurred_at < bound(hi))
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=cols)
    if df.empty:
        return df
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True).dt.as_unit("us")
    for c in ("source", "ext_id", "category", "buurt") + (("description",) if include_description else ()):
        df[c] = df[c].astype("str") if c != "description" else df[c]
    return df


def assert_same(fast: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(fast.columns) == list(ref.columns)
    assert len(fast) == len(ref)
    if not len(ref):
        return
    assert fast["id"].tolist() == ref["id"].tolist()  # same rows in the same order
    for c in ref.columns:
        if c == "occurred_at":
            assert str(fast[c].dtype) == "datetime64[us, UTC]"
            assert (fast[c].to_numpy() == ref[c].to_numpy()).all()
        elif c in ("x", "y"):
            assert fast[c].dtype == np.float64
            assert np.array_equal(fast[c].to_numpy(), ref[c].to_numpy(dtype=np.float64))  # bit for bit
        elif c == "description":
            assert [None if pd.isna(v) else v for v in fast[c]] == [None if pd.isna(v) else v for v in ref[c]]
        else:
            assert fast[c].tolist() == ref[c].tolist(), c


def precise_incidents(seed: int, n: int, source: str) -> pd.DataFrame:
    """Demo incidents with full-precision coordinates, microsecond times and shared time stamps."""
    rng = np.random.default_rng(seed)
    df = generate_incidents(seed, n, start=date(2024, 1, 1), end=date(2025, 12, 31))
    df["x"] = df["x"] + rng.random(n) * 0.1  # no longer a round decimal: float bits must survive
    df["y"] = df["y"] - rng.random(n) * 0.1
    df["occurred_at"] = df["occurred_at"] + pd.to_timedelta(rng.integers(0, 60_000_000, n), unit="us")
    ties = rng.choice(n, size=n // 10, replace=False)
    df.loc[ties[1:], "occurred_at"] = df.loc[ties[0], "occurred_at"]  # many rows at one instant: id breaks ties
    df["source"] = source
    df["id"] = [f"{source}-{i}" for i in range(n)]
    return df


def _import(db: Database, tmp_path: Path, df: pd.DataFrame, name: str) -> int:
    path = tmp_path / f"{name}.parquet"
    write_incidents(df, path)
    report = import_incidents_file(db, path)
    assert report.committed, report.errors[:3]
    return report.inserted


QUERIES = [
    (None, None, None),
    (("woninginbraak", "inbraak_schuur"), None, None),
    (("drugs",), date(2024, 6, 1), date(2024, 12, 31)),
    (("overlast_jeugd",), date(2025, 3, 30), date(2025, 3, 30)),  # a DST day
    (None, date(2025, 1, 1), None),
    (None, None, date(2024, 2, 29)),
    (("alcohol",), date(2030, 1, 1), date(2030, 12, 31)),  # nothing
    ((), None, None),
    (("drugs",), datetime(2024, 7, 1, 12, 30, 15, 250, tzinfo=timezone.utc), None),  # to the microsecond
]


@pytest.fixture
def cached(db: Database, tmp_path: Path) -> Database:
    """A second handle on the same database, reading through a columnar cache."""
    handle = Database(db.engine, tmp_path / "cache")
    return handle


def _cache_files(handle: Database) -> list[Path]:
    return sorted(Path(handle.cache_dir).glob("incidents-*.arrow")) if Path(handle.cache_dir).exists() else []


def test_fast_and_cached_load_return_exactly_the_rows_of_the_plain_query_also_after_a_second_import(
        db, cached, tmp_path):
    _import(db, tmp_path, precise_incidents(1, 1500, "politie"), "first")
    for categories, start, end in QUERIES:
        ref = reference_load(db, categories, start, end)
        assert_same(load_incidents(db, categories, start, end), ref)
        assert_same(load_incidents(cached, categories, start, end), ref)
    assert incident_span(cached) == incident_span(db)
    # A second file: new rows interleaved in time with the first, and rows already present (skipped).
    second = pd.concat([precise_incidents(2, 800, "handhaving"), precise_incidents(1, 1500, "politie").iloc[:50]])
    assert _import(db, tmp_path, second, "second") == 800
    for categories, start, end in QUERIES:
        ref = reference_load(db, categories, start, end)
        assert_same(load_incidents(db, categories, start, end), ref)
        assert_same(load_incidents(cached, categories, start, end), ref)
        for handle in (db, cached):  # the analyses' form: the same values as Categoricals
            lean = load_incidents(handle, categories, start, end, categorical=True)
            assert_same(lean, ref)
            if len(ref):
                assert all(isinstance(lean[c].dtype, pd.CategoricalDtype) for c in ("source", "category", "buurt"))
    assert len(load_incidents(cached)) == 2300
    assert incident_span(cached) == incident_span(db)


def test_descriptions_come_from_the_database_and_match(db, cached, tmp_path):
    df = precise_incidents(3, 300, "politie")
    df.loc[::3, "description"] = None
    _import(db, tmp_path, df, "desc")
    ref = reference_load(db, ("drugs", "overig"), None, None, include_description=True)
    assert ref["description"].notna().any()
    assert_same(load_incidents(cached, ("drugs", "overig"), include_description=True), ref)
    assert_same(load_incidents(db, ("drugs", "overig"), include_description=True), ref)


def test_the_cache_never_serves_an_older_state_after_an_import_or_a_deletion(db, cached, tmp_path):
    _import(db, tmp_path, precise_incidents(1, 400, "politie"), "one")
    first = load_incidents(cached)
    files = _cache_files(cached)
    assert len(files) == 1 and len(first) == 400
    # Another process imports through a handle without a cache (it does not refresh ours).
    other = Database(db.engine)
    _import(other, tmp_path, precise_incidents(2, 250, "handhaving"), "two")
    after = load_incidents(cached)
    assert len(after) == 650
    assert_same(after, reference_load(db))
    files_after = _cache_files(cached)
    assert len(files_after) == 1 and files_after != files  # the old state's file is gone
    # An undo-like deletion: rows removed and the version bumped in one transaction.
    with db.write() as conn:
        conn.execute(delete(Incident).where(Incident.source == "politie"))
        bump_data_version(conn)
    gone = load_incidents(cached)
    assert len(gone) == 250 and set(gone["source"]) == {"handhaving"}
    assert_same(gone, reference_load(db))
    assert incident_span(cached) == incident_span(db)


def test_an_import_refreshes_the_cache_so_the_next_analysis_finds_it_built(db, cached, tmp_path):
    _import(cached, tmp_path, precise_incidents(4, 300, "politie"), "warm")
    files = _cache_files(cached)
    assert len(files) == 1
    with db.engine.connect() as conn:
        token = columnar.read_token(conn)
    assert files[0] == columnar.cache_path(cached, token)
    assert_same(load_incidents(cached), reference_load(db))


def test_a_damaged_cache_file_is_rebuilt_not_served(db, cached, tmp_path):
    _import(db, tmp_path, precise_incidents(5, 200, "politie"), "dmg")
    load_incidents(cached)
    (path,) = _cache_files(cached)
    path.write_bytes(path.read_bytes()[:100])
    assert_same(load_incidents(cached), reference_load(db))
    assert path.stat().st_size > 100


def test_tokens_are_never_reused_by_a_recreated_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'v.db'}"
    cache = tmp_path / "cache"
    first = open_database(url, cache_dir=cache)
    _import(first, tmp_path, precise_incidents(6, 120, "politie"), "a")
    assert len(load_incidents(first)) == 120
    first.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp_path / "v.db") + suffix).unlink(missing_ok=True)
    again = open_database(url, cache_dir=cache)  # same path, data version starts again at 1
    _import(again, tmp_path, precise_incidents(7, 90, "handhaving"), "b")
    got = load_incidents(again)
    assert len(got) == 90 and set(got["source"]) == {"handhaving"}


def test_cache_files_are_private_to_the_owner(db, cached, tmp_path):
    _import(db, tmp_path, precise_incidents(8, 50, "politie"), "perm")
    load_incidents(cached)
    (path,) = _cache_files(cached)
    assert path.stat().st_mode & 0o077 == 0
    assert "description" not in columnar._open(path).schema.names


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cats=st.one_of(st.none(), st.sets(st.sampled_from(sorted(CATEGORIES)), max_size=4)),
       start=st.one_of(st.none(), st.dates(date(2023, 12, 25), date(2026, 1, 5))),
       days=st.one_of(st.none(), st.integers(0, 800)))
def test_any_category_and_period_gives_the_same_rows_from_the_cache(db, cached, tmp_path, cats, start, days):
    if count_incidents(db) == 0:  # the fixtures live for the whole test: import once
        _import(db, tmp_path, precise_incidents(9, 1200, "politie"), "hyp")
    end = start + pd.Timedelta(days=days).to_pytimedelta() if start is not None and days is not None else None
    categories = None if cats is None else sorted(cats)
    assert_same(load_incidents(cached, categories, start, end), load_incidents(db, categories, start, end))
