"""The deliverables (日常交付工作件): the daily inspection sheet, the weekly and the monthly operations reports.

Each is built as plain data first (written as JSON for machines), then rendered to one self-contained Chinese
HTML page (Jinja2 with autoescaping, plotly.js inlined so it opens offline). Free text is redacted of ID and
phone numbers before either is written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import plotly.graph_objects as go
import sqlalchemy as sa
from markupsafe import Markup

from shaoxing_ops import settings
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.files import write_private_text
from shaoxing_ops.names import ALL_CHECKS
from shaoxing_ops.operations.assessment import assess_hosts, describe
from shaoxing_ops.operations.feedback import summary as feedback_summary
from shaoxing_ops.operations.patches import patch_status
from shaoxing_ops.operations.records import OperationsRecords

from . import registers
from .collect import CHECK_CN, DELIVERY_CN, STATUS_CN, TableDay, collect_days
from .documents import Documents, chart_fragments, write_documents
from .publish import write_index
from .safety import redact_all
from .templating import environment

LEG_TITLES = {"province": "省局数据下发（省局 → 前置库）", "bureau": "数据局上报（前置库 → 市数据局）"}
FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"

_env = environment()
CHECK_TITLES = {
    "row_count": "行数",
    "freshness": "时效",
    "schema": "结构",
    "validity": "合规",
    "reconcile": "记录核对",
    "volume": "数据量",
}
_env.globals.update(
    STATUS_CN=STATUS_CN,
    CHECK_CN=CHECK_CN,
    CHECKS=ALL_CHECKS,
    DELIVERY_CN=DELIVERY_CN,
    CHECK_TITLES=CHECK_TITLES,
)


def _now() -> dt.datetime:
    return dt.datetime.now(settings.TZ).replace(tzinfo=None, microsecond=0)


def _day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.combine(first, dt.time()), dt.datetime.combine(last + dt.timedelta(days=1), dt.time())


def _day_summary(rows: list[TableDay]) -> dict[str, int]:
    status = Counter(r.status for r in rows)
    return {
        "tables": len(rows),
        "succeeded": status["succeeded"],
        "failed": status["failed"],
        "not_started": status["not_started"],
        "checks_failed": sum(1 for r in rows for v in r.checks.values() if v == "failed"),
        "checks_warning": sum(1 for r in rows for v in r.checks.values() if v == "warning"),
        "repushed": sum(1 for r in rows if r.repush_attempts),
        "rows_moved": sum(r.rows_moved for r in rows),
        "rows_read": sum(r.rows.get("read", 0) for r in rows),
        "not_delivered": sum(1 for r in rows if r.delivery == "silent"),
        "volume_warnings": sum(1 for r in rows if r.delivery in ("drop", "surge")),
        "quarantined": sum(r.quarantined for r in rows),
    }


def silent_systems(rows: list[TableDay], catalog_titles: dict[str, str]) -> list[dict[str, Any]]:
    """Source systems that delivered nothing at all on a day where a table expected changes: one incident
    per system and day, however many of its tables' volume checks failed."""
    by: dict[tuple[str, str], list[TableDay]] = defaultdict(list)
    for r in rows:
        if r.leg == "province":
            by[(r.day, r.system)].append(r)
    out = []
    for (day, system), members in sorted(by.items()):
        silent = [r for r in members if r.delivery == "silent"]
        loaded = [r for r in members if r.status == "succeeded"]
        if silent and loaded and not any(r.rows.get("read", 0) for r in loaded):
            out.append(
                {
                    "day": day,
                    "system": system,
                    "title": catalog_titles.get(system, system),
                    "tables": len(members),
                    "silent_tables": [r.table for r in silent],
                }
            )
    return out


def _escalations(
    exchange: ExchangeRecords, first: dt.date, last: dt.date, *, open_too: bool = False
) -> list[dict[str, Any]]:
    """Escalations about the days ``[first, last]`` or raised during them; with ``open_too`` all unresolved ones."""
    t = exchange.tables.escalations
    start, end = _day_bounds(first, last)
    about = sa.and_(t.c.partition_key >= first.isoformat(), t.c.partition_key <= last.isoformat())
    during = sa.and_(t.c.escalated_at >= start, t.c.escalated_at < end)
    condition = sa.or_(about, during, t.c.resolved_at.is_(None)) if open_too else sa.or_(about, during)
    return exchange.rows(sa.select(t).where(condition).order_by(t.c.escalated_at))


def _hosts(operations: OperationsRecords, at: dt.datetime, days: int = 7) -> list[dict[str, Any]]:
    """Each host's assessment of the ``days`` before ``at`` (never later than now: a day still running is
    judged on what is known), silent hosts included; the patch status belongs to the host building this."""
    at = min(at, _now())
    here = settings.host_name()
    out = []
    samples = operations.metrics(at - dt.timedelta(days=days), at)
    for assessment in assess_hosts(samples, at, operations.hosts()):
        entry = {"assessment": assessment.to_dict(), "lines": describe(assessment), "patches": None}
        if assessment.host == here:
            entry["patches"] = patch_status()
        out.append(entry)
    return out


def daily_sheet(
    instance: dg.DagsterInstance, exchange: ExchangeRecords, operations: OperationsRecords, day: dt.date
) -> dict[str, Any]:
    """The inspection sheet (巡检单) of ``day``: every table of both legs, the host, the open problems."""
    rows = collect_days(instance, [day], exchange)
    end = _day_bounds(day, day)[1]
    systems = {sys.name: sys.title for sys in load_catalog().systems}
    open_items = operations.feedback_items(status="open")
    return redact_all(
        {
            "kind": "daily",
            "title": f"数据交换日常巡检单（{day:%Y年%m月%d日}）",
            "day": day.isoformat(),
            "generated_at": _now().isoformat(sep=" "),
            "summary": _day_summary(rows),
            "legs": [
                {"leg": leg, "title": LEG_TITLES[leg], "rows": [r.to_dict() for r in rows if r.leg == leg]}
                for leg in ("province", "bureau")
            ],
            "attention": [r.to_dict() for r in sorted(rows, key=lambda r: r.severity) if r.severity < 3],
            "silent_systems": silent_systems(rows, systems),
            "escalations": _escalations(exchange, day, day, open_too=True),
            "hosts": (hosts := _hosts(operations, end)),
            "hosts_silent": [h["assessment"]["host"] for h in hosts if h["assessment"]["silent"]],
            "feedback_open": open_items,
            "registers": registers.for_day(operations, day, rows, hosts),
        }
    )


def titled(fig: go.Figure, title: str) -> go.Figure:
    """A report's chart in the reports' one look: its title, font, size and legend above the plot."""
    fig.update_layout(
        title=title,
        font_family=FONT,
        height=340,
        template="plotly_white",
        margin=dict(l=60, r=60, t=80, b=40),  # the legend above the plot, clear of the dates
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    return fig


def _resource_series(
    operations: OperationsRecords, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, list]]:
    """Daily average and peak of each percentage metric, per host: keys ``host|metric``."""
    per: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in operations.metrics(start, end):
        metric = s["metric"]
        if metric in RESOURCE_CN or metric.startswith("disk_percent:"):
            per[(f"{s['host']}|{metric}", s["sampled_at"].date().isoformat())].append(float(s["value"]))
    series: dict[str, dict[str, list]] = {}
    for (key, day), values in sorted(per.items()):
        entry = series.setdefault(key, {"day": [], "avg": [], "peak": []})
        entry["day"].append(day)
        entry["avg"].append(round(sum(values) / len(values), 1))
        entry["peak"].append(round(max(values), 1))
    return series


RESOURCE_CN = {"cpu_percent": "CPU", "memory_percent": "内存", "swap_percent": "交换分区"}


def _resource_label(key: str) -> str:
    """``host|metric`` as "host CPU" or "host 磁盘 /"."""
    host, _, metric = key.rpartition("|")
    label = RESOURCE_CN.get(metric) or f"磁盘 {metric.split(':', 1)[1]}"
    return f"{host} {label}" if host else label


def period_report(
    instance: dg.DagsterInstance,
    exchange: ExchangeRecords,
    operations: OperationsRecords,
    first: dt.date,
    last: dt.date,
    kind: str,
    front: Any = None,
) -> dict[str, Any]:
    """The weekly (运维周报) or monthly (运维服务月报) report of ``[first, last]``."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    rows = collect_days(instance, days, exchange)
    start, end = _day_bounds(first, last)
    by_day = defaultdict(list)
    for r in rows:
        by_day[r.day].append(r)
    daily = [{"day": d.isoformat(), **_day_summary(by_day[d.isoformat()])} for d in days]
    incidents = []
    for r in rows:
        if r.incident:
            failed_checks = [c for c, v in r.checks.items() if v == "failed"]
            if r.healthy:
                resolution = f"已自动重推 {r.repush_attempts} 次后恢复" if r.repush_attempts else "已恢复"
            elif r.repush_attempts:
                resolution = f"重推 {r.repush_attempts} 次，{r.repush_outcome or '仍未恢复'}，已升级人工处理"
            else:
                resolution = "待处理"
            incidents.append({**r.to_dict(), "failed_checks": failed_checks, "resolution": resolution})
    reinits = [r for r in exchange.reinits() if start <= r["requested_at"] < end]
    systems = {sys.name: sys.title for sys in load_catalog().systems}
    series = _resource_series(operations, start, end)
    label = "周" if kind == "weekly" else "月"
    title = (
        f"数据交换运维周报（{first:%Y年%m月%d日}—{last:%m月%d日}）"
        if kind == "weekly"
        else f"数据交换运维服务月报（{first:%Y年%m月}）"
    )
    report = {
        "kind": kind,
        "title": title,
        "period": {"first": first.isoformat(), "last": last.isoformat(), "label": label},
        "generated_at": _now().isoformat(sep=" "),
        "summary": _day_summary(rows),
        "daily": daily,
        "incidents": incidents,
        "silent_systems": silent_systems(rows, systems),
        "escalations": _escalations(exchange, first, last),
        "reinits": reinits,
        "resources": series,
        "hosts": _hosts(operations, end),
        "feedback": feedback_summary(operations, start, end),
        "feedback_opened": operations.feedback_items(opened_since=start, opened_until=end),
        "feedback_resolved": operations.feedback_resolved_between(start, end),
        "statistics": _statistics(front, first) if kind == "monthly" else None,
    }
    report["registers"] = registers.for_period(operations, first, last, report["hosts"])
    return redact_all(report)


def _statistics(front: Any, first: dt.date) -> dict[str, Any]:
    """The month's statistics highlights, or why there are none."""
    from shaoxing_ops.stats import Settings
    from shaoxing_ops.stats.commentary import sentences
    from shaoxing_ops.stats.compute import compute_months
    from shaoxing_ops.stats.outputs import output_dir, trend_months

    month = f"{first:%Y-%m}"
    if front is None:
        return {"month": month, "sentences": [], "note": "未连接前置库，本月统计未纳入。"}
    stats_settings = Settings.from_env()
    try:
        frame = compute_months(front, trend_months(month, stats_settings), stats_settings)
    except (LookupError, ValueError) as exc:
        return {"month": month, "sentences": [], "note": f"本月统计暂不可用：{exc}"}
    folder = output_dir(month)
    return {
        "month": month,
        "sentences": sentences(frame, month),
        "note": "",
        "files": sorted(p.name for p in folder.glob("*")) if folder.exists() else [],
    }


def figures(report: dict[str, Any]) -> list[go.Figure]:
    """Charts of a periodic report: daily table outcomes, rows exchanged, resource use.

    Days are categories (the full date, never parsed as a time by plotly); each measure has its own axis,
    titled, starting at zero; counts never run below it.
    """
    if report["kind"] == "annual":
        from .annual import figures as annual_figures

        return annual_figures(report)
    out = []
    daily = report["daily"]
    days = [d["day"] for d in daily]
    xaxis = dict(type="category", title="日期", tickangle=-45)
    failed = [d["checks_failed"] for d in daily]
    most_failed = max([*failed, 1])
    fig = go.Figure()
    for key, name, colour in (
        ("succeeded", "成功", "#2e7d32"),
        ("failed", "失败", "#c62828"),
        ("not_started", "未开始", "#9e9e9e"),
    ):
        fig.add_bar(x=days, y=[d[key] for d in daily], name=f"{name}（表）", marker_color=colour)
    fig.add_scatter(
        x=days,
        y=failed,
        name="未通过检查（项，右轴）",
        yaxis="y2",
        mode="lines+markers",
        line=dict(color="#ef6c00"),
    )
    fig.update_layout(
        barmode="stack",
        xaxis=xaxis,
        yaxis=dict(title="表数", rangemode="tozero"),
        yaxis2=dict(
            title="未通过检查项",
            overlaying="y",
            side="right",
            showgrid=False,
            rangemode="tozero",
            range=[0, most_failed * 1.1],
            dtick=max(1, math.ceil(most_failed / 5)),
            tickformat="d",
        ),
    )
    out.append(titled(fig, "每日交换表运行结果"))
    fig = go.Figure()
    # each bar labelled: a first day's full load would otherwise flatten the ordinary days to nothing
    fig.add_bar(
        x=days,
        y=[d["rows_moved"] for d in daily],
        name="交换行数（新增+更新+删除）",
        marker_color="#1565c0",
        texttemplate="%{y:,}",
        textposition="outside",
        cliponaxis=False,
        textfont=dict(size=9),
    )
    fig.update_layout(xaxis=xaxis, yaxis=dict(title="行数", rangemode="tozero"))
    out.append(titled(fig, "每日交换行数"))
    if report["resources"]:
        fig = go.Figure()
        for metric, s in report["resources"].items():
            fig.add_scatter(
                x=s["day"], y=s["avg"], name=f"{_resource_label(metric)} 平均", mode="lines+markers"
            )
            fig.add_scatter(
                x=s["day"],
                y=s["peak"],
                name=f"{_resource_label(metric)} 峰值",
                mode="lines",
                line=dict(dash="dot"),
            )
        fig.update_layout(xaxis=xaxis, yaxis=dict(title="使用率 %", range=[0, 100]))
        fig = titled(fig, "主机资源使用率（按日）")
        # two entries per host and metric: below the plot, where they may take several lines without
        # running into the title
        legend_lines = math.ceil(2 * len(report["resources"]) / 4)
        fig.update_layout(
            legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0),
            height=360 + 22 * legend_lines,
            margin=dict(l=60, r=60, t=60, b=110 + 22 * legend_lines),
        )
        out.append(fig)
    return out


def charts(report: dict[str, Any], for_print: bool = False) -> list[Markup]:
    """The report's figures as HTML fragments, or for print as images."""
    return chart_fragments(figures(report) if report["kind"] != "daily" else [], for_print)


def render(report: dict[str, Any], for_print: bool = False) -> str:
    """The report's HTML page; ``for_print`` the page the Word and PDF copies are made from (charts as
    images, the cover page shown)."""
    import plotly.offline

    template = TEMPLATES.get(report["kind"], "period.html.j2")
    interactive = report["kind"] != "daily" and not for_print
    return _env.get_template(template).render(
        r=report,
        charts=charts(report, for_print),
        plotly_js=Markup(plotly.offline.get_plotlyjs()) if interactive else "",
        resource_label=_resource_label,
        period=period_text(report),
    )


def period_text(report: dict[str, Any]) -> str:
    """What a cover calls the report's period: 2026年3月1日 or 2026年3月1日—3月7日."""
    if report["kind"] == "daily":
        return _date_cn(dt.date.fromisoformat(report["day"]))
    first, last = (dt.date.fromisoformat(report["period"][k]) for k in ("first", "last"))
    return f"{_date_cn(first)}—{_date_cn(last)}"


def _date_cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


TEMPLATES = {"daily": "inspection.html.j2", "annual": "annual.html.j2"}
FOLDERS = {"daily": "inspection", "weekly": "weekly", "monthly": "monthly", "annual": "annual"}


def report_dir(kind: str) -> Path:
    return settings.data_dir() / "reports" / FOLDERS[kind]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    documents: Documents  # the Word and PDF copies


def write(report: dict[str, Any], stem: str) -> ReportFiles:
    """Write ``<stem>.html``, ``.json``, ``.docx`` and ``.pdf`` under the report's folder."""
    folder = report_dir(report["kind"])  # made by the first write
    html, data = folder / f"{stem}.html", folder / f"{stem}.json"
    write_private_text(html, render(report))
    write_private_text(data, json.dumps(report, ensure_ascii=False, indent=1, default=str))
    documents = write_documents(render(report, for_print=True), folder / stem)
    write_index()
    return ReportFiles(html, data, documents)
