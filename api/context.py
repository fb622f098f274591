"""What both ways in (CLI and HTTP) need: the settings and the database handle."""

from __future__ import annotations

from veilig.settings import Settings, get_settings
from veilig.storage import Database, open_database


def cli_database(settings: Settings | None = None) -> Database:
    """Open (and migrate) the database the settings point at."""
    settings = settings or get_settings()
    return open_database(settings.resolved_database_url, cache_dir=settings.incident_cache_dir)
