"""Every read command reads well on an 80-column terminal: no line wider, no cell cut ("Pale…").

Real processes (`python -m veilig.api ...`) with ``COLUMNS=80`` on a real SQLite database holding
a year of synthetic incidents, buurt statistics with long names and a subsidy pilot.
"""

from __future__ import annotations

from veilig.dates import today_local
import json
from datetime import date, timedelta

import pytest

from helpers import run_cli
from veilig.geo.demo import generate_incidents
from veilig.geo.io import write_incidents

WIDTH = 80
TODAY = today_local()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("width")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'w.db'}", "VEILIG_DATA_DIR": str(tmp), "COLUMNS": str(WIDTH),
           "VEILIG_TILES_ENABLED": "false"}
    csv = tmp / "demo.csv"
    write_incidents(generate_incidents(2, 6000, date(2025, 1, 1), date(2025, 12, 31)), csv)
    assert run_cli("import", "incidents", str(csv), env=env).returncode == 0
    stats = tmp / "kerncijfers.csv"
    stats.write_text("statcode,statnaam,inhabitants,dwellings\n"
                     "BU06370002,Palenstein-Noord met een heel lange buurtnaam,5400,3100\n"
                     "BU06370003,Palenstein,7200,3500\n", encoding="utf-8")
    assert run_cli("import", "buurtstats", str(stats), env=env).returncode == 0
    opens, closes = TODAY - timedelta(days=30), TODAY + timedelta(days=300)
    assert run_cli("subsidy", "pilot", "--name", "Hang- en sluitwerk", "--budget", "50.000,00",
                   "--opens", opens.isoformat(), "--closes", closes.isoformat(), env=env).returncode == 0
    for n in range(1, 4):
        proc = run_cli("subsidy", "apply", "--name", f"J. Jansen-van der Berg {n}", "--postcode", "2711 AB",
                       "--house-number", str(n), "--buurt", "BU06370101", "--object-type", "woning",
                       "--invoice", "412,50", "--invoice-date", (opens + timedelta(days=1)).isoformat(),
                       "--product", "SKG*** cilinderslot", "--iban", "NL91 ABNA 0417 1643 00", env=env)
        assert proc.returncode == 0, proc.stderr
    assert run_cli("users", "add", "fatima", "--role", "analyst", env=env).returncode == 0
    return env


READ_COMMANDS = [
    ("hotspots", "--category", "burglary", "--start", "2025-01-01", "--end", "2025-12-31"),
    ("hotspots", "--category", "drugs"),
    ("rhythm", "--theme", "jeugd", "--start", "2025-01-01", "--end", "2025-12-31"),
    ("plan", "--theme", "jeugd", "--week", "2025-W40", "--pairs", "2"),
    ("subsidy", "status"),
    ("subsidy", "list"),
    ("subsidy", "show", "1"),
    ("subsidy", "status", "--per-buurt"),
    ("subsidy", "verify"),
    ("users", "list"),
    ("import", "list"),
    ("indicators", "list"),
    ("indicators", "history", "woninginbraken"),
    ("nearrepeat", "--iterations", "99"),
    ("nearrepeat", "zones", "--date", "2025-12-20"),
    ("emerging", "--category", "burglary", "--step", "quarter"),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_a_read_command_fits_80_columns_and_cuts_no_cell(env, args):
    proc = run_cli(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines, "no output"
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert too_wide == [], too_wide[:3]
    assert "…" not in proc.stdout, [line for line in lines if "…" in line][:3]


def test_a_period_without_data_says_so(env):
    proc = run_cli("rhythm", "--theme", "jeugd", "--start", "2019-01-01", "--end", "2019-01-31", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Geen incidenten" in proc.stdout


@pytest.mark.parametrize("args", [("users", "list", "--json"), ("subsidy", "list", "--json"),
                                  ("rhythm", "--theme", "jeugd", "--json"),
                                  ("plan", "--theme", "jeugd", "--week", "2025-W40", "--json"),
                                  ("import", "list", "--json"), ("indicators", "list", "--json"),
                                  ("indicators", "history", "woninginbraken", "--json"),
                                  ("nearrepeat", "--iterations", "99", "--json"),
                                  ("nearrepeat", "zones", "--date", "2025-12-20", "--json"),
                                  ("emerging", "--category", "drugs", "--step", "quarter", "--json")],
                         ids=lambda a: " ".join(a[:2]))
def test_read_commands_speak_json_for_scripts(env, args):
    proc = run_cli(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)


def test_an_unknown_category_names_each_choice_once(env):
    proc = run_cli("hotspots", "--category", "voetbal", env=env)
    assert proc.returncode != 0
    message = proc.stderr + proc.stdout
    assert "Traceback" not in message
    assert message.count("drugs") == 1, message


@pytest.mark.parametrize("args, pattern", [
    (("emerging", "--category", "burglary", "--step", "quarter"), r"\b\d\.\d{3} locaties"),
    (("nearrepeat", "--iterations", "99"), r"\b\d{1,3}\.\d{3} paren"),
    (("import", "list", "--wide"), r"\b6\.000\b"),
], ids=lambda a: a[0] if isinstance(a, tuple) else "")
def test_counts_people_read_are_in_dutch_notation(env, args, pattern):
    import re

    proc = run_cli(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert re.search(pattern, proc.stdout), proc.stdout[-2000:]


def test_empty_results_say_so_instead_of_an_empty_table(tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'leeg.db'}", "VEILIG_DATA_DIR": str(tmp_path),
           "COLUMNS": str(WIDTH)}
    proc = run_cli("import", "list", env=env)
    assert proc.returncode == 0 and "Nog geen importen" in proc.stdout, proc.stderr
    proc = run_cli("nearrepeat", "zones", "--date", "2025-06-30", "--radius", "200", "--days", "14", env=env)
    assert proc.returncode == 0 and "Geen actieve zones" in proc.stdout, proc.stderr
