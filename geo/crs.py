"""Coordinate reference systems: RD New inside the analysis, WGS84 only at the map's edge."""

from __future__ import annotations

import math
from functools import lru_cache

import pyproj

RD_NEW = "EPSG:28992"
WGS84 = "EPSG:4326"

#: The area where RD New is defined (EPSG's bounds, in metres): a coordinate outside it is no
#: place in the Netherlands, so no analysis ever has to handle it.
RD_BOUNDS = (-7000.0, 289000.0, 300000.0, 629000.0)
#: Zoetermeer's centre in RD New: a CRS is only accepted when this point survives the round trip.
_PROBE = (92500.0, 452500.0)


@lru_cache(maxsize=64)
def known_crs(text: str) -> pyproj.CRS | None:
    """The CRS named by ``text`` when it is a registered one (an EPSG code) that can place Zoetermeer.

    A hand-written PROJ string such as ``+proj=longlat +a=1e308`` parses, but has no authority
    and sends every point to infinity; veilig refuses such CRSs instead of storing nonsense.
    """
    try:
        crs = pyproj.CRS(text)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        return None
    try:
        # A registered CRS (EPSG, or OGC's CRS84 that GeoJSON writers declare).
        if crs.to_authority(min_confidence=70) is None:
            return None
        there = pyproj.Transformer.from_crs(RD_NEW, crs, always_xy=True)
        back = pyproj.Transformer.from_crs(crs, RD_NEW, always_xy=True)
        x, y = there.transform(*_PROBE, errcheck=True)
        bx, by = back.transform(x, y, errcheck=True)
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError):
        return None
    if not all(math.isfinite(v) for v in (x, y, bx, by)):
        return None
    if abs(bx - _PROBE[0]) > 5 or abs(by - _PROBE[1]) > 5:
        return None
    return crs
