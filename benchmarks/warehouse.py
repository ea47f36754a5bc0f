"""Warehouse speed: our query path against raw DuckDB, jupysql and row-by-row fetching.

Run by hand for the figures (``make bench`` or ``python benchmarks/warehouse.py``);
``make test`` runs ``--quick`` only to prove the script works. Figures are
medians of repeated runs, and every ratio compares paths measured in the same
run on the same machine, since absolute times vary between machines.

1. N rows x 4 columns into a pandas DataFrame: ``connect().query(sql).df()``
   vs ``con.sql(sql).df()`` on the same DuckDB connection vs jupysql
   ``%%sql`` (autopandas) on that connection.      target: ours <= 1.3x raw
2. Snowflake connector path on fakesnow's HTTP server (the real connector):
   our columnar fetch vs ``cursor.fetchall()`` row by row, both ending in a
   DataFrame.                                          target: >= 5x faster
3. ``%load_ext codex_jupyter`` in a fresh process.     target: < 0.5 s
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# This run's cache, Snowflake home and temporary files, removed when it ends (each run used to leave its folders).
_SCRATCH = Path(tempfile.mkdtemp(prefix="codex-bench-"))
atexit.register(shutil.rmtree, _SCRATCH, True)
for _sub in ("cache", "snowflake", "tmp"):
    (_SCRATCH / _sub).mkdir()
os.environ.setdefault("CODEX_JUPYTER_CACHE_DIR", str(_SCRATCH / "cache"))
os.environ.setdefault("SNOWFLAKE_HOME", str(_SCRATCH / "snowflake"))
os.environ["TMPDIR"] = str(_SCRATCH / "tmp")
tempfile.tempdir = None
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_local(rows: int, repeat: int) -> list[tuple[str, float]]:
    from IPython.core.interactiveshell import InteractiveShell

    from codex_jupyter import connect

    wh = connect()
    con = wh.dbapi_connection
    con.execute(
        "CREATE OR REPLACE TABLE bench AS SELECT range AS id, random() AS x, "
        f"(range % 97)::VARCHAR AS label, TIMESTAMP '2025-01-01' + to_seconds(range) AS ts FROM range({rows})"
    )
    sql = "SELECT id, x, label, ts FROM bench"

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sql")
    ip.run_line_magic("config", "SqlMagic.autopandas = True")
    ip.run_line_magic("config", "SqlMagic.displaycon = False")
    ip.run_line_magic("config", "SqlMagic.feedback = 0")
    from sql.connection import ConnectionManager

    ConnectionManager.set(con, displaycon=False, alias="bench")

    def ours() -> object:
        frame = wh.query(sql).df()
        assert len(frame) == rows
        return frame

    def raw() -> object:
        return con.sql(sql).df()

    def jupysql() -> object:
        frame = ip.run_cell_magic("sql", "", sql)
        assert len(frame) == rows
        return frame

    return [
        ("raw DuckDB con.sql().df()", median_time(raw, repeat)),
        ("codex_jupyter connect().query().df()", median_time(ours, repeat)),
        ("jupysql %%sql (autopandas)", median_time(jupysql, repeat)),
    ]


def bench_snowflake(rows: int, repeat: int) -> list[tuple[str, float]]:
    import fakesnow
    import pandas as pd

    from codex_jupyter.config import SnowflakeSettings
    from codex_jupyter.sources.warehouse.snowflake import SnowflakeWarehouse

    with fakesnow.server() as kwargs:
        wh = SnowflakeWarehouse(SnowflakeSettings("bench", kwargs))
        wh.query(
            "create database if not exists bench; use database bench; create schema if not exists s; use schema s; "
            "create table t as select seq4() as id, uniform(0::float, 1::float, random()) as x, "
            f"'label-' || (seq4() % 97) as label, dateadd(second, seq4(), '2025-01-01'::timestamp) as ts "
            f"from table(generator(rowcount => {rows}))"
        )
        sql = "select id, x, label, ts from t"

        def columnar() -> object:
            res = wh.query(sql)
            assert res._table is not None and res.row_count == rows  # the Arrow path, not a fallback
            return res.df()

        def row_by_row() -> object:
            cur = wh.dbapi_connection.cursor()
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return pd.DataFrame.from_records(cur.fetchall(), columns=names)

        out = [
            ("cursor.fetchall() row by row -> DataFrame", median_time(row_by_row, repeat)),
            ("codex_jupyter Arrow fetch -> DataFrame", median_time(columnar, repeat)),
        ]
        wh.close()
        return out


def bench_load_ext(repeat: int) -> float:
    script = (
        "import time\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "t = time.perf_counter(); ip.run_line_magic('load_ext', 'codex_jupyter')\n"
        "print(time.perf_counter() - t)\n"
    )
    times = [
        float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, float]], baseline: str) -> None:
    base = dict(rows)[baseline]
    print(f"\n{title}")
    for name, seconds in rows:
        print(f"  {name:44} {seconds * 1000:9.1f} ms   {seconds / base:5.2f}x of {baseline.split()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: proves the script runs")
    args = parser.parse_args()
    local_rows, sf_rows, repeat = (50_000, 5_000, 1) if args.quick else (1_000_000, 200_000, 5)

    print(f"codex-jupyter warehouse benchmark ({'quick' if args.quick else 'full'}), Python {sys.version.split()[0]}")
    local = bench_local(local_rows, repeat)
    report(f"1. {local_rows:,} rows x 4 columns into a DataFrame (median of {repeat})", local, local[0][0])
    raw, ours, jupysql = (seconds for _, seconds in local)
    print(f"  ours / raw DuckDB = {ours / raw:.2f} (target <= 1.3); ours / jupysql = {ours / jupysql:.2f} (<= 1)")

    sf = bench_snowflake(sf_rows, repeat)
    report(f"2. Snowflake connector on fakesnow's server, {sf_rows:,} rows x 4 (median of {repeat})", sf, sf[0][0])
    print(f"  speed-up of the columnar fetch = {sf[0][1] / sf[1][1]:.1f}x (target >= 5)")

    load = bench_load_ext(3 if args.quick else 7)
    print(f"\n3. %load_ext codex_jupyter in a fresh process: {load * 1000:.1f} ms (median; target < 500 ms)")


if __name__ == "__main__":
    main()
