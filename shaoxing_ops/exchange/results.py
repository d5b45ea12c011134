"""What a load did, or why it could not: the figures every leg reports and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field


class ExchangeError(RuntimeError):
    """A load could not be done; the target is as it was before. The message says what to do next."""


@dataclass
class DayFigures:
    """What a load did with the changes stamped on one day (``dsc_biz_timestamp``'s date).

    ``read`` = ``inserted + updated + deleted + unchanged + superseded``: a version that a later version of the
    same key in the same load replaced is *superseded* (never written); a delete of a key the target does not
    hold is *unchanged*. A load over a range of days attributes each written row to the day of its version,
    so the days of a range add up to the range.
    """

    read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    superseded: int = 0

    @property
    def moved(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class CopyResult(DayFigures):
    """What a load did in all (the sums of its days), with each day's own figures in ``days``."""

    table: str = ""
    seconds: float = 0.0
    target_rows: int = 0
    rows_before: int | None = None  # full reloads: target rows before the rebuild
    method: str = ""
    days: dict[str, DayFigures] = field(default_factory=dict)  # by day (YYYY-MM-DD) of the rows' versions

    def day(self, day: str) -> DayFigures:
        """The figures of one day; a day without changes in the window has all zeros."""
        return self.days.get(day, DayFigures())
