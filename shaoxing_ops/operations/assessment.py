"""Resource assessment (资源评估): from a host's samples, figures per resource and a scaling advice.

Pure: rows in (as ``OpsStore.metrics`` returns them), an ``Assessment`` out, so the rules can be tested on
synthetic histories and the same advice is given by the CLI, Dagster and the reports.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from shaoxing_ops.exchange.windows import to_local_naive

from .text import table

SCALE_UP, KEEP, SCALE_DOWN = "扩容", "保持", "缩容"
PERCENT_METRICS = {"cpu_percent": ("cpu", "CPU"), "memory_percent": ("memory", "内存"),
                   "swap_percent": ("swap", "交换分区")}  # fmt: skip
DISK_PREFIX = "disk_percent:"


@dataclass(frozen=True)
class Thresholds:
    """The rules' limits, in percent and days; every one can be changed per call."""

    cpu_up: float = 80.0  # CPU p95 above this: scale up
    memory_up: float = 85.0  # memory p95 above this: scale up
    disk_up: float = 85.0  # a disk's current use above this: scale up
    disk_full_days: float = 30.0  # a disk full within this many days: scale up
    cpu_down: float = 15.0  # CPU p95 below this ...
    memory_down: float = 35.0  # ... and memory p95 below this ...
    down_min_days: float = 3.0  # ... over at least this much history, with no disk growing: scale down
    min_history_hours: float = 1.0  # less history than this: no advice beyond "keep"
    trend_min_hours: float = 6.0  # a disk's growth is projected only over at least this much history
    growth_per_day: float = 0.05  # percentage points a day below which a disk counts as not growing


@dataclass
class ResourceStat:
    resource: str  # cpu | memory | swap | disk:/mount
    label: str  # 中文名, e.g. "磁盘 /"
    samples: int
    latest: float
    peak: float
    average: float
    p95: float
    slope_per_day: float  # least-squares trend, percentage points a day
    days_until_full: float | None = None  # disks only; None when not growing
    full_at: dt.datetime | None = None


@dataclass
class Assessment:
    assessed_at: dt.datetime
    hosts: list[str]
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    history_hours: float
    recommendation: str  # 扩容 | 保持 | 缩容
    reasons: list[str]
    resources: list[ResourceStat] = field(default_factory=list)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def resource(self, key: str) -> ResourceStat | None:
        return next((r for r in self.resources if r.resource == key), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO text, floats rounded for reading."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return round(value, 4)
    return value


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), ``q`` in 0..100."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def slope_per_day(points: list[tuple[dt.datetime, float]]) -> float:
    """Least-squares slope of value against time, in units a day (0 when time does not vary)."""
    if len(points) < 2:
        return 0.0
    t0 = points[0][0]
    xs = [(t - t0).total_seconds() / 86400 for t, _ in points]
    ys = [v for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def _stat(key: str, label: str, points: list[tuple[dt.datetime, float]], now: dt.datetime,
          th: Thresholds) -> ResourceStat:  # fmt: skip
    values = [v for _, v in points]
    stat = ResourceStat(key, label, len(values), values[-1], max(values), sum(values) / len(values),
                        percentile(values, 95), slope_per_day(points))  # fmt: skip
    span_hours = (points[-1][0] - points[0][0]).total_seconds() / 3600
    if (
        key.startswith("disk:")
        and span_hours >= th.trend_min_hours
        and stat.slope_per_day > th.growth_per_day
    ):
        full_at = points[-1][0] + dt.timedelta(days=(100 - stat.latest) / stat.slope_per_day)
        stat.full_at = full_at.replace(microsecond=0)
        stat.days_until_full = max(0.0, (full_at - now).total_seconds() / 86400)
    return stat


def assess(samples: Iterable[dict[str, Any]], now: dt.datetime, *,
           thresholds: Thresholds | None = None) -> Assessment:  # fmt: skip
    """Figures per resource and the advice: 扩容 when a limit is passed, 缩容 when idle for days, else 保持.

    ``samples`` are one host's rows (``OpsStore.metrics(..., host=...)``); rows after ``now`` are ignored.
    """
    th = thresholds or Thresholds()
    now = to_local_naive(now) or now
    series: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    hosts: set[str] = set()
    for row in samples:
        if row["sampled_at"] <= now:
            series[row["metric"]].append((row["sampled_at"], float(row["value"])))
            hosts.add(row["host"])
    moments = sorted({t for points in series.values() for t, _ in points})
    start, end = (moments[0], moments[-1]) if moments else (None, None)
    hours = (end - start).total_seconds() / 3600 if start and end else 0.0
    result = Assessment(now, sorted(hosts), start, end, hours, KEEP, [], thresholds=th)
    for metric, (key, label) in PERCENT_METRICS.items():
        if series.get(metric):
            result.resources.append(_stat(key, label, sorted(series[metric]), now, th))
    for metric in sorted(m for m in series if m.startswith(DISK_PREFIX)):
        mount = metric[len(DISK_PREFIX) :]
        result.resources.append(_stat(f"disk:{mount}", f"磁盘 {mount}", sorted(series[metric]), now, th))
    if hours < th.min_history_hours:
        have = f"仅有 {hours * 60:.0f} 分钟的采样" if moments else "没有采样"
        result.reasons = [f"监测数据不足：{have}（至少需要 {th.min_history_hours:g} 小时），暂按保持处理"]
        return result
    result.recommendation, result.reasons = _advise(result, th)
    return result


def _period(hours: float) -> str:
    return f"近 {hours / 24:.0f} 天" if hours >= 36 else f"近 {hours:.0f} 小时"


def _advise(a: Assessment, th: Thresholds) -> tuple[str, list[str]]:
    cpu, memory = a.resource("cpu"), a.resource("memory")
    disks = [r for r in a.resources if r.resource.startswith("disk:")]
    up: list[str] = []
    if cpu and cpu.p95 > th.cpu_up:
        up.append(f"CPU 使用率 p95 {cpu.p95:.1f}%（峰值 {cpu.peak:.1f}%），超过 {th.cpu_up:g}%")
    if memory and memory.p95 > th.memory_up:
        up.append(f"内存使用率 p95 {memory.p95:.1f}%（峰值 {memory.peak:.1f}%），超过 {th.memory_up:g}%")
    for d in disks:
        soon = d.days_until_full is not None and d.days_until_full <= th.disk_full_days
        if d.latest > th.disk_up or soon:
            text = f"{d.label} 使用率 {d.latest:.1f}%" + (
                f"，超过 {th.disk_up:g}%" if d.latest > th.disk_up else ""
            )
            if d.days_until_full is not None:
                text += f"，按{_period(a.history_hours)}增长 {d.slope_per_day:.1f}%/天，约 {d.days_until_full:.1f} 天后写满"
            up.append(text)
    if up:
        return SCALE_UP, up
    figures = _figures(cpu, memory, disks)
    flat = all(d.slope_per_day <= th.growth_per_day for d in disks)
    if cpu and memory and cpu.p95 < th.cpu_down and memory.p95 < th.memory_down and flat:
        days = a.history_hours / 24
        if days >= th.down_min_days:
            idle = (f"{_period(a.history_hours)} CPU p95 {cpu.p95:.1f}%（低于 {th.cpu_down:g}%）、内存 p95 "
                    f"{memory.p95:.1f}%（低于 {th.memory_down:g}%），磁盘无增长，资源富余")  # fmt: skip
            return SCALE_DOWN, [idle, *figures[2:]]
        figures.append(f"负载较低，但监测仅 {days:.1f} 天（缩容需至少 {th.down_min_days:g} 天），暂不缩容")
    return KEEP, figures


def _figures(cpu: ResourceStat | None, memory: ResourceStat | None, disks: list[ResourceStat]) -> list[str]:
    lines = [
        f"CPU 使用率 p95 {cpu.p95:.1f}%，平均 {cpu.average:.1f}%，峰值 {cpu.peak:.1f}%"
        if cpu
        else "无 CPU 采样",
        f"内存使用率 p95 {memory.p95:.1f}%，平均 {memory.average:.1f}%" if memory else "无内存采样",
    ]
    for d in disks:
        trend = f"增长 {d.slope_per_day:.2f}%/天" if d.slope_per_day > 0 else "无增长"
        extra = f"，约 {d.days_until_full:.0f} 天后写满" if d.days_until_full is not None else ""
        lines.append(f"{d.label} 使用率 {d.latest:.1f}%，{trend}{extra}")
    return lines


def describe(a: Assessment) -> list[str]:
    """The assessment as Chinese lines for the terminal and plain-text reports."""
    lines = [f"主机 {'、'.join(a.hosts) or '—'}  评估时间 {a.assessed_at:%Y-%m-%d %H:%M}"]
    if a.window_start and a.window_end:
        lines.append(f"数据范围 {a.window_start:%Y-%m-%d %H:%M} — {a.window_end:%Y-%m-%d %H:%M}"
                     f"（{a.history_hours:.1f} 小时）")  # fmt: skip
    rows = [
        [r.label, f"{r.latest:.1f}%", f"{r.average:.1f}%", f"{r.p95:.1f}%", f"{r.peak:.1f}%",
         f"{r.slope_per_day:+.2f}%", f"{r.days_until_full:.1f} 天" if r.days_until_full is not None else "—"]
        for r in a.resources
    ]  # fmt: skip
    if rows:
        lines += table(["资源", "当前", "平均", "P95", "峰值", "趋势/天", "写满"], rows, right=range(1, 7))
    return lines + [f"建议：{a.recommendation}"] + [f"  - {reason}" for reason in a.reasons]
