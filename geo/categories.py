"""The fixed incident vocabulary, the analysis groups, and the source-label table.

Source systems name things their own way ('Diefstal/inbraak woning'); a configurable table maps
those labels onto the fixed categories. Matching ignores case and surrounding spaces.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from veilig.errors import VeiligError

CATEGORIES: tuple[str, ...] = (
    "woninginbraak",
    "inbraak_schuur",
    "drugs",
    "overlast_jeugd",
    "alcohol",
    "evenement",
    "melding_wijkzorg",
    "overig",
)

#: Analysis groups of BRIEF section 4.
GROUPS: dict[str, tuple[str, ...]] = {
    "burglary": ("woninginbraak", "inbraak_schuur"),
    "drugs": ("drugs",),
}

#: Dutch labels for pages and legends.
LABELS_NL: dict[str, str] = {
    "woninginbraak": "Woninginbraak",
    "inbraak_schuur": "Inbraak schuur/box",
    "drugs": "Drugscriminaliteit",
    "overlast_jeugd": "Overlast jeugd",
    "alcohol": "Alcohol",
    "evenement": "Evenement",
    "melding_wijkzorg": "Melding wijkzorg",
    "overig": "Overig",
    "burglary": "Inbraak (woning en schuur)",
}

#: Default source labels (Politie/BVH-style and municipal) -> category.
DEFAULT_LABELS: dict[str, str] = {
    "diefstal/inbraak woning": "woninginbraak",
    "inbraak woning": "woninginbraak",
    "woninginbraak": "woninginbraak",
    "poging inbraak woning": "woninginbraak",
    "diefstal/inbraak box/garage/schuur": "inbraak_schuur",
    "inbraak box/garage/schuur": "inbraak_schuur",
    "inbraak schuur": "inbraak_schuur",
    "drugshandel": "drugs",
    "drugsbezit": "drugs",
    "drugsteelt": "drugs",
    "hennepteelt": "drugs",
    "drugslab": "drugs",
    "drugsoverlast": "drugs",
    "drugs/drankoverlast": "drugs",
    "overlast jeugd": "overlast_jeugd",
    "jeugdoverlast": "overlast_jeugd",
    "overlast door alcohol": "alcohol",
    "alcoholoverlast": "alcohol",
    "openbare dronkenschap": "alcohol",
    "evenement": "evenement",
    "melding wijkzorg": "melding_wijkzorg",
    "melding openbare ruimte": "melding_wijkzorg",
    "burenruzie": "melding_wijkzorg",
    "overig": "overig",
}


def normalise_label(label: str) -> str:
    return " ".join(str(label).strip().lower().split())


def label_table(extra_file: Path | None = None) -> dict[str, str]:
    """The label table: canonical names, Dutch defaults, then the rows of ``extra_file`` (CSV label,category)."""
    table = {c: c for c in CATEGORIES}
    table.update(DEFAULT_LABELS)
    if extra_file is not None:
        table.update(read_label_file(extra_file))
    return table


def read_label_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"label", "category"} <= set(reader.fieldnames):
                raise VeiligError(f"{path}: the label table needs the columns 'label' and 'category'")
            for i, row in enumerate(reader, start=1):
                cat = (row["category"] or "").strip()
                if cat not in CATEGORIES:
                    raise VeiligError(
                        f"{path}, row {i}, field category: '{cat}' is not one of {', '.join(CATEGORIES)}"
                    )
                out[normalise_label(row["label"])] = cat
    except OSError as exc:
        raise VeiligError(f"{path}: cannot read the label table ({exc.strerror})") from exc
    return out


def map_labels(labels, table: Mapping[str, str]):
    """Map a pandas Series of labels to categories; unknown labels become NaN."""
    import pandas as pd

    # Normalise each distinct label once: a million rows carry only a handful of labels.
    codes, uniques = pd.factorize(labels.astype("string"), use_na_sentinel=True)
    mapped = np.array([table.get(normalise_label(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=labels.index, dtype=object).where(codes >= 0, None)


def resolve_categories(name: str) -> tuple[str, ...]:
    """'burglary' -> its two categories, 'drugs' -> ('drugs',), a category -> itself; else a clear refusal."""
    key = name.strip().lower()
    if key in GROUPS:
        return GROUPS[key]
    if key in CATEGORIES:
        return (key,)
    raise VeiligError(
        f"onbekende categorie '{name}': kies uit {', '.join(dict.fromkeys([*GROUPS, *CATEGORIES]))}"
    )
