"""Is a day's volume of changes normal for this table? Non-delivery (省局未下发) and volume anomalies (数据量异常).

A pure rule over counts: the day's delivered changes against what the table's own recent history makes of
that day. Government work follows the week: Monday resembles the Mondays before it and Sunday the Sundays, so
the history asked first is the same weekday of the last weeks, then the same kind of day (working day or
weekend); the median keeps one exceptional day (a first full delivery, a re-delivery) from moving it. While
history is short the catalog's expected volume stands in on working days; a weekend with no history expects
nothing. Only the day's silence is judged against that prior, never its size: a prior is a guess.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from shaoxing_ops.catalog import VolumeRules

WEEKDAYS_CN = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class Expected:
    rows: float | None  # None: nothing to go by
    basis: str  # in Chinese, for the check's metadata
    history: tuple[int, ...] = ()  # the counts it was made of
    from_history: bool = False


@dataclass(frozen=True)
class Verdict:
    status: str  # normal | silent | drop | surge
    passed: bool
    severity: str  # ERROR (silent: 未下发) | WARN
    description: str
    expected: Expected


def _weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def expected_rows(
    day: dt.date, history: Mapping[dt.date, int], rules: VolumeRules, prior: float, first_day: dt.date | None
) -> Expected:
    """What the table normally receives on ``day``.

    ``history`` counts changes by day (days without changes may be absent: they count as zero from
    ``first_day``, the first day the table holds anything, on); ``prior`` is the catalog's expected changes
    on a working day.
    """
    if first_day is not None and first_day < day:
        lookback = [day - dt.timedelta(days=i) for i in range(1, 7 * rules.history_weeks + 1)]
        known = [d for d in lookback if d >= first_day]
        same = [history.get(d, 0) for d in known if d.weekday() == day.weekday()]
        if len(same) >= rules.min_history:
            return Expected(
                float(statistics.median(same)),
                f"近 {len(same)} 个{WEEKDAYS_CN[day.weekday()]}的中位数",
                tuple(same),
                True,
            )
        kind = [history.get(d, 0) for d in known if _weekend(d) == _weekend(day)]
        if len(kind) >= rules.min_history:
            label = "周末" if _weekend(day) else "工作日"
            return Expected(
                float(statistics.median(kind)), f"近 {len(kind)} 个{label}的中位数", tuple(kind), True
            )
    if _weekend(day):
        return Expected(None, "历史不足（周末不按目录预期判断）")
    return Expected(prior, "历史不足，按目录预期量")


def judge(day: dt.date, rows: int, expected: Expected, rules: VolumeRules) -> Verdict:
    """The day's ``rows`` of changes against ``expected``."""
    e = expected.rows
    if e is None or (e < rules.silent_below and not expected.from_history):
        return Verdict("normal", True, "ERROR", f"当日 {rows} 条变更（{expected.basis}，不作判断）", expected)
    if rows == 0 and e >= rules.silent_below:
        return Verdict(
            "silent", False, "ERROR", f"未下发：当日无任何变更，通常约 {e:g} 条（{expected.basis}）", expected
        )
    if expected.from_history and e >= rules.drop_min_expected and rows < e * rules.drop_ratio:
        return Verdict(
            "drop",
            False,
            "WARN",
            f"数据量骤降：当日 {rows} 条，通常约 {e:g} 条（{expected.basis}）",
            expected,
        )
    if expected.from_history and rows > e * rules.surge_ratio and rows - e >= rules.surge_min_rows:
        return Verdict(
            "surge",
            False,
            "WARN",
            f"数据量激增：当日 {rows} 条，通常约 {e:g} 条（{expected.basis}）",
            expected,
        )
    return Verdict(
        "normal", True, "ERROR", f"当日 {rows} 条变更，通常约 {e:g} 条（{expected.basis}）", expected
    )
