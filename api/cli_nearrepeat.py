"""``veilig nearrepeat``: the Knox near-repeat calculator (database or file) and ``zones`` (inbraakalert)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from veilig.errors import VeiligError

from .tables import Col, console, nl_int, print_table

out = console()
app = typer.Typer(help="Near repeats: de Knox-test en de zones van het inbraakalert.", invoke_without_command=True,
                  no_args_is_help=False)

_OUT_SUFFIXES = (".csv", ".json", ".html")


def _nl(v: float, decimals: int) -> str:
    return f"{v:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def print_result(result, alpha: float = 0.05, wide: bool = False) -> None:
    """Ratio and significance tables (significant cells marked) and the Dutch summary."""
    from veilig.geo.nearrepeat import column_labels, row_labels, summary_nl

    sig = result.significant(alpha)
    rows, cols = row_labels(result.bands), column_labels(result.bands)
    for title, fmt in (("Knox-ratio (waargenomen / verwacht; * = significant)",
                        lambda r, c: "-" if result.knox_ratio[r, c] != result.knox_ratio[r, c]
                        else _nl(float(result.knox_ratio[r, c]), 2) + (" *" if sig[r, c] else "")),
                       ("Significantie (p-waarde)",
                        lambda r, c: _nl(float(result.p_value[r, c]), 3) + (" *" if sig[r, c] else "")),
                       ("Paren waargenomen / verwacht",
                        lambda r, c: f"{int(result.observed[r, c])} / {_nl(float(result.expected[r, c]), 1)}")):
        print_table([Col("afstand \\ tijd"), *(Col(c, "right") for c in cols)],
                    [(label, *[fmt(r, c) for c in range(len(cols))]) for r, label in enumerate(rows)],
                    title=title, wide=wide, out=out)
    out.print(f"{nl_int(result.n_events)} gebeurtenissen, {nl_int(result.n_pairs)} paren, "
              f"{nl_int(result.iterations)} permutaties "
              f"(seed {result.seed}); {result.bands.interval_note()}.", highlight=False)
    for note in result.notes:
        out.print(f"[yellow]let op:[/yellow] {note}")
    out.print(f"[bold]{summary_nl(result, alpha)}[/bold]", highlight=False)


def write_result(result, path: Path, subtitle: str | None = None) -> None:
    """CSV (veilig.csvout), JSON or the offline HTML page."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from veilig.csvout import frame_csv

        path.write_text(frame_csv(result.table()), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                        encoding="utf-8")
    else:
        from veilig.maps.nearrepeat import knox_page

        path.write_text(knox_page(result, subtitle=subtitle), encoding="utf-8")


@app.callback()
def nearrepeat(
    ctx: typer.Context,
    category: Annotated[str, typer.Option(help="burglary, woninginbraak, inbraak_schuur of een andere categorie "
                                               "(databasemodus)")] = "burglary",
    start: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], metavar="DATUM",
                                                      help="eerste dag, JJJJ-MM-DD")] = None,
    end: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], metavar="DATUM",
                                                    help="laatste dag, inclusief")] = None,
    input_file: Annotated[Optional[Path], typer.Option(
        "--input", help="rekenmodus: een CSV met x, y (meter, geprojecteerd CRS) en occurred_at")] = None,
    spatial_band: Annotated[float, typer.Option(help="breedte van een afstandsband in meter")] = 100.0,
    spatial_bands: Annotated[int, typer.Option(help="aantal afstandsbanden")] = 3,
    temporal_band: Annotated[int, typer.Option(help="breedte van een tijdsband in dagen")] = 7,
    temporal_bands: Annotated[int, typer.Option(help="aantal tijdsbanden")] = 2,
    iterations: Annotated[int, typer.Option(help="Monte Carlo-permutaties (1..99999)")] = 999,
    seed: Annotated[int, typer.Option(help="startwaarde van het toeval: zelfde seed, zelfde getallen")] = 0,
    nrc_compatible: Annotated[bool, typer.Option(
        "--nrc-compatible", help="de verschoven banden [a-1, b) van de Near Repeat Calculator")] = False,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="BESTAND.csv, BESTAND.json of BESTAND.html")
                        ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="het resultaat als JSON (zoals --out BESTAND.json)")
                       ] = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
) -> None:
    """De Knox-test op near repeats in de database (een categorie en periode) of in een CSV-bestand."""
    if ctx.invoked_subcommand is not None:
        return
    from veilig.geo.nearrepeat import KnoxBands, check_iterations, knox_test, read_events_csv

    bands = KnoxBands(spatial_band, spatial_bands, temporal_band, temporal_bands, nrc_compatible).validated()
    check_iterations(iterations)
    if out_file is not None and out_file.suffix.lower() not in _OUT_SUFFIXES:
        raise VeiligError(f"--out: '{out_file.name}' moet eindigen op .csv, .json of .html")
    if out_file is not None and not out_file.parent.exists():
        raise VeiligError(f"--out: map {out_file.parent} bestaat niet")
    subtitle = None
    if input_file is not None:
        if start or end:
            raise VeiligError("--start/--end gelden voor de database; filter het bestand zelf (--input)")
        result = knox_test(read_events_csv(input_file), bands, iterations, seed)
        subtitle = f"Bestand: {input_file.name}"
    else:
        from veilig.geo.categories import LABELS_NL, resolve_categories

        from .context import cli_database
        from .nearrepeat_service import nearrepeat_result

        resolve_categories(category)
        db = cli_database()
        result, synthetic = nearrepeat_result(db, category, start.date() if start else None,
                                              end.date() if end else None, bands, iterations, seed)
        label = LABELS_NL.get(category.strip().lower(), category)
        subtitle = f"{label}, {_day(result.first_day)} t/m {_day(result.last_day)}" + (
            " (synthetische demodata)" if synthetic else "")
        if not as_json:
            out.print(f"[bold]{subtitle}[/bold]", highlight=False)
    if as_json:
        if out_file is not None:
            write_result(result, out_file, subtitle)
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True))
        return
    print_result(result, wide=wide)
    if out_file is not None:
        write_result(result, out_file, subtitle)
        out.print(f"geschreven: {out_file}")


def _day(day: int | None) -> str:
    from datetime import timedelta

    return "-" if day is None else f"{date(1970, 1, 1) + timedelta(days=int(day)):%d-%m-%Y}"


@app.command("zones")
def zones(
    on: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], metavar="DATUM",
                                         help="de dag van het alert, JJJJ-MM-DD")],
    radius: Annotated[Optional[float], typer.Option(help="straal van een zone in meter (standaard: uit de analyse)")
                      ] = None,
    days: Annotated[Optional[int], typer.Option(help="looptijd van een zone in dagen (standaard: uit de analyse)")
                    ] = None,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="de zones als BESTAND.geojson (WGS84), BESTAND.gpkg (RD New, opgemaakt voor QGIS) "
                      "of BESTAND.csv")] = None,
    outreach_file: Annotated[Optional[Path], typer.Option(
        "--outreach", help="de postcodelijst voor een buurtbrief, BESTAND.csv")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="de zones als GeoJSON (WGS84, zoals --out BESTAND.geojson)")
                       ] = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
) -> None:
    """De zones van het inbraakalert die op een datum actief zijn, met buurten, postcodes en einddatum."""
    from veilig.csvout import frame_csv
    from veilig.geo.neighbourhoods import load_buurten
    from veilig.storage.auth import audit, cli_principal

    from .context import cli_database
    from .exports import ZONE_SUFFIXES, write_zones_file
    from .nearrepeat_service import active_zones, outreach, window_text, zone_window, zones_synthetic

    for name, f, ok in (("--out", out_file, ZONE_SUFFIXES), ("--outreach", outreach_file, (".csv",))):
        if f is not None and f.suffix.lower() not in ok:
            raise VeiligError(f"{name}: '{f.name}' moet eindigen op {', '.join(ok[:-1]) + ' of ' if ok[:-1] else ''}"
                              f"{ok[-1]}")
    if (radius is None) != (days is None):
        raise VeiligError("geef --radius en --days samen, of geen van beide (dan uit de analyse)")
    db = cli_database()
    day = on.date()
    window = zone_window(db, day, radius, days)
    zones_gdf, window = active_zones(db, day, window)
    # Zones are discs around burglary addresses: incident-level data, so the read is audited.
    audit(db, cli_principal(), "read_nearrepeat_zones", f"zones {day}", f"{len(zones_gdf)} zones")
    buurten = load_buurten()
    names = dict(zip(buurten["statcode"], buurten["statnaam"]))
    table, note = outreach(db, zones_gdf)
    if out_file is not None:
        meta = {"date": day.isoformat(), "category": "burglary", "radius_m": window.radius_m, "days": window.days,
                "window_source": window.source, "n_zones": len(zones_gdf),
                "rule": "a burglary on day b spans a disc of radius_m metres, active from b up to and including "
                        "b + days; the discs of one day are merged",
                "synthetic": zones_synthetic(db, day, window), "crs": "EPSG:28992"}
        write_zones_file(zones_gdf, out_file, metadata=meta, names=names)
    if as_json:
        flat = zones_gdf.assign(burglary_date=zones_gdf["burglary_date"].astype(str),
                                expires_on=zones_gdf["expires_on"].astype(str))
        typer.echo(flat.to_crs(4326).to_json(drop_id=True))
        return
    out.print(f"[bold]Inbraakalert {day:%d-%m-%Y}[/bold]: {nl_int(len(zones_gdf))} actieve zones. "
              f"{window_text(window)}", highlight=False)
    pcs = table.groupby("zone_id")["postcode"].apply(list).to_dict() if len(table) else {}
    rows = []
    for z in zones_gdf.itertuples():
        codes = pcs.get(z.zone_id, [])
        rows.append((z.zone_id, f"{z.burglary_date:%d-%m-%Y}", f"{z.expires_on:%d-%m-%Y}", nl_int(z.n_incidents),
                     ", ".join(names.get(b, b) for b in z.buurten),
                     ", ".join(codes[:8]) + (f" (+{len(codes) - 8})" if len(codes) > 8 else "")))
    if rows:
        print_table([Col("zone"), Col("inbraakdatum", priority=3), Col("verloopt na"), Col("inbraken", "right"),
                     Col("buurten"), Col("postcodes", priority=2)], rows, wide=wide, out=out)
    else:
        out.print("Geen actieve zones op deze datum: er is binnen de looptijd geen inbraak geweest.", highlight=False)
    out.print(note, highlight=False)
    if out_file is not None:
        out.print(f"geschreven: {out_file}")
    if outreach_file is not None:
        outreach_file.write_text(frame_csv(table), encoding="utf-8")
        out.print(f"geschreven: {outreach_file}")


def register(main: typer.Typer) -> None:
    """Add ``veilig nearrepeat`` (and ``veilig nearrepeat zones``) to the main command line."""
    main.add_typer(app, name="nearrepeat")
