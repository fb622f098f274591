"""``veilig indicators`` (the Programma 5 register) and ``veilig import misdrijven`` (police open data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .tables import Col, console, print_table

indicators_app = typer.Typer(help="Het indicatorregister van Programma 5: tonen, realisaties en normen vastleggen.",
                             no_args_is_help=True)
out = console()
msg = Console(soft_wrap=True)  # a message of a write command is one line, also in logs and tests
err = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="het resultaat als JSON, voor scripts")]
WideOpt = Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")]


@indicators_app.command("list")
def list_(
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="schrijf het register ook als CSV naar dit bestand")
                       ] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Elke indicator met zijn realisaties en normen per jaar."""
    from veilig.indicators.rules import format_number
    from veilig.indicators.seed import DIRECTIONS
    from veilig.storage import indicators_repo as repo

    from .context import cli_database
    from .indicatorviews import indicators_csv

    db = cli_database()
    records = repo.list_indicators(db)
    if csv_out is not None:
        csv_out.write_text(indicators_csv(db), encoding="utf-8")
    if as_json:
        import json

        typer.echo(json.dumps([{
            "code": r.code, "name": r.name, "goal": r.goal, "source": r.source, "unit": r.unit,
            "direction": r.direction, "baseline": r.baseline,
            "realisations": {str(y): v for y, v in sorted(r.realisations.items())},
            "norms": {str(y): v for y, v in sorted(r.norms.items())}} for r in records], ensure_ascii=False))
        return
    if not records:
        out.print("Het register is leeg: er zijn nog geen indicatoren.")
    else:
        cols = [Col("code"), Col("naam"), Col("doel", priority=3), Col("bron", priority=2),
                Col("richting", priority=3), Col("realisaties"), Col("normen")]
        rows = [(rec.code, rec.name, rec.goal, rec.source, DIRECTIONS.get(rec.direction, rec.direction),
                 ", ".join(f"{y}: {format_number(v)}" for y, v in sorted(rec.realisations.items()))
                 or (f"nulmeting {rec.baseline}" if rec.baseline else "-"),
                 ", ".join(f"{y}: {format_number(v)}" for y, v in sorted(rec.norms.items())) or "-")
                for rec in records]
        print_table(cols, rows, title="Indicatoren Programma 5 Veiligheid", wide=wide, out=out)
    if csv_out is not None:
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
    msg.print(f"{code} {year}: {label} {format_number(new)} vastgelegd (was: {was}); de eerdere waarde blijft in de historie")


@indicators_app.command("set")
def set_(
    code: Annotated[str, typer.Argument(help="code van de indicator, zie 'veilig indicators list'")],
    year: Annotated[int, typer.Argument(help="jaar")],
    value: Annotated[str, typer.Argument(help="realisatie, bijv. 112 of 7,8")],
    note: Annotated[Optional[str], typer.Option(help="toelichting die bij de waarde bewaard wordt")] = None,
) -> None:
    """Leg een realisatie vast (geaudit; de eerdere waarde blijft in de historie)."""
    _record("realisation", code, year, value, note)


@indicators_app.command("norm")
def norm(
    code: Annotated[str, typer.Argument(help="code van de indicator")],
    year: Annotated[int, typer.Argument(help="jaar")],
    value: Annotated[str, typer.Argument(help="norm, bijv. 180 of 7,5")],
    note: Annotated[Optional[str], typer.Option(help="toelichting die bij de waarde bewaard wordt")] = None,
) -> None:
    """Leg een norm voor een jaar vast (geaudit; de eerdere waarde blijft in de historie)."""
    _record("norm", code, year, value, note)


@indicators_app.command("history")
def history(code: Annotated[str, typer.Argument(help="code van de indicator")], as_json: JsonOpt = False,
            wide: WideOpt = False) -> None:
    """Elke waarde die ooit voor een indicator is vastgelegd: wanneer, door wie, uit welke bron."""
    from veilig.indicators.rules import format_number
    from veilig.storage import indicators_repo as repo

    from .context import cli_database

    db = cli_database()
    repo.get_indicator(db, code)
    rows = repo.history(db, code)
    if as_json:
        import json

        typer.echo(json.dumps([{"recorded_at": h.recorded_at.isoformat(), "recorded_by": h.recorded_by,
                                "year": h.year, "kind": h.kind, "value": h.value, "source": h.source,
                                "note": h.note} for h in rows], ensure_ascii=False))
        return
    if not rows:
        out.print(f"Voor {code} is nog niets vastgelegd.")
        return
    print_table([Col("vastgelegd"), Col("door"), Col("jaar", "right"), Col("soort"), Col("waarde", "right"),
                 Col("bron", priority=2), Col("toelichting", priority=3)],
                [(f"{h.recorded_at:%d-%m-%Y %H:%M}", h.recorded_by, h.year, repo.KIND_LABELS[h.kind],
                  format_number(h.value), h.source, h.note or "") for h in rows],
                title=f"Historie {code}", wide=wide, out=out)


def import_misdrijven(
    file: Annotated[Path, typer.Argument(help="CSV van CBS-tabel 47018NED (geregistreerde misdrijven per buurt en "
                                              "maand)")],
    municipality: Annotated[str, typer.Option(help="onze gemeentecode; andere gemeenten worden genegeerd")] = "GM0637",
    region_column: Annotated[str, typer.Option(help="kolom met BU/WK/GM-codes")] = "WijkenEnBuurten",
    period_column: Annotated[str, typer.Option(help="kolom met maanden als 2024MM01")] = "Perioden",
    type_column: Annotated[str, typer.Option(help="kolom met de code van de soort misdrijf")] = "SoortMisdrijf",
    count_column: Annotated[str, typer.Option(help="kolom met het aantal")] = "GeregistreerdeMisdrijven_1",
    codes: Annotated[Optional[Path], typer.Option(help="codetabel CSV 'code,category' (standaard: ingebouwd)")] = None,
    report: Annotated[Optional[Path], typer.Option(help="schrijf elke geweigerde rij naar deze CSV")] = None,
) -> None:
    """Importeer open data van de politie (geregistreerde misdrijven per buurt en maand): alle rijen of geen."""
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
    msg.print(f"{file.name}: geïmporteerd (import {rep.import_id}); {summary}")


def register(app: typer.Typer) -> None:
    from .cli_foundation import import_app

    app.add_typer(indicators_app, name="indicators")
    import_app.command("misdrijven")(import_misdrijven)
