"""Alerts made of what the operations compute: the disk forecast, hosts that stopped reporting and the 09:30
daily summary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .notifier import Alert

DISK_ALERT_DAYS = 30.0  # a disk forecast to fill within this many days is announced


def disk_alerts(resources: Iterable[Any], day: str, host: str = "") -> list[Alert]:
    """One alert per disk whose forecast says it fills within ``DISK_ALERT_DAYS`` (``assessment.ResourceStat``)."""
    out = []
    for r in resources:
        if r.days_until_full is None or r.days_until_full >= DISK_ALERT_DAYS:
            continue
        where = f"{host} " if host else ""
        out.append(
            Alert(
                "disk",
                f"{host}|{r.resource}",
                day,
                f"{where}{r.label} 使用率 {r.latest:.1f}%，按近期增长 {r.slope_per_day:.1f}%/天，"
                f"约 {r.days_until_full:.0f} 天后写满，请及时清理或扩容",
                "警告",
            )
        )
    return out


def silent_host_alerts(assessments: Iterable[Any], day: str) -> list[Alert]:
    """One alert per host that stopped reporting (``assessment.Assessment.silent``): its first reason says since
    when."""
    return [
        Alert("host_silent", a.host, day, f"主机 {a.host}（{a.role_cn}）{a.reasons[0]}", "严重")
        for a in assessments
        if a.silent
    ]


def daily_summary(report: dict[str, Any], limit: int = 10) -> tuple[str, list[str], Alert]:
    """The inspection sheet of a day as one message: title, the figures, the items needing attention."""
    s, day = report["summary"], report["day"]
    lines = [
        f"交换表·日 {s['tables']}：成功 {s['succeeded']}，失败 {s['failed']}，未开始 {s['not_started']}；"
        f"未通过检查 {s['checks_failed']} 项，警告 {s['checks_warning']} 项；未下发 {s['not_delivered']} 张表；"
        f"重推 {s['repushed']} 张表；交换 {s['rows_moved']:,} 行，隔离 {s['quarantined']} 条",
    ]
    for x in report.get("silent_systems", []):
        lines.append(f"{x['title']} 整体未下发（{x['tables']} 张表）")
    silent_hosts = report.get("hosts_silent", [])
    if silent_hosts:
        lines.append(f"主机已停止上报资源采样：{'、'.join(silent_hosts)}")
    attention = report.get("attention", [])
    for t in attention[:limit]:
        failed = [c for c, v in t["checks"].items() if v in ("failed", "warning")]
        what = t.get("delivery_cn") or (
            "运行" + {"failed": "失败", "not_started": "未开始"}.get(t["status"], "成功")
        )
        lines.append(f"{t['table']} {t['title']}：{what}" + (f"；检查 {'、'.join(failed)}" if failed else ""))
    if len(attention) > limit:
        lines.append(f"另有 {len(attention) - limit} 张表需关注，详见巡检单")
    healthy = not attention and not s["failed"] and not silent_hosts
    parts = [f"{len(attention)} 张表需关注"] if attention or s["failed"] else []
    parts += [f"{len(silent_hosts)} 台主机停止上报"] if silent_hosts else []
    text = "全部正常" if healthy else "，".join(parts)
    title = f"巡检日报 {day}：{text}"
    return title, lines, Alert("daily_summary", "巡检单", day, title, "通知" if healthy else "警告")
