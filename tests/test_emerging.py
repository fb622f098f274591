"""Emerging hot spots: ArcGIS's pattern table on hand-made series, the space-time Gi* against its
stated null, planted patterns coming out as planted, and the level kept in pure noise."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from veilig.errors import VeiligError
from veilig.geo.emerging import (
    CODE,
    PATTERNS,
    EmergingParams,
    analyse_cube,
    classify_patterns,
    emerging_hot_spots,
    space_time_gi,
    temporal_window_sum,
    z_correlation,
)
from veilig.geo.spacetime import SpaceTimeCube, grid_locations, time_steps

# ------------------------------------------------------------------ ArcGIS's table, row by row
# Ten steps, oldest first: "H" a significant hot bin, "C" a significant cold bin, "." neither.
# trend: the Mann-Kendall trend of the location's z-series ("up", "down" significant; "-" none).
# 90 percent of ten steps is nine.
TABLE = [
    # pattern            series        trend  why (ArcGIS's wording)
    ("no_pattern",       "..........", "-",   "does not fall into any pattern"),
    ("no_pattern",       "H.H.H.H...", "-",   "hot now and then, but not in the final step"),
    ("no_pattern",       "HHHHHHHH..", "up",  "80 % hot and the final step not hot: not historical"),
    ("new_hot",          ".........H", "-",   "hot in the final step, never before"),
    ("new_hot",          "CC.......H", "-",   "never hot before (cold history does not matter to 'new')"),
    ("consecutive_hot",  "........HH", "-",   "a single run of at least two hot bins at the end"),
    ("consecutive_hot",  "..HHHHHHHH", "up",  "an 8-step final run is < 90 %: consecutive, not intensifying"),
    ("intensifying_hot", ".HHHHHHHHH", "up",  "90 % hot incl. the final step, increasing trend"),
    ("intensifying_hot", "HHHHHHHHHH", "up",  "always hot, increasing"),
    ("persistent_hot",   "HHHHHHHHHH", "-",   "90 % hot, no discernible trend"),
    ("persistent_hot",   "H.HHHHHHHH", "-",   "90 % hot with a gap, no trend"),
    ("diminishing_hot",  "HHHHHHHHHH", "down", "90 % hot incl. the final step, decreasing trend"),
    ("diminishing_hot",  "HHHH.HHHHH", "down", "a gap does not matter at 90 %"),
    ("sporadic_hot",     "H.H......H", "-",   "hot at the end, on and off before, never cold"),
    ("sporadic_hot",     "..HH....HH", "-",   "two runs: not a single final run"),
    ("oscillating_hot",  "C.H......H", "-",   "hot at the end, hot before, and a cold spot in a prior step"),
    ("oscillating_hot",  "H.C.....HH", "up",  "cold in a prior step"),
    ("historical_hot",   "HHHHHHHHH.", "-",   "the final step is not hot, 90 % of the steps were"),
    ("historical_hot",   "HHHHHHHHH.", "down", "historical whatever the trend"),
    ("historical_hot",   "HHHHHHHHHC", "-",   "hot rows come before cold rows in the table"),
]


def _mirror(series: str, trend: str) -> tuple[str, str]:
    swap = {"H": "C", "C": "H", ".": "."}
    return "".join(swap[c] for c in series), {"up": "down", "down": "up", "-": "-"}[trend]


def _mirrored_rows():
    rows = []
    for pattern, series, trend, why in TABLE:
        if pattern == "no_pattern":
            continue
        if series == "HHHHHHHHHC":  # its mirror is not historical_cold: hot rows win (new_hot)
            continue
        s, t = _mirror(series, trend)
        rows.append((pattern.replace("_hot", "_cold"), s, t, why + " (cold)"))
    return rows


def _classify(series: str, trend: str) -> str:
    sig = np.array([[{"H": 1, "C": -1, ".": 0}[c] for c in series]])
    p = np.array([0.001 if trend != "-" else 0.5])
    z = np.array([{"up": 3.0, "down": -3.0, "-": 0.3}[trend]])
    return PATTERNS[int(classify_patterns(sig, p, z, level=0.10)[0])]


@pytest.mark.parametrize("pattern,series,trend,why", TABLE + _mirrored_rows(),
                         ids=[f"{r[0]}:{r[1]}:{r[2]}" for r in TABLE + _mirrored_rows()])
def test_pattern_table_reads_like_arcgis(pattern, series, trend, why):
    assert _classify(series, trend) == pattern, why


def test_mirror_of_hot_historical_with_a_cold_final_step():
    # "CCCCCCCCCH": 90 % cold, final step hot. The hot rows come first in the table: a new hot spot.
    assert _classify("CCCCCCCCCH", "-") == "new_hot"


def test_all_seventeen_patterns_are_reachable_and_named():
    seen = {_classify(s, t) for _, s, t, _ in TABLE + _mirrored_rows()}
    assert seen == set(PATTERNS)
    assert len(PATTERNS) == 17


def test_ninety_percent_is_counted_in_whole_steps():
    # 36 monthly steps: 33 hot (91.7 %) is >= 90 %, 32 (88.9 %) is not.
    base = np.zeros((2, 36), dtype=int)
    base[0, 3:] = 1
    base[1, 4:] = 1
    out = classify_patterns(base, np.array([0.5, 0.5]), np.array([0.0, 0.0]), 0.10)
    assert [PATTERNS[i] for i in out] == ["persistent_hot", "consecutive_hot"]


# ------------------------------------------------------------------ the space-time Gi* itself


def test_temporal_window_sum_spans_the_current_and_previous_steps():
    a = np.array([[1, 2, 3, 4]])
    assert temporal_window_sum(a, 0).tolist() == [[1, 2, 3, 4]]
    assert temporal_window_sum(a, 1).tolist() == [[1, 3, 5, 7]]
    assert temporal_window_sum(a, 2).tolist() == [[1, 3, 6, 9]]


def _null_cube(rng, locs, totals):
    """Counts drawn from the stated null: each step's total spread by exposure."""
    prob = locs.exposure / locs.exposure.sum()
    counts = np.stack([rng.multinomial(int(n), prob) for n in totals], axis=1)
    steps = time_steps(date(2024, 1, 1), date(2024, 12, 31) if len(totals) == 12 else date(2026, 12, 31), "month")
    assert len(steps) == len(totals)
    return SpaceTimeCube(counts.astype(np.int64), locs, steps)


@pytest.fixture(scope="module")
def locs():
    return grid_locations(100.0, 300.0)


def test_window_count_is_the_binomial_of_the_stated_null(locs):
    """The space-time window of a bin sums its spatial window over t-k..t; the p-value is the
    exact binomial test of that count with the window's share and the slices' total."""
    from scipy.stats import binomtest

    rng = np.random.default_rng(1)
    cube = _null_cube(rng, locs, [50, 80, 0, 120] + [60] * 8)
    gi = space_time_gi(cube, time_window=1)
    share = locs.window_shares()
    i, t = 1234, 3
    nb = locs.window[i].indices
    X = cube.counts[nb, t - 1:t + 1].sum()
    n = cube.counts[:, t - 1:t + 1].sum()
    assert gi.observed[i, t] == X and gi.window_totals[t] == n == 120
    # The exact two-sided binomial test (scipy's), as veilig.geo.inference documents.
    assert gi.p[i, t] == pytest.approx(binomtest(int(X), int(n), share[i]).pvalue)
    assert gi.z[i, t] == pytest.approx((X - n * share[i]) / np.sqrt(n * share[i] * (1 - share[i])))
    # A slice whose window holds no incident at all tests nothing: p = 1, class 0.
    gi0 = space_time_gi(cube, time_window=0)
    assert (gi0.p[:, 2] == 1).all() and (gi0.gi_class[:, 2] == 0).all()


def test_edge_cells_count_with_their_area_inside_the_municipality(locs):
    full = 100.0 * 100.0
    assert locs.exposure.max() == pytest.approx(full)
    assert (locs.exposure < full * 0.999).sum() > 100  # the city's edge
    assert (locs.exposure >= 0).all()


def test_z_correlation_of_a_window_of_one_step():
    r = z_correlation(np.array([10, 10, 10, 10]), 1)
    # windows {0}, {0,1}, {1,2}, {2,3}
    assert r[1, 2] == pytest.approx(10 / 20)
    assert r[0, 1] == pytest.approx(10 / np.sqrt(10 * 20))
    assert r[0, 2] == 0 and r[1, 3] == 0
    assert np.allclose(z_correlation(np.array([5, 7, 9]), 0), np.eye(3))


# ------------------------------------------------------------------ planted patterns


def _plant(locs, T, seed):
    """A null cube (about 1 incident per cell and month) with one planted cell per hot pattern."""
    rng = np.random.default_rng(seed)
    totals = np.full(T, 4000)
    cube = _null_cube(rng, locs, totals)
    rows, cols = locs.grid.cell_rows_cols()
    centre = np.column_stack([rows, cols])
    # Five cells at least 1.5 km apart, away from the edge, each far from the others' windows.
    picks = []
    for r, c in [(18, 20), (18, 45), (40, 20), (40, 45), (28, 33)]:
        d = np.abs(centre - [r, c]).sum(axis=1)
        picks.append(int(np.argmin(d)))
    ramp = np.linspace(0, 1, T)
    plan = {
        "new_hot": np.r_[np.zeros(T - 1), 120],
        "intensifying_hot": 40 + 160 * ramp,
        "persistent_hot": np.full(T, 90.0),
        "diminishing_hot": 200 - 160 * ramp,
        "historical_hot": np.r_[np.full(T - 3, 90.0), 0, 0, 0],
    }
    counts = cube.counts.copy()
    for (name, extra), i in zip(plan.items(), picks):
        counts[i] += rng.poisson(extra).astype(np.int64)
    return SpaceTimeCube(counts, locs, cube.steps), dict(zip(plan, picks))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_planted_hot_patterns_come_out_as_planted(locs, seed):
    T = 36
    cube, planted = _plant(locs, T, seed)
    gi, table = analyse_cube(cube, EmergingParams(time_window=1, level=0.10))
    for name, i in planted.items():
        assert table["pattern"].iloc[i] == name, (name, table.iloc[i].to_dict())
    # Background: locations whose window holds no planted cell (more than the band away)
    # are pure noise (slightly thinned by the planted excess, as a conditional null is).
    rows, cols = locs.grid.cell_rows_cols()
    xy = np.column_stack([cols, rows]) * 100.0
    far = np.ones(len(locs), dtype=bool)
    for i in planted.values():
        far &= np.hypot(*(xy - xy[i]).T) > 300.0 + 1e-6
    pattern = table["pattern"].to_numpy()[far]
    share = (pattern != "no_pattern").mean()
    # Under the conditional null the planted excess takes its share of each month's total, so
    # the rest of the city is slightly below its share: a few weak cold spots, never hot ones.
    assert share <= 0.10, share
    assert np.char.endswith(pattern.astype(str), "_hot").mean() <= 0.001


def _null_runs(locs, runs, totals, level, k=1, seed=0):
    rng = np.random.default_rng(seed)
    any_pattern = 0
    trend_sig = []
    for _ in range(runs):
        cube = _null_cube(rng, locs, totals)
        _, table = analyse_cube(cube, EmergingParams(time_window=k, level=level))
        any_pattern += bool((table["pattern"] != "no_pattern").any())
        trend_sig.append((table["trend_p"] <= 0.05).mean())
    return any_pattern / runs, float(np.mean(trend_sig))


@pytest.mark.parametrize("per_step", [15, 400, 20_000])
def test_pure_noise_shows_a_pattern_in_at_most_level_of_runs(locs, per_step):
    """Incidents uniform over the city, each month (12 steps) a fixed total: at level 0.10 no
    more than 10 % of analyses (plus binomial noise over 60 runs) show any pattern at all."""
    runs = 60
    rate, trend_rate = _null_runs(locs, runs, [per_step] * 12, level=0.10, seed=per_step)
    assert rate <= 0.10 + 2 * np.sqrt(0.1 * 0.9 / runs), rate
    # The z-trend's p-value keeps its level although neighbouring z-scores share a slice.
    assert trend_rate <= 0.05 + 0.015, trend_rate


def test_classic_variance_would_find_trends_in_noise(locs):
    """Mutation guard for the correlated variance: with the classic variance the trend test on the
    z-series of a time window of 2 rejects far more than 5 % of noise locations."""
    from veilig.geo.mannkendall import mann_kendall

    rng = np.random.default_rng(5)
    cube = _null_cube(rng, locs, [20_000] * 12)
    gi = space_time_gi(cube, time_window=2)
    assert (mann_kendall(gi.z).p <= 0.05).mean() > 0.08


# ------------------------------------------------------------------ the pipeline on incidents


def _incidents(n, seed=0):
    from veilig.geo.demo import generate_incidents

    return generate_incidents(seed=seed, n=n, start=date(2024, 1, 1), end=date(2025, 12, 31))


def test_pipeline_on_demo_incidents_is_labelled_synthetic_and_complete():
    inc = _incidents(3000)
    res = emerging_hot_spots(inc, "burglary", date(2024, 1, 1), date(2025, 12, 31), EmergingParams(step="quarter"))
    assert res.synthetic
    assert len(res.steps) == 8 and res.steps.labels[0] == "2024-K1"
    assert len(res.locations) == len(grid_locations(100, 300))
    assert set(res.locations["pattern"]) <= set(PATTERNS)
    bins = res.bins()
    assert len(bins) == len(res.locations) * 8
    assert bins["n_incidents"].sum() == res.locations["n_incidents"].sum() == res.cube.counts.sum()
    b = emerging_hot_spots(inc, "burglary", date(2024, 1, 1), date(2025, 12, 31),
                           EmergingParams(step="quarter", locations="buurt"))
    assert len(b.locations) == 26 and b.cube.counts.sum() == res.cube.counts.sum()


def test_bad_parameters_are_refused_with_their_name():
    inc = pd.DataFrame({"occurred_at": [], "category": [], "x": [], "y": []})
    with pytest.raises(VeiligError, match="step"):
        emerging_hot_spots(inc, "burglary", date(2024, 1, 1), date(2024, 12, 31), EmergingParams(step="day"))
    with pytest.raises(VeiligError, match="time_window"):
        emerging_hot_spots(inc, "burglary", date(2024, 1, 1), date(2024, 12, 31), EmergingParams(time_window=-1))
    with pytest.raises(VeiligError, match="level"):
        emerging_hot_spots(inc, "burglary", date(2024, 1, 1), date(2024, 12, 31), EmergingParams(level=0.2))
    with pytest.raises(VeiligError, match="at least 2"):
        emerging_hot_spots(inc, "burglary", date(2024, 1, 1), date(2024, 1, 31))
    with pytest.raises(VeiligError, match="end: 2024-01-31 ligt vóór start 2024-05-01"):
        emerging_hot_spots(inc, "burglary", date(2024, 5, 1), date(2024, 1, 31))


def test_steps_are_calendar_units_and_partial_ones_are_named():
    s = time_steps(date(2025, 1, 15), date(2025, 3, 31), "month")
    assert s.labels == ("2025-01", "2025-02", "2025-03") and s.partial == (0,)
    w = time_steps(date(2024, 12, 30), date(2025, 1, 12), "week")
    assert w.labels == ("2025-W01", "2025-W02") and w.partial == ()
    q = time_steps(date(2023, 1, 1), date(2025, 12, 31), "quarter")
    assert len(q) == 12 and q.labels[-1] == "2025-K4"
    days = np.array(["2025-01-14", "2025-01-15", "2025-02-28", "2025-03-31", "2025-04-01"], dtype="datetime64[D]")
    assert s.index_of_days(days).tolist() == [-1, 0, 1, 2, -1]
    assert CODE["no_pattern"] == 0
