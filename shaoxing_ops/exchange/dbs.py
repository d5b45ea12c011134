"""Engines for the three database roles, tuned per dialect, and URLs safe to print."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

READ_ONLY = "shaoxing_ops_read_only"  # execution option: this connection only reads


def reading(conn: Connection) -> Connection:
    """Mark a connection as read-only before its first statement (SQLite then begins a deferred transaction)."""
    return conn.execution_options(**{READ_ONLY: True})


def normalise_url(url: str | URL) -> URL:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (the COPY fast path needs it)."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.get_driver_name() != "psycopg":
        u = u.set(drivername="postgresql+psycopg")
    return u


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden: the only form that may reach a log, the UI or a report."""
    return make_url(url).render_as_string(hide_password=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(url: str | URL) -> Engine:
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": 120})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets readers (the UI, checks) go on while a load writes; a load stays one transaction.
            # pysqlite's own transaction handling is switched off so BEGIN comes from SQLAlchemy and DDL is
            # transactional too (the full reload swaps tables inside one transaction).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # type: ignore[no-untyped-def]
            # A deferred transaction that reads and then writes fails at once with "database is locked" when
            # another process wrote meanwhile; taking the write lock up front makes it wait its turn instead.
            # Long reads say so (READ_ONLY) and stay deferred, leaving writers free.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if u.get_backend_name() == "postgresql":
        return sa.create_engine(u, pool_pre_ping=True, connect_args={"application_name": "shaoxing-ops"})
    return sa.create_engine(u)
