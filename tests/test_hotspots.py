"""The hotspot pipeline: the demo's planted drug hotspots are found, the buurt table adds up,
bad input gives a clear message or an empty valid result, and exports are reproducible."""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from datetime import date
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from veilig.errors import VeiligError
from veilig.geo.demo import PLANTED_CENTRES, generate_incidents
from veilig.geo.export import GPKG_LAYERS, geojson_bytes, write_hotspots
from veilig.geo.hotspots import HotspotParams, compute_hotspots
from veilig.geo.neighbourhoods import load_buurten

# The independent references (declared dependencies: a missing one fails, it does not skip).
import esda.getisord as esda_getisord  # noqa: E402
import libpysal  # noqa: E402
from scipy.stats import binom, binomtest, false_discovery_control, norm  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return generate_incidents(seed=3, n=20_000)


@pytest.fixture(scope="module")
def drugs_2025(demo):
    return compute_hotspots(demo, "drugs", date(2025, 1, 1), date(2025, 12, 31))


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inside_points(n, seed=0):
    """``n`` points inside Zoetermeer's buurten."""
    rng = np.random.default_rng(seed)
    union = shapely.union_all(load_buurten().geometry.values)
    minx, miny, maxx, maxy = union.bounds
    xs = rng.uniform(minx, maxx, n * 4)
    ys = rng.uniform(miny, maxy, n * 4)
    ok = shapely.contains_xy(union, xs, ys)
    return xs[ok][:n], ys[ok][:n]


def _cell_id(cell: float, x: float, y: float) -> str:
    """The documented name of the cell holding (x, y): size and south-west corner, the lattice
    anchored at whole multiples of the cell size."""
    return f"{cell:g}mE{math.floor(x / cell) * cell:g}N{math.floor(y / cell) * cell:g}"


@lru_cache(maxsize=2)
def _cells_touching_a_buurt(cell: float) -> dict[str, shapely.Polygon]:
    """Every square of the lattice that touches (shapely ``intersects``) a buurt polygon, by name:
    built here from the buurten, buurt by buurt, without the grid code under test."""
    out = {}
    for poly in load_buurten().geometry.values:
        minx, miny, maxx, maxy = poly.bounds
        for x in np.arange(math.floor(minx / cell) * cell, maxx, cell):
            for y in np.arange(math.floor(miny / cell) * cell, maxy, cell):
                square = shapely.box(x, y, x + cell, y + cell)
                if poly.intersects(square):
                    out[_cell_id(cell, x + cell / 2, y + cell / 2)] = square
    return out


def _frame(xs, ys, days, category="drugs"):
    return pd.DataFrame({
        "id": [f"T-{i}" for i in range(len(xs))],
        "occurred_at": pd.DatetimeIndex([pd.Timestamp(d) + pd.Timedelta(hours=12) for d in days]).tz_localize(
            "Europe/Amsterdam"),
        "category": category, "x": xs, "y": ys, "source": "test",
    })


def test_planted_drug_centres_come_out_as_significant_clusters_and_as_99_percent_hot_cells(drugs_2025):
    result = drugs_2025
    cell = result.params.cell
    hot_ids = set(result.grid.loc[result.grid["gi_class"] == 3, "cell_id"])
    assert result.synthetic
    for cx, cy in PLANTED_CENTRES["drugs"]:
        centre = shapely.Point(cx, cy)
        holding = result.clusters[result.clusters.geometry.covers(centre)]
        assert len(holding) == 1, (cx, cy)
        assert holding["p_value"].iloc[0] <= 0.05 and holding["ratio"].iloc[0] > 1
        assert _cell_id(cell, cx, cy) in hot_ids, (cx, cy)
    assert (result.clusters["cluster_method"] == "significante Gi*-cellen (95 %, FDR)").all()
    assert (result.clusters["null_model"] == "uniform over the municipality").all()


def test_raw_clustering_finds_the_planted_centres_as_the_largest_dbscan_clusters(demo):
    raw = compute_hotspots(demo, "drugs", date(2025, 1, 1), date(2025, 12, 31), params=HotspotParams(clusters="raw"))
    top = raw.clusters.head(3).geometry
    assert all(top.contains(shapely.Point(c)).any() for c in PLANTED_CENTRES["drugs"])
    assert raw.clusters["cluster_method"].str.startswith("ruwe clustering (dbscan, eps 150 m").all()
    assert raw.clusters["p_value"].isna().all()  # a post-selection p would not be calibrated
    np.testing.assert_array_equal(raw.clusters["observed"], raw.clusters["n_incidents"])
    assert (raw.clusters["expected"] > 0).all()


def test_cluster_fields_are_complete_and_consistent(drugs_2025):
    c = drugs_2025.clusters
    assert list(c["cluster_id"]) == list(range(1, len(c) + 1))
    assert (np.diff(c["n_incidents"]) <= 0).all()
    assert (c["kind"] == "cluster").all() and (c["category"] == "drugs").all()
    np.testing.assert_allclose(c["area_m2"], c.geometry.area, rtol=1e-6)
    np.testing.assert_allclose(c["density_per_km2"], c["n_incidents"] / (c["area_m2"] / 1e6), rtol=1e-3)
    assert (c.geometry.is_valid & ~c.geometry.is_empty).all()
    for r in c.itertuples():
        assert "2025-01-01" <= r.first_date <= r.last_date <= "2025-12-31"
        assert list(r.buurt_shares) == r.buurten and sum(r.buurt_shares.values()) == pytest.approx(1, abs=1e-5)
    pts = drugs_2025.points
    np.testing.assert_array_equal(np.bincount(pts["cluster_id"], minlength=len(c) + 1)[1:], c["n_incidents"])


def test_buurt_table_adds_up(drugs_2025):
    b = drugs_2025.buurten
    assert len(b) == 26 and b["statcode"].is_monotonic_increasing
    assert b["n_incidents"].sum() == drugs_2025.n_incidents
    assert b["share"].sum() == pytest.approx(1.0, abs=1e-5)
    pts = drugs_2025.points
    for r in b.itertuples():
        mine = pts[pts["buurt"] == r.statcode]
        assert r.n_clusters == mine.loc[mine["cluster_id"] > 0, "cluster_id"].nunique()
        if r.n_incidents:
            assert r.share_in_clusters == pytest.approx((mine["cluster_id"] > 0).mean(), abs=1e-6)
    assert (b["null_model"] == "uniform over the municipality").all()
    assert (b.loc[b["statnaam"] == "Stadscentrum", "gi_z"] > 1.96).all()
    assert (b.loc[b["statnaam"] == "Stadscentrum", "gi_class"] == 3).all()


def _reference_buurt_gi(b):
    """Gi* on the buurten from the references, not from veilig.geo.gistar: the z of esda's G_Local
    on libpysal's queen contiguity (binary, the buurt itself included); the class from the exact
    binomial test of each window's count (the window's share of the area as the null), with
    scipy's Benjamini-Hochberg. Also the classes without BH (to show the data can tell them apart)."""
    counts = b["n_incidents"].to_numpy()
    graph = libpysal.graph.Graph.build_contiguity(b, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = esda_getisord.G_Local(counts.astype(float), graph, transform="B", star=True, permutations=0).Zs
    window = (graph.sparse != 0).astype(int).toarray() + np.eye(len(b), dtype=int)
    observed = window @ counts
    share = window @ (b.geometry.area.to_numpy() / b.geometry.area.sum())
    n = int(counts.sum())
    hot = np.where(observed > 0, binom.sf(observed - 1, n, share), 1.0)
    cold = binom.cdf(observed, n, share)
    p = np.array([binomtest(int(k), n, w).pvalue for k, w in zip(observed, share)])  # exact two-sided
    direction = np.where(hot <= cold, 1, -1)

    def classes(q):
        return direction * ((q <= 0.10).astype(int) + (q <= 0.05) + (q <= 0.01))

    return z, observed, classes(false_discovery_control(p, method="bh")), classes(p)


@pytest.mark.parametrize("start, end", [(date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 1, 1), date(2025, 3, 31))])
def test_buurt_gi_star_equals_esda_and_the_exact_binomial_reference(demo, start, end):
    b = compute_hotspots(demo, "drugs", start, end).buurten
    z, observed, classes, unadjusted = _reference_buurt_gi(b)
    np.testing.assert_allclose(b["gi_z"], z, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b["gi_p_norm"], 2 * norm.sf(np.abs(z)), rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(b["observed"], observed)
    np.testing.assert_array_equal(b["gi_class"], classes)
    assert (classes > 0).any() and (classes == 0).any()  # not a comparison of zeros
    if end.month == 3:  # the first quarter: fewer incidents, where the FDR step changes classes
        assert (classes != unadjusted).any()


def test_change_is_against_the_previous_period_of_equal_length():
    buurten = load_buurten()
    a, b = buurten.geometry.iloc[0].representative_point(), buurten.geometry.iloc[5].representative_point()
    code_a, code_b = buurten["statcode"].iloc[0], buurten["statcode"].iloc[5]
    # Period 2025-01-01..2025-03-31 (90 days): the previous one is 2024-10-03..2024-12-31.
    rows = [(a, "2025-01-01")] * 3 + [(a, "2025-03-31")] + [(b, "2025-02-10")] \
        + [(a, "2024-10-03")] * 2 + [(b, "2024-12-31")] * 5 + [(b, "2024-10-02")] * 7 + [(a, "2025-04-01")] * 4
    df = _frame([p.x for p, _ in rows], [p.y for p, _ in rows], [d for _, d in rows])
    res = compute_hotspots(df, "drugs", "2025-01-01", "2025-03-31")
    assert (res.previous_start, res.previous_end) == (date(2024, 10, 3), date(2024, 12, 31))
    t = res.buurt_table().set_index("statcode")
    assert (t.loc[code_a, "n_incidents"], t.loc[code_a, "n_previous"], t.loc[code_a, "change"]) == (4, 2, 2)
    assert (t.loc[code_b, "n_incidents"], t.loc[code_b, "n_previous"], t.loc[code_b, "change"]) == (1, 5, -4)
    assert t.loc[code_a, "change_pct"] == 100.0 and t.loc[code_b, "change_pct"] == -80.0
    others = t.drop(index=[code_a, code_b])
    assert (others["n_incidents"] == 0).all() and others["change_pct"].isna().all()


def test_rates_per_1000_dwellings_where_statistics_exist(drugs_2025, demo):
    assert drugs_2025.buurten["rate_per_1000_dwellings"].isna().all()
    assert any("geen buurtstatistieken" in m for m in drugs_2025.messages)
    stats = pd.DataFrame({"statcode": ["BU06370002", "BU06370003"], "dwellings": [2000, 0]})
    res = compute_hotspots(demo, "drugs", date(2025, 1, 1), date(2025, 12, 31), stats=stats)
    t = res.buurt_table().set_index("statcode")
    assert t.loc["BU06370002", "rate_per_1000_dwellings"] == pytest.approx(t.loc["BU06370002", "n_incidents"] / 2)
    assert np.isnan(t.loc["BU06370003", "rate_per_1000_dwellings"])  # zero dwellings: no rate, no crash
    assert not any("geen buurtstatistieken" in m for m in res.messages)
    # Dwellings for two buurten only: no null over part of the city; the buurt Gi* stays by area, saying so.
    assert (t["null_model"] == "uniform over the municipality").all()
    assert any("woningaantallen ontbreken voor 24 buurt" in m for m in res.messages)


def test_buurt_is_assigned_when_missing_and_points_outside_zoetermeer_are_left_out():
    xs, ys = _inside_points(30)
    xs = np.append(xs, 155000.0)  # Utrecht
    ys = np.append(ys, 463000.0)
    df = _frame(xs, ys, ["2025-05-05"] * len(xs))
    res = compute_hotspots(df, "drugs")
    assert res.n_incidents == 30 and res.n_outside == 1
    assert any("buiten Zoetermeer" in m for m in res.messages)
    assert res.buurten["n_incidents"].sum() == 30 and res.grid["n_incidents"].sum() == 30
    # Each incident in the cell that holds it (named from its coordinates), every other cell zero.
    cell = res.params.cell
    expected = pd.Series([_cell_id(cell, x, y) for x, y in zip(xs[:30], ys[:30])]).value_counts()
    got = res.grid.set_index("cell_id")["n_incidents"]
    pd.testing.assert_series_equal(got[got > 0].sort_index(), expected.sort_index(), check_names=False)
    assert (res.start, res.end) == (date(2025, 5, 5), date(2025, 5, 5))


def _assert_empty_but_valid(res, tmp_path):
    assert len(res.clusters) == 0 and list(res.clusters.columns)[:3] == ["kind", "cluster_id", "category"]
    # The grid is every cell that touches a buurt, zeros included, each with its square.
    cells = _cells_touching_a_buurt(res.params.cell)
    assert sorted(res.grid["cell_id"]) == sorted(cells)
    assert res.grid["n_incidents"].sum() == res.n_incidents and (res.grid["n_incidents"] > 0).sum() <= res.n_incidents
    assert all(g.equals(cells[c]) for c, g in zip(res.grid["cell_id"], res.grid.geometry))
    assert len(res.buurten) == 26
    fc = json.loads(geojson_bytes(res))
    assert fc["type"] == "FeatureCollection" and {f["properties"]["kind"] for f in fc["features"]} == {"grid", "buurt"}
    write_hotspots(res, tmp_path / "empty.gpkg")
    # The feature layers, then the related table cluster_buurten (cluster, buurt, share).
    assert [name for name, _ in pyogrio.list_layers(tmp_path / "empty.gpkg")] == [*GPKG_LAYERS.values(), "cluster_buurten"]


def test_an_empty_period_gives_an_empty_valid_result_with_a_message(demo, tmp_path):
    res = compute_hotspots(demo, "drugs", date(2030, 1, 1), date(2030, 12, 31))
    assert res.n_incidents == 0 and any("geen incidenten" in m for m in res.messages)
    assert (res.grid["gi_class"] == 0).all() and (res.buurten["gi_z"] == 0).all()
    _assert_empty_but_valid(res, tmp_path)


def test_a_category_without_incidents_gives_an_empty_valid_result(tmp_path):
    xs, ys = _inside_points(50)
    res = compute_hotspots(_frame(xs, ys, ["2025-01-10"] * 50), "burglary")
    assert res.n_incidents == 0 and res.start is None and any("geen incidenten" in m for m in res.messages)
    _assert_empty_but_valid(res, tmp_path)


def test_fewer_incidents_than_min_samples_gives_no_clusters_and_says_why(tmp_path):
    xs, ys = _inside_points(3)
    res = compute_hotspots(_frame(xs, ys, ["2025-01-10"] * 3), "drugs",
                           params=HotspotParams(min_samples=5, clusters="raw"))
    assert res.n_incidents == 3 and any("min_samples" in m for m in res.messages)
    _assert_empty_but_valid(res, tmp_path)


@pytest.mark.parametrize("method", ["dbscan", "hdbscan"])
def test_all_incidents_on_one_spot_make_one_round_cluster(method, tmp_path):
    df = _frame(np.full(40, 93494.0), np.full(40, 452949.0), ["2025-06-01"] * 40)
    sig = compute_hotspots(df, "drugs")
    assert len(sig.clusters) == 1 and sig.clusters["observed"].iloc[0] == 40
    assert sig.clusters.geometry.iloc[0].covers(shapely.Point(93494.0, 452949.0))
    # The outline is the cells whose window (band, chosen from N = 40) holds the spot.
    assert sig.clusters["area_m2"].iloc[0] <= np.pi * (sig.params.band + sig.params.cell) ** 2
    res = compute_hotspots(df, "drugs", params=HotspotParams(method=method, clusters="raw"))
    assert len(res.clusters) == 1 and res.clusters["n_incidents"].iloc[0] == 40
    assert res.clusters.geometry.iloc[0].area == pytest.approx(np.pi * 75.0**2, rel=0.02)
    assert any("één plek" in m for m in res.messages)
    assert res.grid["gi_class"].max() == 3
    # The written file holds that one cluster, with its 40 incidents and its circle, in WGS84.
    fc = json.loads(write_hotspots(res, tmp_path / "spot.geojson").read_text(encoding="utf-8"))
    clusters = [f for f in fc["features"] if f["properties"]["kind"] == "cluster"]
    assert len(clusters) == 1 and clusters[0]["properties"]["n_incidents"] == 40
    circle = gpd.GeoSeries([shapely.from_geojson(json.dumps(clusters[0]["geometry"]))], crs=4326).to_crs(28992)
    assert circle.area.iloc[0] == pytest.approx(np.pi * 75.0**2, rel=0.02)
    assert circle.iloc[0].covers(shapely.Point(93494.0, 452949.0).buffer(70))


@pytest.mark.parametrize("params, name", [
    (dict(cell=0), "cell"), (dict(cell=50_000), "cell"), (dict(cell=float("nan")), "cell"),
    (dict(eps=0), "eps"), (dict(eps=-5), "eps"), (dict(min_samples=0), "min_samples"),
    (dict(min_samples=2.5), "min_samples"), (dict(method="kmeans"), "method"),
    (dict(cell=500, band=300), "band"), (dict(clusters="dbscan"), "clusters"),
])
def test_bad_parameters_are_refused_naming_the_parameter(demo, params, name):
    with pytest.raises(VeiligError, match=f"^{name}"):
        compute_hotspots(demo, "drugs", params=HotspotParams(**params))


def test_bad_category_and_period_are_refused(demo):
    with pytest.raises(VeiligError, match="onbekende categorie"):
        compute_hotspots(demo, "fietsendiefstal")
    with pytest.raises(VeiligError, match="^end"):
        compute_hotspots(demo, "drugs", "2025-02-01", "2025-01-01")
    with pytest.raises(VeiligError, match="^start"):
        compute_hotspots(demo, "drugs", "1 januari")
    with pytest.raises(VeiligError, match="ontbrekende kolom"):
        compute_hotspots(demo.drop(columns="x"), "drugs")
    raw = pd.DataFrame({"occurred_at": ["2025-01-01 10:00", "gisteren"], "category": "drugs",
                        "x": [93494.0, 93494.0], "y": [452949.0, 452949.0]})
    with pytest.raises(VeiligError, match="^occurred_at"):
        compute_hotspots(raw, "drugs")


def test_the_same_input_twice_gives_byte_identical_files_whatever_the_row_order(demo, tmp_path):
    shuffled = demo.sample(frac=1.0, random_state=1)
    digests = []
    for i, df in enumerate((demo, demo, shuffled)):
        res = compute_hotspots(df, "burglary", date(2024, 1, 1), date(2025, 12, 31))
        paths = [write_hotspots(res, tmp_path / f"run{i}.geojson"), write_hotspots(res, tmp_path / f"run{i}.gpkg")]
        digests.append(tuple(_digest(p) for p in paths))
    assert digests[0] == digests[1] == digests[2]


def test_geojson_is_one_wgs84_collection_with_the_fields_of_the_brief(drugs_2025, tmp_path):
    path = write_hotspots(drugs_2025, tmp_path / "h.geojson")
    fc = json.loads(path.read_text(encoding="utf-8"))
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds == sorted(kinds, key=["cluster", "grid", "buurt"].index)
    assert kinds.count("cluster") == len(drugs_2025.clusters) and kinds.count("buurt") == 26
    need = {"cluster": {"cluster_id", "category", "n_incidents", "area_m2", "buurten"},
            "grid": {"n_incidents", "gi_z", "gi_p", "gi_class", "gi_p_norm", "observed", "expected", "ratio",
                     "null_model"},
            "buurt": {"statcode", "statnaam", "n_incidents", "gi_z", "gi_class", "gi_p_norm", "observed", "expected",
                      "ratio", "null_model"}}
    need["cluster"] |= {"observed", "expected", "ratio", "p_value", "null_model"}
    for f in fc["features"]:
        props = f["properties"]
        assert need[props["kind"]] <= set(props)
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        if "gi_class" in props:
            assert props["gi_class"] in range(-3, 4)
    coords = np.array([xy for f in fc["features"] for xy in shapely.get_coordinates(shapely.from_geojson(
        json.dumps(f["geometry"])))])
    assert 4.3 < coords[:, 0].min() and coords[:, 0].max() < 4.6  # longitude of Zoetermeer
    assert 52.0 < coords[:, 1].min() and coords[:, 1].max() < 52.1  # latitude
    assert fc["metadata"]["category"] == "drugs" and fc["metadata"]["synthetic"] is True
    assert fc["metadata"]["null_model"] == "uniform over the municipality"
    assert fc["metadata"]["scale"]["band_chosen"] is True and fc["metadata"]["scale"]["reason"]
    text = path.read_text(encoding="utf-8")
    assert "Synthetisch incident" not in text and "NaN" not in text  # no free text; valid JSON numbers


def test_geopackage_has_one_layer_per_kind_in_rd_new(drugs_2025, tmp_path):
    path = write_hotspots(drugs_2025, tmp_path / "h.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert list(layers) == ["clusters", "grid", "buurten", "cluster_buurten"]
    for kind, layer in GPKG_LAYERS.items():
        info = pyogrio.read_info(path, layer=layer)
        assert info["crs"] == "EPSG:28992"
        assert info["features"] == len(drugs_2025.layers()[kind])
    clusters = pyogrio.read_dataframe(path, layer="clusters")
    assert clusters["buurten"].iloc[0] == ",".join(drugs_2025.clusters["buurten"].iloc[0])
    with pytest.raises(VeiligError, match="out"):
        write_hotspots(drugs_2025, tmp_path / "h.shp")


def test_the_pipeline_on_incidents_loaded_from_the_database_gives_the_same_output(db, demo, tmp_path):
    from veilig.geo.io import write_incidents
    from veilig.storage.incidents import import_incidents_file, load_incidents

    subset = demo[demo["category"].isin(["drugs", "woninginbraak"])].reset_index(drop=True)
    write_incidents(subset, tmp_path / "demo.parquet")
    assert import_incidents_file(db, tmp_path / "demo.parquet").committed
    loaded = load_incidents(db, categories=["drugs"], start=date(2024, 1, 1), end=date(2025, 12, 31))
    from_db = compute_hotspots(loaded, "drugs", date(2025, 1, 1), date(2025, 12, 31))
    direct = compute_hotspots(subset, "drugs", date(2025, 1, 1), date(2025, 12, 31))
    assert geojson_bytes(from_db) == geojson_bytes(direct)


def test_a_selection_of_categories_is_analysed_together(demo):
    group = compute_hotspots(demo, "burglary", date(2025, 1, 1), date(2025, 12, 31))
    chosen = compute_hotspots(demo, ["woninginbraak", "inbraak_schuur"], date(2025, 1, 1), date(2025, 12, 31))
    assert chosen.category == "woninginbraak+inbraak_schuur"
    assert chosen.n_incidents == group.n_incidents
    np.testing.assert_array_equal(chosen.buurten["gi_class"], group.buurten["gi_class"])
    assert chosen.clusters.drop(columns="category").equals(group.clusters.drop(columns="category"))
    with pytest.raises(VeiligError, match="category"):
        compute_hotspots(demo, [])
