"""The year-end summary (运维服务年度总结): the service year's figures for acceptance (验收).

Built month by month (one month's table-days in memory at a time) from the same sources as the monthly
reports: the Dagster instance for every table-day of both legs, the exchange's records for escalations and
re-initialisations, the operations' records for feedback, consultations and security notices, and the monthly
reports already delivered for the hosts' resources (the raw host samples are kept 30 days only, so a past
month's resources are what its report said at the time).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import dagster as dg
import plotly.graph_objects as go

from shaoxing_ops import settings
from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.operations import consultations, notices
from shaoxing_ops.operations.feedback import summary as feedback_summary
from shaoxing_ops.operations.records import OperationsRecords

from .collect import TableDay, collect_days, tables
from .safety import redact_all

LEGS = {"province": "省局数据下发", "bureau": "数据局上报"}


def service_year(year: int, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The days of ``year`` the platform has run: from SXOPS_START_DATE at the earliest, to yesterday at the
    latest (a summary written in December covers the year so far)."""
    today = today or dt.datetime.now(settings.TZ).date()
    first = max(dt.date(year, 1, 1), settings.start_date())
    last = min(dt.date(year, 12, 31), today - dt.timedelta(days=1))
    if first > last:
        raise ValueError(
            f"{year} has no day to summarise: the platform runs from {settings.start_date()} and today is {today}"
        )
    return first, last


def first_day_in_service(instance: dg.DagsterInstance, first: dt.date, last: dt.date) -> dt.date | None:
    """The first day of ``[first, last]`` any exchanged table was loaded for: the months before the platform
    went into service are no outage, and no availability is computed for them."""
    days = []
    for *_, key in tables(load_catalog()):
        loaded = [
            d for d in instance.get_materialized_partitions(key) if first.isoformat() <= d <= last.isoformat()
        ]
        days += [min(loaded)] if loaded else []
    return dt.date.fromisoformat(min(days)) if days else None


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    out, start = [], first
    while start <= last:
        following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        out.append((start, min(last, following - dt.timedelta(days=1))))
        start = following
    return out


def _leg_month(rows: list[TableDay], leg: str) -> dict[str, Any]:
    mine = [r for r in rows if r.leg == leg]
    status = Counter(r.status for r in mine)
    healthy = sum(1 for r in mine if r.healthy)
    return {
        "expected": len(mine),
        "succeeded": status["succeeded"],
        "failed": status["failed"],
        "not_started": status["not_started"],
        "healthy": healthy,
        "availability": round(100 * healthy / len(mine), 2) if mine else None,
        "repushed": sum(1 for r in mine if r.repush_attempts),
        "repushed_recovered": sum(1 for r in mine if r.repush_attempts and r.healthy),
        "incidents": sum(1 for r in mine if r.incident),
        "rows_moved": sum(r.rows_moved for r in mine),
    }


def _hours(start: dt.datetime, end: dt.datetime) -> float:
    return round((end - start).total_seconds() / 3600, 1)


def _monthly_resources(month: str) -> dict[str, Any] | None:
    """Each host's assessment as the month's delivered monthly report stated it, or None without one."""
    path = settings.data_dir() / "reports" / "monthly" / f"运维服务月报_{month}.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text(encoding="utf-8"))
    return {h["assessment"]["host"]: h["assessment"] for h in report.get("hosts", [])}


def _statistics_delivered(month: str) -> list[str]:
    folder = settings.data_dir() / "reports" / "stats" / month
    return sorted(p.name for p in folder.glob("*") if p.suffix in (".xlsx", ".html", ".docx", ".pdf"))


def annual_report(
    instance: dg.DagsterInstance,
    exchange: ExchangeRecords,
    operations: OperationsRecords,
    year: int,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The year-end summary of ``year``: availability per leg and month, incidents and how long they took,
    re-pushes, re-initialisations, feedback, resources and scaling advice, monthly statistics delivered."""
    first, last = service_year(year, today)
    in_service = first_day_in_service(instance, first, last)
    if in_service is None:
        raise ValueError(
            f"nothing was exchanged in {year} up to {last}; there is no service year to summarise"
        )
    first = in_service
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    months = []
    for month_first, month_last in _months(first, last):
        days = [month_first + dt.timedelta(days=i) for i in range((month_last - month_first).days + 1)]
        rows = collect_days(instance, days, exchange)  # one month in memory at a time
        month = f"{month_first:%Y-%m}"
        if progress:
            done = sum(1 for r in rows if r.healthy)
            progress(f"      {month}: {len(days)} days, {done:,} of {len(rows):,} table-days healthy")
        months.append(
            {
                "month": month,
                "days": len(days),
                "legs": {leg: _leg_month(rows, leg) for leg in LEGS},
                "resources": _monthly_resources(month),
                "statistics": _statistics_delivered(month),
            }
        )
    legs = {}
    for leg, title in LEGS.items():
        total = {
            k: sum(m["legs"][leg][k] for m in months) for k in months[0]["legs"][leg] if k != "availability"
        }
        total["availability"] = (
            round(100 * total["healthy"] / total["expected"], 2) if total["expected"] else None
        )
        legs[leg] = {"title": title, **total}
    escalations = [e for e in _escalations(exchange) if start <= e["escalated_at"] < end]
    resolved = [e for e in escalations if e["resolved_at"]]
    hours = [_hours(e["escalated_at"], e["resolved_at"]) for e in resolved]
    reinits = [r for r in exchange.reinits() if start <= r["requested_at"] < end]
    hosts: dict[str, list[dict[str, Any]]] = {}
    for m in months:
        for host, a in (m["resources"] or {}).items():
            hosts.setdefault(host, []).append(
                {
                    "month": m["month"],
                    "recommendation": a.get("recommendation"),
                    "role_cn": a.get("role_cn", ""),
                    "reasons": a.get("reasons", []),
                }
            )
    report = {
        "kind": "annual",
        "title": f"数据交换运维服务年度总结（{year}年）",
        "year": year,
        "period": {"first": first.isoformat(), "last": last.isoformat(), "label": "年"},
        "generated_at": dt.datetime.now(settings.TZ).replace(tzinfo=None, microsecond=0).isoformat(sep=" "),
        "months": months,
        "legs": legs,
        "escalations": {
            "count": len(escalations),
            "resolved": len(resolved),
            "open": len(escalations) - len(resolved),
            "mean_hours": round(sum(hours) / len(hours), 1) if hours else None,
            "max_hours": max(hours) if hours else None,
            "list": escalations,
        },
        "reinits": reinits,
        "feedback": feedback_summary(operations, start, end),
        "consultations": {
            k: v for k, v in consultations.summary(operations, first, last).items() if k != "items"
        },
        "notices": {k: v for k, v in notices.summary(operations, first, last).items() if k != "notices"},
        "hosts": [
            {"host": h, "months": ms, "scale_advice": Counter(x["recommendation"] for x in ms)}
            for h, ms in sorted(hosts.items())
        ],
        "statistics": {
            "delivered": [m["month"] for m in months if m["statistics"]],
            "missing": [m["month"] for m in months if not m["statistics"] and m["month"] < f"{last:%Y-%m}"],
        },
    }
    return redact_all(report)


def _escalations(exchange: ExchangeRecords) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    t = exchange.tables.escalations
    return exchange.rows(sa.select(t).order_by(t.c.escalated_at))


def figures(report: dict[str, Any]) -> list[go.Figure]:
    """Availability per leg and month; incidents and re-pushes per month."""
    from .build import titled

    months = [m["month"] for m in report["months"]]
    xaxis = dict(type="category", title="月份")
    availability = go.Figure()
    for leg, title in LEGS.items():
        values = [m["legs"][leg]["availability"] for m in report["months"]]
        availability.add_scatter(
            x=months,
            y=values,
            name=title,
            mode="lines+markers+text",
            text=[f"{v:.1f}%" if v is not None else "" for v in values],
            textposition="top center",
        )
    availability.update_layout(xaxis=xaxis, yaxis=dict(title="可用率 %", range=[0, 105]))
    events = go.Figure()
    for key, name, colour in (
        ("incidents", "故障（表·日）", "#c62828"),
        ("repushed", "自动重推（表·日）", "#ef6c00"),
    ):
        events.add_bar(
            x=months,
            y=[sum(m["legs"][leg][key] for leg in LEGS) for m in report["months"]],
            name=name,
            marker_color=colour,
        )
    events.update_layout(xaxis=xaxis, yaxis=dict(title="表·日", rangemode="tozero"), barmode="group")
    return [titled(availability, "各月交换可用率（按链路）"), titled(events, "各月故障与自动重推")]


def stem(year: int) -> str:
    return f"运维服务年度总结_{year}"


def write(report: dict[str, Any]) -> Any:
    """The summary's HTML, JSON, Word and PDF under ``reports/annual``."""
    from . import build

    return build.write(report, stem(report["year"]))
