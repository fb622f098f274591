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

import_app = typer.Typer(help="Import incidents or per-buurt statistics.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)

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
        err.print(f"  ... and {len(errors) - limit} more (use --report FILE for all)")


@import_app.command("incidents")
def import_incidents(
    file: Annotated[Path, typer.Argument(help="CSV, GeoJSON, GeoPackage or GeoParquet")],
    crs: Annotated[Optional[str], typer.Option(help="CRS when the file has none, e.g. EPSG:28992")] = None,
    source: Annotated[Optional[str], typer.Option(help="source name; ids are unique per source")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="import the valid rows, report the rest")] = False,
    report: Annotated[Optional[Path], typer.Option(help="write every refused row to this CSV")] = None,
) -> None:
    """Import incidents: all rows in one transaction, or none when any row is invalid."""
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
        err.print(f"[red]{file.name}: refused, nothing imported[/red]: {result.invalid_rows} of "
                  f"{result.n_rows} rows are invalid:")
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
        err.print(f"{file.name}: {result.invalid_rows} invalid rows skipped:")
        _print_errors(result.errors)
    out.print(f"{file.name}: {rep.inserted} incidents imported, {rep.skipped_existing} already present, "
              f"{rep.invalid_rows} invalid (of {rep.rows_in_file} rows); import {rep.batch_id} "
              "(veilig import undo takes it back)")


@import_app.command("list")
def import_list(
    limit: Annotated[int, typer.Option(min=1, max=100000, help="show this many, newest first")] = 50,
) -> None:
    """List the import batches (newest first): file, source, rows, and whether one was undone."""
    from veilig.storage.batches import list_batches

    from .context import cli_database

    batches = list_batches(cli_database(), limit=limit)
    if not batches:
        out.print("nog geen importen")
    # One line per import (not a table: a file name must never be cut off by the terminal's width).
    for b in batches:
        undone = f"; ONGEDAAN op {b.undone_at:%d-%m-%Y %H:%M} door {b.undone_by}" if b.undone_at else ""
        out.print(f"import {b.id}: {b.filename} (bron {b.source}), {b.imported_at:%d-%m-%Y %H:%M} door "
                  f"{b.imported_by or 'onbekend'}: {b.rows_inserted} ingevoegd, {b.rows_skipped_existing} al aanwezig, "
                  f"{b.rows_invalid} ongeldig, {b.rows_stored} opgeslagen{undone}",
                  markup=False, highlight=False, soft_wrap=True)


@import_app.command("undo")
def import_undo(
    batch: Annotated[int, typer.Argument(help="the import's number (see veilig import list)")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Take back one whole import: its incidents are deleted, the import stays listed as undone."""
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
    file: Annotated[Path, typer.Argument(help="CSV with statcode, inhabitants, dwellings[, year]")],
) -> None:
    """Import per-buurt statistics (CBS Kerncijfers), so rates per 1,000 dwellings can be shown."""
    from veilig.geo.neighbourhoods import load_buurten
    from veilig.storage.incidents import import_buurt_stats

    from .context import cli_database

    n = import_buurt_stats(cli_database(), file, set(load_buurten()["statcode"]))
    out.print(f"{file.name}: statistics for {n} buurten imported")


@import_app.command("exposure")
def import_exposure(
    file: Annotated[Optional[Path], typer.Argument(help="CSV or GeoPackage: CBS square code (E0934N4545) or RD "
                                                          "lower-left x/y, and a value column")] = None,
    column: Annotated[Optional[str], typer.Option(help="value column (default: aantal_woningen/woningen, "
                                                       "else aantal_inwoners/inwoners)")] = None,
    kind: Annotated[Optional[str], typer.Option(help="dwellings or inhabitants (default: from the column name)")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove the grid: the null is uniform again")] = False,
) -> None:
    """Import a 100 m grid of dwellings or inhabitants (CBS vierkantstatistieken) as the hotspot null's exposure."""
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
    out_file: Annotated[Path, typer.Option("--out", help="FILE.csv, FILE.gpkg or FILE.parquet")],
    seed: Annotated[int, typer.Option(help="random seed; same seed, same file")] = 1,
    incidents: Annotated[Optional[int], typer.Option(help="number of incidents (default: ~5,000 a year)")] = None,
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="first day (default 2023-01-01)")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="last day (default 2025-12-31)")] = None,
) -> None:
    """Write a synthetic (demo) incident data set over the real buurten."""
    from veilig.geo.demo import DEFAULT_END, DEFAULT_START, default_demo_size, generate_incidents
    from veilig.geo.io import write_incidents

    s: date = parse_date(start, "--start") or DEFAULT_START
    e: date = parse_date(end, "--end") or DEFAULT_END
    if e < s:
        raise VeiligError(f"--end {e} lies before --start {s}")
    n = incidents if incidents is not None else default_demo_size(s, e)
    if not 0 <= n <= 1_000_000:
        raise VeiligError(f"--incidents must be between 0 and 1,000,000 (got {n})")
    if out_file.suffix.lower() not in (".csv", ".gpkg", ".parquet"):
        raise VeiligError(f"--out {out_file.name}: use .csv, .gpkg or .parquet")
    df = generate_incidents(seed, n, s, e)
    write_incidents(df, out_file)
    table = Table(title=f"Synthetische incidenten, seed {seed}")
    table.add_column("categorie")
    table.add_column("aantal", justify="right")
    for cat, cnt in df["category"].value_counts().sort_index().items():
        table.add_row(cat, str(cnt))
    out.print(table)


def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="port (default 8000)")] = None,
) -> None:
    """Run the web service. On an empty database it first loads the demo data."""
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
    """Apply all database migrations (serve and every command also do this on start)."""
    from .context import cli_database

    db = cli_database()
    out.print(f"database at head ({db.engine.url.render_as_string(hide_password=True)})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(import_app, name="import")
    app.command("demo")(demo)
    app.add_typer(db_app, name="db")
