"""Seed data of the indicator register, from the municipality's 2026 budget (Programma 5 Veiligheid).

Every seeded value carries :data:`SEED_SOURCE` as its source, so the register always shows where a
figure came from; a value recorded later by an admin carries who recorded it.

The goal (*doelstelling*) of each indicator follows the budget's goal tree: 5.1 safety in the home,
5.2 safety in the neighbourhood, 5.3 safety in the city. The budget names the goal of the three
long-standing indicators; the effect indicators adopted in 2025 are assigned by their theme
(domestic violence -> the home; care and safety -> the neighbourhood; undermining, extremism and
digital crime -> the city). That assignment is this register's reading and can be changed by an
admin (it is a column, not code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEED_SOURCE = "Programmabegroting 2026 gemeente Zoetermeer, Programma 5 Veiligheid"

#: direction -> Dutch label. ``ge_previous``: at least last year's value; ``gt``: above ``threshold``.
DIRECTIONS = {
    "lower": "lager is beter",
    "higher": "hoger is beter",
    "ge_previous": "groter dan of gelijk aan vorig jaar",
    "gt": "hoger dan de drempel",
}
GOALS = {
    "5.1": "Bevorderen van de veiligheid in de woning",
    "5.2": "Bevorderen van de veiligheid in de wijk",
    "5.3": "Bevorderen van de veiligheid in de stad",
}
SOURCES = ("Politie", "Stadspeiling", "veilig", "Gemeente")


@dataclass(frozen=True)
class IndicatorSeed:
    code: str
    name: str
    goal: str
    source: str
    unit: str
    direction: str
    threshold: float | None = None
    baseline: str | None = None  # the nulmeting years, e.g. "2025/2026"
    computed_key: str | None = None  # the computed series shown beside it (see computed.SERIES)
    note: str | None = None
    realisations: dict[int, float] = field(default_factory=dict)
    norms: dict[int, float] = field(default_factory=dict)


_NORM_YEARS = (2026, 2027, 2028, 2029)
_NULMETING = "nulmeting 2025/2026, nog geen norm"

SEED: tuple[IndicatorSeed, ...] = (
    IndicatorSeed("woninginbraken", "Aantal woninginbraken per jaar", "5.1", "Politie", "aantal per jaar",
                  "lower", computed_key="woninginbraak",
                  realisations={2024: 89}, norms={y: 180 for y in _NORM_YEARS}),
    IndicatorSeed("rapportcijfer_buurt", "Gemiddeld rapportcijfer veiligheid in de buurt", "5.2", "Stadspeiling",
                  "rapportcijfer (1-10)", "higher",
                  realisations={2024: 8.0}, norms={y: 7.5 for y in _NORM_YEARS}),
    IndicatorSeed("rapportcijfer_stad", "Gemiddeld rapportcijfer veiligheid in Zoetermeer", "5.3", "Stadspeiling",
                  "rapportcijfer (1-10)", "higher",
                  realisations={2024: 7.60}, norms={y: 7.40 for y in _NORM_YEARS}),
    # The effect indicators adopted in 2025: 2025/2026 is the nulmeting, no norm yet.
    IndicatorSeed("recidive_huiselijk_geweld", "Recidive huiselijk geweld", "5.1", "Politie", "aantal per jaar",
                  "lower", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("overlast_onbegrepen_gedrag", "Registraties overlast personen met onbegrepen gedrag", "5.2",
                  "Politie", "aantal per jaar", "lower", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("ipta_succesvol", "Succesvol afgesloten IPTA-trajecten", "5.2", "Gemeente", "aantal per jaar",
                  "higher", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("pga_justitiecontact", "Politie- en justitiecontact van PGA-subjecten", "5.2", "Politie",
                  "aantal per jaar", "lower", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("meldingen_ondermijning", "Meldingen ondermijning", "5.3", "Gemeente", "aantal per jaar",
                  "ge_previous", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("oplossing_ondermijning", "Oplossingspercentage ondermijningscasussen", "5.3", "Gemeente",
                  "procent", "gt", threshold=20.0, baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("meldingen_extremisme", "Meldingen extremisme en maatschappelijk ongenoegen", "5.3", "Gemeente",
                  "aantal per jaar", "ge_previous", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("afgeschaalde_pga_emo", "Afgeschaalde PGA's EMO", "5.3", "Gemeente", "aantal per jaar",
                  "higher", baseline="2025/2026", note=_NULMETING),
    IndicatorSeed("digitale_criminaliteit", "Misdrijfcijfers digitale criminaliteit", "5.3", "Politie",
                  "aantal per jaar", "lower", baseline="2025/2026", computed_key="cybercrime", note=_NULMETING),
)
