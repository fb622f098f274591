"""``veilig nearrepeat``: the Knox near-repeat calculator (database or file) and ``zones`` (inbraakalert)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from veilig.errors import VeiligError

out = Console()
app = typer.Typer(help="Near repeats: Knox test and burglary alert zones.", invoke_without_command=True,
                  no_args_is_help=False)

_OUT_SUFFIXES = (".csv", ".json", ".html")


def _nl(v: float, decimals: int) -> str:
    return f"{v:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def print_result(result, alpha: float = 0.05) -> None:
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
        t = Table(title=title)
        t.add_column("afstand \\ tijd")
        for c in cols:
            t.add_column(c, justify="right")
        for r, label in enumerate(rows):
            t.add_row(label, *[fmt(r, c) for c in range(len(cols))])
        out.print(t)
    out.print(f"{result.n_events} gebeurtenissen, {result.n_pairs} paren, {result.iterations} permutaties "
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
    category: Annotated[str, typer.Option(help="burglary, woninginbraak, inbraak_schuur or another category "
                                               "(database mode)")] = "burglary",
    start: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="first day")] = None,
    end: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="last day, inclusive")] = None,
    input_file: Annotated[Optional[Path], typer.Option(
        "--input", help="calculator mode: a CSV with x, y (metres, projected CRS) and occurred_at")] = None,
    spatial_band: Annotated[float, typer.Option(help="width of a distance band in metres")] = 100.0,
    spatial_bands: Annotated[int, typer.Option(help="number of distance bands")] = 3,
    temporal_band: Annotated[int, typer.Option(help="width of a time band in days")] = 7,
    temporal_bands: Annotated[int, typer.Option(help="number of time bands")] = 2,
    iterations: Annotated[int, typer.Option(help="Monte Carlo permutations (1..99999)")] = 999,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same numbers")] = 0,
    nrc_compatible: Annotated[bool, typer.Option(
        "--nrc-compatible", help="the Near Repeat Calculator's shifted bands [a-1, b)")] = False,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="FILE.csv, FILE.json or FILE.html")] = None,
) -> None:
    """The Knox test for near repeats on the database (a category and period) or on a CSV file."""
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
        out.print(f"[bold]{subtitle}[/bold]", highlight=False)
    print_result(result)
    if out_file is not None:
        write_result(result, out_file, subtitle)
        out.print(f"geschreven: {out_file}")


def _day(day: int | None) -> str:
    from datetime import timedelta

    return "-" if day is None else f"{date(1970, 1, 1) + timedelta(days=int(day)):%d-%m-%Y}"


@app.command("zones")
def zones(
    on: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="the day of the alert")],
    radius: Annotated[Optional[float], typer.Option(help="zone radius in metres (default: from the analysis)")] = None,
    days: Annotated[Optional[int], typer.Option(help="zone lifetime in days (default: from the analysis)")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="zones as FILE.geojson (WGS84) or FILE.csv")] = None,
    outreach_file: Annotated[Optional[Path], typer.Option(
        "--outreach", help="the postcode list for a buurtbrief mailing, FILE.csv")] = None,
) -> None:
    """The burglary alert zones active on a date, with their buurten, postcodes and expiry."""
    from veilig.csvout import frame_csv
    from veilig.geo.neighbourhoods import load_buurten
    from veilig.storage.auth import audit, cli_principal

    from .context import cli_database
    from .nearrepeat_service import active_zones, outreach, window_text, zone_window

    for name, f, ok in (("--out", out_file, (".geojson", ".json", ".csv")), ("--outreach", outreach_file, (".csv",))):
        if f is not None and f.suffix.lower() not in ok:
            raise VeiligError(f"{name}: '{f.name}' moet eindigen op {' of '.join(ok)}")
    if (radius is None) != (days is None):
        raise VeiligError("geef --radius en --days samen, of geen van beide (dan uit de analyse)")
    db = cli_database()
    day = on.date()
    window = zone_window(db, day, radius, days)
    zones_gdf, window = active_zones(db, day, window)
    # Zones are discs around burglary addresses: incident-level data, so the read is audited.
    audit(db, cli_principal(), "read_nearrepeat_zones", f"zones {day}", f"{len(zones_gdf)} zones")
    names = dict(zip(load_buurten()["statcode"], load_buurten()["statnaam"]))
    out.print(f"[bold]Inbraakalert {day:%d-%m-%Y}[/bold]: {len(zones_gdf)} actieve zones. {window_text(window)}",
              highlight=False)
    table, note = outreach(db, zones_gdf)
    pcs = table.groupby("zone_id")["postcode"].apply(list).to_dict() if len(table) else {}
    t = Table()
    for col in ("zone", "inbraakdatum", "verloopt na", "inbraken", "buurten", "postcodes"):
        t.add_column(col)
    for z in zones_gdf.itertuples():
        codes = pcs.get(z.zone_id, [])
        t.add_row(z.zone_id, f"{z.burglary_date:%d-%m-%Y}", f"{z.expires_on:%d-%m-%Y}", str(z.n_incidents),
                  ", ".join(names.get(b, b) for b in z.buurten),
                  ", ".join(codes[:8]) + (f" (+{len(codes) - 8})" if len(codes) > 8 else ""))
    out.print(t)
    out.print(note, highlight=False)
    if out_file is not None:
        if out_file.suffix.lower() == ".csv":
            flat = zones_gdf.drop(columns="geometry").assign(buurten=[",".join(b) for b in zones_gdf["buurten"]])
            out_file.write_text(frame_csv(flat), encoding="utf-8")
        else:
            gj = zones_gdf.assign(buurten=[",".join(b) for b in zones_gdf["buurten"]],
                                  burglary_date=zones_gdf["burglary_date"].astype(str),
                                  expires_on=zones_gdf["expires_on"].astype(str)).to_crs(4326)
            out_file.write_text(gj.to_json(drop_id=True), encoding="utf-8")
        out.print(f"geschreven: {out_file}")
    if outreach_file is not None:
        outreach_file.write_text(frame_csv(table), encoding="utf-8")
        out.print(f"geschreven: {outreach_file}")


def register(main: typer.Typer) -> None:
    """Add ``veilig nearrepeat`` (and ``veilig nearrepeat zones``) to the main command line."""
    main.add_typer(app, name="nearrepeat")
