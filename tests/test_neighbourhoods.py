"""Buurten, wijken and the point-to-buurt assignment."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from veilig.geo.neighbourhoods import assign_buurt, load_buurten, load_wijken


def test_zoetermeer_has_26_buurten_in_9_wijken_in_rd_new():
    buurten, wijken = load_buurten(), load_wijken()
    assert len(buurten) == 26 and len(wijken) == 9
    assert buurten.crs.to_epsg() == 28992 and wijken.crs.to_epsg() == 28992
    assert "WK063707" not in set(wijken["statcode"])  # Zoetermeer has no wijk 07 in 2023
    assert wijken.set_index("statcode").loc["WK063709", "statnaam"] == "Buitengebied"


def test_each_buurt_nests_exactly_in_its_wijk():
    buurten, wijken = load_buurten(), load_wijken().set_index("statcode")
    for row in buurten.itertuples():
        wijk = wijken.loc[row.wijkcode, "geometry"]
        assert row.geometry.difference(wijk).area < 1e-6


def test_points_inside_near_and_far():
    buurten = load_buurten()
    dorp = buurten.set_index("statcode").loc["BU06370001", "geometry"]
    inside = dorp.representative_point()
    union = shapely.union_all(buurten.geometry.values)
    # A point 100 m outside the city's outline, and one in Groningen.
    minx, miny, maxx, maxy = union.bounds
    outside_100 = (maxx + 100, (miny + maxy) / 2)
    # pick a y where the outline reaches maxx
    ext = np.asarray(union.exterior.coords) if union.geom_type == "Polygon" else np.vstack(
        [np.asarray(p.exterior.coords) for p in union.geoms])
    ey = ext[np.argmax(ext[:, 0]), 1]
    outside_100 = (maxx + 100, ey)
    codes, dist = assign_buurt(
        np.array([inside.x, outside_100[0], 233_000.0]), np.array([inside.y, outside_100[1], 582_000.0])
    )
    assert codes[0] == "BU06370001" and dist[0] == 0
    assert codes[1] is not None and 99 <= dist[1] <= 101
    assert codes[2] is None and dist[2] > 100_000


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 25), st.floats(0, 1), st.floats(0, 1))
def test_a_point_inside_a_buurt_is_assigned_to_that_buurt(i, u, v):
    buurten = load_buurten()
    poly = buurten.geometry.iloc[i]
    minx, miny, maxx, maxy = poly.bounds
    x, y = minx + u * (maxx - minx), miny + v * (maxy - miny)
    assume(poly.contains(shapely.Point(x, y)))
    codes, dist = assign_buurt(np.array([x]), np.array([y]))
    assert codes[0] == buurten["statcode"].iloc[i]
    assert dist[0] == 0
