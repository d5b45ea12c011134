"""Oracle: ``MERGE INTO``, ``STANDARD_HASH(…, 'MD5')``, ``TO_CHAR`` for canonical text.

Not verified against a live server here (none can be installed): the statements are compiled and checked in
the tests. Oracle keeps ``''`` as NULL, so an empty string hashes as ``\\N`` there and as ``''`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.oracle.base import OracleDialect

from .base import NULL_TEXT, Family, Quote, Upsert


def number_format(precision: int, scale: int) -> str:
    """A ``TO_CHAR`` format printing a NUMBER(p, s) with exactly ``scale`` decimals, no padding."""
    whole = max(precision - scale, 1)
    return "FM" + "9" * (whole - 1) + "0" + ("." + "0" * scale if scale else "")


class Oracle(Family):
    name = "oracle"
    staging_prefixes = ("PRIVATE TEMPORARY",)  # 18c+: session-private, its definition dropped at commit
    staging_options = {"oracle_on_commit": "DROP DEFINITION"}  # noqa: RUF012
    separator = "CHR(31)"

    def staging_name(self, table_name: str) -> str:
        return f"ORA$PTT_stg_{table_name}"  # the prefix private temporary tables must carry (the default)

    def day_of(self, expr: str) -> str:
        return f"TO_CHAR({expr}, 'YYYY-MM-DD')"

    def differs(self, left: Sequence[str], right: Sequence[str]) -> str:
        # DECODE compares NULL equal to NULL
        return (
            "(" + " OR ".join(f"DECODE({a}, {b}, 0, 1) = 1" for a, b in zip(left, right, strict=True)) + ")"
        )

    def upsert_sql(self, q: Quote, u: Upsert) -> str:
        return self.merge_into(q, u)

    def upsert_rows(self, table: sa.Table, key: Sequence[str]) -> sa.Executable:
        prep = OracleDialect().identifier_preparer
        binds = ", ".join(f":{c.name} AS {prep.quote(c.name)}" for c in table.c)
        select = f"SELECT {binds} FROM DUAL"
        return sa.text(self.upsert(prep.quote, table.name, [c.name for c in table.c], key, select))

    def value_text(self, col: str, kind: str, precision: int | None = None, scale: int | None = None) -> str:
        expr = {
            "datetime": f"TO_CHAR(CAST({col} AS TIMESTAMP(6)), 'YYYY-MM-DD HH24:MI:SS.FF6')",
            "date": f"TO_CHAR({col}, 'YYYY-MM-DD')",
            "dec": f"TO_CHAR({col}, '{number_format(precision or 38, scale or 0)}')",
            "str": col,
            "text": col,
        }.get(kind, f"TO_CHAR({col})")
        return f"NVL({expr}, '{NULL_TEXT}')"

    def key_text(self, col: str) -> str:
        return f"TO_CHAR({col})"

    hash_half = "TO_NUMBER(SUBSTR(RAWTOHEX(STANDARD_HASH({text}, 'MD5')), {start}, 8), 'XXXXXXXX')"

    def add_column(self, table: str, column: str, sql_type: str) -> str:
        return f"ALTER TABLE {table} ADD ({column} {sql_type})"

    def key_table_ddl(self, name: str) -> str:
        return f"CREATE PRIVATE TEMPORARY TABLE ORA$PTT_{name} (k VARCHAR2(4000) PRIMARY KEY) ON COMMIT DROP DEFINITION"
