"""MariaDB benchmark, run by hand (not in CI): part 3 of `bench/exchange.py`, or alone as
`python bench/mariadb_reload.py [--rows 1000000]`.

A full reload of E_BASEINFO MariaDB → MariaDB (>= 1 M rows, two databases of the local server) against
MariaDB's own floor measured in the same run: `mysqldump --no-create-info | mysql` of the same table into an
empty copy. Peak memory of the loading process. Targets (issue 13): <= 1.5x the floor, <= 300 MB.

Needs a MariaDB/MySQL server (BENCH_MYSQL_URL, default the local one as root) and its command-line clients.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shaoxing_ops.catalog import load_catalog  # noqa: E402
from shaoxing_ops.exchange import make_engine  # noqa: E402
from shaoxing_ops.exchange.province_store import SqlProvinceStore  # noqa: E402
from shaoxing_ops.simulate.run import simulate  # noqa: E402

SERVER = os.environ.get("BENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.exchange import full_reload, make_engine
t = load_catalog().table("E_BASEINFO")
src, tgt = make_engine({src!r}, role="province"), make_engine({tgt!r}, role="front")
started = time.perf_counter()
r = full_reload(t, src, tgt)
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": r.target_rows, "method": r.method,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def say(text: str) -> None:
    print(text, flush=True)


def server_sql(sql: str) -> None:
    engine = make_engine(SERVER)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def when_server(what: str, bench: Callable[[int], None], rows: int) -> None:
    """Run ``bench(rows)`` where a MariaDB server answers; otherwise say so, keeping the figures printed above."""
    try:
        server_sql("SELECT 1")
    except Exception as exc:  # no server: say so rather than fail the PostgreSQL figures
        say(f"== {what} skipped: no server at {SERVER.split('@')[-1]} ({type(exc).__name__})")
    else:
        bench(rows)


def new_db(label: str) -> str:
    name = f"sxops_bench_{label}_{uuid.uuid4().hex[:6]}"
    server_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return make_engine(SERVER).url.set(database=name).render_as_string(hide_password=False)


def grow_baseinfo(url: str, rows: int) -> int:
    """Simulate a small province, then multiply its E_BASEINFO rows (new keys) up to ``rows``."""
    catalog = load_catalog()
    engine = make_engine(url)
    day = dt.date(2026, 6, 1)
    simulate(catalog, SqlProvinceStore(engine, catalog), day, day, scale=0.05, seed=1)
    cols = [c.name for c in catalog.table("E_BASEINFO").columns if c.name not in ("pripid", "uniscid")]
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE seed AS SELECT * FROM e_baseinfo")
        have = conn.exec_driver_sql("SELECT count(*) FROM seed").scalar_one()
        for k in range(1, -(-rows // have)):
            conn.exec_driver_sql(
                f"INSERT INTO e_baseinfo (pripid, uniscid, {', '.join(cols)}) "
                f"SELECT MD5(CONCAT(pripid, ':{k}')), CONCAT(LEFT(uniscid, 17), '{k % 10}'), {', '.join(cols)} "
                "FROM seed"
            )
        conn.exec_driver_sql("UPDATE e_baseinfo SET dsc_biz_operation = 'I' WHERE dsc_biz_operation = 'D'")
        n = conn.exec_driver_sql("SELECT count(*) FROM e_baseinfo").scalar_one()
    engine.dispose()
    return n


def client_args(url: str) -> list[str]:
    u = sa.engine.make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root"]
    return args + ([f"-p{u.password}"] if u.password else [])


def floor(src: str, tgt: str) -> float:
    """`mysqldump --no-create-info | mysql` of e_baseinfo into an empty, identically keyed table."""
    target = make_engine(tgt)
    with target.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS e_baseinfo")
        conn.exec_driver_sql(f"CREATE TABLE e_baseinfo LIKE `{sa.engine.make_url(src).database}`.e_baseinfo")
    dump = [
        "mysqldump",
        *client_args(src),
        "--no-create-info",
        "--single-transaction",
        "--quick",
        sa.engine.make_url(src).database,
        "e_baseinfo",
    ]
    load = ["mysql", *client_args(tgt), sa.engine.make_url(tgt).database]
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", f"{' '.join(dump)} | {' '.join(load)}"], check=True)
    seconds = time.perf_counter() - started
    with target.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM e_baseinfo").scalar_one() > 0
        conn.exec_driver_sql("DROP TABLE e_baseinfo")
    target.dispose()
    return seconds


def bench_full_reload(rows: int) -> None:
    """The full reload against ``mysqldump | mysql``, best of two each, printed."""
    say(f"== full reload of E_BASEINFO, MariaDB → MariaDB, >= {rows:,} rows")
    src, tgt = new_db("src"), new_db("tgt")
    try:
        say(f"   source rows: {grow_baseinfo(src, rows):,}")
        floors, loads = [], []
        for _ in range(2):
            floors.append(floor(src, tgt))
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(root=str(ROOT), src=src, tgt=tgt)],
                check=True,
                capture_output=True,
                text=True,
            )
            loads.append(json.loads(out.stdout.strip().splitlines()[-1]))
        best, load = min(floors), min(loads, key=lambda x: x["seconds"])
        peak = max(x["maxrss_mb"] for x in loads)
        say(f"   mysqldump | mysql:                      {best:7.2f} s")
        say(
            f"   shaoxing-ops full reload ({load['method']}): {load['seconds']:7.2f} s, {load['rows']:,} rows"
        )
        say(f"   ratio to the floor: {load['seconds'] / best:5.2f}x   (target <= 1.5x)")
        say(f"   peak memory of the loading process: {peak:.0f} MB   (target <= 300 MB)")
    finally:
        for url in (src, tgt):
            server_sql(f"DROP DATABASE IF EXISTS `{sa.engine.make_url(url).database}`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    bench_full_reload(parser.parse_args().rows)


if __name__ == "__main__":
    main()
