"""Indicators computed from data veilig holds: imported incidents and the police open data.

Each series counts incidents of some categories per calendar year in Europe/Amsterdam local time
(the budget's years), for the city and per buurt. The source is named with every figure:
``incidenten`` (points imported into veilig; synthetic when they come from the demo generator) or
``politie`` (the police open data per buurt and month, CBS 47018NED).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

AMSTERDAM = "Europe/Amsterdam"


@dataclass(frozen=True)
class Series:
    key: str
    label: str  # Dutch
    categories: tuple[str, ...]
    per_buurt: bool = False


SERIES: tuple[Series, ...] = (
    Series("woninginbraak", "Woninginbraken", ("woninginbraak",), per_buurt=True),
    Series("inbraak_schuur", "Inbraken box/garage/schuur", ("inbraak_schuur",), per_buurt=True),
    Series("drugs", "Drugsincidenten", ("drugs",)),
    Series("overlast_jeugd", "Meldingen jeugdoverlast", ("overlast_jeugd",)),
    # Only from the police figures (CBS code 3.7.4): veilig's incidents have no such category.
    Series("cybercrime", "Cybercrime (politiecijfers)", ("cybercrime",)),
)
SERIES_BY_KEY = {s.key: s for s in SERIES}
BURGLARY = ("woninginbraak", "inbraak_schuur")


def local_dates(occurred_at: pd.Series) -> np.ndarray:
    """UTC timestamps -> local calendar dates (datetime64[D])."""
    if occurred_at.empty:
        return np.array([], dtype="datetime64[D]")
    ts = pd.to_datetime(occurred_at, utc=True).dt.tz_convert(AMSTERDAM)
    return ts.dt.tz_localize(None).to_numpy().astype("datetime64[D]")


def yearly_counts(incidents: pd.DataFrame, categories: tuple[str, ...]) -> dict[int, int]:
    """Count per local calendar year of ``categories`` (incidents with ``occurred_at``, ``category``)."""
    sel = incidents[incidents["category"].isin(categories)]
    if sel.empty:
        return {}
    years = local_dates(sel["occurred_at"]).astype("datetime64[Y]").astype(int) + 1970
    values, counts = np.unique(years, return_counts=True)
    return {int(y): int(c) for y, c in zip(values, counts)}


def buurt_year_counts(incidents: pd.DataFrame, categories: tuple[str, ...], buurten: list[str],
                      years: list[int]) -> pd.DataFrame:
    """Long table ``statcode, year, n_incidents`` with every buurt x year present (zeros included)."""
    sel = incidents[incidents["category"].isin(categories)]
    full = pd.MultiIndex.from_product([buurten, years], names=["statcode", "year"])
    if sel.empty:
        return pd.DataFrame(index=full).assign(n_incidents=0).reset_index()
    yrs = local_dates(sel["occurred_at"]).astype("datetime64[Y]").astype(int) + 1970
    counts = pd.DataFrame({"statcode": sel["buurt"].to_numpy(), "year": yrs}).value_counts()
    counts.index = counts.index.set_names(["statcode", "year"])
    table = counts.reindex(full, fill_value=0).rename("n_incidents").reset_index()
    table["n_incidents"] = table["n_incidents"].astype(int)
    return table


def police_yearly(rows: pd.DataFrame, categories: tuple[str, ...]) -> tuple[dict[int, int], dict[int, int]]:
    """Yearly city totals from police rows (``level, year, month, category, count``).

    The municipality row is the city total when the file has one for that year; otherwise the sum of
    the buurt rows (never both: a file with GM and BU rows would count twice). Returns the totals and
    the number of months each year covers (a year with fewer than 12 is incomplete).
    """
    sel = rows[rows["category"].isin(categories)]
    totals: dict[int, int] = {}
    months: dict[int, int] = {}
    for year, grp in sel.groupby("year"):
        level = "gemeente" if (grp["level"] == "gemeente").any() else "buurt"
        part = grp[grp["level"] == level]
        totals[int(year)] = int(part["count"].sum())
        months[int(year)] = int(part["month"].nunique())
    return totals, months


def police_buurt_year(rows: pd.DataFrame, categories: tuple[str, ...], buurten: list[str],
                      years: list[int]) -> pd.DataFrame:
    sel = rows[rows["category"].isin(categories) & (rows["level"] == "buurt")]
    full = pd.MultiIndex.from_product([buurten, years], names=["statcode", "year"])
    grouped = sel.groupby(["region_code", "year"])["count"].sum()
    grouped.index = grouped.index.set_names(["statcode", "year"])
    table = grouped.reindex(full, fill_value=0).rename("n_incidents").reset_index()
    table["n_incidents"] = table["n_incidents"].astype(int)
    return table


def protect_group_totals(table: pd.DataFrame, by: str, count_col: str = "n_incidents") -> pd.DataFrame:
    """Complementary suppression after :func:`veilig.geo.privacy.hide_small_counts`.

    The dashboard shows each year's city total; if only one buurt of a year were hidden, the total
    minus the visible buurten would give its count back. So in every group (year) with a hidden
    cell, the smallest visible positive cell is hidden too, leaving at least two unknowns whose sum
    is at least the threshold-sized complement. ``suppressed`` marks every hidden cell. (To move
    into the disclosure layer, geo/privacy.py, once that exists as one module.)
    """
    out = table.copy()
    out[count_col] = out[count_col].astype(object)
    for _, idx in out.groupby(by).groups.items():
        grp = out.loc[idx]
        if not grp["suppressed"].any():
            continue
        visible = grp[(~grp["suppressed"]) & grp[count_col].map(lambda v: v is not None and v > 0)]
        if visible.empty:  # only zeros left: hiding one still leaves two places the count may be
            visible = grp[(~grp["suppressed"]) & grp[count_col].map(lambda v: v is not None)]
        if visible.empty:
            continue
        pick = visible[count_col].astype(int).idxmin()
        out.loc[pick, count_col] = None
        out.loc[pick, "suppressed"] = True
    return out
