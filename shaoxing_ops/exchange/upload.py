"""The Data Bureau leg (数据局上报): a day's changes of the front tables, mapped to a bureau table and merged.

The same guarantees as the provincial leg: the mapped rows of the window are staged and merged in one
transaction (latest version per key, deletes applied, identical rows left alone), so a re-run changes nothing
and a failure leaves the bureau table as it was. A row changes in the bureau when its source row changed, when
the row it joins to changed, or when it was deleted (the front's tombstones) or left the mapping's filter.
A source row that cannot be mapped is kept aside in the quarantine with its reason, not sent and not dropped.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import BureauTable, Catalog, MapPart, Table
from shaoxing_ops.domain.mapping import Unmappable, map_row, passes

from .results import CopyResult
from .schema import count_rows, ensure_table, sa_table, table_exists, tombstone_table
from .staging import OP, RID, TS, merge, staging, stream_rows, window_filter, write_batches
from .windows import Window, to_local_naive

Row = dict[str, Any]


@dataclass
class UploadResult(CopyResult):
    quarantined: int = 0
    left_filter: int = 0  # rows that no longer pass the mapping's filter: removed from the bureau
    left_filter_days: dict[str, int] = field(default_factory=dict)  # the same, by day of the row's version
    quarantine: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per day


def _in(t: sa.Table, cols: tuple[str, ...], keys: list[tuple[Any, ...]]) -> Any:
    if len(cols) == 1:
        return t.c[cols[0]].in_([k[0] for k in keys])
    return sa.tuple_(*[t.c[c] for c in cols]).in_(keys)


def _fetch(
    front: Engine, table: Table, cols: tuple[str, ...], keys: list[tuple[Any, ...]], chunk: int = 500
) -> list[Row]:
    out: list[Row] = []
    for i in range(0, len(keys), chunk):
        part = keys[i : i + chunk]
        for batch in stream_rows(front, table, lambda t, part=part: _in(t, cols, part)):
            out.extend(dict(r._mapping) for r in batch)
    return out


def _drivers(
    front: Engine, part: MapPart, catalog: Catalog, window: Window, batch_size: int
) -> Iterator[list[Row]]:
    """Source rows of the window, then those whose joined row changed in the window."""
    source = catalog.table(part.source)
    if not table_exists(front, source.db_name):
        return
    seen: set[tuple[Any, ...]] = set()
    for batch in stream_rows(front, source, lambda t: window_filter(t, *window), batch_size):
        rows = [dict(r._mapping) for r in batch]
        seen.update(tuple(r[k] for k in source.key) for r in rows)
        yield rows
    if not part.join_table:
        return
    joined = catalog.table(part.join_table)
    if not table_exists(front, joined.db_name):
        return
    changed = [
        tuple(r._mapping[k] for k in joined.key)
        for b in stream_rows(front, joined, lambda t: window_filter(t, *window))
        for r in b
    ]
    src_cols = tuple(a for a, _ in part.join_on)
    rows = [
        r for r in _fetch(front, source, src_cols, changed) if tuple(r[k] for k in source.key) not in seen
    ]
    for i in range(0, len(rows), batch_size):
        yield rows[i : i + batch_size]


def _mapped(
    bt: BureauTable, part: MapPart, catalog: Catalog, front: Engine, rows: list[Row], result: UploadResult
) -> list[tuple[Any, ...]]:
    """Bureau rows (as tuples in column order) for a batch of source rows; failures go to the quarantine."""
    table = bt.table
    source = catalog.table(part.source)
    partners: dict[tuple[Any, ...], Row] = {}
    if part.join_table:
        joined = catalog.table(part.join_table)
        wanted = sorted({tuple(r[a] for a, _ in part.join_on) for r in rows}, key=str)
        wanted = [w for w in wanted if None not in w]
        partners = {tuple(j[k] for k in joined.key): j for j in _fetch(front, joined, joined.key, wanted)}
    out = []
    for row in rows:
        partner = partners.get(tuple(row[a] for a, _ in part.join_on)) if part.join_table else None
        ts, rid, op = row[TS], row[RID], row[OP]
        if partner is not None and partner[TS] > ts:
            ts, rid = partner[TS], partner[RID]
        if not passes(part, row):
            # Left the filter (a legal representative no longer one): the bureau row, if any, goes.
            values = {k: row[e.value] for k, e in part.columns if k in table.key}
            result.left_filter += 1
            day = str(ts)[:10]
            result.left_filter_days[day] = result.left_filter_days.get(day, 0) + 1
            op = "D"
        else:
            try:
                values = map_row(part, row, partner, catalog, table.columns)
            except Unmappable as exc:
                result.quarantined += 1
                day = str(row[TS])[:10]
                result.quarantine.setdefault(day, []).append(
                    {
                        "partition_key": day,
                        "record_key": f"{source.name}:" + "/".join(str(row[k]) for k in source.key),
                        "column_name": exc.column,
                        "reason": exc.reason[:300],
                        "delivered": False,
                    }
                )
                continue
        values.update({RID: rid, OP: op, TS: ts})
        out.append(tuple(values.get(c) for c in table.column_names))
    return out


def _deletes(
    bt: BureauTable, part: MapPart, catalog: Catalog, front: Engine, window: Window
) -> list[tuple[Any, ...]]:
    """Source rows deleted in the window (the front's tombstones) as deletes of their bureau rows."""
    source = catalog.table(part.source)
    tomb = tombstone_table(source)
    if not table_exists(front, tomb.name):
        return []
    key_exprs = {k: e.value for k, e in part.columns if k in bt.key}
    query = sa.select(tomb)
    in_window = window_filter(tomb, *window)
    if in_window is not None:
        query = query.where(in_window)
    with front.connect() as conn:
        rows = conn.execute(query).mappings().all()
    table = bt.table
    out = []
    for r in rows:
        values = {k: r[src] for k, src in key_exprs.items()}
        values.update({RID: r[RID], OP: "D", TS: r[TS]})
        out.append(tuple(values.get(c) for c in table.column_names))
    return out


def upload_window(
    bt: BureauTable,
    catalog: Catalog,
    front: Engine,
    bureau: Engine,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    batch_size: int = 5_000,
) -> UploadResult:
    started = time.perf_counter()
    start, end = to_local_naive(start), to_local_naive(end)
    table = bt.table
    result = UploadResult(table=bt.name, method="mapped")
    ensure_table(bureau, table)
    with bureau.begin() as conn:
        with staging(conn, table) as stg:

            def batches() -> Iterator[list[tuple[Any, ...]]]:
                for part in bt.parts:
                    for rows in _drivers(front, part, catalog, (start, end), batch_size):
                        result.read += len(rows)
                        yield _mapped(bt, part, catalog, front, rows, result)
                    yield _deletes(bt, part, catalog, front, (start, end))

            staged = write_batches(conn, table, stg, batches(), None)
            if staged:
                merge(conn, table, stg.name, sa_table(table).name, result)
        result.target_rows = count_rows(conn, sa_table(table))
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def expected_rows(
    bt: BureauTable, catalog: Catalog, front: Engine, start: dt.datetime, end: dt.datetime
) -> tuple[dict[str, int], int]:
    """What the bureau should hold: mappable upserts per day of the window (a dry run of the mapping), and the
    number of source rows passing the filters in the whole front (before quarantine)."""
    start_, end_ = to_local_naive(start), to_local_naive(end)
    assert start_ is not None and end_ is not None
    probe = UploadResult(table=bt.name)
    per_day: dict[str, int] = {}
    for part in bt.parts:
        for rows in _drivers(front, part, catalog, (start_, end_), 5_000):
            for values in _mapped(bt, part, catalog, front, rows, probe):
                record = dict(zip(bt.table.column_names, values, strict=True))
                if record[OP] != "D":
                    day = str(record[TS])[:10]
                    per_day[day] = per_day.get(day, 0) + 1
    total = 0
    for part in bt.parts:
        source = catalog.table(part.source)
        if not table_exists(front, source.db_name):
            continue
        t = sa_table(source)
        query = sa.select(sa.func.count()).select_from(t)
        for col, values in part.where:
            query = query.where(t.c[col].in_(values))
        with front.connect() as conn:
            total += int(conn.execute(query).scalar_one())
    return per_day, total
