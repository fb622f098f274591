"""The regular analysis grid over Zoetermeer (RD New) that Gi* hot-spot statistics run on.

Which cells enter the grid: every square cell of the lattice anchored at whole multiples of the
cell size whose square intersects the municipality (the union of the buurten). Gi* needs the
cells without incidents as zeros, and those are exactly the other cells of the municipality;
cells wholly outside it (polder, the A12's far side) are not part of the study area and are left
out, so they neither dilute the mean nor appear as cold spots. Anchoring at multiples of the cell
size keeps a cell's identity the same across periods and categories.

An incident just outside every grid cell (the buurt polygons are generalised, and assignment to a
buurt allows a margin) is counted in the nearest cell of the grid, as its buurt is the nearest one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import shapely
from scipy.spatial import cKDTree

from veilig.errors import VeiligError
from veilig.numbers import nl_number

from .neighbourhoods import load_gemeente

#: Grids above this many cells (in the bounding box) are refused: memory and output size.
MAX_GRID_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)
class StudyGrid:
    """A lattice of ``ny`` x ``nx`` square cells of side ``cell``; row 0 is the southernmost.

    Attributes
    ----------
    x0, y0 : float
        South-west corner of cell (0, 0), a whole multiple of ``cell``.
    cell : float
        Cell side in metres.
    nx, ny : int
        Columns and rows of the bounding lattice.
    mask : ndarray of bool, shape (ny, nx)
        The cells of the study area.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    mask: np.ndarray

    @classmethod
    def over(cls, area, cell: float) -> StudyGrid:
        """The cells of side ``cell`` (metres) that intersect the polygon ``area``.

        O(cells) with a prepared polygon; a 100 m grid over Zoetermeer has about 4,400 cells.
        """
        if not (isinstance(cell, (int, float)) and math.isfinite(cell) and cell > 0):
            raise VeiligError(f"cell moet een positief aantal meters zijn, niet {cell!r}")
        minx, miny, maxx, maxy = area.bounds
        x0 = math.floor(minx / cell) * cell
        y0 = math.floor(miny / cell) * cell
        nx = max(1, math.ceil((maxx - x0) / cell))
        ny = max(1, math.ceil((maxy - y0) / cell))
        if nx * ny > MAX_GRID_CELLS:
            raise VeiligError(
                f"cell {nl_number(cell)} m is te klein: het raster zou {nl_number(nx * ny, 0)} cellen krijgen "
                f"(hoogstens {nl_number(MAX_GRID_CELLS, 0)})"
            )
        cols, rows = np.meshgrid(np.arange(nx), np.arange(ny))
        boxes = shapely.box(x0 + cols * cell, y0 + rows * cell, x0 + (cols + 1) * cell, y0 + (rows + 1) * cell)
        shapely.prepare(area)
        mask = shapely.intersects(area, boxes)
        mask.flags.writeable = False
        return cls(float(x0), float(y0), float(cell), int(nx), int(ny), mask)

    @property
    def n_cells(self) -> int:
        """Number of cells in the study area."""
        return int(self.mask.sum())

    def cell_rows_cols(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of every study-area cell, in row-major order (south to north, west to east)."""
        return np.nonzero(self.mask)

    def cell_ids(self) -> np.ndarray:
        """Stable names of the study-area cells: size and south-west corner, e.g. ``100mE93400N452900``."""
        return self._cell_ids.copy()

    @cached_property
    def _cell_ids(self) -> np.ndarray:  # computed once per grid: 15,000 f-strings cost ~0.1 s
        rows, cols = self.cell_rows_cols()
        size = f"{self.cell:g}m"
        xs = np.round(self.x0 + cols * self.cell, 3)
        ys = np.round(self.y0 + rows * self.cell, 3)
        return np.array([f"{size}E{x:g}N{y:g}" for x, y in zip(xs, ys)], dtype=object)

    def cell_polygons(self) -> np.ndarray:
        """Square polygons of the study-area cells, in the order of :meth:`cell_rows_cols`."""
        return self._cell_polygons.copy()

    @cached_property
    def _cell_polygons(self) -> np.ndarray:
        rows, cols = self.cell_rows_cols()
        c = self.cell
        return shapely.box(self.x0 + cols * c, self.y0 + rows * c, self.x0 + (cols + 1) * c, self.y0 + (rows + 1) * c)

    def locate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the study-area cell of each point; a point outside goes to the nearest cell.

        O(n), plus a k-d tree query for the (few) points outside the study area.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        col = np.floor((x - self.x0) / self.cell).astype(np.int64)
        row = np.floor((y - self.y0) / self.cell).astype(np.int64)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        inside[inside] = self.mask[row[inside], col[inside]]
        out = np.flatnonzero(~inside)
        if out.size and self.n_cells:
            rr, cc = self.cell_rows_cols()
            centres = np.column_stack([self.x0 + (cc + 0.5) * self.cell, self.y0 + (rr + 0.5) * self.cell])
            _, j = cKDTree(centres).query(np.column_stack([x[out], y[out]]))
            row[out], col[out] = rr[j], cc[j]
        return row, col

    def counts(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Incidents per cell, shape (ny, nx), int64; zero outside the study area."""
        row, col = self.locate(x, y)
        flat = np.bincount(row * self.nx + col, minlength=self.nx * self.ny) if row.size else \
            np.zeros(self.nx * self.ny, dtype=np.int64)
        return flat.reshape(self.ny, self.nx).astype(np.int64)


@lru_cache(maxsize=8)
def zoetermeer_grid(cell: float) -> StudyGrid:
    """The study grid over Zoetermeer (union of its buurten) for a cell size; cached."""
    area = load_gemeente().geometry.iloc[0]
    return StudyGrid.over(area, float(cell))
