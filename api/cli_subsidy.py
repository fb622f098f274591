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
    typer.Option("--key", help="idempotency key: repeating the command with the same key changes nothing"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
PilotOpt = Annotated[Optional[int], typer.Option("--pilot-id", help="default: the open pilot")]


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


NameOpt = Annotated[Optional[str], typer.Option("--name", help="applicant's name")]
PostcodeOpt = Annotated[Optional[str], typer.Option("--postcode", help="e.g. '2711 AB'")]
NumberOpt = Annotated[Optional[int], typer.Option("--house-number")]
AdditionOpt = Annotated[Optional[str], typer.Option("--addition", help="house number addition")]
BuurtOpt = Annotated[Optional[str], typer.Option("--buurt", help="statcode, e.g. BU06370101 (unless the postcode table knows)")]
ObjectOpt = Annotated[Optional[str], typer.Option("--object-type", help="woning or schuur")]
InvoiceOpt = Annotated[Optional[str], typer.Option("--invoice", help="invoice amount: cents (80000) or euros (800,00)")]
InvoiceDateOpt = Annotated[Optional[str], typer.Option("--invoice-date", help="YYYY-MM-DD")]
ProductOpt = Annotated[Optional[list[str]], typer.Option("--product", help="a product with SKG stars or PKVW; repeat")]
IbanOpt = Annotated[Optional[str], typer.Option("--iban")]


@subsidy_app.command("pilot")
def pilot_cmd(
    name: Annotated[str, typer.Option("--name")],
    budget: Annotated[str, typer.Option("--budget", help="cents (5000000) or euros (50.000,00)")],
    opens: Annotated[str, typer.Option("--opens", help="first day, YYYY-MM-DD")],
    closes: Annotated[str, typer.Option("--closes", help="last day, YYYY-MM-DD")],
    percentage: Annotated[int, typer.Option("--percentage", help="grant as % of the invoice")] = 50,
    max_grant: Annotated[str, typer.Option("--max-grant", help="cap per address: cents or euros")] = "25000",
    waiting_list: Annotated[bool, typer.Option("--waiting-list/--no-waiting-list")] = False,
    object_types: Annotated[str, typer.Option("--object-types")] = "woning,schuur",
    postcodes: Annotated[str, typer.Option("--postcodes", help="four-digit postcode areas")] = "2711-2729",
    buurten: Annotated[Optional[str], typer.Option("--buurten", help="comma-separated statcodes; default all")] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a pilot with its budget and grant rule."""
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
    amount: Annotated[str, typer.Argument(help="cents or euros")],
    memo: Annotated[Optional[str], typer.Option("--memo", help="why, e.g. the council decision")] = None,
    pilot_id: PilotOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Raise the budget (a top-up entry; the budget itself is never edited)."""
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
    """Register an application; a complete one is decided at once."""
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
    """Supply what a received application still misses; once complete it is decided."""
    fields = _application_fields(name, postcode, house_number, addition, buurt, object_type, invoice, invoice_date, product, iban)
    _print_application(_repo().complete(_db(), application_id, fields, idempotency_key=key), as_json)


@subsidy_app.command("approve")
def approve_cmd(application_id: Annotated[int, typer.Argument()], key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Approve a reserved grant."""
    _print_application(_repo().approve(_db(), application_id, idempotency_key=key), as_json)


@subsidy_app.command("reject")
def reject_cmd(
    application_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="why (shown in the decision trail)")],
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject an application that is not paid; its reservation is released."""
    _print_application(_repo().reject(_db(), application_id, reason, idempotency_key=key), as_json)


@subsidy_app.command("withdraw")
def withdraw_cmd(
    application_id: Annotated[int, typer.Argument()],
    reason: Annotated[Optional[str], typer.Option("--reason")] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw an application (the applicant's wish); its reservation is released."""
    _print_application(_repo().withdraw(_db(), application_id, reason, idempotency_key=key), as_json)


@subsidy_app.command("pay")
def pay_cmd(
    application_id: Annotated[int, typer.Argument()],
    iban: Annotated[Optional[str], typer.Option("--iban", help="when the application has none")] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pay an approved grant: the reservation becomes a payout."""
    _print_application(_repo().pay(_db(), application_id, iban=iban, idempotency_key=key), as_json)


@subsidy_app.command("status")
def status_cmd(
    pilot_id: PilotOpt = None,
    per_buurt: Annotated[bool, typer.Option("--per-buurt", help="grants and euros per buurt")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Budget (total, reserved, paid, remaining), projected exhaustion date, applications per status."""
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
    for r in rows:
        typer.echo(
            f"  {r.buurt} {r.statnaam or '':<28} aanvragen {r.applications:>4}  toekenningen {r.grants:>4}  "
            f"gereserveerd {format_euros(r.reserved_cents):>14}  uitbetaald {format_euros(r.paid_cents):>14}"
        )


@subsidy_app.command("show")
def show_cmd(application_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False) -> None:
    """One application and its full decision trail."""
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
    status: Annotated[Optional[str], typer.Option("--status")] = None,
    as_json: JsonOpt = False,
    wide: Annotated[bool, typer.Option("--wide", help="all columns, however wide the terminal")] = False,
) -> None:
    """Applications in order of receipt."""
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
    out: Annotated[Optional[Path], typer.Option("--out", help="CSV file; default: standard output")] = None,
    entries: Annotated[bool, typer.Option("--entries", help="the ledger entries instead of the applications")] = False,
    pilot_id: PilotOpt = None,
) -> None:
    """CSV for finance (semicolon-separated; cents and euros with a decimal comma)."""
    repo, db = _repo(), _db()
    csv_text = repo.export_entries_csv(db, pilot_id) if entries else repo.export_applications_csv(db, pilot_id)
    _audit(db, "subsidy_export", f"pilot {pilot_id or 'open'}", "entries" if entries else "applications")
    if out is None:
        typer.echo(csv_text, nl=False)
    else:
        out.write_text(csv_text, encoding="utf-8")
        typer.echo(f"{csv_text.count(chr(10)) - 1} regels geschreven naar {out}", err=True)


@subsidy_app.command("import-postcodes")
def import_postcodes_cmd(file: Annotated[Path, typer.Argument(help="CBS postcode-huisnummer-buurt CSV")]) -> None:
    """Load the CBS postcode-huisnummer-buurt table: the buurt of an address then comes from it."""
    if not file.is_file():
        raise VeiligError(f"bestand {file} bestaat niet")
    result = _repo().import_postcodes(_db(), file.read_text(encoding="utf-8-sig"))
    typer.echo(
        f"{result.rows_imported} adressen in Zoetermeer geladen ({result.rows_outside_zoetermeer} buiten Zoetermeer "
        f"overgeslagen, {result.rows_replaced} oude vervangen)"
    )


@subsidy_app.command("verify")
def verify_cmd(pilot_id: PilotOpt = None) -> None:
    """Replay the ledger from its entries and check every stored balance and status against it."""
    check = _repo().verify_ledger(_db(), pilot_id)
    typer.echo(f"pilot {check.pilot_id}: {check.entries} boekingen, budget {check.total_cents}, gereserveerd "
               f"{check.reserved_cents}, betaald {check.paid_cents}: {'in orde' if check.ok else 'FOUT'}")
    for p in check.problems:
        typer.echo(f"  {p}")
    if not check.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(subsidy_app, name="subsidy")
