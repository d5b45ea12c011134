"""The ops database: where the platform keeps its own records, and the conventions its two stores share.

The exchange's records (``exchange/records.py``: quarantine, escalations, audits, reconciliations) and the
operations' records (``operations/records.py``: hosts, samples, database sizes, alerts sent, the contract's
registers) are two stores, each with its tables in a schema module beside it, in one database: an ``ops``
schema on PostgreSQL, ``ops_``-prefixed tables elsewhere (SQLite, MySQL), in the front database unless
``SXOPS_OPS_URL`` names another. Both make their tables, and widen the ones an older version made, the one way
``RecordStore.ensure`` does, so an existing ops database keeps working whichever store touches it first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .dbs import is_postgres, reading
from .windows import SHANGHAI


def now_local() -> dt.datetime:
    return dt.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


class OpsSchema:
    """Tables of the ops database on one MetaData: in the ``ops`` schema on PostgreSQL, under the ``ops_``
    prefix elsewhere (SQLite has no schemas; on MySQL a schema is another database). A schema module defines
    its tables through one of these, so every table and index is named the same way."""

    def __init__(self, engine: Engine) -> None:
        pg = is_postgres(engine)
        self.prefix = "" if pg else "ops_"  # index and constraint names carry it too
        self.metadata = sa.MetaData(schema="ops" if pg else None)

    def table(self, name: str, *items: sa.schema.SchemaItem) -> sa.Table:
        """The table ``name`` (without the prefix) of ``items``."""
        return sa.Table(f"{self.prefix}{name}", self.metadata, *items)

    def records(
        self,
        name: str,
        *items: sa.schema.SchemaItem,
        key: sa.types.TypeEngine[int] | type[sa.types.TypeEngine[int]] = sa.Integer,
    ) -> sa.Table:
        """A table of records: ``items`` after an ``id`` key the database assigns."""
        return self.table(name, sa.Column("id", key, primary_key=True, autoincrement=True), *items)

    def by_name(self) -> dict[str, sa.Table]:
        """Every table by its name without the prefix: the attribute names of a schema module's tables."""
        return {t.name.removeprefix(self.prefix): t for t in self.metadata.tables.values()}


def _add_missing_columns(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Nullable columns a newer version added to a table an older one made (``launched_by``), added in place:
    ``create_all`` makes missing tables only. Idempotent; the same statement on SQLite, PostgreSQL, MariaDB."""
    inspector, quote = sa.inspect(conn), conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        held = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
        for column in table.columns:
            if column.name not in held and column.nullable:
                conn.exec_driver_sql(
                    f"ALTER TABLE {quote.format_table(table)} ADD COLUMN "
                    f"{quote.quote(column.name)} {column.type.compile(conn.dialect)}"
                )


class RecordStore:
    """The tables of one MetaData in the ops database, made and widened once, on first use."""

    def __init__(self, engine: Engine, metadata: sa.MetaData) -> None:
        self.engine = engine
        self.metadata = metadata
        self._ready = False

    def ensure(self) -> Self:
        """Create the schema and the missing tables, add the columns a newer version has; once per store."""
        if not self._ready:
            with self.engine.begin() as conn:
                if self.metadata.schema:
                    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {self.metadata.schema}")
                self.metadata.create_all(conn, checkfirst=True)
                _add_missing_columns(conn, self.metadata)
            self._ready = True
        return self

    def rows(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        """What ``query`` selects, as one dict a row: the shape every listing of a store returns."""
        self.ensure()
        with reading(self.engine.connect()) as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


def new_id(result: sa.CursorResult[Any]) -> int:
    """The id an INSERT of one row gave it (every records table is keyed by an autoincrement id)."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])
