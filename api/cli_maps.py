"""``veilig map hotspots|rhythm|subsidy ... --out FILE.html``: the service's maps as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from veilig.dates import parse_date

from veilig.errors import VeiligError

map_app = typer.Typer(help="Schrijf een kaart als zelfstandig HTML-bestand (Leaflet uit ./static ernaast).",
                      no_args_is_help=True)

RoleOpt = Annotated[str, typer.Option("--role", help="wiens weergave: analyst (met incidentpunten), planner, subsidy")]
OutOpt = Annotated[Path, typer.Option("--out", help="BESTAND.html")]


def _write(html: str, out: Path) -> None:
    """Write the page, and copy the vendored Leaflet beside it so it opens offline from disk."""
    import shutil

    if out.suffix.lower() != ".html":
        raise VeiligError(f"--out {out.name}: de kaart wordt als .html geschreven")
    vendor = Path(__file__).parent / "static" / "vendor"
    if not vendor.exists():
        raise VeiligError("Leaflet staat niet in api/static/vendor: draai scripts/setup.sh")
    # The page refers to /static/...; rewrite to a relative folder next to the file.
    html = html.replace('"/static/', '"static/').replace("'/static/", "'static/")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    shutil.copytree(vendor, out.parent / "static" / "vendor", dirs_exist_ok=True)
    typer.echo(f"{out}: {len(html.encode()) / 1024:.0f} kB")


def _settings():
    from veilig.settings import get_settings

    return get_settings()


@map_app.command("hotspots")
def map_hotspots(
    out: OutOpt,
    category: Annotated[str, typer.Option(help="burglary, drugs of een categorie")] = "drugs",
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="DD-MM-JJJJ of JJJJ-MM-DD")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="DD-MM-JJJJ of JJJJ-MM-DD")] = None,
    role: RoleOpt = "planner",
) -> None:
    """Hotspotkaart: buurten gekleurd naar aantal, clusters, Gi*-cellen (en incidentpunten bij --role analyst)."""
    from .context import cli_database
    from .mapviews import hotspot_map_html

    if role not in ("analyst", "planner"):
        raise VeiligError("--role: de hotspotkaart is voor analyst of planner")
    db = cli_database()
    html = hotspot_map_html(db, _settings(), role, category,
                            parse_date(start, "--start"), parse_date(end, "--end"))
    if role == "analyst":
        from veilig.storage.auth import audit, cli_principal

        audit(db, cli_principal(), "read_incident_points", f"veilig map hotspots --category {category}", str(out))
    _write(html, out)


@map_app.command("subsidy")
def map_subsidy(
    out: OutOpt,
    pilot_id: Annotated[Optional[int], typer.Option(help="standaard: de open pilot")] = None,
) -> None:
    """Subsidiekaart: toekenningen en euro's per buurt naast de inbraken, en het budget."""
    from .context import cli_database
    from .mapviews import subsidy_map_html

    _write(subsidy_map_html(cli_database(), _settings(), pilot_id), out)


@map_app.command("rhythm")
def map_rhythm(
    out: OutOpt,
    theme: Annotated[str, typer.Option(help="jeugd, alcohol, evenementen, ondermijning, wijkzorg, meldingen, inbraak")] = "jeugd",
    week: Annotated[Optional[str], typer.Option(help="ISO-week, bijv. 2026-W10 (standaard: de week na de data)")] = None,
    weekday: Annotated[int, typer.Option(min=0, max=6, help="0 = maandag")] = 4,
    shift: Annotated[Optional[str], typer.Option(help="bijv. 16-24")] = None,
    pairs: Annotated[int, typer.Option(help="boa-koppels per dienst")] = 3,
    area: Annotated[Optional[str], typer.Option(help="gebied voor de warmtetabel (standaard: het bovenste)")] = None,
    role: RoleOpt = "planner",
) -> None:
    """Ritme van de Stad: de gebieden van een dienst op volgorde en het ritme van één gebied."""
    from .context import cli_database
    from .mapviews import rhythm_map_html

    _write(rhythm_map_html(cli_database(), _settings(), role, theme, week, weekday, shift, pairs, area), out)


def register(app: typer.Typer) -> None:
    app.add_typer(map_app, name="map")
