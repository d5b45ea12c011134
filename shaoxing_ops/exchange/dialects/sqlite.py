"""SQLite, the embedded default: ``ON CONFLICT`` upserts; md5 comes from Python as a user function."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import sqlite

from .base import NULL_TEXT, OnConflict


def register_hashes(dbapi_conn: Any) -> None:
    """``sxops_h1``/``sxops_h2``: the two halves of ``hashes`` on a raw sqlite3 connection."""

    # A row's two halves are asked for one after the other: the last digest is kept for the second (one md5 a
    # row instead of two). A half is 4 digest bytes read big-endian, the number the servers read from the
    # same hex digits (``Family.hashes``), so the sides of a mixed site compare.
    last: list[Any] = [None, b""]

    def part(text: str | None, i: int) -> int | None:
        if text is None:
            return None
        if text != last[0]:
            last[0], last[1] = text, hashlib.md5(text.encode()).digest()
        return int.from_bytes(last[1][4 * i : 4 * i + 4], "big")

    dbapi_conn.create_function("sxops_h1", 1, lambda t: part(t, 0), deterministic=True)
    dbapi_conn.create_function("sxops_h2", 1, lambda t: part(t, 1), deterministic=True)


class Sqlite(OnConflict):
    name = "sqlite"
    target_alias = None  # SQLite names the target by its table name
    select_where = " WHERE true"  # tells its parser the ON CONFLICT belongs to the INSERT, not a join
    insert = staticmethod(sqlite.insert)
    separator = "char(31)"

    def day_of(self, expr: str) -> str:
        return f"substr(CAST({expr} AS TEXT), 1, 10)"

    def month_of(self, expr: str) -> str:  # dates are ISO text
        return f"CAST(substr({expr}, 1, 4) || substr({expr}, 6, 2) AS INTEGER)"

    def differs(self, left: Sequence[str], right: Sequence[str]) -> str:
        return f"(({', '.join(left)}) IS NOT ({', '.join(right)}))"

    def value_text(self, col: str, kind: str, precision: int | None = None, scale: int | None = None) -> str:
        # SQLAlchemy keeps timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' and decimals as text at their scale
        return f"coalesce(CAST({col} AS TEXT), '{NULL_TEXT}')"

    def key_text(self, col: str) -> str:
        return f"CAST({col} AS TEXT)"

    def hashes(self, text: str) -> tuple[str, str]:
        return f"sxops_h1({text})", f"sxops_h2({text})"

    def key_table_ddl(self, name: str) -> str:
        return f"CREATE TEMPORARY TABLE {name} (k TEXT PRIMARY KEY)"
