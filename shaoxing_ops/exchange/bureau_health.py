"""Health of a Data Bureau table: its rows against what its mapping makes of the front tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import BureauTable, Catalog

from .copy import TS
from .health import Outcome, _as_datetime, _days, counts_by_day, within
from .opsdb import OpsStore
from .schema import sa_table, table_exists
from .upload import expected_rows
from .windows import to_local_naive


def _bureau_days(bureau: Engine, bt: BureauTable, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    if not table_exists(bureau, bt.db_name):
        return {}
    return counts_by_day(bureau, bt.table, start, end, live_only=False)


def row_count(bt: BureauTable, catalog: Catalog, front: Engine, bureau: Engine, ops: OpsStore,
              start: dt.datetime, end: dt.datetime, tolerance: float = 0.0) -> Outcome:  # fmt: skip
    """Per day: bureau rows against the mapping's rows of the window; in all: bureau rows against the front rows
    passing the mapping's filters, less those held in the quarantine."""
    start_, end_ = to_local_naive(start), to_local_naive(end)
    assert start_ is not None and end_ is not None
    expected, passing = expected_rows(bt, catalog, front, start_, end_)
    actual = _bureau_days(bureau, bt, start_, end_)
    days = _days(start_, end_)
    failed = [d for d in days if not within(expected.get(d, 0), actual.get(d, 0), tolerance)]
    held = len(
        {q["record_key"] for q in ops.quarantined(bt.name) if q["leg"] == "bureau" and not q["delivered"]}
    )
    total_expected = passing - held
    t = sa_table(bt.table)
    total = 0
    if table_exists(bureau, bt.db_name):
        with bureau.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
    total_ok = within(total_expected, total, tolerance)
    window_expected, window_actual = (
        sum(expected.get(d, 0) for d in days),
        sum(actual.get(d, 0) for d in days),
    )
    metadata: dict[str, Any] = {
        "window_expected_rows": window_expected, "window_bureau_rows": window_actual,
        "window_difference": window_actual - window_expected,
        "total_expected_rows": total_expected, "total_bureau_rows": total, "total_difference": total - total_expected,
        "front_rows_passing_filters": passing, "quarantined_source_rows": held,
    }  # fmt: skip
    passed = not failed and total_ok
    text = (f"窗口内应上报 {window_expected} 条、已上报 {window_actual} 条；全表应有 {total_expected} 条、实有 {total} 条"
            + ("，一致" if passed else f"，相差 {total - total_expected:+d} 条"))  # fmt: skip
    return Outcome(passed, text, metadata, "ERROR", failed or ([] if total_ok else days))


def freshness(bt: BureauTable, catalog: Catalog, front: Engine, bureau: Engine, start: dt.datetime,
              end: dt.datetime, *, loaded: bool, deadline: dt.datetime | None, now: dt.datetime) -> Outcome:  # fmt: skip
    start_, end_ = to_local_naive(start), to_local_naive(end)
    assert start_ is not None and end_ is not None
    expected, _ = expected_rows(bt, catalog, front, start_, end_)
    newest = None
    if table_exists(bureau, bt.db_name):
        t = sa_table(bt.table)
        with bureau.connect() as conn:
            newest = _as_datetime(conn.execute(
                sa.select(sa.func.max(t.c[TS])).where(t.c[TS] >= start_, t.c[TS] < end_)).scalar_one())  # fmt: skip
    metadata: dict[str, Any] = {"expected_rows": sum(expected.values()), "bureau_newest_change": str(newest or "无"),
                                "loaded": loaded}  # fmt: skip
    days = _days(start_, end_)
    if deadline is not None and not loaded and to_local_naive(now) > to_local_naive(deadline):
        return Outcome(False, f"截至 {to_local_naive(deadline)} 仍未上报该分区", metadata, "ERROR", days)
    if sum(expected.values()) and newest is None and loaded:
        return Outcome(False, "应上报的变更未出现在数据局表中", metadata, "ERROR", days)
    return Outcome(True, "上报及时", metadata)
