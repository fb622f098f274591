"""``veilig subsidy ...`` as the desk uses it: real processes, a real SQLite file."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from helpers import run_cli


def test_subsidy_desk_runs_a_pilot_from_the_command_line(tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'veilig.db'}"}
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()  # the ledger's calendar

    def cli(*args: str):
        return run_cli("subsidy", *args, env=env)

    help_text = cli("--help").stdout
    for command in ("pilot", "apply", "complete", "approve", "reject", "withdraw", "pay", "status", "export"):
        assert command in help_text

    pilot = cli("pilot", "--name", "Hang- en sluitwerk", "--budget", "500,00", "--opens", f"{today.year}-01-01",
                "--closes", f"{today.year}-12-31", "--max-grant", "250,00", "--key", "pilot-1", "--json")
    assert pilot.returncode == 0, pilot.stderr
    assert json.loads(pilot.stdout)["budget_cents"] == 50_000

    common = ["--name", "J. Jansen", "--postcode", "2711 AB", "--buurt", "BU06370101", "--object-type", "woning",
              "--product", "SKG*** cilinderslot", "--iban", "NL91 ABNA 0417 1643 00"]
    first = cli("apply", *common, "--house-number", "1", "--invoice", "412,50", "--invoice-date", today.isoformat(),
                "--key", "intake-1", "--json")
    assert first.returncode == 0, first.stderr
    first = json.loads(first.stdout)
    assert (first["status"], first["grant_cents"]) == ("reserved", 20_625)
    again = cli("apply", *common, "--house-number", "1", "--invoice", "412,50", "--invoice-date", today.isoformat(),
                "--key", "intake-1", "--json")
    assert json.loads(again.stdout) == first  # the retry changed nothing

    second = cli("apply", *common, "--house-number", "2", "--invoice", "80000")
    assert "ontvangen" in second.stdout and "invoice_date" in second.stdout
    done = cli("complete", "2", "--invoice-date", today.isoformat())
    assert "gereserveerd" in done.stdout
    assert "goedgekeurd" in cli("approve", str(first["id"])).stdout
    assert "uitbetaald" in cli("pay", str(first["id"])).stdout

    refused = cli("pay", "2")
    assert refused.returncode == 2
    assert "uitbetalen kan alleen na goedkeuring" in refused.stderr and "Traceback" not in refused.stderr
    outside = cli("apply", *common, "--house-number", "3", "--postcode", "3511 AB")
    assert outside.returncode == 2 and "postcode_buiten_gebied" in outside.stderr

    status = json.loads(cli("status", "--json").stdout)
    assert status["budget"]["paid_cents"] == 20_625 and status["budget"]["reserved_cents"] == 25_000
    assert status["budget"]["remaining_cents"] == 50_000 - 20_625 - 25_000
    assert "Meerzicht-Oost" in cli("status", "--per-buurt").stdout

    out = tmp_path / "finance.csv"
    assert cli("export", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8"), delimiter=";"))
    assert [(r["status"], r["subsidie_euro"]) for r in rows] == [("uitbetaald", "206,25"), ("gereserveerd", "250,00")]
    assert "in orde" in cli("verify").stdout
