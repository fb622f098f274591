"""Ritme van de Stad: themes, the weekday x hour rhythm in local time, peaks, calendar, suppression."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veilig.errors import NotFoundError, VeiligError
from veilig.geo import calendar_nl as cal
from veilig.geo.rhythm import (
    benjamini_hochberg,
    poisson_peaks,
    rhythm,
    rhythm_by_buurt,
    suppress_small_counts,
    theme_categories,
    theme_table,
)

TZ = "Europe/Amsterdam"


def frame(times, category="overlast_jeugd", buurt="BU06370002", tz=TZ) -> pd.DataFrame:
    """Incidents at the given local (or ``tz``) wall times."""
    ts = pd.DatetimeIndex(pd.to_datetime(list(times))).tz_localize(tz) if len(times) else pd.DatetimeIndex([], tz=tz)
    n = len(ts)
    return pd.DataFrame(
        {
            "id": [f"T{i}" for i in range(n)],
            "occurred_at": ts,
            "category": [category] * n if isinstance(category, str) else list(category),
            "x": np.full(n, 93500.0),
            "y": np.full(n, 452950.0),
            "buurt": [buurt] * n if isinstance(buurt, str) or buurt is None else list(buurt),
        }
    )


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    from veilig.geo.demo import generate_incidents
    from veilig.geo.neighbourhoods import assign_buurt

    df = generate_incidents(seed=11, n=15000)
    df["buurt"] = assign_buurt(df["x"].to_numpy(), df["y"].to_numpy())[0]
    return df


# ----------------------------------------------------------------------------------- themes


def test_themes_map_to_their_categories_by_default():
    assert theme_categories("jeugd") == ("overlast_jeugd",)
    assert theme_categories("alcohol") == ("alcohol",)
    assert theme_categories("evenementen") == ("evenement",)
    assert theme_categories("ondermijning") == ("drugs",)
    assert theme_categories("wijkzorg") == ("melding_wijkzorg",)
    assert theme_categories("meldingen") == ("melding_wijkzorg",)
    assert theme_categories("inbraak") == ("woninginbraak", "inbraak_schuur")
    assert theme_categories(" Jeugd ") == ("overlast_jeugd",)


def test_an_unknown_theme_is_refused_naming_the_valid_themes():
    with pytest.raises(VeiligError) as err:
        theme_categories("verkeer")
    for name in ("jeugd", "alcohol", "evenementen", "ondermijning", "wijkzorg", "meldingen", "inbraak"):
        assert name in str(err.value)


def test_themes_are_configurable_and_checked_against_the_vocabulary():
    custom = {"nachtleven": ["alcohol", "drugs"], "inbraak": ["burglary"]}
    assert theme_table(custom) == {"nachtleven": ("alcohol", "drugs"), "inbraak": ("woninginbraak", "inbraak_schuur")}
    assert theme_categories("nachtleven", custom) == ("alcohol", "drugs")
    with pytest.raises(VeiligError, match="jeugd"):
        theme_categories("jeugd", custom)
    with pytest.raises(VeiligError, match="onbekende categorie"):
        theme_table({"x": ["vuurwerk"]})


# ------------------------------------------------------------------------------- local time


def test_an_incident_counts_in_its_local_weekday_and_hour_whether_given_in_utc_or_local_time():
    # Friday 4 July 2025, 21:30 in Amsterdam (summer time) is 19:30 UTC.
    utc = frame(["2025-07-04 19:30"], tz="UTC")
    local = frame(["2025-07-04 21:30"])
    for df in (utc, local):
        r = rhythm(df, "jeugd", "2025-07-01", "2025-07-31")
        counts = np.array(r.counts)
        assert counts[4, 21] == 1 and counts.sum() == 1
    # Winter: 18:30 UTC on Friday 10 January 2025 is 19:30 local.
    r = rhythm(frame(["2025-01-10 18:30"], tz="UTC"), "jeugd", "2025-01-01", "2025-01-31")
    assert np.array(r.counts)[4, 19] == 1


def test_times_without_a_time_zone_are_refused_not_guessed():
    df = frame(["2025-07-04 21:30"])
    df["occurred_at"] = df["occurred_at"].dt.tz_localize(None)
    with pytest.raises(VeiligError, match="time zone"):
        rhythm(df, "jeugd", "2025-07-01", "2025-07-31")


def test_the_autumn_daylight_saving_day_counts_25_hours_and_its_0200_twice():
    day = cal.Period(dt.date(2025, 10, 26), dt.date(2025, 10, 26))  # a Sunday
    hours = cal.hour_exposure(day)
    assert hours.sum() == 25
    assert hours[6, 2] == 2
    assert hours[6].tolist() == [1, 1, 2] + [1] * 21
    # 00:30 UTC is 02:30 summer time, 01:30 UTC is 02:30 winter time: both in hour 2.
    df = frame(["2025-10-26 00:30", "2025-10-26 01:30", "2025-10-26 02:30"], tz="UTC")
    r = rhythm(df, "jeugd", "2025-10-26", "2025-10-26")
    counts = np.array(r.counts)
    assert counts[6, 2] == 2 and counts[6, 3] == 1 and counts.sum() == 3
    # The doubled hour is expected to see twice the incidents of any other hour.
    expected, *_ = poisson_peaks(counts, r.hours)
    assert expected[6, 2] == pytest.approx(2 * 3 / 25)
    assert expected[6, 5] == pytest.approx(3 / 25)


def test_the_spring_daylight_saving_day_counts_23_hours_and_no_0200():
    day = cal.Period(dt.date(2025, 3, 30), dt.date(2025, 3, 30))
    hours = cal.hour_exposure(day)
    assert hours.sum() == 23
    assert hours[6, 2] == 0
    assert len(cal.hour_starts(day)) == 23
    # 00:59 UTC is 01:59 winter time, 01:00 UTC is 03:00 summer time.
    df = frame(["2025-03-30 00:59", "2025-03-30 01:00"], tz="UTC")
    counts = np.array(rhythm(df, "jeugd", "2025-03-30", "2025-03-30").counts)
    assert counts[6, 1] == 1 and counts[6, 3] == 1 and counts[6, 2] == 0


def test_a_year_has_as_many_hours_as_real_time_passes():
    year = cal.Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert cal.hour_exposure(year).sum() == 365 * 24  # one hour lost in March, one gained in October


# ------------------------------------------------------------------------------------ peaks


def test_a_cell_far_above_the_theme_average_is_marked_a_peak_and_an_even_week_has_none():
    start, end = dt.date(2025, 1, 6), dt.date(2025, 3, 2)  # eight whole weeks
    even = [pd.Timestamp(start) + pd.Timedelta(hours=h, minutes=30) for h in range(8 * 168)]
    r = rhythm(frame(even), "jeugd", start, end)
    assert r.peaks == []
    fridays = [
        pd.Timestamp(2025, 1, 10) + pd.Timedelta(weeks=w, hours=21, minutes=m) for w in range(8) for m in (5, 25, 45)
    ]
    r = rhythm(frame(even + fridays), "jeugd", start, end)
    assert [(p.weekday, p.hour) for p in r.peaks] == [(4, 21)]
    peak = r.peaks[0]
    assert peak.count == np.array(r.counts)[4, 21]
    assert peak.count > peak.expected and peak.q <= 0.05 and peak.p <= peak.q


def test_benjamini_hochberg_agrees_with_scipy():
    from scipy.stats import false_discovery_control

    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0, 1, 150), rng.uniform(0, 1e-4, 18)])
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))


# ------------------------------------------------------------------------------ demo data


def _top_cells(result, k):
    counts = np.array(result.counts)
    flat = np.argsort(-counts, axis=None, kind="stable")[:k]
    return [tuple(int(v) for v in np.unravel_index(i, counts.shape)) for i in flat]


def test_youth_nuisance_on_friday_and_saturday_evenings_tops_the_demo_matrix(demo):
    r = rhythm(demo, "jeugd")
    top = _top_cells(r, 6)
    assert {w for w, _ in top} == {4, 5}  # vrijdag, zaterdag
    assert all(20 <= h <= 22 for _, h in top)
    strongest = r.peaks[:6]
    assert all(p.weekday in (4, 5) and 18 <= p.hour <= 23 for p in strongest)


def test_burglary_on_dark_winter_evenings_tops_the_demo_matrix_and_months(demo):
    r = rhythm(demo, "inbraak")
    assert all(17 <= h <= 21 for _, h in _top_cells(r, 10))
    assert r.peaks and all(17 <= p.hour <= 21 for p in r.peaks)
    winter = {10, 11, 12, 1, 2}
    top_months = np.argsort(r.months)[::-1][:3] + 1
    assert set(top_months.tolist()) <= winter


def test_alcohol_on_weekend_nights_tops_the_demo_matrix(demo):
    r = rhythm(demo, "alcohol")
    for w, h in _top_cells(r, 6):
        # Friday/Saturday 23:00, or the small hours of Saturday/Sunday.
        assert (w in (4, 5) and h == 23) or (w in (5, 6) and h <= 3)


# ------------------------------------------------------------------------- buurt and period


def test_each_buurt_has_its_own_rhythm_and_together_they_make_the_city(demo):
    by_buurt = rhythm_by_buurt(demo, "jeugd", "2025-01-01", "2025-12-31")
    assert len(by_buurt) == 26
    city = rhythm(demo, "jeugd", "2025-01-01", "2025-12-31")
    together = sum(np.array(r.counts) for r in by_buurt.values())
    no_buurt = demo["buurt"].isna() & (demo["category"] == "overlast_jeugd")
    assert together.sum() == city.total - rhythm(demo[no_buurt], "jeugd", "2025-01-01", "2025-12-31").total
    assert np.all(together <= np.array(city.counts))
    one = rhythm(demo, "jeugd", "2025-01-01", "2025-12-31", buurt="BU06370002")
    assert one.buurt == "BU06370002"
    assert one.counts == by_buurt["BU06370002"].counts


def test_an_unknown_buurt_is_a_clear_not_found():
    with pytest.raises(NotFoundError, match="onbekende buurt 'BU99999999'"):
        rhythm(frame(["2025-07-04 21:30"]), "jeugd", "2025-07-01", "2025-07-31", buurt="BU99999999")


def test_a_reversed_or_unreadable_period_is_refused():
    df = frame(["2025-07-04 21:30"])
    with pytest.raises(VeiligError, match="omgedraaid"):
        rhythm(df, "jeugd", "2025-07-31", "2025-07-01")
    with pytest.raises(VeiligError, match="geen datum"):
        rhythm(df, "jeugd", "gisteren", "2025-07-01")
    with pytest.raises(VeiligError, match="leeg"):
        rhythm(frame([]), "jeugd")


def test_a_theme_without_data_gives_a_clear_empty_rhythm():
    r = rhythm(frame(["2025-07-04 21:30"], category="alcohol"), "inbraak", "2025-07-01", "2025-07-31")
    assert r.total == 0
    assert np.array(r.counts).shape == (7, 24) and np.array(r.counts).sum() == 0
    assert r.peaks == []
    assert r.months == [0] * 12


def test_the_period_defaults_to_the_data_and_includes_its_last_day():
    r = rhythm(frame(["2025-07-01 10:00", "2025-07-04 23:59"]), "jeugd")
    assert (r.start, r.end, r.total) == (dt.date(2025, 7, 1), dt.date(2025, 7, 4), 2)


# ---------------------------------------------------------------------------------- calendar


def test_holidays_and_the_turn_of_the_year_are_marked_with_their_incidents():
    df = frame(["2024-12-25 20:00", "2024-12-31 23:30", "2025-01-01 00:15", "2025-01-01 14:00", "2025-01-03 12:00"])
    r = rhythm(df, "jeugd", "2024-12-20", "2025-01-05")
    marks = {(m["date"], m["name"]): m for m in r.holidays}
    assert set(marks) == {
        ("2024-12-25", "Eerste kerstdag"),
        ("2024-12-26", "Tweede kerstdag"),
        ("2024-12-31", "Jaarwisseling"),
        ("2025-01-01", "Nieuwjaarsdag"),
    }
    assert marks[("2024-12-31", "Jaarwisseling")]["kind"] == "jaarwisseling"
    assert marks[("2024-12-31", "Jaarwisseling")]["n_incidents"] == 2
    assert marks[("2025-01-01", "Nieuwjaarsdag")]["n_incidents"] == 2
    assert marks[("2024-12-25", "Eerste kerstdag")]["n_incidents"] == 1


def test_holidays_can_be_left_out_of_the_ordinary_week():
    df = frame(["2025-04-26 21:00", "2025-05-03 21:00"])  # Koningsdag and the Saturday after
    period = ("2025-04-21", "2025-05-04")
    with_days = rhythm(df, "jeugd", *period)
    without = rhythm(df, "jeugd", *period, exclude_holidays=True)
    assert with_days.total == 2 and without.total == 1
    # Easter Monday 21 April, Koningsdag 26 April: 48 hours fewer.
    assert with_days.hours.sum() - without.hours.sum() == 48
    assert without.hours[5].sum() == 24 and without.hours[0].sum() == 24
    assert [m["name"] for m in without.holidays] == ["Tweede paasdag", "Koningsdag"]


def test_an_iso_week_is_monday_to_sunday():
    p = cal.parse_iso_week("2025-W10")
    assert (p.start, p.end) == (dt.date(2025, 3, 3), dt.date(2025, 3, 9))
    with pytest.raises(VeiligError, match="^week: '2025-W54' bestaat niet: 2025 heeft geen ISO-week 54"):
        cal.parse_iso_week("2025-W54")
    with pytest.raises(VeiligError, match="^week: 'week 10' is geen ISO-week"):
        cal.parse_iso_week("week 10")


# ------------------------------------------------------------------------- JSON, suppression


def test_the_rhythm_serialises_to_the_documented_json(demo):
    r = rhythm(demo, "jeugd", "2025-01-01", "2025-06-30", buurt="BU06370002")
    d = json.loads(json.dumps(r.to_dict()))
    assert {"theme", "start", "end", "buurt", "counts", "peaks", "months", "holidays"} <= set(d)
    assert (d["theme"], d["start"], d["end"], d["buurt"]) == ("jeugd", "2025-01-01", "2025-06-30", "BU06370002")
    assert len(d["counts"]) == 7 and all(len(row) == 24 for row in d["counts"])
    assert len(d["months"]) == 12
    assert {"weekday", "hour", "count", "expected", "p"} <= set(d["peaks"][0])
    assert r.counts_frame().index[0] == "maandag"


def test_planners_never_see_a_count_below_five():
    times = ["2025-07-04 21:10"] * 7 + ["2025-07-05 22:10"] * 2 + ["2025-07-06 12:00"]
    r = rhythm(frame(times), "jeugd", "2025-07-01", "2025-07-31")
    s = suppress_small_counts(r)
    counts = np.array(s.counts, dtype=object)
    visible = [c for c in counts.ravel() if c is not None]
    assert visible == [7]
    assert all(c is None or c >= 5 for c in s.months) and s.months[6] == 10
    assert all(p.count is None or p.count >= 5 for p in s.peaks)
    # The total beside hidden cells would give their sum back (10 - 7): it is hidden too.
    assert s.total is None and s.suppressed_below == 5
    # The analyst's result is untouched, and zeros can be kept when the desk decides so.
    assert np.array(r.counts)[5, 22] == 2
    kept = suppress_small_counts(r, keep_zero=True)
    assert np.array(kept.counts, dtype=object)[0, 0] == 0 and np.array(kept.counts, dtype=object)[5, 22] is None
    # What a planner's client receives: the same hiding in the JSON, not only in the object.
    d = json.loads(json.dumps(s.to_dict()))
    friday_21 = [[7 if (day, hour) == (4, 21) else None for hour in range(24)] for day in range(7)]
    assert d["counts"] == friday_21
    assert d["months"] == [None] * 6 + [10] + [None] * 5
    assert d["total"] is None and d["suppressed_below"] == 5
    assert all(p["count"] is None or p["count"] >= 5 for p in d["peaks"])
    assert all(h.get("count") is None or h["count"] >= 5 for h in d["holidays"])


# ---------------------------------------------------------------------------------- invariant

_instants = st.integers(
    min_value=int(pd.Timestamp("2025-03-20", tz="UTC").timestamp()),
    max_value=int(pd.Timestamp("2025-11-10", tz="UTC").timestamp()),
)


@settings(max_examples=60, deadline=None)
@given(
    seconds=st.lists(_instants, max_size=40),
    start_offset=st.integers(0, 120),
    length=st.integers(0, 120),
)
def test_the_matrix_holds_every_incident_of_the_period_exactly_once(seconds, start_offset, length):
    times = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True))
    df = pd.DataFrame(
        {"occurred_at": times, "category": "overlast_jeugd", "buurt": "BU06370002"}
    )
    start = dt.date(2025, 3, 20) + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    r = rhythm(df, "jeugd", start, end)
    local = times.tz_convert(TZ)
    inside = (local >= pd.Timestamp(start, tz=TZ)) & (local < pd.Timestamp(end + dt.timedelta(days=1), tz=TZ))
    assert np.array(r.counts).sum() == r.total == sum(r.months) == int(inside.sum())
    real_hours = (pd.Timestamp(end + dt.timedelta(days=1), tz=TZ) - pd.Timestamp(start, tz=TZ)) / pd.Timedelta(hours=1)
    assert r.hours.sum() == real_hours
    # Every incident sits in an hour that the period actually has.
    assert np.all(np.array(r.counts)[r.hours == 0] == 0)
