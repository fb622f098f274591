"""The Knox near-repeat calculator: band semantics, brute-force equality, seeds, planted and null data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veilig.errors import VeiligError
from veilig.geo import nearrepeat as nr
from veilig.geo.nearrepeat import KnoxBands, KnoxEvents, knox_test

DAY0 = int(np.datetime64("2025-01-01", "D").astype(np.int64))


def brute_force(x, y, day, bands: KnoxBands) -> np.ndarray:
    """The issue's semantics written out pair by pair, independently of the module's index code."""
    m, n_s, d, n_t = bands.spatial_band, bands.spatial_bands, bands.temporal_band, bands.temporal_bands
    out = np.zeros((n_s + 2, n_t + 1), dtype=np.int64)
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dist = math.sqrt((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2)
            lag = abs(int(day[i]) - int(day[j]))
            if dist < 1:
                row = 0
            else:
                row = n_s + 1
                for k in range(1, n_s + 1):
                    lo, hi = (k - 1) * m, k * m
                    inside = (lo <= dist < hi) if bands.nrc_compatible else (lo < dist <= hi)
                    if inside or (k == 1 and 1 <= dist and (dist < hi if bands.nrc_compatible else dist <= hi)):
                        row = k
                        break
            col = n_t
            for k in range(1, n_t + 1):
                lo, hi = (k - 1) * d, k * d
                if bands.nrc_compatible:
                    inside = lo <= lag < hi
                else:
                    inside = (0 <= lag <= hi) if k == 1 else (lo < lag <= hi)
                if inside:
                    col = k - 1
                    break
            out[row, col] += 1
    return out


def two_events(dx=0.0, dy=100.0, days=3):
    return KnoxEvents(np.array([0.0, dx]), np.array([0.0, dy]), np.array([DAY0, DAY0 + days]))


def cell_of(result) -> tuple[int, int]:
    r, c = np.nonzero(result.observed)
    assert len(r) == 1, result.observed
    return int(r[0]), int(c[0])


def test_pair_100_m_and_3_days_apart_lands_in_first_bands_with_defaults():
    result = knox_test(two_events(), iterations=9, seed=1)
    assert cell_of(result) == (1, 0)
    row = result.table().iloc[1 * 3 + 0]
    assert (row.distance_from_m, row.distance_to_m, row.days_from, row.days_to, row.observed) == (0, 100, 0, 7, 1)


def test_nrc_compatible_moves_the_pair_as_the_near_repeat_calculator_does():
    # NRC bands "a to b" are [a-1, b): 100 m falls in "101 to 200", 3 days with 3-day bands in "4 to 6".
    nrc = knox_test(two_events(), KnoxBands(nrc_compatible=True), iterations=9, seed=1)
    assert cell_of(nrc) == (2, 0)
    steenbeek_200 = knox_test(two_events(), KnoxBands(200, 2, 3, 2, nrc_compatible=True), iterations=9)
    assert cell_of(steenbeek_200) == (1, 1)
    steenbeek_100 = knox_test(two_events(), KnoxBands(100, 2, 3, 2, nrc_compatible=True), iterations=9)
    assert cell_of(steenbeek_100) == (2, 1)
    # The same settings without the NRC shift: 3 days is within "0 to 3".
    plain = knox_test(two_events(), KnoxBands(100, 2, 3, 2), iterations=9)
    assert cell_of(plain) == (1, 0)


def test_same_location_and_more_than_bands():
    assert cell_of(knox_test(two_events(0.3, 0.4, 0), iterations=9)) == (0, 0)
    assert cell_of(knox_test(two_events(0, 300.5, 15), iterations=9)) == (4, 2)
    assert cell_of(knox_test(two_events(0, 300, 14), iterations=9)) == (3, 1)
    t = knox_test(two_events(), iterations=9).table()
    assert t.iloc[0].distance_from_m == 0 and t.iloc[0].distance_to_m == 0
    last = t.iloc[-1]
    assert last.distance_from_m == 300 and last.distance_to_m is None and last.days_from == 14 and last.days_to is None


events_strategy = st.integers(min_value=2, max_value=40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(-400, 400), min_size=n, max_size=n),
    st.lists(st.integers(-400, 400), min_size=n, max_size=n),
    st.lists(st.integers(0, 60), min_size=n, max_size=n),
))
bands_strategy = st.builds(KnoxBands, spatial_band=st.sampled_from([50, 100, 150.0]),
                           spatial_bands=st.integers(1, 4), temporal_band=st.integers(1, 10),
                           temporal_bands=st.integers(1, 3), nrc_compatible=st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_strategy, bands_strategy)
def test_observed_counts_equal_a_brute_force_count(data, bands):
    xs, ys, ds = data
    x, y, day = np.array(xs, float), np.array(ys, float), np.array(ds) + DAY0
    result = knox_test(KnoxEvents(x, y, day), bands, iterations=3, seed=0)
    np.testing.assert_array_equal(result.observed, brute_force(x, y, day, bands.validated()))
    assert result.observed.sum() == len(x) * (len(x) - 1) // 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_strategy, bands_strategy, st.integers(0, 2**32 - 1))
def test_every_permutation_is_counted_exactly(data, bands, seed):
    """The compiled sweep on permuted dates equals the brute force on the same permuted dates."""
    xs, ys, ds = data
    bands = bands.validated()
    x, y, day = np.array(xs, float), np.array(ys, float), np.sort(np.array(ds)) + DAY0
    kernel = nr._Kernel(x, y, day, bands)
    slots = np.random.default_rng(seed).permutation(len(x))
    full = nr._complete(kernel.near(slots[None, :]), bands, nr.lag_totals(day, bands), kernel.row_totals())[0]
    permuted_day = np.empty_like(day)
    permuted_day[slots] = day  # the event in slot k gets the k-th date
    np.testing.assert_array_equal(full, brute_force(x, y, permuted_day, bands))


def test_same_seed_same_output_byte_for_byte():
    rng = np.random.default_rng(5)
    ev = KnoxEvents(rng.uniform(0, 2000, 300), rng.uniform(0, 2000, 300), DAY0 + rng.integers(0, 365, 300))
    a = json.dumps(knox_test(ev, iterations=99, seed=42).to_dict(), sort_keys=True)
    b = json.dumps(knox_test(ev, iterations=99, seed=42).to_dict(), sort_keys=True)
    c = json.dumps(knox_test(ev, iterations=99, seed=43).to_dict(), sort_keys=True)
    assert a == b
    assert a != c


def test_p_value_and_expected_follow_the_stated_definitions():
    rng = np.random.default_rng(9)
    ev = KnoxEvents(rng.uniform(0, 800, 80), rng.uniform(0, 800, 80), DAY0 + rng.integers(0, 90, 80))
    r = knox_test(ev, iterations=49, seed=3)
    # p is (1 + k) / (1 + 49) for an integer k in 0..49.
    k = r.p_value * 50 - 1
    np.testing.assert_allclose(k, np.round(k))
    assert ((k >= 0) & (k <= 49)).all()
    # Expected counts keep the total number of pairs (every permutation does).
    assert r.expected.sum() == pytest.approx(80 * 79 / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(r.knox_ratio[r.expected > 0], (r.observed / r.expected)[r.expected > 0])


@pytest.fixture(scope="module")
def demo_burglaries():
    from veilig.geo.demo import generate_incidents

    df = generate_incidents(7, 15000)
    return df[df["category"].isin(["woninginbraak", "inbraak_schuur"])].reset_index(drop=True)


def test_planted_near_repeats_of_the_demo_data_are_significant_in_the_first_bands(demo_burglaries):
    ev = nr.events_from_incidents(demo_burglaries)
    r = knox_test(ev, iterations=199, seed=1)
    # The demo's follow-ups lie ~150 m (Gaussian, sigma 120 m) and 1-21 days after the first:
    # the near cells up to 300 m and 14 days light up, the strongest at 100-200 m in week one.
    near = r.significant(0.05)[1:4, 0:2]
    assert near.sum() >= 4, r.p_value
    assert r.p_value[2, 0] <= 0.01 and r.knox_ratio[2, 0] > 1.5
    # With 200 m bands the first band is significant in every week up to three.
    wide = knox_test(ev, KnoxBands(200, 3, 7, 3), iterations=199, seed=1)
    assert wide.significant(0.05)[1, 0:3].all()
    assert nr.significant_extent(r) is not None
    assert "keer zo groot" in nr.summary_nl(r)


def test_demo_with_dates_shuffled_shows_no_significant_cell_beyond_chance(demo_burglaries):
    ev = nr.events_from_incidents(demo_burglaries)
    rng = np.random.default_rng(2024)
    shuffled = KnoxEvents(ev.x, ev.y, rng.permutation(ev.day))
    r = knox_test(shuffled, iterations=199, seed=1)
    # 15 cells at 5 %: 0.75 expected by chance; more than 2 (P < 4 %) would be beyond chance.
    assert int(r.significant(0.05).sum()) <= 2
    assert not r.significant(0.01)[1:4, 0:2].any()


def test_the_level_holds_on_pure_noise():
    """Under the null (dates unrelated to places) a cell is 'significant at 5 %' in <= 5 % of data sets."""
    rng = np.random.default_rng(11)
    hits, runs = 0, 300
    for i in range(runs):
        ev = KnoxEvents(rng.uniform(0, 600, 40), rng.uniform(0, 600, 40), DAY0 + rng.integers(0, 60, 40))
        r = knox_test(ev, iterations=19, seed=i)
        hits += int(r.p_value[1, 0] <= 0.05)
    # Binomial(300, 0.05): mean 15, sd 3.8; the permutation p-value is conservative with ties.
    assert hits <= 15 + 3 * 3.8


@pytest.mark.parametrize("kwargs, option", [
    ({"spatial_band": 0}, "--spatial-band"),
    ({"spatial_band": -5}, "--spatial-band"),
    ({"spatial_band": 5000, "spatial_bands": 3}, "--spatial-band"),
    ({"temporal_band": 0}, "--temporal-band"),
    ({"temporal_band": 200, "temporal_bands": 2}, "--temporal-band"),
    ({"spatial_bands": 0}, "--spatial-bands"),
    ({"temporal_bands": 0}, "--temporal-bands"),
])
def test_absurd_bands_are_refused_naming_the_option(kwargs, option):
    with pytest.raises(VeiligError, match=option):
        KnoxBands(**kwargs).validated()


def test_iterations_and_event_count_are_checked():
    with pytest.raises(VeiligError, match="--iterations"):
        knox_test(two_events(), iterations=100_000)
    with pytest.raises(VeiligError, match="--iterations"):
        knox_test(two_events(), iterations=0)
    with pytest.raises(VeiligError, match="minstens 2"):
        knox_test(KnoxEvents(np.array([1.0]), np.array([1.0]), np.array([DAY0])))


def test_csv_rows_with_bad_coordinates_or_dates_are_named(tmp_path):
    f = tmp_path / "in.csv"
    f.write_text("x,y,occurred_at\n1,2,2025-01-01\nabc,2,2025-01-02\n3,,2025-01-03\n4,5,31-02-2025\n6,7,\n",
                 encoding="utf-8")
    with pytest.raises(VeiligError) as exc:
        nr.read_events_csv(f)
    msg = str(exc.value)
    assert "rij 2, kolom x" in msg and "rij 3, kolom y" in msg
    assert "rij 4, kolom occurred_at" in msg and "rij 5, kolom occurred_at" in msg
    g = tmp_path / "ok.csv"
    g.write_text("x;y;occurred_at\n1,5;2;01-03-2025\n3;4;2025-03-02T23:30:00+00:00\n5;6;2025-03-03 10:00\n",
                 encoding="utf-8")
    ev = nr.read_events_csv(g)
    assert ev.x[0] == 1.5
    # 23:30 UTC on 2 March is 00:30 on 3 March in Amsterdam: the local date counts.
    assert list(ev.day - DAY0) == [59, 61, 61]
    h = tmp_path / "cols.csv"
    h.write_text("lat,lon,datum\n1,2,2025-01-01\n", encoding="utf-8")
    with pytest.raises(VeiligError, match="x, y, occurred_at"):
        nr.read_events_csv(h)


def test_the_kernels_permutations_are_permutations_and_depend_only_on_seed_and_index():
    from veilig.geo.nearrepeat_kernel import permutation

    a = permutation(np.uint64(7), 3, 1000)
    assert sorted(a.tolist()) == list(range(1000))
    assert (a == permutation(np.uint64(7), 3, 1000)).all()
    assert (a != permutation(np.uint64(7), 4, 1000)).any() and (a != permutation(np.uint64(8), 3, 1000)).any()
    # Uniform: each event lands in the first slot about equally often.
    firsts = np.bincount([permutation(np.uint64(1), i, 10)[0] for i in range(5000)], minlength=10)
    assert firsts.min() > 400 and firsts.max() < 600


def test_permuted_kernel_equals_the_explicit_one_on_its_permutations():
    from veilig.geo.nearrepeat_kernel import permutation

    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 900, 200).round(), rng.uniform(0, 900, 200).round()
    day = np.sort(rng.integers(0, 120, 200)) + DAY0
    bands = KnoxBands().validated()
    kernel = nr._Kernel(x, y, day, bands)
    slots = np.stack([permutation(np.uint64(99), 5 + b, 200) for b in range(6)])
    np.testing.assert_array_equal(kernel.near_permuted(99, 5, 6), kernel.near(slots))


def test_numbers_do_not_depend_on_blocks_or_threads(monkeypatch):
    """Permutation i is a pure function of (seed, i): one thread with blocks of 7 gives the same
    table as all threads with blocks of 32."""
    rng = np.random.default_rng(12)
    ev = KnoxEvents(rng.uniform(0, 1500, 400).round(), rng.uniform(0, 1500, 400).round(),
                    DAY0 + rng.integers(0, 200, 400))
    a = knox_test(ev, iterations=99, seed=4)
    monkeypatch.setattr(nr, "PERMUTATION_BLOCK", 7)
    monkeypatch.setattr(nr, "_threads", lambda: 1)
    b = knox_test(ev, iterations=99, seed=4)
    np.testing.assert_array_equal(a.expected, b.expected)
    np.testing.assert_array_equal(a.p_value, b.p_value)
    # The expected counts are means of whole numbers: sums are exact integers.
    np.testing.assert_allclose(a.expected * 99, np.round(a.expected * 99), rtol=0, atol=1e-6)
