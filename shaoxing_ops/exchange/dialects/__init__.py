"""SQL that differs between database families, one small module each; everything else is SQLAlchemy.

A family knows its merge (upsert of staged rows), how it compares two rows, the day of a timestamp, a value's
text form and row hash for reconciliation, its staging tables and its ``INSERT … ON CONFLICT``-like statement
for SQLAlchemy. ``family(bind)`` picks one by SQLAlchemy's dialect name; an unknown database gets a clear error
naming what is supported.

| family      | databases                       | merge                              | row hash            |
|-------------|---------------------------------|------------------------------------|---------------------|
| postgresql  | PostgreSQL, KingbaseES          | ``INSERT … ON CONFLICT DO UPDATE`` | ``md5``             |
| sqlite      | SQLite                          | ``INSERT … ON CONFLICT DO UPDATE`` | md5 in Python (UDF) |
| mysql       | MySQL, MariaDB                  | ``INSERT … ON DUPLICATE KEY``      | ``MD5``             |
| oracle      | Oracle                          | ``MERGE INTO``                     | ``STANDARD_HASH``   |
| dm          | 达梦 DM8                        | ``MERGE INTO``                     | ``MD5`` (DM's own)  |
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine

from .base import Family, UnsupportedDatabase
from .dm import Dm
from .mysql import MySql
from .oracle import Oracle
from .postgresql import PostgreSql
from .sqlite import Sqlite

FAMILIES: dict[str, Family] = {
    "postgresql": PostgreSql(),
    "sqlite": Sqlite(),
    "mysql": MySql(),
    "mariadb": MySql(),
    "oracle": Oracle(),
    "dm": Dm(),
}


def family(bind: Engine | Connection | Any) -> Family:
    """The family of an engine, a connection or a SQLAlchemy dialect."""
    dialect: Any = getattr(bind, "dialect", bind)
    try:
        return FAMILIES[dialect.name]
    except KeyError:
        raise UnsupportedDatabase(
            f"database {dialect.name!r} is not supported; use one of: {', '.join(sorted(FAMILIES))}"
        ) from None


__all__ = ["FAMILIES", "Family", "UnsupportedDatabase", "family"]
