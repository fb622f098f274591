"""Benchmark: import 1,000,000 demo incidents from GeoParquet into SQLite and PostgreSQL.

veilig's import (read, validate every row, assign buurten, one transaction) against the naive
peer: GeoPandas read_parquet + pandas ``DataFrame.to_sql`` with no validation and no buurt
assignment, into the same kind of database. Each step runs in a fresh process (peak memory
is that process's maximum RSS).

    python benchmarks/bench_import.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_pg_database, fresh_pg_database, print_table, run_measured  # noqa: E402

VEILIG_IMPORT = """
from veilig.storage import open_database
from veilig.storage.incidents import import_incidents_file
db = open_database(sys.argv[1])
r = import_incidents_file(db, sys.argv[2])
assert r.committed and r.inserted == int(sys.argv[3]), (r.inserted, r.errors[:3])
extra = {'rows': r.inserted}
"""

PEER_TO_SQL = """
import geopandas as gpd
from sqlalchemy import create_engine
gdf = gpd.read_parquet(sys.argv[2])
df = gdf.drop(columns='geometry').assign(x=gdf.geometry.x, y=gdf.geometry.y)
eng = create_engine(sys.argv[1])
df.to_sql('peer_incidents', eng, if_exists='replace', index=False, chunksize=50000, method=None)
extra = {'rows': len(df)}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    from veilig.geo.demo import generate_incidents
    from veilig.geo.io import write_incidents

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "demo.parquet"
        write_incidents(generate_incidents(1, args.n), src)
        rows = []
        pg_urls = []
        for label in ("SQLite", "PostgreSQL"):
            for i, (tool, code) in enumerate((("veilig import (validated, buurt, 1 txn)", VEILIG_IMPORT),
                                              ("peer: geopandas + pandas.to_sql (no validation)", PEER_TO_SQL))):
                if label == "PostgreSQL":
                    url = fresh_pg_database()
                    if url is None:
                        continue
                    pg_urls.append(url)
                else:
                    url = f"sqlite:///{Path(tmp) / f'bench{i}.db'}"
                res = run_measured(code, url, str(src), str(args.n))
                rows.append([label, tool, f"{args.n:,}", f"{res['seconds']:.1f}", f"{res['peak_mb']:.0f}",
                             f"{args.n / res['seconds']:,.0f}"])
        for url in pg_urls:
            drop_pg_database(url)
    print_table(f"Import of {args.n:,} demo incidents from GeoParquet (aim: <= 30 s, <= 2 GB)",
                ["database", "tool", "rows", "time s", "peak MB", "rows/s"], rows)


if __name__ == "__main__":
    main()
