"""Writers for hotspot results: GeoJSON in WGS84 (one FeatureCollection) and GeoPackage in RD New (a layer per kind).

Both are deterministic: the same result gives the same bytes, so an export can be checked into a
case file and compared later. Incident points and free text are never written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from veilig.errors import VeiligError

from .crs import WGS84

#: GeoPackage layer per feature kind.
GPKG_LAYERS: dict[str, str] = {"cluster": "clusters", "grid": "grid", "buurt": "buurten"}
_GPKG_GEOMETRY: dict[str, str] = {"cluster": "MultiPolygon", "grid": "Polygon", "buurt": "MultiPolygon"}

#: Decimals of WGS84 coordinates (1e-7 degree is about 1 cm).
WGS84_DECIMALS = 7


def _plain(value):
    """A JSON-ready Python value: numpy scalars unwrapped, NaN and missing values as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def _feature_key(kind: str, row: dict) -> str:
    key = {"cluster": "cluster_id", "grid": "cell_id", "buurt": "statcode"}[kind]
    return f"{kind}-{row[key]}"


def geojson_bytes(result) -> bytes:
    """The result as one GeoJSON FeatureCollection (RFC 7946, WGS84), UTF-8 bytes.

    Features come in the order clusters (by ``cluster_id``), grid cells (south to north, west to
    east), buurten (by ``statcode``); coordinates have 7 decimals. A ``metadata`` member records
    the category, period, parameters and messages. Deterministic; O(features).
    """
    parts = []
    for kind, gdf in result.layers().items():
        if len(gdf) == 0:
            continue
        wgs = gdf.to_crs(WGS84)
        geoms = shapely.transform(wgs.geometry.values, lambda c: np.round(c, WGS84_DECIMALS))
        geoms_json = shapely.to_geojson(geoms)
        props = wgs.drop(columns="geometry").to_dict("records")
        for p, g in zip(props, geoms_json):
            p = {k: _plain(v) for k, v in p.items()}
            head = json.dumps({"type": "Feature", "id": _feature_key(kind, p), "properties": p},
                              ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            parts.append(head[:-1] + ',"geometry":' + g + "}")
    meta = json.dumps(_plain(result.metadata()), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = '{"type":"FeatureCollection","name":"veilig_hotspots","metadata":' + meta + \
        ',"features":[' + ",".join(parts) + "]}\n"
    return text.encode("utf-8")


def hotspots_geojson(result) -> dict:
    """The result as a GeoJSON FeatureCollection dict (WGS84); see :func:`geojson_bytes`."""
    return json.loads(geojson_bytes(result))


def _atomic_write(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_geojson(result, path: str | Path) -> Path:
    """Write :func:`geojson_bytes` to ``path`` (atomically)."""
    path = Path(path)
    data = geojson_bytes(result)
    _atomic_write(path, lambda p: p.write_bytes(data))
    return path


@contextmanager
def _gdal_date(stamp: str) -> Iterator[None]:
    # GeoPackage stores a "last change" timestamp; pinning it makes the file's bytes reproducible.
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _gpkg_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == "geometry" or out[col].dtype != object:
            continue
        sample = next((v for v in out[col] if v is not None), None)
        if isinstance(sample, list):
            out[col] = [",".join(map(str, v)) for v in out[col]]
        elif isinstance(sample, dict):
            out[col] = [json.dumps(_plain(v), separators=(",", ":")) for v in out[col]]
    return out


def write_geopackage(result, path: str | Path) -> Path:
    """Write the result as a GeoPackage in RD New (EPSG:28992): layers ``clusters``, ``grid``, ``buurten``.

    List and dict fields (``buurten``, ``buurt_shares``) become text (comma-separated, JSON).
    Empty layers are written with their fields. The timestamp inside the file is the period's end,
    so the same result gives the same bytes.
    """
    path = Path(path)
    meta = {k: json.dumps(_plain(v), ensure_ascii=False) if not isinstance(v, str) else v
            for k, v in result.metadata().items()}
    stamp = f"{result.end.isoformat() if result.end else '1970-01-01'}T00:00:00.000Z"

    def writer(tmp: Path) -> None:
        with _gdal_date(stamp):
            for kind, gdf in result.layers().items():
                pyogrio.write_dataframe(
                    _gpkg_frame(gdf), tmp, layer=GPKG_LAYERS[kind], driver="GPKG",
                    geometry_type=_GPKG_GEOMETRY[kind], promote_to_multi=kind in ("buurt", "cluster"),
                    append=tmp.exists(), layer_metadata=meta if kind == "cluster" else None,
                )

    _atomic_write(path, writer)
    return path


def write_hotspots(result, path: str | Path) -> Path:
    """Write ``.geojson``/``.json`` (WGS84) or ``.gpkg`` (RD New) by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return write_geojson(result, path)
    if suffix == ".gpkg":
        return write_geopackage(result, path)
    raise VeiligError(f"out: '{path.name}' must end in .geojson or .gpkg")
