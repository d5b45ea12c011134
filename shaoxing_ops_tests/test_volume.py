"""The volume rule (省局未下发 / 数据量异常) on counts alone: history by weekday, the prior, the thresholds."""

from __future__ import annotations

import datetime as dt

from shaoxing_ops.catalog import VolumeRules
from shaoxing_ops.domain.volume import expected_rows, judge

RULES = VolumeRules()
MONDAY = dt.date(2026, 11, 16)


def weeks(counts: dict[int, int], before: dt.date, n: int = 4) -> dict[dt.date, int]:
    """``counts`` by weekday (0 = Monday) on each of the ``n`` weeks before ``before``."""
    out = {}
    for w in range(1, n + 1):
        monday = before - dt.timedelta(days=before.weekday()) - dt.timedelta(weeks=w)
        for wd, c in counts.items():
            out[monday + dt.timedelta(days=wd)] = c
    return out


def test_same_weekday_history_decides_and_a_silent_busy_day_fails() -> None:
    history = weeks({0: 40, 1: 30, 2: 30, 3: 30, 4: 30, 5: 2, 6: 1}, MONDAY)
    e = expected_rows(MONDAY, history, RULES, prior=999, first_day=dt.date(2026, 1, 1))
    assert (e.rows, e.from_history, e.history) == (40.0, True, (40, 40, 40, 40))
    assert "近 4 个周一的中位数" in e.basis
    silent = judge(MONDAY, 0, e, RULES)
    assert (silent.status, silent.passed, silent.severity) == ("silent", False, "ERROR")
    assert "未下发" in silent.description and "40" in silent.description
    assert judge(MONDAY, 35, e, RULES).passed
    drop = judge(MONDAY, 9, e, RULES)  # under a quarter of 40
    assert (drop.status, drop.passed, drop.severity) == ("drop", False, "WARN")
    surge = judge(MONDAY, 400, e, RULES)
    assert (surge.status, surge.severity) == ("surge", "WARN")


def test_quiet_tables_and_quiet_weekdays_never_alarm() -> None:
    history = weeks({0: 40, 5: 2, 6: 0}, MONDAY)
    sunday = MONDAY - dt.timedelta(days=1)
    e = expected_rows(sunday, history, RULES, prior=999, first_day=dt.date(2026, 1, 1))
    assert e.rows == 0.0 and judge(sunday, 0, e, RULES).passed
    rare = weeks({0: 1}, MONDAY)
    e = expected_rows(MONDAY, rare, RULES, prior=0.5, first_day=dt.date(2026, 1, 1))
    assert e.rows == 1.0 and judge(MONDAY, 0, e, RULES).passed
    assert judge(MONDAY, 30, e, RULES).passed  # above 4x, but not 50 rows above: no surge


def test_short_history_falls_back_to_the_kind_of_day_then_to_the_catalog_prior() -> None:
    first = MONDAY - dt.timedelta(days=7)  # one week of history: one Monday, five working days
    history = {first + dt.timedelta(days=i): 20 for i in range(5)}
    e = expected_rows(MONDAY, history, RULES, prior=999, first_day=first)
    assert (e.rows, e.basis) == (20.0, "近 5 个工作日的中位数")
    # no history at all: the prior on a working day, judged for silence only, never for size
    e = expected_rows(MONDAY, {}, RULES, prior=12.5, first_day=MONDAY)
    assert (e.rows, e.from_history) == (12.5, False)
    assert not judge(MONDAY, 0, e, RULES).passed and judge(MONDAY, 5000, e, RULES).passed
    # … and nothing on a weekend
    saturday = MONDAY + dt.timedelta(days=5)
    assert expected_rows(saturday, {}, RULES, prior=12.5, first_day=saturday).rows is None
    # days before the table's first change are no history, not zeros
    e = expected_rows(
        MONDAY, {MONDAY - dt.timedelta(days=1): 3}, RULES, prior=8, first_day=MONDAY - dt.timedelta(days=1)
    )
    assert e.rows == 8 and not e.from_history


def test_thresholds_come_from_the_rules() -> None:
    history = weeks({0: 40}, MONDAY)
    e = expected_rows(MONDAY, history, RULES, prior=0, first_day=dt.date(2026, 1, 1))
    strict = VolumeRules(drop_ratio=0.9)
    assert judge(MONDAY, 30, e, RULES).passed and not judge(MONDAY, 30, e, strict).passed
    # a table set never to be reported 未下发 still warns of the drop
    lenient = judge(MONDAY, 0, e, VolumeRules(silent_below=1000))
    assert (lenient.status, lenient.severity) == ("drop", "WARN")
