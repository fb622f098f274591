"""The page's JavaScript runtime and stylesheet, and the Folium elements that call into it.

:data:`RUNTIME_JS` (the ``veiligMaps`` object: canvas polygons, points and symbols from compact
payloads, tooltips, fitting the map into the room the panels leave) and :data:`BASE_CSS` go
into every map's ``<head>`` through :func:`install_runtime`. The elements below write the small
inline scripts that use it; the page's CSP allows those by hash (:mod:`veilig.maps.policy`).
"""

from __future__ import annotations

from collections.abc import Sequence

from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from .text import json_for_script

RUNTIME_JS = r"""
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

BASE_CSS = """
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


def install_runtime(root: Figure) -> None:
    """Put the stylesheet and the runtime script in the page's ``<head>`` (once per page)."""
    root.header.add_child(Element(f"<style>{BASE_CSS}</style>"), name="veilig_css")
    root.header.add_child(Element(f"<script>{RUNTIME_JS}</script>"), name="veilig_runtime")


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


class Attribution(MacroElement):
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


class MetricScale(MacroElement):
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


class FitFree(MacroElement):
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


class EmptyBase(Layer):
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
