"""The data behind ``GET /dashboard``: the register beside the computed figures, the running year
against the norm, burglary per buurt, and the pilot's budget burn-down. Thin: the statistics live
in veilig.indicators; suppression goes through veilig.geo.privacy.

Who sees what (BRIEF section 6): analysts everything, unsuppressed, up to yesterday; planners every
series; the subsidy desk and admins the burglary series only (no drug-crime data) and the budget
burn-down. Outside the analyst role counts below the threshold are hidden (and what derives from
them: a projection, a difference), buurt tables get complementary suppression against the shown
city totals, and the running year ends on the last complete month, so that two visits on
consecutive days cannot be differenced into one day's count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from veilig.geo.privacy import hide_small_counts
from veilig.indicators import computed as comp
from veilig.indicators.projection import running_year
from veilig.indicators.rules import UNKNOWN, evaluate, evaluate_interval, format_number
from veilig.indicators.seed import DIRECTIONS, GOALS
from veilig.storage import Database
from veilig.storage import indicators_repo as repo
from veilig.web.charts import NORM_COLOUR, Line, line_chart, sparkline

DEMO_SOURCE = "demo"
SERIES_FOR_ROLE = {
    "analyst": tuple(s.key for s in comp.SERIES),
    "planner": tuple(s.key for s in comp.SERIES),
    "subsidy": comp.BURGLARY,
    "admin": comp.BURGLARY,
}


def cutoff(role: str, today: date) -> date:
    """Last day counted: yesterday for analysts, the end of the last complete month for others."""
    if role == "analyst":
        return today - timedelta(days=1)
    return today.replace(day=1) - timedelta(days=1)


@dataclass
class Computed:
    key: str
    label: str
    incidents: dict[int, int | None] = field(default_factory=dict)
    police: dict[int, int | None] = field(default_factory=dict)
    police_months: dict[int, int] = field(default_factory=dict)
    synthetic: bool = False


def _hide(values: dict[int, int], analyst: bool, threshold: int) -> dict[int, int | None]:
    if analyst or not values:
        return dict(values)
    frame = pd.DataFrame({"year": list(values), "n_incidents": list(values.values())})
    hidden = hide_small_counts(frame, threshold)
    return {int(y): (None if pd.isna(v) else int(v)) for y, v in zip(hidden["year"], hidden["n_incidents"])}


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "verborgen"
    if unit.startswith("rapportcijfer"):  # a rating keeps its decimal: 8,0 and 7,6, as the budget writes them
        return f"{v:.2f}".rstrip("0").replace(".", ",") if round(v, 1) != v else f"{v:.1f}".replace(".", ",")
    return format_number(v)


def build(db: Database, role: str, today: date, threshold: int = 5) -> dict[str, Any]:
    from veilig.geo.neighbourhoods import load_buurten
    from veilig.storage.incidents import incident_span, load_incidents

    analyst = role == "analyst"
    as_of = cutoff(role, today)
    keys = SERIES_FOR_ROLE.get(role, ())
    cats = sorted({c for k in keys for c in comp.SERIES_BY_KEY[k].categories})
    incidents = load_incidents(db, categories=cats, end=as_of) if cats else pd.DataFrame(
        columns=["occurred_at", "category", "buurt", "source"])
    police = repo.police_counts(db)
    police = police[(police["year"] < as_of.year) | ((police["year"] == as_of.year) & (police["month"] <= as_of.month))] \
        if len(police) else police

    # A year the incident data do not cover from 1 January is no yearly figure: left out, and said so.
    span = incident_span(db)
    first_year = None if span is None else (span[0].year if span[0] == date(span[0].year, 1, 1) else span[0].year + 1)
    computed: dict[str, Computed] = {}
    for key in keys:
        s = comp.SERIES_BY_KEY[key]
        sel = incidents[incidents["category"].isin(s.categories)]
        ptot, pmonths = comp.police_yearly(police, s.categories) if len(police) else ({}, {})
        # Outside the analyst role the running year shows only in its own section (city level, with
        # the check below): per buurt or in the yearly table, month-on-month visits would difference
        # into one month's small counts.
        last_year = as_of.year if analyst else as_of.year - 1
        yearly = {y: n for y, n in comp.yearly_counts(incidents, s.categories).items()
                  if first_year is not None and first_year <= y <= last_year}
        ptot = {y: n for y, n in ptot.items() if y <= last_year}
        computed[key] = Computed(key, s.label, _hide(yearly, analyst, threshold),
                                 _hide(ptot, analyst, threshold), pmonths,
                                 synthetic=bool((sel["source"] == DEMO_SOURCE).any()))
    synthetic = any(c.synthetic for c in computed.values())

    records = repo.list_indicators(db)
    cards = [_card(rec, computed.get(rec.computed_key or ""), as_of) for rec in records]
    goals = [(g, GOALS[g], [c for c in cards if c["goal"] == g]) for g in GOALS]

    running = []
    norms = {rec.computed_key: rec for rec in records if rec.computed_key}
    for key in keys:
        s = comp.SERIES_BY_KEY[key]
        sel = incidents[incidents["category"].isin(s.categories)]
        if sel.empty:
            continue
        proj = running_year(comp.local_dates(sel["occurred_at"]), as_of, data_start=span[0] if span else None)
        rec = norms.get(key)
        norm = rec.norms.get(proj.year) if rec else None
        shown = _hide({0: proj.count_so_far, 1: proj.same_period_last_year or 0}, analyst, threshold)
        if not analyst:
            # Differences that would give a small count back: this year's total minus last month's
            # visit (the latest month alone), and last year's total minus its same period.
            dates = comp.local_dates(sel["occurred_at"])
            month_start = np.datetime64(as_of.replace(day=1))
            last_month = int(((dates >= month_start) & (dates <= np.datetime64(as_of))).sum())
            if as_of.month > 1 and 0 < last_month < threshold:
                shown[0] = None
            prev_total = computed[key].incidents.get(proj.year - 1)
            if proj.same_period_last_year is not None and prev_total is not None \
                    and 0 < prev_total - proj.same_period_last_year < threshold:
                shown[1] = None
        hidden = shown[0] is None
        verdict = evaluate_interval(proj.low, proj.high, direction=rec.direction, norm=norm) if rec and not hidden else None
        running.append({
            "label": s.label, "year": proj.year, "as_of": as_of, "count": shown[0],
            "last_year": None if proj.same_period_last_year is None else shown[1],
            "has_last_year": proj.same_period_last_year is not None,
            "point": None if hidden else round(proj.point), "low": None if hidden else proj.low,
            "high": None if hidden else proj.high, "level": round(proj.level * 100),
            "method": "seizoenspatroon van " + ", ".join(map(str, proj.previous_years)) if proj.method == "seasonal"
            else "gelijkmatig over het jaar (geen volledig vorig jaar)",
            "norm": norm, "verdict": verdict, "synthetic": bool((sel["source"] == DEMO_SOURCE).any()),
        })

    buurten = load_buurten()[["statcode", "statnaam"]].sort_values("statcode")
    multiples = (_multiples(incidents, police, buurten, analyst, threshold, first_year,
                            as_of.year if analyst else as_of.year - 1)
                 if set(comp.BURGLARY) <= set(keys) else None)
    years_all = sorted({y for c in computed.values() for y in (*c.incidents, *c.police)})

    return {"goals": goals, "computed": list(computed.values()), "running": running, "multiples": multiples,
            "synthetic": synthetic, "as_of": as_of, "analyst": analyst, "threshold": threshold,
            "format_number": _fmt, "computed_years": years_all, "data_start": None if span is None else span[0],
            "first_complete_year": first_year}


def _card(rec: repo.IndicatorRecord, comp_series: Computed | None, as_of: date) -> dict[str, Any]:
    years = sorted(set(rec.realisations) | set(rec.norms)
                   | (set(comp_series.incidents) | set(comp_series.police) if comp_series else set()))
    rows = []
    for y in years:
        real = rec.realisations.get(y)
        calc = comp_series.incidents.get(y) if comp_series else None
        pol = comp_series.police.get(y) if comp_series else None
        calc_known = bool(comp_series) and y in comp_series.incidents
        diff = None if real is None or calc is None else calc - real
        verdict = evaluate(real, direction=rec.direction, norm=rec.norms.get(y), threshold=rec.threshold,
                           previous=rec.realisations.get(y - 1)) if real is not None else None
        rows.append({"year": y, "realisation": real, "norm": rec.norms.get(y), "computed": calc,
                     "computed_known": calc_known, "police": pol,
                     "police_known": bool(comp_series) and y in comp_series.police,
                     "police_partial": bool(comp_series) and 0 < comp_series.police_months.get(y, 12) < 12,
                     "partial": y == as_of.year, "difference": diff, "verdict": verdict})
    chart = None
    if years:
        lines = [Line(f"Realisatie ({rec.source})", {y: v for y, v in rec.realisations.items()})]
        # The running year is not drawn as a year: its count so far would look like a fall.
        if comp_series and comp_series.incidents:
            lines.append(Line("Berekend uit incidenten" + (" (synthetisch)" if comp_series.synthetic else ""),
                              {float(y): v for y, v in comp_series.incidents.items() if y < as_of.year}))
        if comp_series and comp_series.police:
            lines.append(Line("Politie open data (CBS)", {float(y): v for y, v in comp_series.police.items()
                                                          if comp_series.police_months.get(y, 0) == 12}))
        if rec.norms:
            lines.append(Line("Norm", {float(y): v for y, v in rec.norms.items()}, colour=NORM_COLOUR, dashed=True))
        lines = [ln for ln in lines if ln.values]
        scale = (0, 10) if rec.unit.startswith("rapportcijfer") else (None, None)
        chart = line_chart(lines, title=f"Trendgrafiek: {rec.name}",
                           desc=f"{rec.name} per jaar, {rec.unit}; de getallen staan in de tabel onder de grafiek.",
                           x_ticks=[(float(y), str(y)) for y in years], y_min=scale[0], y_max=scale[1])
    return {"code": rec.code, "name": rec.name, "goal": rec.goal, "source": rec.source, "unit": rec.unit,
            "direction": DIRECTIONS.get(rec.direction, rec.direction), "threshold": rec.threshold,
            "baseline": rec.baseline, "note": rec.note, "seed_source": rec.seed_source, "rows": rows,
            "chart": chart, "has_computed": comp_series is not None,
            "synthetic": bool(comp_series and comp_series.synthetic), "unknown": UNKNOWN,
            "value_sources": rec.value_sources}


def _multiples(incidents: pd.DataFrame, police: pd.DataFrame, buurten: pd.DataFrame, analyst: bool,
               threshold: int, first_year: int | None, last_year: int) -> dict[str, Any] | None:
    burg = incidents[incidents["category"].isin(comp.BURGLARY)]
    years = [y for y in comp.yearly_counts(burg, comp.BURGLARY)
             if first_year is not None and first_year <= y <= last_year]
    if years:
        years = sorted(years)
        table = comp.buurt_year_counts(burg, comp.BURGLARY, list(buurten["statcode"]), years)
        source, synthetic = "incidenten", bool((burg["source"] == DEMO_SOURCE).any())
    elif len(police) and (police["level"] == "buurt").any():
        years = sorted(y for y in police["year"].unique().tolist() if y <= last_year)
        table = comp.police_buurt_year(police, comp.BURGLARY, list(buurten["statcode"]), years)
        source, synthetic = "politie open data (CBS 47018NED)", False
    else:
        return None
    if not analyst:
        table = comp.protect_group_totals(hide_small_counts(table, threshold), by="year")
    values = {code: {int(y): (None if v is None or pd.isna(v) else int(v)) for y, v in zip(g["year"], g["n_incidents"])}
              for code, g in table.groupby("statcode")}
    y_max = max([v for vals in values.values() for v in vals.values() if v is not None] or [1])
    names = dict(zip(buurten["statcode"], buurten["statnaam"]))
    panels = [{"code": code, "name": names.get(code, code), "values": values[code],
               "svg": sparkline(values[code], title=f"Inbraken in {names.get(code, code)}", y_max=y_max)}
              for code in sorted(values)]
    return {"panels": panels, "years": years, "source": source, "synthetic": synthetic, "y_max": y_max}


def burn_down(db: Database, today: date) -> dict[str, Any] | None:
    """The pilot's reserved and paid over time, the projected exhaustion date against its closing date."""
    from veilig.errors import NotFoundError
    from veilig.ledger.money import format_euros
    from veilig.storage import ledger_repo

    try:
        pilot = ledger_repo.get_pilot(db)
    except NotFoundError:
        return None
    budget = ledger_repo.budget(db, pilot.id)
    entries = ledger_repo.list_entries(db, pilot.id)
    daily: dict[date, tuple[int, int, int]] = {}
    for e in entries:  # the last entry of each local day holds that day's closing balances
        d = pd.Timestamp(e.created_at).tz_convert(comp.AMSTERDAM).date()
        daily[d] = (e.total_after, e.reserved_after, e.paid_after)
    days = sorted(daily)
    rows = [{"date": d, "total": daily[d][0], "reserved": daily[d][1], "paid": daily[d][2],
             "committed": daily[d][1] + daily[d][2], "remaining": daily[d][0] - daily[d][1] - daily[d][2]}
            for d in days]
    exhaustion = budget.projected_exhaustion_date
    after_close = exhaustion is not None and exhaustion > pilot.closes_on
    chart = None
    if rows:
        o = lambda d: float(d.toordinal())  # noqa: E731
        # Before its first entry a pilot had nothing reserved or paid (the ledger starts empty), and
        # the last balances hold until today: so the lines run from the opening to today.
        first = min(pilot.opens_on, days[0])
        now = max(today, days[-1])
        committed = {o(first): 0.0, **{o(r["date"]): r["committed"] / 100 for r in rows}, o(now): rows[-1]["committed"] / 100}
        paid = {o(first): 0.0, **{o(r["date"]): r["paid"] / 100 for r in rows}, o(now): rows[-1]["paid"] / 100}
        end = max(pilot.closes_on, now, exhaustion or now)
        lines = [
            Line("Budget", {o(first): rows[0]["total"] / 100, **{o(r["date"]): r["total"] / 100 for r in rows},
                            o(end): rows[-1]["total"] / 100}, colour="#555b61", dashed=True, step=True),
            Line("Gereserveerd + uitbetaald", committed, step=True),
            Line("Uitbetaald", paid, step=True),
        ]
        if exhaustion is not None and exhaustion > now:
            lines.append(Line("Prognose bij het huidige tempo", {o(now): rows[-1]["committed"] / 100,
                                                                o(exhaustion): rows[-1]["total"] / 100},
                              colour="#b35900", dashed=True))
        ticks = [(o(first), first.strftime("%d-%m-%Y")), (o(end), end.strftime("%d-%m-%Y"))]
        vlines = [(o(pilot.closes_on), "sluiting pilot"), (o(now), "vandaag")]
        if exhaustion is not None and exhaustion != pilot.closes_on:
            vlines.append((o(exhaustion), "budget op"))
        chart = line_chart(lines, title=f"Budgetverloop {pilot.name}",
                           desc="Gereserveerd en uitbetaald bedrag in euro over de tijd, tegen het budget en de "
                                "sluitingsdatum, met de prognose bij het huidige tempo; de bedragen staan in de "
                                "tabel onder de grafiek.",
                           x_ticks=ticks, vlines=vlines, y_min=0,
                           y_format=lambda v: f"€ {int(v):,}".replace(",", "."))
    return {"pilot": pilot, "budget": budget, "rows": rows, "chart": chart, "exhaustion": exhaustion,
            "after_close": after_close, "euro": format_euros}
