"""Foundation commands: serve, import, demo, db."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from veilig.dates import parse_date
from rich.console import Console
from rich.table import Table

from veilig.errors import VeiligError

err = Console(stderr=True)
out = Console()

import_app = typer.Typer(help="Importeer incidenten, buurtcijfers, een blootstellingsraster of politiedata.",
                         no_args_is_help=True)
db_app = typer.Typer(help="Onderhoud van de database.", no_args_is_help=True)

PROGRESS_MIN_ROWS = 5000


def _progress_printer(total_hint: int):
    """A rich progress bar on a terminal; plain lines otherwise (logs, tests)."""
    if total_hint < PROGRESS_MIN_ROWS:
        return None, None
    if err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn(), console=err, transient=True)
        task = bar.add_task("importeren", total=total_hint)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return update, bar

    def plain(done: int, total: int) -> None:
        print(f"ingevoegd {done}/{total}", file=sys.stderr, flush=True)

    return plain, None


def _print_errors(errors, limit: int = 200) -> None:
    for e in errors[:limit]:
        err.print(f"  {e}", markup=False, highlight=False)
    if len(errors) > limit:
        err.print(f"  ... en nog {len(errors) - limit} (--report BESTAND schrijft ze allemaal)")


@import_app.command("incidents")
def import_incidents(
    file: Annotated[Path, typer.Argument(help="CSV, GeoJSON, GeoPackage of GeoParquet")],
    crs: Annotated[Optional[str], typer.Option(help="CRS als het bestand er geen heeft, bijv. EPSG:28992")] = None,
    source: Annotated[Optional[str], typer.Option(help="naam van de bron; id's zijn uniek per bron")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="importeer de geldige rijen, meld de rest")
                            ] = False,
    report: Annotated[Optional[Path], typer.Option(help="schrijf elke geweigerde rij naar deze CSV")] = None,
) -> None:
    """Importeer incidenten: alle rijen in één transactie, of geen als er een rij ongeldig is."""
    from veilig.geo.categories import label_table
    from veilig.geo.io import read_incidents
    from veilig.settings import get_settings
    from veilig.storage.incidents import store_incidents

    from .context import cli_database

    settings = get_settings()
    db = cli_database(settings)
    result = read_incidents(file, crs=crs, source=source, labels=label_table(settings.category_map_file),
                            margin_m=settings.boundary_margin_m, earliest=settings.import_earliest,
                            future_days=settings.import_future_days)
    if report is not None:
        from veilig.csvout import write_csv

        write_csv(report, ["file", "row", "field", "reason", "value"],
                  ([e.file, e.row, e.field, e.reason, e.value] for e in result.errors))
    if result.errors and not skip_invalid:
        err.print(f"[red]{file.name}: geweigerd, niets geïmporteerd[/red]: {result.invalid_rows} van de "
                  f"{result.n_rows} rijen zijn ongeldig:")
        _print_errors(result.errors)
        raise typer.Exit(1)
    update, bar = _progress_printer(len(result.valid))
    from veilig.storage.auth import cli_principal

    who = cli_principal().name
    if bar is not None:
        with bar:
            rep = store_incidents(db, result, skip_invalid=skip_invalid, progress=update, imported_by=who)
    else:
        rep = store_incidents(db, result, skip_invalid=skip_invalid, progress=update, imported_by=who)
    if result.errors:
        err.print(f"{file.name}: {result.invalid_rows} ongeldige rijen overgeslagen:")
        _print_errors(result.errors)
    out.print(f"{file.name}: {rep.inserted} incidenten geïmporteerd, {rep.skipped_existing} al aanwezig, "
              f"{rep.invalid_rows} ongeldig (van {rep.rows_in_file} rijen); import {rep.batch_id} "
              f"('veilig import undo {rep.batch_id}' draait hem terug)", highlight=False)


@import_app.command("list")
def import_list(
    limit: Annotated[int, typer.Option(min=1, max=100000, help="toon er zoveel, nieuwste eerst")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="de importen als JSON, voor scripts")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
) -> None:
    """De importen (nieuwste eerst): bestand, bron, rijen, en of een import ongedaan is gemaakt."""
    import json

    from veilig.storage.batches import list_batches

    from .context import cli_database
    from .tables import Col, nl_int, print_table

    batches = list_batches(cli_database(), limit=limit)
    if as_json:
        typer.echo(json.dumps([{
            "id": b.id, "filename": b.filename, "source": b.source, "imported_at": b.imported_at.isoformat(),
            "imported_by": b.imported_by, "rows_inserted": b.rows_inserted,
            "rows_skipped_existing": b.rows_skipped_existing, "rows_invalid": b.rows_invalid,
            "rows_stored": b.rows_stored, "undone_at": b.undone_at.isoformat() if b.undone_at else None,
            "undone_by": b.undone_by} for b in batches], ensure_ascii=False))
        return
    if not batches:
        typer.echo("Nog geen importen: importeer incidenten met 'veilig import incidents BESTAND'.")
        return
    # A table whose cells fold (never cut): a file name stays whole however narrow the terminal.
    cols = [Col("import", "right"), Col("bestand"), Col("bron", priority=3), Col("geïmporteerd"),
            Col("door", priority=2), Col("ingevoegd", "right"), Col("al aanwezig", "right", 3),
            Col("ongeldig", "right", 3), Col("opgeslagen", "right", 4), Col("ongedaan")]
    rows = [(b.id, b.filename, b.source, f"{b.imported_at:%d-%m-%Y %H:%M}", b.imported_by or "onbekend",
             nl_int(b.rows_inserted), nl_int(b.rows_skipped_existing), nl_int(b.rows_invalid), nl_int(b.rows_stored),
             f"{b.undone_at:%d-%m-%Y %H:%M} door {b.undone_by}" if b.undone_at else "-") for b in batches]
    print_table(cols, rows, title="Importen (nieuwste eerst)", wide=wide)


@import_app.command("undo")
def import_undo(
    batch: Annotated[int, typer.Argument(help="het nummer van de import (zie veilig import list)")],
    yes: Annotated[bool, typer.Option("--yes", help="niet om bevestiging vragen")] = False,
) -> None:
    """Draai één hele import terug: zijn incidenten worden verwijderd, de import blijft als ongedaan vermeld."""
    from veilig.storage.auth import audit, cli_principal
    from veilig.storage.batches import get_batch, undo_batch

    from .context import cli_database

    db = cli_database()
    info = get_batch(db, batch)
    if not yes and not typer.confirm(f"Import {info.id} ({info.filename}, {info.rows_stored} incidenten) "
                                     "ongedaan maken?"):
        raise typer.Exit(1)
    who = cli_principal()
    done = undo_batch(db, batch, who.name)
    audit(db, who, "undo_import", f"batch {batch}", f"{done.filename}: {done.rows_removed} incidents removed")
    out.print(f"import {batch} ({done.filename}) ongedaan gemaakt: {done.rows_removed} incidenten verwijderd")


@import_app.command("buurtstats")
def import_buurtstats(
    file: Annotated[Path, typer.Argument(help="CSV met statcode, inhabitants, dwellings[, year]")],
) -> None:
    """Importeer buurtcijfers (CBS Kerncijfers), voor aantallen per 1.000 woningen."""
    from veilig.geo.neighbourhoods import load_buurten
    from veilig.storage.incidents import import_buurt_stats

    from .context import cli_database

    n = import_buurt_stats(cli_database(), file, set(load_buurten()["statcode"]))
    out.print(f"{file.name}: cijfers van {n} buurten geïmporteerd")


@import_app.command("exposure")
def import_exposure(
    file: Annotated[Optional[Path], typer.Argument(help="CSV of GeoPackage: CBS-vierkantcode (E0934N4545) of RD-"
                                                          "hoek linksonder x/y, en een kolom met waarden")] = None,
    column: Annotated[Optional[str], typer.Option(help="kolom met waarden (standaard: aantal_woningen/woningen, "
                                                       "anders aantal_inwoners/inwoners)")] = None,
    kind: Annotated[Optional[str], typer.Option(help="dwellings of inhabitants (standaard: uit de kolomnaam)")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="verwijder het raster: de nulhypothese is weer uniform")
                     ] = False,
) -> None:
    """Importeer een 100 m-raster van woningen of inwoners (CBS-vierkanten) als blootstelling voor de hotspots."""
    from veilig.geo.exposure import read_exposure_file
    from veilig.storage.exposure import clear_exposure, store_exposure

    from .context import cli_database

    if clear:
        n = clear_exposure(cli_database())
        out.print(f"blootstellingsraster verwijderd ({n} vierkanten): hotspots verwachten weer naar oppervlakte")
        return
    if file is None:
        raise VeiligError("geef een bestand (CSV of GeoPackage), of --clear")
    cells = read_exposure_file(file, column=column, kind=kind)  # all rows checked before anything is stored
    n = store_exposure(cli_database(), cells)
    what = {"dwellings": "woningen", "inhabitants": "inwoners"}[cells.kind]
    out.print(f"{file.name}: {n} vierkanten van {cells.size:g} m met {cells.value.sum():,.0f} {what} geïmporteerd; "
              f"nulhypothese van de hotspots: '{cells.null_model}'")
    for note in cells.notes:
        out.print(f"[yellow]let op:[/yellow] {note}")


def demo(
    out_file: Annotated[Path, typer.Option("--out", help="BESTAND.csv, BESTAND.gpkg of BESTAND.parquet")],
    seed: Annotated[int, typer.Option(help="startwaarde van het toeval; zelfde seed, zelfde bestand")] = 1,
    incidents: Annotated[Optional[int], typer.Option(help="aantal incidenten (standaard: ~5.000 per jaar)")] = None,
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="eerste dag (standaard 01-01-2023)")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="laatste dag (standaard 31-12-2025)")] = None,
) -> None:
    """Schrijf een synthetische set incidenten (demodata) over de echte buurten."""
    from veilig.geo.demo import DEFAULT_END, DEFAULT_START, default_demo_size, generate_incidents
    from veilig.geo.io import write_incidents

    s: date = parse_date(start, "--start") or DEFAULT_START
    e: date = parse_date(end, "--end") or DEFAULT_END
    if e < s:
        raise VeiligError(f"--end {e} ligt voor --start {s}")
    n = incidents if incidents is not None else default_demo_size(s, e)
    if not 0 <= n <= 1_000_000:
        raise VeiligError(f"--incidents moet tussen 0 en 1.000.000 liggen (niet {n})")
    if out_file.suffix.lower() not in (".csv", ".gpkg", ".parquet"):
        raise VeiligError(f"--out {out_file.name}: kies .csv, .gpkg of .parquet")
    df = generate_incidents(seed, n, s, e)
    write_incidents(df, out_file)
    table = Table(title=f"Synthetische incidenten, seed {seed}")
    table.add_column("categorie")
    table.add_column("aantal", justify="right")
    for cat, cnt in df["category"].value_counts().sort_index().items():
        table.add_row(cat, str(cnt))
    out.print(table)


def serve(
    host: Annotated[Optional[str], typer.Option(help="adres om op te luisteren (standaard 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="poort (standaard 8000)")] = None,
) -> None:
    """Start de webdienst. Een lege database krijgt eerst de demodata."""
    import uvicorn

    from veilig.settings import get_settings

    from .app import create_app

    settings = get_settings().model_copy(update={
        # "is not None": port 0 (let the OS pick a free port, as the tests do) is a port, not "unset".
        "host": host or get_settings().host, "port": port if port is not None else get_settings().port})
    app = create_app(settings)
    import logging

    class _MaskTokens(logging.Filter):
        """Keep secrets out of the access log: the one-time login link carries a token."""

        def filter(self, record: logging.LogRecord) -> bool:
            import re

            if isinstance(record.args, tuple):
                record.args = tuple(re.sub(r"token=[^&\s]+", "token=***", a) if isinstance(a, str) else a
                                    for a in record.args)
            return True

    logging.getLogger("uvicorn.access").addFilter(_MaskTokens())
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", server_header=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Voer alle databasemigraties uit (serve en elk commando doen dat ook bij de start)."""
    from .context import cli_database

    db = cli_database()
    out.print(f"database bijgewerkt ({db.engine.url.render_as_string(hide_password=True)})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(import_app, name="import")
    app.command("demo")(demo)
    app.add_typer(db_app, name="db")
