"""Geometry at the map's edge: RD New -> WGS84, and the compact payloads the runtime draws.

Reprojection from RD New to WGS84 happens here; coordinates go to the browser quantized to
1/:data:`COORD_SCALE` degree and delta-encoded (:func:`encode_polygons`), in the JSON that a
:class:`veilig.maps.runtime.DataLayer` hands to the page's runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import shapely

from veilig.errors import VeiligError
from veilig.geo.crs import RD_NEW, WGS84

from .text import escape_html

#: Coordinates go to the browser as integers of 1e-5 degree (about 1 m): plenty for a city map.
COORD_SCALE = 100_000


# ----------------------------------------------------------------------------- reprojection


def require_rd(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Refuse a layer that is not in RD New (never guess a CRS)."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise VeiligError(f"{name}: expected a GeoDataFrame in {RD_NEW}, got {type(gdf).__name__}")
    if len(gdf) and (gdf.crs is None or gdf.crs.to_epsg() != 28992):
        raise VeiligError(f"{name}: must be in RD New ({RD_NEW}), found {gdf.crs}")
    return gdf


def to_wgs84(gdf: gpd.GeoDataFrame, name: str, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
    """RD New -> WGS84 at the map's edge; optionally simplified first (tolerance in metres)."""
    require_rd(gdf, name)
    if not len(gdf):
        return gdf.set_crs(WGS84, allow_override=True) if gdf.crs is None else gdf.to_crs(WGS84)
    out = gdf
    if simplify_m > 0:
        out = gdf.copy()
        out["geometry"] = shapely.simplify(gdf.geometry.values, simplify_m, preserve_topology=True)
    return out.to_crs(WGS84)


def points_to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RD New x, y (metres) -> WGS84 (lat, lon) arrays, vectorised."""
    lon, lat = _transformer().transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    return np.asarray(lat), np.asarray(lon)


_LOCAL = threading.local()


def _transformer():
    # One per thread: the API builds maps in a thread pool, and a pyproj Transformer is not
    # meant to be shared between threads.
    tr = getattr(_LOCAL, "rd_to_wgs84", None)
    if tr is None:
        from pyproj import Transformer

        tr = _LOCAL.rd_to_wgs84 = Transformer.from_crs(RD_NEW, WGS84, always_xy=True)
    return tr


# ------------------------------------------------------------------ compact geometry encoding


def quantize(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Degrees -> integers of 1/:data:`COORD_SCALE` degree."""
    return (np.rint(np.asarray(lat) * COORD_SCALE).astype(np.int64),
            np.rint(np.asarray(lon) * COORD_SCALE).astype(np.int64))


def encode_polygons(geoms: Sequence, origin: Sequence[int]) -> list[list[list[list[int]]] | None]:
    """(Multi)Polygons in WGS84 -> per geometry ``[[ring, hole, ...], ...]`` of integer rings, vectorised.

    A ring is ``[dlat, dlon, dlat, dlon, ...]`` in 1/:data:`COORD_SCALE` degree, its first vertex
    relative to ``origin`` and every other one to the vertex before; vertices that coincide after
    rounding and the closing vertex are dropped, as is a ring left with fewer than three vertices
    (an exterior takes its holes with it). None for a geometry with nothing left to draw.
    O(total vertices) in numpy, one Python step per ring.
    """
    geoms = np.asarray(list(geoms), dtype=object)
    out: list = [None] * len(geoms)
    if not len(geoms):
        return out
    parts, part_geom = shapely.get_parts(geoms, return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    parts, part_geom = parts[polygon], part_geom[polygon]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    if not len(rings):
        return out
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    qlat, qlon = quantize(coords[:, 1], coords[:, 0])
    # Drop each ring's closing vertex, then vertices equal to the one before in the same ring.
    last = np.r_[coord_ring[1:] != coord_ring[:-1], True]
    qlat, qlon, coord_ring = qlat[~last], qlon[~last], coord_ring[~last]
    same_ring = np.r_[False, coord_ring[1:] == coord_ring[:-1]]
    dup = same_ring & np.r_[False, (qlat[1:] == qlat[:-1]) & (qlon[1:] == qlon[:-1])]
    qlat, qlon, coord_ring = qlat[~dup], qlon[~dup], coord_ring[~dup]
    first = np.r_[True, coord_ring[1:] != coord_ring[:-1]]
    dlat = np.diff(qlat, prepend=0)
    dlon = np.diff(qlon, prepend=0)
    dlat[first] = qlat[first] - int(origin[0])
    dlon[first] = qlon[first] - int(origin[1])
    flat = np.empty(2 * qlat.size, dtype=np.int64)
    flat[0::2], flat[1::2] = dlat, dlon
    flat_list = flat.tolist()
    starts = np.flatnonzero(first)
    ring_ids = coord_ring[starts]
    ends = np.r_[starts[1:], qlat.size]
    ring_len = np.zeros(len(rings), dtype=np.int64)
    ring_start = np.zeros(len(rings), dtype=np.int64)
    ring_len[ring_ids] = ends - starts
    ring_start[ring_ids] = starts
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    current_part, skip_part = -1, False
    for r in range(len(rings)):
        pi = int(ring_part[r])
        if pi != current_part:
            current_part, skip_part = pi, False
        if skip_part:
            continue
        if ring_len[r] < 3:
            skip_part = bool(exterior[r])
            continue
        gi = int(part_geom[pi])
        if out[gi] is None:
            out[gi] = []
        if exterior[r]:
            out[gi].append([])
        a = 2 * int(ring_start[r])
        out[gi][-1].append(flat_list[a:a + 2 * int(ring_len[r])])
    return out


def centre_of(geom) -> tuple[float, float] | None:
    """A point inside the geometry (WGS84 lat, lon), for labels."""
    if geom is None or geom.is_empty:
        return None
    p = geom.representative_point()
    return (p.y, p.x)


# ------------------------------------------------------------------ payloads for the runtime


def polygon_payload(
    geoms_wgs84: Iterable,
    style_index: Iterable[int],
    styles: Sequence[dict],
    tooltip: str | None,
    values: Iterable[Sequence] | None,
    labels: Iterable[str | None] | None = None,
    style_labels: Sequence[str] | None = None,
) -> dict:
    """The compact JSON a ``polygons`` :class:`DataLayer` draws.

    ``tooltip`` is trusted HTML with ``{0}``, ``{1}``, ... placeholders filled per feature from
    ``values``, which must already be escaped (:func:`escape_html`) or numbers, and ``{s}``
    filled with the feature's entry of ``style_labels`` (escaped here). ``labels`` are
    permanent labels (escaped here) at a point inside each feature.
    """
    geoms = list(geoms_wgs84)
    values = list(values) if values is not None else [None] * len(geoms)
    labels = list(labels) if labels is not None else [None] * len(geoms)
    origin = _origin(geoms)
    encoded = encode_polygons(geoms, origin)
    features = []
    for geom, enc, si, vals, label in zip(geoms, encoded, style_index, values, labels, strict=True):
        if enc is None:
            continue
        feat: list = [enc, int(si), list(vals) if vals is not None else []]
        if label is not None:
            c = centre_of(geom)
            qlat, qlon = quantize(np.array([c[0]]), np.array([c[1]]))
            feat.append([int(qlat[0]), int(qlon[0]), escape_html(label)])
        features.append(feat)
    payload = {"o": list(origin), "q": COORD_SCALE, "s": list(styles), "f": features}
    if tooltip:
        payload["t"] = tooltip
    if style_labels is not None:
        payload["sl"] = [escape_html(x) for x in style_labels]
    if any(lbl is not None for lbl in labels):
        payload["lbl"] = 1
    return payload


def symbol_payload(
    latlons: Iterable[tuple[float, float]],
    radii: Iterable[float],
    style: dict,
    tooltip: str | None,
    values: Iterable[Sequence],
) -> dict:
    """The compact JSON of a ``symbols`` :class:`DataLayer`: circles of a given pixel radius.

    ``values`` fill ``tooltip`` as in :func:`polygon_payload` (escaped by the caller).
    """
    features = []
    for (lat, lon), r, vals in zip(latlons, radii, values, strict=True):
        qlat, qlon = quantize(np.array([lat]), np.array([lon]))
        features.append([int(qlat[0]), int(qlon[0]), round(float(r), 1), list(vals)])
    payload = {"q": COORD_SCALE, "s": dict(style), "f": features}
    if tooltip:
        payload["t"] = tooltip
    return payload


def _origin(geoms: Sequence) -> tuple[int, int]:
    """The south-west corner of the features, quantized: keeps the first deltas short."""
    b = shapely.bounds(np.asarray(list(geoms), dtype=object)) if len(geoms) else np.empty((0, 4))
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return (0, 0)
    qlat, qlon = quantize(np.array([b[:, 1].min()]), np.array([b[:, 0].min()]))
    return (int(qlat[0]), int(qlon[0]))


def bounds_of(*layers: gpd.GeoDataFrame) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """WGS84 ((south, west), (north, east)) around the non-empty layers, None when all are empty."""
    boxes = [gdf.total_bounds for gdf in layers if gdf is not None and len(gdf) and not gdf.geometry.is_empty.all()]
    if not boxes:
        return None
    b = np.asarray(boxes)
    return ((float(b[:, 1].min()), float(b[:, 0].min())), (float(b[:, 3].max()), float(b[:, 2].max())))
