"""Move one table's changes from a source database to a target database.

A window load reads the rows whose ``dsc_biz_timestamp`` falls in ``[start, end)`` into a staging table,
then merges them into the target in one transaction: the latest version of each key wins, ``D`` rows
delete, rows equal to what the target holds are left alone. A re-run therefore changes nothing, and a
failure anywhere rolls the target back to where it was.

PostgreSQL to PostgreSQL takes the fast path: the window leaves the source as one binary ``COPY … TO
STDOUT`` and enters the staging table by ``COPY … FROM STDIN`` chunk by chunk, then one ``INSERT … ON
CONFLICT DO UPDATE``. Every other pairing streams batches through SQLAlchemy; into SQLite, whose file has a single
write lock, the staging table is filled before that lock is taken. Memory stays bounded either way.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shaoxing_ops.catalog import Table

from .dbs import READ_ONLY, driver_connection, is_postgres, reading
from .dialects import family
from .results import CopyResult, ExchangeError
from .schema import cast_type, count_rows, ensure_table, exists_on, sa_table, table_exists, table_on
from .staging import (
    DEFAULT_BATCH,
    OP,
    TS,
    Progress,
    column_list,
    merge,
    quote,
    staging,
    stream_rows,
    window_filter,
    write_batches,
)
from .windows import to_local_naive

LOAD_LABEL = "shaoxing-ops load"
PIPE_BUFFER = 1 << 20  # bytes handed to the target per write on the COPY pipe


def _require_source(source: Engine, table: Table) -> None:
    if not exists_on(source, table):
        t = table_on(source, table)
        raise ExchangeError(
            f"{table.name}: source table {t.fullname!r} does not exist in the source database; check "
            "SXOPS_PROVINCE_URL and the table's `source:` in the catalog, or generate the stand-in with "
            "`shaoxing-ops simulate`"
        )


def _pg_select_sql(conn: Connection, table: Table, where_sql: str) -> str:
    """A SELECT of the catalog's columns cast to the catalog's types: binary COPY needs exact types."""
    exprs = []
    for c in table.columns:
        pg_type = cast_type(c).compile(dialect=conn.dialect)
        exprs.append(f"CAST({quote(conn, c.name)} AS {pg_type})")
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
        sraw = driver_connection(sconn)
        select = sql.SQL(_pg_select_sql(sconn, table, where_sql))
        out_stmt = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(select)
        in_stmt = f"COPY {quote(conn, target_name)} ({column_list(conn, table.column_names)}) FROM STDIN (FORMAT BINARY)"
        traw = driver_connection(conn)
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
    # SQLite's file has one write lock, held by a transaction from its first write. There the staging table,
    # the connection's own in its temporary database, is filled in a deferred transaction and kept over its
    # commit, and the lock is taken for the merge alone: a second run loading into the same file (the demo's
    # two) waits for that, not for this one's reading of the source.
    apart = target.dialect.name == "sqlite"
    tgt = sa_table(table)
    with target.connect() as conn:
        if apart:
            reading(conn)
        with staging(conn, table) as stg:
            if is_postgres(source) and is_postgres(target):
                result.method = "pg-binary-copy"
                where_sql, params = _pg_where(conn, start, end)
                result.read = _pipe_pg(source, conn, table, stg.name, where_sql, params, progress)
            else:
                result.method = "batched"
                batches = stream_rows(source, table, lambda t: window_filter(t, start, end), batch_size)
                result.read = write_batches(conn, table, stg, batches, progress)
            if apart:
                conn.commit()  # the staged rows stay: a temporary table lives as long as its connection
                conn.execution_options(**{READ_ONLY: False})  # what follows begins IMMEDIATE: the write lock
            if result.read:
                merge(conn, table, stg.name, tgt.name, result)
        result.target_rows = count_rows(conn, tgt)
        if is_postgres(target) and changed_much(result.moved, result.target_rows):
            conn.exec_driver_sql(analyze_sql(conn, table, tgt.name))
        conn.commit()  # the target changes here or not at all: leaving without it rolls back
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def changed_much(moved: int, rows: int) -> bool:
    """Whether a load changed enough of a table that PostgreSQL's statistics of it are stale: autovacuum's own
    rule (50 rows and a tenth of the table). The load then analyses the table itself (``analyze_sql``), in its
    transaction: a server with autovacuum off or behind would otherwise plan the checks on a table of estimated
    size (a never-analysed table's sort of 100,000 rows spilled to disk where hashing three days' groups does).
    PostgreSQL's documentation, "Populating a Database": run ANALYZE afterwards."""
    return moved > 50 + rows // 10


def analyze_sql(bind: Engine | Connection, table: Table, name: str) -> str:
    """``ANALYZE`` of the columns the exchange filters and groups on (key, change stamp and operation, indexed
    columns): the plans of loads and checks need no more, and sampling every column of a wide table costs
    four to five times as much (0.78 s against 0.17 s for 100,000 rows of ``E_BASEINFO``)."""
    columns = dict.fromkeys([*table.key, TS, OP, *(c.name for c in table.columns if c.index)])
    return f"ANALYZE {quote(bind, name)} ({', '.join(quote(bind, c) for c in columns)})"


def _window_has_rows(
    source: Engine, table: Table, start: dt.datetime | None, end: dt.datetime | None
) -> bool:
    t = table_on(source, table)
    probe = sa.select(sa.literal(1)).select_from(t)
    where = window_filter(t, start, end)
    if where is not None:
        probe = probe.where(where)
    with source.connect() as conn:
        return reading(conn).execute(probe.limit(1)).first() is not None


def _pg_where(
    conn: Connection, start: dt.datetime | None, end: dt.datetime | None
) -> tuple[str, dict[str, dt.datetime]]:
    conds: list[str] = []
    params: dict[str, dt.datetime] = {}
    if start is not None:
        conds.append(f"{quote(conn, TS)} >= %(start)s")
        params["start"] = start
    if end is not None:
        conds.append(f"{quote(conn, TS)} < %(end)s")
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
    job = _Rebuild(table, source, target, result, batch_size, progress)
    if is_postgres(target):
        _reload_postgres(job)
    elif family(target).name == "mysql":
        _reload_mysql(job)
    else:
        _reload_sqlite(job)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _live(t: sa.Table) -> Any:
    return t.c[OP] != "D"


@dataclass
class _Rebuild:
    """One full reload: what the three databases' rebuilds share."""

    table: Table
    source: Engine
    target: Engine
    result: CopyResult
    batch_size: int
    progress: Progress | None

    def write_live_rows(self, conn: Connection, into: sa.Table) -> int:
        """Every live source row appended to ``into`` on ``conn``, batch by batch."""
        rows = stream_rows(self.source, self.table, _live, self.batch_size)
        return write_batches(conn, self.table, into, rows, self.progress)


def _reload_sqlite(job: _Rebuild) -> None:
    """SQLite has one writer and WAL readers: building inside the swapping transaction is already invisible."""
    table, target, result = job.table, job.target, job.result
    name, aside = table.db_name, f"{table.db_name}__rebuild"
    result.method = "batched"
    with target.begin() as conn:
        q = partial(quote, conn)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(aside)}")
        result.rows_before = count_rows(conn, sa_table(table)) if table_exists(conn, name) else 0
        built = sa_table(table, name=aside, indexes=False)
        built.create(conn)
        rows = job.write_live_rows(conn, built)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")
        conn.exec_driver_sql(f"ALTER TABLE {q(aside)} RENAME TO {q(name)}")
        for idx in sa_table(table).indexes:
            idx.create(conn)
    result.target_rows = result.read = result.inserted = rows


def _reload_mysql(job: _Rebuild) -> None:
    """MySQL commits every DDL statement by itself, so the swap cannot sit in a transaction: the table is
    built aside with its key, loaded, indexed in one ALTER, and swapped by one ``RENAME TABLE`` of both
    names, which MySQL performs atomically. An interrupted rebuild leaves only the aside table."""
    table, target, result = job.table, job.target, job.result
    name, aside, old = table.db_name, f"{table.db_name}__rebuild", f"{table.db_name}__old"
    indexed = [c.name for c in table.columns if c.index and c.name not in table.key]
    result.method = "batched"
    with target.begin() as conn:
        q = partial(quote, conn)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(aside)}, {q(old)}")
        result.rows_before = count_rows(conn, sa_table(table)) if table_exists(conn, name) else 0
        sa_table(table, sa.MetaData(), name=aside, indexes=False).create(conn)
    with target.begin() as conn:
        built = sa_table(table, sa.MetaData(), name=aside, indexes=False)
        rows = job.write_live_rows(conn, built)
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


def _reload_postgres(job: _Rebuild) -> None:
    """Load a bare table aside, build its key and indexes side by side, then swap in a short transaction.

    Building indexes once after the load is far cheaper than maintaining them row by row, and building them
    on separate connections uses every core. An interrupted rebuild leaves only the aside table, which the
    next rebuild drops; the live table is untouched until the swap.
    """
    table, target, result = job.table, job.target, job.result
    name, aside = table.db_name, f"{table.db_name}__rebuild"
    indexed = [c.name for c in table.columns if c.index and c.name not in table.key]
    with target.begin() as conn:
        q = partial(quote, conn)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(aside)}")
        bare = sa.Table(aside, sa.MetaData(), *[sa.Column(c.name, c.type) for c in sa_table(table).columns])
        bare.create(conn)
        if is_postgres(job.source):
            result.method = "pg-binary-copy"
            rows = _pipe_pg(job.source, conn, table, aside, f" WHERE {q(OP)} <> 'D'", {}, job.progress)
        else:
            result.method = "batched"
            rows = job.write_live_rows(conn, bare)
        key = column_list(conn, table.key)
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

    count_before = f"SELECT count(*) FROM {quote(target, name)}" if exists else "SELECT 0"
    with ThreadPoolExecutor(max_workers=len(statements) + 1) as pool:
        futures = [pool.submit(run, sql) for sql in [count_before, *statements]]
        outcomes = [f.result() for f in futures]  # re-raises the first failure
    result.rows_before = outcomes[0]
    # a new table has no statistics (``changed_much``); renamed, it keeps them
    run(analyze_sql(target, table, aside))
    with target.begin() as conn:
        q = partial(quote, conn)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")
        conn.exec_driver_sql(f"ALTER TABLE {q(aside)} RENAME TO {q(name)}")
        conn.exec_driver_sql(f"ALTER INDEX {q(aside + '_pkey')} RENAME TO {q(name + '_pkey')}")
        for col in indexed:
            conn.exec_driver_sql(f"ALTER INDEX {q(f'ix_{aside}_{col}')} RENAME TO {q(f'ix_{name}_{col}')}")
    result.target_rows = result.read = result.inserted = rows
