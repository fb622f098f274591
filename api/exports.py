"""Files for people: GeoJSON for the web, GeoPackages styled for QGIS. Shared by the CLI and HTTP.

The one export helper for hotspots, emerging hot spots and the burglary alert zones. The caller
passes the result it may give (for non-analysts the disclosure layer's public view) and, for
analysts only, the incidents; this module adds the presentation (QGIS styles from
:mod:`veilig.maps.qgis`, the CBS/Kadaster attribution) that geo/ must not know about. The
GeoPackage itself (version 1.2, typed columns, Dutch layer descriptions, the analysis in the
metadata tables) is written by :func:`veilig.geo.export.write_layers_geopackage`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from veilig.errors import VeiligError


def attribution() -> str:
    """The attribution of the buurt and wijk boundaries every GeoPackage carries."""
    from veilig.geo.neighbourhoods import ATTRIBUTION

    return f"Grenzen: {ATTRIBUTION} (CC BY 4.0)"


def write_hotspot_file(result, path: str | Path, *, incidents: gpd.GeoDataFrame | None = None,
                       hidden_label: str = "<5 (verborgen)") -> Path:
    """Write ``.geojson``/``.json`` (WGS84) or a styled ``.gpkg`` (RD New) by the file's suffix.

    ``incidents`` (RD New points with ``category`` and ``occurred_at``; never free text) adds the
    ``incidenten`` layer to a GeoPackage: only for analysts, and the caller audits the read.
    """
    from veilig.geo.export import write_geojson, write_geopackage
    from veilig.maps.qgis import hotspot_styles

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        if incidents is not None:
            raise VeiligError("--with-incidents: de incidentlaag kan alleen in een GeoPackage (.gpkg)")
        return write_geojson(result, path)
    if suffix != ".gpkg":
        raise VeiligError(f"--out: '{path.name}' moet eindigen op .geojson of .gpkg")
    if incidents is not None:
        incidents = incidents.drop(columns=[c for c in ("description",) if c in incidents.columns])
    styles = hotspot_styles(result, hidden_label=hidden_label, with_incidents=incidents is not None)
    return write_geopackage(result, path, styles=styles, incidents=incidents,
                            attribution=attribution())


def write_emerging_file(result, path: str | Path) -> Path:
    """``.geojson``/``.json`` (WGS84), ``.csv`` or a styled ``.gpkg`` (RD New: ``locations`` by
    pattern in the map's colours, the table ``bins``) of an emerging hot spot result."""
    from veilig.geo.emerging_export import write_emerging
    from veilig.maps.qgis import emerging_styles

    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        return write_emerging(result, path, styles=emerging_styles(), attribution=attribution())
    return write_emerging(result, path)


ZONE_SUFFIXES = (".geojson", ".json", ".csv", ".gpkg")


def write_zones_file(zones: gpd.GeoDataFrame, path: str | Path, *, metadata: dict,
                     names: dict[str, str] | None = None) -> Path:
    """The burglary alert zones as ``.geojson``/``.json`` (WGS84), ``.csv`` (no geometry) or a styled
    ``.gpkg`` (RD New: ``zones`` as on the map, the related table ``zone_buurten``).

    ``metadata``: at least ``date`` (ISO), the window (``radius_m``, ``days``, ``window_source``)
    and ``synthetic``. The zones are discs around burglaries: analysts only, the caller audits.
    """
    from datetime import date

    from veilig.csvout import frame_csv
    from veilig.geo.export import _atomic_write, write_layers_geopackage
    from veilig.geo.nearrepeat_zones import zone_gpkg_layers
    from veilig.maps.qgis import zone_styles

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ZONE_SUFFIXES:
        raise VeiligError(f"--out: '{path.name}' moet eindigen op .geojson, .csv of .gpkg")
    if suffix == ".gpkg":
        return write_layers_geopackage(path, zone_gpkg_layers(zones, names), metadata=metadata,
                                       stamp=date.fromisoformat(metadata["date"]), styles=zone_styles(),
                                       attribution=attribution())
    flat = zones.assign(buurten=[",".join(b) for b in zones["buurten"]])
    if suffix == ".csv":
        text = frame_csv(flat.drop(columns="geometry"))
    else:
        text = flat.assign(burglary_date=flat["burglary_date"].astype(str),
                           expires_on=flat["expires_on"].astype(str)).to_crs(4326).to_json(drop_id=True)
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path


def incidents_layer(db, result) -> gpd.GeoDataFrame:
    """The incidents behind ``result`` (its categories and period) as RD New points, without free text."""
    from veilig.storage.incidents import load_incidents

    df = load_incidents(db, categories=list(result.categories), start=result.start, end=result.end)
    frame = df[["ext_id", "source", "category", "occurred_at", "buurt"]].rename(columns={"ext_id": "id"})
    frame = frame.assign(occurred_at=frame["occurred_at"].dt.tz_convert("UTC").dt.tz_localize(None))
    return gpd.GeoDataFrame(frame.astype({"id": str, "source": str, "category": str, "buurt": str}),
                            geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:28992")
