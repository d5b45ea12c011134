"""What every family answers, with the SQL standard's answer where there is one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

Quote = Callable[[str], str]
NULL_TEXT = "\\N"  # a NULL's text form in row hashes, as PostgreSQL's COPY writes it


@dataclass(frozen=True)
class Upsert:
    """What an upsert writes: the rows of ``select`` (one per key) into ``target``'s ``columns``."""

    target: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    select: str
    skip_unchanged: bool = True  # rows equal to what the target holds are not written again

    @property
    def nonkey(self) -> list[str]:
        return [c for c in self.columns if c not in self.key]


class UnsupportedDatabase(ValueError):
    """A URL names a database no family knows."""


class Family:
    """One database family's SQL. Subclasses override what their database says differently."""

    name = "generic"
    # The staging table of a load: created per load, gone after it (table options as SQLAlchemy spells them).
    staging_prefixes: tuple[str, ...] = ("TEMPORARY",)
    staging_options: dict[str, str] = {}  # noqa: RUF012 (read only)

    def staging_name(self, table_name: str) -> str:
        return f"stg_{table_name}"

    # -- reading and comparing ----------------------------------------------------------------------
    def day_of(self, expr: str) -> str:
        """The day of a naive timestamp, to group a load's figures and the checks' counts by: a value whose
        ``str`` is ``YYYY-MM-DD`` (text, or a ``date`` where the database groups that faster)."""
        return f"substr(CAST({expr} AS VARCHAR(32)), 1, 10)"

    def month_of(self, expr: str) -> str:
        """The month of a date as the integer ``YYYYMM``: cheaper to compute and to group by than text."""
        return f"(EXTRACT(YEAR FROM {expr}) * 100 + EXTRACT(MONTH FROM {expr}))"

    def differs(self, left: Sequence[str], right: Sequence[str]) -> str:
        """True where two rows of columns differ, NULL equal to NULL."""
        return (
            "("
            + " OR ".join(f"NOT ({a} IS NOT DISTINCT FROM {b})" for a, b in zip(left, right, strict=True))
            + ")"
        )

    def count_if(self, condition: str) -> str:
        return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    # -- merging ------------------------------------------------------------------------------------
    def upsert(
        self,
        q: Quote,
        target: str,
        columns: Sequence[str],
        key: Sequence[str],
        select: str,
        *,
        skip_unchanged: bool = True,
    ) -> str:
        """Insert the rows of ``select`` (one per key) into ``target``, updating the keys it already holds;
        with ``skip_unchanged`` rows equal to what the target holds are not written again."""
        return self.upsert_sql(q, Upsert(target, tuple(columns), tuple(key), select, skip_unchanged))

    def upsert_sql(self, q: Quote, u: Upsert) -> str:
        """The family's statement for ``upsert``."""
        raise NotImplementedError

    def merge_into(self, q: Quote, u: Upsert) -> str:
        """SQL:2003 ``MERGE``, as Oracle and DM write it (no ``AS`` before table aliases)."""
        columns, nonkey = u.columns, u.nonkey
        on = " AND ".join(f"t.{q(k)} = u.{q(k)}" for k in u.key)
        sql = f"MERGE INTO {q(u.target)} t USING ({u.select}) u ON ({on})"
        if nonkey:
            sql += " WHEN MATCHED THEN UPDATE SET " + ", ".join(f"t.{q(c)} = u.{q(c)}" for c in nonkey)
            if u.skip_unchanged:
                sql += " WHERE " + self.differs([f"t.{q(c)}" for c in nonkey], [f"u.{q(c)}" for c in nonkey])
        cols = ", ".join(q(c) for c in columns)
        return (
            sql + f" WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({', '.join(f'u.{q(c)}' for c in columns)})"
        )

    def upsert_rows(self, table: sa.Table, key: Sequence[str]) -> sa.Executable:
        """An executemany-able statement writing dicts of all columns, updating keys already present."""
        raise NotImplementedError

    # -- reconciliation: one text form and one hash on every database --------------------------------
    def value_text(self, col: str, kind: str, precision: int | None = None, scale: int | None = None) -> str:
        """A column's canonical text: dates ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS.ffffff``,
        decimals at their catalog scale, the rest as the database writes them; NULL as ``\\N``."""
        return f"coalesce(CAST({col} AS VARCHAR(4000)), '{NULL_TEXT}')"

    def key_text(self, col: str) -> str:
        """A non-text key column as text, for ordering keys by prefix."""
        return f"CAST({col} AS VARCHAR(64))"

    def concat(self, parts: Sequence[str]) -> str:
        return "(" + " || ".join(parts) + ")"

    def byte_order(self, expr: str) -> str:
        """``expr`` compared and ordered byte by byte (key prefixes must order alike on both sides)."""
        return expr

    separator = "chr(31)"  # between values of a row's text, a character no value contains

    # One 32-bit half of the MD5 of {text} as an unsigned integer: its hex digits {start} to {start} + 7.
    hash_half = ""

    def hashes(self, text: str) -> tuple[str, str]:
        """Two 32-bit unsigned integers from the MD5 of ``text`` (its hex digits 1-8 and 9-16)."""
        if not self.hash_half:
            raise NotImplementedError(f"{self.name}: no row hash")
        return self.hash_half.format(text=text, start=1), self.hash_half.format(text=text, start=9)

    def type_text(self, compiled: str) -> str:
        """A column type as the ``schema`` check compares it: the catalog's type compiled for this database
        against the type reflected from it, each passed through here."""
        return compiled

    def add_column(self, table: str, column: str, sql_type: str) -> str:
        """DDL adding a nullable column to an existing table (names already quoted)."""
        return f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"

    def key_table_ddl(self, name: str) -> str:
        """A session's temporary table of keys (text) to leave out of a comparison."""
        return f"CREATE TEMPORARY TABLE {name} (k VARCHAR(4000) PRIMARY KEY)"


class OnConflict(Family):
    """``INSERT … ON CONFLICT (key) DO UPDATE``, as PostgreSQL and SQLite spell it; they differ only in how
    the statement names its target (``target_alias``) and where SQLite's parser needs a ``WHERE``."""

    target_alias: str | None = "t"  # None: the target is named by its table name
    select_where = ""  # appended to the SELECT before ON CONFLICT
    insert: Any = None  # the dialect's insert() construct, for upsert_rows

    def upsert_sql(self, q: Quote, u: Upsert) -> str:
        nonkey = u.nonkey
        cols = ", ".join(q(c) for c in u.columns)
        alias = f" AS {self.target_alias}" if self.target_alias else ""
        sql = (
            f"INSERT INTO {q(u.target)}{alias} ({cols}) SELECT {cols} FROM ({u.select}) u{self.select_where} "
        )
        sql += f"ON CONFLICT ({', '.join(q(k) for k in u.key)}) DO UPDATE SET "
        sql += ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in nonkey)
        if u.skip_unchanged:
            ref = self.target_alias or q(u.target)
            sql += " WHERE " + self.differs(
                [f"{ref}.{q(c)}" for c in nonkey], [f"EXCLUDED.{q(c)}" for c in nonkey]
            )
        return sql

    def upsert_rows(self, table: sa.Table, key: Sequence[str]) -> sa.Executable:
        stmt = self.insert(table)
        upsert: sa.Executable = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in key},
        )
        return upsert
