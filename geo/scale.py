"""The analysis scale from the data: the Gi* distance band when the analyst gives none.

ArcGIS's Optimized Hot Spot Analysis picks its distance band from the data (the peak of
incremental spatial autocorrelation, or a nearest-neighbour distance). Both look at *where* the
incidents lie, so the band, and with it the windows that are tested, would depend on the very
pattern being tested, and the p-values would no longer hold at their level. veilig picks the band
from quantities the null leaves fixed instead: the number of incidents ``N`` and the exposure.

The rule: the smallest band (a multiple of half the cell, from one cell up to
:data:`AUTO_BAND_MAX`) in which the window around a typical incident expects at least
:data:`MIN_EXPECTED` incidents under the null,
``E(b) = N * sum_c share_c * windowshare_c(b)`` (the window share around each cell, averaged
with the cell's own null probability as weight). Few incidents give a wide band (power where
there is little data), many give a narrow one (detail where the data carry it): on Zoetermeer's
~15,000 cells of 50 m that is about 500 m for 300 incidents, 200 m for 2,000, 75 m for 20,000 and
50 m (the cell and its four neighbours) from ~60,000. Conditional on ``N`` the choice is fixed,
so the exact tails stay exact.

:data:`MIN_EXPECTED` = 6 is a judgement, checked in ``benchmarks/bench_calibration.py``: a
smaller window resolves smaller hotspots but needs a larger excess to pass FDR over ~15,000
windows; with 6 expected, a hotspot of 200 m radius at 4x the background is found (a 99 % cell
within 200 m and a cluster over its centre) in about 90 % of analyses of 2,000 incidents: the
misses are the analyses whose sample put only ~20 incidents in the hotspot (expected: ~26), which
no window test over the whole city can tell from noise at 99 %. Hotspots much larger than the window are found too (as several
significant windows); much smaller and weaker ones are not. The cap :data:`AUTO_BAND_MAX`
(500 m) keeps the outline of a cluster within about 500 m of its excess below ~300 incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gistar import disk_halfwidths, disk_sum

#: Expected incidents in the window of a typical incident that the chosen band must reach.
MIN_EXPECTED = 6.0

#: The widest band chosen automatically (metres); a wider one blurs the city into one window.
AUTO_BAND_MAX = 500.0


@dataclass(frozen=True)
class Scale:
    """The Gi* scale of one analysis.

    Attributes
    ----------
    cell, band : float
        Cell side and distance band in metres.
    chosen : bool
        True when the band was chosen by :func:`choose_band`, False when the analyst gave it.
    expected_in_window : float
        ``E(band)``: expected incidents in the window of a typical incident under the null.
    reason : str
        Why this band (English, for the file's metadata).
    reason_nl : str
        The same in Dutch, for the command line and the map.
    """

    cell: float
    band: float
    chosen: bool
    expected_in_window: float
    reason: str
    reason_nl: str

    def metadata(self) -> dict:
        return {"cell": self.cell, "band": self.band, "band_chosen": self.chosen,
                "expected_in_window": round(self.expected_in_window, 3), "reason": self.reason,
                "reason_nl": self.reason_nl}


def expected_in_window(share: np.ndarray, mask: np.ndarray, n: int, cell: float, band: float) -> float:
    """``N * sum_c share_c * windowshare_c``: expected incidents in a typical incident's window."""
    s = np.where(mask, share, 0.0)
    win = disk_sum(s, disk_halfwidths(cell, band))
    return float(n * np.sum(s * win))


def candidate_bands(cell: float, band_max: float = AUTO_BAND_MAX) -> list[float]:
    """One cell, then steps of half a cell, up to ``band_max`` (at least one candidate)."""
    out, k = [], 2
    while cell * k / 2.0 <= band_max + 1e-9 or not out:
        out.append(cell * k / 2.0)
        k += 1
    return out


def choose_band(share: np.ndarray, mask: np.ndarray, n: int, cell: float,
                min_expected: float = MIN_EXPECTED, band_max: float = AUTO_BAND_MAX) -> Scale:
    """The smallest candidate band whose :func:`expected_in_window` reaches ``min_expected``.

    When even the widest band does not (very few incidents), the widest is used and the reason
    says so. Depends on ``n``, the exposure ``share`` and the grid only: never on where the
    incidents lie. O(candidates * cells * band / cell).
    """
    best, e = None, 0.0
    for b in candidate_bands(cell, band_max):
        e = expected_in_window(share, mask, n, cell, b)
        best = b
        if e >= min_expected:
            return Scale(cell, b, True, e,
                         f"smallest band (steps of half a cell) whose window around a typical incident expects "
                         f">= {min_expected:g} incidents under the null ({e:.1f} at N = {n}); chosen from N and "
                         "the exposure only, not from where the incidents lie, so the p-values keep their level",
                         f"band {b:g} m gekozen uit het aantal incidenten: de kleinste band waarin een incident "
                         f"onder de nulhypothese ten minste {min_expected:g} incidenten in zijn venster verwacht "
                         f"({_nl(e)} bij {n} incidenten)")
    return Scale(cell, float(best), True, e,
                 f"widest automatic band: with N = {n} no band up to {band_max:g} m expects {min_expected:g} "
                 f"incidents per window ({e:.1f}); little power",
                 f"band {best:g} m (de breedste): met {n} incidenten verwacht geen band tot {band_max:g} m "
                 f"{min_expected:g} incidenten per venster ({_nl(e)}); weinig onderscheidend vermogen")


def given_band(share: np.ndarray, mask: np.ndarray, n: int, cell: float, band: float) -> Scale:
    """The scale of an analyst's own band, with its expected window count for the record."""
    e = expected_in_window(share, mask, n, cell, band)
    return Scale(cell, float(band), False, e, f"band {band:g} m given by the analyst ({e:.1f} expected per window)",
                 f"band {band:g} m opgegeven door de analist ({_nl(e)} verwacht per venster)")


def _nl(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")
