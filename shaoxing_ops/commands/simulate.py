"""``shaoxing-ops simulate``: write the province stand-in for a range of days, then switch faults on in it or in
the front database."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from shaoxing_ops import settings
from shaoxing_ops.exchange import faults

from .shared import date_argument, say

if TYPE_CHECKING:
    from shaoxing_ops.catalog import Catalog

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


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("simulate", help="write the province stand-in database for a range of days")
    p.add_argument("--start", type=date_argument, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=date_argument, required=True, help="last day (included), YYYY-MM-DD")
    p.add_argument("--scale", type=float, default=0.02, help="1.0 = Shaoxing's real size (~0.8 M entities)")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--reset", action="store_true", help="drop what was simulated before")
    p.add_argument(
        "--fault",
        action="append",
        metavar="NAME[:TABLE]",
        help="switch a fault on after simulating: " + ", ".join(faults.FAULTS),
    )
    p.add_argument("--fault-day", type=date_argument, help="day a data fault applies to (default: --end)")
    p.add_argument("--fault-rows", type=int, default=5, help="rows a data fault touches (default 5)")
    p.add_argument("--fault-times", type=int, default=1, help="loads a connection fault hits (default 1)")
    p.add_argument(
        "--fault-seconds", type=float, default=5.0, help="delay of slow-source per read (default 5)"
    )
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange import make_engine, safe_url
    from shaoxing_ops.exchange.province_store import SqlProvinceStore
    from shaoxing_ops.simulate.baseline import WORKERS
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
        catalog,
        store,
        args.start,
        args.end,
        scale=args.scale,
        seed=args.seed,
        progress=progress,
        workers=WORKERS,
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


def apply_fault(
    catalog: Catalog, spec: str, *, day: dt.date, rows: int, times: int, seconds: float
) -> list[faults.FaultReport]:
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
