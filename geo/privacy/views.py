"""What a non-analyst receives of each result: the public views of hotspots, rhythm and shift plan.

Pure: a result and the disclosure secret in, the same type of result out, with every rule of
:mod:`veilig.geo.privacy` applied. The routes, the maps and the command line call these and
nothing else for non-analysts.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from .cellkey import cell_keys, perturb, perturb_one, record_keys, total_key
from .suppress import coarsen_shapes, hide_small_counts

#: What the published figures are, for every payload a non-analyst receives.
DISCLOSURE_NOTE_NL = (
    "Afgerond/verstoord: aantallen zijn licht verstoord (celsleutelmethode, afwijking hoogstens 2), "
    "aantallen onder de drempel zijn verborgen, totalen en aandelen zijn verborgen zodra een aantal "
    "verborgen is, en Gi* wordt alleen als klasse getoond."
)

_DIGIT = re.compile(r"\d")


def _keys(points: pd.DataFrame, secret: bytes) -> np.ndarray:
    if "id" not in points.columns:
        raise ValueError("the points carry no stored id: the disclosure layer cannot key them")
    return record_keys(points["id"].to_numpy(), secret) if len(points) else np.zeros(0, dtype=np.uint64)


def _buurt_codes(points: pd.DataFrame, statcodes: np.ndarray) -> np.ndarray:
    if not len(points):
        return np.zeros(0, dtype=np.int64)
    return pd.Index(statcodes).get_indexer(points["buurt"].astype(str).to_numpy())


def _published(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


#: Per-window figures published to analysts only (see :func:`public_hotspots`).
WINDOW_STATISTICS = ("observed", "expected", "ratio", "gi_p_norm", "gi_z", "gi_p", "gi_p_fdr", "p_value")


def public_hotspots(result, threshold: int, secret: bytes, previous=None):
    """The hotspot result as a non-analyst may see it.

    Parameters
    ----------
    result : veilig.geo.hotspots.HotspotResult
        The full result (points included: their ids give the record keys).
    threshold : int
        The small-count threshold (published values below it are hidden).
    secret : bytes
        The deployment's disclosure secret.
    previous : HotspotResult, optional
        The result of the previous aligned period (:meth:`AlignedPeriod.previous`), for the
        change per buurt; without it ``n_previous``/``change``/``change_pct`` are None (the
        analysis' own previous period of equal length is not an aligned period).

    Returns
    -------
    HotspotResult
        Counts perturbed (cell key method) and hidden below ``threshold`` in buurten, grid cells
        and clusters; shares, rates, densities and changes recomputed from the published counts;
        Gi* z and p removed (class only); the city total and the shares hidden when any count
        is; cluster outlines snapped to 25 m, their dates to the month, no per-buurt shares of a
        cluster; no incident points; messages that quote a count left out.
    """
    points = result.points
    rk = _keys(points, secret)
    cluster_of = points["cluster_id"].to_numpy(dtype=np.int64) - 1 if len(points) else np.zeros(0, np.int64)

    # Buurten.
    b = result.buurten.copy()
    statcodes = b["statcode"].to_numpy()
    codes = _buurt_codes(points, statcodes)
    nb = len(b)
    n_true = np.bincount(codes[codes >= 0], minlength=nb) if nb else np.zeros(0, np.int64)
    b["cell_key"] = cell_keys(codes, rk, nb)
    b = hide_small_counts(b, threshold)
    n_pub = _published(b["n_incidents"])
    in_true = np.bincount(codes[(codes >= 0) & (cluster_of >= 0)], minlength=nb)
    in_pub = _published(perturb(in_true, cell_keys(np.where(cluster_of >= 0, codes, -1), rk, nb), threshold))

    # Grid cells (the study grid of the analysis, in the layer's row order).
    g = result.grid.copy()
    g_hidden = False
    if len(g):
        from veilig.geo.grid import zoetermeer_grid

        grid = zoetermeer_grid(result.params.cell)
        flat = np.full(len(points), -1, dtype=np.int64)
        if len(points):
            row, col = grid.locate(points["x"].to_numpy(), points["y"].to_numpy())
            order = np.full(grid.nx * grid.ny, -1, dtype=np.int64)
            rr, cc = grid.cell_rows_cols()
            order[rr * grid.nx + cc] = np.arange(rr.size)
            flat = order[row * grid.nx + col]
        g["cell_key"] = cell_keys(flat, rk, len(g))
        g = hide_small_counts(g, threshold)
        g_hidden = bool(g["suppressed"].any())

    # The city total: its own cell key; hidden when any cell of a table over the same records is
    # (total minus the visible cells would give the hidden ones back).
    any_hidden = bool(b["suppressed"].any()) or g_hidden
    total = None if any_hidden else perturb_one(int(len(points)), total_key(rk), threshold)
    if total is None and len(points):
        # A buurt that holds every record is the total itself.
        whole = n_true == len(points)
        if whole.any():
            b["n_incidents"] = b["n_incidents"].astype(object)
            b.loc[whole, "n_incidents"] = None
            b.loc[whole, "suppressed"] = True
            n_pub[whole] = np.nan

    with np.errstate(divide="ignore", invalid="ignore"):
        dwellings = pd.to_numeric(b["dwellings"], errors="coerce").to_numpy(dtype=np.float64) \
            if "dwellings" in b.columns else np.full(nb, np.nan)
        rate = np.where((dwellings > 0) & np.isfinite(n_pub), np.round(n_pub / dwellings * 1000.0, 3), np.nan)
        share = np.round(n_pub / total, 6) if total else np.full(nb, np.nan)
        share_in = np.where(np.isfinite(in_pub) & (n_pub > 0), np.round(in_pub / n_pub, 6), np.nan)
    b["rate_per_1000_dwellings"] = _none_where_nan(rate)
    b["share"] = _none_where_nan(share)
    b["share_in_clusters"] = _none_where_nan(np.where(n_true == 0, np.nan, share_in))

    # Change against the previous aligned period, from published counts only.
    prev_pub = np.full(nb, np.nan)
    if previous is not None:
        p_points = previous.points
        p_codes = _buurt_codes(p_points, statcodes)
        p_true = np.bincount(p_codes[p_codes >= 0], minlength=nb)
        prev_pub = _published(perturb(p_true, cell_keys(p_codes, _keys(p_points, secret), nb), threshold))
    change = n_pub - prev_pub
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = np.where(prev_pub > 0, np.round(change / prev_pub * 100.0, 3), np.nan)
    b["n_previous"] = _none_where_nan(prev_pub, integer=True)
    b["change"] = _none_where_nan(change)
    b["change_pct"] = _none_where_nan(change_pct)

    # Clusters: perturbed size, snapped outline, no dates finer than a month, no shares per buurt.
    c = result.clusters.copy()
    if len(c):
        k = len(c)
        c["cell_key"] = cell_keys(cluster_of, rk, k)
        c = hide_small_counts(c, threshold)
        if total is None:  # a cluster that holds every record is the total itself
            whole = np.bincount(cluster_of[cluster_of >= 0], minlength=k) == len(points)
            c["n_incidents"] = c["n_incidents"].astype(object)
            c.loc[whole, "n_incidents"] = None
        size = _published(c["n_incidents"])
        area = pd.to_numeric(c["area_m2"], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            c["density_per_km2"] = _none_where_nan(np.round(size / (area / 1e6), 3))
        for col in ("first_date", "last_date"):
            c[col] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)[:7] for v in c[col]]
        c["buurt_shares"] = None
    c = coarsen_shapes(c)

    # Window statistics are linear in the counts, like z: a window's observed count minus its
    # neighbours' gives a cell back, and expected = N x share gives the total. Class only.
    for frame in (b, g, c):
        for col in WINDOW_STATISTICS:
            if col in frame.columns:
                frame[col] = None
    scale = result.scale
    if scale is not None:
        # The band's reason quotes N and the expected count per window (the total again).
        how = "gekozen uit het aantal incidenten" if scale.chosen else "gegeven door de analist"
        scale = dataclasses.replace(
            scale, expected_in_window=float("nan"),
            reason=f"band {scale.band:g} m " + ("chosen from the number of incidents" if scale.chosen
                                                 else "given by the analyst"),
            reason_nl=f"band {scale.band:g} m {how}")

    return dataclasses.replace(
        result,
        scale=scale,
        clusters=c, grid=g, buurten=b,
        points=points.iloc[0:0],
        n_incidents=total,
        n_outside=None,
        messages=[m for m in result.messages if not _DIGIT.search(m)],
    )


def _none_where_nan(values: np.ndarray, integer: bool = False) -> list:
    out = []
    for v in np.asarray(values, dtype=np.float64):
        if not np.isfinite(v):
            out.append(None)
        else:
            out.append(int(v) if integer else float(v))
    return out


def _round_to(value: float | None, step: float) -> float | None:
    if value is None:
        return None
    return round(round(float(value) / step) * step, 6)


def public_rhythm(result, threshold: int):
    """The rhythm as a non-analyst may see it.

    Matrix cells, months and holiday counts perturbed by their cell keys and hidden below the
    threshold; the total perturbed and hidden when any cell or month is; peaks only on published
    cells, with the published count, no p or q (functions of the count) and the expected value
    rounded to 0.5 (``expected`` is the mean rate times the cell's hours: at full precision it
    gives the total back). Requires the cell keys (incidents loaded with a ``record_key``).
    """
    keys = result.cell_keys
    if keys is None:
        raise ValueError("the rhythm carries no cell keys: load the incidents with record keys "
                         "(veilig.geo.privacy.with_record_keys) before computing it for a non-analyst")
    counts = perturb(np.array(result.counts, dtype=np.int64), keys["counts"], threshold)
    months = perturb(np.array(result.months, dtype=np.int64), keys["months"], threshold)
    holidays = [
        {**h, "n_incidents": perturb_one(int(h.get("n_incidents") or 0), ck, threshold)}
        for h, ck in zip(result.holidays, keys["holidays"], strict=True)
    ]
    hidden = any(v is None for row in counts for v in row) or any(v is None for v in months)
    total = None if hidden else perturb_one(int(result.total or 0), keys["total"], threshold)
    if total is None and result.total:
        # A month (or holiday) that holds every record of the period is the total itself.
        months = [None if m == result.total else v for m, v in zip(result.months, months, strict=True)]
        holidays = [{**h, "n_incidents": None} if orig.get("n_incidents") == result.total else h
                    for orig, h in zip(result.holidays, holidays, strict=True)]
    peaks = [
        dataclasses.replace(pk, count=counts[pk.weekday][pk.hour], p=None, q=None,
                            expected=_round_to(pk.expected, 0.5))
        for pk in result.peaks if counts[pk.weekday][pk.hour] is not None
    ]
    return dataclasses.replace(result, counts=counts, months=months, holidays=holidays, total=total,
                               peaks=peaks, suppressed_below=threshold, cell_keys=None)


def public_plan(plan, threshold: int):
    """The shift plan as a non-analyst may see it.

    The expected counts per area and shift rounded to 0.5 (they rank the areas; at full precision
    they are linear in the counts of overlapping history windows); the back-test's counts rounded
    to a multiple of 5 and hidden below the threshold, its hit rate rounded to 0.05 and its PAI to
    0.1, both hidden when a count is.
    """
    table = plan.table.copy()
    if "expected" in table.columns:
        table["expected"] = [_round_to(v, 0.5) for v in table["expected"]]
    cov = plan.coverage
    if cov is not None:
        def base5(n):
            return None if n is None or n < threshold else int(5 * round(n / 5))

        n, c = base5(cov.n_incidents), base5(cov.n_captured)
        rest = None if cov.n_incidents is None or cov.n_captured is None else cov.n_incidents - cov.n_captured
        small = n is None or (cov.n_captured not in (None, 0) and c is None) or (rest not in (None, 0)
                                                                                 and rest < threshold)
        cov = dataclasses.replace(
            cov,
            n_incidents=n,
            n_captured=c if cov.n_captured != 0 else 0,
            hit_rate=None if small else _round_to(cov.hit_rate, 0.05),
            pai=None if small else _round_to(cov.pai, 0.1),
        )
    return dataclasses.replace(plan, table=table, coverage=cov, suppressed_below=threshold)


def public_areas(areas):
    """Plan areas (hotspot polygons and the buurten cut by them) snapped like the hotspot map's."""
    return coarsen_shapes(areas)


def with_record_keys(incidents: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """The incidents with a ``record_key`` column (from the stored ``id``), for rhythm and plan."""
    out = incidents.copy()
    out["record_key"] = record_keys(out["id"].to_numpy(), secret) if len(out) else np.zeros(0, np.uint64)
    return out
