"""Exchange benchmark, run by hand (not in CI): `python bench/exchange.py [--rows 1000000] [--scale 0.25]`.

1. Full load of E_BASEINFO PostgreSQL → PostgreSQL (>= 1 M rows) against a raw
   `COPY … TO STDOUT | COPY … FROM STDIN` pipe of the same table measured in the same run; peak memory
   of the loading process. Targets: <= 1.15x the raw pipe, <= 300 MB.
2. The nightly run of every provincial table for one simulated day through Dagster, loads and all their
   checks, against the same run of no-op assets whose check steps record as many no-op results (Dagster's own
   floor), both on the embedded default instance. Targets: <= 1.3x the floor; a table's check step <= 2x its
   load step (median over the tables).
3. Full reload of E_BASEINFO MariaDB → MariaDB against `mysqldump | mysql` of the same table in the same run
   (bench/mariadb_reload.py). Targets: <= 1.5x that floor, <= 300 MB. Skipped, and said so, where no MariaDB answers.

Needs a PostgreSQL server (BENCH_PG_URL, default the local one); it creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mariadb_reload  # noqa: E402  (beside this file)

from shaoxing_ops import collector  # noqa: E402
from shaoxing_ops.catalog import load_catalog  # noqa: E402
from shaoxing_ops.commands.shared import embedded_event_log  # noqa: E402
from shaoxing_ops.exchange import copy_window, day_window, full_reload, make_engine  # noqa: E402
from shaoxing_ops.exchange.province_store import SqlProvinceStore  # noqa: E402
from shaoxing_ops.simulate.run import simulate  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # Dagster's own log lines, not ours
PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def say(text: str) -> None:
    print(text, flush=True)


def best(fn, times: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """The fastest of ``times`` calls of ``fn`` and what it returned."""
    out, best_s = None, float("inf")
    for _ in range(times):
        started = time.perf_counter()
        out = fn()
        best_s = min(best_s, time.perf_counter() - started)
    return best_s, out


def admin() -> sa.Engine:
    return sa.create_engine(make_engine(PG).url, isolation_level="AUTOCOMMIT")


def db_url(name: str) -> str:
    """The URL of the database ``name`` on the bench's server."""
    return make_engine(PG).url.set(database=name).render_as_string(hide_password=False)


def new_db(label: str) -> str:
    name = f"sxops_bench_{label}_{uuid.uuid4().hex[:6]}"
    with admin().connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return db_url(name)


def analyze_province(engine: sa.Engine) -> float:
    """Gather a simulated province's statistics, as its own server's autovacuum would keep them (this machine
    kind's server runs without; unanalysed, the checks' look-ups of recent changes are planned as whole-table
    scans). Returns the seconds it took."""
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def drop_db(url: str) -> None:
    with admin().connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)')


def grow_baseinfo(url: str, rows: int) -> int:
    """Simulate a small province, then multiply its E_BASEINFO rows (new keys) up to ``rows``."""
    catalog = load_catalog()
    engine = make_engine(url)
    day = dt.date(2026, 6, 1)
    simulate(catalog, SqlProvinceStore(engine, catalog), day, day, scale=0.05, seed=1)
    with engine.begin() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM e_baseinfo").scalar_one()
        copies = -(-rows // have)
        cols = [c.name for c in catalog.table("E_BASEINFO").columns if c.name not in ("pripid", "uniscid")]
        conn.exec_driver_sql(f"""
            INSERT INTO e_baseinfo (pripid, uniscid, {", ".join(cols)})
            SELECT md5(pripid || ':' || k), left(uniscid, 17) || mod(k, 10)::text, {", ".join(cols)}
            FROM e_baseinfo, generate_series(1, {copies - 1}) AS k""")
        conn.exec_driver_sql("UPDATE e_baseinfo SET dsc_biz_operation = 'I' WHERE dsc_biz_operation = 'D'")
        n = conn.exec_driver_sql("SELECT count(*) FROM e_baseinfo").scalar_one()
    with sa.create_engine(engine.url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE e_baseinfo")
    engine.dispose()
    return n


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.exchange import full_reload, make_engine
t = load_catalog().table("E_BASEINFO")
src, tgt = make_engine({src!r}), make_engine({tgt!r})
started = time.perf_counter()
r = full_reload(t, src, tgt)
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": r.target_rows, "method": r.method,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def raw_pipe(src: str, tgt: str, indexed: bool, table: str = "e_baseinfo", keep: bool = False) -> float:
    """The floor: `psql -c "COPY … TO STDOUT" | psql -c "COPY … FROM STDIN"`, two processes, one pipe, into a
    copy of ``table`` (bare or with its indexes) made in the target beside it."""
    t = make_engine(tgt)
    with t.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS raw_copy")
        conn.exec_driver_sql(
            f"CREATE TABLE raw_copy (LIKE {table} INCLUDING ALL)"
            if indexed
            else f"CREATE TABLE raw_copy (LIKE {table})"
        )

    def libpq(url: str) -> str:
        return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    command = (
        f"psql -X -q '{libpq(src)}' -c 'COPY {table} TO STDOUT (FORMAT BINARY)' | "
        f"psql -X -q '{libpq(tgt)}' -c 'COPY raw_copy FROM STDIN (FORMAT BINARY)'"
    )
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)
    seconds = time.perf_counter() - started
    if not keep:  # kept: the caller drops it
        with t.begin() as conn:
            conn.exec_driver_sql("DROP TABLE raw_copy")
    return seconds


def bench_full_load(rows: int) -> None:
    say(f"== 1. full load of E_BASEINFO, PostgreSQL → PostgreSQL, >= {rows:,} rows")
    src, tgt = new_db("src"), new_db("tgt")
    try:
        n = grow_baseinfo(src, rows)
        say(f"   source rows: {n:,}")
        # Warm both sides once, so neither pays the first read from disk; the front then holds the table
        # already, as it does when a table is re-initialised.
        full_reload(load_catalog().table("E_BASEINFO"), make_engine(src), make_engine(tgt))
        raw_pipe(src, tgt, indexed=False)
        pipes, indexed, loads = [], [], []
        for _ in range(2):
            pipes.append(raw_pipe(src, tgt, indexed=False))
            indexed.append(raw_pipe(src, tgt, indexed=True))
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(root=str(ROOT), src=src, tgt=tgt)],
                check=True,
                capture_output=True,
                text=True,
            )
            loads.append(json.loads(out.stdout.strip().splitlines()[-1]))
        pipe, pipe_ix = min(pipes), min(indexed)
        load = min(loads, key=lambda x: x["seconds"])
        peak = max(x["maxrss_mb"] for x in loads)
        say(f"   raw COPY pipe into a bare table:        {pipe:7.2f} s")
        say(f"   raw COPY pipe into the indexed table:   {pipe_ix:7.2f} s")
        say(
            f"   shaoxing-ops full reload ({load['method']}): {load['seconds']:7.2f} s, {load['rows']:,} rows"
        )
        say(f"   ratio to the bare pipe:    {load['seconds'] / pipe:5.2f}x   (target <= 1.15x)")
        say(f"   ratio to the indexed pipe: {load['seconds'] / pipe_ix:5.2f}x")
        say(f"   peak memory of the loading process: {peak:.0f} MB   (target <= 300 MB)")
    finally:
        drop_db(src)
        drop_db(tgt)


def noop_twins(catalog):  # type: ignore[no-untyped-def]
    """Dagster's floor for the nightly job: an asset per table that moves nothing, and a check step per table
    that records the same number of results (every check, passed, for each day) without looking at data."""
    import dagster as dg

    from shaoxing_ops.dagster_internals import check_evaluation_events
    from shaoxing_ops.defs.checks import check_specs
    from shaoxing_ops.defs.partitions import daily
    from shaoxing_ops.defs.province.assets import asset_key, group_name
    from shaoxing_ops.names import PROVINCE_CHECKS

    def twins(key: dg.AssetKey, group: str, checks_name: str) -> list:
        @dg.asset(key=key, partitions_def=daily, group_name=group)
        def _noop():  # type: ignore[no-untyped-def]  # (an annotation here would be a string Dagster cannot resolve)
            return dg.MaterializeResult(metadata={"rows_read": 0})

        @dg.multi_asset_check(specs=check_specs(key), can_subset=True, name=checks_name)
        def _noop_checks(context):  # type: ignore[no-untyped-def]
            results = [
                dg.AssetCheckEvaluation(asset_key=key, check_name=name, passed=True, partition=day)
                for name in PROVINCE_CHECKS
                for day in context.partition_keys
            ]
            yield from check_evaluation_events(context, results)

        return [_noop, _noop_checks]

    return [
        d
        for system in catalog.systems
        for t in system.tables
        for d in twins(asset_key(t), group_name(system), f"province__{t.system}__{t.db_name}__checks")
    ]


def step_seconds(instance, run_id: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(run_id)}


def bench_nightly(scale: float) -> None:
    import statistics

    import dagster as dg

    from shaoxing_ops.defs.province.assets import province_assets
    from shaoxing_ops.defs.province.checks import province_checks
    from shaoxing_ops.defs.resources import Databases

    say(f"== 2. nightly run of every provincial table for one day with its checks, scale {scale}")
    collector.tune()  # as in every process that loads the definitions and runs the job
    catalog = load_catalog()
    src, tgt = new_db("nsrc"), new_db("ntgt")
    try:
        start, day = dt.date(2026, 6, 1), dt.date(2026, 6, 3)
        engine = make_engine(src)
        simulate(catalog, SqlProvinceStore(engine, catalog), start, day, scale=scale, seed=2)
        analyze_province(engine)
        source, target = engine, make_engine(tgt)
        for table in catalog.tables:  # the front is up to date until the night before
            copy_window(table, source, target, None, dt.datetime.combine(day, dt.time()))
        changes = 0
        with engine.connect() as conn:
            lo, hi = day_window(day)
            for table in catalog.tables:
                changes += conn.execute(
                    sa.text(
                        f"SELECT count(*) FROM {table.db_name} WHERE dsc_biz_timestamp >= :a "
                        "AND dsc_biz_timestamp < :b"
                    ),
                    {"a": lo, "b": hi},
                ).scalar_one()
        say(
            f"   {len(catalog.tables)} tables, {changes:,} changed rows on {day}; the embedded default instance"
        )
        real = [*province_assets(catalog), *province_checks(catalog)]
        floor = noop_twins(catalog)
        resources = {"databases": Databases(province_url=src, front_url=tgt, bureau_url=tgt)}
        timings: dict[str, list[float]] = {"floor": [], "real": []}
        steps: dict[str, float] = {}
        with (
            tempfile.TemporaryDirectory() as home,
            dg.instance_for_test(
                temp_dir=home, overrides={"event_log_storage": embedded_event_log(Path(home) / "runs")}
            ) as instance,
        ):
            for _ in range(3):
                for label, defs in (("floor", floor), ("real", real)):
                    started = time.perf_counter()
                    res = dg.materialize(
                        defs,
                        instance=instance,
                        resources=resources,
                        partition_key=day.isoformat(),
                        run_config=QUIET,
                    )
                    assert res.success
                    timings[label].append(time.perf_counter() - started)
                    if label == "real" and timings[label][-1] == min(timings[label]):
                        steps = step_seconds(instance, res.run_id)
        floor_s, actual = min(timings["floor"]), min(timings["real"])
        loads = {k: v for k, v in steps.items() if not k.endswith("__checks")}
        checks = {k.removesuffix("__checks"): v for k, v in steps.items() if k.endswith("__checks")}
        per_table = [checks[k] / loads[k] for k in loads if k in checks and loads[k] > 0]
        say(f"   Dagster floor (no-op assets, as many no-op check results): {floor_s:6.2f} s")
        say(f"   nightly run (real loads and every check):                   {actual:6.2f} s")
        say(f"   ratio: {actual / floor_s:5.2f}x   (target <= 1.3x)")
        say(
            f"   steps: loads {sum(loads.values()):.2f} s, checks {sum(checks.values()):.2f} s over {len(loads)} tables; "
            f"checks / load of a table: median {statistics.median(per_table):.2f}x, "
            f"p90 {statistics.quantiles(per_table, n=10)[-1]:.2f}x   (target <= 2x)"
        )
    finally:
        drop_db(src)
        drop_db(tgt)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--only", choices=["full", "nightly", "mariadb"])
    args = parser.parse_args()
    if args.only in (None, "full"):
        bench_full_load(args.rows)
    if args.only in (None, "nightly"):
        bench_nightly(args.scale)
    if args.only in (None, "mariadb"):
        mariadb_reload.when_server("MariaDB full reload", mariadb_reload.bench_full_reload, args.rows)


if __name__ == "__main__":
    main()
