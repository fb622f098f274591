"""Names of places a planner recognises for polygons that have none (hotspot areas): the buurt (or
buurten) an area lies in and where in it, e.g. ``"Centrum — noordoostelijk deel"`` or
``"Palenstein — midden, deels Driemanspolder"``.

A street or square name ("rond Stadhuisplein") needs a street register that veilig does not bundle;
the buurt and a compass part of it are what the CBS boundaries give, and they are never wrong.
Pure: polygons in, strings out (RD New metres).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from veilig.errors import VeiligError

#: A buurt is named beside the main one when it holds at least this share of the area.
SECOND_BUURT_SHARE = 0.25
#: Within this fraction of the buurt's radius from its centre an area is "midden".
CENTRE_FRACTION = 0.25
_DIRECTIONS = ("oostelijk", "noordoostelijk", "noordelijk", "noordwestelijk",
               "westelijk", "zuidwestelijk", "zuidelijk", "zuidoostelijk")


def _part_of(area: shapely.Geometry, buurt: shapely.Geometry) -> str:
    """Where in ``buurt`` the area lies: ``midden`` or a compass part."""
    c, b = area.centroid, buurt.centroid
    dx, dy = c.x - b.x, c.y - b.y
    radius = math.sqrt(max(buurt.area, 1.0) / math.pi)
    if math.hypot(dx, dy) <= CENTRE_FRACTION * radius:
        return "midden"
    sector = int(((math.degrees(math.atan2(dy, dx)) + 22.5) % 360) // 45)
    return f"{_DIRECTIONS[sector]} deel"


def place_names(polygons: gpd.GeoDataFrame, buurten: gpd.GeoDataFrame) -> list[str]:
    """A place name per polygon (same order); names that would repeat get a number: ``(2)``.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Areas in EPSG:28992.
    buurten : geopandas.GeoDataFrame
        ``statnaam`` and ``geometry`` in EPSG:28992.
    """
    for name, gdf in (("polygons", polygons), ("buurten", buurten)):
        if gdf.crs is None or gdf.crs.to_epsg() != 28992:
            raise VeiligError(f"the {name} must be in RD New (EPSG:28992), found {gdf.crs}")
    geoms = buurten.geometry.values
    names = list(buurten["statnaam"].astype(str))
    out: list[str] = []
    for geom in polygons.geometry.values:
        if geom is None or geom.is_empty:
            out.append("onbekende plek")
            continue
        overlap = shapely.area(shapely.intersection(geoms, geom))
        if overlap.max() <= 0:
            nearest = int(np.argmin(shapely.distance(geoms, geom)))
            out.append(f"bij {names[nearest]}")
            continue
        order = np.argsort(-overlap)
        main = int(order[0])
        label = f"{names[main]} — {_part_of(geom, geoms[main])}"
        share = overlap / overlap.sum()
        others = [names[int(i)] for i in order[1:3] if share[int(i)] >= SECOND_BUURT_SHARE]
        if others:
            label += ", deels " + " en ".join(others)
        out.append(label)
    seen: dict[str, int] = {}
    unique = []
    for label in out:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique
