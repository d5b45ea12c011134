"""Resource assessment (资源评估): from each host's samples, figures per resource and a scaling advice.

Pure: rows in (as ``OperationsRecords.metrics`` and ``OperationsRecords.hosts`` return them), one
``Assessment`` per host out, so the rules can be tested on synthetic histories and the same advice is given by
the CLI, Dagster and the reports.
Hosts are never mixed: an application server at 5% CPU and a database server at 95% are two assessments.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from shaoxing_ops.exchange.windows import to_local_naive

from .text import table

SCALE_UP, KEEP, SCALE_DOWN = "扩容", "保持", "缩容"
ROLE_CN = {"app": "应用服务器", "db": "数据库服务器"}
DB_BYTES_PREFIX = "db_bytes:"  # one home: hostmetrics writes these names, this module reads them
PERCENT_METRICS = {
    "cpu_percent": ("cpu", "CPU"),
    "memory_percent": ("memory", "内存"),
    "swap_percent": ("swap", "交换分区"),
}
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
    connections_up: float = 80.0  # a database's peak connections above this percent of its limit: scale up
    cache_hit_min: float = 90.0  # a database's cache hit ratio below this percent: scale up (memory)
    long_transaction_minutes: float = 60.0  # an open transaction older than this is named
    silent_minutes: float = 15.0  # a host silent for longer than this (or 3 of its own sampling gaps) ...
    silent_gaps: float = 3.0  # ... whichever is longer, has stopped reporting


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
class DatabaseStat:
    """A database server's own figures over the window (``hostmetrics.database_figures``)."""

    connections: float  # latest
    connections_peak: float
    max_connections: float
    cache_hit_percent: float | None  # blocks served from memory over the window; None without reads
    longest_transaction_seconds: float  # the oldest open transaction seen in the window
    sizes: list[dict[str, Any]] = field(default_factory=list)  # database, bytes, bytes_per_day

    @property
    def connections_peak_percent(self) -> float:
        return 100 * self.connections_peak / self.max_connections if self.max_connections else 0.0


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
    role: str = "app"  # app | db
    last_sample: dt.datetime | None = None
    silent: bool = False  # the host stopped reporting: an alert of its own
    database: DatabaseStat | None = None

    @property
    def host(self) -> str:
        return self.hosts[0] if self.hosts else ""

    @property
    def role_cn(self) -> str:
        return ROLE_CN.get(self.role, self.role)

    def resource(self, key: str) -> ResourceStat | None:
        return next((r for r in self.resources if r.resource == key), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO text, floats rounded for reading."""
        data = asdict(self)
        data.update(host=self.host, role_cn=self.role_cn)
        if self.database:
            data["database"]["connections_peak_percent"] = self.database.connections_peak_percent
        return _jsonable(data)


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


def _stat(
    key: str, label: str, points: list[tuple[dt.datetime, float]], now: dt.datetime, th: Thresholds
) -> ResourceStat:
    values = [v for _, v in points]
    stat = ResourceStat(
        key,
        label,
        len(values),
        values[-1],
        max(values),
        sum(values) / len(values),
        percentile(values, 95),
        slope_per_day(points),
    )
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


def assess(
    samples: Iterable[dict[str, Any]],
    now: dt.datetime,
    *,
    thresholds: Thresholds | None = None,
    role: str = "app",
) -> Assessment:
    """Figures per resource and the advice: 扩容 when a limit is passed, 缩容 when idle for days, else 保持.

    ``samples`` are one host's rows (``OperationsRecords.metrics(..., host=...)``); rows after ``now`` are
    ignored.
    ``assess_hosts`` splits many hosts' rows and calls this once a host.
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
    result = Assessment(
        now, sorted(hosts), start, end, hours, KEEP, [], thresholds=th, role=role, last_sample=end
    )
    for metric, (key, label) in PERCENT_METRICS.items():
        if series.get(metric):
            result.resources.append(_stat(key, label, sorted(series[metric]), now, th))
    for metric in sorted(m for m in series if m.startswith(DISK_PREFIX)):
        mount = metric[len(DISK_PREFIX) :]
        result.resources.append(_stat(f"disk:{mount}", f"磁盘 {mount}", sorted(series[metric]), now, th))
    result.database = _database(series)
    if hours < th.min_history_hours:
        have = f"仅有 {hours * 60:.0f} 分钟的采样" if moments else "没有采样"
        result.reasons = [f"监测数据不足：{have}（至少需要 {th.min_history_hours:g} 小时），暂按保持处理"]
        return result
    result.recommendation, result.reasons = _advise(result, th)
    return result


def _database(series: dict[str, list[tuple[dt.datetime, float]]]) -> DatabaseStat | None:
    """The database server's figures, when its host sampled them (``db_*`` metrics)."""
    connections = sorted(series.get("db_connections", []))
    if not connections:
        return None
    limits = sorted(series.get("db_max_connections", []))
    hits, reads = sorted(series.get("db_cache_hits", [])), sorted(series.get("db_cache_reads", []))
    hit_percent = None
    if hits and reads:
        d_hits, d_reads = hits[-1][1] - hits[0][1], reads[-1][1] - reads[0][1]
        if d_hits < 0 or d_reads < 0 or d_hits + d_reads == 0:  # restarted (counters reset) or one sample
            d_hits, d_reads = hits[-1][1], reads[-1][1]
        hit_percent = 100 * d_hits / (d_hits + d_reads) if d_hits + d_reads else None
    longest = [v for _, v in series.get("db_longest_transaction_seconds", [])]
    stat = DatabaseStat(
        connections[-1][1],
        max(v for _, v in connections),
        limits[-1][1] if limits else 0.0,
        hit_percent,
        max(longest, default=0.0),
    )
    for metric in sorted(m for m in series if m.startswith(DB_BYTES_PREFIX)):
        points = sorted(series[metric])
        stat.sizes.append(
            {
                "database": metric[len(DB_BYTES_PREFIX) :],
                "bytes": points[-1][1],
                "bytes_per_day": slope_per_day(points),
            }
        )
    stat.sizes.sort(key=lambda d: -d["bytes"])
    return stat


def _silence(
    a: Assessment, moments: Sequence[dt.datetime], last_seen: dt.datetime | None, th: Thresholds
) -> None:
    """Mark ``a`` silent when its host's last sample is older than it should be, and say so first."""
    gaps = [(b - t).total_seconds() / 60 for t, b in itertools.pairwise(moments)]
    limit = max(th.silent_minutes, th.silent_gaps * statistics.median(gaps)) if gaps else th.silent_minutes
    last = moments[-1] if moments else last_seen
    if last is None or (a.assessed_at - last).total_seconds() / 60 <= limit:
        return
    a.silent, a.last_sample = True, last
    age = (a.assessed_at - last).total_seconds() / 3600
    since = f"{age:.1f} 小时" if age < 48 else f"{age / 24:.1f} 天"
    a.reasons.insert(
        0,
        f"已停止上报：最后一次采样在 {last:%Y-%m-%d %H:%M}（{since}前，超过 {limit:.0f} 分钟），"
        "请检查该主机及其采集任务（host collect）",
    )


def assess_hosts(
    samples: Iterable[dict[str, Any]],
    now: dt.datetime,
    registered: Iterable[dict[str, Any]] = (),
    *,
    thresholds: Thresholds | None = None,
) -> list[Assessment]:
    """One assessment per host, application servers first: every host in ``samples`` and every host of the
    register (``OperationsRecords.hosts``) that had reported by ``now``, so a host gone quiet is still listed,
    marked silent."""
    th = thresholds or Thresholds()
    now = to_local_naive(now) or now
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in samples:
        if row["sampled_at"] <= now:
            rows[row["host"]].append(row)
    known = {h["name"]: h for h in registered}
    reporting = set(rows) | {n for n, h in known.items() if h["first_seen"] <= now}  # no host before its time
    names = sorted(reporting, key=lambda n: (known.get(n, {}).get("role", "app"), n))
    out = []
    for name in names:
        entry = known.get(name, {})
        a = assess(rows[name], now, thresholds=th, role=entry.get("role", "app"))
        a.hosts = [name]
        moments = sorted({r["sampled_at"] for r in rows[name]})
        last_seen = entry.get("last_seen")
        _silence(a, moments, min(last_seen, now) if last_seen else None, th)
        out.append(a)
    return out


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
    db = a.database
    if db and db.max_connections and db.connections_peak_percent > th.connections_up:
        up.append(
            f"数据库连接数峰值 {db.connections_peak:.0f}/{db.max_connections:.0f}"
            f"（{db.connections_peak_percent:.0f}%），超过上限的 {th.connections_up:g}%"
        )
    if db and db.cache_hit_percent is not None and db.cache_hit_percent < th.cache_hit_min:
        up.append(
            f"数据库缓存命中率 {db.cache_hit_percent:.1f}%，低于 {th.cache_hit_min:g}%，内存不足以容纳常用数据"
        )
    notes = _database_notes(db, th)
    if up:
        return SCALE_UP, up + notes
    figures = _figures(cpu, memory, disks) + notes
    flat = all(d.slope_per_day <= th.growth_per_day for d in disks)
    if cpu and memory and cpu.p95 < th.cpu_down and memory.p95 < th.memory_down and flat:
        days = a.history_hours / 24
        if days >= th.down_min_days:
            idle = (
                f"{_period(a.history_hours)} CPU p95 {cpu.p95:.1f}%（低于 {th.cpu_down:g}%）、内存 p95 "
                f"{memory.p95:.1f}%（低于 {th.memory_down:g}%），磁盘无增长，资源富余"
            )
            return SCALE_DOWN, [idle, *figures[2:]]
        figures.append(f"负载较低，但监测仅 {days:.1f} 天（缩容需至少 {th.down_min_days:g} 天），暂不缩容")
    return KEEP, figures


def _database_notes(db: DatabaseStat | None, th: Thresholds) -> list[str]:
    """The database's figures as lines, and a long transaction named (it holds locks and bloats tables)."""
    if db is None:
        return []
    hit = f"{db.cache_hit_percent:.1f}%" if db.cache_hit_percent is not None else "—"
    lines = [
        f"数据库连接数 当前 {db.connections:.0f}、峰值 {db.connections_peak:.0f}/{db.max_connections:.0f}；"
        f"缓存命中率 {hit}"
    ]
    if db.longest_transaction_seconds > th.long_transaction_minutes * 60:
        lines.append(
            f"存在运行 {db.longest_transaction_seconds / 3600:.1f} 小时的长事务，会阻塞清理并导致表膨胀，请核查"
        )
    return lines


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
    state = "  【已停止上报】" if a.silent else ""
    lines = [
        f"主机 {'、'.join(a.hosts) or '—'}（{a.role_cn}）  评估时间 {a.assessed_at:%Y-%m-%d %H:%M}{state}"
    ]
    if a.window_start and a.window_end:
        lines.append(
            f"数据范围 {a.window_start:%Y-%m-%d %H:%M} — {a.window_end:%Y-%m-%d %H:%M}"
            f"（{a.history_hours:.1f} 小时）"
        )
    rows = [
        [
            r.label,
            f"{r.latest:.1f}%",
            f"{r.average:.1f}%",
            f"{r.p95:.1f}%",
            f"{r.peak:.1f}%",
            f"{r.slope_per_day:+.2f}%",
            f"{r.days_until_full:.1f} 天" if r.days_until_full is not None else "—",
        ]
        for r in a.resources
    ]
    if rows:
        lines += table(["资源", "当前", "平均", "P95", "峰值", "趋势/天", "写满"], rows, right=range(1, 7))
    if a.database and a.database.sizes:
        sizes = [
            [d["database"], f"{d['bytes'] / 2**20:,.1f} MB", f"{d['bytes_per_day'] / 2**20:+,.1f} MB"]
            for d in a.database.sizes
        ]
        lines += table(["数据库", "大小", "增长/天"], sizes, right=[1, 2])
    return lines + [f"建议：{a.recommendation}"] + [f"  - {reason}" for reason in a.reasons]
