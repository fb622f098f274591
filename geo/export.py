"""Writers for hotspot results: GeoJSON in WGS84 (one FeatureCollection) and GeoPackage in RD New (a layer per kind).

Both are deterministic: the same result gives the same bytes, so an export can be checked into a
case file and compared later. Incident points and free text are never written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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


#: Columns that hold a count: written as INTEGER (NULL where hidden), never as REAL or text.
COUNT_COLUMNS = ("n_incidents", "n_previous", "n_clusters", "observed", "cluster_id", "gi_class",
                 "n_significant_hot", "n_significant_cold", "last_class", "count", "days_left")
#: Columns that hold a date: written as DATETIME (GeoPackage), not text.
DATE_COLUMNS = ("first_date", "last_date", "step_start", "step_end", "burglary_date", "expires_on")

#: Dutch layer descriptions (gpkg_contents.description), by layer name.
LAYER_DESCRIPTIONS: dict[str, str] = {
    "clusters": "Hotspotgebieden (clusters) met waargenomen en verwachte aantallen",
    "grid": "Getis-Ord Gi* per cel van 100 m (klasse na FDR-correctie)",
    "buurten": "Aantallen en Gi* per CBS-buurt",
    "cluster_buurten": "Aandeel van elk hotspotgebied per buurt (gerelateerde tabel)",
    "incidenten": "Incidentpunten (alleen voor analisten; bevat geen vrije tekst)",
    "locations": "Opkomende hotspots: patroon per locatie (Gi* in ruimte en tijd, Mann-Kendall-trend)",
    "bins": "Opkomende hotspots: aantal en Gi* per locatie en tijdstap (gerelateerde tabel, via location_id)",
    "zones": "Inbraakalert: zones met verhoogd near-repeatrisico op de gekozen datum (alleen voor analisten)",
    "zone_buurten": "Buurten die elke inbraakalertzone raakt (gerelateerde tabel, via zone_id)",
    "layer_styles": "Opmaak van de lagen voor QGIS (wordt bij openen toegepast)",
}


def gpkg_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Typed for a GeoPackage: counts as (nullable) integers, dates as DATETIME, lists as text,
    and no dict columns (those become related tables, see :func:`_related_tables`)."""
    out = gdf.copy()
    for col in list(out.columns):
        if col == "geometry":
            continue
        if col in COUNT_COLUMNS:
            out[col] = pd.array(pd.to_numeric(out[col], errors="coerce").round(), dtype="Int64")
            continue
        if col in DATE_COLUMNS:
            out[col] = pd.to_datetime(out[col], errors="coerce")
            continue
        if out[col].dtype != object:
            continue
        sample = next((v for v in out[col] if v is not None), None)
        if isinstance(sample, list):
            out[col] = [",".join(map(str, v)) if isinstance(v, list) else None for v in out[col]]
        elif isinstance(sample, dict):
            out = out.drop(columns=col)
    return out


def _related_tables(result) -> dict[str, pd.DataFrame]:
    """``buurt_shares`` of every cluster as the table (cluster_id, statcode, share)."""
    clusters = result.layers().get("cluster")
    rows = []
    if clusters is not None and "buurt_shares" in clusters.columns:
        for cid, shares in zip(clusters["cluster_id"], clusters["buurt_shares"]):
            if isinstance(shares, dict):
                rows.extend((int(cid), str(code), float(share)) for code, share in sorted(shares.items()))
    frame = pd.DataFrame(rows, columns=["cluster_id", "statcode", "share"])
    frame["cluster_id"] = frame["cluster_id"].astype("int64")
    frame["share"] = frame["share"].astype("float64")
    return {"cluster_buurten": frame}


def _layer_styles_frame(styles: dict[str, tuple[str, str]], geometry_column: str, stamp: str) -> pd.DataFrame:
    """The ``layer_styles`` table QGIS reads (and writes): one default style per layer."""
    rows = [{
        "f_table_catalog": "", "f_table_schema": "", "f_table_name": layer,
        "f_geometry_column": geometry_column, "styleName": name, "styleQML": qml, "styleSLD": "",
        "useAsDefault": True, "description": f"veilig: {name}", "owner": "veilig", "ui": "",
        "update_time": pd.Timestamp(stamp.rstrip("Z")),
    } for layer, (name, qml) in sorted(styles.items())]
    frame = pd.DataFrame(rows, columns=["f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
                                        "styleName", "styleQML", "styleSLD", "useAsDefault", "description",
                                        "owner", "ui", "update_time"])
    frame["useAsDefault"] = frame["useAsDefault"].astype(bool)
    frame["update_time"] = pd.to_datetime(frame["update_time"])
    return frame


@dataclass(frozen=True)
class GpkgLayer:
    """One table of a GeoPackage: a (Geo)DataFrame, written typed (:func:`gpkg_frame`) unless ``typed`` is off.

    ``geometry_type`` is None for an attribute table (no geometry); ``layer_metadata`` goes into
    the layer's own metadata (``gpkg_metadata_reference``).
    """

    name: str
    frame: pd.DataFrame
    geometry_type: str | None = None
    promote_to_multi: bool = False
    layer_metadata: dict[str, str] | None = None
    typed: bool = True


def metadata_strings(metadata: dict) -> dict[str, str]:
    """A metadata dict as GDAL writes it: strings as they are, everything else as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(_plain(v), ensure_ascii=False) for k, v in metadata.items()}


def write_layers_geopackage(path: str | Path, layers: Sequence[GpkgLayer], *, metadata: dict, stamp: date | None,
                            styles: dict[str, tuple[str, str]] | None = None, attribution: str | None = None,
                            descriptions: dict[str, str] | None = None) -> Path:
    """Write ``layers`` as one GeoPackage 1.2 (atomically); the one GeoPackage writer of veilig.

    ``metadata`` (the analysis: parameters, period, null model, synthetic or not) and
    ``attribution`` go into the GeoPackage metadata tables (``gpkg_metadata``, written by GDAL);
    ``descriptions`` (layer -> Dutch text; default :data:`LAYER_DESCRIPTIONS`) into
    ``gpkg_contents.description``; ``styles`` (layer -> (style name, QML)) into the
    ``layer_styles`` table QGIS applies on opening. Version 1.2, not GDAL's default 1.4: QGIS 3.22
    LTR warns on every layer of a 1.4 file and no 1.4 feature is needed. The timestamp inside the
    file is ``stamp`` (the period's end), so the same input gives the same bytes.
    """
    path = Path(path)
    meta = metadata_strings(metadata)
    if attribution:
        meta["attribution"] = attribution
    described = {**LAYER_DESCRIPTIONS, **(descriptions or {})}
    when = f"{stamp.isoformat() if stamp else '1970-01-01'}T00:00:00.000Z"

    def writer(tmp: Path) -> None:
        with _gdal_date(when):
            first = True

            def put(frame, layer: str, **kwargs) -> None:
                nonlocal first
                pyogrio.write_dataframe(
                    frame, tmp, layer=layer, driver="GPKG", append=not first,
                    dataset_options={"VERSION": "1.2"} if first else None,
                    dataset_metadata=meta if first else None,
                    layer_options={"DESCRIPTION": described.get(layer, layer)}, **kwargs)
                first = False

            for lay in layers:
                frame = gpkg_frame(lay.frame) if lay.typed else lay.frame
                kwargs = {"layer_metadata": metadata_strings(lay.layer_metadata)} if lay.layer_metadata else {}
                if lay.geometry_type is not None:
                    kwargs.update(geometry_type=lay.geometry_type, promote_to_multi=lay.promote_to_multi)
                put(frame, lay.name, **kwargs)
            if styles:
                put(_layer_styles_frame(styles, "geom", when), "layer_styles")

    _atomic_write(path, writer)
    return path


def write_geopackage(result, path: str | Path, *, styles: dict[str, tuple[str, str]] | None = None,
                     incidents: gpd.GeoDataFrame | None = None, attribution: str | None = None) -> Path:
    """Write the hotspot result as a GeoPackage 1.2 in RD New (EPSG:28992).

    Layers ``clusters``, ``grid``, ``buurten`` (and ``incidenten`` when ``incidents`` is given:
    the caller decides who may have them), the related table ``cluster_buurten`` (cluster, buurt,
    share) instead of a JSON string, and, when ``styles`` is given, the ``layer_styles`` table.
    Counts are INTEGER (NULL where hidden), dates DATETIME; see :func:`write_layers_geopackage`
    for descriptions, metadata, attribution and the version.
    """
    layers = [GpkgLayer(GPKG_LAYERS[kind], gdf, _GPKG_GEOMETRY[kind], kind in ("buurt", "cluster"),
                        metadata_strings(result.metadata()) if kind == "cluster" else None)
              for kind, gdf in result.layers().items()]
    layers += [GpkgLayer(name, frame, typed=False) for name, frame in _related_tables(result).items()]
    if incidents is not None:
        layers.append(GpkgLayer("incidenten", incidents, "Point"))
    return write_layers_geopackage(path, layers, metadata=result.metadata(), stamp=result.end, styles=styles,
                                   attribution=attribution)


def write_hotspots(result, path: str | Path) -> Path:
    """Write ``.geojson``/``.json`` (WGS84) or ``.gpkg`` (RD New) by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return write_geojson(result, path)
    if suffix == ".gpkg":
        return write_geopackage(result, path)
    raise VeiligError(f"out: '{path.name}' must end in .geojson or .gpkg")
