"""Runtime settings: one pydantic-settings class read from ``VEILIG_*`` environment variables."""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TILE_URL = (
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/{variant}/EPSG:3857/{z}/{x}/{y}.png"
)


def _default_data_dir() -> Path:
    # XDG layout, so a service account keeps its database outside the code checkout.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "veilig"


class Settings(BaseSettings):
    """Everything configurable; each field reads ``VEILIG_<NAME>`` (e.g. ``VEILIG_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="VEILIG_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    tile_url: str = DEFAULT_TILE_URL
    tile_variant: str = "grijs"
    tiles_enabled: bool = True
    small_count_threshold: int = Field(default=5, ge=1)
    boundary_margin_m: float = Field(default=250.0, ge=0)
    category_map_file: Path | None = Field(
        default=None, description="CSV (label,category) that extends the default label table"
    )
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_upload_rows: int = Field(default=1_000_000, ge=1, description="rows per uploaded file (HTTP)")
    import_earliest: date = Field(default=date(1970, 1, 1), ge=date(1970, 1, 1),
                                  description="incidents before this date are refused (not before 1970)")
    import_future_days: float = Field(default=1.0, ge=0, le=366,
                                      description="incidents more than this many days in the future are refused")
    login_failures_per_minute: int = Field(default=10, ge=1,
                                           description="failed logins per client per minute before 429")
    cookie_secure: bool = Field(
        default=False, description="Set the Secure flag on cookies (run behind a TLS reverse proxy)"
    )
    allowed_origins: tuple[str, ...] = Field(
        default=(), description="Extra origins (scheme://host:port) whose form posts are accepted, "
        "e.g. the public address behind a reverse proxy; the request's own origin always is"
    )
    incident_cache: bool = Field(
        default=True, description="Keep a columnar copy of the incidents in data_dir/cache for fast analyses "
        "(always in step with the database; off: every analysis reads the database)"
    )
    disclosure_secret: str | None = Field(
        default=None, repr=False,
        description="Secret of the record keys of the disclosure layer (cell key method); "
        "default: generated once into data_dir/disclosure.key",
    )
    demo_seed: int = 1
    demo_years: int = 3
    demo_end: date | None = Field(
        default=None, description="Last day of the demo data loaded into an empty database (default: today "
        "in Zoetermeer); tests pin it so that what they assert does not move with the calendar"
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'veilig.db'}"

    @property
    def incident_cache_dir(self) -> Path | None:
        return self.data_dir / "cache" if self.incident_cache else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
