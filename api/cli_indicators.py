"""``veilig indicators`` (the Programma 5 register) and ``veilig import misdrijven`` (police open data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

indicators_app = typer.Typer(help="The Programma 5 indicator register: list, record realisations and norms.",
                             no_args_is_help=True)
out = Console(soft_wrap=True)  # a message is one line, also in logs and tests
err = Console(stderr=True, soft_wrap=True)


@indicators_app.command("list")
def list_(
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="also write the register as CSV here")] = None,
) -> None:
    """Every indicator with its realisations and norms per year."""
    from veilig.indicators.rules import format_number
    from veilig.indicators.seed import DIRECTIONS
    from veilig.storage import indicators_repo as repo

    from .context import cli_database
    from .indicatorviews import indicators_csv

    db = cli_database()
    table = Table(title="Indicatoren Programma 5 Veiligheid")
    for col in ("code", "naam", "doel", "bron", "richting", "realisaties", "normen"):
        table.add_column(col)
    for rec in repo.list_indicators(db):
        table.add_row(rec.code, rec.name, rec.goal, rec.source, DIRECTIONS.get(rec.direction, rec.direction),
                      ", ".join(f"{y}: {format_number(v)}" for y, v in sorted(rec.realisations.items()))
                      or (f"nulmeting {rec.baseline}" if rec.baseline else "-"),
                      ", ".join(f"{y}: {format_number(v)}" for y, v in sorted(rec.norms.items())) or "-")
    out.print(table)
    if csv_out is not None:
        csv_out.write_text(indicators_csv(db), encoding="utf-8")
        out.print(f"CSV geschreven naar {csv_out}")


def _record(kind: str, code: str, year: int, value: str, note: str | None) -> None:
    from veilig.storage import indicators_repo as repo
    from veilig.storage.auth import cli_principal

    from .context import cli_database
    from .indicatorviews import parse_number

    old, new = repo.record_value(cli_database(), cli_principal(), code, year, kind, parse_number(value), note)
    from veilig.indicators.rules import format_number

    label = repo.KIND_LABELS[kind]
    was = "geen" if old is None else format_number(old)
    out.print(f"{code} {year}: {label} {format_number(new)} vastgelegd (was: {was}); de eerdere waarde blijft in de historie")


@indicators_app.command("set")
def set_(
    code: Annotated[str, typer.Argument(help="indicator code, see 'veilig indicators list'")],
    year: Annotated[int, typer.Argument(help="year")],
    value: Annotated[str, typer.Argument(help="realisation, e.g. 112 or 7,8")],
    note: Annotated[Optional[str], typer.Option(help="explanation kept with the value")] = None,
) -> None:
    """Record a realisation (audited; the earlier value stays in the history)."""
    _record("realisation", code, year, value, note)


@indicators_app.command("norm")
def norm(
    code: Annotated[str, typer.Argument(help="indicator code")],
    year: Annotated[int, typer.Argument(help="year")],
    value: Annotated[str, typer.Argument(help="norm, e.g. 180 or 7,5")],
    note: Annotated[Optional[str], typer.Option(help="explanation kept with the value")] = None,
) -> None:
    """Record a norm for a year (audited; the earlier value stays in the history)."""
    _record("norm", code, year, value, note)


@indicators_app.command("history")
def history(code: Annotated[str, typer.Argument(help="indicator code")]) -> None:
    """Every value ever recorded for an indicator: when, by whom, from which source."""
    from veilig.indicators.rules import format_number
    from veilig.storage import indicators_repo as repo

    from .context import cli_database

    db = cli_database()
    repo.get_indicator(db, code)
    table = Table(title=f"Historie {code}")
    for col in ("vastgelegd", "door", "jaar", "soort", "waarde", "bron"):
        table.add_column(col)
    for h in repo.history(db, code):
        table.add_row(h.recorded_at.strftime("%Y-%m-%d %H:%M"), h.recorded_by, str(h.year),
                      repo.KIND_LABELS[h.kind], format_number(h.value), h.source)
    out.print(table)


def import_misdrijven(
    file: Annotated[Path, typer.Argument(help="CSV of CBS table 47018NED (registered crimes per buurt and month)")],
    municipality: Annotated[str, typer.Option(help="our municipality code; other municipalities are ignored")] = "GM0637",
    region_column: Annotated[str, typer.Option(help="column with BU/WK/GM codes")] = "WijkenEnBuurten",
    period_column: Annotated[str, typer.Option(help="column with 2024MM01-style months")] = "Perioden",
    type_column: Annotated[str, typer.Option(help="column with the crime-type code")] = "SoortMisdrijf",
    count_column: Annotated[str, typer.Option(help="column with the count")] = "GeregistreerdeMisdrijven_1",
    codes: Annotated[Optional[Path], typer.Option(help="code table CSV 'code,category' (default: built in)")] = None,
    report: Annotated[Optional[Path], typer.Option(help="write every refused row to this CSV")] = None,
) -> None:
    """Import police open data (registered crimes per buurt and month): all rows or none."""
    from veilig.csvout import write_csv
    from veilig.errors import VeiligError
    from veilig.geo.neighbourhoods import load_buurten
    from veilig.indicators.policedata import PoliceColumns, read_code_table, read_police_csv
    from veilig.storage import indicators_repo as repo
    from veilig.storage.auth import cli_principal

    from .context import cli_database

    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise VeiligError(f"{file.name}: niet te lezen als UTF-8 CSV ({type(exc).__name__})") from None
    table = None
    if codes is not None:
        try:
            table = read_code_table(codes.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise VeiligError(f"{codes.name}: {exc}") from None
    read = read_police_csv(text, file.name, municipality=municipality.strip().upper(),
                           known_buurten=set(load_buurten()["statcode"]),
                           columns=PoliceColumns(region_column, period_column, type_column, count_column),
                           codes=table)
    if report is not None:
        write_csv(report, ["file", "row", "field", "reason", "value"],
                  [[e.file, e.row, e.field, e.reason, e.value] for e in read.errors])
    summary = (f"{read.n_rows} rijen: {len(read.rows)} van {municipality}, {read.other_municipality} van andere "
               f"gemeenten genegeerd, {read.other_type} van andere soorten misdrijf genegeerd")
    if read.errors:
        err.print(f"[red]{file.name}: geweigerd, niets geïmporteerd[/red]: {read.invalid_rows} ongeldige rijen "
                  f"({summary}):")
        for e in read.errors[:200]:
            err.print(f"  {e}", markup=False, highlight=False)
        if len(read.errors) > 200:
            err.print(f"  ... en nog {len(read.errors) - 200} (gebruik --report FILE)")
        raise typer.Exit(1)
    rep = repo.store_police(cli_database(), cli_principal(), read)
    out.print(f"{file.name}: geïmporteerd (import {rep.import_id}); {summary}")


def register(app: typer.Typer) -> None:
    from .cli_foundation import import_app

    app.add_typer(indicators_app, name="indicators")
    import_app.command("misdrijven")(import_misdrijven)
