"""``veilig subsidy ...``: the subsidy desk's commands. Thin: parse, call storage.ledger_repo, print."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import BaseModel, ValidationError

from veilig.errors import VeiligError
from veilig.ledger.money import format_euros, parse_amount_cents
from veilig.ledger.schemas import Application, ApplicationIn, Budget, PilotIn
from veilig.ledger.status import label

subsidy_app = typer.Typer(
    help="De subsidie voor inbraakwerend hang- en sluitwerk: pilots, aanvragen, budget.",
    no_args_is_help=True,
)

KeyOpt = Annotated[
    Optional[str],
    typer.Option("--key", help="idempotentiesleutel: hetzelfde commando met dezelfde sleutel verandert niets meer"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="het resultaat als JSON, voor scripts")]
PilotOpt = Annotated[Optional[int], typer.Option("--pilot-id", help="standaard: de open pilot")]


def _db():
    from veilig.api.context import cli_database

    return cli_database()


def _audit(db, action: str, target: str, detail: str | None = None) -> None:
    """Reads of personal data from the command line are audited like those over HTTP."""
    from veilig.storage.auth import audit, cli_principal

    audit(db, cli_principal(), action, target, detail)


def _repo():
    from veilig.storage import ledger_repo

    return ledger_repo


def _date(text: str | None, what: str) -> date | None:
    from veilig.dates import parse_date

    return parse_date(text, what)


def _cents(text: str | None) -> int | None:
    return None if text is None else parse_amount_cents(text)


def _model(cls: type[BaseModel], **values):
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise VeiligError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def _print_json(model: BaseModel | list[BaseModel]) -> None:
    if isinstance(model, list):
        typer.echo("[" + ",\n".join(m.model_dump_json() for m in model) + "]")
    else:
        typer.echo(model.model_dump_json(indent=2))


def _print_application(app: Application, as_json: bool) -> None:
    if as_json:
        _print_json(app)
        return
    grant = f", subsidie {format_euros(app.grant_cents)}" if app.grant_cents is not None else ""
    typer.echo(f"aanvraag {app.id}: {label(app.status)} ({app.status}){grant}")
    if app.reason:
        typer.echo(f"  reden: {app.reason}")


def _print_budget(b: Budget) -> None:
    typer.echo(f"pilot {b.pilot_id}")
    typer.echo(f"  budget        {format_euros(b.total_cents):>16}  ({b.total_cents} cent)")
    typer.echo(f"  gereserveerd  {format_euros(b.reserved_cents):>16}  ({b.reserved_cents} cent)")
    typer.echo(f"  uitbetaald    {format_euros(b.paid_cents):>16}  ({b.paid_cents} cent)")
    typer.echo(f"  beschikbaar   {format_euros(b.remaining_cents):>16}  ({b.remaining_cents} cent)")
    when = b.projected_exhaustion_date.isoformat() if b.projected_exhaustion_date else "geen voorspelling (geen tempo)"
    typer.echo(f"  op naar verwachting: {when}")


def _application_fields(
    name, postcode, house_number, addition, buurt, object_type, invoice, invoice_date, products, iban
) -> ApplicationIn:
    return _model(
        ApplicationIn,
        applicant_name=name,
        postcode=postcode,
        house_number=house_number,
        house_number_addition=addition,
        buurt=buurt,
        object_type=object_type,
        invoice_amount_cents=_cents(invoice),
        invoice_date=_date(invoice_date, "factuurdatum"),
        products=products or None,
        iban=iban,
    )


NameOpt = Annotated[Optional[str], typer.Option("--name", help="naam van de aanvrager")]
PostcodeOpt = Annotated[Optional[str], typer.Option("--postcode", help="bijv. '2711 AB'")]
NumberOpt = Annotated[Optional[int], typer.Option("--house-number", help="huisnummer")]
AdditionOpt = Annotated[Optional[str], typer.Option("--addition", help="toevoeging bij het huisnummer")]
BuurtOpt = Annotated[Optional[str], typer.Option("--buurt", help="statcode, bijv. BU06370101 (tenzij de postcodetabel hem kent)")]
ObjectOpt = Annotated[Optional[str], typer.Option("--object-type", help="woning of schuur")]
InvoiceOpt = Annotated[Optional[str], typer.Option("--invoice", help="factuurbedrag: centen (80000) of euro's (800,00)")]
InvoiceDateOpt = Annotated[Optional[str], typer.Option("--invoice-date", help="factuurdatum, JJJJ-MM-DD")]
ProductOpt = Annotated[Optional[list[str]], typer.Option("--product", help="een product met SKG-sterren of PKVW; herhaal voor meer")]
IbanOpt = Annotated[Optional[str], typer.Option("--iban", help="IBAN voor de uitbetaling")]


@subsidy_app.command("pilot")
def pilot_cmd(
    name: Annotated[str, typer.Option("--name", help="naam van de pilot")],
    budget: Annotated[str, typer.Option("--budget", help="centen (5000000) of euro's (50.000,00)")],
    opens: Annotated[str, typer.Option("--opens", help="eerste dag, JJJJ-MM-DD")],
    closes: Annotated[str, typer.Option("--closes", help="laatste dag, JJJJ-MM-DD")],
    percentage: Annotated[int, typer.Option("--percentage", help="subsidie als % van de factuur")] = 50,
    max_grant: Annotated[str, typer.Option("--max-grant", help="maximum per adres: centen of euro's")] = "25000",
    waiting_list: Annotated[bool, typer.Option("--waiting-list/--no-waiting-list", help="met of zonder wachtlijst als het budget op is")] = False,
    object_types: Annotated[str, typer.Option("--object-types", help="soorten object, gescheiden door komma's")] = "woning,schuur",
    postcodes: Annotated[str, typer.Option("--postcodes", help="viercijferige postcodegebieden")] = "2711-2729",
    buurten: Annotated[Optional[str], typer.Option("--buurten", help="statcodes, gescheiden door komma's; standaard alle")] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open een pilot met zijn budget en subsidieregel."""
    spec = _model(
        PilotIn,
        name=name,
        budget_cents=parse_amount_cents(budget),
        opens_on=_date(opens, "--opens"),
        closes_on=_date(closes, "--closes"),
        grant_percentage=percentage,
        max_grant_cents=parse_amount_cents(max_grant),
        waiting_list=waiting_list,
        object_types=[t for t in object_types.split(",") if t.strip()],
        postcode_ranges=postcodes,
        buurten=[b for b in (buurten or "").split(",") if b.strip()],
    )
    pilot = _repo().create_pilot(_db(), spec, idempotency_key=key)
    if as_json:
        _print_json(pilot)
        return
    typer.echo(
        f"pilot {pilot.id} '{pilot.name}': {pilot.opens_on} t/m {pilot.closes_on}, budget {format_euros(pilot.budget_cents)}, "
        f"{pilot.grant_percentage}% tot {format_euros(pilot.max_grant_cents)} per adres"
        + (", met wachtlijst" if pilot.waiting_list else "")
    )


@subsidy_app.command("top-up")
def top_up_cmd(
    amount: Annotated[str, typer.Argument(help="centen of euro's")],
    memo: Annotated[Optional[str], typer.Option("--memo", help="waarom, bijv. het raadsbesluit")] = None,
    pilot_id: PilotOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verhoog het budget (een ophoogboeking; het budget zelf wordt nooit bewerkt)."""
    result = _repo().top_up(_db(), parse_amount_cents(amount), pilot_id=pilot_id, memo=memo, idempotency_key=key)
    _print_json(result) if as_json else _print_budget(result)


@subsidy_app.command("apply")
def apply_cmd(
    name: NameOpt = None,
    postcode: PostcodeOpt = None,
    house_number: NumberOpt = None,
    addition: AdditionOpt = None,
    buurt: BuurtOpt = None,
    object_type: ObjectOpt = None,
    invoice: InvoiceOpt = None,
    invoice_date: InvoiceDateOpt = None,
    product: ProductOpt = None,
    iban: IbanOpt = None,
    pilot_id: PilotOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Registreer een aanvraag; over een volledige wordt meteen besloten."""
    fields = _application_fields(name, postcode, house_number, addition, buurt, object_type, invoice, invoice_date, product, iban)
    _print_application(_repo().apply(_db(), fields, pilot_id=pilot_id, idempotency_key=key), as_json)


@subsidy_app.command("complete")
def complete_cmd(
    application_id: Annotated[int, typer.Argument()],
    name: NameOpt = None,
    postcode: PostcodeOpt = None,
    house_number: NumberOpt = None,
    addition: AdditionOpt = None,
    buurt: BuurtOpt = None,
    object_type: ObjectOpt = None,
    invoice: InvoiceOpt = None,
    invoice_date: InvoiceDateOpt = None,
    product: ProductOpt = None,
    iban: IbanOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Vul aan wat een ontvangen aanvraag nog mist; zodra die volledig is, wordt besloten."""
    fields = _application_fields(name, postcode, house_number, addition, buurt, object_type, invoice, invoice_date, product, iban)
    _print_application(_repo().complete(_db(), application_id, fields, idempotency_key=key), as_json)


@subsidy_app.command("approve")
def approve_cmd(application_id: Annotated[int, typer.Argument()], key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Keur een gereserveerde subsidie goed."""
    _print_application(_repo().approve(_db(), application_id, idempotency_key=key), as_json)


@subsidy_app.command("reject")
def reject_cmd(
    application_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="waarom (staat in het besluitspoor)")],
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Wijs een niet-uitbetaalde aanvraag af; de reservering vervalt."""
    _print_application(_repo().reject(_db(), application_id, reason, idempotency_key=key), as_json)


@subsidy_app.command("withdraw")
def withdraw_cmd(
    application_id: Annotated[int, typer.Argument()],
    reason: Annotated[Optional[str], typer.Option("--reason", help="waarom (staat in het besluitspoor)")] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Trek een aanvraag in (op verzoek van de aanvrager); de reservering vervalt."""
    _print_application(_repo().withdraw(_db(), application_id, reason, idempotency_key=key), as_json)


@subsidy_app.command("pay")
def pay_cmd(
    application_id: Annotated[int, typer.Argument()],
    iban: Annotated[Optional[str], typer.Option("--iban", help="als de aanvraag er geen heeft")] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Betaal een goedgekeurde subsidie uit: de reservering wordt een uitbetaling."""
    _print_application(_repo().pay(_db(), application_id, iban=iban, idempotency_key=key), as_json)


@subsidy_app.command("status")
def status_cmd(
    pilot_id: PilotOpt = None,
    per_buurt: Annotated[bool, typer.Option("--per-buurt", help="toekenningen en euro's per buurt")] = False,
    as_json: JsonOpt = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
) -> None:
    """Budget (totaal, gereserveerd, uitbetaald, beschikbaar), verwachte uitputtingsdatum, aanvragen per status."""
    repo, db = _repo(), _db()
    report = repo.status_report(db, pilot_id)
    rows = repo.buurt_report(db, report.pilot.id) if per_buurt else []
    if as_json:
        typer.echo(report.model_dump_json(indent=2) if not per_buurt else
                   '{"status": ' + report.model_dump_json() + ', "buurten": [' + ",".join(r.model_dump_json() for r in rows) + "]}")
        return
    typer.echo(f"'{report.pilot.name}' ({report.pilot.opens_on} t/m {report.pilot.closes_on})")
    _print_budget(report.budget)
    import textwrap

    from .tables import terminal_width

    counts = ", ".join(f"{label(s)} {n}" for s, n in report.counts.items())
    typer.echo(textwrap.fill(counts, width=max(40, terminal_width()), initial_indent="  aanvragen: ",
                             subsequent_indent="    "))
    if per_buurt:
        from .tables import Col, nl_int, print_table

        if not rows:
            typer.echo("Nog geen aanvragen per buurt.")
            return
        print_table([Col("buurt", priority=3), Col("naam"), Col("aanvragen", "right"), Col("toekenningen", "right", 2),
                     Col("gereserveerd", "right"), Col("uitbetaald", "right")],
                    [(r.buurt, r.statnaam or "-", nl_int(r.applications), nl_int(r.grants),
                      format_euros(r.reserved_cents), format_euros(r.paid_cents)) for r in rows],
                    title="Per buurt", wide=wide)


@subsidy_app.command("show")
def show_cmd(application_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False) -> None:
    """Eén aanvraag en haar volledige besluitspoor."""
    repo, db = _repo(), _db()
    app, trail = repo.get_application(db, application_id), repo.decision_trail(db, application_id)
    _audit(db, "subsidy_read_application", f"application {application_id}")
    if as_json:
        typer.echo('{"application": ' + app.model_dump_json() + ', "trail": [' + ",".join(e.model_dump_json() for e in trail) + "]}")
        return
    _print_application(app, False)
    for e in trail:
        money = f" {format_euros(e.amount_cents)}" if e.amount_cents else ""
        entry = f" (boeking {e.entry_id})" if e.entry_id else ""
        before = label(e.from_status) if e.from_status else "-"
        typer.echo(f"  {e.at:%d-%m-%Y %H:%M:%S} {e.action:<10} {before} -> {label(e.to_status)}{money}{entry}"
                   + (f": {e.reason}" if e.reason else ""))


@subsidy_app.command("list")
def list_cmd(
    pilot_id: PilotOpt = None,
    status: Annotated[Optional[str], typer.Option("--status", help="alleen aanvragen met deze status")] = None,
    as_json: JsonOpt = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
) -> None:
    """De aanvragen in volgorde van ontvangst."""
    from veilig.ledger.status import Status

    if status is not None and status not in {s.value for s in Status}:
        raise VeiligError(f"--status: '{status}' is geen van {', '.join(s.value for s in Status)}")
    db = _db()
    apps = _repo().list_applications(db, pilot_id, status=status)
    _audit(db, "subsidy_list_applications", f"pilot {pilot_id or 'open'}", f"{len(apps)} applications")
    if as_json:
        _print_json(apps)
        return
    from .tables import Col, print_table

    if not apps:
        typer.echo("Geen aanvragen" + (f" met status {status}" if status else "") + ".")
        return
    print_table(
        [Col("aanvraag", "right"), Col("status"), Col("subsidie", "right"), Col("adres"), Col("buurt", priority=2),
         Col("ontvangen", priority=3)],
        [(a.id, label(a.status), format_euros(a.grant_cents) if a.grant_cents is not None else "-",
          f"{a.postcode} {a.house_number}{a.house_number_addition or ''}", a.buurt or "?",
          a.received_at.date().isoformat() if getattr(a, "received_at", None) else "")
         for a in apps], wide=wide)


@subsidy_app.command("export")
def export_cmd(
    out: Annotated[Optional[Path], typer.Option("--out", help="CSV-bestand; standaard: de standaarduitvoer")] = None,
    entries: Annotated[bool, typer.Option("--entries", help="de boekingen in plaats van de aanvragen")] = False,
    pilot_id: PilotOpt = None,
) -> None:
    """CSV voor financiën (puntkomma als scheidingsteken; centen en euro's met decimale komma)."""
    repo, db = _repo(), _db()
    csv_text = repo.export_entries_csv(db, pilot_id) if entries else repo.export_applications_csv(db, pilot_id)
    _audit(db, "subsidy_export", f"pilot {pilot_id or 'open'}", "entries" if entries else "applications")
    if out is None:
        typer.echo(csv_text, nl=False)
    else:
        out.write_text(csv_text, encoding="utf-8")
        typer.echo(f"{csv_text.count(chr(10)) - 1} regels geschreven naar {out}", err=True)


@subsidy_app.command("import-postcodes")
def import_postcodes_cmd(file: Annotated[Path, typer.Argument(help="CSV met de CBS-tabel postcode-huisnummer-buurt")]) -> None:
    """Laad de CBS-tabel postcode-huisnummer-buurt: de buurt van een adres komt dan daaruit."""
    if not file.is_file():
        raise VeiligError(f"bestand {file} bestaat niet")
    result = _repo().import_postcodes(_db(), file.read_text(encoding="utf-8-sig"))
    typer.echo(
        f"{result.rows_imported} adressen in Zoetermeer geladen ({result.rows_outside_zoetermeer} buiten Zoetermeer "
        f"overgeslagen, {result.rows_replaced} oude vervangen)"
    )


@subsidy_app.command("verify")
def verify_cmd(pilot_id: PilotOpt = None) -> None:
    """Speel het grootboek opnieuw af uit de boekingen en controleer elk opgeslagen saldo en elke status."""
    check = _repo().verify_ledger(_db(), pilot_id)
    typer.echo(f"pilot {check.pilot_id}: {check.entries} boekingen, budget {check.total_cents}, gereserveerd "
               f"{check.reserved_cents}, betaald {check.paid_cents}: {'in orde' if check.ok else 'FOUT'}")
    for p in check.problems:
        typer.echo(f"  {p}")
    if not check.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(subsidy_app, name="subsidy")
