"""Period comparison for the yearly report: which hotspots of this period are new, persistent or gone.

Both periods are analysed with the same parameters (the current result's cell, band and
clustering), so a grid cell is the same square in both. Rules, for hot and for cold separately:

- a significant cell of the current period (``gi_class`` of that sign) is *persistent* when the
  same cell was significant with the same sign in the earlier period, otherwise *new*;
- a cell significant in the earlier period but not (with that sign) now is *gone*;
- a current cluster is *persistent* when its outline overlaps (intersects with positive area) an
  earlier cluster's, otherwise *new*; an earlier cluster that overlaps no current one is *gone*.

Pure: two :class:`veilig.geo.hotspots.HotspotResult` in, the current result with a ``change``
column on its grid and clusters (empty for cells that are not significant) and a summary out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

CHANGES = ("new", "persistent", "gone")
CHANGE_NL = {"new": "nieuw", "persistent": "aanhoudend", "gone": "verdwenen"}


@dataclass(frozen=True)
class PeriodComparison:
    """Counts of the comparison and the ids of what is gone.

    Attributes
    ----------
    previous_start, previous_end : date
    cells : dict
        ``{"hot": {"new": n, "persistent": n, "gone": n}, "cold": {...}}``.
    clusters : dict
        ``{"new": n, "persistent": n, "gone": n}``.
    gone_cells : dict of side -> list of cell ids
    gone_clusters : list of the earlier period's cluster ids
    """

    previous_start: object
    previous_end: object
    cells: dict
    clusters: dict
    gone_cells: dict
    gone_clusters: list

    def metadata(self) -> dict:
        return {"previous_start": str(self.previous_start), "previous_end": str(self.previous_end),
                "cells": self.cells, "clusters": self.clusters, "gone_cells": self.gone_cells,
                "gone_clusters": self.gone_clusters}

    def summary_nl(self) -> str:
        h, c, k = self.cells["hot"], self.cells["cold"], self.clusters
        return (f"vergeleken met {self.previous_start} t/m {self.previous_end}: hotspotcellen "
                f"{h['new']} nieuw, {h['persistent']} aanhoudend, {h['gone']} verdwenen; coldspotcellen "
                f"{c['new']} nieuw, {c['persistent']} aanhoudend, {c['gone']} verdwenen; clusters "
                f"{k['new']} nieuw, {k['persistent']} aanhoudend, {k['gone']} verdwenen")


def _cell_changes(current: pd.DataFrame, previous: pd.DataFrame) -> tuple[np.ndarray, dict, dict]:
    prev_class = previous.set_index("cell_id")["gi_class"]
    cur_class = pd.to_numeric(current["gi_class"], errors="coerce").fillna(0).to_numpy()
    before = pd.to_numeric(prev_class.reindex(current["cell_id"]), errors="coerce").fillna(0).to_numpy()
    change = np.full(len(current), "", dtype=object)
    counts, gone = {}, {}
    for side, sign in (("hot", 1), ("cold", -1)):
        now = np.sign(cur_class) == sign
        was = np.sign(before) == sign
        change[now & was] = "persistent"
        change[now & ~was] = "new"
        prev_sig = prev_class[np.sign(pd.to_numeric(prev_class, errors="coerce").fillna(0)) == sign].index
        now_ids = set(current["cell_id"].to_numpy()[now])
        gone_ids = sorted(str(i) for i in prev_sig if i not in now_ids)
        counts[side] = {"new": int((now & ~was).sum()), "persistent": int((now & was).sum()), "gone": len(gone_ids)}
        gone[side] = gone_ids
    return change, counts, gone


def _overlaps(a, b) -> np.ndarray:
    """For each geometry in ``a``, whether it shares area with any geometry in ``b``."""
    out = np.zeros(len(a), dtype=bool)
    if not len(a) or not len(b):
        return out
    tree = shapely.STRtree(b)
    ia, ib = tree.query(a, predicate="intersects")
    if ia.size:
        area = shapely.area(shapely.intersection(a[ia], b[ib]))
        np.logical_or.at(out, ia[area > 0], True)
    return out


def compare_periods(current, previous) -> tuple[object, PeriodComparison]:
    """Mark the current result's significant cells and clusters as new or persistent; count what is gone.

    Parameters
    ----------
    current, previous : HotspotResult
        The same category, analysed with the same parameters (see the module docstring).

    Returns
    -------
    (HotspotResult, PeriodComparison)
        The current result with ``change`` on ``grid`` and ``clusters``, and the comparison.
    """
    change, cell_counts, gone_cells = _cell_changes(current.grid, previous.grid)
    grid = current.grid.copy()
    grid["change"] = change
    cur_geoms = np.asarray(current.clusters.geometry.values, dtype=object)
    prev_geoms = np.asarray(previous.clusters.geometry.values, dtype=object)
    persists = _overlaps(cur_geoms, prev_geoms)
    still = _overlaps(prev_geoms, cur_geoms)
    clusters = current.clusters.copy()
    clusters["change"] = np.where(persists, "persistent", "new").astype(object) if len(clusters) else []
    gone_ids = [int(i) for i in previous.clusters["cluster_id"].to_numpy()[~still]] if len(previous.clusters) else []
    comparison = PeriodComparison(
        previous.start, previous.end, cell_counts,
        {"new": int((~persists).sum()), "persistent": int(persists.sum()), "gone": len(gone_ids)},
        gone_cells, gone_ids)
    messages = [*current.messages, comparison.summary_nl()]
    return dataclasses.replace(current, grid=grid, clusters=clusters, messages=messages), comparison
