"""``veilig rhythm`` and ``veilig plan``: the rhythm of the city and the boa shift plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from veilig.dates import parse_date

from .tables import console

out = console()


def rhythm(
    theme: Annotated[str, typer.Option(help="jeugd, alcohol, evenementen, ondermijning, wijkzorg, meldingen, inbraak")],
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="DD-MM-JJJJ of JJJJ-MM-DD")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="DD-MM-JJJJ of JJJJ-MM-DD")] = None,
    buurt: Annotated[Optional[str], typer.Option(help="statcode, bijv. BU06370002")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="de JSON van GET /api/v1/rhythm, voor scripts")] = False,
) -> None:
    """Het ritme van een thema per weekdag en uur (lokale tijd), met de cellen die opvallen."""
    from veilig.geo import calendar_nl as cal
    from veilig.geo.rhythm import rhythm as compute_rhythm
    from veilig.geo.rhythm import theme_categories
    from veilig.storage.incidents import incident_span, load_incidents

    from .context import cli_database
    from .services import check_period

    db = cli_database()
    s = parse_date(start, "--start")
    e = parse_date(end, "--end")
    check_period(s, e)
    span = incident_span(db)
    if span:
        s, e = s or span[0], e or span[1]
    incidents = load_incidents(db, categories=theme_categories(theme.strip().lower()), start=s, end=e)
    result = compute_rhythm(incidents, theme.strip().lower(), s, e, buurt)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        return
    # Hours down, days across: 24 columns of hours would not fit an 80-column terminal; * = peak.
    peaks = {(p.weekday, p.hour) for p in result.peaks}
    typer.echo(f"Ritme {theme}, {result.start} t/m {result.end}" + (f", {buurt}" if buurt else "")
               + " (lokale tijd; * = valt significant op)")
    total = sum(v for row in result.counts for v in row if v is not None)
    if total == 0:
        typer.echo("Geen incidenten van dit thema in deze periode (of alle aantallen verborgen): "
                   "kies een andere periode of een ander thema.")
        return
    typer.echo("uur  " + "".join(f"{cal.WEEKDAYS_NL[d][:2]:>6}" for d in range(7)))
    for h in range(24):
        cells = "".join(
            f"{'-' if result.counts[d][h] is None else result.counts[d][h]:>5}{'*' if (d, h) in peaks else ' '}"
            for d in range(7))
        typer.echo(f"{h:02d}   {cells}")


def plan(
    theme: Annotated[str, typer.Option(help="jeugd, alcohol, evenementen, ondermijning, wijkzorg, meldingen, inbraak")],
    week: Annotated[Optional[str], typer.Option(help="ISO-week, bijv. 2026-W10")] = None,
    day: Annotated[Optional[str], typer.Option("--date", metavar="DATUM", help="plan één dag")] = None,
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="DD-MM-JJJJ of JJJJ-MM-DD")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="DD-MM-JJJJ of JJJJ-MM-DD")] = None,
    pairs: Annotated[int, typer.Option(help="boa-koppels per dienst")] = 2,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="schrijf het plan als CSV")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="het plan als JSON, voor scripts")] = False,
) -> None:
    """Dienstenplan: de gebieden per dienst, en hoe dezelfde methode het deed in de vorige periode."""
    from .context import cli_database
    from .routes.rhythm import plan_for
    from .services import check_period

    s = parse_date(start, "--start")
    e = parse_date(end, "--end")
    check_period(s, e)
    result = plan_for(cli_database(), theme, week, s, e, pairs, parse_date(day, "--date"))
    if csv_out is not None:
        csv_out.write_text(result.to_csv(), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        return
    from .tables import Col, nl_dec, print_table

    cols = [Col("datum"), Col("dag"), Col("dienst"), Col("koppel", "right", 3), Col("gebied"),
            Col("verwacht", "right", 2), Col("kalender", priority=4)]
    rows = [(str(r.date), r.weekday_label, r.shift, r.pair, str(r.area_name), nl_dec(r.expected, 2),
             str(r.calendar or "")) for r in result.table.itertuples()]
    print_table(cols, rows, title=f"Dienstenplan {theme}: {result.start} t/m {result.end}, "
                f"{result.pairs} koppel(s) per dienst", wide=wide, out=out)
    if not rows:
        out.print("Geen diensten in deze periode.")
    if result.coverage is not None:
        c = result.coverage
        if c.hit_rate is None:
            out.print(f"Terugblik {c.start} t/m {c.end}: geen incidenten om de methode aan te toetsen")
        else:
            out.print(f"Terugblik {c.start} t/m {c.end}: trefkans {nl_dec(c.hit_rate * 100, 0)}% "
                      f"({c.n_captured} van {c.n_incidents}), PAI {nl_dec(c.pai, 1)}")
    else:
        out.print(f"Terugblik: {result.coverage_note}")


def register(app: typer.Typer) -> None:
    app.command("rhythm")(rhythm)
    app.command("plan")(plan)
