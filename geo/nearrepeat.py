"""Near repeats: the Knox test for space-time clustering of events (Johnson, Bowers, Townsley).

After a burglary the homes nearby run a raised risk for days to weeks. The Knox test counts the
pairs of events that are close in space *and* in time, and compares that count with what the
same locations and the same dates give when the dates are shuffled over the events.

Semantics (the one statement of them; the README repeats it)
--------------------------------------------------------------
* **Distance** is Euclidean, in metres of a projected CRS (RD New for the database). Two events
  less than 1 m apart are the *same location* (row ``0 - 0``). Spatial band ``k`` (``k = 1..N``)
  covers ``((k-1)·M, k·M]``, the first from 1 m: ``[1, M]``. Then one *more than N·M* band.
* **Time difference** is the number of whole days between the two events' local
  (Europe/Amsterdam) calendar dates. Temporal band 1 covers ``0..D`` days (inclusive), band ``k``
  covers ``((k-1)·D, k·D]``, then one *more than N·D* band.
* Every **unordered pair** of events counts once (n events give n·(n-1)/2 pairs).
* The **Monte Carlo** permutes the dates over the events; the locations stay. ``expected`` is the
  mean count over the permutations, ``knox_ratio`` = observed / expected, and ``p_value`` =
  (1 + number of permutations with a count >= observed) / (1 + iterations): one-sided, for
  "more pairs than chance", the usual Knox convention.
* ``nrc_compatible=True`` reproduces Ratcliffe's Near Repeat Calculator, whose bands labelled
  "a to b" are computed as ``[a-1, b)`` (Davies and Steenbeek): same location ``[0, 1)``, spatial
  band ``k`` ``[(k-1)·M, k·M)`` (the first from 1 m), more than ``[N·M, inf)``; temporal band
  ``k`` ``[(k-1)·D, k·D)`` days, more than ``[N·D, inf)``. A pair 100 m and 3 days apart lies
  in 1-100 m / 0-7 days by default, and in the NRC's "101 to 200" row with 100 m bands.

Algorithm and cost
------------------
Only the near cells (same location and the N spatial bands, by the N finite temporal bands)
need the permutations: each spatial row's pair count is fixed (the locations do not move), and
so is each temporal column's count over all pairs (it depends on the multiset of dates only), so
the *more than* row and column follow by subtraction. Under a permutation only the pairs that
are close in time too can land in a near cell (about 2 % of the pairs within N·M for four years
and 14 days), so the compiled kernel (:mod:`veilig.geo.nearrepeat_kernel`) sorts the events per
permutation by grid cell (side N·M) and date, and compares each event only with the events of its
own cell and of the neighbouring cells that are at most N·D days apart (every pair of neighbouring
cells once): O(n + close pairs) per permutation, memory O(n) per thread. The observed table is
the same kernel with the dates as they are. (Re-binning all P pairs within N·M per permutation,
the textbook way, costs O(P) per permutation: 10 million pairs for 45,000 events, about four
times the kernel's work even compiled, minutes in NumPy; ``benchmarks/bench_nearrepeat.py``
runs the NumPy one as a peer.)

References
----------
Knox, E. G. (1964). The detection of space-time interactions. *Applied Statistics* 13, 25-29.
Johnson, S. D., Bernasco, W., Bowers, K. J., et al. (2007). Space-time patterns of risk: a
cross national assessment of residential burglary victimization. *J. Quant. Criminol.* 23.
Steenbeek, W. NearRepeat (R package), vignette "NearRepeat and the Near Repeat Calculator".
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from veilig.errors import VeiligError

from .timeutil import TZ_NAME

#: Below this distance (metres) two events are the same location.
SAME_LOCATION_M = 1.0
MAX_SPATIAL_EXTENT_M = 10_000.0
MAX_TEMPORAL_EXTENT_DAYS = 365
MAX_BANDS = 50
MAX_ITERATIONS = 99_999
DEFAULT_ALPHA = 0.05
#: Output columns, in order (CSV, JSON rows, HTTP).
COLUMNS = ("distance_from_m", "distance_to_m", "days_from", "days_to", "observed", "expected",
           "knox_ratio", "p_value")


@dataclass(frozen=True)
class KnoxBands:
    """The band layout: ``spatial_bands`` bands of ``spatial_band`` metres, ``temporal_bands`` of
    ``temporal_band`` days, each followed by a *more than* band; optionally the NRC's shifted bands."""

    spatial_band: float = 100.0
    spatial_bands: int = 3
    temporal_band: int = 7
    temporal_bands: int = 2
    nrc_compatible: bool = False

    def validated(self) -> KnoxBands:
        """Refuse zero, negative, fractional-day or absurd bands with a message naming the option."""
        m, n_s, d, n_t = self.spatial_band, self.spatial_bands, self.temporal_band, self.temporal_bands
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m <= 0:
            raise VeiligError(f"--spatial-band: moet een positief aantal meters zijn, niet {m!r}")
        if m < SAME_LOCATION_M * 2:
            raise VeiligError(f"--spatial-band: {m:g} m is kleiner dan 2 m; onder 1 m is het dezelfde locatie")
        for name, v in (("--spatial-bands", n_s), ("--temporal-bands", n_t)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_BANDS:
                raise VeiligError(f"{name}: moet een geheel getal van 1 tot en met {MAX_BANDS} zijn, niet {v!r}")
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            raise VeiligError(f"--temporal-band: moet een positief geheel aantal dagen zijn, niet {d!r}")
        if m * n_s > MAX_SPATIAL_EXTENT_M:
            raise VeiligError(f"--spatial-band x --spatial-bands: {m:g} m x {n_s} = {m * n_s:g} m is meer dan "
                              f"{MAX_SPATIAL_EXTENT_M:,.0f} m".replace(",", "."))
        if d * n_t > MAX_TEMPORAL_EXTENT_DAYS:
            raise VeiligError(f"--temporal-band x --temporal-bands: {d} dagen x {n_t} = {d * n_t} dagen is meer "
                              f"dan {MAX_TEMPORAL_EXTENT_DAYS} dagen")
        return replace(self, spatial_band=float(m), spatial_bands=int(n_s), temporal_band=int(d),
                       temporal_bands=int(n_t), nrc_compatible=bool(self.nrc_compatible))

    @property
    def max_distance(self) -> float:
        return self.spatial_band * self.spatial_bands

    @property
    def max_lag(self) -> int:
        return self.temporal_band * self.temporal_bands

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns): same location + N bands + more than; N bands + more than."""
        return self.spatial_bands + 2, self.temporal_bands + 1

    def edges2(self) -> np.ndarray:
        """Squared spatial band edges (k·M)², k = 1..N: distances are compared squared."""
        return (np.arange(1, self.spatial_bands + 1, dtype=np.float64) * self.spatial_band) ** 2

    def spatial_index_sq(self, d2: np.ndarray) -> np.ndarray:
        """Row of each *squared* distance ``dx*dx + dy*dy``: 0 same location, 1..N, N+1 beyond.

        The one band rule (the compiled kernel applies the same comparisons): ``d² < 1`` is the
        same location; otherwise the row is 1 plus the number of edges below the distance
        (``d² > (kM)²``; NRC: ``d² >= (kM)²``).
        """
        d2 = np.asarray(d2, dtype=np.float64)
        e2 = self.edges2()
        # side "left" counts the edges < d² (bands closed on the right), "right" those <= d² (NRC).
        above = np.searchsorted(e2, d2, side="right" if self.nrc_compatible else "left")
        return np.where(d2 < SAME_LOCATION_M ** 2, 0, 1 + above)

    def spatial_index(self, dist: np.ndarray) -> np.ndarray:
        """Row of each distance (metres), through :meth:`spatial_index_sq`."""
        dist = np.asarray(dist, dtype=np.float64)
        return self.spatial_index_sq(dist * dist)

    def temporal_lut(self) -> np.ndarray:
        """Column of each day difference ``0..max_lag``; larger lags are the last column."""
        lag = np.arange(self.max_lag + 1, dtype=np.int64)
        d, n = self.temporal_band, self.temporal_bands
        if self.nrc_compatible:
            col = lag // d  # [(k-1)D, kD)
        else:
            col = np.maximum(np.ceil(lag / d).astype(np.int64) - 1, 0)  # 0..D, then ((k-1)D, kD]
        return np.minimum(col, n).astype(np.int64)

    def temporal_index(self, lag: np.ndarray) -> np.ndarray:
        lag = np.asarray(lag, dtype=np.int64)
        lut = self.temporal_lut()
        return np.where(lag > self.max_lag, self.temporal_bands, lut[np.minimum(lag, self.max_lag)])

    def row_bounds(self) -> list[tuple[float, float | None]]:
        """(distance_from_m, distance_to_m) per row; the *more than* row has no upper bound."""
        m, n = self.spatial_band, self.spatial_bands
        return [(0.0, 0.0)] + [((k - 1) * m, k * m) for k in range(1, n + 1)] + [(n * m, None)]

    def column_bounds(self) -> list[tuple[int, int | None]]:
        d, n = self.temporal_band, self.temporal_bands
        return [((k - 1) * d, k * d) for k in range(1, n + 1)] + [(n * d, None)]

    def interval_note(self) -> str:
        if self.nrc_compatible:
            return ("NRC-compatibel: een band 'van - tot' is [van, tot): van inbegrepen, tot niet; "
                    "dezelfde locatie is < 1 m")
        return ("afstandsband (van, tot] (de eerste vanaf 1 m; < 1 m is dezelfde locatie); "
                "dagen: eerste band 0 t/m tot, daarna (van, tot]")


@dataclass(frozen=True)
class KnoxEvents:
    """Events ready for the test: coordinates (metres) and local calendar days (days since 1970)."""

    x: np.ndarray
    y: np.ndarray
    day: np.ndarray

    def __post_init__(self):
        if not (len(self.x) == len(self.y) == len(self.day)):
            raise VeiligError("x, y en datum moeten even lang zijn")

    def __len__(self) -> int:
        return int(len(self.x))


@dataclass(frozen=True)
class KnoxResult:
    """Observed and permutation-expected pair counts per (distance band, day band) cell.

    Arrays have shape :attr:`KnoxBands.shape`: rows same location, the N spatial bands and the
    *more than* row; columns the temporal bands and the *more than* column.
    """

    bands: KnoxBands
    n_events: int
    n_pairs: int
    iterations: int
    seed: int | None
    observed: np.ndarray
    expected: np.ndarray
    knox_ratio: np.ndarray
    p_value: np.ndarray
    first_day: int | None = None
    last_day: int | None = None
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per cell, columns :data:`COLUMNS` (the *more than* bounds empty)."""
        rows = []
        for r, (d0, d1) in enumerate(self.bands.row_bounds()):
            for c, (t0, t1) in enumerate(self.bands.column_bounds()):
                ratio = self.knox_ratio[r, c]
                rows.append((d0, d1, t0, t1, int(self.observed[r, c]), float(self.expected[r, c]),
                             None if not np.isfinite(ratio) else float(ratio), float(self.p_value[r, c])))
        df = pd.DataFrame(rows, columns=list(COLUMNS))
        # Object columns, so the open bounds stay empty and whole days stay integers in the CSV.
        df["distance_to_m"] = pd.Series([r[1] for r in rows], dtype=object)
        df["days_to"] = pd.Series([None if r[3] is None else int(r[3]) for r in rows], dtype=object)
        return df

    def significant(self, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
        """Cells with more pairs than chance at level ``alpha`` (and a ratio above 1)."""
        with np.errstate(invalid="ignore"):
            return (self.p_value <= alpha) & (self.knox_ratio > 1)

    def to_dict(self, alpha: float = DEFAULT_ALPHA) -> dict:
        """JSON-ready: metadata, the rows (:data:`COLUMNS`) and the Dutch summary."""
        t = self.table()
        rows = [{k: _json_value(v) for k, v in rec.items()} for rec in t.to_dict("records")]
        return {
            "n_events": self.n_events, "n_pairs": self.n_pairs, "iterations": self.iterations,
            "seed": self.seed, "alpha": alpha,
            "spatial_band_m": self.bands.spatial_band, "spatial_bands": self.bands.spatial_bands,
            "temporal_band_days": self.bands.temporal_band, "temporal_bands": self.bands.temporal_bands,
            "nrc_compatible": self.bands.nrc_compatible, "intervals": self.bands.interval_note(),
            "null": "datums willekeurig verwisseld over de gebeurtenissen (locaties vast), Monte Carlo",
            "first_date": _iso_day(self.first_day), "last_date": _iso_day(self.last_day),
            "summary": summary_nl(self), "notes": list(self.notes), "rows": rows,
        }


def _json_value(v):
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    return v


def _iso_day(day: int | None) -> str | None:
    if day is None:
        return None
    return str(np.datetime64(int(day), "D"))


# ---------------------------------------------------------------------------------- input


def local_days(times: pd.Series) -> np.ndarray:
    """Local (Europe/Amsterdam) calendar days since 1970-01-01 of timezone-aware times."""
    t = pd.to_datetime(pd.Series(times), utc=True).dt.tz_convert(TZ_NAME).dt.tz_localize(None)
    return t.dt.normalize().to_numpy(dtype="datetime64[D]").astype(np.int64)


def events_from_frame(frame: pd.DataFrame, *, name: str = "invoer") -> KnoxEvents:
    """Events from a DataFrame with ``x``, ``y`` (metres) and ``occurred_at``.

    ``occurred_at`` may be timezone-aware times (taken in Europe/Amsterdam), or text: an ISO date
    (``2025-03-01``), an ISO date-time with or without an offset, or Dutch ``DD-MM-YYYY`` (with an
    optional ``HH:MM``). A time without an offset is a local wall time; only its date counts.
    Rows count from 1 (for a CSV, row 1 is the line after the header). The first bad rows are
    named in the error; nothing is computed on partly valid input.
    """
    missing = [c for c in ("x", "y", "occurred_at") if c not in frame.columns]
    if missing:
        raise VeiligError(f"{name}: kolom(men) {', '.join(missing)} ontbreken (nodig: x, y, occurred_at)")
    problems: list[str] = []
    coords = {}
    for col in ("x", "y"):
        raw = frame[col]
        # Text columns may carry a decimal comma (Dutch spreadsheets).
        text = raw if pd.api.types.is_numeric_dtype(raw) else \
            raw.astype("string").str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        for i in np.flatnonzero(bad)[:5]:
            shown = raw.iloc[i]
            problems.append(f"rij {i + 1}, kolom {col}: ontbreekt of is geen getal"
                            + ("" if _is_blank(shown) else f" ({str(shown)[:40]!r})"))
        if bad.sum() > 5:
            problems.append(f"... en nog {int(bad.sum()) - 5} rijen met een ongeldige {col}")
        coords[col] = values
    days, bad_days = _parse_days(frame["occurred_at"])
    for i in np.flatnonzero(bad_days)[:5]:
        shown = frame["occurred_at"].iloc[i]
        problems.append(
            f"rij {i + 1}, kolom occurred_at: ontbreekt of is geen datum (gebruik 2025-03-01, "
            f"2025-03-01T21:30 of 01-03-2025)" + ("" if _is_blank(shown) else f" ({str(shown)[:40]!r})"))
    if bad_days.sum() > 5:
        problems.append(f"... en nog {int(bad_days.sum()) - 5} rijen met een ongeldige occurred_at")
    if problems:
        raise VeiligError(f"{name}: " + "; ".join(problems))
    return KnoxEvents(coords["x"], coords["y"], days)


def _is_blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()) \
        or v is pd.NA or v is pd.NaT


def _parse_days(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Local calendar days of each value and a mask of the unparsable ones."""
    n = len(values)
    days = np.zeros(n, dtype=np.int64)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        bad = values.isna().to_numpy()
        if (~bad).any():
            days[~bad] = local_days(values[~bad])
        return days, bad
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        bad = values.isna().to_numpy()
        days[~bad] = values[~bad].dt.normalize().to_numpy(dtype="datetime64[D]").astype(np.int64)
        return days, bad
    s = values.astype("string").str.strip()
    bad = (s.isna() | (s == "")).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    has_offset = s.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False).to_numpy(dtype=bool)
    iso = s.str.match(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])", na=False).to_numpy(dtype=bool)
    dutch = s.str.match(r"^\d{1,2}-\d{1,2}-\d{4}(?:$| )", na=False).to_numpy(dtype=bool)
    aware = ~bad & iso & has_offset
    if aware.any():
        t = pd.to_datetime(s[aware], format="ISO8601", utc=True, errors="coerce")
        parsed[aware] = t.dt.tz_convert(TZ_NAME).dt.tz_localize(None).to_numpy()
    naive = ~bad & iso & ~has_offset
    if naive.any():
        parsed[naive] = pd.to_datetime(s[naive], format="ISO8601", errors="coerce").to_numpy()
    nl = ~bad & dutch  # "01-03-2025" ends like an offset ("-2025"): not one
    if nl.any():
        sub = pd.Series(pd.NaT, index=s[nl].index, dtype="datetime64[ns]")
        for fmt in ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y"):
            todo = sub.isna()
            if not todo.any():
                break
            sub[todo] = pd.to_datetime(s[nl][todo], format=fmt, errors="coerce")
        parsed[nl] = sub.to_numpy()
    bad = bad | parsed.isna().to_numpy()
    ok = ~bad
    days[ok] = parsed[ok].dt.normalize().to_numpy(dtype="datetime64[D]").astype(np.int64)
    # Years outside 1900-2100 are typing errors, not burglaries.
    lo, hi = np.datetime64("1900-01-01", "D").astype(np.int64), np.datetime64("2100-12-31", "D").astype(np.int64)
    bad |= ok & ((days < lo) | (days > hi))
    return days, bad


def read_events_csv(path: str | Path) -> KnoxEvents:
    """Events from a CSV with columns ``x``, ``y`` and ``occurred_at`` (``,`` or ``;`` separated).

    No municipal boundary check: any projected CRS in metres will do (calculator mode).
    """
    path = Path(path)
    if not path.is_file():
        raise VeiligError(f"--input: bestand {path} bestaat niet")
    try:
        head = path.read_text(encoding="utf-8-sig")[:4096]
    except UnicodeDecodeError:
        raise VeiligError(f"{path.name}: geen UTF-8-tekst; sla het bestand op als CSV (UTF-8)") from None
    first = head.splitlines()[0] if head.strip() else ""
    sep = ";" if first.count(";") > first.count(",") else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise VeiligError(f"{path.name}: geen leesbare CSV ({exc})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return events_from_frame(frame, name=path.name)


def events_from_incidents(incidents: pd.DataFrame) -> KnoxEvents:
    """Events from stored incidents (``x``, ``y`` in RD New, ``occurred_at`` tz-aware UTC)."""
    if not len(incidents):
        return KnoxEvents(np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))
    return KnoxEvents(incidents["x"].to_numpy(dtype=np.float64), incidents["y"].to_numpy(dtype=np.float64),
                      local_days(incidents["occurred_at"]))


# ------------------------------------------------------------------------------- the test


def check_iterations(iterations: int) -> int:
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)):
        raise VeiligError(f"--iterations: moet een geheel getal zijn, niet {iterations!r}")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise VeiligError(f"--iterations: {iterations} ligt niet tussen 1 en {MAX_ITERATIONS:,}".replace(",", "."))
    return int(iterations)


def lag_totals(day: np.ndarray, bands: KnoxBands) -> np.ndarray:
    """Pairs of all events per temporal column: the same for every permutation of the dates."""
    n = len(day)
    out = np.zeros(bands.temporal_bands + 1, dtype=np.int64)
    if n < 2:
        return out
    h = np.bincount(day - day.min()).astype(np.int64)
    lut = bands.temporal_lut()
    within = 0
    for lag in range(min(bands.max_lag, len(h) - 1) + 1):
        c = int((h * (h - 1) // 2).sum()) if lag == 0 else int(np.dot(h[:-lag], h[lag:]))
        out[lut[lag]] += c
        within += c
    # Lags beyond N·D are the rest (the lut's last column may already hold NRC's lag N·D).
    out[bands.temporal_bands] += n * (n - 1) // 2 - within
    return out


def _complete(near: np.ndarray, bands: KnoxBands, totals_t: np.ndarray, row_totals: np.ndarray) -> np.ndarray:
    """Full tables (k, rows, cols) from the near cells (k, N+1, N_t) of each permutation.

    The *more than N·D* column is each spatial row's pair count (fixed: the locations do not move)
    minus its near cells; the *more than N·M* row is each column's count over all pairs (fixed:
    the multiset of dates does not change) minus the rows above it.
    """
    k = near.shape[0]
    rows, cols = bands.shape
    out = np.zeros((k, rows, cols), dtype=np.int64)
    out[:, : rows - 1, : cols - 1] = near
    out[:, : rows - 1, cols - 1] = row_totals[None, :] - near.sum(axis=2)
    out[:, rows - 1, :] = totals_t[None, :] - out[:, : rows - 1, :].sum(axis=1)
    return out


#: Permutations per kernel call (a block runs on one thread; results do not depend on the blocking).
PERMUTATION_BLOCK = 32


class _Kernel:
    """The compiled kernel, set up once per data set (grid of N·M cells); see
    :mod:`veilig.geo.nearrepeat_kernel`."""

    def __init__(self, xc: np.ndarray, yc: np.ndarray, day_sorted: np.ndarray, bands: KnoxBands):
        from .nearrepeat_kernel import grid_cells

        self.xc = np.ascontiguousarray(xc, dtype=np.float64)
        self.yc = np.ascontiguousarray(yc, dtype=np.float64)
        self.day = np.ascontiguousarray(day_sorted, dtype=np.int64)
        self.bands = bands
        # Cells a hair wider than N·M: rounding can then never put two events within N·M two
        # cells apart.
        self.cell, self.start, self.forward = grid_cells(self.xc, self.yc,
                                                         bands.max_distance * (1 + 1e-9) + 1e-9)
        self.lut = bands.temporal_lut().astype(np.int64)
        e2 = bands.edges2()
        # The kernel's one rule is "d² > edge": the NRC's "d² >= (kM)²" is "d² > the float just
        # below (kM)²", exactly.
        self.edges = np.nextafter(e2, -np.inf) if bands.nrc_compatible else e2
        self.no_slots = np.empty((0, len(self.xc)), dtype=np.int32)

    def _call(self, lut: np.ndarray, n_cols: int, seed: int, first: int, k: int, slots: np.ndarray) -> np.ndarray:
        from .nearrepeat_kernel import knox_cells

        return knox_cells(self.xc, self.yc, self.cell, self.start, self.forward, self.day, lut, self.edges,
                          float(SAME_LOCATION_M ** 2), int(n_cols), np.uint64(seed), int(first), int(k), slots)

    def near(self, slots: np.ndarray) -> np.ndarray:
        """Near cells (k, N+1, N_t) for permutations ``slots`` (k, n): slot -> event."""
        b = self.bands
        slots = np.ascontiguousarray(slots, dtype=np.int32)
        out = self._call(self.lut, b.temporal_bands + 1, 0, 0, slots.shape[0], slots)
        return out[:, : b.spatial_bands + 1, : b.temporal_bands]

    def near_permuted(self, seed: int, first: int, k: int) -> np.ndarray:
        """Near cells of the permutations ``first .. first+k-1`` of ``seed``, drawn in the kernel."""
        b = self.bands
        out = self._call(self.lut, b.temporal_bands + 1, seed, first, k, self.no_slots)
        return out[:, : b.spatial_bands + 1, : b.temporal_bands]

    def row_totals(self) -> np.ndarray:
        """Pairs per spatial row 0..N (fixed under every permutation of the dates).

        The same kernel with a window over the whole period and one column, so a pair at a band
        edge is in the same row here as in every table.
        """
        span = int(self.day[-1] - self.day[0]) if len(self.day) else 0
        identity = np.arange(len(self.xc), dtype=np.int32)[None, :]
        out = self._call(np.zeros(span + 1, dtype=np.int64), 1, 0, 0, 1, identity)
        return out[0, : self.bands.spatial_bands + 1, 0]


def _threads() -> int:
    """Threads for the permutations: Numba's setting (``NUMBA_NUM_THREADS``, default all cores)."""
    from numba import config

    return max(1, int(config.NUMBA_NUM_THREADS))


def knox_test(
    events: KnoxEvents,
    bands: KnoxBands | None = None,
    iterations: int = 999,
    seed: int | None = 0,
    max_work: float | None = None,
) -> KnoxResult:
    """The Knox test with Monte Carlo inference; see the module docstring for the semantics.

    Parameters
    ----------
    events : KnoxEvents
        Locations (metres) and local calendar days; at least 2.
    bands : KnoxBands
        Band layout (defaults 100 m x 3, 7 days x 2).
    iterations : int
        Permutations of the dates, 1..99,999 (999 by default).
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same numbers.
    max_work : float, optional
        Refuse (before permuting) when iterations x (10·n + the pairs expected close in space and
        time) exceeds this: a service's guard against a request that would run for hours.

    Returns
    -------
    KnoxResult

    Notes
    -----
    O(n log n) once, then O(n + C) per permutation for the C pairs that are close in time and lie
    in neighbouring grid cells; memory O(n) per thread. Permutation ``i`` is a pure function of
    the seed and ``i`` (:func:`veilig.geo.nearrepeat_kernel.shuffle`), so the result does not
    depend on how the permutations are blocked or on the number of threads
    (``NUMBA_NUM_THREADS``).
    """
    bands = (bands or KnoxBands()).validated()
    iterations = check_iterations(iterations)
    n = len(events)
    if n < 2:
        raise VeiligError(f"te weinig gebeurtenissen: {n}; de Knox-test heeft er minstens 2 nodig")
    x = np.asarray(events.x, dtype=np.float64)
    y = np.asarray(events.y, dtype=np.float64)
    day = np.asarray(events.day, dtype=np.int64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise VeiligError("coördinaten ontbreken of zijn geen getal")
    # Sorted by date (stable): date slot k is the k-th date; a permutation is "which event gets
    # slot k". Counts do not depend on the order of the events, the draws do: fixed by sorting.
    order = np.argsort(day, kind="stable")
    # Raw coordinates, no centring: the difference of two RD values (~1e5 m, within a factor 2
    # of each other) is exact, so a pair exactly on a band edge is decided exactly.
    day = day[order]
    kernel = _Kernel(x[order], y[order], day, bands)
    totals_t = lag_totals(day, bands)
    row_totals = kernel.row_totals()
    observed = _complete(kernel.near(np.arange(n, dtype=np.int32)[None, :]), bands, totals_t, row_totals)[0]
    if max_work is not None:
        close = row_totals.sum() * (totals_t[:-1].sum() / max(1, n * (n - 1) // 2))
        work = iterations * (10.0 * n + 3.0 * close)
        if work > max_work:
            raise VeiligError(f"te veel rekenwerk ({work:.1e} stappen, grens {max_work:.0e}): kies minder "
                              "iteraties, smallere banden of een kortere periode")
    # The permutations come from the kernel's own generator, a pure function of (seed, index):
    # no per-permutation Python work, and the same seed gives the same numbers on any number of
    # threads. Seed None: a fresh seed from the operating system.
    stream = int(np.random.default_rng(seed).integers(0, 2**63)) if seed is not None else \
        int(np.random.default_rng().integers(0, 2**63))
    sums = np.zeros(bands.shape, dtype=np.int64)
    at_least = np.zeros(bands.shape, dtype=np.int64)
    blocks = [(first, min(PERMUTATION_BLOCK, iterations - first)) for first in range(0, iterations, PERMUTATION_BLOCK)]
    # Blocks on threads (the kernel releases the GIL); integer sums, so the order of the blocks
    # does not matter either.
    with ThreadPoolExecutor(max_workers=min(_threads(), len(blocks))) as pool:
        for near in pool.map(lambda block: kernel.near_permuted(stream, *block), blocks):
            counts = _complete(near, bands, totals_t, row_totals)
            sums += counts.sum(axis=0)
            at_least += (counts >= observed[None]).sum(axis=0)
    expected = sums / iterations
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1), np.nan)
    p_value = (1 + at_least) / (1 + iterations)
    notes = []
    if n < 30:
        notes.append(f"Slechts {n} gebeurtenissen: de toets heeft weinig onderscheidend vermogen.")
    return KnoxResult(bands=bands, n_events=n, n_pairs=n * (n - 1) // 2, iterations=iterations, seed=seed,
                      observed=observed, expected=expected, knox_ratio=ratio, p_value=p_value,
                      first_day=int(day.min()), last_day=int(day.max()), notes=notes)


# ----------------------------------------------------------------------------- reading it


def significant_extent(result: KnoxResult, alpha: float = DEFAULT_ALPHA) -> tuple[float, int] | None:
    """The longest significant finite spatial band and temporal band (metres, days), if any.

    Only near-repeat cells count: the same-location row and the spatial bands, never a *more
    than* row or column. Used as the radius and lifetime of the alert zones.
    """
    sig = result.significant(alpha)
    rows, cols = result.bands.shape
    near = sig[: rows - 1, : cols - 1]
    if not near.any():
        return None
    r_idx, c_idx = np.nonzero(near)
    radius = max(result.bands.row_bounds()[r][1] or 0.0 for r in r_idx)
    days = max(result.bands.column_bounds()[c][1] or 0 for c in c_idx)
    # A significant same-location cell alone still means "this address": at least one band.
    return max(float(radius), result.bands.spatial_band), int(days)


def _nl_number(v: float, decimals: int = 1) -> str:
    return f"{v:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _row_label(bands: KnoxBands, r: int) -> str:
    d0, d1 = bands.row_bounds()[r]
    if r == 0:
        return "zelfde locatie (< 1 m)"
    if d1 is None:
        return f"meer dan {d0:g} m"
    if r == 1:
        return f"1 - {d1:g} m"
    return f"{d0:g} - {d1:g} m"


def _col_label(bands: KnoxBands, c: int) -> str:
    """Whole days: default band 2 of 7 days is (7, 14] = "8 - 14 dagen"; NRC [7, 14) = "7 - 13 dagen"."""
    t0, t1 = bands.column_bounds()[c]
    if t1 is None:
        return f"meer dan {t0 - 1 if bands.nrc_compatible else t0} dagen"
    if bands.nrc_compatible:
        return f"{t0} - {t1 - 1} dagen"
    return f"{t0 if c == 0 else t0 + 1} - {t1} dagen"


def row_labels(bands: KnoxBands) -> list[str]:
    return [_row_label(bands, r) for r in range(bands.shape[0])]


def column_labels(bands: KnoxBands) -> list[str]:
    return [_col_label(bands, c) for c in range(bands.shape[1])]


def summary_nl(result: KnoxResult, alpha: float = DEFAULT_ALPHA, noun: str = "inbraak") -> str:
    """A plain Dutch summary: the nearest significant near-repeat cell and its ratio."""
    bands = result.bands
    sig = result.significant(alpha)
    rows, cols = bands.shape
    level = f"{_nl_number(100 * (1 - alpha), 0)} %"
    # Near repeats proper: spatial bands 1..N, finite temporal bands; nearest first.
    for r in range(1, rows - 1):
        for c in range(cols - 1):
            if sig[r, c]:
                reach = bands.row_bounds()[r][1]
                t1 = bands.column_bounds()[c]
                period = (f"in de eerste {t1[1]} dagen" if c == 0
                          else f"tussen {t1[0]} en {t1[1]} dagen")
                within = f"binnen {reach:g} m" if r == 1 else (
                    f"op {bands.row_bounds()[r][0]:g} tot {reach:g} m")
                text = (f"{within.capitalize()} van een {noun} is de kans op een volgende {noun} {period} "
                        f"{_nl_number(float(result.knox_ratio[r, c]))} keer zo groot als bij toeval "
                        f"(p = {_nl_number(float(result.p_value[r, c]), 3)}, {result.iterations} permutaties).")
                if sig[0, : cols - 1].any():
                    text += " Ook op dezelfde locatie is er een verhoogde kans (herhaalde inbraak)."
                return text
    if sig[0, : cols - 1].any():
        return (f"Alleen op dezelfde locatie komt een volgende {noun} vaker voor dan bij toeval "
                f"(herhaalde inbraak); in de omgeving is geen significant near-repeatpatroon gevonden.")
    return (f"Geen significant near-repeatpatroon gevonden (niveau {level}, {result.iterations} permutaties): "
            f"in geen enkele band komen paren vaker voor dan bij toeval.")
