"""Disclosure attacks on the emerging hot spots and the near-repeat outputs, as a hostile planner would try them.

The same attacks as :mod:`test_attacks_disclosure` (differencing two periods, a total minus the
visible cells, least squares over every figure of several queries), on ``/api/v1/emerging`` (issue
16) and ``/api/v1/nearrepeat`` with its zones (issue 11). Each attack is also run on the analyst's
exact figures, to show it is a real attack there: a test that passes for the planner is not one
that cannot fail. The real application over the demo data, on SQLite and on PostgreSQL, with a
fixed disclosure secret (the perturbation, and so every figure, is reproducible).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from test_attacks_disclosure import DEMO_END, LAST_YEAR, THRESHOLD, get, months, service  # noqa: F401 (fixture)

from veilig.dates import today_local

QUARTERS = [(date(LAST_YEAR, 3 * q + 1, 1), list(months(LAST_YEAR))[3 * q + 2][1]) for q in range(4)]
YEAR = (date(LAST_YEAR, 1, 1), date(LAST_YEAR, 12, 31))


def emerging(client, tokens, role, category, start, end, step="month", status=200):
    period = "" if start is None else f"&start={start}&end={end}"
    q = f"/api/v1/emerging?category={category}{period}&step={step}&locations=buurt&series=true"
    body = get(client, tokens, role, q, status=status)
    if status != 200:
        return body
    return body, {f["properties"]["location_id"]: f["properties"] for f in body["features"]}


# ---------------------------------------------------------------- emerging: what is published


def test_emerging_counts_are_perturbed_like_every_other_output_and_hidden_below_5(service):
    client, tokens, _ = service
    body, pub = emerging(client, tokens, "planner", "overlast_jeugd", *YEAR)
    _, true = emerging(client, tokens, "analyst", "overlast_jeugd", *YEAR)
    shown = perturbed = hidden = 0
    for code, p in pub.items():
        t = true[code]
        # Nothing a least-squares or a margin could start from.
        for key in ("trend_z", "series_z", "gi_z", "gi_p", "expected"):
            assert key not in p
        for c, ct in zip(p["series_counts"], t["series_counts"], strict=True):
            if ct == 0:
                assert c == 0  # a true zero stays zero
            elif c is None:
                hidden += 1
                assert ct < THRESHOLD + 2
            else:
                assert c >= THRESHOLD and abs(c - ct) <= 2
                shown += 1
                perturbed += int(c != ct)
        if None in p["series_counts"]:
            # The location's total minus its visible months would be the hidden one; so would
            # the ties and order of a count trend.
            assert p["n_incidents"] is None and p["count_trend_tau"] is None and p["count_trend_p"] is None
        else:
            assert p["n_incidents"] is not None
        assert p["pattern"] == t["pattern"] and p["series_classes"] == t["series_classes"]  # classes stay
    assert hidden >= 20 and shown >= 20 and perturbed >= 5
    assert body["metadata"]["n_incidents"] is None and body["metadata"]["n_outside"] is None
    assert not any(ch.isdigit() for m in body["metadata"]["messages"] for ch in m)

    # The same records give the same published value everywhere: a buurt's month here equals
    # that buurt's count of the month in /neighbourhoods/stats (the same cell key, the same noise).
    first, last = list(months(LAST_YEAR))[4]
    stats = get(client, tokens, "planner", f"/api/v1/neighbourhoods/stats?category=overlast_jeugd"
                                           f"&start={first}&end={last}")
    assert {b["statcode"]: b["n_incidents"] for b in stats["buurten"]} == {
        code: p["series_counts"][4] for code, p in pub.items()}
    # Analysts keep the exact figures: the series add up to the totals, the z-series is there.
    _, analyst = emerging(client, tokens, "analyst", "overlast_jeugd", *YEAR)
    assert all(sum(t["series_counts"]) == t["n_incidents"] and "series_z" in t for t in analyst.values())


def test_the_location_total_minus_the_visible_months_gives_nothing_back(service):
    client, tokens, _ = service
    attacked = 0
    for category in ("drugs", "woninginbraak"):
        _, pub = emerging(client, tokens, "planner", category, *QUARTERS[1])
        _, true = emerging(client, tokens, "analyst", category, *QUARTERS[1])
        for code, p in pub.items():
            hidden = [i for i, c in enumerate(p["series_counts"]) if c is None]
            if not hidden:
                continue
            attacked += 1
            assert p["n_incidents"] is None
            # For the analyst the attack is exact.
            t = true[code]["series_counts"]
            visible = sum(t[i] for i in range(3) if i not in hidden)
            assert true[code]["n_incidents"] - visible == sum(t[i] for i in hidden)
    assert attacked >= 10


def test_differencing_two_overlapping_emerging_periods_is_refused(service):
    client, tokens, _ = service
    for start, end in ((f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-04-30"), (f"{LAST_YEAR}-02-01", f"{LAST_YEAR}-12-31"),
                       (f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-12-15"), (f"{LAST_YEAR}-03-01", f"{LAST_YEAR}-05-31")):
        body = emerging(client, tokens, "planner", "drugs", start, end, status=400)
        assert "start/end" in body["detail"] and "kalendermaand" in body["detail"]
    # For the analyst [Jan, Apr] minus [Jan, Mar] is April in every buurt, exactly.
    _, four = emerging(client, tokens, "analyst", "drugs", f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-04-30")
    _, three = emerging(client, tokens, "analyst", "drugs", f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-03-31")
    assert all(four[c]["n_incidents"] - three[c]["n_incidents"] == four[c]["series_counts"][3] for c in four)
    # Without a period a planner gets whole calendar years that have ended (no empty future months).
    default, _ = emerging(client, tokens, "planner", "drugs", None, None)
    assert default["metadata"]["start"].endswith("-01-01") and default["metadata"]["end"].endswith("-12-31")
    assert int(default["metadata"]["end"][:4]) < today_local().year


def _identifiable(a: np.ndarray, i: int) -> bool:
    """Whether unknown ``i`` is fixed by the equations ``a`` (its unit vector in their row space)."""
    e = np.zeros(a.shape[1])
    e[i] = 1.0
    return bool(np.allclose(np.linalg.pinv(a) @ a @ e, e, atol=1e-8))


def test_least_squares_over_months_quarters_and_totals_does_not_rebuild_hidden_months(service):
    """Every figure of six planner queries (the year in months, the year in quarters, each quarter
    in months) as linear equations in a buurt's twelve monthly counts, solved by least squares."""
    client, tokens, _ = service
    hits = tries = exact = 0
    hidden_truths: list[int] = []
    for category in ("overlast_jeugd", "drugs", "melding_wijkzorg", "woninginbraak"):
        queries = [(YEAR, "month"), (YEAR, "quarter")] + [(q, "month") for q in QUARTERS]
        planner, analyst = [], []
        for (start, end), step in queries:
            planner.append((start, step, emerging(client, tokens, "planner", category, start, end, step)[1]))
            analyst.append(emerging(client, tokens, "analyst", category, start, end, step)[1])
        for code in planner[0][2]:
            rows, pub, ex = [], [], []
            for (start, step, p), a in zip(planner, analyst, strict=True):
                first = start.month - 1
                width = 3 if step == "quarter" else 1
                for k, (c, ct) in enumerate(zip(p[code]["series_counts"], a[code]["series_counts"], strict=True)):
                    if c is not None:
                        row = np.zeros(12)
                        row[first + k * width: first + (k + 1) * width] = 1
                        rows.append(row), pub.append(c), ex.append(ct)
                if p[code]["n_incidents"] is not None:
                    n_steps = len(p[code]["series_counts"]) * width
                    row = np.zeros(12)
                    row[first: first + n_steps] = 1
                    rows.append(row), pub.append(p[code]["n_incidents"]), ex.append(a[code]["n_incidents"])
            truth = np.array(analyst[0][code]["series_counts"])
            hidden = [m for m, c in enumerate(planner[0][2][code]["series_counts"]) if c is None]
            if not hidden or not rows:
                continue
            a_mat = np.array(rows)
            guess_pub = np.linalg.lstsq(a_mat, np.array(pub, dtype=float), rcond=None)[0]
            guess_exact = np.linalg.lstsq(a_mat, np.array(ex, dtype=float), rcond=None)[0]
            for m in hidden:
                if not _identifiable(a_mat, m):
                    continue
                tries += 1
                hits += int(min(max(round(guess_pub[m]), 1), THRESHOLD - 1) == truth[m])
                exact += int(round(guess_exact[m]) == truth[m])
                hidden_truths.append(int(truth[m]))
    # The baseline: always guessing the commonest hidden count (known only in hindsight).
    prior_hits = max(hidden_truths.count(v) for v in set(hidden_truths)) if hidden_truths else 0
    print(f"emerging least squares: {hits}/{tries} recovered, exact figures {exact}/{tries}, "
          f"commonest count: {prior_hits} (hidden counts {sorted(hidden_truths)})")
    assert tries >= 15, tries
    assert exact == tries  # without the perturbation the attack is exact
    assert hits / tries <= 0.5
    assert hits <= prior_hits + 0.15 * tries


# --------------------------------------------------------------------- near repeats: Knox


def knox(client, tokens, role, start, end, category="burglary"):
    return get(client, tokens, role, f"/api/v1/nearrepeat?category={category}&start={start}&end={end}")


def test_knox_pair_counts_are_perturbed_and_no_total_or_margin_gives_a_hidden_one_back(service):
    client, tokens, _ = service
    tries = hits = margin_exact = 0
    for first, last in list(months(LAST_YEAR))[::2] + QUARTERS[:2]:
        pub = knox(client, tokens, "planner", first, last)
        true = knox(client, tokens, "analyst", first, last)
        obs = np.array([r["observed"] for r in true["rows"]])
        shown = [r["observed"] for r in pub["rows"]]
        hidden = np.array([c is None for c in shown])
        assert pub["n_events"] is None and pub["n_pairs"] is None
        for r, t in zip(pub["rows"], true["rows"], strict=True):
            if r["observed"] not in (None, 0):
                assert r["observed"] >= THRESHOLD and abs(r["observed"] - t["observed"]) <= 2
            if t["observed"] == 0:
                assert r["observed"] == 0
        if not hidden.any():
            continue
        # expected sums per row and per column to the observed pairs: gone with a hidden cell.
        assert all(r["expected"] is None and r["knox_ratio"] is None for r in pub["rows"])
        assert pub["summary"] is None
        # Total minus visible, even for an attacker who knows the exact number of events n.
        n = true["n_events"]
        guess = n * (n - 1) // 2 - sum(c for c in shown if c is not None)
        tries += 1
        hits += int(guess == obs[hidden].sum())
        assert n * (n - 1) // 2 - obs[~hidden].sum() == obs[hidden].sum()  # exact for the analyst
        # The analyst's expected margins give each row's hidden cells back.
        rows, cols = true["spatial_bands"] + 2, true["temporal_bands"] + 1
        e = np.array([r["expected"] for r in true["rows"]]).reshape(rows, cols)
        o, h = obs.reshape(rows, cols), hidden.reshape(rows, cols)
        margin_exact += int(all(round(e[i].sum() - o[i][~h[i]].sum()) == o[i][h[i]].sum() for i in range(rows)))
    print(f"knox total minus visible: {hits}/{tries}")
    assert tries >= 4
    assert margin_exact == tries  # the margin attack is real on full figures
    assert hits <= 0.5 * tries
    # The same records give the same published table.
    assert knox(client, tokens, "planner", *QUARTERS[0]) == knox(client, tokens, "planner", *QUARTERS[0])


def test_knox_for_planners_only_in_aligned_periods_with_the_default_bands(service):
    client, tokens, _ = service
    for start, end in ((f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-01-30"), (f"{LAST_YEAR}-01-01", f"{LAST_YEAR}-02-01")):
        body = get(client, tokens, "planner", f"/api/v1/nearrepeat?category=burglary&start={start}&end={end}",
                   status=400)
        assert "start/end" in body["detail"]
    get(client, tokens, "planner", "/api/v1/nearrepeat?category=burglary&temporal_band=1", status=403)


# ------------------------------------------------------------------- near repeats: zones


def test_alert_zone_counts_are_perturbed_consistently_and_drawn_as_cells(service):
    client, tokens, _ = service
    # The last four weeks of the data (fixed dates, whatever today is).
    seen: dict[str, object] = {}
    analyst_counts = 0
    for back in range(0, 28, 4):
        on = DEMO_END - timedelta(days=back)
        for role in ("planner", "subsidy"):
            zones = get(client, tokens, role, f"/api/v1/nearrepeat/zones?date={on}")
            assert zones["metadata"]["drawn_as"] == "100 m-rastercellen"
            for f in zones["features"]:
                props = f["properties"]
                assert props["kind"] == "zone_cells" and "cell_key" not in props
                n = props["n_incidents"]
                assert n is None or n >= THRESHOLD
                # A zone is the same burglaries on every date it is active (with the same
                # window): the same value.
                key = (props["zone_id"], zones["metadata"]["radius_m"])
                assert seen.setdefault(key, n) == n
        exact = get(client, tokens, "analyst", f"/api/v1/nearrepeat/zones?date={on}")
        analyst_counts += sum(f["properties"]["n_incidents"] for f in exact["features"])
        assert all(f["properties"]["kind"] == "zone" and "cell_key" not in f["properties"]
                   for f in exact["features"])
    assert seen and analyst_counts > 0
