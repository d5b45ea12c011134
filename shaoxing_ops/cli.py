"""The ``shaoxing-ops`` command: simulate the province, run the demo, list the catalog."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import multiprocessing
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shaoxing_ops import settings
from shaoxing_ops.exchange import faults

if TYPE_CHECKING:
    from shaoxing_ops.catalog import Catalog
    from shaoxing_ops.reports.build import ReportFiles

LOCAL_INSTANCE_YAML = """\
# The embedded default instance of shaoxing-ops: SQLite storage in this folder.
# Production uses the dagster.yaml at the repository root (PostgreSQL, queued runs, pools): see README.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 4
# Dagster's SQLite event log in its usual place, keeping its databases open between statements: a ranged
# load records one check result per check and day (shaoxing_ops/dagster_internals.py says why and how).
event_log_storage:
  module: shaoxing_ops.dagster_internals
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {runs}
"""


@contextmanager
def ticking(label: str, progress: Callable[[], str] | None = None, every: float = 4.5) -> Iterator[None]:
    """A line every ``every`` seconds while a step that prints nothing itself runs: a long command never goes
    quiet. ``progress`` adds how far it has got."""
    started, stop = time.perf_counter(), threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            say(
                f"          … {label}: {progress() if progress else f'{time.perf_counter() - started:,.1f}s'}"
            )

    thread = threading.Thread(target=tick, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def embedded_event_log(runs: Path) -> dict:
    """The embedded default instance's event-log storage with its databases in ``runs``: for an instance made
    elsewhere (the tests', the benchmarks') to write events as ``shaoxing-ops`` runs do."""
    import yaml

    return yaml.safe_load(LOCAL_INSTANCE_YAML.format(runs=runs))["event_log_storage"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def say(text: str) -> None:
    print(text, flush=True)


def ensure_dagster_home() -> Path:
    """Use ``DAGSTER_HOME`` or ``./var/dagster``, creating the embedded instance's config on first use."""
    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML.format(runs=home / "history" / "runs"), encoding="utf-8")
    return home


# -- simulate ---------------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange import make_engine, safe_url
    from shaoxing_ops.exchange.province_store import SqlProvinceStore
    from shaoxing_ops.simulate.run import simulate

    url = settings.database_url("province")
    catalog = load_catalog()
    say(
        f"province stand-in: {safe_url(url)}  scale {args.scale}  seed {args.seed}  {args.start} … {args.end}"
    )
    store = SqlProvinceStore(make_engine(url), catalog)
    if args.reset:
        say("reset: dropping the simulated tables")
        store.reset()
    started = time.perf_counter()
    last_note, last_said = [""], [0.0]

    def progress(note: str, rows: int) -> None:
        # Every day gets a line; the baseline's ~140 tables get one every few seconds, so it never goes quiet.
        head, now = note.split(":")[0], time.perf_counter()
        if note.startswith("day") or head != last_note[0] or now - last_said[0] >= 3.0:
            say(f"  {note:<40} {rows:>9,} rows  ({now - started:,.1f}s)")
            last_said[0] = now
        last_note[0] = head

    state = store.load_state()
    if state and args.end > dt.date.fromisoformat(state["last_day"]):
        for r in faults.deliver_late(catalog, store.engine):  # what was withheld arrives with the next day
            say(f"  late delivery: {r.table} {r.detail}")
    report = simulate(
        catalog, store, args.start, args.end, scale=args.scale, seed=args.seed, progress=progress
    )
    if report.days_skipped:
        say(f"already simulated, left as they are: {report.days_skipped[0]} … {report.days_skipped[-1]}")
    total = sum(report.rows.values())
    say(
        f"done: {len(report.days_simulated)} days, {total:,} rows written in {time.perf_counter() - started:,.1f}s"
    )
    for spec in getattr(args, "fault", None) or []:
        for r in apply_fault(
            catalog,
            spec,
            day=args.fault_day or args.end,
            rows=args.fault_rows,
            times=args.fault_times,
            seconds=args.fault_seconds,
        ):
            say(f"fault {r.fault} on {r.table}: {r.detail}")
    return 0


DEFAULT_FAULT_TABLE = {
    "late-day": "E_ALTER_RECODER",
    "connection-drop": "E_BASEINFO",
    "slow-source": "E_BASEINFO",
    "target-missing": "E_PRI_PERSON",
    "target-duplicated": "E_PRI_PERSON",
    "target-altered": "E_PRI_PERSON",
    "column-added": "E_BASEINFO",
    "column-retyped": "E_BASEINFO",
    "bad-code": "E_BASEINFO",
}


def apply_fault(catalog, spec: str, *, day: dt.date, rows: int, times: int, seconds: float):  # type: ignore[no-untyped-def]
    """``NAME[:TABLE]``: faults of the province act on SXOPS_PROVINCE_URL, those of the target on the front."""
    from shaoxing_ops.exchange.dbs import engine_for

    name, _, table_name = spec.partition(":")
    if name not in faults.FAULTS:
        raise faults.FaultError(f"unknown fault {name!r}; choose one of: {', '.join(faults.FAULTS)}")
    province = engine_for("province")
    front = engine_for("front")
    if name == "deliver-late":
        return faults.deliver_late(catalog, province)
    try:
        table = catalog.table(table_name or DEFAULT_FAULT_TABLE[name])
    except KeyError as exc:
        raise faults.FaultError(str(exc.args[0])) from None
    actions = {
        "late-day": lambda: faults.late_day(table, province, day),
        "connection-drop": lambda: faults.arm(province, name, table, times=times),
        "slow-source": lambda: faults.arm(province, name, table, times=times, seconds=seconds),
        "target-missing": lambda: faults.target_missing(table, front, rows),
        "target-duplicated": lambda: faults.target_duplicated(table, front, rows),
        "target-altered": lambda: faults.target_altered(table, front, rows),
        "column-added": lambda: faults.column_added(table, province),
        "column-retyped": lambda: faults.column_retyped(table, province),
        "bad-code": lambda: faults.bad_code(table, province, day, rows),
    }
    return [actions[name]()]


# -- demo -------------------------------------------------------------------------------------------
def nightly_job():  # type: ignore[no-untyped-def]
    """Module-level so Dagster can rebuild the job in the run it launches (``reconstructable``)."""
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def("province_nightly")


def bureau_job():  # type: ignore[no-untyped-def]
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def("bureau_upload")


def stats_job():  # type: ignore[no-untyped-def]
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def("stats_monthly")


def ops_daily_job():  # type: ignore[no-untyped-def]
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def("ops_daily")


def ops_weekly_job():  # type: ignore[no-untyped-def]
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def("ops_weekly")


def ops_monthly_job():  # type: ignore[no-untyped-def]
    from shaoxing_ops.definitions import defs

    return defs.resolve_job_def("ops_monthly")


def run_month(month: str):  # type: ignore[no-untyped-def]
    """The statistics job for one month (its partition key is the month's first day)."""
    return run_partition(stats_job, f"{month}-01")


def run_partition(job_fn, partition: str):  # type: ignore[no-untyped-def]
    """One partition of a job as a Dagster run; the metadata of what it materialised, by asset."""
    import dagster as dg

    tags = {"dagster/partition": partition, "shaoxing-ops/launched-by": "demo"}
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.execute_job(
        dg.reconstructable(job_fn), dg.DagsterInstance.get(), run_config=run_config, tags=tags
    ) as result:
        metadata = {}
        for event in result.all_events:
            if event.is_step_materialization:
                m = event.step_materialization_data.materialization
                metadata[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
        return result.success, result.run_id, metadata


def run_range(job_fn, start: dt.date, end: dt.date, selection=None):  # type: ignore[no-untyped-def]
    """One Dagster run over ``[start, end]`` (one step per table), with the per-table figures it recorded:
    each day's rows summed over the range, the step's seconds and the table's rows afterwards."""
    import dagster as dg

    from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    instance = dg.DagsterInstance.get()
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
        "shaoxing-ops/launched-by": "demo",
    }
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.execute_job(
        dg.reconstructable(job_fn), instance, run_config=run_config, tags=tags, asset_selection=selection
    ) as result:
        per_table: dict[str, dict] = {}
        for event in result.all_events:
            if not event.step_key:
                continue
            info = per_table.setdefault(event.step_key, {})
            if event.is_step_success:
                info["status"] = "ok"
            elif event.is_step_failure:
                info["status"] = "FAILED"
            elif event.is_step_materialization:  # one per day, each with that day's figures
                for k, v in event.step_materialization_data.materialization.metadata.items():
                    if k.startswith("rows_"):
                        info[k] = info.get(k, 0) + int(v.value)
                    else:
                        info[k] = v.value
        return result.success, result.run_id, per_table


def run_province_range(start: dt.date, end: dt.date, tables: Sequence[str] | None = None):  # type: ignore[no-untyped-def]
    """Load ``[start, end]`` of the provincial tables (those named, else all) as one Dagster run, a step per
    table."""
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.defs.province.assets import asset_key

    catalog = load_catalog()
    selection = [asset_key(catalog.table(name)) for name in tables] if tables is not None else None
    return run_range(nightly_job, start, end, selection)


@dataclass(frozen=True)
class DemoRun:
    """One provincial run of the demo: a source system's tables, or the part of them the upload waits for."""

    label: str
    tables: tuple[str, ...]
    feeds_bureau: bool


def demo_runs(catalog: Catalog) -> list[DemoRun]:
    """The demo's provincial runs, in the order they start: a run per source system, the tables the Data
    Bureau's are made from in runs of their own and first, so that the upload starts while the rest loads."""
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
    return sorted(runs, key=lambda r: not r.feeds_bureau)  # stable: by size within each kind


def _load_and_upload(
    catalog: Catalog, runs: list[DemoRun], start: dt.date, end: dt.date, pool: ProcessPoolExecutor, instance
) -> tuple[bool, dict, tuple[bool, str, dict]]:  # type: ignore[no-untyped-def]
    """The provincial runs two at a time, and the upload as soon as the tables it reads are loaded: whether
    every load succeeded, each table's figures, and the upload's (succeeded, run id, figures)."""
    started, since = time.perf_counter(), dt.datetime.now(dt.UTC)
    total_steps = (len(catalog.tables) + len(catalog.bureau)) * 2  # a load and a check step per table
    waiting, running = list(runs), {}
    feeding_left = sum(r.feeds_bureau for r in runs)
    ok, per_table, upload, upload_started = True, {}, (False, "", {}), False
    last_line = time.perf_counter()
    while waiting or running or not upload_started:
        while len(running) < 2 and (waiting or (not upload_started and not feeding_left)):
            if not upload_started and not feeding_left:
                say(
                    f"step 3/6  upload the {len(catalog.bureau)} Data Bureau tables for the same days (one run, "
                    "while the rest loads)"
                )
                running[pool.submit(run_range, bureau_job, start, end)] = None
                upload_started = True
            else:
                run = waiting.pop(0)
                running[pool.submit(run_province_range, start, end, run.tables)] = run
        done, _ = wait(running, timeout=4.5, return_when=FIRST_COMPLETED)
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
        if running and time.perf_counter() - last_line >= 4.5:  # a line at least every 5 s
            say(f"          {run_progress(instance, since, total_steps, started)}")
            last_line = time.perf_counter()
    return ok, per_table, upload


def run_progress(instance, since: dt.datetime, total_steps: int, started: float) -> str:  # type: ignore[no-untyped-def]
    """How far the runs created since ``since`` have got, from the instance: steps done of ``total_steps``,
    table-days loaded, elapsed and an estimate of what is left (at the pace so far)."""
    import dagster as dg

    records = instance.get_run_records(filters=dg.RunsFilter(created_after=since))
    stats = [instance.get_run_stats(r.dagster_run.run_id) for r in records]
    steps, days = sum(s.steps_succeeded for s in stats), sum(s.materializations for s in stats)
    elapsed = time.perf_counter() - started
    eta = f"about {elapsed * (total_steps - steps) / steps:,.0f}s left" if steps else "estimating"
    return f"{steps}/{total_steps} steps done (loads and checks), {days:,} table-days loaded, {elapsed:,.1f}s, {eta}"


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
    from shaoxing_ops.exchange import count_rows, sa_table, table_exists
    from shaoxing_ops.exchange.dbs import engine_for

    say(f"step 1/6  simulate the province, {start} … {end}, scale {args.scale}")
    sim_args = argparse.Namespace(start=start, end=end, scale=args.scale, seed=args.seed, reset=args.reset)
    cmd_simulate(sim_args)

    catalog = load_catalog()
    days = (end - start).days + 1
    units = demo_runs(catalog)
    say(
        f"step 2/6  load {len(catalog.tables)} tables × {days} days through Dagster: {len(units)} runs, two at a "
        "time, one per source system (the tables the Data Bureau's are made from in runs of their own, first)"
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
    stats_run = pool.submit(run_month, month)
    from shaoxing_ops.operations.applications import demo_applications
    from shaoxing_ops.operations.cli import measure_databases, ops_store
    from shaoxing_ops.operations.hostmetrics import collect

    store = ops_store()
    demo_applications(store, catalog, start)  # before the inspection sheet compares the exchange with them
    got = collect(store)
    store.record_db_sizes(measure_databases()[0], at=got.sampled_at)
    reports = {}
    for job_fn, partition, key in (
        (ops_daily_job, end.isoformat(), "ops/inspection_sheet"),
        (ops_weekly_job, monday.isoformat(), "ops/weekly_report"),
        (ops_monthly_job, f"{month}-01", "ops/monthly_report"),
    ):
        if partition >= start.isoformat():
            reports[key, partition] = pool.submit(run_partition, job_fn, partition)

    say("step 4/6  compare live rows, province vs. front")
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
        f"or: DAGSTER_HOME={home} SXOPS_DATA_DIR={settings.data_dir()} .venv/bin/dagster dev -w workspace.yaml"
    )
    return 0 if ok and not unequal else 1


# -- catalog ----------------------------------------------------------------------------------------
def cmd_catalog(args: argparse.Namespace) -> int:
    """Validate the packaged catalog with the site's, and say what the site changes."""
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.catalog.loader import PACKAGED, load_catalog_from, site_catalog_dir

    site = site_catalog_dir()
    catalog = load_catalog()  # a CatalogError names file, line and field (main prints it in one line)
    say(
        f"catalog valid: {len(catalog.tables)} provincial tables in {len(catalog.systems)} systems, "
        f"{len(catalog.bureau)} Data Bureau tables, {len(catalog.codesets)} code sets"
    )
    if site is None:
        say("no site catalog (SXOPS_CATALOG_DIR unset): the packaged catalog as it is")
        return 0
    packaged = {t.name: t for t in load_catalog_from(PACKAGED).tables}
    mine = {t.name: t for t in catalog.tables}
    added = sorted(set(mine) - set(packaged))
    dropped = sorted(set(packaged) - set(mine))
    changed = sorted(n for n in set(mine) & set(packaged) if mine[n] != packaged[n])
    say(f"site catalog {site}: {len(added)} added, {len(changed)} changed, {len(dropped)} dropped")
    for label, names in (("added", added), ("changed", changed), ("dropped", dropped)):
        for name in names:
            t = mine.get(name) or packaged[name]
            source = (
                f"  (source {t.source_schema + '.' if t.source_schema else ''}{t.source_name})"
                if (name in mine and t.source_name)
                else ""
            )
            say(f"  {label:<8}{name:<24}{t.title}{source}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from shaoxing_ops.exchange.maintenance import migrate

    if not args.reason.strip() or not args.approved_by.strip():
        print('error: 结构变更须注明原因和审批人: --reason "…" --approved-by "…" (refused)', file=sys.stderr)
        return 2
    engine, ops = _engines_and_ops()
    for i, table in enumerate(_pick(args.tables), 1):
        added = migrate(table, engine("front"), ops, reason=args.reason, approved_by=args.approved_by)
        if added:
            say(
                f"[{i}] {table.name} {table.title}: added {', '.join(added)} (approved by {args.approved_by}); "
                f"rows already loaded hold NULL there until `shaoxing-ops reconcile {table.name} --repair`"
            )
        else:
            say(f"[{i}] {table.name} {table.title}: front table already has every catalog column")
    return 0


# -- tables -----------------------------------------------------------------------------------------
def cmd_tables(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog

    catalog = load_catalog()
    for system in catalog.systems:
        say(f"{system.title} ({system.name}): {len(system.tables)} tables")
        for t in system.tables:
            say(
                f"  {t.name:<26}{t.title:<20} key {', '.join(t.key):<12} {len(t.columns):>3} columns  ~{t.volume:g}/day"
            )
    say(f"数据局上报 (bureau): {len(catalog.bureau)} tables")
    for b in catalog.bureau:
        say(f"  {b.name:<26}{b.title:<20} from {', '.join(b.sources)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shaoxing-ops", description="绍兴市市场监督管理局 data exchange platform"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="write the province stand-in database for a range of days")
    p.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=_date, required=True, help="last day (included), YYYY-MM-DD")
    p.add_argument("--scale", type=float, default=0.02, help="1.0 = Shaoxing's real size (~0.8 M entities)")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--reset", action="store_true", help="drop what was simulated before")
    p.add_argument(
        "--fault",
        action="append",
        metavar="NAME[:TABLE]",
        help="switch a fault on after simulating: " + ", ".join(faults_names()),
    )
    p.add_argument("--fault-day", type=_date, help="day a data fault applies to (default: --end)")
    p.add_argument("--fault-rows", type=int, default=5, help="rows a data fault touches (default 5)")
    p.add_argument("--fault-times", type=int, default=1, help="loads a connection fault hits (default 1)")
    p.add_argument(
        "--fault-seconds", type=float, default=5.0, help="delay of slow-source per read (default 5)"
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="simulate ~60 days and load every table through Dagster")
    p.add_argument("--days", type=int, default=60, help="at least this many days, from the 1st of a month")
    p.add_argument("--scale", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--reset", action="store_true", help="start the province stand-in afresh")
    p.add_argument("--start", type=_date, help="first day instead of the 1st of a month (a shorter demo)")
    p.add_argument("--end", type=_date, help="last day (default: yesterday)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("tables", help="list the catalog")
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser(
        "catalog", help="the catalog: `check` validates it with the site's (SXOPS_CATALOG_DIR)"
    )
    p.add_argument("action", choices=("check",))
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("migrate", help="add the catalog's new columns to front tables in place, audited")
    p.add_argument("tables", nargs="+", metavar="TABLE")
    p.add_argument("--reason", default="", help="why (required)")
    p.add_argument("--approved-by", default="", help="who approved it (required)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "reconcile", help="checksum-compare tables, province vs. front; --repair re-copies what differs"
    )
    p.add_argument("tables", nargs="*", metavar="TABLE", help="e.g. E_BASEINFO; none means every table")
    p.add_argument("--repair", action="store_true")
    p.add_argument("--leg", choices=LEGS, default="province", help=LEG_HELP)
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("reinit", help="full re-initialisation (数据初始化) of tables, audited")
    p.add_argument("tables", nargs="+", metavar="TABLE")
    p.add_argument("--reason", default="", help="why (required)")
    p.add_argument("--approved-by", default="", help="who approved it (required)")
    p.add_argument("--leg", choices=LEGS, default="province", help=LEG_HELP)
    p.set_defaults(func=cmd_reinit)

    p = sub.add_parser(
        "stats", help="monthly market-entity statistics (市场主体统计): tables, Excel and HTML"
    )
    p.add_argument("--month", required=True, type=_month, help="statistics month, YYYY-MM")
    p.add_argument("--revoked-in-stock", action="store_true", help="count 吊销未注销 entities in 实有")
    p.add_argument(
        "--individual-code", choices=("9600", "9999"), help="type code for 个体工商户 (default 9600)"
    )
    p.add_argument("--force", action="store_true", help="compute a month that is not over yet")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser(
        "report",
        help="inspection sheet (巡检单), weekly (运维周报), monthly (运维服务月报) report or the year-end "
        "summary (运维服务年度总结)",
    )
    p.add_argument("kind", choices=("daily", "weekly", "monthly", "annual"))
    p.add_argument(
        "date",
        help="daily: the day; weekly: any day of the week (Monday to Sunday); monthly: YYYY-MM; annual: YYYY",
    )
    p.add_argument("--force", action="store_true", help="write it even for a period outside the loaded days")
    p.set_defaults(func=cmd_report)

    from shaoxing_ops.alerts.cli import add_alert_parser
    from shaoxing_ops.operations.cli import add_feedback_parser, add_host_parser, add_register_parsers
    from shaoxing_ops.serve.cli import add_serve_parser

    add_feedback_parser(sub)
    add_register_parsers(sub)
    add_host_parser(sub)
    add_alert_parser(sub)
    add_serve_parser(sub)
    return parser


def _month(text: str) -> str:
    try:
        dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; use YYYY-MM, e.g. 2026-10") from None
    return text


def faults_names() -> list[str]:
    return list(faults.FAULTS)


def _engines_and_ops():  # type: ignore[no-untyped-def]
    """The configured databases by role, each engine made once when first asked for, and the exchange's
    records."""
    import functools

    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.exchange.records import ExchangeRecords

    engine = functools.cache(engine_for)
    return engine, ExchangeRecords(engine("ops")).ensure()


def _pick(names: list[str], leg: str = "province"):  # type: ignore[no-untyped-def]
    """The catalog's tables of a leg by name (all where none are named): provincial tables, or bureau tables."""
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange.maintenance import tables_of

    try:
        return tables_of(load_catalog(), leg, names)
    except KeyError as exc:
        raise faults.FaultError(str(exc.args[0])) from None


LEGS = ("province", "bureau")
LEG_HELP = (
    "province: the front's tables against the province (E_BASEINFO…); bureau: the Data Bureau's tables "
    "against what their mapping makes of the front (SCJG_ZTXX…)"
)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange.maintenance import reconcile_any
    from shaoxing_ops.exchange.reconcile import diff_report

    engine, ops = _engines_and_ops()
    catalog, tables = load_catalog(), _pick(args.tables, args.leg)
    unequal = 0
    for i, table in enumerate(tables, 1):
        say(f"[{i}/{len(tables)}] {table.name} {table.title}")
        outcome = reconcile_any(table, catalog, engine, ops, fix=args.repair, launched_by=getpass.getuser())
        say(diff_report(outcome.diff, outcome.repaired))
        unequal += not outcome.equal_now
    if unequal:
        say(
            f"\n{unequal} table(s) differ"
            + ("" if args.repair else "; run again with --repair to re-copy the rows")
        )
    return 1 if unequal else 0


def cmd_reinit(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange.maintenance import reinitialise_any
    from shaoxing_ops.exchange.reconcile import diff_report

    if not args.reason.strip() or not args.approved_by.strip():
        print(
            'error: 数据初始化须注明原因和审批人: --reason "…" --approved-by "…" (refused)', file=sys.stderr
        )
        return 2
    engine, ops = _engines_and_ops()
    catalog, tables = load_catalog(), _pick(args.tables, args.leg)
    for i, table in enumerate(tables, 1):
        say(
            f"[{i}/{len(tables)}] re-initialising {table.name} {table.title} (approved by {args.approved_by})"
        )

        def progress(done: int, unit: str) -> None:
            print(f"\r    {done:,} {unit}", end="", flush=True)

        loaded, check = reinitialise_any(
            table,
            catalog,
            engine,
            ops,
            reason=args.reason,
            approved_by=args.approved_by,
            progress=progress,
            launched_by=getpass.getuser(),
        )
        print()
        say(f"    rows before {loaded.rows_before:,}, after {loaded.target_rows:,}, {loaded.seconds:.1f}s")
        say(diff_report(check.diff))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.stats import Settings
    from shaoxing_ops.stats import store as stats_store
    from shaoxing_ops.stats.commentary import sentences
    from shaoxing_ops.stats.outputs import trend_months, write_outputs

    stats_settings = Settings.from_env().with_choices(args.revoked_in_stock or None, args.individual_code)
    first = dt.date.fromisoformat(f"{args.month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    if last >= settings.today() and not args.force:
        print(
            f"error: the month {args.month} is not over (today is {settings.today()}); statistics are "
            "made of complete months: choose an earlier month, or add --force",
            file=sys.stderr,
        )
        return 2
    if args.month < stats_settings.since:
        print(
            f"error: {args.month} is before the statistics start {stats_settings.since}; "
            "choose a later month or set SXOPS_STATS_SINCE",
            file=sys.stderr,
        )
        return 2
    front = engine_for("front")
    months = trend_months(args.month, stats_settings)
    say(
        f"[1/3] computing {months[0]} … {months[-1]} from {safe_front()} (statistics since {stats_settings.since})"
    )
    try:
        out = write_outputs(front, args.month, stats_settings)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    written = stats_store.write(front, out.frame, [args.month])
    say(
        f"[2/3] stored {args.month} in the front database: "
        + ", ".join(f"{k} {v} rows" for k, v in written.items())
    )
    say(f"[3/3] workbook {out.workbook}\n      report   {out.report}\n      Word     {out.documents.docx}")
    if out.documents.pdf:
        say(f"      PDF      {out.documents.pdf}")
    if out.documents.missing:
        say(f"      warning: {out.documents.missing}")
    for line in sentences(out.frame, args.month):
        say(f"      {line}")
    return 0


def report_period(kind: str, text: str) -> tuple[dt.date, dt.date]:
    """The first and last day a report covers."""
    try:
        day = dt.date.fromisoformat(f"{text}-01" if kind == "monthly" and len(text) == 7 else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use YYYY-MM-DD" + (" or YYYY-MM" if kind == "monthly" else "")
        ) from None
    if kind == "daily":
        return day, day
    if kind == "weekly":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    first = day.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def outside_data(what: str, first: dt.date, last: dt.date) -> str | None:
    """Why a period cannot be reported from the data (it starts before the first partition, or is not over
    yet), or None. Such a report would only list every table as 未开始."""
    start, yesterday = settings.start_date(), settings.today() - dt.timedelta(days=1)
    if last < start or first < start:
        return f"{what} begins before the first partition, {start} (SXOPS_START_DATE)"
    if last > yesterday:
        return f"{what} reaches past the last complete day, {yesterday}"
    return None


def cmd_report(args: argparse.Namespace) -> int:
    import dagster as dg

    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.exchange.records import ExchangeRecords
    from shaoxing_ops.operations.records import OperationsRecords
    from shaoxing_ops.reports import build

    if args.kind == "annual":
        return cmd_report_annual(args)
    try:
        first, last = report_period(args.kind, args.date)
    except argparse.ArgumentTypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    period = str(first) if first == last else f"{first} … {last}"
    problem = outside_data(f"the {args.kind} report of {period}", first, last)
    if problem and not args.force:
        print(f"error: {problem}; choose another date, or add --force to write it anyway", file=sys.stderr)
        return 2
    home = ensure_dagster_home()
    say(f"[1/3] reading runs and checks of {first} … {last} from the Dagster instance in {home}")
    instance = dg.DagsterInstance.get()
    ops_db = engine_for("ops")
    exchange, operations = ExchangeRecords(ops_db).ensure(), OperationsRecords(ops_db).ensure()
    if args.kind == "daily":
        report = build.daily_sheet(instance, exchange, operations, first)
        stem = f"巡检单_{first.isoformat()}"
    else:
        front = engine_for("front") if args.kind == "monthly" else None
        report = build.period_report(instance, exchange, operations, first, last, args.kind, front)
        stem = f"运维周报_{first.isoformat()}" if args.kind == "weekly" else f"运维服务月报_{first:%Y-%m}"
    s = report["summary"]
    say(
        f"[2/3] {s['tables']} table-days: {s['succeeded']} succeeded, {s['failed']} failed, "
        f"{s['not_started']} not started, {s['checks_failed']} failed checks, {s['repushed']} re-pushed"
    )
    say("[3/3] writing the HTML, JSON, Word and PDF copies")
    files = build.write(report, stem)
    _say_written(files)
    return 0


def _say_written(files: ReportFiles) -> None:
    """Where a report and its copies went, and what a copy lacks (no Chromium, no Chinese font)."""
    for path in (files.html, files.json, files.documents.docx, files.documents.pdf):
        if path:
            say(f"      {path}")
    if files.documents.missing:
        say(f"      warning: {files.documents.missing}")


def cmd_report_annual(args: argparse.Namespace) -> int:
    """The year-end summary: the service year so far (to yesterday), month by month."""
    import dagster as dg

    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.exchange.records import ExchangeRecords
    from shaoxing_ops.operations.records import OperationsRecords
    from shaoxing_ops.reports import annual

    if not re.fullmatch(r"\d{4}", args.date):
        print(f"error: {args.date!r} is not a year; use YYYY, e.g. 2026", file=sys.stderr)
        return 2
    try:
        first, last = annual.service_year(int(args.date), settings.today())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    home = ensure_dagster_home()
    say(
        f"[1/2] reading {first} … {last} (from the first day loaded) month by month from the instance in {home}"
    )
    ops_db = engine_for("ops")
    exchange, operations = ExchangeRecords(ops_db).ensure(), OperationsRecords(ops_db).ensure()
    report = annual.annual_report(
        dg.DagsterInstance.get(), exchange, operations, int(args.date), settings.today(), progress=say
    )
    p, b = report["legs"]["province"], report["legs"]["bureau"]
    say(
        f"[2/2] availability: province {p['availability']}%, bureau {b['availability']}%; "
        f"writing the HTML, JSON, Word and PDF copies"
    )
    files = annual.write(report)
    _say_written(files)
    return 0


def safe_front() -> str:
    from shaoxing_ops.exchange import safe_url

    return safe_url(settings.database_url("front"))


def main(argv: Sequence[str] | None = None) -> int:
    import sqlalchemy as sa

    from shaoxing_ops.catalog import CatalogError
    from shaoxing_ops.exchange import ExchangeError
    from shaoxing_ops.exchange.dbs import DatabaseConfigError, connect_error
    from shaoxing_ops.simulate.run import SimulationError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (
        CatalogError,
        ExchangeError,
        SimulationError,
        DatabaseConfigError,
        settings.SettingsError,
        faults.FaultError,
    ) as exc:  # these say what to do next: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sa.exc.DBAPIError as exc:
        message = connect_error(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
