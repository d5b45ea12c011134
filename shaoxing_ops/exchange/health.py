"""The health of one exchanged table: row counts, freshness, schema and validity, as plain functions.

Each returns an ``Outcome`` whose metadata says what differs and by how much; the Dagster layer turns them into
asset check results. Windows are ``[start, end)`` in Shanghai time, one day or a backfilled range of days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import Catalog, Table
from shaoxing_ops.domain.validity import RowRules

from .copy import OP, TS, _window_filter, stream_rows
from .schema import column_type, sa_table, table_exists
from .windows import to_local_naive

MAX_LISTED = 20  # keys or columns named in a check's metadata; the rest are counted


@dataclass
class Outcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: str = "ERROR"  # ERROR: the sensor re-pushes; WARN: reported, nothing to re-push
    failed_partitions: list[str] = field(default_factory=list)


def _days(start: dt.datetime, end: dt.datetime) -> list[str]:
    out, day = [], start.date()
    while dt.datetime.combine(day, dt.time()) < end:
        out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def counts_by_day(
    engine: Engine, table: Table, start: dt.datetime, end: dt.datetime, live_only: bool
) -> dict[str, int]:
    t = sa_table(table)
    day = sa.func.substr(sa.cast(t.c[TS], sa.Text), 1, 10)
    query = sa.select(day, sa.func.count()).where(_window_filter(t, start, end)).group_by(day)
    if live_only:
        query = query.where(t.c[OP] != "D")
    with engine.connect() as conn:
        return {str(d): int(n) for d, n in conn.execute(query)}


def total_rows(engine: Engine, table: Table, live_only: bool) -> int:
    t = sa_table(table)
    query = sa.select(sa.func.count()).select_from(t)
    if live_only:
        query = query.where(t.c[OP] != "D")
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def within(a: int, b: int, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(a, b)


@dataclass
class Flux:
    """Keys changed at or after a moment on either side, with their current versions on both.

    The databases keep only the latest version of a row, so a table cannot be compared "as of" the end of a
    window for keys that changed after it: the source may already hold tomorrow's version while the target
    still holds today's. Comparisons as of a moment leave these keys out, exactly.
    """

    keys: set[tuple[Any, ...]]
    source: dict[tuple[Any, ...], tuple[dt.datetime, str]]  # key -> (timestamp, operation)
    target: dict[tuple[Any, ...], dt.datetime]


def _versions(engine: Engine, table: Table, where: Any = None, keys: list[tuple[Any, ...]] | None = None,
              chunk: int = 500) -> dict[tuple[Any, ...], tuple[dt.datetime, str]]:  # fmt: skip
    t = sa_table(table)
    cols = [t.c[k] for k in table.key]
    out: dict[tuple[Any, ...], tuple[dt.datetime, str]] = {}
    queries = []
    if keys is None:
        queries.append(sa.select(*cols, t.c[TS], t.c[OP]).where(where))
    else:
        for i in range(0, len(keys), chunk):
            part = keys[i : i + chunk]
            cond = cols[0].in_([k[0] for k in part]) if len(cols) == 1 else sa.tuple_(*cols).in_(part)
            queries.append(sa.select(*cols, t.c[TS], t.c[OP]).where(cond))
    n = len(cols)
    with engine.connect() as conn:
        for query in queries:
            for row in conn.execute(query):
                out[tuple(row[:n])] = (_as_datetime(row[n]), row[n + 1])
    return out


def flux(table: Table, source: Engine, target: Engine, moment: dt.datetime) -> Flux:
    after = sa_table(table).c[TS] >= moment
    src_after = _versions(source, table, after)
    tgt_after = _versions(target, table, after) if table_exists(target, table.db_name) else {}
    keys = set(src_after) | set(tgt_after)
    src = {**_versions(source, table, keys=sorted(keys - set(src_after), key=str)), **src_after}
    tgt = (
        {**_versions(target, table, keys=sorted(keys - set(tgt_after), key=str)), **tgt_after}
        if tgt_after or (keys and table_exists(target, table.db_name))
        else {}
    )
    return Flux(keys, src, {k: v[0] for k, v in tgt.items()})


def row_count(table: Table, source: Engine, target: Engine, start: dt.datetime, end: dt.datetime,
              tolerance: float = 0.0) -> Outcome:  # fmt: skip
    """Live source rows against target rows, in each day of the window and in the table as of its end.

    Keys changed after the window on either side are left out of both counts (see ``Flux``).
    """
    start, end = to_local_naive(start), to_local_naive(end)
    assert start is not None and end is not None
    has_target = table_exists(target, table.db_name)
    src = counts_by_day(source, table, start, end, live_only=True)
    tgt = counts_by_day(target, table, start, end, live_only=False) if has_target else {}
    src_before = counts_before(source, table, end, live_only=True)
    tgt_before = counts_before(target, table, end, live_only=False) if has_target else 0
    moving = flux(table, source, target, end)
    for ts, op in moving.source.values():  # versions before the end that the window counts
        if op != "D" and ts < end:
            src_before -= 1
            if ts >= start:
                src[str(ts)[:10]] = src.get(str(ts)[:10], 0) - 1
    for ts in moving.target.values():
        if ts < end:
            tgt_before -= 1
            if ts >= start:
                tgt[str(ts)[:10]] = tgt.get(str(ts)[:10], 0) - 1
    days = _days(start, end)
    failed = [d for d in days if not within(src.get(d, 0), tgt.get(d, 0), tolerance)]
    total_ok = within(src_before, tgt_before, tolerance)
    window_src, window_tgt = sum(src.get(d, 0) for d in days), sum(tgt.get(d, 0) for d in days)
    metadata: dict[str, Any] = {
        "window_source_rows": window_src, "window_target_rows": window_tgt,
        "window_difference": window_tgt - window_src,
        "total_source_rows": src_before, "total_target_rows": tgt_before, "total_difference": tgt_before - src_before,
        "keys_changed_after_window": len(moving.keys), "tolerance": tolerance,
    }  # fmt: skip
    passed = not failed and total_ok
    if passed:
        text = f"窗口内 {window_src} 条、截至窗口末全表 {src_before} 条，两端一致"
    else:
        text = (f"窗口内源端 {window_src} 条、目标端 {window_tgt} 条；截至窗口末全表源端 {src_before} 条、"
                f"目标端 {tgt_before} 条，相差 {tgt_before - src_before:+d} 条")  # fmt: skip
    # A whole-table difference with equal windows lies in other days: the failure belongs to this window's
    # re-push all the same, which reconciles the table.
    return Outcome(passed, text, metadata, "ERROR", failed or ([] if total_ok else days))


def counts_before(engine: Engine, table: Table, moment: dt.datetime, live_only: bool) -> int:
    t = sa_table(table)
    query = sa.select(sa.func.count()).select_from(t).where(t.c[TS] < moment)
    if live_only:
        query = query.where(t.c[OP] != "D")
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def freshness(table: Table, source: Engine, target: Engine, start: dt.datetime, end: dt.datetime, *,
              max_lag: dt.timedelta = dt.timedelta(0), loaded: bool = True, deadline: dt.datetime | None = None,
              now: dt.datetime | None = None) -> Outcome:  # fmt: skip
    """The target holds the source's newest change of the window, and the window was loaded by its deadline."""
    start, end = to_local_naive(start), to_local_naive(end)
    now = to_local_naive(now) or dt.datetime.now()
    t = sa_table(table)
    newest = sa.select(sa.func.max(t.c[TS])).where(_window_filter(t, start, end))
    with source.connect() as conn:  # a delete leaves nothing in the target to date it: compare live rows
        src_newest = conn.execute(newest.where(t.c[OP] != "D")).scalar_one()
    tgt_newest = None
    if table_exists(target, table.db_name):
        with target.connect() as conn:
            tgt_newest = conn.execute(newest).scalar_one()
    src_newest, tgt_newest = _as_datetime(src_newest), _as_datetime(tgt_newest)
    lag = src_newest - tgt_newest if src_newest and tgt_newest else None
    metadata: dict[str, Any] = {
        "source_newest_change": str(src_newest) if src_newest else "无",
        "target_newest_change": str(tgt_newest) if tgt_newest else "无",
        "lag_seconds": lag.total_seconds() if lag is not None else 0.0,
        "max_lag_seconds": max_lag.total_seconds(),
        "loaded": loaded,
    }
    if deadline is not None:
        metadata["deadline"] = str(to_local_naive(deadline))
    overdue = deadline is not None and not loaded and now > to_local_naive(deadline)
    missing_all = src_newest is not None and tgt_newest is None and table.volume > 0
    stale = lag is not None and lag > max_lag
    days = _days(start, end)
    if overdue:
        return Outcome(False, f"截至 {metadata['deadline']} 仍未装载该分区", metadata, "ERROR", days)
    if missing_all and loaded:
        return Outcome(False, f"源端最新变更 {src_newest}，目标端没有该窗口的数据", metadata, "ERROR", days)
    if stale:
        return Outcome(False, f"目标端最新变更落后源端 {lag}", metadata, "ERROR", days)
    return Outcome(True, "数据及时", metadata, "ERROR")


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _reflected(engine: Engine, name: str) -> dict[str, str]:
    insp = sa.inspect(engine)
    return {c["name"]: c["type"].compile(dialect=engine.dialect) for c in insp.get_columns(name)}


def schema(table: Table, source: Engine | None, target: Engine) -> Outcome:
    """Target columns and types against the catalog (an error); source drift is reported, never fatal."""
    metadata: dict[str, Any] = {}
    problems: list[str] = []
    target_cols = _reflected(target, table.db_name) if table_exists(target, table.db_name) else {}
    expected_t = {c.name: column_type(c).compile(dialect=target.dialect) for c in table.columns}
    t_missing = [c for c in expected_t if c not in target_cols]
    t_retyped = [f"{c}: {target_cols[c]} ≠ {expected_t[c]}" for c in expected_t if c in target_cols
                 and target_cols[c] != expected_t[c]]  # fmt: skip
    t_extra = [c for c in target_cols if c not in expected_t]
    if not target_cols:
        problems.append("目标表不存在")
    if t_missing or t_retyped or t_extra:
        problems.append("目标表结构与目录不符")
    metadata.update(target_missing=", ".join(t_missing) or "无", target_retyped="; ".join(t_retyped) or "无",
                    target_extra=", ".join(t_extra) or "无")  # fmt: skip
    if source is None:  # a table built by the platform itself has no source to drift
        if problems:
            return Outcome(False, "；".join(problems), metadata, "ERROR")
        return Outcome(True, "结构与目录一致", metadata, "ERROR")
    source_cols = _reflected(source, table.db_name) if table_exists(source, table.db_name) else {}
    expected_s = {c.name: column_type(c).compile(dialect=source.dialect) for c in table.columns}
    s_added = [c for c in source_cols if c not in expected_s]
    s_lost = [c for c in expected_s if c not in source_cols]
    s_retyped = [f"{c}: {source_cols[c]} ≠ {expected_s[c]}" for c in expected_s if c in source_cols
                 and source_cols[c] != expected_s[c]]  # fmt: skip
    metadata.update(source_added=", ".join(s_added) or "无", source_lost=", ".join(s_lost) or "无",
                    source_retyped="; ".join(s_retyped) or "无")  # fmt: skip
    drift = bool(s_added or s_lost or s_retyped)
    if problems:
        return Outcome(False, "；".join(problems), metadata, "ERROR")
    if drift:
        parts = [f"新增列 {', '.join(s_added)}" if s_added else "", f"缺少列 {', '.join(s_lost)}" if s_lost else "",
                 f"类型变化 {'; '.join(s_retyped)}" if s_retyped else ""]  # fmt: skip
        return Outcome(False, "源端结构漂移：" + "；".join(p for p in parts if p), metadata, "WARN")
    return Outcome(True, "结构与目录一致", metadata, "ERROR")


def validity(table: Table, catalog: Catalog, target: Engine, start: dt.datetime, end: dt.datetime
             ) -> tuple[Outcome, dict[str, list[dict[str, Any]]]]:  # fmt: skip
    """Rows of the window breaking a rule, per day; the rows stay delivered as they came.

    Returns the outcome and the quarantine entries per partition (table, key, column, reason).
    """
    start, end = to_local_naive(start), to_local_naive(end)
    rules = RowRules(table, catalog)
    entries: dict[str, list[dict[str, Any]]] = {d: [] for d in _days(start, end)}
    rows_checked = 0
    reasons: dict[str, int] = defaultdict(int)
    if table_exists(target, table.db_name):
        for batch in stream_rows(target, table, lambda t: _window_filter(t, start, end)):
            for row in batch:
                rows_checked += 1
                values = row._mapping
                found = rules.violations(values)
                if not found:
                    continue
                day = str(values[TS])[:10]
                key = "/".join(str(values[k]) for k in table.key)
                for v in found:
                    reasons[f"{v.column}：{v.reason.split('：')[0]}"] += 1
                    entries.setdefault(day, []).append({"partition_key": day, "record_key": key[:200],
                                                        "column_name": v.column, "reason": v.reason[:300],
                                                        "delivered": True})  # fmt: skip
    invalid_rows = len({(e["partition_key"], e["record_key"]) for es in entries.values() for e in es})
    failed = [d for d, es in entries.items() if es]
    metadata: dict[str, Any] = {"rows_checked": rows_checked, "invalid_rows": invalid_rows}
    for reason, n in sorted(reasons.items(), key=lambda x: -x[1])[:MAX_LISTED]:
        metadata[f"违规：{reason}"] = n
    text = (f"检查 {rows_checked} 条，{invalid_rows} 条不合规，已列入隔离清单并照常下发" if invalid_rows
            else f"检查 {rows_checked} 条，全部合规")  # fmt: skip
    return Outcome(not invalid_rows, text, metadata, "WARN", failed), entries
