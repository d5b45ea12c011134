"""Checksum reconciliation of a table between two databases, and targeted repair.

Data-diff style: both databases checksum their rows grouped by key prefix (prefix groups are key ranges), in
parallel and inside the database; only prefixes whose (count, checksum) differ are split further, one character
deeper, until a group is small enough to compare row hashes key by key, or is held by one side only (its count
then says how many keys differ, without reading them). Equal tables cost one grouped scan per side.

However many keys differ (a wiped million-row target), the counts are exact but at most ``MAX_KEYS_REPORTED``
keys are kept, as a sample for the report; the repair goes range by range in bounded batches.

Values are normalised to one text form before hashing (NULL as \\N, dates ISO, timestamps with microseconds,
decimals at their catalog scale), so SQLite and PostgreSQL holding the same data checksum the same. Between two
PostgreSQL databases the row's own text form and PostgreSQL's 64-bit text hash are used: faster, and equal
types on both sides make it just as exact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shaoxing_ops.catalog import Table

from .dbs import Bind, connected, engine_of, is_postgres, reading, role_of
from .dialects import family
from .dialects.mysql import BYTE_ORDER
from .dialects.sqlite import register_hashes
from .results import CopyResult
from .schema import count_rows, ensure_table, sa_table, table_on
from .staging import OP, TS, Batch, merge, staging, stream_rows, write_batches
from .windows import to_local_naive

SEP = "\x1f"
NULL = "\\N"
MAX_KEYS_REPORTED = 1000
IGNORE_TABLE = "sxops_reconcile_ignore"


@dataclass
class Diff:
    """What differs, counted exactly (``*_total``); the key lists hold at most ``max_keys`` keys in all, the first
    found in key order, so that a wiped table does not put all its keys in memory."""

    table: str
    source_rows: int = 0
    target_rows: int = 0
    missing: list[tuple[Any, ...]] = field(default_factory=list)  # live in the source, absent from the target
    extra: list[tuple[Any, ...]] = field(default_factory=list)  # in the target, not live in the source
    changed: list[tuple[Any, ...]] = field(default_factory=list)  # in both, with different values
    missing_total: int = 0
    extra_total: int = 0
    changed_total: int = 0
    groups_compared: int = 0
    mode: str = ""
    seconds: float = 0.0
    max_keys: int = MAX_KEYS_REPORTED

    @property
    def equal(self) -> bool:
        return not (self.missing_total or self.extra_total or self.changed_total)

    @property
    def complete(self) -> bool:
        """Whether the key lists hold every differing key (else they are a sample of ``max_keys``)."""
        return (len(self.missing), len(self.extra), len(self.changed)) == (
            self.missing_total,
            self.extra_total,
            self.changed_total,
        )

    @property
    def room(self) -> int:
        """How many more keys the lists may take."""
        return max(0, self.max_keys - len(self.missing) - len(self.extra) - len(self.changed))

    def found(self, kind: str, keys: Sequence[tuple[Any, ...]], total: int | None = None) -> None:
        """Count ``total`` (default: as many as ``keys``) differing keys of a kind (missing, extra, changed) and
        keep as many of ``keys`` as there is room for."""
        setattr(
            self, f"{kind}_total", getattr(self, f"{kind}_total") + (len(keys) if total is None else total)
        )
        getattr(self, kind).extend(keys[: self.room])

    def summary(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "source_rows": self.source_rows,
            "target_rows": self.target_rows,
            "missing": self.missing_total,
            "extra": self.extra_total,
            "changed": self.changed_total,
            "groups_compared": self.groups_compared,
            "mode": self.mode,
            "seconds": self.seconds,
        }


class _Side:
    """SQL for one side of a comparison: key, row hash and prefix expressions in that side's family."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        live_only: bool,
        native_pg: bool,
        as_of: dt.datetime | None = None,
        ignoring: bool = False,
    ) -> None:
        self.engine, self.table = engine, table
        self.family = fam = family(engine)
        self.pg = fam.name == "postgresql"
        self.native = native_pg
        prep = engine.dialect.identifier_preparer
        self.q = prep.quote
        self.name = prep.format_table(table_on(engine, table))
        # Prefix ranges must order keys by bytes on both sides; a database already collating that way keeps its
        # indexes usable for the range scans.
        if len(table.key) == 1 and table.column(table.key[0]).kind in ("str", "text"):
            key = self.q(table.key[0])
        else:
            parts = [fam.key_text(self.q(k)) for k in table.key]
            key = fam.concat([p for part in parts for p in (part, fam.separator)][:-1])
        if self.pg:
            self.key = key if _byte_ordered(engine) else f'{key} COLLATE "C"'
        elif fam.name == "mysql" and key == self.q(table.key[0]) and _collation(engine, table) == BYTE_ORDER:
            # the column collates so already; a COLLATE would turn every range scan into a full one
            self.key = key
        else:
            self.key = fam.byte_order(key)
        self.where = f"{self.q(OP)} <> 'D'" if live_only else "1 = 1"
        self.params: dict[str, Any] = {}
        if as_of is not None:
            self.where += f" AND {self.q(TS)} < :as_of"
            self.params["as_of"] = as_of
        self.binds: list[Any] = []
        # Keys in flux: loaded into a temporary table by the session, except in the province, where the
        # account may only read (no temporary tables): there they travel as one list of bound values.
        self.keys_in_table = ignoring and role_of(engine) != "province"
        if self.keys_in_table:
            self.where += f" AND {self.key} NOT IN (SELECT k FROM {IGNORE_TABLE})"
        elif ignoring:
            self.where += f" AND {self.key} NOT IN :sxops_ignored"
            self.binds.append(sa.bindparam("sxops_ignored", expanding=True))
        self.agg = "sum"
        if self.native:  # each column hashed by its type's own hash function: no text conversion at all
            row = f"ROW({', '.join(self.q(c) for c in table.column_names)})"
            self.h1, self.h2, self.agg = f"hash_record_extended({row}, 0)", "0", "bit_xor"
        else:
            values = [fam.value_text(self.q(c.name), c.kind, c.precision, c.scale) for c in table.columns]
            text = fam.concat([p for v in values for p in (v, fam.separator)][:-1])
            self.h1, self.h2 = fam.hashes(text)

    def key_text(self, key: tuple[Any, ...]) -> str:
        return SEP.join(str(k) for k in key)

    def _range(self, prefix: str, length: int | None = None) -> tuple[str, dict[str, Any]]:
        """The condition, after the side's own, for the keys of a group: those starting with ``prefix``; or, for
        a group of ``length`` characters whose prefix is shorter (a whole key, shorter than the groups), that
        key alone, not the longer keys it begins."""
        if length is not None and len(prefix) < length:
            return f" AND {self.key} = :lo", {**self.params, "lo": prefix}
        if not prefix:
            return "", dict(self.params)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return f" AND {self.key} >= :lo AND {self.key} < :hi", {**self.params, "lo": prefix, "hi": upper}

    def condition(self, prefix: str, length: int) -> tuple[str, dict[str, Any]]:
        """The SQL condition selecting a group's rows on this side, and its parameters."""
        rng, params = self._range(prefix, length)
        return f"{self.where}{rng}", params

    def groups(self, conn: Connection, prefix: str, length: int) -> dict[str, tuple[int, int, int]]:
        rng, params = self._range(prefix)
        group = f"substr({self.key}, 1, {length})" if length else "''"
        sql = (
            f"SELECT {group} AS p, count(*), {self.agg}({self.h1}), {self.agg}({self.h2}) "
            f"FROM {self.name} WHERE {self.where}{rng}" + (" GROUP BY 1" if length else "")
        )
        return {
            p: (int(n), int(s1 or 0), int(s2 or 0))
            for p, n, s1, s2 in conn.execute(sa.text(sql).bindparams(*self.binds), params)
            if n
        }

    def rows(self, conn: Connection, prefix: str, length: int) -> dict[tuple[Any, ...], tuple[int, int]]:
        """Each key of a group with its row's hashes: a leaf, small enough to hold."""
        cond, params = self.condition(prefix, length)
        keys = ", ".join(self.q(k) for k in self.table.key)
        sql = f"SELECT {keys}, {self.h1}, {self.h2} FROM {self.name} WHERE {cond}"
        n = len(self.table.key)
        rows = conn.execute(sa.text(sql).bindparams(*self.binds), params)
        return {tuple(r[:n]): (int(r[n]), int(r[n + 1])) for r in rows}

    def rows_of(
        self, conn: Connection, keys: Sequence[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], tuple[int, int]]:
        """The given keys' row hashes, those this side holds (live, on the source): found by the primary key."""
        t = table_on(self.engine, self.table)
        cols = [t.c[k] for k in self.table.key]
        query = sa.select(*cols, sa.literal_column(self.h1), sa.literal_column(self.h2)).where(
            sa.text(self.where), _keys_in(self.table, t, keys)
        )
        n = len(cols)
        return {tuple(r[:n]): (int(r[n]), int(r[n + 1])) for r in conn.execute(query, self.params)}

    def keys(self, conn: Connection, prefix: str, length: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` keys of a group, in no particular order: the sample of a group one side holds alone."""
        if limit <= 0:
            return []
        cond, params = self.condition(prefix, length)
        t = table_on(self.engine, self.table)
        query = sa.select(*[t.c[k] for k in self.table.key]).where(sa.text(cond).bindparams(*self.binds))
        return [tuple(r) for r in conn.execute(query.limit(limit), params)]


class _Session:
    """Two open connections, one per side, used from two threads so both databases work at once."""

    def __init__(self, a: _Side, b: _Side, ignore: Iterable[tuple[Any, ...]] = ()) -> None:
        self.a, self.b = a, b
        self.conns = [reading(a.engine.connect()), reading(b.engine.connect())]
        ignored = [{"k": a.key_text(k)} for k in ignore]
        # Both sides scan at once. On one server they already share its cores, and parallel workers on top
        # would only oversubscribe them: measured on 2 cores, 1.75 s for two 1 M-row sides with workers,
        # about 1.2 s without. On separate servers each side keeps its parallel workers.
        one_server = a.pg and b.pg and _server(a.engine) == _server(b.engine)
        for side, conn in zip((a, b), self.conns, strict=True):
            if side.pg:  # a few thousand groups: hash them, do not sort a million rows
                local = {"enable_sort": "off", "work_mem": "64MB"}
                if one_server:
                    local["max_parallel_workers_per_gather"] = "0"
                # SET LOCAL, all in one round trip
                settings = ", ".join(f"set_config('{name}', :{name}, true)" for name in local)
                conn.execute(sa.text(f"SELECT {settings}"), local)
            elif side.family.name == "sqlite":
                register_hashes(conn.connection.driver_connection)
            if ignored and not side.keys_in_table:
                side.params["sxops_ignored"] = [k["k"] for k in ignored]
            elif ignored:
                drop = "DROP TEMPORARY TABLE" if side.family.name == "mysql" else "DROP TABLE"
                conn.exec_driver_sql(f"{drop} IF EXISTS {IGNORE_TABLE}")
                conn.exec_driver_sql(side.family.key_table_ddl(IGNORE_TABLE))
                conn.execute(sa.text(f"INSERT INTO {IGNORE_TABLE} (k) VALUES (:k)"), ignored)
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.groups_compared = 0

    def both(self, method: str, *args: Any) -> tuple[Any, Any]:
        fa = self.pool.submit(getattr(self.a, method), self.conns[0], *args)
        fb = self.pool.submit(getattr(self.b, method), self.conns[1], *args)
        return fa.result(), fb.result()

    def groups(self, prefix: str, length: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both sides' groups of ``length`` under ``prefix``, counted in ``groups_compared``."""
        src, tgt = self.both("groups", prefix, length)
        self.groups_compared += len(set(src) | set(tgt))
        return src, tgt

    def sample(self, span: _Span, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` keys of a group only one side holds, read from that side."""
        side, conn = (self.a, self.conns[0]) if span.source_rows else (self.b, self.conns[1])
        return side.keys(conn, span.prefix, span.length, limit)

    def close(self) -> None:
        self.pool.shutdown()
        for conn in self.conns:
            conn.rollback()  # the temporary table goes with the transaction (PostgreSQL) or is dropped next time
            conn.close()


def _server(engine: Engine) -> tuple[str | None, int | None]:
    url = engine.url
    return url.host, url.port


_byte_order: dict[str, bool] = {}  # per database (URL without password)


def _byte_ordered(engine: Engine) -> bool:
    """Whether the database compares text by bytes (C, C.UTF-8, POSIX) rather than linguistically."""
    key = engine.url.render_as_string(hide_password=True)
    if key not in _byte_order:
        with engine.connect() as conn:
            _byte_order[key] = not conn.exec_driver_sql("SELECT 'a' < 'B'").scalar_one()
    return _byte_order[key]


# (database URL without password, table) -> its key column's collation
_collations: dict[tuple[str, str], str | None] = {}


def _collation(engine: Engine, table: Table) -> str | None:
    """The collation of a MySQL/MariaDB table's (single) key column."""
    t = table_on(engine, table)
    cache_key = (engine.url.render_as_string(hide_password=True), t.fullname)
    if cache_key not in _collations:
        with engine.connect() as conn:
            _collations[cache_key] = conn.execute(
                sa.text(
                    "SELECT collation_name FROM information_schema.columns WHERE table_schema = "
                    "COALESCE(:s, DATABASE()) AND table_name = :t AND column_name = :c"
                ),
                {"s": t.schema, "t": t.name, "c": table.key[0]},
            ).scalar()
    return _collations[cache_key]


def _column_types(engine: Bind, table: Table) -> list[tuple[str, str]]:
    # pg_catalog rather than information_schema: the same answer in a tenth of the time, asked every night
    with connected(engine) as conn:
        rows = conn.exec_driver_sql(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%(t)s) AND attnum > 0 AND NOT attisdropped",
            {"t": table_on(engine, table).fullname},
        ).all()
    wanted = set(table.column_names)
    return sorted((str(n), str(t)) for n, t in rows if n in wanted)


def _estimate_rows(engine: Bind, table: Table) -> int:
    """About how many rows the table holds, to size the first groups: on PostgreSQL its statistics, or, for a
    table never analysed (``reltuples`` -1), the planner's estimate from its size, not a count of every row."""
    t = table_on(engine, table)
    with connected(engine) as conn:
        if is_postgres(engine):
            n = conn.exec_driver_sql(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": t.fullname}
            ).scalar()
            if n is not None and n >= 0:
                return int(n)
            if n is not None:
                name = engine.dialect.identifier_preparer.format_table(t)
                plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {name}").scalar_one()
                return int(plan[0]["Plan"]["Plan Rows"])
        return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())


def _first_length(rows: int) -> int:
    """Prefix length of the first level: groups of a few thousand rows for hexadecimal keys."""
    length = 1
    while 16**length * 2000 < rows and length < 6:
        length += 1
    return length


@dataclass(frozen=True)
class _Span:
    """A group whose checksums differ, as far as the comparison narrows it: a leaf of few rows a side, or a
    group one side holds alone (``source_rows`` or ``target_rows`` 0), whatever its size."""

    prefix: str
    length: int  # the length of the groups it is one of
    source_rows: int
    target_rows: int


def _open_comparison(
    table: Table, source: Bind, target: Bind, as_of: dt.datetime | None, ignore: list[tuple[Any, ...]]
) -> tuple[_Session, str]:
    """Both sides of a comparison in a session of their own, and the way rows are hashed: ``as_of`` and
    ``ignore`` as ``reconcile`` takes them."""
    # Hashing typed records is only comparable when both sides hold the columns with the same types; a drifted
    # side (a retyped column) falls back to hashing normalised text.
    native = (
        is_postgres(source)
        and is_postgres(target)
        and _column_types(source, table) == _column_types(target, table)
    )
    ensure_table(engine_of(target), table)
    session = _Session(
        _Side(engine_of(source), table, True, native, as_of, bool(ignore)),
        _Side(engine_of(target), table, False, native, as_of, bool(ignore)),
        ignore,
    )
    return session, "pg-hash-record" if native else "md5-normalised"


def _first_groups(session: _Session, rows: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The first level for tables of about ``rows`` rows: its prefix length and both sides' groups. Equal tables
    cost this one scan per side."""
    length = _first_length(rows)
    src, tgt = session.groups("", length)
    return length, src, tgt


def _differing(
    session: _Session,
    src: dict[str, tuple[int, int, int]],
    tgt: dict[str, tuple[int, int, int]],
    length: int,
    leaf_rows: int,
) -> Iterator[_Span]:
    """The groups of one level whose checksums differ, in key order, each narrowed one character at a time until
    it is a leaf of at most ``leaf_rows`` rows a side or one side holds it alone."""
    for p in sorted(set(src) | set(tgt)):
        a, b = src.get(p), tgt.get(p)
        if a == b:
            continue
        span = _Span(p, length, a[0] if a else 0, b[0] if b else 0)
        one_sided = not (span.source_rows and span.target_rows)
        if one_sided or max(span.source_rows, span.target_rows) <= leaf_rows or length >= 64:
            yield span
        else:
            yield from _differing(session, *session.groups(p, length + 1), length + 1, leaf_rows)


def reconcile(
    table: Table,
    source: Bind,
    target: Bind,
    *,
    as_of: dt.datetime | None = None,
    ignore: Iterable[tuple[Any, ...]] = (),
    leaf_rows: int = 400,
    max_keys: int = MAX_KEYS_REPORTED,
) -> Diff:
    """Exact counts of the missing, extra and changed keys of ``target`` against the live rows of ``source``,
    and up to ``max_keys`` of the keys themselves.

    ``as_of`` compares the rows last changed before that moment, leaving out ``ignore`` (the keys changed
    since on either side, see ``health.flux``): how a day is checked while later days keep arriving. Besides
    the keys kept, a comparison holds one leaf's rows (``leaf_rows`` a side) at a time; a group one side holds
    alone is counted by its checksum query, its keys read only while there is room for them.
    """
    started = time.perf_counter()
    session, mode = _open_comparison(table, source, target, to_local_naive(as_of), list(ignore))
    diff = Diff(table=table.name, mode=mode, max_keys=max_keys)
    try:
        rows = max(_estimate_rows(source, table), _estimate_rows(target, table))
        length, src, tgt = _first_groups(session, rows)
        diff.source_rows = sum(v[0] for v in src.values())
        diff.target_rows = sum(v[0] for v in tgt.values())
        if src != tgt:
            for span in _differing(session, src, tgt, length, leaf_rows):
                _count(session, diff, span)
    finally:
        session.close()
    diff.groups_compared = session.groups_compared
    diff.seconds = round(time.perf_counter() - started, 3)
    return diff


def compare_keys(
    table: Table, source: Bind, target: Bind, keys: Sequence[tuple[Any, ...]], *, chunk: int = 500
) -> Diff:
    """Exact comparison of the rows of ``keys`` alone, looked up by primary key a chunk at a time: what a night's
    changes need checked, at a cost that follows their number rather than the table's size. ``source_rows`` and
    ``target_rows`` count the keys each side holds; every differing key is kept (the caller bounds ``keys``)."""
    if not keys:
        return Diff(table=table.name, mode="by-key", max_keys=0)
    started = time.perf_counter()
    session, mode = _open_comparison(table, source, target, None, [])
    ordered = sorted(set(keys), key=str)
    diff = Diff(table=table.name, mode=f"{mode}-by-key", max_keys=len(ordered))
    try:
        for i in range(0, len(ordered), chunk):
            part = ordered[i : i + chunk]
            src, tgt = session.both("rows_of", part)
            diff.source_rows, diff.target_rows = diff.source_rows + len(src), diff.target_rows + len(tgt)
            _compare_rows(diff, src, tgt)
    finally:
        session.close()
    diff.seconds = round(time.perf_counter() - started, 3)
    return diff


def _count(session: _Session, diff: Diff, span: _Span) -> None:
    """Count a differing group's keys into ``diff``, keeping those there is room for."""
    if not span.target_rows:  # all of the group's keys are missing: its count says how many
        diff.found("missing", session.sample(span, diff.room), span.source_rows)
    elif not span.source_rows:
        diff.found("extra", session.sample(span, diff.room), span.target_rows)
    else:
        _compare_rows(diff, *session.both("rows", span.prefix, span.length))


def _compare_rows(
    diff: Diff, src: dict[tuple[Any, ...], tuple[int, int]], tgt: dict[tuple[Any, ...], tuple[int, int]]
) -> None:
    """Count into ``diff``, in key order, each key of both sides' row hashes that one side lacks or that differs."""
    for key in sorted(set(src) | set(tgt), key=str):
        if key not in tgt:
            diff.found("missing", [key])
        elif key not in src:
            diff.found("extra", [key])
        elif src[key] != tgt[key]:
            diff.found("changed", [key])


@dataclass
class RepairResult:
    table: str
    copied: int
    deleted: int
    seconds: float
    batches: int = 0  # the reads and writes it took, each holding at most ``batch`` keys or rows
    largest_batch: int = 0  # the most keys or rows one of them held


def _keys_in(table: Table, t: sa.Table, keys: Sequence[tuple[Any, ...]]) -> Any:
    if len(table.key) == 1:
        return t.c[table.key[0]].in_([k[0] for k in keys])
    return sa.tuple_(*[t.c[k] for k in table.key]).in_(keys)


class _Writer:
    """A repair's writes on the target's one transaction, holding at most ``batch`` keys or rows at a time: rows
    to copy are read from the source into the staging table (merged once at the end), extra rows deleted."""

    def __init__(self, table: Table, source: Engine, conn: Connection, staging: sa.Table, batch: int) -> None:
        self.table, self.source, self.conn, self.staging, self.batch = table, source, conn, staging, batch
        self.target = sa_table(table)
        self.waiting: list[tuple[Any, ...]] = []
        self.copied = self.deleted = self.batches = self.largest_batch = 0

    def _held(self, n: int) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, n)

    def _counted(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        for rows in batches:
            self._held(len(rows))
            yield rows

    def _stage(self, batches: Iterator[Batch]) -> None:
        self.copied += write_batches(self.conn, self.table, self.staging, batches, None)

    def copy(self, keys: Iterable[tuple[Any, ...]]) -> None:
        """Copy the source's live rows of these keys, ``batch`` keys at a time."""
        for key in keys:
            self.waiting.append(key)
            if len(self.waiting) >= self.batch:
                self.flush()

    def flush(self) -> None:
        """Copy the keys still waiting."""
        if not self.waiting:
            return
        keys, self.waiting = self.waiting, []
        self._held(len(keys))
        live = lambda t: sa.and_(_keys_in(self.table, t, keys), t.c[OP] != "D")  # noqa: E731
        self._stage(stream_rows(self.source, self.table, live, self.batch))

    def copy_group(self, condition: str, params: dict[str, Any]) -> None:
        """Copy a group the target holds none of, streamed from the source in batches: no keys read first."""
        where = sa.text(condition).bindparams(**params)
        self._stage(self._counted(stream_rows(self.source, self.table, where, self.batch)))

    def delete(self, keys: Sequence[tuple[Any, ...]]) -> None:
        for i in range(0, len(keys), self.batch):
            chunk = keys[i : i + self.batch]
            self._held(len(chunk))
            where = _keys_in(self.table, self.target, chunk)
            self.deleted += self.conn.execute(sa.delete(self.target).where(where)).rowcount

    def delete_group(self, name: str, condition: str, params: dict[str, Any]) -> None:
        """Delete a group the source holds none of by its condition: no keys read."""
        self._held(0)
        self.deleted += self.conn.execute(sa.text(f"DELETE FROM {name} WHERE {condition}"), params).rowcount


def repair(table: Table, source: Engine, target: Engine, diff: Diff, *, batch: int = 500) -> RepairResult:
    """Make the target hold the source's live rows where ``diff`` found them to differ: re-copy the missing and
    changed rows, delete the extra ones, in one transaction on the target, so a failed repair leaves it as it was.

    At most ``batch`` keys or rows are held at a time (``RepairResult.largest_batch``). A diff holding every
    differing key (``Diff.complete``) is repaired key by key. One holding a sample only (more keys differed
    than its ``max_keys``) is repaired by comparing the tables again, group by group as ``reconcile`` does, and
    repairing each group as it is found: one only the source holds is copied in streamed batches, one only the
    target holds deleted by its key range, any other narrowed to at most ``batch`` rows a side and repaired key
    by key; what differs at that moment is what is repaired.
    """
    started = time.perf_counter()
    result = CopyResult(table=table.name)
    ensure_table(target, table)
    with target.begin() as conn, staging(conn, table) as stg:
        writer = _Writer(table, source, conn, stg, batch)
        if diff.complete:
            writer.copy(diff.missing + diff.changed)
            writer.delete(diff.extra)
        else:
            _repair_groups(table, source, target, max(diff.source_rows, diff.target_rows), writer)
        writer.flush()
        if writer.copied:
            merge(conn, table, stg.name, writer.target.name, result)
    seconds = round(time.perf_counter() - started, 3)
    return RepairResult(
        table.name, writer.copied, writer.deleted, seconds, writer.batches, writer.largest_batch
    )


def _repair_groups(table: Table, source: Engine, target: Engine, rows: int, writer: _Writer) -> None:
    """Compare the tables (of about ``rows`` rows) again and repair each differing group as it is found (see
    ``repair``). The comparison only reads, on connections of its own, beside the repair's transaction."""
    session, _ = _open_comparison(table, source, target, None, [])
    try:
        length, src, tgt = _first_groups(session, rows)
        for span in _differing(session, src, tgt, length, writer.batch):
            if not span.target_rows:
                writer.copy_group(*session.a.condition(span.prefix, span.length))
            elif not span.source_rows:
                writer.delete_group(session.b.name, *session.b.condition(span.prefix, span.length))
            else:
                have, held = session.both("rows", span.prefix, span.length)
                writer.copy(k for k in sorted(have, key=str) if held.get(k) != have[k])
                writer.delete([k for k in held if k not in have])
    finally:
        session.close()


def diff_report(diff: Diff, repaired: RepairResult | None = None) -> str:
    """A readable report, in Chinese for the operations engineer."""
    lines = [
        f"表 {diff.table} 核对结果（{dt.datetime.now():%Y-%m-%d %H:%M}）",
        f"  源端有效记录 {diff.source_rows:,} 条，目标端 {diff.target_rows:,} 条；比较分组 {diff.groups_compared} 个，"
        f"耗时 {diff.seconds:.2f} 秒（{diff.mode}）",
    ]
    if diff.equal:
        lines.append("  结论：两端一致。")
    else:
        for label, keys, total in (
            ("目标端缺失", diff.missing, diff.missing_total),
            ("目标端多出", diff.extra, diff.extra_total),
            ("内容不一致", diff.changed, diff.changed_total),
        ):
            if total:
                shown = ", ".join("/".join(map(str, k)) for k in keys[:10])
                if total > len(keys[:10]):  # beyond ten, or beyond the keys the comparison kept
                    shown = f"{shown} 等 {total:,} 条" if shown else "（键值未列出）"
                lines.append(f"  {label} {total:,} 条：{shown}")
    if repaired:
        lines.append(
            f"  已修复：重新复制 {repaired.copied:,} 条，删除多余 {repaired.deleted:,} 条，耗时 {repaired.seconds:.2f} 秒。"
        )
    return "\n".join(lines)


__all__ = ["Diff", "RepairResult", "count_rows", "diff_report", "reconcile", "repair", "sa_table"]
