"""``shaoxing-ops demo``: simulate the province for whole months, load every table through Dagster (two runs at
a time, the upload as soon as its sources are in), compare, then the statistics and the three reports."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shaoxing_ops import settings

from ..serve.proxy import ROOT
from .runs import RunResult, run_partition, run_province_range, run_range
from .shared import date_argument, ensure_dagster_home, ops_store, say, ticking
from .simulate import cmd_simulate

if TYPE_CHECKING:
    from shaoxing_ops.catalog import Catalog


@dataclass(frozen=True)
class DemoRun:
    """One provincial run of the demo: a source system's tables, or the part of them the upload waits for."""

    label: str
    tables: tuple[str, ...]
    feeds_bureau: bool


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("demo", help="simulate ~60 days and load every table through Dagster")
    p.add_argument("--days", type=int, default=60, help="at least this many days, from the 1st of a month")
    p.add_argument("--scale", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--reset", action="store_true", help="start the province stand-in afresh")
    p.add_argument(
        "--start", type=date_argument, help="first day instead of the 1st of a month (a shorter demo)"
    )
    p.add_argument("--end", type=date_argument, help="last day (default: yesterday)")
    p.set_defaults(func=cmd_demo)


def demo_window(end: dt.date, days: int, start: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The days the demo loads: up to ``end``, at least ``days`` of them, from the 1st of a month (whole
    months: the monthly report then covers only loaded days, none 未开始), never before SXOPS_START_DATE. An
    explicit ``start`` wins over the whole-month rule."""
    first = start or (end - dt.timedelta(days=days - 1)).replace(day=1)
    return max(first, settings.start_date()), end


def last_whole_month(end: dt.date) -> str:
    """The last month that is over on ``end``: its own month when ``end`` is the month's last day."""
    over = end if (end + dt.timedelta(days=1)).day == 1 else end.replace(day=1) - dt.timedelta(days=1)
    return over.strftime("%Y-%m")


def demo_runs(catalog: Catalog) -> list[DemoRun]:
    """The demo's provincial runs, in the order they start: a run per source system, the tables the Data
    Bureau's are made from in runs of their own and first, so that the upload starts while the rest loads; the
    last in two halves, so that the loads end on both workers together."""
    feeding = {name for bt in catalog.bureau for name in bt.sources}
    runs = []
    for system in sorted(catalog.systems, key=lambda s: -sum(t.base for t in s.tables)):
        first = tuple(t.name for t in system.tables if t.name in feeding)
        rest = tuple(t.name for t in system.tables if t.name not in feeding)
        if first:
            runs.append(
                DemoRun(f"{system.title}（数据局上报的来源表）" if rest else system.title, first, True)
            )
        if rest:
            runs.append(DemoRun(f"{system.title}（其余）" if first else system.title, rest, False))
    runs.sort(key=lambda r: not r.feeds_bureau)  # stable: by size within each kind
    # The last run starts when the two before it end, about together: in two halves it ends on both workers
    # together too, instead of on one while the other waits.
    last = runs.pop()
    if len(last.tables) < 2:
        return [*runs, last]
    halves = (last.tables[0::2], last.tables[1::2])
    return [*runs, *(DemoRun(f"{last.label} {i}/2", h, last.feeds_bureau) for i, h in enumerate(halves, 1))]


def cmd_demo(args: argparse.Namespace) -> int:
    yesterday = settings.today() - dt.timedelta(days=1)
    if args.end and args.end > yesterday:
        print(f"error: --end {args.end} is not over yet; choose {yesterday} or earlier", file=sys.stderr)
        return 2
    home = ensure_dagster_home()
    start, end = demo_window(args.end or yesterday, args.days, args.start)
    # the catalog's expected volumes are Shaoxing's size; the stand-in is `--scale` of it (volume check)
    os.environ.setdefault("SXOPS_VOLUME_SCALE", str(args.scale))
    os.environ.setdefault("SXOPS_SIMULATION", "1")  # the province is the stand-in: faults armed in it act
    say(f"shaoxing-ops demo: data in {settings.data_dir()}, Dagster instance in {home}")
    # Two worker processes for the Dagster runs, importing Dagster and the definitions on the second core while
    # the simulator uses the first.
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(2):
        pool.submit(warm_up)
    try:
        return _demo(args, home, start, end, pool)
    finally:
        pool.shutdown(cancel_futures=True)


def warm_up() -> None:
    """Import what a Dagster run of the platform needs (a worker's first run then starts at once)."""
    import shaoxing_ops.definitions  # noqa: F401


def _demo(
    args: argparse.Namespace, home: Path, start: dt.date, end: dt.date, pool: ProcessPoolExecutor
) -> int:
    from shaoxing_ops.catalog import load_catalog

    say(f"step 1/6  simulate the province, {start} … {end}, scale {args.scale}")
    sim_args = argparse.Namespace(start=start, end=end, scale=args.scale, seed=args.seed, reset=args.reset)
    cmd_simulate(sim_args)

    catalog = load_catalog()
    days = (end - start).days + 1
    units = demo_runs(catalog)
    say(
        f"step 2/6  load {len(catalog.tables)} tables × {days} days through Dagster: {len(units)} runs, two at a "
        "time, one per source system (the tables the Data Bureau's are made from in runs of their own, first; the "
        "last in two halves)"
    )
    import dagster as dg

    instance = dg.DagsterInstance.get()  # creates the instance's storage once, before two runs share it
    ok, per_table, upload = _load_and_upload(catalog, units, start, end, pool, instance)
    instance.dispose()
    bureau_ok, run_id, bureau_info = upload
    ok &= bureau_ok
    for bt in catalog.bureau:
        info = bureau_info.get(f"bureau__{bt.db_name}", {})
        say(
            f"          {bt.name:<16}{bt.title:<12}{int(info.get('dagster/row_count', 0)):>9,} rows  "
            f"{int(info.get('rows_quarantined', 0)):>5} quarantined  {info.get('status', 'not run')}"
        )

    # The statistics and the three reports run two at a time while the tables are compared.
    month = last_whole_month(end)
    monday = end - dt.timedelta(days=end.weekday() + 7)  # the last complete week
    stats_run = pool.submit(run_partition, "stats_monthly", f"{month}-01")
    reports = _start_reports(catalog, pool, start, end, monday, month)

    say("step 4/6  compare live rows, province vs. front")
    unequal = _compare(catalog, per_table)

    say(f"step 5/6  market-entity statistics of {month} (stats_monthly)")
    with ticking("computing the statistics"):
        stats_ok, run_id, stats = stats_run.result()
    ok &= stats_ok
    figures, report = stats.get("stats/market_entities", {}), stats.get("stats/market_entity_report", {})
    say(
        f"          run {run_id} {'succeeded' if stats_ok else 'FAILED'}: 实有 {figures.get('stock 实有', 0):,}, "
        f"新设 {figures.get('new 新设', 0):,}, 注销 {figures.get('cancelled 注销', 0):,}"
    )
    if report:
        say(f"          workbook {report['workbook']}\n          report   {report['report_path']}")

    say(
        f"step 6/6  operations: a host sample, the inspection sheet of {end}, the weekly report of {monday}, "
        f"the monthly report of {month}"
    )
    for key, partition in (("ops/weekly_report", monday.isoformat()), ("ops/monthly_report", f"{month}-01")):
        if (key, partition) not in reports:
            say(f"          {key}: {partition} is before the first loaded day {start}, skipped")
    with ticking("writing the reports"):
        wait(reports.values())
    for (key, partition), future in reports.items():
        run_ok, run_id, meta = future.result()
        ok &= run_ok
        path = meta.get(key, {}).get("html", "")
        say(f"          {key} {partition}: run {run_id[:8]} {'succeeded' if run_ok else 'FAILED'}  {path}")
    say("\nOpen the Dagster UI on the same data:\n    make ui        (then browse http://127.0.0.1:3000)")
    say(
        f"or: cd {home} && DAGSTER_HOME={home} SXOPS_DATA_DIR={settings.data_dir()} "
        f"{Path(sys.executable).parent / 'dg'} dev -w {ROOT / 'workspace.yaml'}"
    )
    return 0 if ok and not unequal else 1


REPORT_COST = {"ops_monthly": 3, "ops_daily": 2, "ops_weekly": 1}  # their order of length in the demo
PROGRESS_EVERY = 4.5  # seconds between the loads' progress lines: a line at least every 5 s


def _load_and_upload(
    catalog: Catalog,
    runs: list[DemoRun],
    start: dt.date,
    end: dt.date,
    pool: ProcessPoolExecutor,
    instance: Any,
) -> tuple[bool, dict, RunResult]:
    """The provincial runs two at a time, and the upload as soon as the tables it reads are loaded: whether
    every load succeeded, each table's figures, and the upload's (succeeded, run id, figures)."""
    started, since = time.perf_counter(), dt.datetime.now(dt.UTC)
    total_steps = (len(catalog.tables) + len(catalog.bureau)) * 2  # a load and a check step per table
    waiting, running = list(runs), {}
    feeding_left = sum(r.feeds_bureau for r in runs)
    ok, per_table, upload, upload_started = True, {}, (False, "", {}), False
    last_line, asking = time.perf_counter(), 0.0  # when the last line was printed; how long asking took
    while waiting or running or not upload_started:
        while len(running) < 2 and (waiting or (not upload_started and not feeding_left)):
            if not upload_started and not feeding_left:
                say(
                    f"step 3/6  upload the {len(catalog.bureau)} Data Bureau tables for the same days (one run, "
                    "while the rest loads)"
                )
                running[pool.submit(run_range, "bureau_upload", start, end)] = None
                upload_started = True
            else:
                run = waiting.pop(0)
                running[pool.submit(run_province_range, start, end, run.tables)] = run
        # a line is due PROGRESS_EVERY after the last, so the instance is asked as much earlier as it took to
        # answer last time (a busy instance takes seconds): the lines keep their pace
        lead = PROGRESS_EVERY - asking
        done, _ = wait(
            running, timeout=max(0.0, last_line + lead - time.perf_counter()), return_when=FIRST_COMPLETED
        )
        for future in done:
            run = running.pop(future)
            run_ok, run_id, figures = future.result()
            elapsed = time.perf_counter() - started
            if run is None:
                upload = (run_ok, run_id, figures)
                say(f"          upload: run {run_id} {'succeeded' if run_ok else 'FAILED'} ({elapsed:,.1f}s)")
                continue
            ok &= run_ok
            feeding_left -= run.feeds_bureau
            per_table.update(figures)
            say(
                f"          {run.label}: run {run_id} {'succeeded' if run_ok else 'FAILED'} "
                f"({len(run.tables)} tables, {elapsed:,.1f}s)"
            )
            last_line = time.perf_counter()
        if running and time.perf_counter() - last_line >= lead:  # a run's own line above counts
            asked = time.perf_counter()
            line = run_progress(instance, since, total_steps, started)
            asking = time.perf_counter() - asked
            say(f"          {line}")
            last_line = time.perf_counter()
    return ok, per_table, upload


def run_progress(instance: Any, since: dt.datetime, total_steps: int, started: float) -> str:
    """How far the runs created since ``since`` have got, from the instance: steps done of ``total_steps``,
    table-days loaded, elapsed and an estimate of what is left (at the pace so far)."""
    import dagster as dg

    records = instance.get_run_records(filters=dg.RunsFilter(created_after=since))
    stats = [instance.get_run_stats(r.dagster_run.run_id) for r in records]
    steps, days = sum(s.steps_succeeded for s in stats), sum(s.materializations for s in stats)
    elapsed = time.perf_counter() - started
    eta = f"about {elapsed * (total_steps - steps) / steps:,.0f}s left" if steps else "estimating"
    return f"{steps}/{total_steps} steps done (loads and checks), {days:,} table-days loaded, {elapsed:,.1f}s, {eta}"


def _start_reports(
    catalog: Catalog, pool: ProcessPoolExecutor, start: dt.date, end: dt.date, monday: dt.date, month: str
) -> dict[tuple[str, str], Future[RunResult]]:
    """A host sample and the demo's applications in the ops store, then the runs of the inspection sheet, the
    weekly and the monthly report whose period begins on a loaded day, by (asset, partition)."""
    from shaoxing_ops.operations.applications import demo_applications
    from shaoxing_ops.operations.databases import measure_databases
    from shaoxing_ops.operations.hostmetrics import collect

    store = ops_store()
    demo_applications(store, catalog, start)  # before the inspection sheet compares the exchange with them
    got = collect(store)
    store.record_db_sizes(measure_databases()[0], at=got.sampled_at)
    runs = [
        ("ops_daily", end.isoformat(), "ops/inspection_sheet"),
        ("ops_weekly", monday.isoformat(), "ops/weekly_report"),
        ("ops_monthly", f"{month}-01", "ops/monthly_report"),
    ]
    runs = [r for r in runs if r[1] >= start.isoformat()]
    # the longest first (the month reads every table-day of 30, the week of 7), so that the two workers, the
    # statistics on one of them, finish about together; listed in the order above
    started = {
        (key, partition): pool.submit(run_partition, job, partition)
        for job, partition, key in sorted(runs, key=lambda r: REPORT_COST[r[0]], reverse=True)
    }
    return {(key, partition): started[key, partition] for _, partition, key in runs}


def _compare(catalog: Catalog, per_table: dict[str, dict]) -> int:
    """Each provincial table's live rows in the province against the front's, with its load's figures; the
    number of tables that differ."""
    from shaoxing_ops.exchange import count_rows, sa_table, table_exists
    from shaoxing_ops.exchange.dbs import engine_for

    province, front = (
        engine_for("province"),
        engine_for("front"),
    )
    rows, unequal, failed = [], 0, 0
    for table in catalog.tables:
        step = f"province__{table.system}__{table.db_name}"
        info = per_table.get(step, {})
        t = sa_table(table)
        with province.connect() as pc:
            live = count_rows(pc, t, t.c.dsc_biz_operation != "D")
        with front.connect() as fc:
            loaded = count_rows(fc, t) if table_exists(fc, table.db_name) else 0
        status = info.get("status", "not run")
        failed += status != "ok"
        unequal += live != loaded
        moved = sum(int(info.get(k, 0)) for k in ("rows_inserted", "rows_updated", "rows_deleted"))
        rows.append((table.name, table.title, moved, info.get("step_seconds", 0.0), status, live, loaded))
    say(f"\n{'table':<24}{'rows moved':>11}{'seconds':>9}  {'status':<8}{'province':>10}{'front':>10}  title")
    for name, title, moved, secs, status, live, loaded in rows:
        mark = "" if live == loaded else "  ≠"
        say(f"{name:<24}{moved:>11,}{secs:>9.2f}  {status:<8}{live:>10,}{loaded:>10,}  {title}{mark}")
    total = sum(r[2] for r in rows)
    say(f"\n{len(rows)} tables, {total:,} rows moved, {failed} failed steps, {unequal} tables differing")
    return unequal
