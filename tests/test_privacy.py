"""The disclosure layer's building blocks: cell key perturbation and aligned periods (pure)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veilig.errors import VeiligError
from veilig.geo.privacy import (
    aligned_period,
    cell_keys,
    classify,
    hide_small_counts,
    perturb,
    record_keys,
)
from veilig.geo.privacy.cellkey import NOISE_P, PTABLE, noise

SECRET = b"unit-test-secret-0123456789abcdef"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 5)), min_size=0, max_size=200), st.randoms())
def test_the_same_records_give_the_same_published_values_in_any_order(records, rnd):
    ids = np.array([r[0] for r in records], dtype=np.int64)
    groups = np.array([r[1] for r in records], dtype=np.int64)
    keys = record_keys(ids, SECRET)
    counts = np.bincount(groups, minlength=6)
    first = perturb(counts, cell_keys(groups, keys, 6), 5)
    order = list(range(len(records)))
    rnd.shuffle(order)
    again = perturb(counts, cell_keys(groups[order], keys[order], 6), 5)
    assert first == again
    for true, shown in zip(counts, first, strict=True):
        if true == 0:
            assert shown == 0  # zero stays zero
        elif shown is not None:
            assert shown >= 5 and abs(shown - true) <= 2  # never a small count, at most 2 off
        else:
            assert true <= 6


def test_record_keys_are_stable_and_depend_on_the_secret():
    a = record_keys([1, 2, 3], SECRET)
    assert (a == record_keys([1, 2, 3], SECRET)).all()
    assert (a != record_keys([1, 2, 3], b"another-secret-0123456789abcdef!")).any()
    assert a.dtype == np.uint64 and (a < 2**32).all()
    with pytest.raises(ValueError):
        record_keys([1], b"short")


def test_the_perturbation_table_has_zero_mean_and_variance_1_2_from_count_3():
    values = np.arange(-2, 3)
    assert abs((values * NOISE_P).sum()) < 1e-12 and abs((values**2 * NOISE_P).sum() - 1.2) < 1e-12
    # The table's rows are cumulative probabilities: noise() with uniform keys follows them.
    keys = (np.arange(100_000) + 0.5) / 100_000
    for count in (3, 10, 1000):
        d = noise(np.full(keys.size, count), keys)
        assert abs(d.mean()) < 1e-3 and abs(d.var() - 1.2) < 1e-2
    assert (noise(np.ones(keys.size, dtype=np.int64), keys) >= 0).all()  # 1 never becomes 0
    assert (noise(np.zeros(keys.size, dtype=np.int64), keys) == 0).all()
    assert PTABLE.shape == (4, 5)


def test_hide_small_counts_drops_z_and_p_and_perturbs_when_cell_keys_are_given():
    import pandas as pd

    table = pd.DataFrame({"n_incidents": [0, 3, 20], "gi_z": [0.1, 2.0, 3.0], "gi_p": [0.9, 0.04, 0.001],
                          "gi_class": [0, 2, 3], "share": [0.0, 0.13, 0.87]})
    out = hide_small_counts(table, 5)
    assert out["gi_z"].isna().all() and out["gi_p"].isna().all() and list(out["gi_class"]) == [0, 2, 3]
    assert out["n_incidents"].tolist()[:2] == [0, None] and out["n_incidents"].iloc[2] == 20
    keyed = hide_small_counts(table.assign(cell_key=[0.5, 0.5, 0.95]), 5)
    assert "cell_key" not in keyed.columns and keyed["n_incidents"].iloc[2] == 22


@pytest.mark.parametrize("start,end,kind", [
    ("2025-03-03", "2025-03-09", "week"),
    ("2025-02-01", "2025-02-28", "maand"),
    ("2024-02-01", "2024-02-29", "maand"),
    ("2025-04-01", "2025-06-30", "kwartaal"),
    ("2025-01-01", "2025-12-31", "jaar"),
    ("2023-01-01", "2025-12-31", "jaar"),
])
def test_whole_weeks_months_quarters_and_years_are_allowed(start, end, kind):
    p = aligned_period(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert p.kind == kind
    prev = p.previous()
    assert prev.end == p.start - dt.timedelta(days=1) and classify(prev.start, prev.end) == prev


@pytest.mark.parametrize("start,end", [
    ("2025-03-01", "2025-04-01"),  # a month plus a day
    ("2025-03-04", "2025-03-10"),  # seven days, not Monday to Sunday
    ("2025-01-01", "2025-02-28"),  # two months
    ("2025-03-01", "2025-03-30"),
    ("2025-01-02", "2025-12-31"),
])
def test_any_other_period_is_refused_in_dutch_naming_start_and_end(start, end):
    with pytest.raises(VeiligError) as err:
        aligned_period(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert "start/end" in str(err.value) and "kalendermaand" in str(err.value) and err.value.status_code == 400


def test_no_period_means_the_whole_years_of_the_data_and_half_a_period_is_refused():
    p = aligned_period(None, None, (dt.date(2023, 5, 4), dt.date(2025, 11, 30)))
    assert (p.start, p.end, p.kind) == (dt.date(2023, 1, 1), dt.date(2025, 12, 31), "jaar")
    assert aligned_period(None, None, None) is None
    with pytest.raises(VeiligError, match="end"):
        aligned_period(dt.date(2025, 1, 1), None)


def test_a_year_minus_its_visible_months_does_no_better_than_guessing():
    """The nested-period attack on simulated buurt-months (Poisson counts, seeded): the hidden
    month estimated as year - visible months, clipped to 1..4, hits the true count less often
    than a constant guess of the commonest small count does; without the noise it is exact."""
    from veilig.geo.privacy import perturb_one, total_key

    rng = np.random.default_rng(2026)
    hits = tries = best_constant = 0
    next_id = 0
    for lam in (3, 5, 8, 12):
        truths = []
        for _ in range(700):
            counts = rng.poisson(lam, 12)
            ids = np.arange(next_id, next_id + counts.sum())
            next_id += int(counts.sum())
            groups = np.repeat(np.arange(12), counts)
            keys = record_keys(ids, SECRET)
            published = perturb(counts, cell_keys(groups, keys, 12), 5)
            hidden = [i for i in range(12) if published[i] is None]
            if len(hidden) != 1:
                continue
            (i,) = hidden
            year = perturb_one(int(counts.sum()), total_key(keys), 5)
            others = sum(published[j] for j in range(12) if j != i)
            assert int(counts.sum()) - sum(int(counts[j]) for j in range(12) if j != i) == counts[i]
            guess = min(max(year - others, 1), 4)
            tries += 1
            hits += int(guess == counts[i])
            truths.append(int(counts[i]))
        if truths:
            best_constant += max(truths.count(v) for v in range(1, 7))
    assert tries >= 300
    assert hits <= best_constant
    assert hits / tries < 0.3


# ------------------------------------------------------------- pairs (Knox) and space-time


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 120), st.booleans(), st.integers(0, 2**32 - 1))
def test_knox_cell_keys_count_the_same_pairs_as_the_knox_test(n, nrc, seed):
    """The pair cell keys are only the published cells' keys if they cover the same pairs: an
    independent count (KD-tree, the band rules of KnoxBands) equals the Knox test's own, with
    coincident events and distances and lags on the band edges."""
    from veilig.geo.nearrepeat import KnoxBands, KnoxEvents, knox_test
    from veilig.geo.privacy import knox_cell_keys

    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 900, n), rng.uniform(0, 900, n)
    x[: n // 3], y[: n // 3] = np.round(x[: n // 3], -2), np.round(y[: n // 3], -2)  # edges, same places
    day = rng.integers(0, 40, n)
    bands = KnoxBands(nrc_compatible=nrc).validated()
    observed = knox_test(KnoxEvents(x, y, day), bands, 1, 0).observed
    keys, counts = knox_cell_keys(x, y, day, record_keys(range(n), SECRET), bands)
    assert np.array_equal(counts, observed)
    assert keys.shape == observed.shape and ((keys >= 0) & (keys < 1)).all()
    # The same pairs in any order give the same keys.
    order = rng.permutation(n)
    again, _ = knox_cell_keys(x[order], y[order], day[order], record_keys(order, SECRET), bands)
    assert np.array_equal(again, keys)


def test_public_knox_withholds_every_margin_once_a_cell_is_hidden():
    from veilig.geo.nearrepeat import KnoxBands, KnoxEvents, knox_test
    from veilig.geo.privacy import knox_cell_keys, public_knox

    rng = np.random.default_rng(3)
    n = 40
    x, y, day = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n), rng.integers(0, 200, n)
    bands = KnoxBands().validated()
    result = knox_test(KnoxEvents(x, y, day), bands, 99, 0)
    keys, _ = knox_cell_keys(x, y, day, record_keys(range(n), SECRET), bands)
    shown = public_knox(result, keys, 5)
    small = (result.observed > 0) & (result.observed < 3)
    assert small.any()
    rows = shown["rows"]
    assert all(r["suppressed"] and r["observed"] is None for r, s in zip(rows, small.ravel()) if s)
    assert all(r["expected"] is None and r["knox_ratio"] is None for r in rows)
    assert shown["n_events"] is None and shown["n_pairs"] is None and shown["summary"] is None
    assert {r["p_value"] for r in rows if r["p_value"] is not None} <= {0.001, 0.01, 0.05, 0.1, 1.0}


def test_public_views_refuse_results_without_cell_keys():
    from datetime import date

    import pandas as pd

    from veilig.geo.emerging import emerging_hot_spots
    from veilig.geo.privacy import public_emerging

    incidents = pd.DataFrame({"occurred_at": pd.to_datetime(["2025-01-05", "2025-02-05"], utc=True),
                              "category": "drugs", "x": [92500.0, 92600.0], "y": [453500.0, 453600.0],
                              "id": [1, 2]})
    with pytest.raises(ValueError, match="record keys"):
        public_emerging(emerging_hot_spots(incidents, "drugs", date(2025, 1, 1), date(2025, 3, 31)), 5)
    from veilig.geo.privacy import with_record_keys

    keyed = emerging_hot_spots(with_record_keys(incidents, SECRET), "drugs", date(2025, 1, 1), date(2025, 3, 31))
    locations, bins = public_emerging(keyed, 5)
    assert "gi_z" not in bins.columns and "trend_z" not in locations.columns and "cell_key" not in bins.columns
    assert bins["n_incidents"].isna().sum() == 2  # two bins of one incident each: hidden


def test_a_knox_cells_key_is_the_sum_of_its_pairs_keys_by_brute_force():
    """A pair's record key is the sum of its two incidents' keys; a cell's key the sum over its
    pairs modulo 2**32, the far row included (computed by complement in the layer)."""
    from veilig.geo.nearrepeat import KnoxBands
    from veilig.geo.privacy import knox_cell_keys

    rng = np.random.default_rng(5)
    n = 70
    x, y, day = rng.uniform(0, 500, n), rng.uniform(0, 500, n), rng.integers(0, 30, n)
    k = record_keys(range(n), SECRET)
    bands = KnoxBands().validated()
    keys, _ = knox_cell_keys(x, y, day, k, bands)
    i, j = np.triu_indices(n, 1)
    r = bands.spatial_index_sq((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2)
    c = bands.temporal_index(np.abs(day[i] - day[j]))
    total = np.zeros(bands.shape, dtype=object)
    for a, b, rr, cc in zip(i, j, r, c, strict=True):
        total[rr, cc] += int(k[a]) + int(k[b])
    assert np.array_equal(np.vectorize(lambda t: t % 2**32 / 2**32)(total).astype(float), keys)
