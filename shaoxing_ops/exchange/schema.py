"""Catalog tables as SQLAlchemy tables, the same on every dialect but for how decimals and codes are kept.

On PostgreSQL the ``str(n)`` columns (keys, codes, credit codes, ID numbers, names) collate as "C": they are
compared byte by byte, which is what an identifier means, matches SQLite's BINARY and Python's ordering, and
lets PostgreSQL sort with abbreviated keys: a full reload builds a million-row primary key in about half the
time it takes under a libc collation such as C.UTF-8 or zh_CN.UTF-8. On MySQL/MariaDB they are ``utf8mb4``
collated ``utf8mb4_bin`` for the same reasons (the default collations there ignore case: ``'a'`` and ``'A'``
would be one key). Free text (``text``) keeps the database's collation.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, oracle
from sqlalchemy.engine import Connection, Engine

from shaoxing_ops.catalog import PLATFORM_COLUMNS as PLATFORM
from shaoxing_ops.catalog import Column, Table

from .dbs import Bind, engine_of, role_of
from .dialects.mysql import BYTE_ORDER


class SqliteDecimal(sa.types.TypeDecorator[Decimal]):
    """Exact decimals on SQLite, kept as canonical text (SQLite's own NUMERIC would round through floats)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(value).quantize(self.quantum))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


def column_type(col: Column) -> sa.types.TypeEngine[Any]:
    match col.kind:
        case "str":
            return (
                sa.String(col.length)
                .with_variant(sa.String(col.length, collation="C"), "postgresql")
                .with_variant(
                    mysql.VARCHAR(col.length, charset="utf8mb4", collation=BYTE_ORDER), "mysql", "mariadb"
                )
            )
        case "text":
            return sa.Text().with_variant(mysql.TEXT(charset="utf8mb4"), "mysql", "mariadb")
        case "int":
            return sa.Integer()
        case "bigint":
            return sa.BigInteger()
        case "dec":
            assert col.precision is not None and col.scale is not None
            return sa.Numeric(col.precision, col.scale, asdecimal=True).with_variant(
                SqliteDecimal(col.scale), "sqlite"
            )
        case "date":
            return sa.Date()
        case "datetime":  # MySQL's DATETIME and Oracle's DATE drop microseconds: ask for them
            return (
                sa.DateTime()
                .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
                .with_variant(oracle.TIMESTAMP(), "oracle")
            )
    raise ValueError(f"unknown column kind {col.kind!r}")


def cast_type(col: Column) -> sa.types.TypeEngine[Any]:
    """The column's type for a CAST, which takes no collation."""
    return sa.String(col.length) if col.kind == "str" else column_type(col)


def sa_table(
    table: Table, metadata: sa.MetaData | None = None, name: str | None = None, *, indexes: bool = True
) -> sa.Table:
    """The SQLAlchemy table of a catalog table (under another ``name`` for staging and rebuilds).

    Without a ``metadata`` the result is shared and cached: treat it as read-only.
    """
    if metadata is None:
        return _cached_table(table, name, indexes)
    return _build_table(table, metadata, name, indexes)


@cache
def _cached_table(table: Table, name: str | None, indexes: bool) -> sa.Table:
    return _build_table(table, sa.MetaData(), name, indexes)


def _build_table(table: Table, metadata: sa.MetaData, name: str | None, indexes: bool) -> sa.Table:
    name = name or table.db_name
    cols = [
        sa.Column(c.name, column_type(c), nullable=c.nullable, primary_key=c.name in table.key)
        for c in table.columns
    ]
    t = sa.Table(name, metadata, *cols)
    if indexes:
        for c in table.columns:
            if c.index and c.name not in table.key:
                sa.Index(f"ix_{name}_{c.name}", t.c[c.name])
    return t


def table_on(bind: Bind, table: Table) -> sa.Table:
    """The table as the database behind ``bind`` holds it: in the province under the province's own name and
    schema where the catalog maps them (``source:``), elsewhere as ``sa_table``."""
    if role_of(bind) == "province" and (table.source_name or table.source_schema):
        return _source_table(table)
    return sa_table(table)


@cache
def _source_table(table: Table) -> sa.Table:
    cols = [sa.Column(c.name, column_type(c), primary_key=c.name in table.key) for c in table.columns]
    return sa.Table(table.source_db_name, sa.MetaData(), *cols, schema=table.source_schema)


def tombstone_table(table: Table) -> sa.Table:
    """``<table>__deleted``: the keys a load deleted, and when, so a downstream leg can apply the deletes too.

    The front keeps live rows only; without this the Data Bureau leg could never learn that a row went away.
    """
    return _cached_tombstones(table)


@cache
def _cached_tombstones(table: Table) -> sa.Table:
    name = f"{table.db_name}__deleted"
    cols = [sa.Column(k, column_type(table.column(k)), primary_key=True) for k in table.key]
    cols += [sa.Column(c, column_type(table.column(c)), nullable=False) for c in PLATFORM]
    t = sa.Table(name, sa.MetaData(), *cols)
    sa.Index(f"ix_{name}_ts", t.c.dsc_biz_timestamp)
    return t


# Tables known to exist, per engine: asking the catalog of the database on every load costs a round trip.
# Only this package drops tables (a full reload swaps one for another of the same name), so it stays true.
_known: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


def ensure_table(bind: Bind, table: Table) -> sa.Table:
    """Create the table (and its indexes) if it is missing; return its SQLAlchemy form."""
    t = sa_table(table)
    engine = engine_of(bind)
    known = _known.setdefault(engine, set())
    if t.name not in known:
        t.create(bind, checkfirst=True)
        tombstone_table(table).create(bind, checkfirst=True)
        if isinstance(bind, Engine):  # committed; inside a caller's transaction it may yet roll back
            known.add(t.name)
    return t


def count_rows(conn: Connection, t: sa.Table, where: Any = None) -> int:
    q = sa.select(sa.func.count()).select_from(t)
    if where is not None:
        q = q.where(where)
    return int(conn.execute(q).scalar_one())


def table_exists(bind: Bind, name: str, schema: str | None = None) -> bool:
    engine = engine_of(bind)
    known_as = f"{schema}.{name}" if schema else name
    if known_as in _known.get(engine, ()):
        return True
    exists = sa.inspect(bind).has_table(name, schema=schema)
    if exists:
        _known.setdefault(engine, set()).add(known_as)
    return exists


def exists_on(bind: Bind, table: Table) -> bool:
    """Whether the database behind ``bind`` holds the table (under the name ``table_on`` gives it)."""
    t = table_on(bind, table)
    return table_exists(bind, t.name, t.schema)
