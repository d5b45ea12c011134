"""The building blocks every leg loads with: read a window, stage its rows, merge them into the target.

The provincial load (`copy.py`), the upload to the Data Bureau (`upload.py`), the reconciliation's repair and
the stand-in province's writes move rows the same way: the source streamed in bounded batches
(`stream_rows`, `window_filter`), appended to a keyless temporary table (`staging`, `write_batches`), then
the latest version of each key applied to the target (`merge`), counted per day of the rows' versions. Nothing
here commits: the caller's transaction decides, so a failure anywhere leaves the target as it was.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from functools import cache, partial
from queue import Full, Queue
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shaoxing_ops.catalog import Table

from .dbs import Bind, driver_connection, is_postgres, reading
from .dialects import FAMILIES, family
from .results import CopyResult, DayFigures
from .schema import cast_type, sa_table, table_on, tombstone_table

Progress = Callable[[int, str], None]  # (amount so far, "rows" | "bytes")
DEFAULT_BATCH = 5_000
Batch = Sequence[Sequence[Any]]  # rows of the catalog's columns, in its order (SQLAlchemy rows or tuples)
OP = "dsc_biz_operation"
TS = "dsc_biz_timestamp"
RID = "dsc_biz_record_id"
PG_BINARY_TYPES = {
    "str": "varchar",
    "text": "text",
    "int": "int4",
    "bigint": "int8",
    "dec": "numeric",
    "date": "date",
    "datetime": "timestamp",
}


def quote(bind: Bind, name: str) -> str:
    """``name`` quoted as an identifier of ``bind``'s database (an engine or a connection)."""
    return bind.dialect.identifier_preparer.quote(name)


def column_list(conn: Connection, names: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return ", ".join(prefix + quote(conn, n) for n in names)


def window_filter(t: sa.Table, start: dt.datetime | None, end: dt.datetime | None) -> Any:
    conds = []
    if start is not None:
        conds.append(t.c[TS] >= start)
    if end is not None:
        conds.append(t.c[TS] < end)
    return sa.and_(*conds) if conds else None


def stream_rows(
    source: Engine, table: Table, where: Any = None, batch_size: int = DEFAULT_BATCH
) -> Iterator[Sequence[sa.Row[Any]]]:
    """Yield the table's rows in batches, holding one batch in memory at a time."""
    t = table_on(source, table)
    # On a server each column is cast to its catalog type, so a source that retyped a column (schema drift)
    # still reads as the catalog says, or fails with the database's own message. MySQL needs it for the
    # columns that are not text only (its CAST knows no VARCHAR); SQLite types are per value.
    if is_postgres(source):
        query = sa.select(*[sa.cast(t.c[c.name], cast_type(c)).label(c.name) for c in table.columns])
    elif source.dialect.name in ("mysql", "mariadb"):
        query = sa.select(
            *[
                t.c[c.name] if c.kind in ("str", "text") else sa.cast(t.c[c.name], cast_type(c)).label(c.name)
                for c in table.columns
            ]
        )
    else:
        query = sa.select(*t.c)
    condition = where(t) if callable(where) else where
    if condition is not None:
        query = query.where(condition)
    with source.connect() as conn:
        result = reading(conn).execution_options(stream_results=True, yield_per=batch_size).execute(query)
        yield from result.partitions(batch_size)


def write_batches(
    conn: Connection,
    table: Table,
    target: sa.Table,
    batches: Iterator[Batch],
    progress: Progress | None,
) -> int:
    """Append batches of rows to ``target`` on ``conn``; COPY on PostgreSQL, executemany elsewhere."""
    total = 0
    names = table.column_names
    if conn.dialect.name == "postgresql":
        raw = driver_connection(conn)
        types = [PG_BINARY_TYPES[c.kind] for c in table.columns]
        stmt = f"COPY {quote(conn, target.name)} ({column_list(conn, names)}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cur, cur.copy(stmt) as copy:
            copy.set_types(types)
            for batch in batches:
                for row in batch:
                    copy.write_row(row)
                total += len(batch)
                if progress:
                    progress(total, "rows")
        return total
    with ExitStack() as stack:
        if family(conn).name == "mysql":
            # MySQL's bulk path without a file: PyMySQL's executemany folds plain tuples into multi-row
            # INSERTs of about 1 MB each (SQLAlchemy's per-row dictionaries cost as much again), while the
            # source is read ahead on a second thread.
            cur = stack.enter_context(driver_connection(conn).cursor())
            sql = _driver_insert(conn, target.name, names)
            batches = _prefetched(batches)

            def write(batch: Batch) -> None:
                cur.executemany(sql, [tuple(row) for row in batch])
        elif family(conn).name == "sqlite":
            # SQLite: the driver's executemany on plain tuples, each value passed through its column type's
            # bind processor as SQLAlchemy would; SQLAlchemy's per-row dictionaries and parameter processing
            # cost more than the insert itself.
            cur = stack.enter_context(closing(driver_connection(conn).cursor()))
            sql = _driver_insert(conn, target.name, names)
            processors = list(bind_processors(conn, target, names))

            def write(batch: Batch) -> None:
                rows = [list(row) for row in batch]
                for i, process in processors:
                    for row in rows:
                        if row[i] is not None:
                            row[i] = process(row[i])
                cur.executemany(sql, rows)
        else:
            insert = target.insert()

            def write(batch: Batch) -> None:
                conn.execute(insert, [dict(zip(names, row, strict=True)) for row in batch])

        for batch in batches:
            if not batch:
                continue
            write(batch)
            total += len(batch)
            if progress:
                progress(total, "rows")
    return total


def _driver_insert(conn: Connection, name: str, names: tuple[str, ...]) -> str:
    """The INSERT of ``names`` into ``name`` in the driver's own parameter marks (sqlite3's ``?``, PyMySQL's
    ``%s``), for the bulk paths that hand the driver plain tuples."""
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[conn.dialect.paramstyle]
    marks = ", ".join([mark] * len(names))
    return f"INSERT INTO {quote(conn, name)} ({column_list(conn, names)}) VALUES ({marks})"


def bind_processors(
    conn: Connection, target: sa.Table, names: Sequence[str]
) -> Iterator[tuple[int, Callable[[Any], Any]]]:
    """(position, processor) of each named column whose type converts values for ``conn``'s driver."""
    for i, name in enumerate(names):
        process = target.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            yield i, process


def _prefetched(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """The batches, read ahead by a thread: the source is read while the target writes (each waits on its
    server much of the time). At most ``depth`` batches wait in memory; when the writer stops early (a
    failure), the reader stops too and its source connection is released."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop, done = threading.Event(), object()

    def read() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.2)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    break
            if not stop.is_set():
                queue.put(done)
        except BaseException as exc:  # handed to the writer, which raises it
            queue.put(exc)
        finally:
            close = getattr(batches, "close", None)
            if close:
                close()

    reader = threading.Thread(target=read, name="sxops-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not queue.empty():
            queue.get_nowait()
        reader.join(timeout=30)


@contextmanager
def staging(conn: Connection, table: Table) -> Iterator[sa.Table]:
    """A temporary table shaped like the target, without keys: it may hold several versions of a key."""
    fam = family(conn)
    stg = _staging_table(table, fam.name)
    # PostgreSQL drops it at commit by itself; SQLite and MySQL keep a session's temporary tables after a
    # failure (a pooled connection lives on), so a leftover is dropped first.
    drop = {
        "sqlite": f"DROP TABLE IF EXISTS temp.{quote(conn, stg.name)}",
        "mysql": f"DROP TEMPORARY TABLE IF EXISTS {quote(conn, stg.name)}",
    }.get(fam.name)
    if drop:
        conn.exec_driver_sql(drop)
    # The DDL is the same every night: compiled once per table and dialect, not once per load.
    conn.exec_driver_sql(staging_ddl(table, conn.dialect))
    yield stg
    if drop:
        conn.exec_driver_sql(drop)


@cache
def _staging_table(table: Table, family_name: str) -> sa.Table:
    fam = FAMILIES[family_name]
    cols = [sa.Column(c.name, c.type) for c in sa_table(table).columns]
    options: dict[str, Any] = {"prefixes": list(fam.staging_prefixes), **fam.staging_options}
    return sa.Table(fam.staging_name(table.db_name), sa.MetaData(), *cols, **options)


@cache
def staging_ddl(table: Table, dialect: sa.Dialect) -> str:
    stg = _staging_table(table, family(dialect).name)
    return str(sa.schema.CreateTable(stg).compile(dialect=dialect)).strip()


def day_of(conn: Connection, column: str) -> str:
    """SQL for the day of a naive timestamp column, whose ``str`` is ``YYYY-MM-DD`` on every dialect."""
    return family(conn).day_of(column)


def merge(conn: Connection, table: Table, stg: str, tgt: str, result: CopyResult) -> None:
    """Apply the staged rows to the target: latest version per key, deletes, identical rows left alone.

    What happened is counted per day of the rows' versions (``DayFigures``) in the same statements, and the
    totals are their sums.
    """
    q = partial(quote, conn)
    fam = family(conn)
    key = column_list(conn, table.key)
    nonkey = [c for c in table.column_names if c not in table.key]
    ranked = (
        f"(SELECT s.*, ROW_NUMBER() OVER (PARTITION BY {column_list(conn, table.key, 's.')} "
        f"ORDER BY s.{q(TS)} DESC, s.{q(RID)} DESC) AS rn_ FROM {q(stg)} s)"
    )
    latest = f"(SELECT * FROM {ranked} v WHERE rn_ = 1)"
    upserts = f"SELECT * FROM {latest} l WHERE l.{q(OP)} <> 'D'"
    upsert = fam.upsert(q, tgt, table.column_names, table.key, upserts)
    match = " AND ".join(f"t.{q(k)} = r.{q(k)}" for k in table.key)
    held = f"EXISTS (SELECT 1 FROM {q(tgt)} t WHERE {match})"
    day = day_of(conn, f"r.{q(TS)}")
    live, dead = f"r.rn_ = 1 AND r.{q(OP)} <> 'D'", f"r.rn_ = 1 AND r.{q(OP)} = 'D'"
    if fam.name == "postgresql":  # one round trip: the staged versions by day, and what the upsert did
        rows = conn.exec_driver_sql(
            f"WITH up AS ({upsert} RETURNING (xmax = 0) AS ins, {day_of(conn, q(TS))} AS day), "
            f"st AS (SELECT {day} AS day, count(*) AS rd, count(*) FILTER (WHERE r.rn_ = 1) AS lt, "
            f"count(*) FILTER (WHERE {dead} AND {held}) AS dl FROM {ranked} r GROUP BY 1), "
            "w AS (SELECT day, count(*) FILTER (WHERE ins) AS i, count(*) FILTER (WHERE NOT ins) AS u "
            "FROM up GROUP BY day) "
            "SELECT st.day, rd, lt, dl, coalesce(i, 0), coalesce(u, 0) FROM st LEFT JOIN w USING (day)"
        ).all()
    else:  # counted before the upsert, against the target as it was
        changed = (
            fam.differs([f"t.{q(c)}" for c in nonkey], [f"r.{q(c)}" for c in nonkey]) if nonkey else "1 = 0"
        )
        n = fam.count_if
        rows = conn.exec_driver_sql(
            f"SELECT {day}, count(*), {n('r.rn_ = 1')}, {n(f'{dead} AND {held}')}, "
            f"{n(f'{live} AND NOT {held}')}, "
            f"{n(f'{live} AND EXISTS (SELECT 1 FROM {q(tgt)} t WHERE {match} AND {changed})')} "
            f"FROM {ranked} r GROUP BY {day}"
        ).all()
        conn.exec_driver_sql(upsert)
    for d, read, newest, deleted, inserted, updated in rows:
        figures = DayFigures(int(read), int(inserted), int(updated), int(deleted))
        figures.superseded = int(read) - int(newest)
        figures.unchanged = int(newest) - figures.inserted - figures.updated - figures.deleted
        result.days[str(d)] = figures
    result.inserted = sum(f.inserted for f in result.days.values())
    result.updated = sum(f.updated for f in result.days.values())
    result.unchanged = sum(f.unchanged for f in result.days.values())
    deletes = f"SELECT {key} FROM {latest} d WHERE d.{q(OP)} = 'D'"
    result.deleted = conn.exec_driver_sql(f"DELETE FROM {q(tgt)} WHERE ({key}) IN ({deletes})").rowcount
    # Remember what was deleted for the legs downstream; a key that is live again is no longer deleted.
    tomb = tombstone_table(table).name
    marks = [*table.key, RID, OP, TS]
    dead_rows = f"SELECT {column_list(conn, marks)} FROM {latest} d WHERE d.{q(OP)} = 'D'"
    conn.exec_driver_sql(fam.upsert(q, tomb, marks, table.key, dead_rows, skip_unchanged=False))
    conn.exec_driver_sql(f"DELETE FROM {q(tomb)} WHERE ({key}) IN (SELECT {key} FROM ({upserts}) r)")
