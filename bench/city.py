"""The real city's size, run by hand (not in CI): `python bench/city.py [--scale 1.0] [--days 365]`.

On PostgreSQL (BENCH_PG_URL, as bench/exchange.py), in fresh databases it drops afterwards:

0. Simulate ``--scale`` of the province (1.0 = Shaoxing, ~0.8 M live entities) for ``--days`` days of history,
   all 142 tables; the time it takes is a figure of its own.
1. (a) The initial full load of every table into an empty front (``full_reload``, one process, as a
   re-initialisation does), against the sum of raw ``psql COPY | psql COPY`` pipes of the same tables in the same
   run. Target <= 1.3x.
2. (b) One more simulated day, then the nightly job for it, every table and every check, through Dagster on the
   embedded default instance. Target <= 2 min wall.
3. (c) The monthly statistics of every month of the history against one equivalent SQL aggregation over the same
   join (bench/stats.py's). Target <= 1.5x.
4. (d) Peak memory of each process (the simulator, the loads, the nightly run, the statistics). Target <= 500 MB.

Each figure is printed with its target; whatever misses is named.

``--keep`` leaves the databases on the server and names them; ``--province NAME`` then starts from such a
province instead of simulating one (its last simulated day ends the history, the day after is the nightly day),
so a step can be measured again or profiled without the simulation's half hour.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from exchange import analyze_province, db_url, drop_db, new_db, raw_pipe, say  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from stats import BASELINE  # noqa: E402

from shaoxing_ops.catalog import Catalog, Table, load_catalog  # noqa: E402
from shaoxing_ops.exchange import make_engine  # noqa: E402
from shaoxing_ops.exchange.copy import analyze_sql  # noqa: E402
from shaoxing_ops.exchange.province_store import SqlProvinceStore  # noqa: E402
from shaoxing_ops.simulate.baseline import WORKERS  # noqa: E402
from shaoxing_ops.simulate.run import simulate  # noqa: E402

LOADS = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.exchange import full_reload, make_engine
src, tgt = make_engine({src!r}), make_engine({tgt!r})
started, rows = time.perf_counter(), 0
for table in load_catalog().tables:
    rows += full_reload(table, src, tgt).target_rows
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": rows,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

NIGHTLY = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
import dagster as dg
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.commands.shared import embedded_event_log
from shaoxing_ops.defs.province.assets import province_assets
from shaoxing_ops.defs.province.checks import province_checks
from shaoxing_ops.defs.resources import Databases
catalog = load_catalog()
defs = [*province_assets(catalog), *province_checks(catalog)]
resources = {{"databases": Databases(province_url={src!r}, front_url={tgt!r}, bureau_url={tgt!r})}}
with tempfile.TemporaryDirectory() as home, dg.instance_for_test(
    temp_dir=home, overrides={{"event_log_storage": embedded_event_log(Path(home) / "runs")}}
) as instance:
    started = time.perf_counter()
    result = dg.materialize(defs, instance=instance, resources=resources, partition_key={day!r},
                            run_config={{"loggers": {{"console": {{"config": {{"log_level": "WARNING"}}}}}}}})
    seconds = time.perf_counter() - started
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()
              if not e.passed]
print(json.dumps({{"seconds": seconds, "success": result.success, "failed_checks": failed,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

STATS = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from shaoxing_ops.exchange import make_engine
from shaoxing_ops.stats import Settings, compute_months, month_range
engine = make_engine({tgt!r})
months = month_range({first!r}, {last!r})
best = float("inf")
for _ in range(3):
    started = time.perf_counter()
    frame = compute_months(engine, months, Settings(since={first!r}))
    best = min(best, time.perf_counter() - started)
print(json.dumps({{"seconds": best, "months": len(months), "rows": frame.long.height,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def child(script: str, **values: object) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", script.format(root=str(ROOT), **values)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def pipe_and_index(src: str, tgt: str, table: Table) -> float:
    """A raw pipe into a bare copy of ``table``, then its primary key and indexes built one after the other
    (statements written from the catalog, as the load's) and its statistics gathered: the work of a load done
    by hand."""
    seconds = raw_pipe(src, tgt, indexed=False, table=table.db_name, keep=True)
    statements = [f"ALTER TABLE raw_copy ADD PRIMARY KEY ({', '.join(table.key)})"]
    statements += [
        f"CREATE INDEX ON raw_copy ({c.name})" for c in table.columns if c.index and c.name not in table.key
    ]
    with sa.create_engine(make_engine(tgt).url, isolation_level="AUTOCOMMIT").connect() as conn:
        statements.append(analyze_sql(conn, table, "raw_copy"))  # the columns the load analyses
        started = time.perf_counter()
        conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")  # as the load sets it
        for sql in statements:
            conn.exec_driver_sql(sql)
        seconds += time.perf_counter() - started
        conn.exec_driver_sql("DROP TABLE raw_copy")
    return seconds


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = Shaoxing's real size")
    parser.add_argument("--days", type=int, default=365, help="days of history before the nightly day")
    parser.add_argument(
        "--end", type=dt.date.fromisoformat, default=dt.date(2026, 11, 29), help="the nightly day"
    )
    parser.add_argument("--keep", action="store_true", help="leave the databases on the server, named")
    parser.add_argument(
        "--province",
        metavar="NAME",
        help="a province database simulated earlier (--keep) instead of simulating",
    )
    args = parser.parse_args()
    catalog = load_catalog()
    first, day = args.end - dt.timedelta(days=args.days), args.end
    src = db_url(args.province) if args.province else new_db("cityp")
    store = SqlProvinceStore(make_engine(src), catalog)
    if args.province:
        state = store.load_state()
        if state is None:
            sys.exit(f"--province {args.province}: no simulated province in it; run once with --keep")
        first = dt.date.fromisoformat(state["first_day"])
        day = dt.date.fromisoformat(state["last_day"]) + dt.timedelta(days=1)
        args.scale = float(state["scale"])
    os.environ["SXOPS_VOLUME_SCALE"] = str(args.scale)  # the volume check's prior, as the demo sets it
    tgt = new_db("cityf")
    misses, sim_mb = [], 0.0
    try:
        if args.province:
            say(
                f"== 0. the province {args.province}, simulated earlier: {first} … {day - dt.timedelta(days=1)}"
            )
        else:
            sim_mb = simulate_province(catalog, store, first, day, args.scale)

        say("== 1. (a) initial full load of every table into an empty front")
        # Twice each, interleaved, the best of each: the first load reads the province cold, the rest warm.
        loads, pipes = [], []
        for _ in range(2):
            loads.append(child(LOADS, src=src, tgt=tgt))
            pipes.append(sum(raw_pipe(src, tgt, indexed=False, table=t.db_name) for t in catalog.tables))
        built = sum(pipe_and_index(src, tgt, t) for t in catalog.tables)
        load, pipe = min(loads, key=lambda x: x["seconds"]), min(pipes)
        ratio = load["seconds"] / pipe
        misses += [] if ratio <= 1.3 else ["(a) initial load"]
        load_runs = ", ".join(f"{x['seconds']:.1f}" for x in loads)
        pipe_runs = ", ".join(f"{x:.1f}" for x in pipes)
        say(
            f"   full reload of every table: {load['seconds']:8.1f} s, {load['rows']:,} rows, peak {load['maxrss_mb']:.0f} MB"
            f" (runs: {load_runs})"
        )
        say(f"   raw COPY pipes, summed:     {pipe:8.1f} s (runs: {pipe_runs})")
        say(
            f"   the same pipes, then each table's key and indexes built by hand: {built:8.1f} s "
            f"(what the load does: {load['seconds'] / built:4.2f}x of it)"
        )
        say(f"   ratio {ratio:5.2f}x  (target <= 1.3x) {verdict(ratio <= 1.3)}")

        say(f"== 2. (b) the nightly job of {day}, every table and check, through Dagster")
        simulate(catalog, store, day, day, scale=args.scale, seed=3)
        nightly = child(NIGHTLY, src=src, tgt=tgt, day=day.isoformat())
        ok = nightly["seconds"] <= 120 and nightly["success"]
        misses += [] if ok else ["(b) nightly"]
        say(
            f"   {nightly['seconds']:8.1f} s wall, success {nightly['success']}, peak {nightly['maxrss_mb']:.0f} MB, "
            f"checks not passed: {nightly['failed_checks'] or 'none'}"
        )
        say(f"   (target <= 120 s) {verdict(ok)}")

        months = (first.strftime("%Y-%m"), day.strftime("%Y-%m"))
        say(f"== 3. (c) monthly statistics of {months[0]} … {months[1]}")
        ours = child(STATS, tgt=tgt, first=months[0], last=months[1])
        equivalent = BASELINE.replace("DATE '2024-01-01'", f"DATE '{months[0]}-01'").replace(
            "DATE '2027-01-01'", f"DATE '{(day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)}'"
        )
        base_s = float("inf")
        with make_engine(tgt).connect() as conn:
            for _ in range(3):
                started = time.perf_counter()
                conn.exec_driver_sql(equivalent).all()
                base_s = min(base_s, time.perf_counter() - started)
        ratio = ours["seconds"] / base_s
        misses += [] if ratio <= 1.5 else ["(c) statistics"]
        say(
            f"   platform: {ours['seconds']:6.2f} s for {ours['months']} months ({ours['rows']:,} rows), "
            f"peak {ours['maxrss_mb']:.0f} MB; one SQL aggregation: {base_s:6.2f} s"
        )
        say(f"   ratio {ratio:5.2f}x  (target <= 1.5x) {verdict(ratio <= 1.5)}")

        peak = max(sim_mb, load["maxrss_mb"], nightly["maxrss_mb"], ours["maxrss_mb"])
        misses += [] if peak <= 500 else ["(d) memory"]
        say(f"== 4. (d) peak memory of any process: {peak:.0f} MB  (target <= 500 MB) {verdict(peak <= 500)}")
        say(f"missed: {', '.join(misses)}" if misses else "every target met")
    finally:
        if args.keep:
            say(f"kept: province {make_url(src).database}, front {make_url(tgt).database}")
        else:
            drop_db(tgt)
            if not args.province:
                drop_db(src)


def simulate_province(
    catalog: Catalog, store: SqlProvinceStore, first: dt.date, day: dt.date, scale: float
) -> float:
    """Step 0: the history before the nightly ``day``, timed, then analysed (``analyze_province``). Returns the
    peak memory in MB."""
    say(
        f"== 0. simulate scale {scale}, {first} … {day - dt.timedelta(days=1)}, all {len(catalog.tables)} tables"
    )
    started, last = time.perf_counter(), [0.0]

    def progress(note: str, rows: int) -> None:
        if time.perf_counter() - last[0] >= 10:
            last[0] = time.perf_counter()
            say(f"   {note:<40} {time.perf_counter() - started:8.1f} s")

    report = simulate(
        catalog,
        store,
        first,
        day - dt.timedelta(days=1),
        scale=scale,
        seed=3,
        progress=progress,
        workers=WORKERS,
    )
    sim_s, sim_rows = time.perf_counter() - started, sum(report.rows.values())
    # the largest of this process and the baselines' workers (the only children so far)
    sim_mb = (
        max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    )
    say(
        f"   {sim_rows:,} rows written in {sim_s:,.1f} s ({sim_rows / sim_s:,.0f} rows/s), peak {sim_mb:.0f} MB"
    )
    say(f"   the province analysed in {analyze_province(store.engine):.1f} s, as its autovacuum would")
    return sim_mb


if __name__ == "__main__":
    main()
