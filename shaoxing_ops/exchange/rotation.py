"""Which check windows compare a whole table, and which only the rows changed in them.

A whole-table checksum reads both databases whole: at Shaoxing's size 12 GB of province and 10 GB of front a
night, most of the nightly run. So each table is compared whole once a week, on a weekday of its own, and on the
other nights only the rows changed in the window are compared, key by key. The weekdays share the catalog's
tables by their expected size (rows before the history plus a year of changes, largest first, each to the
weekday with the fewest rows so far), so no night carries much more than a seventh; adding a table to the
catalog may move others to another weekday. The whole-table row count of ``row_count`` still runs every
night: a lost or extra row anywhere fails it at once; a row altered in place without a new change stamp waits
at most a week for its table's day. A re-push and ``shaoxing-ops reconcile`` always compare the whole table.
``SXOPS_FULL_RECONCILE=daily`` compares every table whole every night.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable

from shaoxing_ops import settings
from shaoxing_ops.catalog import Catalog, Table, load_catalog
from shaoxing_ops.domain.volume import WEEKDAYS_CN

# Beyond this many changed keys in a window, comparing the whole table by grouped checksums is the cheaper way
# (and holds no key list in memory).
MAX_WINDOW_KEYS = 200_000


def weekdays(tables: Iterable[Table]) -> dict[str, int]:
    """Table name -> the weekday (Monday 0) it is compared whole, balancing the expected rows of each night."""
    load = [0.0] * 7
    out: dict[str, int] = {}
    for table in sorted(tables, key=lambda t: (-expected_rows(t), t.name)):
        day = min(range(7), key=lambda d: (load[d], d))
        load[day] += expected_rows(table)
        out[table.name] = day
    return out


def expected_rows(table: Table) -> float:
    """Rows a table is expected to hold at Shaoxing's size after a year: what a whole comparison reads."""
    return table.base + 365 * table.volume


_schedules: dict[int, tuple[Catalog, dict[str, int]]] = {}  # id -> (catalog, its weekdays)


def whole_table_weekday(table: str) -> int:
    """The weekday on which ``table`` is compared whole: the catalog's (``weekdays``), or for a table it does
    not hold, CRC-32 of its name modulo 7."""
    catalog = load_catalog()
    held = _schedules.get(id(catalog))
    if held is None or held[0] is not catalog:  # once per catalog: 2 ms, asked for each table every night
        held = _schedules[id(catalog)] = (catalog, weekdays(catalog.tables))
    return held[1].get(table, zlib.crc32(table.encode()) % 7)


def compares_whole_table(table: str, days: Iterable[str]) -> bool:
    """Whether a check window of ``days`` (ISO dates) compares ``table`` whole: it holds the table's weekday, or
    the schedule is ``daily``."""
    if settings.full_reconcile() == "daily":
        return True
    weekday = whole_table_weekday(table)
    return any(dt.date.fromisoformat(day).weekday() == weekday for day in days)


def schedule_text(table: str) -> str:
    """The table's whole-table comparison day, as the checks and reports say it."""
    if settings.full_reconcile() == "daily":
        return "全表校验和每日核对"
    return f"全表校验和每{WEEKDAYS_CN[whole_table_weekday(table)]}核对"
