"""Programma 5 in cijfers: the register (seed, history, audit), the police open-data import, computed
indicators against a direct count, the running-year projection's coverage, and the HTTP routes.

Storage tests run on SQLite and PostgreSQL (the ``db``/``db_url`` fixtures).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text

from helpers import run_cli
from veilig.dates import today_local
from veilig.indicators import computed as comp
from veilig.indicators.policedata import read_police_csv
from veilig.indicators.projection import project_total, running_year
from veilig.indicators.rules import MET, NOT_MET, UNKNOWN, evaluate, evaluate_interval
from veilig.indicators.seed import SEED_SOURCE
from veilig.storage import indicators_repo as repo
from veilig.storage.auth import Principal, read_audit

ADMIN = Principal(id=1, name="beheerder-test", role="admin")
BUURTEN = {"BU06370001", "BU06370002", "BU06370003", "BU06370100"}

#: The budget's figures, exactly as the issue lists them: code -> (source, realisations, norms).
SEED_FIGURES = {
    "woninginbraken": ("Politie", {"2024": 89}, {"2026": 180, "2027": 180, "2028": 180, "2029": 180}),
    "rapportcijfer_buurt": ("Stadspeiling", {"2024": 8.0}, {"2026": 7.5, "2027": 7.5, "2028": 7.5, "2029": 7.5}),
    "rapportcijfer_stad": ("Stadspeiling", {"2024": 7.60}, {"2026": 7.40, "2027": 7.40, "2028": 7.40, "2029": 7.40}),
}
EFFECT_CODES = {"recidive_huiselijk_geweld", "overlast_onbegrepen_gedrag", "ipta_succesvol", "pga_justitiecontact",
                "meldingen_ondermijning", "oplossing_ondermijning", "meldingen_extremisme", "afgeschaalde_pga_emo",
                "digitale_criminaliteit"}


# ----------------------------------------------------------------------------- pure: rules


def test_rules_follow_the_budgets_directions():
    assert evaluate(150, direction="lower", norm=180).status == MET
    assert evaluate(180, direction="lower", norm=180).status == MET  # "norm 180" means at most 180
    assert evaluate(181, direction="lower", norm=180).status == NOT_MET
    assert evaluate(7.4, direction="higher", norm=7.5).status == NOT_MET
    assert evaluate(12, direction="ge_previous", previous=12).status == MET
    assert evaluate(11, direction="ge_previous", previous=12).status == NOT_MET
    assert evaluate(20, direction="gt", threshold=20).status == NOT_MET  # "above 20 %" is strict
    assert evaluate(20.5, direction="gt", threshold=20).status == MET
    assert evaluate(10, direction="lower", norm=None).status == UNKNOWN
    assert evaluate_interval(120, 170, direction="lower", norm=180).status == MET
    assert evaluate_interval(170, 190, direction="lower", norm=180).status == UNKNOWN
    assert evaluate_interval(181, 200, direction="lower", norm=180).status == NOT_MET


# ----------------------------------------------------------------------------- pure: projection


def test_projection_interval_holds_its_level_under_a_poisson_year():
    """Known share: the 90 % prediction interval covers the year total in ~90 % of Poisson years."""
    rng = np.random.default_rng(20261201)
    hits, runs = 0, 2000
    for _ in range(runs):
        rate = rng.uniform(40, 200)
        share = rng.uniform(0.1, 0.9)
        so_far = rng.poisson(rate * share)
        total = so_far + rng.poisson(rate * (1 - share))
        _, low, high = project_total(int(so_far), share, level=0.90)
        hits += low <= total <= high
    assert 0.87 <= hits / runs <= 0.95, hits / runs


def test_seasonal_projection_from_previous_years_covers_the_seasonal_year():
    """Burglary-like seasonality (winter peak): the seasonal share, estimated from three earlier years,
    keeps the interval near its level; the uniform share would be biased on this shape."""
    rng = np.random.default_rng(7)
    days = np.arange(365)
    shape = 1 + 0.6 * np.cos(2 * np.pi * days / 365)  # peak in January and December
    shape = shape / shape.sum()
    as_of = date(2026, 5, 31)
    hits, runs, uniform_errs, seasonal_errs = 0, 400, [], []
    for _ in range(runs):
        rate = rng.uniform(80, 180)
        dates = []
        for year in (2023, 2024, 2025, 2026):
            counts = rng.poisson(rate * shape)
            start = np.datetime64(f"{year}-01-01")
            dates.append(np.repeat(start + days.astype("timedelta64[D]"), counts))
        all_dates = np.concatenate(dates)
        total_2026 = int(((all_dates >= np.datetime64("2026-01-01")) & (all_dates < np.datetime64("2027-01-01"))).sum())
        proj = running_year(all_dates, as_of, level=0.90, data_start=date(2023, 1, 1))
        assert proj.method == "seasonal" and proj.previous_years == (2025, 2024, 2023)
        hits += proj.low <= total_2026 <= proj.high
        seasonal_errs.append(proj.point - total_2026)
        uniform_errs.append(proj.count_so_far / ((as_of - date(2026, 1, 1)).days + 1) * 365 - total_2026)
    assert 0.85 <= hits / runs <= 0.96, hits / runs
    assert abs(np.mean(seasonal_errs)) < abs(np.mean(uniform_errs)) / 3


def test_running_year_counts_the_same_period_last_year():
    dates = np.array(["2025-01-05", "2025-03-01", "2025-03-02", "2025-07-01", "2026-01-02", "2026-02-28"],
                     dtype="datetime64[D]")
    proj = running_year(dates, date(2026, 3, 1))
    assert proj.count_so_far == 2
    # The data start on 5 January 2025: last year is not covered whole, so no comparison and no season.
    assert proj.same_period_last_year is None and proj.method == "uniform"
    proj = running_year(dates, date(2026, 3, 1), data_start=date(2025, 1, 1))
    assert proj.same_period_last_year == 2  # 5 January and 1 March 2025, not 2 March
    assert proj.method == "seasonal" and proj.previous_years == (2025,)
    assert proj.share_elapsed == pytest.approx(2 / 4)


# ----------------------------------------------------------------------------- pure: police file


POLICE_HEADER = "ID;SoortMisdrijf;WijkenEnBuurten;Perioden;GeregistreerdeMisdrijven_1\n"


def _police_file(rows: list[str]) -> str:
    return POLICE_HEADER + "".join(r + "\n" for r in rows)


def test_police_file_keeps_our_rows_counts_the_others_and_names_each_bad_row():
    text = _police_file([
        '1;"1.1.1   ";"BU06370001  ";2024MM01;3',
        '2;"1.1.2   ";"BU06370001  ";2024MM01;1',
        '3;"1.1.1   ";"GM0637    ";2024MM01;12',
        '4;"1.1.1   ";"BU07580101  ";2024MM01;5',  # Breda: ignored, counted
        '5;"1.1.1   ";"GM0758    ";2024MM01;40',  # Breda: ignored, counted
        '6;"1.2.3   ";"BU06370001  ";2024MM01;9',  # bicycle theft: not in the code table
        '7;"1.1.1   ";"BU06370001  ";2024M01;2',  # malformed period
        '8;"1.1.1   ";"BU06370002  ";2024MM02;drie',  # malformed count
        '9;"1.1.1   ";"BU06379999  ";2024MM02;1',  # our municipality, unknown buurt
    ])
    read = read_police_csv(text, "politie.csv", known_buurten=BUURTEN)
    assert read.n_rows == 9
    assert read.other_municipality == 2 and read.other_type == 1
    assert [(e.row, e.field) for e in read.errors] == [(7, "Perioden"), (8, "GeregistreerdeMisdrijven_1"),
                                                       (9, "WijkenEnBuurten")]
    assert "politie.csv, rij 7, veld Perioden" in str(read.errors[0])
    assert sorted(read.rows["region_code"]) == ["BU06370001", "BU06370001", "GM0637"]


def test_police_file_column_names_and_code_table_are_configurable():
    from veilig.indicators.policedata import PoliceColumns

    text = "regio,maand,soort,aantal\nBU06370003,2025MM03,1.1.1 Diefstal/inbraak woning,4\n"
    read = read_police_csv(text, "x.csv", known_buurten=BUURTEN, columns=PoliceColumns("regio", "maand", "soort", "aantal"),
                           codes={"1.1.1": "woninginbraak"})
    assert read.errors == [] and read.rows.iloc[0]["count"] == 4 and read.rows.iloc[0]["month"] == 3
    missing = read_police_csv(text, "x.csv", known_buurten=BUURTEN)
    assert missing.errors and missing.errors[0].row == 0 and "WijkenEnBuurten" in missing.errors[0].field


def test_a_single_hidden_buurt_is_never_left_alone_beside_the_city_total():
    from veilig.geo.privacy import hide_small_counts

    table = pd.DataFrame({"statcode": ["A", "B", "C", "D"] * 3, "year": [2024] * 4 + [2025] * 4 + [2026] * 4,
                          "n_incidents": [3, 10, 7, 0, 0, 0, 2, 0, 6, 7, 8, 9]})
    out = comp.protect_group_totals(hide_small_counts(table), by="year")
    hidden = out.groupby("year")["n_incidents"].apply(lambda s: int(s.isna().sum())).to_dict()
    assert hidden == {2024: 2, 2025: 2, 2026: 0}
    # The smallest other positive count is the one hidden with it; only zeros left: a zero.
    assert out.loc[(out.year == 2024) & (out.statcode == "C"), "n_incidents"].isna().all()
    assert list(out.loc[out.year == 2026, "n_incidents"]) == [6, 7, 8, 9]


# ----------------------------------------------------------------------------- storage (both databases)


def test_seed_figures_come_back_exactly_with_their_source(db):
    records = {r.code: r for r in repo.list_indicators(db)}
    assert set(SEED_FIGURES) | EFFECT_CODES == set(records)
    for code, (source, real, norms) in SEED_FIGURES.items():
        rec = records[code]
        assert rec.source == source
        assert {str(y): v for y, v in rec.realisations.items()} == real
        assert {str(y): v for y, v in rec.norms.items()} == norms
        assert set(rec.value_sources.values()) == {SEED_SOURCE}
    for code in EFFECT_CODES:
        assert records[code].baseline == "2025/2026" and records[code].norms == {}
    assert records["oplossing_ondermijning"].direction == "gt" and records["oplossing_ondermijning"].threshold == 20
    assert records["meldingen_ondermijning"].direction == "ge_previous"
    assert records["digitale_criminaliteit"].direction == "lower"


def test_recording_a_realisation_is_audited_and_keeps_the_earlier_value(db):
    assert repo.record_value(db, ADMIN, "woninginbraken", 2024, "realisation", 91, "herziene politiecijfers") == (89.0, 91.0)
    assert repo.get_indicator(db, "woninginbraken").realisations[2024] == 91
    rows = [h for h in repo.history(db, "woninginbraken") if h.year == 2024 and h.kind == "realisation"]
    assert [(h.value, h.recorded_by) for h in rows] == [(89.0, "seed"), (91.0, "beheerder-test")]
    entry = next(a for a in read_audit(db) if a["action"] == "indicator.realisation")
    assert entry["user_name"] == "beheerder-test" and entry["target"] == "woninginbraken/2024"
    assert json.loads(entry["detail"])["old"] == 89.0 and json.loads(entry["detail"])["new"] == 91.0
    assert entry["at"] is not None
    # The database itself refuses to overwrite or delete history.
    with pytest.raises(Exception):
        with db.write() as conn:
            conn.execute(text("UPDATE indicator_values SET value = 1"))
    with pytest.raises(Exception):
        with db.write() as conn:
            conn.execute(text("DELETE FROM indicator_values"))
    assert len(repo.history(db, "woninginbraken")) == 6


def test_a_refused_value_leaves_no_row_and_no_audit_entry(db):
    from veilig.errors import VeiligError

    before = len(repo.history(db))
    for code, year, value in (("rapportcijfer_buurt", 2025, 11), ("woninginbraken", 2025, -1),
                              ("woninginbraken", 2025, 1.5), ("oplossing_ondermijning", 2025, 120),
                              ("woninginbraken", 1800, 3), ("woninginbraken", 2025, float("nan"))):
        with pytest.raises(VeiligError):
            repo.record_value(db, ADMIN, code, year, "realisation", value)
    assert len(repo.history(db)) == before
    assert not [a for a in read_audit(db) if a["action"].startswith("indicator.")]


def _incidents_frame(seed: int) -> pd.DataFrame:
    from veilig.geo.demo import generate_incidents
    from veilig.geo.neighbourhoods import assign_buurt

    df = generate_incidents(seed, 4000, date(2024, 1, 1), date(2025, 12, 31))
    # Around the turn of the year: 00:30 local on 1 January 2025 is still 2024 in UTC.
    x, y = float(df["x"].iloc[0]), float(df["y"].iloc[0])
    extra = pd.DataFrame({
        "id": ["NY-1", "NY-2", "NY-3"],
        "occurred_at": pd.to_datetime(["2025-01-01T00:30:00+01:00", "2024-12-31T23:59:00+01:00",
                                       "2024-01-01T00:10:00+01:00"], utc=True),
        "category": ["woninginbraak", "woninginbraak", "inbraak_schuur"], "x": [x] * 3, "y": [y] * 3,
        "source": ["test"] * 3, "description": [None] * 3})
    df = pd.concat([df, extra], ignore_index=True)
    codes, _ = assign_buurt(df["x"].to_numpy(), df["y"].to_numpy())
    return df.rename(columns={"id": "ext_id"}).assign(buurt=codes.astype(str), row=range(1, len(df) + 1))


def _store(db, frame):
    from veilig.geo.io import ReadResult
    from veilig.storage.incidents import store_incidents

    frame = frame.copy()
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    store_incidents(db, ReadResult(file="test", n_rows=len(frame), valid=frame))


def _direct_count(db, category: str, year: int, buurt: str | None = None) -> int:
    from zoneinfo import ZoneInfo

    from veilig.storage.models import Incident

    ams = ZoneInfo("Europe/Amsterdam")
    lo = datetime(year, 1, 1, tzinfo=ams).astimezone(timezone.utc)
    hi = datetime(year + 1, 1, 1, tzinfo=ams).astimezone(timezone.utc)
    q = select(func.count()).select_from(Incident).where(Incident.category == category, Incident.occurred_at >= lo,
                                                         Incident.occurred_at < hi)
    if buurt is not None:
        q = q.where(Incident.buurt == buurt)
    with db.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def test_computed_yearly_burglaries_equal_a_direct_count(db):
    from veilig.api import dashboardview

    _store(db, _incidents_frame(3))
    ctx = dashboardview.build(db, "analyst", date(2026, 1, 15))
    series = {c.key: c for c in ctx["computed"]}
    for key in ("woninginbraak", "inbraak_schuur"):
        assert set(series[key].incidents) == {2024, 2025}
        for year in (2024, 2025):
            assert series[key].incidents[year] == _direct_count(db, key, year), (key, year)
    # The turn of the year counts by local time: the 00:30 burglary of 1 January 2025 is a 2025 one.
    assert series["woninginbraak"].incidents[2025] >= 1
    # Per buurt (small multiples) too, for every buurt and year.
    panels = {p["code"]: p["values"] for p in ctx["multiples"]["panels"]}
    for code in ("BU06370001", "BU06370200", "BU06370601"):
        for year in (2024, 2025):
            direct = _direct_count(db, "woninginbraak", year, code) + _direct_count(db, "inbraak_schuur", year, code)
            assert panels[code][year] == direct
    # Synthetic (demo) data are labelled as such.
    assert ctx["synthetic"] is True


def test_non_analysts_get_no_count_below_five_and_no_single_hidden_buurt(db):
    from veilig.api import dashboardview

    _store(db, _incidents_frame(3))
    ctx = dashboardview.build(db, "planner", date(2026, 1, 15))
    hidden_per_year: dict[int, int] = {}
    for panel in ctx["multiples"]["panels"]:
        for year, v in panel["values"].items():
            assert v is None or v == 0 or v >= 5, (panel["code"], year, v)
            hidden_per_year[year] = hidden_per_year.get(year, 0) + (v is None)
    assert any(hidden_per_year.values())
    assert all(n != 1 for n in hidden_per_year.values()), hidden_per_year
    for c in ctx["computed"]:
        assert all(v is None or v == 0 or v >= 5 for v in c.incidents.values())


def test_police_import_is_all_or_nothing_and_feeds_the_yearly_count(db):
    from veilig.errors import VeiligError

    bad = read_police_csv(_police_file(['1;1.1.1;BU06370001;2024MM01;3', '2;1.1.1;BU06370001;2024MMXX;3']),
                          "bad.csv", known_buurten=BUURTEN)
    with pytest.raises(VeiligError):
        repo.store_police(db, ADMIN, bad)
    assert repo.police_counts(db).empty and repo.police_imports(db) == []
    rows = [f"{i};1.1.1;BU0637000{1 + i // 12};2024MM{1 + i % 12:02d};{i % 4}" for i in range(24)]
    good = read_police_csv(_police_file(rows + ['99;1.1.1;GM0758;2024MM01;50']), "good.csv", known_buurten=BUURTEN)
    rep = repo.store_police(db, ADMIN, good)
    assert rep.rows_stored == 24 and rep.rows_other_municipality == 1
    counts = repo.police_counts(db)
    totals, months = comp.police_yearly(counts, ("woninginbraak",))
    assert totals == {2024: sum(i % 4 for i in range(24))} and months == {2024: 12}
    # A later import of a month supersedes it; the earlier rows stay.
    fix = read_police_csv(_police_file(["1;1.1.1;BU06370002;2024MM02;40"]), "fix.csv", known_buurten=BUURTEN)
    repo.store_police(db, ADMIN, fix)
    totals2, _ = comp.police_yearly(repo.police_counts(db), ("woninginbraak",))
    assert totals2[2024] == totals[2024] - 1 + 40
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM police_counts")).scalar_one() == 25


# ----------------------------------------------------------------------------- CLI (both databases)


def test_cli_import_misdrijven_reports_rows_and_writes_nothing_on_error(db_url, tmp_path):
    env = {"VEILIG_DATABASE_URL": db_url, "VEILIG_DATA_DIR": str(tmp_path)}
    f = tmp_path / "47018NED.csv"
    f.write_text(_police_file([
        '1;"1.1.1   ";"BU06370001  ";2024MM01;3',
        '2;"1.1.1   ";"BU07580101  ";2024MM01;5',
        '3;"1.1.1   ";"GM0758    ";2024MM01;7',
        '4;"1.1.2   ";"WK063700  ";2024MM01;2',
        '5;"1.1.1   ";"BU06370002  ";2024MM13;1',
    ]), encoding="utf-8")
    report = tmp_path / "refused.csv"
    proc = run_cli("import", "misdrijven", str(f), "--report", str(report), env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "geweigerd, niets geïmporteerd" in proc.stderr
    assert "47018NED.csv, rij 5, veld Perioden" in proc.stderr
    assert "2 van andere gemeenten genegeerd" in proc.stderr
    assert "row,field" in report.read_text() and ",5,Perioden," in report.read_text()
    from veilig.storage import open_database

    database = open_database(db_url)
    try:
        assert repo.police_counts(database).empty and repo.police_imports(database) == []
    finally:
        database.dispose()
    f.write_text(_police_file(['1;"1.1.1   ";"BU06370001  ";2024MM01;3', '2;"1.1.1   ";"GM0758    ";2024MM01;7',
                               '4;"1.1.2   ";"WK063700  ";2024MM01;2']), encoding="utf-8")
    proc = run_cli("import", "misdrijven", str(f), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "2 van GM0637" in proc.stdout and "1 van andere gemeenten genegeerd" in proc.stdout
    proc = run_cli("indicators", "set", "woninginbraken", "2025", "112", env=env)
    assert proc.returncode == 0 and "was: geen" in proc.stdout, proc.stderr
    proc = run_cli("indicators", "norm", "rapportcijfer_buurt", "2030", "7,5", env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("indicators", "set", "rapportcijfer_buurt", "2025", "elf", env=env)
    assert proc.returncode == 2 and "geen getal" in proc.stderr and "Traceback" not in proc.stderr
    database = open_database(db_url)
    try:
        assert repo.get_indicator(database, "rapportcijfer_buurt").norms[2030] == 7.5
        assert any(a["action"] == "indicator.norm" and a["user_name"].startswith("cli:") for a in read_audit(database))
    finally:
        database.dispose()


# ----------------------------------------------------------------------------- HTTP (both databases)


@pytest.fixture
def client(db_url, tmp_path):
    from fastapi.testclient import TestClient

    from veilig.api.app import create_app
    from veilig.settings import Settings
    from veilig.storage.auth import add_user

    app = create_app(Settings(database_url=db_url, data_dir=tmp_path, tiles_enabled=False), load_demo=False)
    with TestClient(app) as c:
        tokens = {r: add_user(app.state.db, f"{r}-ind", r) for r in ("analyst", "planner", "subsidy", "admin")}
        yield c, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}, app


def test_api_returns_the_seed_figures_exactly(client):
    c, h, _ = client
    for role in h:
        r = c.get("/api/v1/indicators", headers=h[role])
        assert r.status_code == 200
        by_code = {i["code"]: i for i in r.json()}
        for code, (source, real, norms) in SEED_FIGURES.items():
            i = by_code[code]
            assert (i["source"], i["realisations"], i["norms"]) == (source, real, norms)
            assert i["value_sources"]["realisation"]["2024"] == SEED_SOURCE
            assert set(i) >= {"code", "name", "goal", "source", "unit", "direction", "realisations", "norms"}
        assert by_code["woninginbraken"]["goal"] == "5.1" and isinstance(by_code["woninginbraken"]["realisations"]["2024"], int)
        assert EFFECT_CODES <= set(by_code)
    csv = c.get("/api/v1/indicators.csv", headers=h["planner"])
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "woninginbraken,Aantal woninginbraken per jaar,5.1,Politie,aantal per jaar,lager is beter,2024,realisatie,89," in csv.text
    assert ",2026,norm,7.5," in csv.text
    assert c.get("/api/v1/indicators").status_code == 401


def test_only_admins_record_values_over_http_and_the_history_keeps_both(client):
    c, h, app = client
    body = {"year": 2025, "value": 7.9, "note": "Stadspeiling 2025"}
    for role in ("analyst", "planner", "subsidy"):
        assert c.post("/api/v1/indicators/rapportcijfer_buurt/realisations", headers=h[role], json=body).status_code == 403
    r = c.post("/api/v1/indicators/rapportcijfer_buurt/realisations", headers=h["admin"], json=body)
    assert r.status_code == 201, r.text
    assert r.json()["old_value"] is None and r.json()["indicator"]["realisations"] == {"2024": 8.0, "2025": 7.9}
    r = c.post("/api/v1/indicators/rapportcijfer_buurt/realisations", headers=h["admin"], json={"year": 2025, "value": 7.8})
    assert r.json()["old_value"] == 7.9
    hist = c.get("/api/v1/indicators/rapportcijfer_buurt/history", headers=h["admin"]).json()
    assert [x["value"] for x in hist if x["year"] == 2025] == [7.9, 7.8]
    r = c.post("/api/v1/indicators/rapportcijfer_buurt/norms", headers=h["admin"], json={"year": 2030, "value": 7.6})
    assert r.status_code == 201 and r.json()["indicator"]["norms"]["2030"] == 7.6
    assert c.post("/api/v1/indicators/bestaat_niet/norms", headers=h["admin"], json=body).status_code == 404
    bad = c.post("/api/v1/indicators/rapportcijfer_buurt/norms", headers=h["admin"], json={"year": 2030, "value": 12})
    assert bad.status_code == 400 and "rapportcijfer" in bad.json()["detail"]
    assert c.post("/api/v1/indicators/rapportcijfer_buurt/norms", headers=h["admin"], json={"year": "x"}).status_code == 422
    audits = c.get("/api/v1/audit", headers=h["admin"]).json()
    assert [json.loads(a["detail"])["new"] for a in audits if a["action"].startswith("indicator.")] == [7.6, 7.8, 7.9]


def test_dashboard_answers_every_role_with_the_register(client):
    c, h, app = client
    _store(app.state.db, _incidents_frame(3))
    for role in h:
        r = c.get("/dashboard", headers=h[role])
        assert r.status_code == 200, (role, r.text[:300])
        assert "Aantal woninginbraken per jaar" in r.text and "<svg" in r.text
        assert ("Budgetverloop" in r.text) == (role in ("subsidy", "admin"))
        assert ("Drugsincidenten" in r.text) == (role in ("analyst", "planner"))


def test_burn_down_says_clearly_when_the_budget_lasts_beyond_the_pilot(client):
    c, h, _ = client
    opens, closes = today_local() - timedelta(days=30), today_local() + timedelta(days=60)
    r = c.post("/api/v1/subsidy/pilots", headers=h["admin"], json={
        "name": "Hang- en sluitwerk 2026", "budget_cents": 10_000_000, "opens_on": opens.isoformat(),
        "closes_on": closes.isoformat()})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/subsidy/applications", headers=h["subsidy"], json={
        "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": 1, "buurt": "BU06370002",
        "object_type": "woning", "invoice_amount_cents": 40_000, "invoice_date": (opens + timedelta(days=1)).isoformat(),
        "products": ["SKG*** cilinderslot"], "iban": "NL91ABNA0417164300"})
    assert r.status_code == 201, r.text
    budget = c.get("/api/v1/subsidy/budget", headers=h["admin"]).json()
    assert date.fromisoformat(budget["projected_exhaustion_date"]) > closes
    for role in ("subsidy", "admin"):
        page = c.get("/dashboard", headers=h[role]).text
        assert "na de sluiting van de pilot" in page and "Naar verwachting blijft er" in page
        assert "Budgetverloop" in page and "Prognose bij het huidige tempo" in page


def test_police_figures_feed_the_dashboard_when_there_are_no_incidents(client):
    c, h, app = client
    rows = [f"{m}{b};1.1.1;BU0637000{b};2024MM{m:02d};{5 + b}" for m in range(1, 13) for b in (1, 2, 3)]
    rows += [f"9{m};3.7.4;GM0637;2024MM{m:02d};{10 + m}" for m in range(1, 13)]
    read = read_police_csv(_police_file(rows), "politie.csv", known_buurten=BUURTEN)
    assert read.errors == []
    repo.store_police(app.state.db, ADMIN, read)
    page = c.get("/dashboard", headers=h["planner"]).text
    assert "Bron: politie open data (CBS 47018NED)" in page
    expected = sum(5 + b for b in (1, 2, 3)) * 12
    assert f'<td class="num">{expected}</td>' in page  # the 2024 police total beside the register
    assert "Cybercrime (politiecijfers)" in page and f'<td class="num">{sum(10 + m for m in range(1, 13))}</td>' in page
    assert "synthetisch" not in page.split("</h1>", 1)[1].split("<h2", 1)[0]  # no demo data, no label
