"""The synthetic data set: deterministic, inside Zoetermeer, Zoetermeer-like volumes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from veilig.geo.demo import PLANTED_CENTRES, generate_incidents
from veilig.geo.neighbourhoods import assign_buurt, load_buurten

from helpers import run_cli


def test_demo_cli_twice_gives_byte_identical_files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        proc = run_cli("demo", "--seed", "1", "--incidents", "5000", "--out", str(path))
        assert proc.returncode == 0, proc.stderr
    assert a.read_bytes() == b.read_bytes()
    df = pd.read_csv(a)
    assert len(df) == 5000
    assert df["id"].is_unique
    codes, dist = assign_buurt(df["x"].to_numpy(), df["y"].to_numpy())
    # Every point lies inside a buurt polygon (distance 0), not merely within the margin.
    assert (dist == 0).all()
    assert set(codes) <= set(load_buurten()["statcode"])


def test_different_seeds_give_different_data():
    a = generate_incidents(1, 2000)
    b = generate_incidents(2, 2000)
    assert not np.allclose(a["x"].to_numpy(), b["x"].to_numpy())


def test_default_three_year_demo_has_realistic_yearly_burglary_counts():
    df = generate_incidents(1, 15000)  # the default size for 2023-2025
    burglary = df[df["category"].isin(["woninginbraak", "inbraak_schuur"])]
    per_year = burglary["occurred_at"].dt.year.value_counts()
    assert sorted(per_year.index) == [2023, 2024, 2025]
    assert per_year.between(90, 250).all(), per_year.to_dict()
    homes = df[df["category"] == "woninginbraak"]["occurred_at"].dt.year.value_counts()
    assert homes.between(90, 180).all(), homes.to_dict()


def test_demo_times_lie_in_the_period_and_are_amsterdam_local():
    df = generate_incidents(3, 3000, date(2024, 3, 1), date(2024, 11, 30))
    local = df["occurred_at"]
    assert str(local.dt.tz) == "Europe/Amsterdam"
    assert local.min() >= pd.Timestamp("2024-03-01", tz="Europe/Amsterdam")
    assert local.max() < pd.Timestamp("2024-12-01", tz="Europe/Amsterdam")


def test_planted_drug_centres_are_dense_in_the_demo():
    df = generate_incidents(1, 20000)
    drugs = df[df["category"] == "drugs"]
    for cx, cy in PLANTED_CENTRES["drugs"]:
        near = np.hypot(drugs["x"] - cx, drugs["y"] - cy) < 200
        # A 200 m disc is ~0.3 % of the city but holds a large share of the drug incidents.
        assert near.mean() > 0.10


def test_burglary_follows_near_repeat_bursts():
    """Knox test: burglary pairs close in space (<300 m) are close in time (<=21 days) more often
    than with the times shuffled (Monte Carlo, 19 shuffles: p = 0.05)."""
    df = generate_incidents(1, 30000)
    b = df[df["category"].isin(["woninginbraak", "inbraak_schuur"])].reset_index(drop=True)
    xy = b[["x", "y"]].to_numpy()
    t = (b["occurred_at"] - pd.Timestamp("2020-01-01", tz="UTC")).dt.total_seconds().to_numpy() / 86400
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    upper = np.triu(np.ones_like(d, dtype=bool), k=1)
    close_space = (d < 300) & upper

    def knox(times):
        return int((np.abs(times[:, None] - times[None, :])[close_space] <= 21).sum())

    observed = knox(t)
    rng = np.random.default_rng(0)
    shuffled = [knox(rng.permutation(t)) for _ in range(19)]
    assert observed > max(shuffled)
    assert observed > 1.2 * np.mean(shuffled)
