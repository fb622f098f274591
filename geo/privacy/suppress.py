"""Small-count suppression for aggregates shown to non-analysts (BRIEF section 6).

A count below the threshold (default 5) could point at a person, so it is hidden (``None``),
and so is every figure derived from it (share, rate, change), which would reveal it again.
Statistics that are linear in the counts (Gi* z) or functions of them (p-values) are never
published beside counts to non-analysts: a least-squares solve over a few of them gives the
hidden counts back. Where the table carries a ``cell_key`` column (:mod:`.cellkey`), the counts
are perturbed first. The whole rule set is in :mod:`veilig.geo.privacy`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: count column -> the columns derived from it that are hidden with it
DERIVED: dict[str, tuple[str, ...]] = {
    "n_incidents": ("share", "rate_per_1000_dwellings", "share_in_clusters", "change", "change_pct",
                    "density_per_km2", "buurt_shares", "first_date", "last_date", "observed", "expected", "ratio"),
    "n_previous": ("change", "change_pct"),
}


#: Statistics derived from the counts that non-analysts never get (the class, ``gi_class``, stays).
STATISTIC_COLUMNS: tuple[str, ...] = ("gi_z", "gi_p", "gi_p_fdr", "z", "p", "p_value", "p_fdr", "q")


def hide_small_counts(table: pd.DataFrame, threshold: int = 5) -> pd.DataFrame:
    """Return a copy with counts in ``1..threshold-1`` (and what derives from them) set to None.

    Zero stays visible: "no incident" reveals nobody, and a map needs it to tell quiet areas apart.
    Adds a boolean column ``suppressed``. The columns of :data:`STATISTIC_COLUMNS` become None
    everywhere. When the table has a ``cell_key`` column (the cell keys of the ``n_incidents``
    cells), ``n_incidents`` is perturbed by the cell key method before the threshold applies,
    and the ``cell_key`` column is dropped.
    """
    out = table.copy()
    for col in STATISTIC_COLUMNS:
        if col in out.columns:
            out[col] = None
    if "cell_key" in out.columns and "n_incidents" in out.columns:
        from .cellkey import noise

        counts = pd.to_numeric(out["n_incidents"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
        out["n_incidents"] = counts + noise(counts, out["cell_key"].to_numpy(dtype=np.float64))
        out = out.drop(columns="cell_key")
    suppressed = np.zeros(len(out), dtype=bool)
    for count_col, derived in DERIVED.items():
        if count_col not in out.columns:
            continue
        values = pd.to_numeric(out[count_col], errors="coerce")
        small = ((values > 0) & (values < threshold)).to_numpy()
        if not small.any():
            continue
        suppressed |= small
        for col in (count_col, *derived):
            if col in out.columns:
                out[col] = out[col].astype(object)
                out.loc[small, col] = None
    out["suppressed"] = suppressed
    return out


#: Vertex grid for shapes shown to non-analysts: a cluster outline is a buffer around incident
#: locations, so its arcs would give the locations back; snapped to 25 m they do not.
SHAPE_GRID_M = 25.0


def coarsen_shapes(gdf, grid_m: float = SHAPE_GRID_M):
    """Snap every vertex to a ``grid_m`` grid (RD New), so outlines do not reveal incident points."""
    import shapely

    out = gdf.copy()
    if len(out):
        snapped = shapely.set_precision(out.geometry.values, grid_m)
        out["geometry"] = snapped
    return out
