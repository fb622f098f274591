"""The offline map factory every map builder uses: a Folium map that loads only the app's own assets.

Leaflet comes from ``/static/vendor/leaflet`` (put there by ``scripts/vendor_static.sh``); the
only external origin a page may contact is the tile server (PDOK BRT-Achtergrondkaart by default,
switchable off). Reprojection from RD New to WGS84 happens here, at the map's edge. Every value
shown in a tooltip, label or panel goes through :func:`escape_html`; data embedded in a
``<script>`` goes through :func:`json_for_script`. The rendered page carries a Content Security
Policy that allows only its own inline scripts (by hash), so even an injected event handler
would not run.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from veilig.errors import VeiligError
from veilig.geo.calendar_nl import MONTHS_NL
from veilig.geo.crs import RD_NEW, WGS84
from veilig.geo.neighbourhoods import ATTRIBUTION as BOUNDARY_ATTRIBUTION
from veilig.settings import DEFAULT_TILE_URL

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
#: Coordinates go to the browser as integers of 1e-5 degree (about 1 m): plenty for a city map.
COORD_SCALE = 100_000

SYNTHETIC_NOTICE = (
    "Synthetische data: deze kaart toont gegenereerde demo-incidenten, geen echte meldingen."
)
#: Counts below this are hidden from non-analysts (BRIEF section 6; ``VEILIG_SMALL_COUNT_THRESHOLD``).
DEFAULT_SMALL_COUNT_THRESHOLD = 5
HIDDEN_LABEL = "<5"

_ORIGIN_RE = re.compile(r"""(?i)\b(?:https?:)?//[^\s"'<>()\\,;]+""")
_INLINE_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)


# ------------------------------------------------------------------------------- escaping


def escape_html(value: object) -> str:
    """Text -> HTML that shows it literally, in element content and in quoted attributes alike.

    Besides ``& < > " '`` it escapes the backtick, ``$`` and ``\\`` too: a value that ends up in a
    JavaScript template literal (as Folium's ``Tooltip`` and ``Popup`` write them) can then neither
    close the literal nor open a ``${...}`` substitution. The second slash of ``//`` is escaped
    as well, so no value can spell a URL (``https://...``) that the origin check would have to
    tell from the page's own.
    ``None`` and NaN become "".
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = _html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;").replace("//", "/&#47;")


def json_for_script(obj: object) -> str:
    """JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&`` and ``'`` become ``\\u`` escapes, so no value can close the script
    element or open a comment; U+2028/U+2029 are escaped for old JavaScript engines. NaN and
    infinities are refused (they are not JSON).
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# ------------------------------------------------------------------- Dutch number formatting


def is_missing(value: object) -> bool:
    """None, NaN or pandas' NA."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and pd.NA (NA != NA is NA -> bool raises)
    except TypeError:
        return True


def format_int(value: object) -> str:
    """``1234`` -> ``"1.234"``."""
    return f"{int(value):,}".replace(",", ".")


def format_decimal(value: float, decimals: int = 1) -> str:
    """``1234.5`` -> ``"1.234,5"`` (Dutch: dot for thousands, comma for decimals)."""
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_count(value: object, hidden: str = HIDDEN_LABEL) -> str:
    """A count as shown to users: ``hidden`` (``"<5"``) when hidden (None), else Dutch thousands."""
    return hidden if is_missing(value) else format_int(value)


def hidden_label(threshold: int | None) -> str:
    """How a hidden count reads: ``"<5"`` for the default threshold."""
    return f"<{threshold or DEFAULT_SMALL_COUNT_THRESHOLD}"


def hide_small(value: object, threshold: int | None) -> object:
    """``value`` itself, or None when it is a count in ``1 .. threshold-1`` (zero reveals nobody)."""
    if threshold is None or is_missing(value):
        return value
    return None if 0 < float(value) < threshold else value


def format_date(value: date | datetime | str | None) -> str:
    """``date(2026, 3, 5)`` -> ``"5 maart 2026"``; None -> ``"-"``."""
    if value is None or is_missing(value):
        return "-"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {MONTHS_NL[value.month - 1]} {value.year}"


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


# ----------------------------------------------------------------------------- reprojection


def require_rd(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Refuse a layer that is not in RD New (never guess a CRS)."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise VeiligError(f"{name}: expected a GeoDataFrame in {RD_NEW}, got {type(gdf).__name__}")
    if len(gdf) and (gdf.crs is None or gdf.crs.to_epsg() != 28992):
        raise VeiligError(f"{name}: must be in RD New ({RD_NEW}), found {gdf.crs}")
    return gdf


def to_wgs84(gdf: gpd.GeoDataFrame, name: str, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
    """RD New -> WGS84 at the map's edge; optionally simplified first (tolerance in metres)."""
    require_rd(gdf, name)
    if not len(gdf):
        return gdf.set_crs(WGS84, allow_override=True) if gdf.crs is None else gdf.to_crs(WGS84)
    out = gdf
    if simplify_m > 0:
        out = gdf.copy()
        out["geometry"] = shapely.simplify(gdf.geometry.values, simplify_m, preserve_topology=True)
    return out.to_crs(WGS84)


def points_to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RD New x, y (metres) -> WGS84 (lat, lon) arrays, vectorised."""
    lon, lat = _transformer().transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    return np.asarray(lat), np.asarray(lon)


_LOCAL = threading.local()


def _transformer():
    # One per thread: the API builds maps in a thread pool, and a pyproj Transformer is not
    # meant to be shared between threads.
    tr = getattr(_LOCAL, "rd_to_wgs84", None)
    if tr is None:
        from pyproj import Transformer

        tr = _LOCAL.rd_to_wgs84 = Transformer.from_crs(RD_NEW, WGS84, always_xy=True)
    return tr


# ------------------------------------------------------------------ compact geometry encoding


def quantize(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Degrees -> integers of 1/:data:`COORD_SCALE` degree."""
    return (np.rint(np.asarray(lat) * COORD_SCALE).astype(np.int64),
            np.rint(np.asarray(lon) * COORD_SCALE).astype(np.int64))


def encode_polygons(geoms: Sequence, origin: Sequence[int]) -> list[list[list[list[int]]] | None]:
    """(Multi)Polygons in WGS84 -> per geometry ``[[ring, hole, ...], ...]`` of integer rings, vectorised.

    A ring is ``[dlat, dlon, dlat, dlon, ...]`` in 1/:data:`COORD_SCALE` degree, its first vertex
    relative to ``origin`` and every other one to the vertex before; vertices that coincide after
    rounding and the closing vertex are dropped, as is a ring left with fewer than three vertices
    (an exterior takes its holes with it). None for a geometry with nothing left to draw.
    O(total vertices) in numpy, one Python step per ring.
    """
    geoms = np.asarray(list(geoms), dtype=object)
    out: list = [None] * len(geoms)
    if not len(geoms):
        return out
    parts, part_geom = shapely.get_parts(geoms, return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    parts, part_geom = parts[polygon], part_geom[polygon]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    if not len(rings):
        return out
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    qlat, qlon = quantize(coords[:, 1], coords[:, 0])
    # Drop each ring's closing vertex, then vertices equal to the one before in the same ring.
    last = np.r_[coord_ring[1:] != coord_ring[:-1], True]
    qlat, qlon, coord_ring = qlat[~last], qlon[~last], coord_ring[~last]
    same_ring = np.r_[False, coord_ring[1:] == coord_ring[:-1]]
    dup = same_ring & np.r_[False, (qlat[1:] == qlat[:-1]) & (qlon[1:] == qlon[:-1])]
    qlat, qlon, coord_ring = qlat[~dup], qlon[~dup], coord_ring[~dup]
    first = np.r_[True, coord_ring[1:] != coord_ring[:-1]]
    dlat = np.diff(qlat, prepend=0)
    dlon = np.diff(qlon, prepend=0)
    dlat[first] = qlat[first] - int(origin[0])
    dlon[first] = qlon[first] - int(origin[1])
    flat = np.empty(2 * qlat.size, dtype=np.int64)
    flat[0::2], flat[1::2] = dlat, dlon
    flat_list = flat.tolist()
    starts = np.flatnonzero(first)
    ring_ids = coord_ring[starts]
    ends = np.r_[starts[1:], qlat.size]
    ring_len = np.zeros(len(rings), dtype=np.int64)
    ring_start = np.zeros(len(rings), dtype=np.int64)
    ring_len[ring_ids] = ends - starts
    ring_start[ring_ids] = starts
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    current_part, skip_part = -1, False
    for r in range(len(rings)):
        pi = int(ring_part[r])
        if pi != current_part:
            current_part, skip_part = pi, False
        if skip_part:
            continue
        if ring_len[r] < 3:
            skip_part = bool(exterior[r])
            continue
        gi = int(part_geom[pi])
        if out[gi] is None:
            out[gi] = []
        if exterior[r]:
            out[gi].append([])
        a = 2 * int(ring_start[r])
        out[gi][-1].append(flat_list[a:a + 2 * int(ring_len[r])])
    return out


def centre_of(geom) -> tuple[float, float] | None:
    """A point inside the geometry (WGS84 lat, lon), for labels."""
    if geom is None or geom.is_empty:
        return None
    p = geom.representative_point()
    return (p.y, p.x)


# ------------------------------------------------------------------------------ the page


_RUNTIME_JS = r"""
var veiligMaps = (function () {
  "use strict";
  // One canvas for every vector layer of the page (a page holds one map). A canvas per layer
  // would stack full-size canvases, and the top one swallows every mouse event: the buurten
  // underneath would never show their tooltips. On one canvas the topmost feature under the
  // pointer gets the event, whatever layer it belongs to.
  var shared = null;
  function sharedRenderer() {
    if (!shared) { shared = L.canvas({padding: 0.5}); }
    return shared;
  }
  function ring(a, o, q) {
    var out = new Array(a.length / 2), la = o[0], lo = o[1];
    for (var i = 0; i < a.length; i += 2) { la += a[i]; lo += a[i + 1]; out[i / 2] = [la / q, lo / q]; }
    return out;
  }
  // Values are HTML-escaped on the server; a template only ever receives them through here.
  // "{s}" is the label of the feature's style (e.g. its Gi* class), sent once per style.
  function fill(t, v, s) {
    return t.replace(/\{(\d+|s)\}/g, function (m, i) {
      var x = (i === "s") ? s : v[+i];
      return (x === null || x === undefined) ? "" : String(x);
    });
  }
  function polygons(d) {
    var renderer = sharedRenderer(), g = L.featureGroup();
    for (var i = 0; i < d.f.length; i++) {
      var f = d.f[i], parts = [];
      for (var p = 0; p < f[0].length; p++) {
        var rings = [];
        for (var r = 0; r < f[0][p].length; r++) { rings.push(ring(f[0][p][r], d.o, d.q)); }
        parts.push(rings);
      }
      var layer = L.polygon(parts.length === 1 ? parts[0] : parts, L.extend({renderer: renderer}, d.s[f[1]]));
      layer._vi = i;
      g.addLayer(layer);
      if (d.lbl && f[3]) {
        g.addLayer(L.tooltip({permanent: true, direction: "center", interactive: false, className: "veilig-label"})
          .setLatLng([f[3][0] / d.q, f[3][1] / d.q]).setContent(f[3][2]));
      }
    }
    if (d.t) {
      g.bindTooltip(function (layer) {
        var f = d.f[layer._vi];
        return fill(d.t, f[2], d.sl ? d.sl[f[1]] : "");
      }, {sticky: true});
    }
    return g;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // Minutes since 1970-01-01 of the local (Europe/Amsterdam) wall clock, shown as such.
  function wall(m) {
    var d = new Date(m * 60000);
    return pad(d.getUTCDate()) + "-" + pad(d.getUTCMonth() + 1) + "-" + d.getUTCFullYear() +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function points(d) {
    var renderer = sharedRenderer(), g = L.featureGroup(), t = d.t0, styles = [];
    for (var c = 0; c < d.cat.length; c++) {
      styles.push({renderer: renderer, radius: d.r, color: "#222222", fillColor: d.col[c],
                   weight: 0.6, opacity: 0.9, fillOpacity: 0.85});
    }
    for (var i = 0; i < d.lat.length; i++) {
      t += d.t[i];
      var m = L.circleMarker([(d.o[0] + d.lat[i]) / d.q, (d.o[1] + d.lon[i]) / d.q],
                             styles[d.c.charCodeAt(i) - 48]);
      m._vt = t;
      m._vc = d.c.charCodeAt(i) - 48;
      g.addLayer(m);
    }
    g.bindTooltip(function (layer) { return d.cat[layer._vc] + "<br>" + wall(layer._vt); }, {sticky: true});
    return g;
  }
  function symbols(d) {
    var renderer = sharedRenderer(), g = L.featureGroup();
    for (var i = 0; i < d.f.length; i++) {
      var f = d.f[i];
      var m = L.circleMarker([f[0] / d.q, f[1] / d.q], L.extend({renderer: renderer, radius: f[2]}, d.s));
      m._vi = i;
      g.addLayer(m);
    }
    if (d.t) {
      g.bindTooltip(function (layer) { return fill(d.t, d.f[layer._vi][3]); }, {sticky: true});
    }
    return g;
  }
  // Fit the map's extent into the part of the map the panels (title, legend, budget, ...) and
  // the controls leave free: each of them is kept out by cutting the map from one side (left,
  // top, right or bottom); of all the ways to choose those sides the one with the largest zoom,
  // then the most room to spare, wins. Runs once, after every panel and control is in place.
  // On a screen too small for that (more than one zoom level lost) the plain fit stays.
  var PANELS = ".veilig-panel, .veilig-controls, .leaflet-control-layers, .leaflet-control-zoom";
  function fitFree(map, b, margin) {
    var bounds = L.latLngBounds(b), size = map.getSize(), box = map.getContainer().getBoundingClientRect();
    var base = map.getBoundsZoom(bounds, false, L.point(2 * margin, 2 * margin));
    // The first view may sit between zoom levels (in quarters), so that making room costs a
    // little size, not half of it; zooming in or out snaps back to whole levels.
    var snap = map.options.zoomSnap;
    map.options.zoomSnap = 0.25;
    var rects = [], els = document.querySelectorAll(PANELS);
    for (var e = 0; e < els.length; e++) {
      var r = els[e].getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        rects.push({l: r.left - box.left - margin, t: r.top - box.top - margin,
                    r: r.right - box.left + margin, b: r.bottom - box.top + margin, a: r.width * r.height});
      }
    }
    rects.sort(function (p, q) { return q.a - p.a; });
    rects = rects.slice(0, 7);  // 4^7 choices at most
    var best = null, n = rects.length;
    for (var c = 0; c < Math.pow(4, n); c++) {
      var pad = [margin, margin, margin, margin], k = c;  // left, top, right, bottom
      for (var i = 0; i < n; i++, k = Math.floor(k / 4)) {
        var q = rects[i], side = k % 4;
        if (side === 0) { pad[0] = Math.max(pad[0], q.r); }
        else if (side === 1) { pad[1] = Math.max(pad[1], q.b); }
        else if (side === 2) { pad[2] = Math.max(pad[2], size.x - q.l); }
        else { pad[3] = Math.max(pad[3], size.y - q.t); }
      }
      var w = size.x - pad[0] - pad[2], h = size.y - pad[1] - pad[3];
      if (w <= 0 || h <= 0) { continue; }
      var z = map.getBoundsZoom(bounds, false, L.point(pad[0] + pad[2], pad[1] + pad[3]));
      var span = map.project(bounds.getSouthEast(), z).subtract(map.project(bounds.getNorthWest(), z));
      var room = Math.min(w - span.x, h - span.y);
      if (!best || z > best.z || (z === best.z && room > best.room)) { best = {z: z, pad: pad, room: room}; }
    }
    if (best && best.room >= 0 && best.z >= base - 1) {
      map.fitBounds(bounds, {paddingTopLeft: [best.pad[0], best.pad[1]],
                             paddingBottomRight: [best.pad[2], best.pad[3]], animate: false});
    }
    map.options.zoomSnap = snap;
  }
  return {polygons: polygons, points: points, symbols: symbols, fill: fill, fitFree: fitFree};
})();
"""

_BASE_CSS = """
html, body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.leaflet-container { background: #eef0ec; }
.veilig-panel { position: absolute; z-index: 1000; background: rgba(255,255,255,0.95);
  border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.35); padding: 8px 10px; font-size: 13px;
  line-height: 1.35; color: #222; max-width: 420px; overflow: auto; }
.veilig-panel h1 { font-size: 16px; margin: 0 0 2px 0; }
.veilig-panel h2 { font-size: 13px; margin: 0 0 4px 0; }
.veilig-panel p { margin: 2px 0; }
.veilig-title { top: 10px; left: 54px; max-width: calc(100% - 330px); }
.veilig-legend { bottom: 40px; left: 10px; max-height: 50%; font-size: 12px; }
.veilig-side { top: 10px; left: 54px; }
.veilig-corner { bottom: 28px; right: 10px; max-width: 560px; }
.veilig-notice { background: #fff3cd; border: 1px solid #e0b400; border-radius: 4px; padding: 3px 6px;
  margin-top: 4px; }
.veilig-empty { background: #e8f0fe; border: 1px solid #7aa0e0; border-radius: 4px; padding: 3px 6px;
  margin-top: 4px; }
.veilig-legend table { border-collapse: collapse; }
.veilig-legend td { padding: 0 4px; vertical-align: middle; }
.veilig-swatch { display: inline-block; width: 16px; height: 12px; border: 1px solid #555; }
.veilig-swatch-line { display: inline-block; width: 16px; height: 0; border-top: 3px solid; }
.veilig-swatch-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; }
.leaflet-tooltip.veilig-label { background: #222; color: #fff; border: none; font-weight: bold;
  padding: 1px 6px; box-shadow: none; }
.leaflet-tooltip.veilig-label::before { display: none; }
.veilig-table { border-collapse: collapse; }
.veilig-table td, .veilig-table th { padding: 1px 6px; text-align: right; }
.veilig-table th { text-align: left; font-weight: normal; color: #444; }
.veilig-source { color: #555; font-size: 11px; }
"""


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


class DataLayer(Layer):
    """An overlay drawn on canvas by the page's runtime from one compact JSON payload.

    ``kind`` is ``polygons`` (:func:`polygon_payload`), ``symbols`` (:func:`symbol_payload`) or
    ``points`` (incident points: columnar arrays, see :mod:`veilig.maps.hotspots`).
    """

    KINDS = ("polygons", "symbols", "points")
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = veiligMaps.{{ this.kind }}({{ this.payload }});
        {% endmacro %}
        """
    )

    def __init__(self, kind: str, payload: dict, name: str, show: bool = True):
        if kind not in self.KINDS:
            raise ValueError(f"unknown layer kind {kind!r}")
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DataLayer"
        self.kind = kind
        self.payload = json_for_script(payload)


class _Attribution(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text }});
        {% endmacro %}
        """
    )

    def __init__(self, text_html: str):
        super().__init__()
        self._name = "Attribution"
        self.text = json_for_script(text_html)


class _MetricScale(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class _FitFree(MacroElement):
    """Refit the map into the room the panels leave (``veiligMaps.fitFree``); added last."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            veiligMaps.fitFree({{ this._parent.get_name() }}, {{ this.bounds }}, {{ this.margin }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: Sequence[Sequence[float]], margin: int = 12):
        super().__init__()
        self._name = "FitFree"
        self.bounds = json_for_script([[float(v) for v in corner] for corner in bounds])
        self.margin = int(margin)


class _EmptyBase(Layer):
    """A base layer without tiles, so the background can be switched off in the layer control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.layerGroup();
        {% endmacro %}
        """
    )

    def __init__(self, name: str):
        super().__init__(name=name, overlay=False, control=True, show=False)
        self._name = "EmptyBase"


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
    root.header.add_child(Element(f"<style>{_BASE_CSS}</style>"), name="veilig_css")
    root.header.add_child(Element(f"<script>{_RUNTIME_JS}</script>"), name="veilig_runtime")
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
        _EmptyBase("Geen achtergrond").add_to(m)
    m.add_child(_Attribution(escape_html(MAP_ATTRIBUTION).replace("©", "&copy;")))
    m.add_child(_MetricScale())
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


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a swatch (``fill``, ``line`` or ``dot``) in a colour, and its label."""

    color: str
    label: str
    kind: str = "fill"


def legend_html(sections: Sequence[tuple[str, Sequence[LegendItem]]], note: str | None = None) -> str:
    """A Dutch legend: one titled table per layer, an optional note under it (all escaped)."""
    parts = ['<h2>Legenda</h2>']
    for heading, items in sections:
        if not items:
            continue
        parts.append(f"<p><b>{escape_html(heading)}</b></p><table>")
        for item in items:
            color = _safe_color(item.color)
            if item.kind == "line":
                sw = f'<span class="veilig-swatch-line" style="border-color:{color}"></span>'
            elif item.kind == "dot":
                sw = f'<span class="veilig-swatch-dot" style="background:{color}"></span>'
            else:
                sw = f'<span class="veilig-swatch" style="background:{color}"></span>'
            parts.append(f"<tr><td>{sw}</td><td>{escape_html(item.label)}</td></tr>")
        parts.append("</table>")
    if note:
        parts.append(f'<p class="veilig-source">{escape_html(note)}</p>')
    return "".join(parts)


_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{3,8}$")


def _safe_color(color: str) -> str:
    if not _COLOR_RE.match(color):
        raise ValueError(f"not a hex colour: {color!r}")
    return color


def add_layer_control(m: folium.Map) -> None:
    """The layer control, expanded, top right (added last so it lists every layer)."""
    folium.LayerControl(position="topright", collapsed=False).add_to(m)


def polygon_payload(
    geoms_wgs84: Iterable,
    style_index: Iterable[int],
    styles: Sequence[dict],
    tooltip: str | None,
    values: Iterable[Sequence] | None,
    labels: Iterable[str | None] | None = None,
    style_labels: Sequence[str] | None = None,
) -> dict:
    """The compact JSON a ``polygons`` :class:`DataLayer` draws.

    ``tooltip`` is trusted HTML with ``{0}``, ``{1}``, ... placeholders filled per feature from
    ``values``, which must already be escaped (:func:`escape_html`) or numbers, and ``{s}``
    filled with the feature's entry of ``style_labels`` (escaped here). ``labels`` are
    permanent labels (escaped here) at a point inside each feature.
    """
    geoms = list(geoms_wgs84)
    values = list(values) if values is not None else [None] * len(geoms)
    labels = list(labels) if labels is not None else [None] * len(geoms)
    origin = _origin(geoms)
    encoded = encode_polygons(geoms, origin)
    features = []
    for geom, enc, si, vals, label in zip(geoms, encoded, style_index, values, labels, strict=True):
        if enc is None:
            continue
        feat: list = [enc, int(si), list(vals) if vals is not None else []]
        if label is not None:
            c = centre_of(geom)
            qlat, qlon = quantize(np.array([c[0]]), np.array([c[1]]))
            feat.append([int(qlat[0]), int(qlon[0]), escape_html(label)])
        features.append(feat)
    payload = {"o": list(origin), "q": COORD_SCALE, "s": list(styles), "f": features}
    if tooltip:
        payload["t"] = tooltip
    if style_labels is not None:
        payload["sl"] = [escape_html(x) for x in style_labels]
    if any(lbl is not None for lbl in labels):
        payload["lbl"] = 1
    return payload


def symbol_payload(
    latlons: Iterable[tuple[float, float]],
    radii: Iterable[float],
    style: dict,
    tooltip: str | None,
    values: Iterable[Sequence],
) -> dict:
    """The compact JSON of a ``symbols`` :class:`DataLayer`: circles of a given pixel radius.

    ``values`` fill ``tooltip`` as in :func:`polygon_payload` (escaped by the caller).
    """
    features = []
    for (lat, lon), r, vals in zip(latlons, radii, values, strict=True):
        qlat, qlon = quantize(np.array([lat]), np.array([lon]))
        features.append([int(qlat[0]), int(qlon[0]), round(float(r), 1), list(vals)])
    payload = {"q": COORD_SCALE, "s": dict(style), "f": features}
    if tooltip:
        payload["t"] = tooltip
    return payload


def _origin(geoms: Sequence) -> tuple[int, int]:
    """The south-west corner of the features, quantized: keeps the first deltas short."""
    b = shapely.bounds(np.asarray(list(geoms), dtype=object)) if len(geoms) else np.empty((0, 4))
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return (0, 0)
    qlat, qlon = quantize(np.array([b[:, 1].min()]), np.array([b[:, 0].min()]))
    return (int(qlat[0]), int(qlon[0]))


def bounds_of(*layers: gpd.GeoDataFrame) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """WGS84 ((south, west), (north, east)) around the non-empty layers, None when all are empty."""
    boxes = [gdf.total_bounds for gdf in layers if gdf is not None and len(gdf) and not gdf.geometry.is_empty.all()]
    if not boxes:
        return None
    b = np.asarray(boxes)
    return ((float(b[:, 1].min()), float(b[:, 0].min())), (float(b[:, 3].max()), float(b[:, 2].max())))


# ------------------------------------------------------------------------ rendering and checks


def render_page(m: folium.Map) -> str:
    """Render to one HTML document; refuse any third-party origin; add lang and the CSP.

    The map is fitted last into the room its panels leave (they are all in place by then).
    """
    bounds = getattr(m, "_veilig_bounds", None)
    if bounds is not None:
        m.add_child(_FitFree(bounds), name="veilig_fit_free")
    _stable_ids(m.get_root())
    html_text = m.get_root().render()
    tiles: TileOptions | None = getattr(m, "_veilig_tiles", None)
    return finish_page(html_text, tile_origin=tiles.origin if tiles else None)


def finish_page(html_text: str, tile_origin: str | None = None) -> str:
    """Check origins, set ``lang="nl"``, a no-referrer policy and a hash-based CSP on a page."""
    check_origins(html_text, tile_origin)
    hashes = sorted({_sha256(s) for s in _INLINE_SCRIPT_RE.findall(html_text)})
    csp = content_security_policy(tile_origin, hashes)
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="referrer" content="no-referrer">'
        # No favicon request (a 404 in the console otherwise).
        '<link rel="icon" href="data:,">'
    )
    html_text = re.sub(r"<html>", '<html lang="nl">', html_text, count=1)
    if "<head>" not in html_text:
        raise ValueError("page has no <head>")
    return html_text.replace("<head>", "<head>" + head, 1)


def content_security_policy(tile_origin: str | None, script_hashes: Sequence[str] = ()) -> str:
    """Only the app's own origin, the page's own inline scripts (by hash) and the tile server."""
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    img = "'self' data:" + (f" {tile_origin}" if tile_origin else "")
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


def check_origins(html_text: str, tile_origin: str | None = None) -> None:
    """Raise ValueError when the page names any origin other than ``tile_origin``."""
    bad = sorted({u for u in external_urls(html_text) if not (tile_origin and _same_origin(u, tile_origin))})
    if bad:
        raise ValueError(f"third-party origin in page: {', '.join(bad[:5])}")


def external_urls(html_text: str) -> list[str]:
    """Every absolute or protocol-relative URL in a page (``http://``, ``https://``, ``//host``)."""
    return [m.group(0) for m in _ORIGIN_RE.finditer(html_text) if _looks_like_url(html_text, m)]


def _looks_like_url(text: str, m: re.Match) -> bool:
    # "//" also starts JavaScript comments; a protocol-relative URL only counts inside a quote,
    # url(...) or an attribute.
    if m.group(0).lower().startswith(("http:", "https:")):
        return True
    before = text[max(0, m.start() - 5):m.start()]
    return bool(re.search(r"""(?:["'(=]\s*)$""", before))


def _same_origin(url: str, origin: str) -> bool:
    parts = urlsplit(url if not url.startswith("//") else "https:" + url)
    o = urlsplit(origin)
    return parts.scheme == o.scheme and parts.netloc == o.netloc


def _sha256(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


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


# --------------------------------------------------------------------------- classification

#: ColorBrewer YlOrRd, light to dark (sequential: counts, rates, euros).
SEQUENTIAL = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: Greys, light to dark: a neutral background choropleth under the red/blue Gi* classes.
SEQUENTIAL_GREY = ("#f7f7f7", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252")
#: Blues, light to dark (grants and euros next to the burglary colours).
SEQUENTIAL_BLUE = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
HIDDEN_COLOR = "#c8c8c8"
#: Hidden (<5) on a grey choropleth: sand, so it is not read as one of the grey classes.
HIDDEN_COLOR_ON_GREY = "#e3cf9a"
NO_DATA_COLOR = "#f4f4f4"


@dataclass(frozen=True)
class Classes:
    """A choropleth classification: per value its class (-1 when missing), colours and labels."""

    index: np.ndarray
    colors: tuple[str, ...]
    labels: tuple[str, ...]


def classify(values: Sequence, k: int = 5, *, integer: bool = True, decimals: int = 1,
             palette: Sequence[str] = SEQUENTIAL, fmt=None) -> Classes:
    """Quantile classes (at most ``k``, fewer when the values are few or tied), Dutch labels.

    A class's label is the range of the values in it. Zero gets a class of its own when there
    are zeros and positive values (it then counts as one of the ``k``), so no class spans the
    hidden counts 1-4. ``fmt`` formats a bound (default: Dutch integer or decimal). Missing
    values get class -1.
    """
    vals = np.array([np.nan if is_missing(v) else float(v) for v in values], dtype="float64")
    ok = np.isfinite(vals)
    index = np.full(vals.shape, -1, dtype=np.int64)
    if not ok.any():
        return Classes(index, (), ())
    if fmt is None:
        fmt = format_int if integer else (lambda v: format_decimal(v, decimals))
    finite = vals[ok]
    # Zero is a class of its own when it sits beside positive values: a quantile class "0 – 5"
    # would claim to hold the hidden counts 1-4 (and "none" reads differently from "few").
    zero = finite == 0
    zero_class = bool(zero.any() and (finite > 0).any() and (finite >= 0).all())
    rest = finite[~zero] if zero_class else finite
    k_rest = max(k - 1, 1) if zero_class else k
    uppers = np.quantile(rest, np.linspace(0, 1, k_rest + 1)[1:])
    uppers = np.ceil(uppers) if integer else np.round(uppers, decimals)
    uppers = np.unique(uppers)
    uppers[-1] = max(uppers[-1], rest.max())
    raw = np.searchsorted(uppers, finite, side="left")
    if zero_class:
        raw = np.where(zero, 0, raw + 1)
    used, index[ok] = np.unique(raw, return_inverse=True)  # drop classes nothing falls in
    n = len(used)
    # Spread the colours over the palette, so two classes are light and dark, not two light ones.
    pick = np.rint(np.linspace(0, len(palette) - 1, n)).astype(int) if n > 1 else np.array([len(palette) // 2])
    colors = tuple(palette[i] for i in pick)
    # Label each class with the range of the values in it: honest where hidden counts or ties
    # leave gaps between classes ("5 – 7" rather than "1 – 7" when 1-4 are hidden).
    labels = []
    for i in range(n):
        members = finite[index[ok] == i]
        low, high = float(members.min()), float(members.max())
        labels.append(fmt(high) if low == high else f"{fmt(low)} – {fmt(high)}")
    return Classes(index, colors, tuple(labels))
