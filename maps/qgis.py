"""QGIS styles (QML) for the layers veilig writes into GeoPackages, matching the web maps.

QGIS reads a GeoPackage's ``layer_styles`` table (the convention QGIS itself writes, one row per
layer and style, ``useAsDefault`` marking the one applied on opening), so an analyst who opens the
file sees the layers styled as on the map, with the same colours and Dutch labels, and no grey
single symbol. Pure functions: layer description in, QML text out. Writing the table happens at
the export edge (:mod:`veilig.api.exports`, through :func:`veilig.geo.export.write_layers_geopackage`).

The QML is the renderer part of a QGIS 3.x layer style (``renderer-v2``), valid for QGIS 3.22 LTR
(Debian's) and later: categorised symbols for Gi* classes and emerging hot spot patterns, a
rule-based choropleth for counts (so a hidden count, NULL in the file, gets the hidden colour as
on the map), outlines for clusters, a translucent orange fill for the burglary alert zones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

#: Outline of polygons, as on the web maps (#444444).
OUTLINE = "#444444"


@dataclass(frozen=True)
class Category:
    """A category of a categorised renderer; ``color=None`` draws a faint outline only."""

    value: object
    color: str | None
    label: str


@dataclass(frozen=True)
class Rule:
    """A rule of a rule-based renderer: a QGIS expression, a fill colour and a legend label."""

    expression: str
    color: str
    label: str


def _rgba(color: str, alpha: int = 255) -> str:
    c = color.lstrip("#")
    if len(c) != 6:
        raise ValueError(f"colour must be #rrggbb, got {color!r}")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _fill_symbol(name: str, fill: str | None, outline: str = OUTLINE, width: float = 0.26,
                 alpha: float = 1.0, fill_alpha: int = 255, outline_style: str = "solid") -> str:
    """A simple fill symbol; ``fill=None`` draws the outline only (no brush)."""
    props = {
        "color": _rgba(fill, fill_alpha) if fill else "0,0,0,0",
        "style": "solid" if fill else "no",
        "outline_color": _rgba(outline),
        "outline_style": outline_style,
        "outline_width": f"{width:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
    }
    options = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    return (f'<symbol type="fill" name={quoteattr(name)} alpha="{alpha:g}" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">{options}</Option>{legacy}</layer></symbol>')


def _document(renderer: str, opacity: float = 1.0) -> str:
    return ('<!DOCTYPE qgis PUBLIC \'http://mrcc.com/qgis.dtd\' \'SYSTEM\'>\n'
            '<qgis version="3.22.16" styleCategories="Symbology">'
            f"{renderer}<layerOpacity>{opacity:g}</layerOpacity></qgis>\n")


def categorized_qml(field: str, categories: Sequence[Category], *, other_label: str | None = None,
                    other_color: str | None = None, opacity: float = 1.0) -> str:
    """A categorised renderer on ``field``; ``other_label`` adds the catch-all category."""
    cats, symbols = [], []
    for i, c in enumerate(categories):
        cats.append(f'<category render="true" value={quoteattr(str(c.value))} symbol="{i}" label={quoteattr(c.label)}/>')
        symbols.append(_fill_symbol(str(i), c.color) if c.color else
                       _fill_symbol(str(i), None, outline="#d0d0d0", width=0.1))
    if other_label is not None:
        i = len(categories)
        cats.append(f'<category render="true" value="" symbol="{i}" label={quoteattr(other_label)}/>')
        # Without a colour the rest is a faint outline (the web map draws only significant cells).
        symbols.append(_fill_symbol(str(i), other_color) if other_color else
                       _fill_symbol(str(i), None, outline="#d0d0d0", width=0.1))
    renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" '
                'enableorderby="0" forceraster="0">'
                f'<categories>{"".join(cats)}</categories><symbols>{"".join(symbols)}</symbols>'
                "</renderer-v2>")
    return _document(renderer, opacity)


def rule_based_qml(rules: Sequence[Rule], opacity: float = 1.0) -> str:
    """A rule-based renderer: every rule an expression, a fill and a label (first match wins)."""
    items, symbols = [], []
    for i, r in enumerate(rules):
        items.append(f'<rule key="r{i}" symbol="{i}" filter={quoteattr(r.expression)} label={quoteattr(r.label)}/>')
        symbols.append(_fill_symbol(str(i), r.color))
    renderer = ('<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
                f'<rules key="root">{"".join(items)}</rules><symbols>{"".join(symbols)}</symbols>'
                "</renderer-v2>")
    return _document(renderer, opacity)


def outline_qml(color: str, width: float = 0.8) -> str:
    """A single outline symbol (clusters, zones): no fill, so the layers underneath stay readable."""
    renderer = ('<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
                f"<symbols>{_fill_symbol('0', None, outline=color, width=width)}</symbols></renderer-v2>")
    return _document(renderer)


def count_rules(field: str, values: Sequence[object], palette: Sequence[str], hidden_color: str,
                hidden_label: str, *, integer: bool = True) -> list[Rule]:
    """Choropleth rules on ``field`` from the classes the web map uses (quantile classes with
    Dutch range labels); NULL (a hidden count) gets the hidden colour, as on the map."""
    from .base import classify, is_missing

    classes = classify(values, integer=integer, palette=palette)
    vals = [None if is_missing(v) else float(v) for v in values]
    rules: list[Rule] = []
    q = f'"{field}"'
    for i, (color, label) in enumerate(zip(classes.colors, classes.labels, strict=True)):
        members = [v for v, k in zip(vals, classes.index) if k == i and v is not None]
        low, high = min(members), max(members)
        rules.append(Rule(f"{q} >= {_num(low)} AND {q} <= {_num(high)}", color, label))
    rules.append(Rule(f"{q} IS NULL", hidden_color, hidden_label))
    return rules


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _marker_symbol(name: str, fill: str, size: float = 1.8) -> str:
    props = {"color": _rgba(fill), "name": "circle", "outline_color": "255,255,255,255",
             "outline_width": "0.2", "size": f"{size:g}", "size_unit": "MM"}
    options = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    return (f'<symbol type="marker" name={quoteattr(name)} alpha="0.85" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">{options}</Option>{legacy}</layer></symbol>')


def categorized_points_qml(field: str, categories: Sequence[Category]) -> str:
    """Points coloured by ``field`` (the incident category), as the analyst's point map."""
    cats = "".join(f'<category render="true" value={quoteattr(str(c.value))} symbol="{i}" label={quoteattr(c.label)}/>'
                   for i, c in enumerate(categories))
    symbols = "".join(_marker_symbol(str(i), c.color) for i, c in enumerate(categories))
    renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" '
                f'enableorderby="0" forceraster="0"><categories>{cats}</categories>'
                f"<symbols>{symbols}</symbols></renderer-v2>")
    return _document(renderer)


def hotspot_styles(result, hidden_label: str = "<5 (verborgen)", with_incidents: bool = False
                   ) -> dict[str, tuple[str, str]]:
    """The QML style of every layer of a hotspot GeoPackage, in the web map's colours and labels.

    Returns layer name -> (style name, QML). ``grid``: Gi* classes (red hot, blue cold, at 99, 95,
    90 % after FDR), non-significant cells as a faint outline; ``buurten``: the grey choropleth
    of the count with hidden counts in sand; ``clusters``: purple outlines; ``incidenten``:
    points by category.
    """
    from veilig.geo.categories import LABELS_NL

    from .base import HIDDEN_COLOR_ON_GREY, SEQUENTIAL_GREY
    from .hotspots import CLUSTER_COLOR, GI_CLASSES, GI_NOT_SIGNIFICANT, POINT_COLORS

    gi = [Category(k, color, f"Gi* {label}") for k, (color, label) in sorted(GI_CLASSES.items(), reverse=True)]
    styles = {
        "grid": ("Gi* klassen", categorized_qml("gi_class", [*gi[:3], *gi[3:]], other_label=GI_NOT_SIGNIFICANT,
                                                other_color=None, opacity=0.8)),
        "clusters": ("Hotspotgebieden", outline_qml(CLUSTER_COLOR)),
    }
    buurten = result.layers().get("buurt")
    counts = list(buurten["n_incidents"]) if buurten is not None and "n_incidents" in buurten.columns else []
    rules = count_rules("n_incidents", counts, SEQUENTIAL_GREY, HIDDEN_COLOR_ON_GREY, hidden_label) if counts else [
        Rule('"n_incidents" IS NULL', HIDDEN_COLOR_ON_GREY, hidden_label)]
    styles["buurten"] = ("Aantal incidenten per buurt", rule_based_qml(rules, opacity=0.7))
    if with_incidents:
        cats = [Category(c, color, LABELS_NL.get(c, c)) for c, color in POINT_COLORS.items()]
        styles["incidenten"] = ("Incidenten per categorie", categorized_points_qml("category", cats))
    return styles


def emerging_styles() -> dict[str, tuple[str, str]]:
    """The QML style of an emerging hot spot GeoPackage: ``locations`` by pattern, in the map's colours.

    Every pattern of :data:`veilig.geo.emerging.PATTERNS` is a category (the web map's colours and
    Dutch labels; reds hot, blues cold); ``no_pattern`` is a faint outline, as the web map draws
    only locations with a pattern. The ``bins`` table has no geometry and so no style.
    """
    from veilig.geo.emerging import PATTERN_NL, PATTERNS

    from .emerging import PATTERN_COLORS

    cats = [Category(p, PATTERN_COLORS[p], PATTERN_NL[p]) for p in PATTERNS if p != "no_pattern"]
    cats.append(Category("no_pattern", None, PATTERN_NL["no_pattern"]))
    return {"locations": ("Opkomende hotspots per patroon", categorized_qml("pattern", cats, opacity=0.8))}


def zone_fill_qml(color: str, fill_alpha: float = 0.25, width: float = 0.5) -> str:
    """One translucent fill with a dashed outline in ``color`` (the alert zones on the web map)."""
    symbol = _fill_symbol("0", color, outline=color, width=width, fill_alpha=round(fill_alpha * 255),
                          outline_style="dash")
    renderer = ('<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
                f"<symbols>{symbol}</symbols></renderer-v2>")
    return _document(renderer)


def zone_styles() -> dict[str, tuple[str, str]]:
    """The QML style of a burglary alert GeoPackage: ``zones`` as on the map (orange #e6550d, 25 % fill, dashed)."""
    from .nearrepeat import ZONE_COLOR

    return {"zones": ("Inbraakalertzones", zone_fill_qml(ZONE_COLOR))}
