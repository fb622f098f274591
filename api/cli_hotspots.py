"""``veilig hotspots``: clusters, Gi* grid and buurt table for a category and period; a file and a summary."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from veilig.dates import parse_date

from .tables import console

out = console()

_CLASS_NL = {3: "heet 99%", 2: "heet 95%", 1: "heet 90%", 0: "", -1: "koud 90%", -2: "koud 95%", -3: "koud 99%"}


def _fmt(value, fmt: str, empty: str = "-") -> str:
    try:
        if value is None or value != value:  # None or NaN
            return empty
    except TypeError:
        return empty
    return format(value, fmt)


def _p(value) -> str:
    """A p-value in Dutch notation: three decimals, ``<0,001`` below that, ``-`` when missing."""
    try:
        if value is None or value != value:
            return "-"
    except TypeError:
        return "-"
    return "<0,001" if float(value) < 0.001 else format(float(value), ".3f").replace(".", ",")


def hotspots(
    category: Annotated[str, typer.Option(help="burglary, drugs of één categorie (bijv. woninginbraak)")],
    start: Annotated[Optional[str], typer.Option(metavar="DATUM", help="eerste dag (standaard: eerste incident)")] = None,
    end: Annotated[Optional[str], typer.Option(metavar="DATUM", help="laatste dag, inclusief (standaard: laatste incident)")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="ruwe DBSCAN/HDBSCAN-clusters (ruwe clustering, geen "
                                                    "significantietoets) in plaats van significante clusters")] = False,
    method: Annotated[str, typer.Option(help="met --raw: dbscan of hdbscan")] = "dbscan",
    eps: Annotated[float, typer.Option(help="met --raw: DBSCAN-straal in meter")] = 150.0,
    min_samples: Annotated[int, typer.Option(help="met --raw: minimum aantal incidenten binnen eps van een kernincident")] = 5,
    cell: Annotated[Optional[float], typer.Option(help="celgrootte van het Gi*-raster in meter (standaard 50)")] = None,
    band: Annotated[Optional[float], typer.Option(
        help="Gi*-afstandsband in meter (standaard: gekozen naar het aantal incidenten)")] = None,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="BESTAND.geojson (WGS84) of BESTAND.gpkg (RD New, opgemaakt voor QGIS)")] = None,
    compare: Annotated[Optional[int], typer.Option(
        help="markeer significante cellen/clusters als nieuw of blijvend ten opzichte van dit jaar (bijv. 2025)")] = None,
    previous: Annotated[Optional[tuple[datetime, datetime]], typer.Option(
        formats=["%Y-%m-%d"], help="hetzelfde ten opzichte van START EIND (in plaats van --compare)")] = None,
    with_incidents: Annotated[bool, typer.Option(
        "--with-incidents", help="voeg de incidentpunten als laag toe aan de GeoPackage (analisten; geaudit)")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="alle kolommen, hoe smal de terminal ook is")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="het resultaat als GeoJSON (zoals --out BESTAND.geojson)")] = False,
) -> None:
    """Hotspots van een categorie in een periode: clusters, Gi*-rastercellen en de tabel per buurt."""
    from veilig.errors import VeiligError
    from veilig.geo.categories import LABELS_NL, resolve_categories
    from veilig.geo.hotspots import HotspotParams

    from .services import hotspot_result

    from .context import cli_database

    params = HotspotParams(method=method.strip().lower(), eps=eps, min_samples=min_samples,
                           cell=HotspotParams().cell if cell is None else cell, band=band,
                           clusters="raw" if raw else "significant").validated()
    resolve_categories(category)  # refuse an unknown category before opening the database
    start_d = parse_date(start, "--start")
    end_d = parse_date(end, "--end")
    if start_d and end_d and end_d < start_d:
        raise VeiligError(f"--end {end_d} ligt voor --start {start_d}")
    if out_file is not None and out_file.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise VeiligError(f"--out: '{out_file.name}' moet eindigen op .geojson of .gpkg")
    if with_incidents and (out_file is None or out_file.suffix.lower() != ".gpkg"):
        raise VeiligError("--with-incidents: de incidentlaag gaat alleen in een GeoPackage (--out BESTAND.gpkg)")

    db = cli_database()
    # The same analysis as the HTTP service (previous period, buurt names, data span).
    result = hotspot_result(db, category, start_d, end_d, params)
    from .compare_service import compare_with, earlier_period

    earlier = earlier_period(compare, previous)
    if earlier is not None:  # adds a `change` field (new / persistent) and a summary message
        result, _ = compare_with(db, result, category, earlier)
    if out_file is not None:
        from .exports import incidents_layer, write_hotspot_file

        points = None
        if with_incidents:
            from veilig.storage.auth import audit, cli_principal

            points = incidents_layer(db, result)
            audit(db, cli_principal(), "read_incident_points", f"veilig hotspots --category {category} --with-incidents",
                  f"{len(points)} incidents -> {out_file}")
        write_hotspot_file(result, out_file, incidents=points)
    if as_json:
        from veilig.geo.export import geojson_bytes

        typer.echo(geojson_bytes(result).decode("utf-8"), nl=False)
        return

    from veilig.geo.exposure import describe

    from .tables import Col, nl_dec, nl_int, print_table

    label = LABELS_NL.get(result.category, result.category)
    period = f"{result.start} t/m {result.end}" if result.start else "geen periode"
    rp = result.params
    if rp.clusters == "raw":
        how = "ruwe clustering: " + rp.method + (f", eps {rp.eps:g} m" if rp.method == "dbscan" else "") \
            + f", min. {rp.min_samples}; geen significantietoets"
    else:
        how = "groepen Gi*-cellen die na FDR op 95 % heet zijn"
    out.print(f"[bold]{label}[/bold], {period}: {nl_int(result.n_incidents)} incidenten, "
              f"{nl_int(len(result.clusters))} clusters ({how})"
              + (" [yellow](synthetische demodata)[/yellow]" if result.synthetic else ""))
    ng, nb = result.null_grid, result.null_buurt
    out.print(f"nulhypothese: raster {describe(ng.get('null_model', ''), ng.get('area_mix', 0.0))} "
              f"('{ng.get('null_model', '')}'); buurten {describe(nb.get('null_model', ''), nb.get('area_mix', 0.0))} "
              f"('{nb.get('null_model', '')}'); exacte binomiale toets per venster, geen simulaties")
    if result.scale is not None:
        out.print(f"schaal: cel {result.scale.cell:g} m, {result.scale.reason_nl}")

    if len(result.clusters):
        names = dict(zip(result.buurten["statcode"], result.buurten["statnaam"]))
        cols = [Col("cluster", "right"), Col("incidenten", "right"), Col("verwacht", "right", 2),
                Col("ratio", "right"), Col("p (FDR)", "right", 2), Col("opp. ha", "right", 3),
                Col("eerste", priority=4), Col("laatste", priority=4), Col("buurten")]
        rows = [(r.cluster_id, nl_int(r.n_incidents), nl_dec(r.expected, 1), nl_dec(r.ratio, 1),
                 _p(r.p_value), nl_dec(r.area_m2 / 1e4, 1), r.first_date or "-", r.last_date or "-",
                 ", ".join(names.get(b, b) for b in r.buurten[:3]))
                for r in result.clusters.head(10).itertuples()]
        print_table(cols, rows, title="Clusters (grootste eerst)", wide=wide, out=out)
        if rp.clusters == "significant":
            out.print("p (FDR): de kleinste FDR-gecorrigeerde p van de cellen van het cluster")
        if len(result.clusters) > 10:
            out.print(f"... en {len(result.clusters) - 10} kleinere clusters")
    elif result.n_incidents:
        out.print("Geen clusters: nergens meer incidenten dan de nulhypothese verklaart.")

    b = result.buurten.sort_values(["n_incidents", "statcode"], ascending=[False, True])
    cols = [Col("buurt"), Col("incidenten", "right"), Col("aandeel", "right", 3),
            Col("per 1.000 won.", "right", 2), Col("clusters", "right", 3), Col("in cluster", "right", 4),
            Col("Gi* z", "right", 4), Col("Gi*"), Col("vorige periode", "right", 2), Col("verschil", "right", 2)]

    def pct(v, d):
        return nl_dec(v * 100, d, "%") if v == v and v is not None else "-"

    rows = [(str(r.statnaam), nl_int(r.n_incidents), pct(r.share, 1), nl_dec(r.rate_per_1000_dwellings, 1),
             nl_int(r.n_clusters), pct(r.share_in_clusters, 0), nl_dec(r.gi_z, 2), _CLASS_NL[int(r.gi_class)],
             nl_int(r.n_previous), _fmt(r.change, "+.0f"))
            for r in b.head(15).itertuples()]
    print_table(cols, rows, title="Buurten", wide=wide, out=out)
    if not result.n_incidents:
        out.print("Geen incidenten van deze categorie in deze periode: kies een andere periode.")

    classes = result.grid["gi_class"].value_counts()
    hot = ", ".join(f"{nl_int(classes.get(c, 0))} {_CLASS_NL[c]}" for c in (3, 2, 1))
    cold = ", ".join(f"{nl_int(classes.get(c, 0))} {_CLASS_NL[c]}" for c in (-3, -2, -1))
    out.print(f"Gi*-raster {rp.cell:g} m (band {rp.band:g} m, FDR): {nl_int(len(result.grid))} cellen; "
              f"hotspots: {hot}; coldspots: {cold}")
    for msg in result.messages:
        out.print(f"[yellow]let op:[/yellow] {msg}")
    if out_file is not None:
        out.print(f"geschreven: {out_file}")


def register(app: typer.Typer) -> None:
    """Add ``veilig hotspots`` to the main command line."""
    app.command("hotspots")(hotspots)
