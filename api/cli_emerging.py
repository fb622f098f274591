"""``veilig emerging``: emerging hot spots (space-time Gi*, Mann-Kendall, ArcGIS's patterns); a file and a summary."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

out = Console()


def emerging(
    category: Annotated[str, typer.Option(help="burglary, drugs or one category (e.g. woninginbraak)")],
    start: Annotated[Optional[datetime], typer.Option(
        formats=["%Y-%m-%d"], help="first day (default: first incident)")] = None,
    end: Annotated[Optional[datetime], typer.Option(
        formats=["%Y-%m-%d"], help="last day, inclusive (default: last incident)")] = None,
    step: Annotated[str, typer.Option(help="month, quarter or week")] = "month",
    time_window: Annotated[int, typer.Option(help="previous time steps in the neighbourhood (0-12)")] = 1,
    locations: Annotated[str, typer.Option(help="grid (100 m cells) or buurt")] = "grid",
    cell: Annotated[float, typer.Option(help="grid cell size in metres")] = 100.0,
    band: Annotated[float, typer.Option(help="distance band in metres")] = 300.0,
    level: Annotated[float, typer.Option(help="significance level: 0.10, 0.05 or 0.01")] = 0.10,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="FILE.geojson (WGS84), FILE.gpkg (RD New, with every bin) or FILE.csv")] = None,
) -> None:
    """Where hotspots are new, growing, persistent or fading: ArcGIS's emerging hot spot patterns."""
    from veilig.errors import VeiligError
    from veilig.geo.categories import LABELS_NL, resolve_categories
    from veilig.geo.emerging import PATTERN_NL, PATTERNS, EmergingParams
    from veilig.geo.emerging_export import SUFFIXES, write_emerging

    from .context import cli_database
    from .emerging_service import emerging_result

    params = EmergingParams(step=step.strip().lower(), time_window=time_window, locations=locations.strip().lower(),
                            cell=cell, band=band, level=level).validated()
    resolve_categories(category)  # refuse an unknown category before opening the database
    start_d = start.date() if start else None
    end_d = end.date() if end else None
    if start_d and end_d and end_d < start_d:
        raise VeiligError(f"--end {end_d} lies before --start {start_d}")
    if out_file is not None and out_file.suffix.lower() not in SUFFIXES:
        raise VeiligError(f"--out: '{out_file.name}' must end in .geojson, .gpkg or .csv")

    db = cli_database()
    result = emerging_result(db, category, start_d, end_d, params)
    if out_file is not None:
        write_emerging(result, out_file)

    label = LABELS_NL.get(result.category, result.category)
    steps = result.steps
    out.print(f"[bold]{label}[/bold], {steps.start} t/m {steps.end}: {int(result.cube.counts.sum())} incidenten in "
              f"{len(steps)} stappen ({params.step}), {len(result.locations)} locaties "
              f"({'100 m-raster' if params.locations == 'grid' else 'buurten'}), tijdvenster {params.time_window}"
              + (" [yellow](synthetische demodata)[/yellow]" if result.synthetic else ""))
    counts = result.locations["pattern"].value_counts()
    t = Table(title=f"Patronen (significant bij {params.level:g} na FDR per tijdstap)")
    t.add_column("patroon")
    t.add_column("pattern")
    t.add_column("locaties", justify="right")
    for name in PATTERNS:
        if counts.get(name, 0):
            t.add_row(PATTERN_NL[name], name, str(int(counts[name])))
    out.print(t)
    out.print("nulhypothese: per tijdstap vast totaal, incidenten uniform over de gemeente "
              "(oppervlakte binnen de gemeente per locatie); exacte binomiale staartkansen")
    for msg in result.messages:
        out.print(f"[yellow]let op:[/yellow] {msg}")
    if out_file is not None:
        out.print(f"geschreven: {out_file}")


def register(app: typer.Typer) -> None:
    """Add ``veilig emerging`` to the main command line."""
    app.command("emerging")(emerging)
