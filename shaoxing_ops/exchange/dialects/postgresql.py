"""PostgreSQL, and KingbaseES (人大金仓), which speaks its protocol and SQL: ``ON CONFLICT``, ``md5``, COPY."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql

from .base import NULL_TEXT, OnConflict


class PostgreSql(OnConflict):
    name = "postgresql"
    insert = staticmethod(postgresql.insert)
    staging_options = {"postgresql_on_commit": "DROP"}  # noqa: RUF012

    def day_of(self, expr: str) -> str:
        # PostgreSQL's own date: grouping by it costs a third less than by the timestamp's text (48 ms
        # against 69 ms for 102,665 rows)
        return f"CAST({expr} AS date)"

    def month_of(self, expr: str) -> str:
        return f"(EXTRACT(YEAR FROM {expr})::int * 100 + EXTRACT(MONTH FROM {expr})::int)"

    def differs(self, left: Sequence[str], right: Sequence[str]) -> str:
        return f"(({', '.join(left)}) IS DISTINCT FROM ({', '.join(right)}))"

    def count_if(self, condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    def value_text(self, col: str, kind: str, precision: int | None = None, scale: int | None = None) -> str:
        expr = {
            "datetime": f"to_char({col}, 'YYYY-MM-DD HH24:MI:SS.US')",
            "date": f"to_char({col}, 'YYYY-MM-DD')",
        }.get(kind, f"CAST({col} AS TEXT)")
        return f"coalesce({expr}, '{NULL_TEXT}')"

    def key_text(self, col: str) -> str:
        return f"CAST({col} AS TEXT)"

    hash_half = "('x' || substr(md5({text}), {start}, 8))::bit(32)::bigint"

    def key_table_ddl(self, name: str) -> str:
        return f"CREATE TEMPORARY TABLE {name} (k TEXT PRIMARY KEY)"
