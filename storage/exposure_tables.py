"""The imported exposure grid (CBS vierkantstatistieken): one row per 100 m square."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ExposureCell(Base):
    """Dwellings or inhabitants in one square; ``x``/``y`` its lower-left corner in RD New metres."""

    __tablename__ = "exposure_cells"

    x: Mapped[int] = mapped_column(Integer, primary_key=True)
    y: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(500))
