"""Move one table's changes from a source database to a target database.

A window load reads the rows whose ``dsc_biz_timestamp`` falls in ``[start, end)`` into a staging table,
then merges them into the target in the same transaction: the latest version of each key wins, ``D`` rows
delete, rows equal to what the target holds are left alone. A re-run therefore changes nothing, and a
failure anywhere rolls the target back to where it was.

PostgreSQL to PostgreSQL takes the fast path: the window leaves the source as one binary ``COPY … TO
STDOUT`` and enters the staging table by ``COPY … FROM STDIN`` chunk by chunk, then one ``INSERT … ON
CONFLICT DO UPDATE``. Every other pairing streams batches through SQLAlchemy. Memory stays bounded either way.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cache
from queue import Full, Queue
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shaoxing_ops.catalog import Table

from .dbs import is_postgres, reading
from .dialects import FAMILIES, family
from .schema import (
    cast_type,
    count_rows,
    ensure_table,
    exists_on,
    sa_table,
    table_exists,
    table_on,
    tombstone_table,
)
from .windows import to_local_naive

Progress = Callable[[int, str], None]  # (amount so far, "rows" | "bytes")
DEFAULT_BATCH = 5_000
LOAD_LABEL = "shaoxing-ops load"
PIPE_BUFFER = 1 << 20  # bytes handed to the target per write on the COPY pipe
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


class ExchangeError(RuntimeError):
    """A load could not be done; the target is as it was before. The message says what to do next."""


@dataclass
class DayFigures:
    """What a load did with the changes stamped on one day (``dsc_biz_timestamp``'s date).

    ``read`` = ``inserted + updated + deleted + unchanged + superseded``: a version that a later version of the
    same key in the same load replaced is *superseded* (never written); a delete of a key the target does not
    hold is *unchanged*. A load over a range of days attributes each written row to the day of its version,
    so the days of a range add up to the range.
    """

    read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    superseded: int = 0

    @property
    def moved(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class CopyResult:
    table: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    target_rows: int = 0
    rows_before: int | None = None  # full reloads: target rows before the rebuild
    method: str = ""
    days: dict[str, DayFigures] = field(default_factory=dict)  # by day (YYYY-MM-DD) of the rows' versions

    def day(self, day: str) -> DayFigures:
        """The figures of one day; a day without changes in the window has all zeros."""
        return self.days.get(day, DayFigures())


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _cols(conn: Connection, names: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return ", ".join(prefix + _q(conn, n) for n in names)


def _require_source(source: Engine, table: Table) -> None:
    if not exists_on(source, table):
        t = table_on(source, table)
        raise ExchangeError(
            f"{table.name}: source table {t.fullname!r} does not exist in the source database; check "
            "SXOPS_PROVINCE_URL and the table's `source:` in the catalog, or generate the stand-in with "
            "`shaoxing-ops simulate`"
        )


def _window_filter(t: sa.Table, start: dt.datetime | None, end: dt.datetime | None) -> Any:
    conds = []
    if start is not None:
        conds.append(t.c[TS] >= start)
    if end is not None:
        conds.append(t.c[TS] < end)
    return sa.and_(*conds) if conds else None


def stream_rows(
    source: Engine, table: Table, where: Any = None, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[sa.Row]]:
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


def _write_batches(
    conn: Connection,
    table: Table,
    target: sa.Table,
    batches: Iterator[list[sa.Row]],
    progress: Progress | None,
) -> int:
    """Append batches of rows to ``target`` on ``conn``; COPY on PostgreSQL, executemany elsewhere."""
    total = 0
    names = table.column_names
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        types = [PG_BINARY_TYPES[c.kind] for c in table.columns]
        stmt = f"COPY {_q(conn, target.name)} ({_cols(conn, names)}) FROM STDIN (FORMAT BINARY)"
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
            cur = stack.enter_context(conn.connection.driver_connection.cursor())
            sql = f"INSERT INTO {_q(conn, target.name)} ({_cols(conn, names)}) VALUES ({', '.join(['%s'] * len(names))})"
            batches = _prefetched(batches)

            def write(batch: list[sa.Row]) -> None:
                cur.executemany(sql, [tuple(row) for row in batch])
        else:
            insert = target.insert()

            def write(batch: list[sa.Row]) -> None:
                conn.execute(insert, [dict(zip(names, row, strict=True)) for row in batch])

        for batch in batches:
            if not batch:
                continue
            write(batch)
            total += len(batch)
            if progress:
                progress(total, "rows")
    return total


def _prefetched(batches: Iterator[list[sa.Row]], depth: int = 2) -> Iterator[list[sa.Row]]:
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


def _pg_select_sql(conn: Connection, table: Table, where_sql: str) -> str:
    """A SELECT of the catalog's columns cast to the catalog's types: binary COPY needs exact types."""
    exprs = []
    for c in table.columns:
        pg_type = cast_type(c).compile(dialect=conn.dialect)
        exprs.append(f"CAST({_q(conn, c.name)} AS {pg_type})")
    name = conn.dialect.identifier_preparer.format_table(table_on(conn, table))
    return f"SELECT {', '.join(exprs)} FROM {name}{where_sql}"


def _pipe_pg(
    source: Engine,
    conn: Connection,
    table: Table,
    target_name: str,
    where_sql: str,
    params: dict[str, Any],
    progress: Progress | None,
) -> int:
    """Binary COPY out of the source straight into ``target_name`` on ``conn``; returns the rows copied."""
    from psycopg import sql

    with source.connect() as sconn:
        # Name the session after the load, for whoever watches pg_stat_activity on the province side.
        sconn.exec_driver_sql(f"SET LOCAL application_name = '{LOAD_LABEL} {table.db_name}'")
        sraw = sconn.connection.driver_connection
        select = sql.SQL(_pg_select_sql(sconn, table, where_sql))
        out_stmt = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(select)
        in_stmt = (
            f"COPY {_q(conn, target_name)} ({_cols(conn, table.column_names)}) FROM STDIN (FORMAT BINARY)"
        )
        traw = conn.connection.driver_connection
        with sraw.cursor() as scur, traw.cursor() as tcur:
            with scur.copy(out_stmt, params) as cout, tcur.copy(in_stmt) as cin:
                moved, buffer = 0, bytearray()
                for chunk in cout:  # one message per row: gather them into few, large writes
                    buffer += chunk
                    if len(buffer) >= PIPE_BUFFER:
                        cin.write(bytes(buffer))
                        moved += len(buffer)
                        buffer.clear()
                        if progress:
                            progress(moved, "bytes")
                if buffer:
                    cin.write(bytes(buffer))
                    moved += len(buffer)
                if progress:
                    progress(moved, "bytes")
            copied = int(tcur.rowcount)  # read before the cursor closes
        sconn.rollback()
        return copied


@contextmanager
def _staging(conn: Connection, table: Table) -> Iterator[sa.Table]:
    """A temporary table shaped like the target, without keys: it may hold several versions of a key."""
    fam = family(conn)
    stg = _staging_table(table, fam.name)
    # PostgreSQL drops it at commit by itself; SQLite and MySQL keep a session's temporary tables after a
    # failure (a pooled connection lives on), so a leftover is dropped first.
    drop = {
        "sqlite": f"DROP TABLE IF EXISTS temp.{_q(conn, stg.name)}",
        "mysql": f"DROP TEMPORARY TABLE IF EXISTS {_q(conn, stg.name)}",
    }.get(fam.name)
    if drop:
        conn.exec_driver_sql(drop)
    # The DDL is the same every night: compiled once per table and dialect, not once per load.
    conn.exec_driver_sql(_staging_ddl(table, conn.dialect))
    yield stg
    if drop:
        conn.exec_driver_sql(drop)


@cache
def _staging_table(table: Table, family_name: str) -> sa.Table:
    fam = FAMILIES[family_name]
    cols = [sa.Column(c.name, c.type) for c in sa_table(table).columns]
    return sa.Table(
        fam.staging_name(table.db_name),
        sa.MetaData(),
        *cols,
        prefixes=list(fam.staging_prefixes),
        **fam.staging_options,
    )


@cache
def _staging_ddl(table: Table, dialect: sa.Dialect) -> str:
    stg = _staging_table(table, family(dialect).name)
    return str(sa.schema.CreateTable(stg).compile(dialect=dialect)).strip()


def day_of(conn: Connection, column: str) -> str:
    """SQL for the day (``YYYY-MM-DD``) of a naive timestamp column, the same text on every dialect."""
    return family(conn).day_of(column)


def _merge(conn: Connection, table: Table, stg: str, tgt: str, result: CopyResult) -> None:
    """Apply the staged rows to the target: latest version per key, deletes, identical rows left alone.

    What happened is counted per day of the rows' versions (``DayFigures``) in the same statements, and the
    totals are their sums.
    """
    q = lambda n: _q(conn, n)  # noqa: E731
    fam = family(conn)
    key = _cols(conn, table.key)
    nonkey = [c for c in table.column_names if c not in table.key]
    ranked = (
        f"(SELECT s.*, ROW_NUMBER() OVER (PARTITION BY {_cols(conn, table.key, 's.')} "
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
    dead_rows = f"SELECT {_cols(conn, marks)} FROM {latest} d WHERE d.{q(OP)} = 'D'"
    conn.exec_driver_sql(fam.upsert(q, tomb, marks, table.key, dead_rows, skip_unchanged=False))
    conn.exec_driver_sql(f"DELETE FROM {q(tomb)} WHERE ({key}) IN (SELECT {key} FROM ({upserts}) r)")


def copy_window(
    table: Table,
    source: Engine,
    target: Engine,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> CopyResult:
    """Load the changes of ``[start, end)`` (Asia/Shanghai) of one table into the target, atomically."""
    started = time.perf_counter()
    start, end = to_local_naive(start), to_local_naive(end)
    _require_source(source, table)
    result = CopyResult(table=table.name)
    if not _window_has_rows(source, table, start, end):
        # Nothing changed in the window (a quiet day for a small table): no staging, no merge.
        result.method = "empty-window"
        ensure_table(target, table)
        with target.begin() as conn:
            result.target_rows = count_rows(conn, sa_table(table))
        result.seconds = round(time.perf_counter() - started, 3)
        return result
    ensure_table(target, table)  # committed on its own: a failed load must not take the table with it
    with target.begin() as conn:
        tgt = sa_table(table)
        with _staging(conn, table) as stg:
            if is_postgres(source) and is_postgres(target):
                result.method = "pg-binary-copy"
                where_sql, params = _pg_where(conn, start, end)
                result.read = _pipe_pg(source, conn, table, stg.name, where_sql, params, progress)
            else:
                result.method = "batched"
                batches = stream_rows(source, table, lambda t: _window_filter(t, start, end), batch_size)
                result.read = _write_batches(conn, table, stg, batches, progress)
            if result.read:
                _merge(conn, table, stg.name, tgt.name, result)
        result.target_rows = count_rows(conn, tgt)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _window_has_rows(
    source: Engine, table: Table, start: dt.datetime | None, end: dt.datetime | None
) -> bool:
    t = table_on(source, table)
    probe = sa.select(sa.literal(1)).select_from(t)
    where = _window_filter(t, start, end)
    if where is not None:
        probe = probe.where(where)
    with source.connect() as conn:
        return reading(conn).execute(probe.limit(1)).first() is not None


def _pg_where(conn: Connection, start: dt.datetime | None, end: dt.datetime | None) -> tuple[str, dict]:
    conds, params = [], {}
    if start is not None:
        conds.append(f"{_q(conn, TS)} >= %(start)s")
        params["start"] = start
    if end is not None:
        conds.append(f"{_q(conn, TS)} < %(end)s")
        params["end"] = end
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def full_reload(
    table: Table,
    source: Engine,
    target: Engine,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> CopyResult:
    """Rebuild the target table from all live source rows: built aside, swapped in within one transaction.

    Readers see the old table until the swap commits and the new one after it, never a half-filled one.
    """
    started = time.perf_counter()
    _require_source(source, table)
    result = CopyResult(table=table.name)
    if is_postgres(target):
        _reload_postgres(table, source, target, result, batch_size, progress)
    elif family(target).name == "mysql":
        _reload_mysql(table, source, target, result, batch_size, progress)
    else:
        _reload_sqlite(table, source, target, result, batch_size, progress)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _live(t: sa.Table) -> Any:
    return t.c[OP] != "D"


def _reload_sqlite(
    table: Table,
    source: Engine,
    target: Engine,
    result: CopyResult,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """SQLite has one writer and WAL readers: building inside the swapping transaction is already invisible."""
    name, aside = table.db_name, f"{table.db_name}__rebuild"
    result.method = "batched"
    with target.begin() as conn:
        q = lambda n: _q(conn, n)  # noqa: E731
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(aside)}")
        result.rows_before = count_rows(conn, sa_table(table)) if table_exists(conn, name) else 0
        built = sa_table(table, name=aside, indexes=False)
        built.create(conn)
        rows = _write_batches(conn, table, built, stream_rows(source, table, _live, batch_size), progress)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")
        conn.exec_driver_sql(f"ALTER TABLE {q(aside)} RENAME TO {q(name)}")
        for idx in sa_table(table).indexes:
            idx.create(conn)
    result.target_rows = result.read = result.inserted = rows


def _reload_mysql(
    table: Table,
    source: Engine,
    target: Engine,
    result: CopyResult,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """MySQL commits every DDL statement by itself, so the swap cannot sit in a transaction: the table is
    built aside with its key, loaded, indexed in one ALTER, and swapped by one ``RENAME TABLE`` of both
    names, which MySQL performs atomically. An interrupted rebuild leaves only the aside table."""
    name, aside, old = table.db_name, f"{table.db_name}__rebuild", f"{table.db_name}__old"
    indexed = [c.name for c in table.columns if c.index and c.name not in table.key]
    result.method = "batched"
    with target.begin() as conn:
        q = lambda n: _q(conn, n)  # noqa: E731
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(aside)}, {q(old)}")
        result.rows_before = count_rows(conn, sa_table(table)) if table_exists(conn, name) else 0
        sa_table(table, sa.MetaData(), name=aside, indexes=False).create(conn)
    with target.begin() as conn:
        built = sa_table(table, sa.MetaData(), name=aside, indexes=False)
        rows = _write_batches(conn, table, built, stream_rows(source, table, _live, batch_size), progress)
    with target.begin() as conn:
        if indexed:
            conn.exec_driver_sql(
                f"ALTER TABLE {q(aside)} "
                + ", ".join(f"ADD INDEX {q(f'ix_{name}_{c}')} ({q(c)})" for c in indexed)
            )
        if table_exists(conn, name):
            conn.exec_driver_sql(f"RENAME TABLE {q(name)} TO {q(old)}, {q(aside)} TO {q(name)}")
            conn.exec_driver_sql(f"DROP TABLE {q(old)}")
        else:
            conn.exec_driver_sql(f"RENAME TABLE {q(aside)} TO {q(name)}")
    result.target_rows = result.read = result.inserted = rows


def _reload_postgres(
    table: Table,
    source: Engine,
    target: Engine,
    result: CopyResult,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """Load a bare table aside, build its key and indexes side by side, then swap in a short transaction.

    Building indexes once after the load is far cheaper than maintaining them row by row, and building them
    on separate connections uses every core. An interrupted rebuild leaves only the aside table, which the
    next rebuild drops; the live table is untouched until the swap.
    """
    name, aside = table.db_name, f"{table.db_name}__rebuild"
    indexed = [c.name for c in table.columns if c.index and c.name not in table.key]
    with target.begin() as conn:
        q = lambda n: _q(conn, n)  # noqa: E731
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(aside)}")
        bare = sa.Table(aside, sa.MetaData(), *[sa.Column(c.name, c.type) for c in sa_table(table).columns])
        bare.create(conn)
        if is_postgres(source):
            result.method = "pg-binary-copy"
            rows = _pipe_pg(source, conn, table, aside, f" WHERE {q(OP)} <> 'D'", {}, progress)
        else:
            result.method = "batched"
            rows = _write_batches(conn, table, bare, stream_rows(source, table, _live, batch_size), progress)
        key = _cols(conn, table.key)
        statements = [f"ALTER TABLE {q(aside)} ADD CONSTRAINT {q(aside + '_pkey')} PRIMARY KEY ({key})"]
        statements += [f"CREATE INDEX {q(f'ix_{aside}_{c}')} ON {q(aside)} ({q(c)})" for c in indexed]
        exists = table_exists(conn, name)

    def run(sql: str) -> int | None:
        with target.begin() as c:
            c.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            if sql.startswith("SELECT"):
                return int(c.exec_driver_sql(sql).scalar_one())
            c.exec_driver_sql(sql)
            return None

    count_before = f"SELECT count(*) FROM {_q_name(target, name)}" if exists else "SELECT 0"
    with ThreadPoolExecutor(max_workers=len(statements) + 1) as pool:
        futures = [pool.submit(run, sql) for sql in [count_before, *statements]]
        outcomes = [f.result() for f in futures]  # re-raises the first failure
    result.rows_before = outcomes[0]
    with target.begin() as conn:
        q = lambda n: _q(conn, n)  # noqa: E731
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")
        conn.exec_driver_sql(f"ALTER TABLE {q(aside)} RENAME TO {q(name)}")
        conn.exec_driver_sql(f"ALTER INDEX {q(aside + '_pkey')} RENAME TO {q(name + '_pkey')}")
        for col in indexed:
            conn.exec_driver_sql(f"ALTER INDEX {q(f'ix_{aside}_{col}')} RENAME TO {q(f'ix_{name}_{col}')}")
    result.target_rows = result.read = result.inserted = rows


def _q_name(engine: Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)
