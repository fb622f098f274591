"""Hotspot files for people: GeoJSON for the web, GeoPackage styled for QGIS. Shared by the CLI and HTTP.

The caller passes the result it may give (for non-analysts the disclosure layer's public view)
and, for analysts only, the incidents; this module adds the presentation (QGIS styles, Dutch
layer descriptions, attribution) that geo/ must not know about.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from veilig.errors import VeiligError


def write_hotspot_file(result, path: str | Path, *, incidents: gpd.GeoDataFrame | None = None,
                       hidden_label: str = "<5 (verborgen)") -> Path:
    """Write ``.geojson``/``.json`` (WGS84) or a styled ``.gpkg`` (RD New) by the file's suffix.

    ``incidents`` (RD New points with ``category`` and ``occurred_at``; never free text) adds the
    ``incidenten`` layer to a GeoPackage: only for analysts, and the caller audits the read.
    """
    from veilig.geo.export import write_geojson, write_geopackage
    from veilig.geo.neighbourhoods import ATTRIBUTION
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
                            attribution=f"Grenzen: {ATTRIBUTION} (CC BY 4.0)")


def incidents_layer(db, result) -> gpd.GeoDataFrame:
    """The incidents behind ``result`` (its categories and period) as RD New points, without free text."""
    from veilig.storage.incidents import load_incidents

    df = load_incidents(db, categories=list(result.categories), start=result.start, end=result.end)
    frame = df[["ext_id", "source", "category", "occurred_at", "buurt"]].rename(columns={"ext_id": "id"})
    frame = frame.assign(occurred_at=frame["occurred_at"].dt.tz_convert("UTC").dt.tz_localize(None))
    return gpd.GeoDataFrame(frame.astype({"id": str, "source": str, "category": str, "buurt": str}),
                            geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:28992")
