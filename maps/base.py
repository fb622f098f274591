"""The offline map factory every map builder uses: a Folium map that loads only the app's own assets.

Leaflet comes from ``/static/vendor/leaflet`` (put there by ``scripts/vendor_static.sh``); the
only external origin a page may contact is the tile server (PDOK BRT-Achtergrondkaart by default,
switchable off). This module builds the map (:func:`make_map`), its panels and layer control, and
renders it (:func:`render_page`). The rest lives beside it, by responsibility:
:mod:`veilig.maps.text` (escaping, Dutch formatting), :mod:`veilig.maps.geometry` (reprojection
at the map's edge, compact payloads), :mod:`veilig.maps.runtime` (the page's JavaScript and CSS
and the elements that call it), :mod:`veilig.maps.classes` (choropleth classes, legend) and
:mod:`veilig.maps.policy` (origin check and the hash-based CSP).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import folium
from branca.element import Element, Figure

from veilig.errors import VeiligError
from veilig.geo.neighbourhoods import ATTRIBUTION as BOUNDARY_ATTRIBUTION
from veilig.settings import DEFAULT_TILE_URL

from .policy import finish_page
from .runtime import Attribution, EmptyBase, FitFree, MetricScale, install_runtime
from .text import escape_html

STATIC_PREFIX = "/static"
LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"

PDOK_VARIANTS: tuple[str, ...] = ("standaard", "grijs", "pastel", "water")
#: The tile layers name the background only: Kadaster, whose BRT it is, is credited once, in
#: :data:`MAP_ATTRIBUTION`, which the map always shows (whatever background is chosen).
TILE_ATTRIBUTION = "Achtergrond: BRT-Achtergrondkaart (PDOK)"
#: The one fixed credit on every map (text; "©" becomes "&copy;" in the page): Kadaster (the BRT
#: background) and Kadaster/CBS (the boundaries).
MAP_ATTRIBUTION = f"Kaartgegevens © {BOUNDARY_ATTRIBUTION}"
#: Zoetermeer's extent in WGS84 ((south, west), (north, east)), for maps without any geometry.
ZOETERMEER_BOUNDS: tuple[tuple[float, float], tuple[float, float]] = ((52.0316, 4.4154), (52.0901, 4.5572))

SYNTHETIC_NOTICE = (
    "Synthetische data: deze kaart toont gegenereerde demo-incidenten, geen echte meldingen."
)


# ------------------------------------------------------------------------------- tiles


@dataclass(frozen=True)
class TileOptions:
    """The background map: an XYZ tile URL, ``{variant}`` filled with one of :data:`PDOK_VARIANTS`.

    Pass ``tiles=None`` to a builder for a map without background tiles (a plain background;
    the page then contacts no external origin at all).
    """

    url: str = DEFAULT_TILE_URL
    variant: str = "grijs"
    attribution: str = TILE_ATTRIBUTION
    min_zoom: int = 6
    max_zoom: int = 19

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise VeiligError(f"tile url: '{self.url}' is not an absolute http(s) URL")
        if not all(k in self.url for k in ("{z}", "{x}", "{y}")):
            raise VeiligError("tile url: needs the placeholders {z}, {x} and {y}")
        if "{variant}" in self.url and self.variant not in PDOK_VARIANTS:
            raise VeiligError(f"tile variant: '{self.variant}' is not one of {', '.join(PDOK_VARIANTS)}")

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``: the one external origin a page with these tiles contacts."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def variants(self) -> tuple[str, ...]:
        """The variants offered in the layer control, the configured one first."""
        if "{variant}" not in self.url:
            return (self.variant,)
        return (self.variant, *[v for v in PDOK_VARIANTS if v != self.variant])

    def url_for(self, variant: str) -> str:
        return self.url.replace("{variant}", variant)

    @classmethod
    def from_settings(cls, settings) -> TileOptions | None:
        """Tiles as configured (``VEILIG_TILE_URL``, ``VEILIG_TILE_VARIANT``), None when switched off."""
        if not settings.tiles_enabled:
            return None
        return cls(url=settings.tile_url, variant=settings.tile_variant)

# ------------------------------------------------------------------------------ the map


class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose only script and stylesheet are the app's own Leaflet.

    Folium's defaults (Leaflet, jQuery, Bootstrap, Font Awesome and Awesome Markers from public
    CDNs) are replaced per instance; nothing here needs jQuery or Bootstrap.
    """

    def __init__(self, *args, static_prefix: str = STATIC_PREFIX, **kwargs):
        super().__init__(*args, **kwargs)
        prefix = static_prefix.rstrip("/")
        self.default_js = [("leaflet", f"{prefix}/{LEAFLET_JS}")]
        self.default_css = [("leaflet_css", f"{prefix}/{LEAFLET_CSS}")]


def make_map(
    title: str,
    tiles: TileOptions | None = None,
    bounds: Sequence[Sequence[float]] | None = None,
    *,
    static_prefix: str = STATIC_PREFIX,
) -> OfflineMap:
    """An empty offline map of Zoetermeer: title, tiles (or a plain background), attribution.

    Parameters
    ----------
    title : str
        Page title (escaped here).
    tiles : TileOptions or None
        Background tiles; None for none at all.
    bounds : ((south, west), (north, east)), optional
        WGS84 extent to fit; Zoetermeer when omitted.
    static_prefix : str
        URL prefix under which the app serves ``api/static``.
    """
    (s, w), (n, e) = bounds or ZOETERMEER_BOUNDS
    m = OfflineMap(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=13,
        tiles=None,
        control_scale=False,
        static_prefix=static_prefix,
    )
    # folium hands min_zoom/max_zoom to its own tile layer only; the map itself gets them here.
    m.options["min_zoom"] = tiles.min_zoom if tiles else 6
    m.options["max_zoom"] = tiles.max_zoom if tiles else 19
    m.get_root().title = escape_html(title)
    root = m.get_root()
    install_runtime(root)
    if tiles is not None:
        for i, variant in enumerate(tiles.variants()):
            folium.TileLayer(
                tiles=tiles.url_for(variant),
                attr=tiles.attribution,
                name=f"Achtergrond: BRT {variant}" if "{variant}" in tiles.url else "Achtergrond",
                min_zoom=tiles.min_zoom,
                max_zoom=tiles.max_zoom,
                max_native_zoom=tiles.max_zoom,
                show=(i == 0),
                overlay=False,
                control=True,
            ).add_to(m)
        EmptyBase("Geen achtergrond").add_to(m)
    m.add_child(Attribution(escape_html(MAP_ATTRIBUTION).replace("©", "&copy;")))
    m.add_child(MetricScale())
    m.fit_bounds([[s, w], [n, e]], padding=(12, 12))
    m._veilig_tiles = tiles
    m._veilig_bounds = ((s, w), (n, e))
    return m


def add_panel(m: folium.Map, html: str, css_class: str, name: str) -> None:
    """Put trusted, already escaped HTML in a fixed panel over the map (plain HTML, no script)."""
    # The legend may scroll on a small screen: focusable, so a keyboard can scroll it (WCAG 2.1.1).
    extra = ' tabindex="0" role="region" aria-label="Legenda"' if css_class == "veilig-legend" else ""
    m.get_root().html.add_child(
        Element(f'<div class="veilig-panel {css_class}" id="{name}"{extra}>{html}</div>'), name=name
    )


def title_html(title: str, subtitle: str | None = None, *, synthetic: bool = False,
               messages: Iterable[str] = ()) -> str:
    """The title panel's HTML: title, subtitle, the synthetic-data notice and messages (escaped)."""
    parts = [f"<h1>{escape_html(title)}</h1>"]
    if subtitle:
        parts.append(f"<p>{escape_html(subtitle)}</p>")
    if synthetic:
        parts.append(f'<p class="veilig-notice veilig-synthetic">{escape_html(SYNTHETIC_NOTICE)}</p>')
    for msg in messages:
        parts.append(f'<p class="veilig-empty">{escape_html(msg)}</p>')
    return "".join(parts)


def add_layer_control(m: folium.Map) -> None:
    """The layer control, expanded, top right (added last so it lists every layer)."""
    folium.LayerControl(position="topright", collapsed=False).add_to(m)


# ------------------------------------------------------------------------------ rendering


def render_page(m: folium.Map) -> str:
    """Render to one HTML document; refuse any third-party origin; add lang and the CSP.

    The map is fitted last into the room its panels leave (they are all in place by then).
    """
    bounds = getattr(m, "_veilig_bounds", None)
    if bounds is not None:
        m.add_child(FitFree(bounds), name="veilig_fit_free")
    _stable_ids(m.get_root())
    html_text = m.get_root().render()
    tiles: TileOptions | None = getattr(m, "_veilig_tiles", None)
    return finish_page(html_text, tile_origin=tiles.origin if tiles else None)


def _stable_ids(root: Element) -> None:
    """Number the Folium elements in tree order, so the same data gives the same bytes."""
    counter = 0

    def walk(el: Element) -> None:
        nonlocal counter
        el._id = f"v{counter:05d}"
        counter += 1
        for child in list(el._children.values()):
            walk(child)

    walk(root)
    if isinstance(root, Figure):
        for part in (root.header, root.html, root.script):
            walk(part)
