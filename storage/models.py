"""Tables of the foundation: incidents, import batches, per-buurt statistics, data version.

Other concerns keep their tables in their own module (``ledger_tables``, ``auth_tables``);
they are imported at the bottom so ``Base.metadata`` knows every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ImportBatch(Base):
    """One import of one file: where rows came from, for the audit trail."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(100))
    rows_in_file: Mapped[int] = mapped_column(Integer)
    rows_inserted: Mapped[int] = mapped_column(Integer)
    rows_skipped_existing: Mapped[int] = mapped_column(Integer)
    rows_invalid: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who imported it, and when (and by whom) it was taken back (migration 0004_import_batches).
    imported_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rows_removed: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Incident(Base):
    """One event. ``x``/``y`` are RD New metres; ``occurred_at`` is stored in UTC."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("source", "ext_id", name="uq_incidents_source_ext_id"),
        Index("ix_incidents_category_time", "category", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    ext_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    category: Mapped[str] = mapped_column(String(40))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    buurt: Mapped[str] = mapped_column(String(10), index=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))


class BuurtStat(Base):
    """Optional per-buurt figures (CBS Kerncijfers wijken en buurten), keyed by statcode."""

    __tablename__ = "buurt_stats"

    statcode: Mapped[str] = mapped_column(String(10), primary_key=True)
    statnaam: Mapped[str | None] = mapped_column(String(200), nullable=True)
    inhabitants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dwellings: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Meta(Base):
    """Small key/value facts, such as the data version that map caches are keyed on."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


from . import ledger_tables  # noqa: E402,F401  (registers the ledger's tables)
from . import auth_tables  # noqa: E402,F401  (users, sessions, audit log)
from . import exposure_tables  # noqa: E402,F401  (the exposure grid of the hotspot null)
from . import indicators_tables  # noqa: E402,F401  (indicator register, police open data)
