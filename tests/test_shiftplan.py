"""The shift plan: shifts, areas, the forecast from recent weeks and last year, hit rate and PAI."""

from __future__ import annotations

import datetime as dt
import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from veilig.errors import NotFoundError, VeiligError
from veilig.geo import calendar_nl as cal
from veilig.geo.rhythm import suppress_small_counts
from veilig.geo.shiftplan import (
    DEFAULT_SHIFTS,
    PLAN_COLUMNS,
    Shift,
    area_rhythm,
    assign_areas,
    build_areas,
    incident_shifts,
    parse_shifts,
    plan_coverage,
    shift_instances,
    shift_plan,
)

TZ = "Europe/Amsterdam"
X0, Y0 = 90000.0, 450000.0


def squares(widths=(200, 100, 100), names=("A", "B", "C")) -> gpd.GeoDataFrame:
    """Buurten side by side, 100 m high: by default A 2 ha, B 1 ha, C 1 ha."""
    geoms, x = [], X0
    for w in widths:
        geoms.append(shapely.box(x, Y0, x + w, Y0 + 100))
        x += w
    return gpd.GeoDataFrame(
        {"statcode": list(names), "statnaam": [f"Buurt {n}" for n in names], "wijkcode": ["W1"] * len(names)},
        geometry=geoms,
        crs="EPSG:28992",
    )


def centre(buurten: gpd.GeoDataFrame, code: str) -> tuple[float, float]:
    c = buurten.loc[buurten["statcode"] == code].geometry.iloc[0].centroid
    return c.x, c.y


def incidents(rows, buurten, category="overlast_jeugd") -> pd.DataFrame:
    """``rows``: (local wall time, buurt code) or (local wall time, buurt code, category)."""
    recs = []
    for i, row in enumerate(rows):
        when, code = row[0], row[1]
        x, y = centre(buurten, code)
        recs.append(
            {
                "id": f"I{i}",
                "occurred_at": pd.Timestamp(when).tz_localize(TZ),
                "category": row[2] if len(row) > 2 else category,
                "x": x,
                "y": y,
                "buurt": code,
            }
        )
    return pd.DataFrame(recs, columns=["id", "occurred_at", "category", "x", "y", "buurt"])


def fridays(first: str, weeks: int, hour: int = 20) -> list[pd.Timestamp]:
    start = pd.Timestamp(first)
    assert start.weekday() == 4
    return [start + pd.Timedelta(weeks=w, hours=hour) for w in range(weeks)]


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    from veilig.geo.demo import generate_incidents
    from veilig.geo.neighbourhoods import assign_buurt

    df = generate_incidents(seed=11, n=15000)
    df["buurt"] = assign_buurt(df["x"].to_numpy(), df["y"].to_numpy())[0]
    return df


# ------------------------------------------------------------------------------------ shifts


def test_the_default_shifts_are_08_16_16_24_and_00_08():
    assert [s.name for s in DEFAULT_SHIFTS] == ["08-16", "16-24", "00-08"]
    assert parse_shifts(None) == DEFAULT_SHIFTS
    assert parse_shifts("08-16,16-24,00-08") == DEFAULT_SHIFTS


def test_shifts_are_configurable_and_may_run_past_midnight():
    shifts = parse_shifts("07-15, 15-23, 23-07")
    assert [s.clock_hours for s in shifts][2] == (23, 0, 1, 2, 3, 4, 5, 6)
    night = shifts[2]
    start, end = night.interval(dt.date(2025, 3, 7))
    assert start == pd.Timestamp("2025-03-07 23:00", tz=TZ) and end == pd.Timestamp("2025-03-08 07:00", tz=TZ)
    # 03:00 on Saturday belongs to Friday's night shift.
    local = pd.Series(pd.to_datetime(["2025-03-08 03:00", "2025-03-08 23:30"]).tz_localize(TZ))
    sh = incident_shifts(local, shifts)
    assert sh["shift_index"].tolist() == [2, 2]
    assert sh["date"].tolist() == [dt.date(2025, 3, 7), dt.date(2025, 3, 8)]


def test_overlapping_or_malformed_shifts_are_refused():
    with pytest.raises(VeiligError, match="overlap at 12:00"):
        parse_shifts("08-16,12-20")
    with pytest.raises(VeiligError, match="HH-HH"):
        parse_shifts("vroeg")
    with pytest.raises(VeiligError, match="not valid"):
        parse_shifts("08-08")


def test_a_night_shift_over_a_daylight_saving_change_has_its_real_hours():
    spring = shift_instances(cal.Period(dt.date(2025, 3, 30), dt.date(2025, 3, 30)), DEFAULT_SHIFTS)
    autumn = shift_instances(cal.Period(dt.date(2025, 10, 26), dt.date(2025, 10, 26)), DEFAULT_SHIFTS)
    assert dict(zip(spring["shift"], spring["hours"])) == {"00-08": 7, "08-16": 8, "16-24": 8}
    assert dict(zip(autumn["shift"], autumn["hours"])) == {"00-08": 9, "08-16": 8, "16-24": 8}
    assert spring["hours"].sum() == 23 and autumn["hours"].sum() == 25
    assert spring["shift"].tolist() == ["00-08", "08-16", "16-24"]  # in time order


# ------------------------------------------------------------------------------- PAI, by hand


def test_pai_on_a_hand_computed_example():
    """Three buurten A (2 ha), B (1 ha), C (1 ha); one day, shifts 00-12 and 12-24.

    The plan sends one pair to A in 00-12 and to B in 12-24. Four incidents: A 03:00 (captured),
    A 15:00 (missed: the pair is in B then), B 13:00 (captured), C 10:00 (missed).
    Hit rate 2/4 = 0.5. Area-time flagged (2 ha x 12 h + 1 ha x 12 h) / (4 ha x 24 h) = 0.375.
    PAI = 0.5 / 0.375 = 4/3.
    """
    buurten = squares()
    areas = build_areas(buurten)
    shifts = parse_shifts("00-12,12-24")
    day = cal.Period(dt.date(2025, 6, 3), dt.date(2025, 6, 3))
    plan = pd.DataFrame({"date": ["2025-06-03", "2025-06-03"], "shift": ["00-12", "12-24"], "area_id": ["A", "B"]})
    happened = incidents(
        [("2025-06-03 03:00", "A"), ("2025-06-03 15:00", "A"), ("2025-06-03 13:00", "B"), ("2025-06-03 10:00", "C"),
         ("2025-06-04 03:00", "A")],  # the next day: outside the period
        buurten,
    )
    cov = plan_coverage(plan, happened, areas, day, shifts)
    assert (cov.n_incidents, cov.n_captured) == (4, 2)
    assert cov.hit_rate == pytest.approx(0.5)
    assert cov.area_share == pytest.approx(0.375)
    assert cov.pai == pytest.approx(4 / 3)


def test_pai_with_one_of_four_equal_areas_flagged_all_day():
    # 6 of 10 incidents in the one flagged quarter of the city: PAI = 0.6 / 0.25 = 2.4.
    buurten = squares((100, 100, 100, 100), ("A", "B", "C", "D"))
    areas = build_areas(buurten)
    day = cal.Period(dt.date(2025, 6, 3), dt.date(2025, 6, 3))
    plan = pd.DataFrame({"date": ["2025-06-03"], "shift": ["00-24"], "area_id": ["A"]})
    rows = [(f"2025-06-03 {h:02d}:10", "A") for h in range(6)] + [(f"2025-06-03 {h:02d}:10", c) for h, c in
                                                                   [(7, "B"), (8, "C"), (9, "D"), (23, "B")]]
    cov = plan_coverage(plan, incidents(rows, buurten), areas, day, [Shift(0, 24)])
    assert cov.hit_rate == pytest.approx(0.6)
    assert cov.area_share == pytest.approx(0.25)
    assert cov.pai == pytest.approx(2.4)


def test_coverage_of_a_period_without_incidents_has_no_rates():
    buurten = squares()
    day = cal.Period(dt.date(2025, 6, 3), dt.date(2025, 6, 3))
    plan = pd.DataFrame({"date": ["2025-06-03"], "shift": ["08-16"], "area_id": ["A"]})
    cov = plan_coverage(plan, incidents([], buurten), build_areas(buurten), day)
    assert (cov.n_incidents, cov.hit_rate, cov.pai) == (0, None, None)
    with pytest.raises(VeiligError, match="Z"):
        plan_coverage(plan.assign(area_id="Z"), incidents([], buurten), build_areas(buurten), day)


# --------------------------------------------------------------------------------- the plan


def test_each_shift_gets_the_areas_where_the_theme_happens_then():
    buurten = squares()
    history = [(t, "B") for t in fridays("2025-01-10", 8, hour=20)]  # B on Friday evenings
    history += [(t - pd.Timedelta(hours=10), "A") for t in fridays("2025-01-10", 8, hour=20)]  # A on Friday mornings
    history += [("2025-01-06 09:00", "C", "alcohol")]  # another theme: does not count
    plan = shift_plan(incidents(history, buurten), "jeugd", week="2025-W10", pairs=1, buurten=buurten)
    t = plan.table
    assert len(t) == 7 * 3 * 1
    friday = t[t["date"] == "2025-03-07"].set_index("shift")
    assert friday.loc["16-24", "area_id"] == "B"
    assert friday.loc["08-16", "area_id"] == "A"
    assert friday.loc["16-24", "expected"] > t[t["date"] == "2025-03-06"].set_index("shift").loc["16-24", "expected"]
    # Only eight weeks of data: last year is unknown, so the recent weeks count alone.
    assert plan.method["weights"] == {"recent": 1.0, "last_year": 0.0}
    assert plan.method["last_year_window"] is None


def test_the_plan_blends_the_recent_weeks_and_the_same_period_last_year():
    """Without smoothing, by hand: recent 8 weeks: A on 8 Friday evenings, rate 8 / (8 x 8 h);
    last year's 5-week window: B on 5 Friday evenings twice, rate 10 / (5 x 8 h). Blend 50/50,
    times the shift's 8 hours: A 0.5 x 1/8 x 8 = 0.5, B 0.5 x 1/4 x 8 = 1.0."""
    buurten = squares()
    rows = [(t, "A") for t in fridays("2025-01-10", 8)]
    last_year = fridays("2024-02-23", 5)  # W10 2025 minus 52 weeks = 2024-03-04.., widened by 2 weeks
    rows += [(t, "B") for t in last_year] + [(t + pd.Timedelta(minutes=30), "B") for t in last_year]
    plan = shift_plan(
        incidents(rows, buurten), "jeugd", week="2025-W10", pairs=2, buurten=buurten,
        smoothing_weeks=0, data_start="2024-01-01", data_end="2025-03-02",
    )
    assert plan.method["last_year_window"] == {"start": "2024-02-19", "end": "2024-03-24"}
    assert plan.method["recent_window"] == {"start": "2025-01-06", "end": "2025-03-02"}
    ev = plan.table[(plan.table["date"] == "2025-03-07") & (plan.table["shift"] == "16-24")]
    assert ev["area_id"].tolist() == ["B", "A"]
    assert ev["expected"].tolist() == pytest.approx([1.0, 0.5])
    recent_only = shift_plan(
        incidents(rows, buurten), "jeugd", week="2025-W10", pairs=2, buurten=buurten,
        smoothing_weeks=0, data_start="2024-01-01", data_end="2025-03-02", recent_weight=1.0,
    )
    ev = recent_only.table[(recent_only.table["date"] == "2025-03-07") & (recent_only.table["shift"] == "16-24")]
    assert ev["area_id"].tolist()[0] == "A" and ev["expected"].tolist()[0] == pytest.approx(1.0)


def test_smoothing_lends_a_quiet_weekday_some_of_the_areas_pattern():
    # B is busy on Friday evenings; on Thursday evenings only C has had incidents. The separable
    # model (city's Thursday-evening rate x B's share of evening incidents) gives B a little.
    buurten = squares()
    rows = [(t, "B") for t in fridays("2025-01-10", 8)]
    rows += [(t - pd.Timedelta(days=1), "C") for t in fridays("2025-01-10", 4)]
    smooth = shift_plan(incidents(rows, buurten), "jeugd", week="2025-W10", pairs=2, buurten=buurten)
    raw = shift_plan(incidents(rows, buurten), "jeugd", week="2025-W10", pairs=2, buurten=buurten, smoothing_weeks=0)

    def expected(plan, day, area):
        t = plan.table
        row = t[(t["date"] == day) & (t["shift"] == "16-24") & (t["area_id"] == area)]
        return float(row["expected"].iloc[0])

    assert expected(raw, "2025-03-06", "B") == 0
    assert 0 < expected(smooth, "2025-03-06", "B") < expected(smooth, "2025-03-06", "C")
    assert expected(smooth, "2025-03-06", "B") < expected(smooth, "2025-03-07", "B")


def test_the_plan_does_not_peek_at_what_happens_during_it(demo):
    later = demo["occurred_at"] >= pd.Timestamp("2025-03-03", tz=TZ)
    full = shift_plan(demo, "jeugd", week="2025-W10", pairs=2, backtest=False)
    cut = shift_plan(demo[~later], "jeugd", week="2025-W10", pairs=2, backtest=False, data_end="2025-12-31")
    pd.testing.assert_frame_equal(full.table, cut.table)


def test_the_backtest_is_the_previous_periods_plan_scored_against_what_happened(demo):
    plan = shift_plan(demo, "jeugd", week="2025-W10", pairs=2)
    prev = shift_plan(demo, "jeugd", week="2025-W09", pairs=2, backtest=False)
    areas = plan.areas
    theme = demo[demo["category"] == "overlast_jeugd"]
    # Independently of plan_coverage: each W09 incident's area by point-in-polygon (hotspot parts
    # first, then its buurt), its shift from the wall clock, and whether W09's plan flagged it.
    utc = [pd.Timestamp(t).tz_convert("UTC") for t in theme["occurred_at"]]
    lo_w, hi_w = _wall_interval("00-24", dt.date(2025, 2, 24))[0], _wall_interval("00-24", dt.date(2025, 3, 2))[1]
    flagged = {(str(d), str(sh), str(a)) for d, sh, a in zip(prev.table["date"], prev.table["shift"], prev.table["area_id"])}
    hot = areas[areas["area_kind"] == "hotspot"]
    n = captured = 0
    for t, x, y, buurt in zip(utc, theme["x"], theme["y"], theme["buurt"]):
        if not (lo_w <= t < hi_w):
            continue
        n += 1
        pt = shapely.Point(float(x), float(y))
        inside = [a for a, g in zip(hot["area_id"], hot.geometry) if g.intersects(pt)]
        area = sorted(inside)[0] if inside else buurt
        for day in (t.tz_convert(TZ).date() - dt.timedelta(days=1), t.tz_convert(TZ).date()):
            for name in ("08-16", "16-24", "00-08"):
                lo, hi = _wall_interval(name, day)
                if lo <= t < hi and (day.isoformat(), name, str(area)) in flagged:
                    captured += 1
    assert n > 0
    assert (plan.coverage.n_incidents, plan.coverage.n_captured) == (n, captured)
    assert plan.coverage.hit_rate == pytest.approx(captured / n)
    assert (plan.coverage.start, plan.coverage.end) == (dt.date(2025, 2, 24), dt.date(2025, 3, 2))
    assert "2025-02-24" in plan.coverage_note


def test_the_demo_youth_plan_flags_the_planted_hotspots_on_friday_evening_and_beats_chance(demo):
    planted = {"BU06370002", "BU06370201", "BU06370600"}  # Stadscentrum, De Leyens, Oosterheem-Zuid-West
    plan = shift_plan(demo, "jeugd", week="2025-W20", pairs=3)
    friday = plan.table[(plan.table["weekday"] == 4) & (plan.table["shift"] == "16-24")]
    assert len(set(friday["area_id"]) & planted) >= 2
    scores = [shift_plan(demo, "jeugd", week=f"2025-W{w:02d}", pairs=3).coverage for w in (12, 24, 36, 48)]
    captured = sum(c.n_captured for c in scores)
    happened = sum(c.n_incidents for c in scores)
    share = np.mean([c.area_share for c in scores])
    assert captured / happened > 2 * share  # PAI well above 1


def test_a_plan_for_a_data_less_future_uses_last_year_and_says_why_it_has_no_backtest(demo):
    plan = shift_plan(demo, "inbraak", week="2026-W10", pairs=2)
    assert plan.method["recent_window"] is None
    assert plan.method["weights"]["last_year"] == 1.0
    assert plan.coverage is None and "2025-12-31" in plan.coverage_note


# ------------------------------------------------------------------------------- calendar


def test_a_plan_can_be_asked_for_new_years_eve_and_marks_the_jaarwisseling(demo):
    plan = shift_plan(demo, "alcohol", start="2025-12-31", pairs=2)
    assert (plan.start, plan.end) == (dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    labels = plan.table.drop_duplicates("shift").set_index("shift")["calendar"]
    assert labels["16-24"] == "Jaarwisseling" and labels["08-16"] == ""
    assert [m["kind"] for m in plan.holidays] == ["jaarwisseling"]
    new_year = shift_plan(demo, "alcohol", start="2026-01-01", pairs=1)
    labels = new_year.table.set_index("shift")["calendar"]
    assert labels["00-08"] == "Nieuwjaarsdag, Jaarwisseling" and labels["16-24"] == "Nieuwjaarsdag"


# -------------------------------------------------------------------------------- hotspots


def test_hotspot_polygons_become_areas_of_their_own_and_the_areas_partition_the_city():
    buurten = squares()
    hot = gpd.GeoDataFrame(
        {"id": [7], "naam": ["Winkelhart"]}, geometry=[shapely.box(X0 + 150, Y0, X0 + 250, Y0 + 50)], crs="EPSG:28992"
    )
    areas = build_areas(buurten, hot, name_column="naam")
    assert areas["area_id"].tolist() == ["hotspot-7", "A", "B", "C"]
    assert areas.set_index("area_id").loc["hotspot-7", "area_name"] == "Winkelhart"
    assert areas.set_index("area_id").loc["A", "area_name"] == "Buurt A (buiten hotspots)"
    assert areas["area_m2"].sum() == pytest.approx(40000)
    assert areas.set_index("area_id")["area_m2"].to_dict() == pytest.approx(
        {"hotspot-7": 5000, "A": 17500, "B": 7500, "C": 10000}
    )
    assert shapely.union_all(areas.geometry.values).area == pytest.approx(40000)
    # An incident in the hotspot goes to it, not to its buurt.
    df = pd.DataFrame({"x": [X0 + 190, X0 + 50], "y": [Y0 + 20, Y0 + 20], "buurt": ["A", "A"]})
    assert assign_areas(df, areas).tolist() == ["hotspot-7", "A"]
    # ... and the plan ranks it.
    rows = [(t, "A") for t in fridays("2025-01-10", 8)]
    inc = incidents(rows, buurten)
    inc["x"], inc["y"] = X0 + 190, Y0 + 20
    plan = shift_plan(inc, "jeugd", week="2025-W10", pairs=1, buurten=buurten, hotspots=hot, hotspot_name_column="naam")
    ev = plan.table[(plan.table["date"] == "2025-03-07") & (plan.table["shift"] == "16-24")].iloc[0]
    assert (ev["area_id"], ev["area_kind"], ev["statcode"]) == ("hotspot-7", "hotspot", "A")


def test_the_selected_area_of_a_plan_has_its_own_rhythm():
    buurten = squares()
    hot = gpd.GeoDataFrame({"id": [7]}, geometry=[shapely.box(X0 + 150, Y0, X0 + 250, Y0 + 50)], crs="EPSG:28992")
    areas = build_areas(buurten, hot)
    inc = incidents([("2025-03-07 21:15", "A"), ("2025-03-08 10:00", "A"), ("2025-03-08 11:00", "B")], buurten)
    inc.loc[0, ["x", "y"]] = X0 + 190, Y0 + 20  # the first one in the hotspot
    inc.loc[2, ["x", "y"]] = X0 + 250, Y0 + 80  # B, clear of the hotspot
    r = area_rhythm(inc, "jeugd", "hotspot-7", areas, "2025-03-01", "2025-03-31")
    assert (r.area, r.buurt, r.total) == ("hotspot-7", None, 1)
    assert np.array(r.counts)[4, 21] == 1
    rest = area_rhythm(inc, "jeugd", "A", areas)
    assert (rest.area, rest.buurt, rest.total) == ("A", "A", 1)
    assert rest.to_dict()["area"] == "A"
    with pytest.raises(NotFoundError, match="unknown area 'hotspot-8'"):
        area_rhythm(inc, "jeugd", "hotspot-8", areas)


def test_hotspots_in_another_crs_are_refused_not_reprojected():
    hot = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(4.4, 52.0, 4.5, 52.1)], crs="EPSG:4326")
    with pytest.raises(VeiligError, match="EPSG:28992"):
        build_areas(squares(), hot)


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"week": "2025-W10", "pairs": 4}, "pairs: 4 boa-koppels per dienst, maar er zijn maar 3 gebieden"),
        ({"week": "2025-W10", "pairs": 0}, "at least 1"),
        ({"week": "2025-W99"}, "geen ISO-week 99"),
        ({"start": "2025-03-09", "end": "2025-03-03"}, "omgedraaid"),
        ({"week": "2025-W10", "start": "2025-03-03"}, "either a week"),
        ({}, "give a week"),
        ({"week": "2025-W10", "shifts": "08-16,12-20"}, "overlap"),
        ({"week": "2025-W10", "theme": "verkeer"}, "onbekend thema 'verkeer'"),
        ({"week": "2025-W10", "theme": "inbraak"}, "no incidents of theme 'inbraak'"),
        ({"week": "2023-W10"}, "no history"),
    ],
)
def test_bad_requests_get_a_clear_answer(kwargs, message):
    buurten = squares()
    history = incidents([(t, "B") for t in fridays("2025-01-10", 8)], buurten)
    theme = kwargs.pop("theme", "jeugd")
    with pytest.raises(VeiligError, match=message):
        shift_plan(history, theme, buurten=buurten, **kwargs)


def test_no_incidents_at_all_is_a_clear_refusal():
    with pytest.raises(VeiligError, match="no incidents at all"):
        shift_plan(incidents([], squares()), "jeugd", week="2025-W10", buurten=squares())


# ------------------------------------------------------------------------- output, privacy


def test_the_plan_is_a_table_for_json_and_csv(demo):
    plan = shift_plan(demo, "jeugd", week="2025-W10", pairs=2)
    assert list(plan.table.columns) == PLAN_COLUMNS
    assert len(plan.table) == 7 * 3 * 2
    d = json.loads(json.dumps(plan.to_dict()))
    assert (d["theme"], d["week"], d["start"], d["end"]) == ("jeugd", "2025-W10", "2025-03-03", "2025-03-09")
    assert d["pairs"] == 2
    assert d["shifts"] == ["08-16", "16-24", "00-08"]
    assert set(d["coverage"]) == {"start", "end", "n_incidents", "n_captured", "hit_rate", "area_share", "pai"}
    assert d["plan"][0]["shift"] == "00-08" and d["plan"][0]["pair"] == 1
    back = pd.read_csv(io.StringIO(plan.to_csv()))
    assert list(back.columns) == PLAN_COLUMNS and len(back) == 42
    # Pairs within a shift go to different areas, best first.
    for _, g in plan.table.groupby(["date", "shift"]):
        assert g["area_id"].is_unique and g["expected"].is_monotonic_decreasing


def test_planners_see_no_small_counts_in_the_backtest():
    buurten = squares()
    rows = [(t, "B") for t in fridays("2025-01-10", 9)]  # one incident in the previous week (W09)
    plan = shift_plan(incidents(rows, buurten), "jeugd", week="2025-W10", pairs=1, buurten=buurten)
    assert plan.coverage.n_incidents == 1
    hidden = suppress_small_counts(plan)
    assert hidden.coverage.n_incidents is None and hidden.coverage.n_captured is None
    assert hidden.coverage.hit_rate is None and hidden.coverage.pai is None
    assert hidden.to_dict()["suppressed_below"] == 5
    pd.testing.assert_frame_equal(hidden.table, plan.table)


# ---------------------------------------------------------------------------------- invariant

def _wall_interval(name: str, day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A shift "HH-HH" on ``day`` as real instants, from the wall clock with zoneinfo (not the
    product's Shift.interval): a start in the spring gap is the instant the clock jumps, an
    ambiguous autumn hour the first one (fold 0); end 24 is the next midnight; an end before
    the start is on the next day."""
    from zoneinfo import ZoneInfo

    ams = ZoneInfo("Europe/Amsterdam")
    a, b = (int(h) for h in name.split("-"))
    start = dt.datetime.combine(day, dt.time(a), tzinfo=ams)
    if b == 24:
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=ams)
    else:
        end = dt.datetime.combine(day + dt.timedelta(days=1 if b < a else 0), dt.time(b), tzinfo=ams)
    utc = dt.timezone.utc
    return pd.Timestamp(start.astimezone(utc)), pd.Timestamp(end.astimezone(utc))


_SHIFT_SETS = ["08-16,16-24,00-08", "00-12,12-24", "22-06,06-14,14-22", "02-10,10-18"]
_FIRST_DAYS = [dt.date(2025, 3, 29), dt.date(2025, 10, 25), dt.date(2025, 6, 3)]


@settings(max_examples=60, deadline=None)
@given(
    shift_spec=st.sampled_from(_SHIFT_SETS),
    first=st.sampled_from(_FIRST_DAYS),
    n_days=st.integers(1, 3),
    events=st.lists(st.tuples(st.integers(0, 5 * 86400 - 1), st.sampled_from("ABC")), max_size=30),
    flags=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.sampled_from("ABC")), max_size=12),
)
def test_coverage_counts_an_incident_as_captured_exactly_when_its_area_was_flagged_at_that_moment(
    shift_spec, first, n_days, events, flags
):
    buurten = squares()
    areas = build_areas(buurten)
    shifts = parse_shifts(shift_spec)
    period = cal.Period(first, first + dt.timedelta(days=n_days - 1))
    origin = period.start_ts - pd.Timedelta(days=1)
    # Real (UTC-based) instants from a day before the period to a day or more after it.
    times = [(origin.tz_convert("UTC") + pd.Timedelta(seconds=s)).tz_convert(TZ) for s, _ in events]
    inc = pd.DataFrame(
        {
            "occurred_at": pd.DatetimeIndex(times, tz=TZ) if times else pd.DatetimeIndex([], tz=TZ),
            "category": "overlast_jeugd",
            "buurt": [a for _, a in events],
        }
    )
    plan_rows = [
        ((first + dt.timedelta(days=d)).isoformat(), shifts[i % len(shifts)].name, a)
        for d, i, a in flags
        if d < n_days
    ]
    plan = pd.DataFrame(plan_rows, columns=["date", "shift", "area_id"])
    cov = plan_coverage(plan, inc, areas, period, shifts)

    # Brute force: the shift instance whose real interval holds the moment.
    flagged = {(dt.date.fromisoformat(d), s, a) for d, s, a in plan_rows}
    n = captured = 0
    for t, (_, area) in zip(times, events):
        if not (period.start_ts <= t < period.end_ts):
            continue
        n += 1
        for day in (t.date() - dt.timedelta(days=1), t.date()):
            for s in shifts:
                lo, hi = _wall_interval(s.name, day)
                if lo <= t < hi and (day, s.name, area) in flagged:
                    captured += 1
    assert (cov.n_incidents, cov.n_captured) == (n, captured)
    assert 0 <= cov.area_share <= 1
    if n:
        assert cov.hit_rate == pytest.approx(captured / n)
