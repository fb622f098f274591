"""Tables of the indicator register and of the police open data (Programma 5 in cijfers).

``indicator_values`` and the police tables are append-only (database triggers): a realisation or
norm recorded again is a new row, the current value is the latest row per (indicator, year, kind),
and the earlier rows are the history. Police counts belong to an import batch; a later import of
the same (region, month, type) supersedes the earlier one without deleting it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Indicator(Base):
    __tablename__ = "indicators"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(50))
    direction: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline: Mapped[str | None] = mapped_column(String(40), nullable=True)
    computed_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    seed_source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IndicatorValue(Base):
    """One recorded realisation or norm. Never updated: a correction is a new row."""

    __tablename__ = "indicator_values"
    __table_args__ = (Index("ix_indicator_values_key", "indicator_code", "year", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicators.code"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))  # realisation | norm
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(100))


class PoliceImport(Base):
    __tablename__ = "police_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[str] = mapped_column(String(100))
    rows_in_file: Mapped[int] = mapped_column(Integer)
    rows_stored: Mapped[int] = mapped_column(Integer)
    rows_other_municipality: Mapped[int] = mapped_column(Integer)
    rows_other_type: Mapped[int] = mapped_column(Integer)


class PoliceCount(Base):
    __tablename__ = "police_counts"
    __table_args__ = (Index("ix_police_counts_key", "region_code", "year", "month", "cbs_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("police_imports.id"))
    region_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(10))  # buurt | wijk | gemeente
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    cbs_code: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
