"""MySQL and MariaDB: ``INSERT … ON DUPLICATE KEY UPDATE``, ``MD5``, ``CONCAT`` (``||`` means OR there).

Text columns are ``utf8mb4`` (4-byte emoji, rare characters in names) and codes compare as ``utf8mb4_bin``
(byte order: ``'a'`` and ``'A'`` are different keys, as on PostgreSQL's "C" and SQLite); timestamps keep
microseconds (``DATETIME(6)``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from .base import NULL_TEXT, Family, Quote, Upsert

BYTE_ORDER = "utf8mb4_bin"


class MySql(Family):
    name = "mysql"
    separator = "CHAR(31 USING utf8mb4)"

    def day_of(self, expr: str) -> str:
        return f"LEFT(CAST({expr} AS CHAR), 10)"

    def differs(self, left: Sequence[str], right: Sequence[str]) -> str:
        return "(" + " OR ".join(f"NOT ({a} <=> {b})" for a, b in zip(left, right, strict=True)) + ")"

    def upsert_sql(self, q: Quote, u: Upsert) -> str:
        # MySQL leaves a row whose new values equal its old ones unwritten by itself (affected rows 0).
        nonkey = u.nonkey or list(u.key)
        cols = ", ".join(q(c) for c in u.columns)
        return (
            f"INSERT INTO {q(u.target)} ({cols}) SELECT {cols} FROM ({u.select}) u "
            "ON DUPLICATE KEY UPDATE " + ", ".join(f"{q(c)} = VALUES({q(c)})" for c in nonkey)
        )

    def upsert_rows(self, table: sa.Table, key: Sequence[str]) -> sa.Executable:
        stmt = mysql.insert(table)
        nonkey = [c.name for c in table.c if c.name not in key] or list(key)
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in nonkey})

    def value_text(self, col: str, kind: str, precision: int | None = None, scale: int | None = None) -> str:
        if kind == "datetime":  # any DATETIME precision prints as microseconds, as the other databases do
            expr = f"DATE_FORMAT({col}, '%Y-%m-%d %H:%i:%s.%f')"
        elif kind == "dec":
            expr = f"CAST(CAST({col} AS DECIMAL({precision}, {scale})) AS CHAR)"
        else:  # text as it is; MySQL's CAST knows no VARCHAR
            expr = col if kind in ("str", "text") else f"CAST({col} AS CHAR)"
        # \N spelled without a backslash in the literal, which MySQL would read as an escape
        return f"coalesce({expr}, CONCAT(CHAR(92 USING utf8mb4), '{NULL_TEXT[1:]}'))"

    def key_text(self, col: str) -> str:
        return f"CAST({col} AS CHAR)"

    def concat(self, parts: Sequence[str]) -> str:
        return f"CONCAT({', '.join(parts)})"

    def byte_order(self, expr: str) -> str:
        return f"{expr} COLLATE {BYTE_ORDER}"

    hash_half = "CAST(CONV(SUBSTRING(MD5({text}), {start}, 8), 16, 10) AS UNSIGNED)"

    def type_text(self, compiled: str) -> str:
        # The server names a column's character set and collation only where they differ from the table's
        # default, prints integers with a display width and spells NUMERIC as DECIMAL: none is a change.
        text = re.sub(r" (CHARACTER SET|COLLATE) \w+", "", compiled)
        text = re.sub(r"^(TINYINT|SMALLINT|INTEGER|BIGINT)\(\d+\)", r"\1", text)
        return text.replace("DECIMAL(", "NUMERIC(")

    def key_table_ddl(self, name: str) -> str:
        return f"CREATE TEMPORARY TABLE {name} (k VARCHAR(700) COLLATE {BYTE_ORDER} PRIMARY KEY)"
