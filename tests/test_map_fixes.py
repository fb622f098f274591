"""Map defects found while trying the pages (issue 10, point 6): one test per defect.

Pure tests on the builders' HTML; the tooltip and legend-placement defects, and the attribution
as a user sees it, are in tests/test_browser_map_fixes.py (they need a real browser).
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest

from test_maps import payloads, rhythm_inputs, subsidy_inputs

from veilig.maps.base import TileOptions
from veilig.maps.rhythm import build_rhythm_map
from veilig.maps.subsidy import budget_html, build_subsidy_map


def _legend(html: str) -> str:
    return re.search(r'class="veilig-panel veilig-legend".*?</div>', html, re.DOTALL).group(0)


def test_subsidy_legend_has_no_class_range_that_spans_the_hidden_counts():
    buurten, budget = subsidy_inputs(np.random.default_rng(3))
    n = len(buurten)
    # zeros, hidden (1-4) and shown counts from 5 up: "0 – 5" would claim 1-4 are in the class.
    buurten["burglaries"] = [[0, 2, 5, 5, 6, 9, 12, 20, 31, 44][i % 10] for i in range(n)]
    buurten = buurten.drop(columns=["burglary_rate"])
    html = build_subsidy_map(buurten, budget, tiles=None, hide_below=5)
    legend = _legend(html)
    assert "&lt;5 (verborgen)" in legend
    labels = re.findall(r"<td>([^<]*)</td>", legend)
    for label in labels:
        m = re.fullmatch(r"(\d+) – (\d+)", label.strip())
        if m:
            assert not (int(m.group(1)) < 5 and int(m.group(2)) >= 5), label
    assert "0" in [lbl.strip() for lbl in labels]  # zero is its own class


def test_subsidy_map_before_any_pilot_says_no_pilot_not_hidden():
    buurten, _ = subsidy_inputs(np.random.default_rng(4))
    buurten = buurten.drop(columns=["burglary_rate"]).assign(grants=0, granted_cents=0, burglaries=None)
    html = build_subsidy_map(buurten, None, tiles=None, hide_below=5)
    legend = _legend(html)
    assert "nog geen pilot" in legend
    assert "verborgen" not in legend
    tooltip = [p for k, p in payloads(html) if k == "polygons"][0]["t"]
    assert "nog geen pilot" in tooltip


def test_attribution_names_kadaster_once():
    buurten, budget = subsidy_inputs(np.random.default_rng(5))
    html = build_subsidy_map(buurten, budget, tiles=TileOptions())
    backgrounds = re.findall(r'"attribution": "([^"]*)"', html)  # one per tile variant
    fixed = re.findall(r"attributionControl\.addAttribution\(\"([^\"]*)\"\)", html)
    assert len(backgrounds) == len(TileOptions().variants()) and len(fixed) == 1, (backgrounds, fixed)
    # What a user sees: the chosen background's credit (or none, "Geen achtergrond") beside the
    # map's own; Kadaster once in every case. (tests/test_browser_map_fixes.py reads the screen.)
    for shown in [*backgrounds, ""]:
        assert shown.count("Kadaster") + fixed[0].count("Kadaster") == 1, (shown, fixed)
    # Without tiles the boundaries still credit Kadaster and CBS.
    plain = build_subsidy_map(buurten, budget, tiles=None)
    plain_attr = re.findall(r"attributionControl\.addAttribution\(\"([^\"]*)\"\)", plain)
    assert sum(a.count("Kadaster") for a in plain_attr) == 1 and "Statistiek" in plain_attr[0]


def test_rhythm_panel_names_the_selected_area_as_the_map_labels_it():
    areas, counts, selected = rhythm_inputs(np.random.default_rng(9))
    rank = int(areas.set_index("area_id").loc[selected, "rank"])
    other = int(areas["rank"].dropna().max())
    areas.loc[areas["area_id"] == selected, "area_name"] = f"Hotspot {other}"
    html = build_rhythm_map(areas, counts, theme_label="Jeugd", weekday_label="vrijdag", shift_label="16-24",
                            selected_name=f"Hotspot {other}", selected_id=selected)
    heading = re.search(r"<h2>(Ritme[^<]*)</h2>", html).group(1)
    assert f"gebied {rank}" in heading, heading
    assert f"Hotspot {other}" not in heading, heading


def test_exhaustion_after_the_closing_date_carries_a_remark():
    budget = {"total_cents": 10_000_000, "reserved_cents": 1_000_000, "paid_cents": 0,
              "remaining_cents": 9_000_000, "projected_exhaustion_date": date(2027, 3, 1),
              "closes_on": date(2026, 12, 31)}
    html = budget_html(budget)
    assert "na de sluitingsdatum" in html and "niet op" in html
    before = budget_html({**budget, "projected_exhaustion_date": date(2026, 10, 1)})
    assert "na de sluitingsdatum" not in before
