"""Health of a Data Bureau table: its rows against what its mapping makes of the front tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import BureauTable, Catalog

from .health import Days, LoadDeadline, Outcome, tally, within
from .records import ExchangeRecords
from .schema import sa_table, table_exists
from .upload import expected_rows
from .windows import days_in, to_local_naive


def _bureau_days(bureau: Engine, bt: BureauTable, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    if not table_exists(bureau, bt.db_name):
        return {}
    return tally(bureau, bt.table, start, end).counts(live_only=False)


Expected = tuple[dict[str, int], int]  # mapped upserts per day of the window; front rows passing the filters


def expected(
    bt: BureauTable, catalog: Catalog, front: Engine, start: dt.datetime, end: dt.datetime
) -> Expected:
    """What the mapping makes of the front for the window (a dry run): computed once, asked by two checks."""
    start_, end_ = to_local_naive(start), to_local_naive(end)
    assert start_ is not None and end_ is not None
    return expected_rows(bt, catalog, front, start_, end_)


def row_count(
    bt: BureauTable,
    front_expected: Expected,
    bureau: Engine,
    ops: ExchangeRecords,
    start: dt.datetime,
    end: dt.datetime,
    tolerance: float = 0.0,
) -> Days:
    """Per day: bureau rows against the mapping's rows of the day; in all: bureau rows against the front rows
    passing the mapping's filters, less those held in the quarantine. A whole-table difference is told on the
    window's first day (the bureau table is compared as it is now)."""
    start_, end_ = to_local_naive(start), to_local_naive(end)
    assert start_ is not None and end_ is not None
    per_day, passing = front_expected
    actual = _bureau_days(bureau, bt, start_, end_)
    held = len(
        {q["record_key"] for q in ops.quarantined(bt.name) if q["leg"] == "bureau" and not q["delivered"]}
    )
    total_expected = passing - held
    total = 0
    if table_exists(bureau, bt.db_name):
        with bureau.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(sa_table(bt.table))).scalar_one())
    total_ok = within(total_expected, total, tolerance)
    days = days_in(start_, end_)
    out: Days = {}
    for day in days:
        want, got = per_day.get(day, 0), actual.get(day, 0)
        day_ok = within(want, got, tolerance)
        metadata: dict[str, Any] = {
            "window_expected_rows": want,
            "window_bureau_rows": got,
            "window_difference": got - want,
            "total_expected_rows": total_expected,
            "total_bureau_rows": total,
            "total_difference": total - total_expected,
            "front_rows_passing_filters": passing,
            "quarantined_source_rows": held,
        }
        told_here = day == days[0]
        passed = day_ok and (total_ok or not told_here)
        text = f"当日应上报 {want} 条、已上报 {got} 条；全表应有 {total_expected} 条、实有 {total} 条" + (
            "，一致" if day_ok and total_ok else f"，相差 {total - total_expected:+d} 条"
        )
        out[day] = Outcome(passed, text, metadata, "ERROR")
    return out


def freshness(
    bt: BureauTable,
    front_expected: Expected,
    bureau: Engine,
    start: dt.datetime,
    end: dt.datetime,
    deadline: LoadDeadline,
) -> Days:
    """Per day: the day's mapped changes reached the bureau, and the day was uploaded by its ``deadline``."""
    start_, end_ = to_local_naive(start), to_local_naive(end)
    assert start_ is not None and end_ is not None
    per_day, _ = front_expected
    newest = (
        tally(bureau, bt.table, start_, end_).newest(live_only=False)
        if table_exists(bureau, bt.db_name)
        else {}
    )
    out: Days = {}
    for day in days_in(start_, end_):
        is_loaded = day in deadline.loaded
        metadata: dict[str, Any] = {
            "expected_rows": per_day.get(day, 0),
            "bureau_newest_change": str(newest.get(day) or "无"),
            "loaded": is_loaded,
            **deadline.metadata(day),
        }
        if deadline.missed(day):
            out[day] = Outcome(False, f"截至 {deadline.due(day)} 仍未上报该分区", metadata, "ERROR")
        elif per_day.get(day, 0) and newest.get(day) is None and is_loaded:
            out[day] = Outcome(False, "应上报的变更未出现在数据局表中", metadata, "ERROR")
        else:
            out[day] = Outcome(True, "上报及时", metadata)
    return out
