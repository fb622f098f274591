"""Reading and validating incident files: CSV, GeoJSON, GeoPackage, GeoParquet.

``read_incidents`` turns a file into a clean DataFrame (RD New, UTC, fixed categories, buurt
assigned) and a list of :class:`RowError` naming file, row, field and rule for every bad row.
It writes nothing; storage decides what to do with the result.

Row numbers count data records from 1 (a CSV's header line is not a row; CSV row 1 is on line 2).
Times without a UTC offset are read as Europe/Amsterdam local time; a local time that does
not exist (spring gap) or occurs twice (autumn) without an offset is refused as ambiguous.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from veilig.errors import TooLargeError, VeiligError
from veilig.numbers import nl_number

from .categories import CATEGORIES, label_table, map_labels
from .crs import RD_BOUNDS, RD_NEW, WGS84, known_crs
from .neighbourhoods import DEFAULT_MARGIN_M, assign_buurt
from .timeutil import TZ_NAME

SUPPORTED = {".csv": "CSV", ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
             ".parquet": "GeoParquet", ".geoparquet": "GeoParquet"}

_ID_COLS = ("id", "incident_id", "nummer", "registratienummer")
_TIME_COLS = ("occurred_at", "datetime", "timestamp", "tijdstip", "datum_tijd", "pleegdatum")
_CAT_COLS = ("category", "categorie", "label", "omschrijving_type", "type", "maatschappelijke_klasse")
_DESC_COLS = ("description", "omschrijving", "toelichting")
_X_COLS, _Y_COLS = ("x", "rd_x", "x_rd"), ("y", "rd_y", "y_rd")
_LAT_COLS, _LON_COLS = ("lat", "latitude", "breedtegraad"), ("lon", "lng", "longitude", "lengtegraad")

#: Plausible incident times: nothing before 1970 (no digital incident registration, and the
#: Amsterdam zone's pre-1937 offset is no whole minute), nothing more than a day in the future
#: (a clock or a typo, never an event). Both are settings (``VEILIG_IMPORT_EARLIEST``,
#: ``VEILIG_IMPORT_FUTURE_DAYS``); these are the defaults.
DEFAULT_EARLIEST = date(1970, 1, 1)
DEFAULT_FUTURE_DAYS = 1.0
#: Free text that is kept: a description longer than this is refused (it is a paste accident,
#: or an attempt to fill the database); ids and sources have their column widths.
MAX_DESCRIPTION = 4000
MAX_SOURCE = 100


@dataclass(frozen=True)
class RowError:
    """One refused row: where, which field, and the rule it broke."""

    file: str
    row: int
    field: str
    reason: str
    value: str = ""

    def __str__(self) -> str:
        shown = f" (waarde: {self.value!r})" if self.value != "" else ""
        return f"{self.file}, rij {self.row}, veld {self.field}: {self.reason}{shown}"


@dataclass
class ReadResult:
    """The valid rows (clean columns) and the errors; ``n_rows`` counts all data rows in the file."""

    file: str
    n_rows: int
    valid: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)

    @property
    def invalid_rows(self) -> int:
        return len({e.row for e in self.errors})


def _pick(columns: Mapping[str, str], options: tuple[str, ...]) -> str | None:
    for name in options:
        if name in columns:
            return columns[name]
    return None


def _check_crs(name: str, crs: str | None) -> None:
    if crs is None:
        return
    if len(crs) > 200 or known_crs(crs) is None:
        raise VeiligError(f"{name}: --crs '{crs[:80]}' is geen bekend CRS met een EPSG-code "
                          "dat Zoetermeer dekt (bijvoorbeeld EPSG:28992 of EPSG:4326)")


def _hide_paths(exc: Exception, path: Path, name: str) -> str:
    """A library's error message without the server's temporary path (only the file's own name)."""
    text = str(exc)
    for p in (str(path), str(path.parent)):
        text = text.replace(p, name if p == str(path) else "")
    return text[:300]


def _declared_geojson_crs(path: Path) -> str | None:
    """The name in the GeoJSON's own ``crs`` member (GeoJSON 2008), or None when it has none.

    GDAL reads a ``crs`` it does not know as WGS84, so the file would silently be placed
    somewhere else; the member is looked up here (in the first MB and the last 64 KB, where a
    writer puts it, without parsing a large file twice) and an unknown CRS is refused.
    """
    import re

    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
        fh.seek(0, 2)
        size = fh.tell()
        tail = b""
        if size > len(head):
            fh.seek(max(len(head), size - (1 << 16)))
            tail = fh.read()
    for text in (head, tail):
        m = re.search(rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]{0,300})"', text)
        if m is None:
            m = re.search(rb'"crs"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]{0,300})"', text)
        if m is not None:
            return m.group(1).decode("utf-8", "replace")
        if re.search(rb'"crs"\s*:\s*\{', text):
            return "(onleesbaar crs-lid)"
    return None


def _count_rows(path: Path, kind: str) -> int | None:
    """The number of records, from the file's metadata (no full read), when the format tells it."""
    try:
        if kind == "GeoParquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if kind in ("GeoPackage", "GeoJSON"):
            import pyogrio

            n = pyogrio.read_info(path).get("features")
            return int(n) if n is not None and n >= 0 else None
        with open(path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except Exception:  # a broken file: the reader names the problem
        return None


def _read_raw(path: Path, crs: str | None, name: str | None = None,
              max_rows: int | None = None) -> tuple[pd.DataFrame, str | None, str]:
    """Read the file; return (frame with x/y or geometry coords, crs of x/y, kind)."""
    name = name or path.name
    _check_crs(name, crs)
    suffix = path.suffix.lower()
    kind = SUPPORTED.get(suffix)
    if kind is None:
        raise VeiligError(
            f"{name}: bestandstype '{suffix}' wordt niet ondersteund; gebruik een van {', '.join(sorted(SUPPORTED))}"
        )
    if not path.exists():
        raise VeiligError(f"{name}: bestand niet gevonden")
    if max_rows is not None:
        n_rows = _count_rows(path, kind)
        if n_rows is not None and n_rows > max_rows + (1 if kind == "CSV" else 0):
            raise TooLargeError(f"{name}: {n_rows} rijen; de grens is {max_rows} rijen per bestand "
                              "(splits het bestand)")
    if kind == "CSV":
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                sample = fh.read(65536)
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter if sample else ","
        except (csv.Error, UnicodeDecodeError):
            delimiter = ","
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=delimiter,
                             encoding="utf-8-sig", engine="c")
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise VeiligError(f"{name}: geen leesbaar CSV-bestand ({_hide_paths(exc, path, name)})") from exc
        return df, crs, kind
    import geopandas as gpd

    try:
        if kind == "GeoParquet":
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio/pyarrow raise many types for a broken file
        raise VeiligError(f"{name}: geen leesbaar {kind}-bestand ({_hide_paths(exc, path, name)})") from exc
    file_crs = gdf.crs.to_string() if gdf.crs is not None else None
    if kind == "GeoJSON":
        declared = _declared_geojson_crs(path)
        if declared is not None and known_crs(declared) is None:
            raise VeiligError(f"{name}: het bestand noemt het CRS {declared[:80]!r}, en dat is geen bekend CRS; "
                              "schrijf het bestand in WGS84 (RFC 7946) of met een EPSG-code")
        if file_crs is None:
            file_crs = WGS84  # RFC 7946
    if file_crs is not None and known_crs(file_crs) is None:
        raise VeiligError(f"{name}: het bestand noemt het CRS {file_crs[:80]!r}, en dat is geen bekend CRS "
                          "met een EPSG-code dat Zoetermeer dekt")
    if crs and file_crs and pyproj.CRS(crs) != pyproj.CRS(file_crs):
        raise VeiligError(
            f"{name}: het bestand noemt {file_crs}, maar --crs zegt {crs}; "
            "laat --crs weg of herstel het bestand (veilig overschrijft nooit een genoemd CRS)"
        )
    used_crs = file_crs or crs
    if used_crs is None:
        raise VeiligError(f"{name}: het bestand heeft geen CRS; geef --crs EPSG:28992 (of het juiste CRS)")
    import shapely

    geom = gdf.geometry
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    types = geom.geom_type.to_numpy(dtype=object)
    is_point = (types == "Point") & ~geom.is_empty.to_numpy()
    # shapely.get_x gives NaN for every non-point, where GeoSeries.x raises on the first LineString.
    values = geom.values
    df["__x"] = np.where(is_point, shapely.get_x(np.asarray(values)), np.nan) if len(gdf) else []
    df["__y"] = np.where(is_point, shapely.get_y(np.asarray(values)), np.nan) if len(gdf) else []
    df["__geomtype"] = pd.Series(types, index=df.index).fillna("missing")
    return df, used_crs, kind


AMBIGUOUS = "dubbelzinnige lokale tijd: deze komt twee keer voor op de dag dat de wintertijd ingaat; geef een UTC-offset"
NONEXISTENT = "niet-bestaande lokale tijd: de klok slaat deze over op de dag dat de zomertijd ingaat; geef een UTC-offset"


def _localize_amsterdam(naive: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Naive Amsterdam wall times -> UTC, with a reason for each time that cannot be placed."""
    reasons = pd.Series([""] * len(naive), index=naive.index, dtype=object)
    ambiguous = naive.dt.tz_localize(TZ_NAME, ambiguous="NaT", nonexistent="shift_forward").isna() & naive.notna()
    nonexistent = naive.dt.tz_localize(
        TZ_NAME, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="NaT").isna() & naive.notna()
    local = naive.dt.tz_localize(TZ_NAME, ambiguous="NaT", nonexistent="NaT")
    reasons[ambiguous] = AMBIGUOUS
    reasons[nonexistent] = NONEXISTENT
    return local.dt.tz_convert("UTC"), reasons


_YEAR_RANGE = (1900, 2200)


def _parse_times(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse to UTC; returns (times, reason-per-row or '' when ok)."""
    n = len(values)
    reasons = pd.Series([""] * n, index=values.index, dtype=object)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_convert("UTC")
        reasons[out.isna()] = "tijdstip ontbreekt"
        return out, reasons
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out, reasons = _localize_amsterdam(values)
        reasons[values.isna()] = "tijdstip ontbreekt"
        return out, reasons

    s = values.astype("string").str.strip()
    missing = s.isna() | (s == "")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    has_offset = s.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False)
    iso_like = s.str.match(r"^\d{4}-\d{2}-\d{2}", na=False)
    # Years far outside any plausible window (0001, 1700, 9999) are refused before parsing: pandas
    # would parse them at another resolution than nanoseconds and overflow on the way in.
    year = pd.to_numeric(s.str.extract(r"^(\d{4})-", expand=False), errors="coerce").fillna(
        pd.to_numeric(s.str.extract(r"^\d{1,2}-\d{1,2}-(\d{4})", expand=False), errors="coerce"))
    absurd = (year < _YEAR_RANGE[0]) | (year > _YEAR_RANGE[1])
    absurd = absurd.fillna(False).astype(bool) & ~missing
    reasons[absurd] = [f"onwaarschijnlijke datum: het jaar {int(y)} ligt buiten {_YEAR_RANGE[0]}-{_YEAR_RANGE[1]}"
                       for y in year[absurd]]
    missing = missing | absurd  # not parsed; the reason above stays

    aware = ~missing & has_offset & iso_like
    if aware.any():
        out[aware] = pd.to_datetime(s[aware], format="ISO8601", utc=True, errors="coerce")
    naive_iso = ~missing & ~has_offset & iso_like
    naive_dutch = ~missing & ~has_offset & s.str.match(r"^\d{1,2}-\d{1,2}-\d{4}", na=False)
    naive_vals = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if naive_iso.any():
        naive_vals[naive_iso] = pd.to_datetime(s[naive_iso], format="ISO8601", errors="coerce")
    if naive_dutch.any():
        parsed = pd.Series(pd.NaT, index=s[naive_dutch].index, dtype="datetime64[ns]")
        for fmt in ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y"):
            todo = parsed.isna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(s[naive_dutch][todo], format=fmt, errors="coerce")
        naive_vals[naive_dutch] = parsed
    naive = naive_iso | naive_dutch
    if naive.any():
        parsed_ok = naive & naive_vals.notna()
        local, why = _localize_amsterdam(naive_vals[parsed_ok])
        out[parsed_ok] = local
        reasons[parsed_ok] = why
    reasons[missing & ~absurd] = "tijdstip ontbreekt"
    bad = ~missing & out.isna() & (reasons == "")
    reasons[bad] = "geen geldige datum/tijd (gebruik ISO 8601, bijvoorbeeld 2025-03-01T21:30:00+01:00, of DD-MM-JJJJ UU:MM)"
    return out, reasons


CONTROL = "stuurteken (zoals NUL) in de tekst"
# C0 controls and DEL, the C1 controls, and the Unicode line/paragraph separators; a
# description may keep tab, newline and carriage return.
_CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL_ALL_RE = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"


def _has_control(values: pd.Series, allow_newlines: bool = False) -> np.ndarray:
    pattern = _CONTROL_RE if allow_newlines else _CONTROL_ALL_RE
    return values.astype("string").str.contains(pattern, regex=True, na=False).to_numpy(dtype=bool)


def _visible(text: str) -> str:
    return str(text).encode("unicode_escape").decode("ascii")[:60]


def read_incidents(
    path: str | Path,
    crs: str | None = None,
    source: str | None = None,
    labels: Mapping[str, str] | None = None,
    margin_m: float = DEFAULT_MARGIN_M,
    earliest: date = DEFAULT_EARLIEST,
    future_days: float = DEFAULT_FUTURE_DAYS,
    now: pd.Timestamp | None = None,
    max_rows: int | None = None,
    display_name: str | None = None,
) -> ReadResult:
    """Read and validate an incident file.

    Parameters
    ----------
    path : the file (.csv, .geojson/.json, .gpkg, .parquet).
    crs : CRS of the coordinates when the file does not declare one (CSV x/y default: EPSG:28992;
        lat/lon columns are WGS84). A file that declares a different CRS is refused.
    source : the source name that makes ids unique; default the file's ``source`` column or stem.
    labels : source label -> category table (default :func:`label_table`).
    margin_m : points up to this far outside every buurt go to the nearest one; farther are refused.
    earliest, future_days, now : plausible times lie in ``[earliest, now + future_days]``; others
        are refused row by row (``now`` defaults to the clock).
    max_rows : refuse a file with more records (read from its metadata, before the rows are read).
    display_name : the file's name in messages (an upload is stored under a temporary name).

    Returns
    -------
    ReadResult with columns ``ext_id, source, occurred_at (UTC), category, x, y, buurt,
    description, row`` for the valid rows, and one :class:`RowError` per broken rule.
    """
    path = Path(path)
    name = display_name or path.name
    labels = labels if labels is not None else label_table()
    df, used_crs, kind = _read_raw(path, crs, name, max_rows)
    if max_rows is not None and len(df) > max_rows:
        raise TooLargeError(f"{name}: {len(df)} rijen; de grens is {max_rows} rijen per bestand (splits het bestand)")
    n = len(df)
    cols = {str(c).strip().lower(): c for c in df.columns}
    rows = np.arange(1, n + 1)
    errors: list[RowError] = []

    def add_errors(mask: np.ndarray, fieldname: str, reason, values) -> None:
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        # ``values`` may be a callable so that formatting a million values is only paid on errors.
        vals = np.asarray(values() if callable(values) else values, dtype=object)
        reasons = np.asarray(reason, dtype=object) if not isinstance(reason, str) else None
        for i in idx:
            v = vals[i]
            errors.append(RowError(name, int(rows[i]), fieldname,
                                   str(reasons[i]) if reasons is not None else reason,
                                   "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)))

    # --- required columns -------------------------------------------------------------------
    id_col, time_col, cat_col = _pick(cols, _ID_COLS), _pick(cols, _TIME_COLS), _pick(cols, _CAT_COLS)
    missing_cols = [label for label, c in (("id", id_col), ("occurred_at", time_col), ("category", cat_col)) if c is None]
    if kind == "CSV":
        x_col, y_col = _pick(cols, _X_COLS), _pick(cols, _Y_COLS)
        lat_col, lon_col = _pick(cols, _LAT_COLS), _pick(cols, _LON_COLS)
        if x_col and y_col:
            xs = pd.to_numeric(df[x_col].str.replace(",", ".", regex=False), errors="coerce")
            ys = pd.to_numeric(df[y_col].str.replace(",", ".", regex=False), errors="coerce")
            used_crs = crs or RD_NEW
            raw_x, raw_y = df[x_col], df[y_col]
            fx, fy = "x", "y"
        elif lat_col and lon_col:
            if crs and pyproj.CRS(crs) != pyproj.CRS(WGS84):
                raise VeiligError(f"{name}: kolommen lat/lon zijn WGS84 (EPSG:4326), maar --crs zegt {crs}")
            xs = pd.to_numeric(df[lon_col].str.replace(",", ".", regex=False), errors="coerce")
            ys = pd.to_numeric(df[lat_col].str.replace(",", ".", regex=False), errors="coerce")
            used_crs = WGS84
            raw_x, raw_y = df[lon_col], df[lat_col]
            fx, fy = "lon", "lat"
        else:
            missing_cols.append("x/y (RD New) of lat/lon (WGS84)")
    else:
        xs, ys = df["__x"].astype(float), df["__y"].astype(float)
        raw_x = raw_y = df["__geomtype"]
        fx = fy = "geometry"
    if missing_cols:
        raise VeiligError(
            f"{name}: ontbrekende kolom(men) {', '.join(missing_cols)}; gevonden: {', '.join(map(str, df.columns[:20]))}"
        )

    # --- id: present and unique within the file ------------------------------------------------
    ids = df[id_col].astype("string").str.strip()
    id_missing = (ids.isna() | (ids == "")).to_numpy()
    add_errors(id_missing, "id", "id ontbreekt", ids.fillna(""))
    dup = ids.duplicated(keep="first").to_numpy() & ~id_missing
    if dup.any():
        first_row = pd.Series(rows, index=df.index).groupby(ids.values).transform("min").to_numpy()
        add_errors(dup, "id", [f"dubbel id: staat ook op rij {r}" for r in first_row], ids)
    too_long = (ids.str.len().fillna(0) > 200).to_numpy()
    add_errors(too_long, "id", "id langer dan 200 tekens", lambda: ids.str.slice(0, 60))
    add_errors(_has_control(ids) & ~too_long, "id", CONTROL, lambda: ids.map(_visible, na_action="ignore"))

    # --- time ---------------------------------------------------------------------------------
    times, treasons = _parse_times(df[time_col])
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    lo = pd.Timestamp(earliest).tz_localize(TZ_NAME).tz_convert("UTC")
    hi = now_ts + pd.Timedelta(days=future_days)
    ok_time = (treasons == "") & times.notna()
    early = ok_time & (times < lo)
    late = ok_time & (times > hi)
    treasons = treasons.copy()
    treasons[early] = f"onwaarschijnlijke datum: vóór {earliest.isoformat()} (instelling VEILIG_IMPORT_EARLIEST)"
    treasons[late] = (f"onwaarschijnlijke datum: meer dan {nl_number(future_days)} dag(en) in de toekomst "
                      "(instelling VEILIG_IMPORT_FUTURE_DAYS)")
    tbad = (treasons != "").to_numpy()
    add_errors(tbad, "occurred_at", treasons.to_numpy(), lambda: df[time_col].astype(str))

    # --- category -----------------------------------------------------------------------------
    cats = map_labels(df[cat_col], labels)
    cbad = cats.isna().to_numpy()
    add_errors(cbad, "category", f"onbekende categorie; verwacht een van {', '.join(CATEGORIES)} "
               "of een label uit de categorietabel", lambda: df[cat_col].astype(str))

    # --- location -----------------------------------------------------------------------------
    x = xs.to_numpy(dtype=float)
    y = ys.to_numpy(dtype=float)
    coord_bad = ~(np.isfinite(x) & np.isfinite(y))
    if kind == "CSV":
        add_errors(coord_bad, f"{fx}/{fy}", "coördinaat ontbreekt of is geen getal",
                   lambda: (raw_x.astype(str) + " " + raw_y.astype(str)).to_numpy())
    else:
        add_errors(coord_bad, "geometry", "geometry moet een niet-leeg Point zijn", raw_x)
    if known_crs(used_crs) is None:
        raise VeiligError(f"{name}: het CRS {str(used_crs)[:80]!r} is geen bekend CRS met een EPSG-code "
                          "dat Zoetermeer dekt")
    src_crs = known_crs(used_crs)
    if src_crs.is_geographic and n:
        # Latitude beyond +-90 or longitude beyond +-180 is no place on earth; PROJ would give inf.
        lon_bad = ~coord_bad & (np.abs(x) > 180)
        lat_bad = ~coord_bad & (np.abs(y) > 90)
        out_of_range = lon_bad | lat_bad
        add_errors(out_of_range, f"{fx}/{fy}" if kind == "CSV" else "geometry",
                   "coördinaat buiten bereik (breedtegraad -90..90, lengtegraad -180..180)",
                   lambda: [f"{a} {b}" for a, b in zip(xs.to_numpy(float), ys.to_numpy(float))])
        coord_bad = coord_bad | out_of_range
    if src_crs != pyproj.CRS(RD_NEW) and n:
        tr = pyproj.Transformer.from_crs(src_crs, RD_NEW, always_xy=True)
        ok = ~coord_bad
        x = x.copy(); y = y.copy()
        try:
            x[ok], y[ok] = tr.transform(x[ok], y[ok])
        except pyproj.exceptions.ProjError as exc:
            raise VeiligError(f"{name}: coördinaten kunnen niet worden omgezet van {used_crs} naar RD New ({exc})") from exc
        lost = ok & ~(np.isfinite(x) & np.isfinite(y))
        add_errors(lost, "location", f"coördinaat kan niet worden omgezet van {used_crs} naar RD New",
                   lambda: [f"{a} {b}" for a, b in zip(xs.to_numpy(float), ys.to_numpy(float))])
        coord_bad = coord_bad | lost
    minx, miny, maxx, maxy = RD_BOUNDS
    outside_rd = ~coord_bad & ~((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
    buurt, dist = assign_buurt(np.where(coord_bad, np.nan, x), np.where(coord_bad, np.nan, y), margin_m=margin_m)
    far = ~coord_bad & (buurt == None)  # noqa: E711  (object array)
    if far.any():
        km = np.round(dist[far] / 1000.0, 1)
        reasons = np.empty(n, dtype=object)
        reasons[far] = [f"locatie buiten Zoetermeer: {nl_number(d, 1)} km van de dichtstbijzijnde buurt "
                        f"(grens {nl_number(margin_m, 0)} m; controleer het CRS, nu {used_crs})" for d in km]
        reasons[far & outside_rd] = (f"locatie buiten Nederland (RD New); controleer het CRS, nu {used_crs}")
        add_errors(far, "location", reasons,
                   lambda: [f"{a:.1f} {b:.1f}" for a, b in zip(xs.to_numpy(float), ys.to_numpy(float))])

    # --- source and description ---------------------------------------------------------------
    src_col = cols.get("source")
    if source:
        src = pd.Series(source, index=df.index, dtype="string")
    elif src_col is not None:
        src = df[src_col].astype("string").str.strip().fillna("").replace("", path.stem)
    else:
        src = pd.Series(path.stem, index=df.index, dtype="string")
    desc_col = _pick(cols, _DESC_COLS)
    desc = df[desc_col].astype("string") if desc_col else pd.Series(pd.NA, index=df.index, dtype="string")
    desc = desc.where(desc.str.strip() != "", pd.NA) if desc_col else desc
    src_long = (src.str.len().fillna(0) > MAX_SOURCE).to_numpy()
    add_errors(src_long, "source", f"source langer dan {MAX_SOURCE} tekens", lambda: src.str.slice(0, 60))
    add_errors(_has_control(src) & ~src_long, "source", CONTROL, lambda: src.map(_visible, na_action="ignore"))
    desc_long = (desc.str.len().fillna(0) > MAX_DESCRIPTION).to_numpy()
    # The description is personal data: the report names the rule, never echoes the text.
    add_errors(desc_long, "description", f"description langer dan {MAX_DESCRIPTION} tekens", lambda: [""] * n)
    add_errors(_has_control(desc, allow_newlines=True) & ~desc_long, "description", CONTROL, lambda: [""] * n)

    bad_rows = np.zeros(n, dtype=bool)
    for e in errors:
        bad_rows[e.row - 1] = True
    keep = ~bad_rows
    valid = pd.DataFrame({
        "row": rows[keep],
        "ext_id": ids[keep].astype(str).to_numpy(),
        "source": src[keep].astype(str).to_numpy(),
        "occurred_at": times[keep].array if n else times.array,
        "category": cats[keep].astype(str).to_numpy(),
        "x": x[keep],
        "y": y[keep],
        "buurt": buurt[keep].astype(str) if n else buurt,
        "description": desc[keep].to_numpy(dtype=object),
    })
    valid["occurred_at"] = pd.to_datetime(valid["occurred_at"], utc=True)
    errors.sort(key=lambda e: (e.row, e.field))
    return ReadResult(file=name, n_rows=n, valid=valid, errors=errors)


def write_incidents(df: pd.DataFrame, path: str | Path) -> None:
    """Write incidents (as from :func:`veilig.geo.demo.generate_incidents`) to CSV, GeoPackage or GeoParquet.

    CSV: x/y in RD New with 0.1 m, ISO 8601 times with their UTC offset; byte-identical for equal input.
    GeoPackage and GeoParquet carry EPSG:28992 and a point geometry.
    """
    import geopandas as gpd

    path = Path(path)
    suffix = path.suffix.lower()
    out = df.copy()
    if suffix != ".parquet":
        # CSV and GeoPackage carry ISO 8601 text with the local UTC offset; Parquet a tz-aware timestamp.
        out["occurred_at"] = out["occurred_at"].map(lambda t: t.isoformat())
    if suffix == ".csv":
        out.to_csv(path, index=False, float_format="%.1f", lineterminator="\n")
        return
    gdf = gpd.GeoDataFrame(out.drop(columns=["x", "y"]),
                           geometry=gpd.points_from_xy(df["x"], df["y"]), crs=RD_NEW)
    if suffix == ".gpkg":
        gdf.to_file(path, driver="GPKG", layer="incidents", engine="pyogrio")
    elif suffix in (".parquet", ".geoparquet"):
        gdf.to_parquet(path, index=False)
    else:
        raise VeiligError(f"{path.name}: schrijf naar .csv, .gpkg of .parquet")
