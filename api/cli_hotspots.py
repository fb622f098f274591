"""``veilig hotspots``: clusters, Gi* grid and buurt table for a category and period; a file and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from veilig.dates import parse_date
from rich.console import Console
from rich.table import Table

out = Console()

_CLASS_NL = {3: "hot 99%", 2: "hot 95%", 1: "hot 90%", 0: "", -1: "koud 90%", -2: "koud 95%", -3: "koud 99%"}


def _fmt(value, fmt: str, empty: str = "-") -> str:
    try:
        if value is None or value != value:  # None or NaN
            return empty
    except TypeError:
        return empty
    return format(value, fmt)


def hotspots(
    category: Annotated[str, typer.Option(help="burglary, drugs or one category (e.g. woninginbraak)")],
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="first day (default: first incident)")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="last day, inclusive (default: last incident)")] = None,
    method: Annotated[str, typer.Option(help="dbscan or hdbscan")] = "dbscan",
    eps: Annotated[float, typer.Option(help="DBSCAN radius in metres")] = 150.0,
    min_samples: Annotated[int, typer.Option(help="minimum incidents within eps of a core incident")] = 5,
    cell: Annotated[float, typer.Option(help="Gi* grid cell size in metres")] = 100.0,
    band: Annotated[float, typer.Option(help="Gi* distance band in metres")] = 300.0,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="FILE.geojson (WGS84) or FILE.gpkg (RD New)")] = None,
) -> None:
    """Hotspots of a category in a period: clusters, Gi* grid cells and the per-buurt table."""
    from veilig.errors import VeiligError
    from veilig.geo.categories import LABELS_NL, resolve_categories
    from veilig.geo.export import write_hotspots
    from veilig.geo.hotspots import HotspotParams

    from .services import hotspot_result

    from .context import cli_database

    params = HotspotParams(method=method.strip().lower(), eps=eps, min_samples=min_samples,
                           cell=cell, band=band).validated()
    resolve_categories(category)  # refuse an unknown category before opening the database
    start_d = parse_date(start, "--start")
    end_d = parse_date(end, "--end")
    if start_d and end_d and end_d < start_d:
        raise VeiligError(f"--end {end_d} lies before --start {start_d}")
    if out_file is not None and out_file.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise VeiligError(f"--out: '{out_file.name}' must end in .geojson or .gpkg")

    db = cli_database()
    # The same analysis as the HTTP service (previous period, buurt names, data span).
    result = hotspot_result(db, category, start_d, end_d, params)
    if out_file is not None:
        write_hotspots(result, out_file)

    label = LABELS_NL.get(result.category, result.category)
    period = f"{result.start} t/m {result.end}" if result.start else "geen periode"
    how = params.method + (f", eps {params.eps:g} m" if params.method == "dbscan" else "")
    out.print(f"[bold]{label}[/bold], {period}: {result.n_incidents} incidenten, "
              f"{len(result.clusters)} clusters ({how}, min. {params.min_samples})"
              + (" [yellow](synthetische demodata)[/yellow]" if result.synthetic else ""))

    if len(result.clusters):
        names = dict(zip(result.buurten["statcode"], result.buurten["statnaam"]))
        t = Table(title="Clusters (grootste eerst)")
        for col in ("cluster", "incidenten", "opp. ha", "per km²", "eerste", "laatste", "buurten"):
            t.add_column(col, justify="right" if col in ("cluster", "incidenten", "opp. ha", "per km²") else "left")
        for r in result.clusters.head(10).itertuples():
            t.add_row(str(r.cluster_id), str(r.n_incidents), f"{r.area_m2 / 1e4:.1f}", f"{r.density_per_km2:.0f}",
                      r.first_date, r.last_date, ", ".join(names.get(b, b) for b in r.buurten[:3]))
        out.print(t)
        if len(result.clusters) > 10:
            out.print(f"... en {len(result.clusters) - 10} kleinere clusters")

    b = result.buurten.sort_values(["n_incidents", "statcode"], ascending=[False, True])
    t = Table(title="Buurten")
    for col in ("buurt", "incidenten", "aandeel", "per 1.000 won.", "clusters", "in cluster", "Gi* z", "Gi*",
                "vorige periode", "verschil"):
        t.add_column(col, justify="left" if col in ("buurt", "Gi*") else "right")
    for r in b.head(15).itertuples():
        t.add_row(str(r.statnaam), str(r.n_incidents), _fmt(r.share * 100 if r.share == r.share else None, ".1f") + "%",
                  _fmt(r.rate_per_1000_dwellings, ".1f"), str(r.n_clusters),
                  _fmt(r.share_in_clusters * 100 if r.share_in_clusters == r.share_in_clusters else None, ".0f") + "%",
                  _fmt(r.gi_z, ".2f"), _CLASS_NL[int(r.gi_class)], _fmt(r.n_previous, ".0f"), _fmt(r.change, "+.0f"))
    out.print(t)

    classes = result.grid["gi_class"].value_counts()
    hot = ", ".join(f"{int(classes.get(c, 0))} {_CLASS_NL[c]}" for c in (3, 2, 1))
    cold = ", ".join(f"{int(classes.get(c, 0))} {_CLASS_NL[c]}" for c in (-3, -2, -1))
    out.print(f"Gi*-raster {params.cell:g} m (band {params.band:g} m, FDR): {len(result.grid)} cellen; "
              f"hotspots: {hot}; coldspots: {cold}")
    for msg in result.messages:
        out.print(f"[yellow]let op:[/yellow] {msg}")
    if out_file is not None:
        out.print(f"geschreven: {out_file}")


def register(app: typer.Typer) -> None:
    """Add ``veilig hotspots`` to the main command line."""
    app.command("hotspots")(hotspots)
