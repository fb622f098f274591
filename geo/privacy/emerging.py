"""What a non-analyst receives of an emerging hot spot analysis (the rules of :mod:`veilig.geo.privacy`).

Pure: the result (with the cell keys of its cube) in, the public tables out. Counts per bin and per
location are perturbed by the cell key method with the same record keys as every other output (a
100 m cell in a month has the same key here as on the hotspot map of that month, so it gets the
same noise) and hidden below the threshold; the classes and patterns stay.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .periods import AlignedPeriod
from .suppress import hide_small_counts

#: Per-location columns a non-analyst never gets: the z of the trend (a function of the z-series,
#: which is linear in the counts).
ANALYST_ONLY_LOCATION = ("trend_z",)
#: Per-bin columns a non-analyst never gets: z, p, FDR-p and the expectation (with the slice
#: totals they give window counts, and so hidden counts, back).
ANALYST_ONLY_BIN = ("gi_z", "gi_p", "gi_p_fdr", "expected")
#: Steps the trend figures of the z-series are rounded to for non-analysts.
TAU_STEP, P_STEP = 0.01, 0.001


def public_emerging(result, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The location table and the bins of an emerging hot spot result as a non-analyst may see them.

    Parameters
    ----------
    result : veilig.geo.emerging.EmergingResult
        Computed on incidents with a ``record_key`` column (:func:`with_record_keys`), so its cube
        carries cell keys.
    threshold : int
        The small-count threshold.

    Returns
    -------
    (locations, bins) : DataFrames
        ``n_incidents`` perturbed (cell key method) and hidden in ``1..threshold-1``, in both; a
        location's total also hidden when any of its steps is (the total minus the visible steps
        would give the hidden one back); the Mann-Kendall trend of the counts recomputed from the
        published counts, and None where a step is hidden (its ties and order are the hidden
        counts'); the trend of the z-series rounded (tau to 0.01, p to 0.001); no z, p, FDR-p or
        expectation. Patterns, classes and numbers of significant steps stay.

    Raises
    ------
    ValueError
        When the cube carries no cell keys.
    """
    from veilig.geo.mannkendall import mann_kendall

    keys = result.cube.cell_keys
    if keys is None:
        raise ValueError("the emerging result carries no cell keys: load the incidents with record keys "
                         "(veilig.geo.privacy.with_record_keys) before computing it for a non-analyst")
    L, T = result.cube.counts.shape
    bins = result.bins().drop(columns=list(ANALYST_ONLY_BIN))
    bins["cell_key"] = np.asarray(keys["bins"], dtype=np.float64).ravel()
    bins = hide_small_counts(bins, threshold)
    hidden_step = bins["suppressed"].to_numpy().reshape(L, T).any(axis=1) if L * T else np.zeros(L, bool)

    loc = result.locations.drop(columns=list(ANALYST_ONLY_LOCATION)).copy()
    loc["cell_key"] = np.asarray(keys["locations"], dtype=np.float64)
    loc = hide_small_counts(loc, threshold)
    loc["n_incidents"] = loc["n_incidents"].astype(object)
    loc.loc[hidden_step, "n_incidents"] = None
    loc["suppressed"] = loc["suppressed"].to_numpy() | hidden_step

    published = pd.to_numeric(bins["n_incidents"], errors="coerce").to_numpy(dtype=np.float64).reshape(L, T)
    tau = np.full(L, np.nan)
    p = np.full(L, np.nan)
    whole = ~hidden_step
    if whole.any() and T >= 2:
        mk = mann_kendall(published[whole])
        tau[whole], p[whole] = np.round(mk.tau, 6), mk.p
    loc["count_trend_tau"] = [None if not np.isfinite(v) else float(v) for v in tau]
    loc["count_trend_p"] = [None if not np.isfinite(v) else float(v) for v in p]
    for col, step in (("trend_tau", TAU_STEP), ("trend_p", P_STEP)):
        if col in loc.columns:
            v = pd.to_numeric(loc[col], errors="coerce").to_numpy(dtype=np.float64)
            loc[col] = [None if not np.isfinite(x) else round(round(x / step) * step, 6) for x in v]
    return loc, bins


def public_emerging_metadata(metadata: dict, threshold: int) -> dict:
    """The result's metadata without the totals (the city total minus the visible counts gives the
    hidden ones back) and without messages that quote a count."""
    out = dict(metadata)
    out.update(n_incidents=None, n_outside=None, suppressed_below=threshold)
    out["messages"] = [m for m in metadata.get("messages", []) if not any(ch.isdigit() for ch in m)]
    return out


def public_emerging_period(period: AlignedPeriod | None, data_end: dt.date | None,
                           today: dt.date) -> AlignedPeriod | None:
    """The period of the emerging layer a non-analyst sees beside a map of ``period``.

    A trend needs several steps, and trailing steps that lie in the future would read as a
    fading hotspot. So whole years that have ended by ``today`` are kept; years that have not
    ended are cut back to the last year that has; a week, month or quarter map gets the last
    calendar year that has ended at or before its own year. Whole years are aligned periods, so
    no two layers can be differenced into a few days. ``None`` without data.
    """
    if period is None or data_end is None:
        return None
    if period.kind == "jaar" and period.end < today:
        return period
    last = min(period.end.year, today.year - 1)
    first = period.start.year if period.kind == "jaar" and period.start.year <= last else last
    return AlignedPeriod("jaar", dt.date(first, 1, 1), dt.date(last, 12, 31))
