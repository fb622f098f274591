"""Small-count suppression for aggregates shown to non-analysts (BRIEF section 6).

A count below the threshold (default 5) could point at a person, so it is hidden (``None``),
and so is every figure derived from it (share, rate, change), which would reveal it again.
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


def hide_small_counts(table: pd.DataFrame, threshold: int = 5) -> pd.DataFrame:
    """Return a copy with counts in ``1..threshold-1`` (and what derives from them) set to None.

    Zero stays visible: "no incident" reveals nobody, and a map needs it to tell quiet areas apart.
    Adds a boolean column ``suppressed``.
    """
    out = table.copy()
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
