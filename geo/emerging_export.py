"""Writers for emerging hot spot results: GeoJSON (WGS84), GeoPackage (RD New) and CSV.

- GeoJSON: one FeatureCollection, one feature per location (``kind`` = ``location``) with its
  pattern (English name), trends and counts of significant bins; a ``metadata`` member with the
  period, steps, parameters and the null.
- GeoPackage: layer ``locations`` (polygons) and an attribute table ``bins`` with every
  location x step (``location_id``, ``step``, ``step_start``, ``step_end``, ``n_incidents``,
  ``expected``, ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``gi_class``), joined to the locations by
  ``location_id`` (136,000 rows for 36 months of the 100 m grid: a table, not 136,000 polygons).
- CSV: one row per location with its centre in RD New, through :mod:`veilig.csvout`.

Deterministic: the same result gives the same bytes. No incident points, no free text.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from veilig.csvout import frame_csv
from veilig.errors import VeiligError

from .crs import RD_NEW, WGS84
from .export import WGS84_DECIMALS, _atomic_write, _plain

SUFFIXES = (".geojson", ".json", ".gpkg", ".csv")


def location_frame(result, table: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """The per-location table with ``kind`` and the location polygons (EPSG:28992)."""
    t = result.locations if table is None else table
    gdf = gpd.GeoDataFrame(t.copy(), geometry=result.cube.locations.geometries, crs=RD_NEW)
    gdf.insert(0, "kind", "location")
    if gdf["name"].isna().all():
        gdf = gdf.drop(columns="name")
    return gdf


def emerging_geojson_bytes(result, table: pd.DataFrame | None = None, metadata: dict | None = None) -> bytes:
    """One FeatureCollection (RFC 7946, WGS84), one feature per location; UTF-8 bytes."""
    gdf = location_frame(result, table).to_crs(WGS84)
    geoms = shapely.transform(gdf.geometry.values, lambda c: np.round(c, WGS84_DECIMALS))
    geoms_json = shapely.to_geojson(geoms)
    parts = []
    for p, g in zip(gdf.drop(columns="geometry").to_dict("records"), geoms_json):
        p = {k: _plain(v) for k, v in p.items()}
        head = json.dumps({"type": "Feature", "id": f"location-{p['location_id']}", "properties": p},
                          ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        parts.append(head[:-1] + ',"geometry":' + g + "}")
    meta = json.dumps(_plain(metadata if metadata is not None else result.metadata()), ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)
    return ('{"type":"FeatureCollection","name":"veilig_emerging","metadata":' + meta
            + ',"features":[' + ",".join(parts) + "]}\n").encode("utf-8")


def emerging_csv_text(result, table: pd.DataFrame | None = None) -> str:
    """One row per location (no geometry; its centre ``x``, ``y`` in RD New metres)."""
    gdf = location_frame(result, table)
    c = shapely.centroid(gdf.geometry.values)
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["x"] = np.round(shapely.get_x(c), 1)
    frame["y"] = np.round(shapely.get_y(c), 1)
    return frame_csv(frame)


def emerging_gpkg_layers(result, table: pd.DataFrame | None = None, bins: pd.DataFrame | None = None) -> list:
    """The layers of an emerging GeoPackage: ``locations`` (polygons) and the table ``bins``."""
    from .export import GpkgLayer

    return [GpkgLayer("locations", location_frame(result, table), "MultiPolygon", promote_to_multi=True,
                      layer_metadata=result.metadata()),
            GpkgLayer("bins", result.bins() if bins is None else bins)]


def write_emerging(result, path: str | Path, *, styles: dict[str, tuple[str, str]] | None = None,
                   attribution: str | None = None) -> Path:
    """Write ``.geojson``/``.json`` (WGS84), ``.gpkg`` (RD New, with the bins table) or ``.csv``.

    A GeoPackage goes through :func:`veilig.geo.export.write_layers_geopackage` (version 1.2,
    typed columns, Dutch descriptions, the analysis in the metadata tables); ``styles`` and
    ``attribution`` come from the export edge (:func:`veilig.api.exports.write_emerging_file`).
    """
    from .export import write_layers_geopackage

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise VeiligError(f"--out: '{path.name}' moet eindigen op .geojson, .gpkg of .csv")
    if suffix in (".geojson", ".json"):
        data = emerging_geojson_bytes(result)
        _atomic_write(path, lambda p: p.write_bytes(data))
    elif suffix == ".csv":
        text = emerging_csv_text(result)
        _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    else:
        write_layers_geopackage(path, emerging_gpkg_layers(result), metadata=result.metadata(),
                                stamp=result.steps.end, styles=styles, attribution=attribution)
    return path
