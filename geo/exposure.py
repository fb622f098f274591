"""Exposure: the population at risk that the hotspot null spreads the period's incidents over.

The null of every hotspot statistic (:mod:`veilig.geo.inference`): the period's ``N`` incidents
fall independently on the cells (grid cells or buurten) with probability proportional to each
cell's exposure. Three exposures, each named in every output as ``null_model``:

- ``uniform over the municipality``: a cell's area *inside* Zoetermeer (edge cells count with the
  part of their square that lies inside, computed once per grid by exact polygon intersection);
- ``dwellings per 100 m cell`` (or ``inhabitants per 100 m cell``): an imported grid of CBS
  *vierkantstatistieken* (``veilig import exposure``), spread over the analysis grid by overlap;
- ``dwellings per buurt``: the imported per-buurt dwellings (``veilig import buurtstats``), for
  the buurt statistics.

Counts of dwellings or inhabitants are zero in parks, water, industrial estates, roads: a null in
proportion to dwellings alone would make an incident there impossible (probability 0, so any count
"infinitely" significant), which is an artefact of the exposure, not a finding. Every
count-based exposure is therefore mixed with the area: a share :data:`AREA_MIX` (5 %) of the null
probability is spread by area and the rest by the counts. The mix is part of the stated null and
is recorded in the result's metadata; the p-values are exact under that null.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from veilig.errors import VeiligError

from .grid import StudyGrid, zoetermeer_grid
from .neighbourhoods import load_gemeente

#: Share of the null probability spread by area when the exposure is a count (dwellings, inhabitants).
AREA_MIX = 0.05

NULL_UNIFORM = "uniform over the municipality"
NULL_DWELLINGS_BUURT = "dwellings per buurt"

#: Dutch names of the nulls, for maps and the command line.
NULL_LABELS_NL: dict[str, str] = {
    NULL_UNIFORM: "gelijkmatig over de gemeente (naar oppervlakte)",
    NULL_DWELLINGS_BUURT: "naar woningen per buurt",
    "dwellings per 100 m cell": "naar woningen per 100 m-vierkant",
    "inhabitants per 100 m cell": "naar inwoners per 100 m-vierkant",
}

#: What an imported grid may count, and the column names CBS and others use for it.
EXPOSURE_KINDS: dict[str, tuple[str, ...]] = {
    "dwellings": ("dwellings", "woningen", "aantal_woningen", "woningvoorraad", "wonin"),
    "inhabitants": ("inhabitants", "inwoners", "aantal_inwoners", "inwoner", "inw"),
}
_CODE_COLUMNS = ("crs28992res100m", "vierkant", "c28992r100", "cell", "cell_code", "code", "vierkant_code")
_X_COLUMNS = ("x", "x_rd", "rd_x", "xmin")
_Y_COLUMNS = ("y", "y_rd", "rd_y", "ymin")

# CBS cell codes: E and N in whole hectometres (four digits) of the lower-left corner, in
# either order, optionally prefixed by the CRS and size ("crs28992res100mN4545E0934").
_CODE_RE = re.compile(r"^(?:CRS28992)?(?:RES(?P<res>\d+)M)?(?:E(?P<e1>\d{3,4})N(?P<n1>\d{3,4})|N(?P<n2>\d{3,4})E(?P<e2>\d{3,4}))$")

#: CBS marks hidden or unknown square values with these negative codes (-99997 "geheim", ...).
CBS_SPECIAL_MIN, CBS_SPECIAL_MAX = -99999, -99990

#: Zoetermeer lies in RD x 85-100 km, y 445-460 km; an imported cell far outside is a wrong file.
_RD_BOUNDS = (0.0, 300_000.0, 289_000.0, 629_000.0)


@dataclass(frozen=True, eq=False)
class ExposureCells:
    """An imported grid of exposure counts (lower-left corners in RD New, square side ``size``).

    Attributes
    ----------
    x, y : ndarray of float
        Lower-left corner of each square (RD New metres).
    value : ndarray of float
        Dwellings or inhabitants in the square (>= 0).
    kind : {'dwellings', 'inhabitants'}
    size : float
        Square side in metres (CBS: 100).
    source : str
        File name it came from.
    """

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    kind: str
    size: float = 100.0
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def null_model(self) -> str:
        return f"{self.kind} per {self.size:g} m cell"

    def key(self) -> tuple:
        """A hashable digest, for caches of the spread exposure."""
        return (self.kind, float(self.size), len(self.x), float(np.sum(self.value)),
                float(np.sum(self.x * 1e-3 + self.y * 1e-6)))


@dataclass(frozen=True, eq=False)
class Null:
    """The null of one analysis: each cell's probability and the model's name.

    Attributes
    ----------
    share : ndarray of float
        Null probability of each cell (grid: shape (ny, nx), 0 outside the study area; buurten:
        one per buurt); sums to 1.
    null_model : str
        One of ``uniform over the municipality``, ``dwellings per 100 m cell``,
        ``inhabitants per 100 m cell``, ``dwellings per buurt``.
    area_mix : float
        Share of the probability spread by area (0 for the uniform null).
    description : str
        One Dutch sentence for legends and summaries.
    """

    share: np.ndarray
    null_model: str
    area_mix: float = 0.0
    description: str = ""

    def metadata(self) -> dict:
        return {"null_model": self.null_model, "area_mix": self.area_mix, "description": self.description}


def describe(null_model: str, area_mix: float) -> str:
    """Dutch description of a null, e.g. for a map's subtitle."""
    label = NULL_LABELS_NL.get(null_model, null_model)
    if area_mix > 0:
        return f"{label} ({100 * (1 - area_mix):g} %) en oppervlakte ({100 * area_mix:g} %)"
    return label


def cell_areas_inside(grid: StudyGrid, area) -> np.ndarray:
    """Area (m²) of every grid cell inside the polygon ``area``: shape (ny, nx), 0 outside the study area.

    Exact polygon intersections for the cells the boundary crosses, the full square for the
    others; O(cells) with a prepared polygon.
    """
    out = np.zeros((grid.ny, grid.nx), dtype=np.float64)
    rows, cols = grid.cell_rows_cols()
    boxes = grid.cell_polygons()
    shapely.prepare(area)
    full = shapely.contains(area, boxes)
    a = np.full(boxes.size, grid.cell * grid.cell)
    partial = np.flatnonzero(~full)
    if partial.size:
        a[partial] = shapely.area(shapely.intersection(boxes[partial], area))
    out[rows, cols] = a
    return out


@lru_cache(maxsize=8)
def _zoetermeer_areas(cell: float) -> np.ndarray:
    area = load_gemeente().geometry.iloc[0]
    a = cell_areas_inside(zoetermeer_grid(cell), area)
    a.flags.writeable = False
    return a


def zoetermeer_cell_areas(cell: float) -> np.ndarray:
    """:func:`cell_areas_inside` for the Zoetermeer grid of a cell size (cached, read-only)."""
    return _zoetermeer_areas(float(cell))


def uniform_null(areas: np.ndarray) -> Null:
    """Probability in proportion to area inside the municipality."""
    total = float(areas.sum())
    if not total > 0:
        raise VeiligError("exposure: the study area has no area")
    return Null(areas / total, NULL_UNIFORM, 0.0, describe(NULL_UNIFORM, 0.0))


def mixed_null(counts: np.ndarray, areas: np.ndarray, null_model: str, area_mix: float = AREA_MIX) -> Null:
    """``(1 - area_mix) * counts / sum(counts) + area_mix * areas / sum(areas)``: no cell with area has p = 0."""
    counts = np.asarray(counts, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64)
    if not (0.0 < area_mix <= 1.0):
        raise VeiligError(f"area_mix must lie in (0, 1], got {area_mix!r}")
    tc, ta = float(counts.sum()), float(areas.sum())
    if not ta > 0:
        raise VeiligError("exposure: the study area has no area")
    if not tc > 0:
        raise VeiligError("exposure: no dwellings or inhabitants inside Zoetermeer")
    share = (1.0 - area_mix) * counts / tc + area_mix * areas / ta
    return Null(share, null_model, float(area_mix), describe(null_model, area_mix))


def spread_cells(cells: ExposureCells, grid: StudyGrid, area, subdivisions: int = 10) -> np.ndarray:
    """The imported squares' values spread over the grid by overlap, inside ``area`` only: shape (ny, nx).

    Each square is cut into ``subdivisions``² equal parts carrying an equal share of its value;
    a part counts where its centre lies, and only when that is inside the municipality (the
    dwellings of a square the boundary crosses are taken as spread evenly over the square).
    With 10 m parts the overlap error is at most a 10 m strip per cell edge. O(squares * 100).
    """
    k = int(subdivisions)
    off = (np.arange(k) + 0.5) * (cells.size / k)
    ox, oy = np.meshgrid(off, off)
    px = (cells.x[:, None] + ox.ravel()[None, :]).ravel()
    py = (cells.y[:, None] + oy.ravel()[None, :]).ravel()
    pv = np.repeat(cells.value / (k * k), k * k)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, px, py)
    px, py, pv = px[inside], py[inside], pv[inside]
    out = np.zeros(grid.ny * grid.nx, dtype=np.float64)
    if px.size:
        row, col = grid.locate(px, py)
        np.add.at(out, row * grid.nx + col, pv)
    return out.reshape(grid.ny, grid.nx)


def grid_null(grid: StudyGrid, areas: np.ndarray, cells: ExposureCells | None = None,
              area: object | None = None, area_mix: float = AREA_MIX) -> Null:
    """The null over the grid cells: by area, or by imported 100 m counts mixed with area."""
    if cells is None or len(cells.x) == 0:
        return uniform_null(areas)
    if area is None:
        area = load_gemeente().geometry.iloc[0]
    counts = _spread_cached(cells, grid, area)
    return mixed_null(counts, areas, cells.null_model, area_mix)


_SPREAD_CACHE: dict[tuple, np.ndarray] = {}


def _spread_cached(cells: ExposureCells, grid: StudyGrid, area) -> np.ndarray:
    key = (cells.key(), grid.x0, grid.y0, grid.cell, grid.nx, grid.ny, shapely.to_wkb(area))
    hit = _SPREAD_CACHE.get(key)
    if hit is None:
        hit = spread_cells(cells, grid, area)
        hit.flags.writeable = False
        if len(_SPREAD_CACHE) > 8:
            _SPREAD_CACHE.clear()
        _SPREAD_CACHE[key] = hit
    return hit


def buurt_null(buurten, stats: pd.DataFrame | None, area_mix: float = AREA_MIX) -> tuple[Null, str | None]:
    """The null over the buurten: dwellings per buurt when every buurt has a figure, else area.

    Returns the null and, when dwellings were given for only some buurten, a Dutch message
    saying why the area was used instead (a null over a part of the city is no null).
    """
    areas = shapely.area(np.asarray(buurten.geometry.values))
    if stats is None or not len(stats) or "dwellings" not in stats.columns:
        return uniform_null(areas), None
    last = stats.drop_duplicates("statcode", keep="last").set_index("statcode")
    d = pd.to_numeric(last["dwellings"], errors="coerce").reindex(pd.Index(buurten["statcode"].to_numpy()))
    d = d.to_numpy(dtype=np.float64)
    if np.isnan(d).all():
        return uniform_null(areas), None
    if np.isnan(d).any() or not np.nansum(d) > 0:
        missing = int(np.isnan(d).sum())
        return uniform_null(areas), (f"woningaantallen ontbreken voor {missing} buurt(en): de buurtstatistiek "
                                     "verwacht incidenten naar oppervlakte, niet naar woningen")
    return mixed_null(d, areas, NULL_DWELLINGS_BUURT, area_mix), None


# ------------------------------------------------------------------------------ reading a grid file


def parse_cell_code(code: str) -> tuple[float, float, float]:
    """A CBS square code as (x, y, size) of its lower-left corner in RD New metres.

    ``E0934N4545`` (or ``N4545E0934``, optionally prefixed ``crs28992res100m``) is the square whose
    lower-left corner lies at x = 93,400 m, y = 454,500 m: E and N are whole hectometres
    (CBS, *Statistische gegevens per vierkant*, "Codering vierkant"); the size is 100 m unless the
    code says ``res500m``.
    """
    text = str(code).strip().upper().replace("_", "").replace(" ", "")
    m = _CODE_RE.match(text)
    if not m:
        raise ValueError(f"'{code}' is not a CBS square code such as E0934N4545")
    e = m.group("e1") or m.group("e2")
    n = m.group("n1") or m.group("n2")
    size = float(m.group("res")) if m.group("res") else 100.0
    return int(e) * 100.0, int(n) * 100.0, size


def _find_column(columns: list[str], names: tuple[str, ...], contains: bool = False) -> str | None:
    low = {c.lower().strip(): c for c in columns}
    for n in names:
        if n in low:
            return low[n]
    if contains:
        for n in names:
            for lc, c in low.items():
                if n in lc:
                    return c
    return None


def read_exposure_file(path: str | Path, column: str | None = None, kind: str | None = None) -> ExposureCells:
    """Read a 100 m grid of dwellings or inhabitants (CSV or GeoPackage); all rows checked, all or nothing.

    Parameters
    ----------
    path : str or Path
        CSV (``;`` or ``,``) or GeoPackage with, per square, either a CBS cell code
        (``crs28992res100m`` / ``vierkant`` / ``code``: ``E0934N4545``) or the RD lower-left corner
        (``x``, ``y``), plus a value column. A GeoPackage without a code or corner columns takes
        the lower-left corner of each polygon's bounds.
    column : str, optional
        The value column; default the first of ``aantal_woningen``/``woningen``/``dwellings``,
        else ``aantal_inwoners``/``inwoners``/``inhabitants``.
    kind : {'dwellings', 'inhabitants'}, optional
        What the column counts; default from its name.

    Raises
    ------
    VeiligError
        In Dutch, naming the file, row and field: unreadable file, no value or location column, a
        code that is not a CBS code, a corner that is not on the 100 m lattice, a negative value
        (other than CBS's special codes), a square given twice, no square with a value.

    Notes
    -----
    CBS marks hidden values with negative codes (-99997 "geheim"); those squares count as 0
    (the area share of the null still gives them a positive probability) and are reported.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    geometry = None
    try:
        if suffix == ".gpkg":
            import pyogrio

            gdf = pyogrio.read_dataframe(path)
            if gdf.crs is not None and gdf.crs.to_epsg() not in (28992, None):
                raise VeiligError(f"{name}: CRS {gdf.crs.to_string()} is not RD New (EPSG:28992)")
            geometry = gdf.geometry.values if "geometry" in gdf else None
            df = pd.DataFrame(gdf.drop(columns="geometry", errors="ignore")).astype(str)
        elif suffix in (".csv", ".txt"):
            df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python",
                             encoding="utf-8-sig")
        else:
            raise VeiligError(f"{name}: use a .csv or .gpkg file")
    except VeiligError:
        raise
    except Exception as exc:  # pyogrio/pandas raise many kinds for an unreadable file
        raise VeiligError(f"{name}: geen leesbaar bestand ({type(exc).__name__}: {exc})".split("\n")[0]) from exc
    cols = list(df.columns)
    if column is not None:
        vcol = _find_column(cols, (column.lower(),))
        if vcol is None:
            raise VeiligError(f"{name}: kolom '{column}' ontbreekt (kolommen: {', '.join(cols)})")
    else:
        vcol = _find_column(cols, EXPOSURE_KINDS["dwellings"][:4]) or _find_column(
            cols, EXPOSURE_KINDS["inhabitants"][:3])
        if vcol is None:
            raise VeiligError(f"{name}: geen kolom met woningen of inwoners (bijv. 'aantal_woningen'); "
                              "geef de kolom met --column")
    if kind is None:
        lc = vcol.lower()
        kind = "inhabitants" if any(k in lc for k in EXPOSURE_KINDS["inhabitants"]) else "dwellings"
    if kind not in EXPOSURE_KINDS:
        raise VeiligError(f"kind: '{kind}' is not one of {', '.join(EXPOSURE_KINDS)}")

    n = len(df)
    if n == 0:
        raise VeiligError(f"{name}: het bestand bevat geen vierkanten")
    code_col = _find_column(cols, _CODE_COLUMNS)
    xcol, ycol = _find_column(cols, _X_COLUMNS), _find_column(cols, _Y_COLUMNS)
    problems: list[str] = []
    xs = np.full(n, np.nan)
    ys = np.full(n, np.nan)
    sizes = np.full(n, 100.0)
    if code_col is not None:
        for i, code in enumerate(df[code_col].tolist()):
            try:
                xs[i], ys[i], sizes[i] = parse_cell_code(code)
            except ValueError:
                problems.append(f"{name}, rij {i + 1}, veld {code_col}: '{code}' is geen CBS-vierkantcode "
                                "(zoals E0934N4545)")
    elif xcol is not None and ycol is not None:
        xs = pd.to_numeric(df[xcol].str.replace(",", "."), errors="coerce").to_numpy(dtype=np.float64)
        ys = pd.to_numeric(df[ycol].str.replace(",", "."), errors="coerce").to_numpy(dtype=np.float64)
        for i in np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys))):
            problems.append(f"{name}, rij {i + 1}, veld {xcol}/{ycol}: geen RD-coördinaat "
                            f"('{df[xcol].iloc[i]}', '{df[ycol].iloc[i]}')")
    elif geometry is not None:
        b = shapely.bounds(geometry)
        xs, ys = b[:, 0], b[:, 1]
        w = b[:, 2] - b[:, 0]
        sizes = np.where(np.isfinite(w), np.round(w), 100.0)
        for i in np.flatnonzero(~np.isfinite(xs)):
            problems.append(f"{name}, rij {i + 1}, veld geometry: lege of ontbrekende geometrie")
    else:
        raise VeiligError(f"{name}: geen kolom met de vierkantcode ('crs28992res100m', 'vierkant') "
                          "of de linkeronderhoek ('x', 'y')")
    size = 100.0
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.any():
        uniq = np.unique(sizes[ok])
        if uniq.size > 1:
            raise VeiligError(f"{name}: vierkanten van verschillende grootte ({', '.join(f'{s:g}' for s in uniq)} m)")
        size = float(uniq[0])
        if size not in (100.0, 500.0):
            raise VeiligError(f"{name}: vierkanten van {size:g} m; verwacht 100 m (of 500 m)")
    for i in np.flatnonzero(ok):
        if not (_RD_BOUNDS[0] <= xs[i] <= _RD_BOUNDS[2] and _RD_BOUNDS[1] <= ys[i] <= _RD_BOUNDS[3]):
            problems.append(f"{name}, rij {i + 1}: ({xs[i]:g}, {ys[i]:g}) ligt niet in Nederland (RD New)")
        elif not (math.isclose(xs[i] / size, round(xs[i] / size), abs_tol=1e-6)
                  and math.isclose(ys[i] / size, round(ys[i] / size), abs_tol=1e-6)):
            problems.append(f"{name}, rij {i + 1}: hoek ({xs[i]:g}, {ys[i]:g}) ligt niet op het "
                            f"{size:g} m-raster van CBS")
    raw = df[vcol].astype(str).str.strip().str.replace(",", ".", regex=False)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    special = (values >= CBS_SPECIAL_MIN) & (values <= CBS_SPECIAL_MAX)
    for i in np.flatnonzero(~np.isfinite(values) & (raw.to_numpy() != "")):
        problems.append(f"{name}, rij {i + 1}, veld {vcol}: '{df[vcol].iloc[i]}' is geen getal")
    for i in np.flatnonzero(np.isfinite(values) & (values < 0) & ~special):
        problems.append(f"{name}, rij {i + 1}, veld {vcol}: {values[i]:g} is negatief")
    keys = np.where(ok, np.round(xs) * 1e6 + np.round(ys), np.nan)
    seen: dict[float, int] = {}
    for i in np.flatnonzero(ok):
        k = float(keys[i])
        if k in seen:
            problems.append(f"{name}, rij {i + 1}: vierkant ({xs[i]:g}, {ys[i]:g}) staat ook op rij {seen[k]}")
        else:
            seen[k] = i + 1
    if problems:
        shown = problems[:50] + ([f"... en nog {len(problems) - 50}"] if len(problems) > 50 else [])
        raise VeiligError(f"{name}: geweigerd, niets geïmporteerd:\n" + "\n".join(shown))
    notes = []
    if special.any():
        notes.append(f"{int(special.sum())} vierkant(en) met een CBS-geheimhoudingscode tellen als 0")
    values = np.where(special | ~np.isfinite(values), 0.0, values)
    if not values.sum() > 0:
        raise VeiligError(f"{name}: geen enkel vierkant met {vcol} > 0")
    return ExposureCells(x=xs.astype(np.float64), y=ys.astype(np.float64), value=values, kind=kind,
                         size=size, source=name, notes=tuple(notes))
