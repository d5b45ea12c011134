"""Engines for the three database roles, tuned per dialect, and URLs safe to print."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

READ_ONLY = "shaoxing_ops_read_only"  # execution option: this connection only reads
Bind = Engine | Connection  # where a function reads: an engine, or a connection its caller keeps open


def engine_of(bind: Bind) -> Engine:
    return bind if isinstance(bind, Engine) else bind.engine


@contextmanager
def connected(bind: Bind) -> Iterator[Connection]:
    """A connection for the block: ``bind`` itself where it is one, else one checked out of the pool."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


@contextmanager
def for_reads(engine: Engine) -> Iterator[Bind]:
    """One autocommit connection for a series of small reads (a table's checks: some twenty queries a side).

    Each pooled checkout costs a ping, a BEGIN and a ROLLBACK besides the query: three round trips saved per
    query on a server. Autocommit holds no snapshot or lock between statements, as separate checkouts did not.
    SQLite keeps its engine: a checkout there costs no round trip, and resetting a connection after
    autocommit would undo the engine's own transaction handling (see ``_make_engine``). Its statements are
    marked read-only, so each begins a deferred transaction: a check's reads then never queue for the write
    lock behind another run's load into the same file.
    """
    if engine.dialect.name == "sqlite":
        yield engine.execution_options(**{READ_ONLY: True})
        return
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def reading(conn: Connection) -> Connection:
    """Mark a connection as read-only before its first statement (SQLite then begins a deferred transaction)."""
    return conn.execution_options(**{READ_ONLY: True})


MYSQL_SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)


def normalise_url(url: str | URL) -> URL:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (the COPY fast path needs it); PyMySQL for
    MySQL/MariaDB where no driver is named, talking ``utf8mb4`` unless the URL says otherwise."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.get_driver_name() != "psycopg":
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() in ("mysql", "mariadb"):
        if "+" not in u.drivername:
            u = u.set(drivername=f"{u.get_backend_name()}+pymysql")
        if "charset" not in u.query:
            u = u.update_query_dict({"charset": "utf8mb4"})
    return u


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden: the only form that may reach a log, the UI or a report."""
    return make_url(url).render_as_string(hide_password=True)


def is_postgres(bind: Bind) -> bool:
    return bind.dialect.name == "postgresql"


UNREACHABLE_MESSAGE = "shaoxing_ops_message"  # set on the exception: which database, which variable
ROLE = "shaoxing_ops_role"  # execution option: which database this is (province, front, bureau, ops)


def role_of(bind: Bind) -> str | None:
    return bind.get_execution_options().get(ROLE)


EXTRAS = {
    "oracle": "pip install 'shaoxing-ops[oracle]'",
    "dm": "pip install 'shaoxing-ops[dm]'",
    "mysql": "pip install pymysql",
    "mariadb": "pip install pymysql",
    "postgresql": "pip install psycopg",
}
# Connection defaults for long reads over a WAN: fail fast when a server does not answer, keep idle TCP
# connections alive through firewalls. A URL's own query parameters (e.g. sslmode, connect_timeout) win.
PG_CONNECT = {
    "connect_timeout": 15,
    "keepalives": 1,
    "keepalives_idle": 60,
    "keepalives_interval": 10,
    "keepalives_count": 5,
}
MYSQL_CONNECT = {"connect_timeout": 15}
ORACLE_CONNECT = {"tcp_connect_timeout": 15, "expire_time": 1}  # minutes between keep-alive probes


class DatabaseConfigError(ValueError):
    """A database URL is wrong, unreachable or needs a driver that is missing; the message names the role."""


def _variable(role: str | None) -> str:
    return f"SXOPS_{role.upper()}_URL" if role else "the database URL"


def make_engine(url: str | URL, role: str | None = None) -> Engine:
    """An engine tuned for its dialect; ``role`` names the database it reaches (the province's tables may be
    named and placed its own way, see ``schema.table_on``) and every error about reaching it."""
    what = f"the {role} database" if role else "the database"
    try:
        engine = _make_engine(url)
    except sa.exc.ArgumentError:
        raise DatabaseConfigError(
            f"{what}: {_variable(role)} is not a database URL; write it as dialect+driver://user:password@host/db"
        ) from None
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        backend = make_url(url).get_backend_name()
        hint = EXTRAS.get(backend, "install its SQLAlchemy dialect and driver")
        raise DatabaseConfigError(
            f"{what} ({safe_url(url)}) needs a driver that is not installed ({exc}); {hint}"
        ) from None

    @sa.event.listens_for(engine, "handle_error")
    def _name_the_database(ctx: sa.engine.ExceptionContext) -> None:
        # A failure to connect says which database and which variable, in one line, instead of a traceback.
        if ctx.connection is None and ctx.sqlalchemy_exception is not None:
            first = str(ctx.original_exception).strip().splitlines()[0] if str(ctx.original_exception) else ""
            message = (
                f"{what} ({safe_url(engine.url)}) cannot be reached: {first}; check {_variable(role)}, the "
                "network and the account"
            )
            setattr(ctx.sqlalchemy_exception, UNREACHABLE_MESSAGE, message)

    return engine.execution_options(**{ROLE: role}) if role else engine


def engine_for(role: str) -> Engine:
    """The engine of a configured database role (``SXOPS_<ROLE>_URL``), its errors naming the role."""
    from shaoxing_ops import settings

    return make_engine(settings.database_url(role), role=role)


def connect_error(exc: BaseException) -> str | None:
    """The one-line message of a failure to connect, if ``exc`` is one (see ``make_engine``)."""
    return getattr(exc, UNREACHABLE_MESSAGE, None)


def _make_engine(url: str | URL) -> Engine:
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": 120})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
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
        def _begin(conn: Connection) -> None:
            # A deferred transaction that reads and then writes fails at once with "database is locked" when
            # another process wrote meanwhile; taking the write lock up front makes it wait its turn instead.
            # Long reads say so (READ_ONLY) and stay deferred, leaving writers free.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    given = set(u.query)
    if u.get_backend_name() == "postgresql":
        args = {k: v for k, v in PG_CONNECT.items() if k not in given}
        return sa.create_engine(
            u, pool_pre_ping=True, connect_args={"application_name": "shaoxing-ops", **args}
        )
    if u.get_backend_name() == "oracle":
        args = {k: v for k, v in ORACLE_CONNECT.items() if k not in given}
        return sa.create_engine(u, pool_pre_ping=True, connect_args=args)
    if u.get_backend_name() in ("mysql", "mariadb"):
        # The server closes idle connections after wait_timeout: recycle them before, check them on checkout.
        args = {k: v for k, v in MYSQL_CONNECT.items() if k not in given}
        engine = sa.create_engine(u, pool_pre_ping=True, pool_recycle=3600, connect_args=args)

        @sa.event.listens_for(engine, "connect")
        def _session(dbapi_conn: Any, _record: Any) -> None:
            # Strict: a value that does not fit is an error, never silently cut or zeroed.
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET SESSION sql_mode = '{MYSQL_SQL_MODE}'")

        return engine
    return sa.create_engine(u)


def driver_connection(conn: Connection) -> Any:
    """The DBAPI driver's own connection under ``conn``, for its bulk paths (psycopg's COPY, PyMySQL's
    multi-row executemany) that SQLAlchemy does not wrap."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection has no live driver connection (closed or invalidated)")
    return raw
