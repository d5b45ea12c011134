"""The DB-to-DB engine: window loads, full reloads, counts. Plain Python over SQLAlchemy, no Dagster."""

from .copy import copy_window, full_reload
from .dbs import is_postgres, make_engine, normalise_url, safe_url
from .results import CopyResult, ExchangeError
from .schema import count_rows, ensure_table, sa_table, table_exists
from .staging import stream_rows
from .windows import SHANGHAI, day_window, to_local_naive

__all__ = [
    "SHANGHAI",
    "CopyResult",
    "ExchangeError",
    "copy_window",
    "count_rows",
    "day_window",
    "ensure_table",
    "full_reload",
    "is_postgres",
    "make_engine",
    "normalise_url",
    "sa_table",
    "safe_url",
    "stream_rows",
    "table_exists",
    "to_local_naive",
]
