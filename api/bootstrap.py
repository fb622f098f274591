"""First start: an empty database gets three years of demo data (labelled synthetic)."""

from __future__ import annotations

import logging
from datetime import timedelta

from veilig.dates import today_local
from veilig.settings import Settings
from veilig.storage import Database

log = logging.getLogger("veilig")


def load_demo_if_empty(db: Database, settings: Settings) -> int:
    """Load ``settings.demo_years`` years of demo incidents up to ``settings.demo_end`` (default today)
    when no incident is stored."""
    from veilig.geo.demo import default_demo_size, generate_incidents
    from veilig.geo.io import ReadResult
    from veilig.geo.neighbourhoods import assign_buurt
    from veilig.storage.incidents import count_incidents, store_incidents

    if count_incidents(db) > 0:
        return 0
    end = settings.demo_end or today_local()
    # Whole days back (not year arithmetic, which fails on 29 February).
    start = end - timedelta(days=round(365.25 * settings.demo_years)) + timedelta(days=1)
    df = generate_incidents(settings.demo_seed, default_demo_size(start, end), start, end)
    codes, _ = assign_buurt(df["x"].to_numpy(), df["y"].to_numpy())
    valid = df.rename(columns={"id": "ext_id"}).assign(buurt=codes.astype(str), row=range(1, len(df) + 1))
    valid["occurred_at"] = valid["occurred_at"].dt.tz_convert("UTC")
    report = store_incidents(db, ReadResult(file="demo", n_rows=len(df), valid=valid))
    log.info("empty database: loaded %d synthetic demo incidents (%s to %s)", report.inserted, start, end)
    return report.inserted
