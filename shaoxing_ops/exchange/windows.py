"""Time windows of the exchange: half-open ``[start, end)`` in Asia/Shanghai wall-clock time.

The databases keep ``dsc_biz_timestamp`` as a naive local time, as the provincial feed does, so every
datetime is turned into naive Shanghai time before it reaches SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import overload
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
Window = tuple[dt.datetime | None, dt.datetime | None]  # [start, end); None: unbounded on that side


@overload
def to_local_naive(moment: dt.datetime) -> dt.datetime: ...
@overload
def to_local_naive(moment: None) -> None: ...
@overload
def to_local_naive(moment: dt.datetime | None) -> dt.datetime | None: ...
def to_local_naive(moment: dt.datetime | None) -> dt.datetime | None:
    """The moment as naive Shanghai wall-clock time; a naive moment is taken to be that already."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def day_window(day: dt.date, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time())
    return start, start + dt.timedelta(days=days)


def days_in(start: dt.datetime, end: dt.datetime) -> list[str]:
    """The days (``YYYY-MM-DD``) a window touches, in order: each gets its own figures and check results."""
    out, day = [], start.date()
    while dt.datetime.combine(day, dt.time()) < end:
        out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out
