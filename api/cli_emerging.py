"""``veilig emerging``: emerging hot spots (space-time Gi*, Mann-Kendall, ArcGIS's patterns); a file and a summary."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from .tables import console

out = console()


def emerging(
    category: Annotated[str, typer.Option(help="burglary, drugs of één categorie (bijv. woninginbraak)")],
    start: Annotated[Optional[datetime], typer.Option(
        formats=["%Y-%m-%d"], metavar="DATUM", help="eerste dag, JJJJ-MM-DD (standaard: eerste incident)")] = None,
    end: Annotated[Optional[datetime], typer.Option(
        formats=["%Y-%m-%d"], metavar="DATUM", help="laatste dag, inclusief (standaard: laatste incident)")] = None,
    step: Annotated[str, typer.Option(help="tijdstap: month, quarter of week")] = "month",
    time_window: Annotated[int, typer.Option(help="aantal vorige tijdstappen in de buurt van een cel (0-12)")] = 1,
    locations: Annotated[str, typer.Option(help="grid (cellen van 100 m) of buurt")] = "grid",
    cell: Annotated[float, typer.Option(help="celgrootte van het raster in meter")] = 100.0,
    band: Annotated[float, typer.Option(help="afstandsband in meter")] = 300.0,
    level: Annotated[float, typer.Option(help="significantieniveau: 0.10, 0.05 of 0.01")] = 0.10,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="BESTAND.geojson (WGS84), BESTAND.gpkg (RD New, met elke tijdstap; opgemaakt voor QGIS) "
                      "of BESTAND.csv")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="het resultaat als GeoJSON (zoals --out BESTAND.geojson)")
                       ] = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
) -> None:
    """Waar hotspots nieuw zijn, groeien, aanhouden of afnemen: de patronen van ArcGIS' emerging hot spots."""
    from veilig.errors import VeiligError
    from veilig.geo.categories import LABELS_NL, resolve_categories
    from veilig.geo.emerging import PATTERN_NL, PATTERNS, EmergingParams
    from veilig.geo.emerging_export import SUFFIXES

    from .context import cli_database
    from .emerging_service import emerging_result
    from .exports import write_emerging_file
    from .tables import Col, nl_dec, nl_int, print_table

    params = EmergingParams(step=step.strip().lower(), time_window=time_window, locations=locations.strip().lower(),
                            cell=cell, band=band, level=level).validated()
    resolve_categories(category)  # refuse an unknown category before opening the database
    start_d = start.date() if start else None
    end_d = end.date() if end else None
    if start_d and end_d and end_d < start_d:
        raise VeiligError(f"--end {end_d} ligt voor --start {start_d}")
    if out_file is not None and out_file.suffix.lower() not in SUFFIXES:
        raise VeiligError(f"--out: '{out_file.name}' moet eindigen op .geojson, .gpkg of .csv")

    db = cli_database()
    result = emerging_result(db, category, start_d, end_d, params)
    if out_file is not None:
        write_emerging_file(result, out_file)
    if as_json:
        from veilig.geo.emerging_export import emerging_geojson_bytes

        typer.echo(emerging_geojson_bytes(result).decode("utf-8"), nl=False)
        return

    label = LABELS_NL.get(result.category, result.category)
    steps = result.steps
    n_incidents = int(result.cube.counts.sum())
    out.print(f"[bold]{label}[/bold], {steps.start:%d-%m-%Y} t/m {steps.end:%d-%m-%Y}: {nl_int(n_incidents)} "
              f"incidenten in {len(steps)} stappen ({params.step}), {nl_int(len(result.locations))} locaties "
              f"({'100 m-raster' if params.locations == 'grid' else 'buurten'}), tijdvenster {params.time_window}"
              + (" [yellow](synthetische demodata)[/yellow]" if result.synthetic else ""))
    counts = result.locations["pattern"].value_counts()
    rows = [(PATTERN_NL[name], name, nl_int(counts[name])) for name in PATTERNS if counts.get(name, 0)]
    print_table([Col("patroon"), Col("pattern", priority=2), Col("locaties", "right")], rows,
                title=f"Patronen (significant bij {nl_dec(params.level, 2)} na FDR per tijdstap)", wide=wide, out=out)
    if n_incidents == 0:
        out.print("Geen incidenten van deze categorie in deze periode: kies een andere periode of categorie.")
    elif not any(counts.get(name, 0) for name in PATTERNS if name != "no_pattern"):
        out.print("Geen enkele locatie heeft een patroon: nergens is een hotspot of coldspot in ruimte en tijd.")
    out.print("nulhypothese: per tijdstap vast totaal, incidenten uniform over de gemeente "
              "(oppervlakte binnen de gemeente per locatie); exacte binomiale staartkansen")
    for msg in result.messages:
        out.print(f"[yellow]let op:[/yellow] {msg}")
    if out_file is not None:
        out.print(f"geschreven: {out_file}")


def register(app: typer.Typer) -> None:
    """Add ``veilig emerging`` to the main command line."""
    app.command("emerging")(emerging)
