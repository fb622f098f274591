"""The disclosure-control layer: everything a non-analyst receives (JSON, CSV, HTML, map payloads).

Hiding a count is only real if nothing else gives it back. The rules, applied by the public
views of :mod:`.views` in every route, map and export for the roles planner and subsidy (and
admin); analysts get full figures:

1. **Small counts** (:func:`hide_small_counts`): published counts 1 .. threshold-1 (default 5,
   ``VEILIG_SMALL_COUNT_THRESHOLD``) are hidden, with every figure derived from them (share, rate,
   change, density, a cluster's dates). Zero stays zero: it identifies nobody.
2. **Consistent perturbation** (:mod:`.cellkey`, the cell key method of ABS/CBS): every incident
   has a fixed record key (a keyed BLAKE2b hash of its stored id; the secret is
   ``VEILIG_DISCLOSURE_SECRET`` or generated once into ``data_dir/disclosure.key``). A cell's key
   is the sum of its records' keys modulo 1; a fixed table maps (count, cell key) to a noise of
   -2..+2 (zero mean, variance 1.2 from count 3 up). The same records always give the same
   published value, so repeating or averaging queries gains nothing, and any difference of two
   published counts (a year minus its visible months) carries the noise of every term. The
   threshold applies after perturbation.
3. **No statistic that inverts to counts**: Gi* is published to non-analysts as the class only
   (-3..3); z, p and FDR-p are removed (each z is linear in the counts: a least-squares solve
   over a few queries returned every hidden count). Rhythm peaks carry no p or q, and their
   expected value (mean rate x hours, which gives the total back) is rounded to 0.5; the shift
   plan's expected values are rounded to 0.5 and its back-test counts to multiples of 5.
4. **Secondary suppression of margins**: a total (the city total, ``metadata.n_incidents``, a
   rhythm's ``total``) is hidden as soon as any cell of a table over the same records is hidden,
   and shares (n / total) are hidden with it, because n / share and total minus the visible
   cells give the hidden ones back.
5. **Aligned periods** (:mod:`.periods`): non-analysts may ask only for one ISO week, one calendar
   month, one quarter or whole calendar years; anything else is refused with a Dutch 400 that
   names ``start``/``end`` (not snapped: the figures are of exactly the period shown). No period
   means all whole calendar years the data cover. The change per buurt is against the previous
   unit of the same kind. So [start, E] and [start, E + 1 day] cannot both be asked for, and the
   nested differences that remain are covered by rule 2.
6. **No incident locations**: no points or free text; cluster outlines and every plan area of the
   rhythm map (hotspot polygons and the buurten cut by them) are snapped to a 25 m grid
   (:func:`coarsen_shapes`), so the buffer arcs around incidents do not give their locations back.
7. **Space and time** (:mod:`.emerging`, :mod:`.nearrepeat`): emerging hot spot bins and location
   totals, Knox pair counts (a pair's key is the sum of its two record keys), alert-zone
   burglaries and the outreach list's grants (record key of ``grant-<id>``) are perturbed and
   hidden by the same rules, with no margin beside a hidden cell (no city total, no Knox
   ``expected`` or number of pairs); zones are drawn as 100 m cells, never a disc.

What a non-analyst sees is labelled "afgerond/verstoord" (:data:`DISCLOSURE_NOTE_NL`).
"""

from __future__ import annotations

from .cellkey import cell_keys, perturb, perturb_one, record_keys, total_key
from .emerging import public_emerging, public_emerging_metadata, public_emerging_period
from .nearrepeat import knox_cell_keys, public_knox, public_outreach, public_zones
from .periods import ALLOWED_NL, AlignedPeriod, aligned_period, classify
from .suppress import DERIVED, SHAPE_GRID_M, STATISTIC_COLUMNS, coarsen_shapes, hide_small_counts
from .views import (
    DISCLOSURE_NOTE_NL,
    public_areas,
    public_hotspots,
    public_plan,
    public_rhythm,
    with_record_keys,
)

__all__ = [
    "ALLOWED_NL", "DERIVED", "DISCLOSURE_NOTE_NL", "SHAPE_GRID_M", "STATISTIC_COLUMNS", "AlignedPeriod",
    "aligned_period", "cell_keys", "classify", "coarsen_shapes", "hide_small_counts", "knox_cell_keys",
    "perturb",
    "perturb_one", "public_areas", "public_emerging", "public_emerging_metadata", "public_emerging_period",
    "public_hotspots", "public_knox", "public_outreach", "public_zones", "public_plan", "public_rhythm", "record_keys",
    "total_key", "with_record_keys",
]
