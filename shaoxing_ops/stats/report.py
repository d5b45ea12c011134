"""The month's statistics as a self-contained HTML page with plotly charts (opens offline)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import plotly.graph_objects as go
import polars as pl

from shaoxing_ops.files import write_private_text

from . import commentary
from .compute import StatsFrame
from .workbook import COLUMNS

FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"
TABLE_COLUMNS = ("stock", "stock_yoy", "new", "new_yoy", "new_mom", "cancelled", "revoked", "net", "ratio")

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("shaoxing_ops.stats", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
)


def _layout(fig: go.Figure, title: str) -> str:
    fig.update_layout(title=title, font_family=FONT, height=380, margin=dict(l=50, r=30, t=60, b=40),
                      legend=dict(orientation="h", y=-0.15), template="plotly_white")  # fmt: skip
    return fig.to_html(full_html=False, include_plotlyjs=False)


def charts(frame: StatsFrame, month: str) -> list[str]:
    """Trend of stock and new registrations, county comparison, type and industry composition."""
    totals = frame.long.filter(pl.col("dimension") == "total").sort("month")
    trend = go.Figure()
    trend.add_bar(x=totals["month"].to_list(), y=totals["new"].to_list(), name="新设")
    trend.add_bar(x=totals["month"].to_list(), y=totals["cancelled"].to_list(), name="注销")
    trend.add_scatter(
        x=totals["month"].to_list(),
        y=totals["stock"].to_list(),
        name="实有（右轴）",
        yaxis="y2",
        mode="lines+markers",
    )
    trend.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False), barmode="group")
    counties = frame.of("county", month)
    county = go.Figure()
    for key, label in (("new", "新设"), ("cancelled", "注销"), ("revoked", "吊销"), ("net", "净增")):
        county.add_bar(x=counties["name1"].to_list(), y=counties[key].to_list(), name=label)
    county.update_layout(barmode="group")
    cats = frame.of("category", month)
    composition = go.Figure(
        go.Pie(labels=cats["name1"].to_list(), values=cats["stock"].to_list(), hole=0.45, sort=False)
    )
    families = frame.of("family", month).filter(pl.col("stock") > 0).sort("stock")
    family = go.Figure(
        go.Bar(x=families["stock"].to_list(), y=families["name1"].to_list(), orientation="h", name="实有")
    )
    industries = frame.of("industry", month).sort("code1")
    industry = go.Figure()
    industry.add_bar(
        x=industries["code1"].to_list(),
        y=industries["stock"].to_list(),
        name="实有",
        hovertext=industries["name1"].to_list(),
    )
    industry.add_bar(x=industries["code1"].to_list(), y=industries["new"].to_list(), name="新设", yaxis="y2",
                     hovertext=industries["name1"].to_list())  # fmt: skip
    industry.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False), barmode="group")
    return [
        _layout(trend, "月度趋势：新设、注销与实有"),
        _layout(county, f"分县（市、区）比较（{commentary.month_title(month)}）"),
        _layout(composition, "实有主体类别构成"),
        _layout(family, "实有企业类型构成"),
        _layout(industry, "分行业门类：实有与新设（右轴）"),
    ]


def _table(frame: StatsFrame, name: str, month: str) -> dict:
    headers = {k: h for k, h, _ in COLUMNS}
    kinds = {k: kind for k, _, kind in COLUMNS}
    rows = []
    for rec in frame.of(name, month).iter_rows(named=True):
        cells = []
        for key in TABLE_COLUMNS:
            v, kind = rec[key], kinds[key]
            cells.append(commentary.count(v) if kind == "int" else commentary.pct(v) if kind == "pct"
                         else commentary.ratio(v))  # fmt: skip
        label = rec["name1"] + (f" · {rec['name2']}" if rec["name2"] else "")
        rows.append({"label": label, "cells": cells})
    return {"headers": [headers[k] for k in TABLE_COLUMNS], "rows": rows}


def render_report(frame: StatsFrame, month: str) -> str:
    import plotly.offline

    t = frame.total(month)
    cards = [
        ("实有", commentary.count(t["stock"]), commentary.growth("同比", t["stock_yoy"])),
        ("新设", commentary.count(t["new"]), commentary.growth("同比", t["new_yoy"])),
        ("注销", commentary.count(t["cancelled"]), commentary.growth("同比", t["cancelled_yoy"])),
        ("吊销", commentary.count(t["revoked"]), commentary.growth("同比", t["revoked_yoy"])),
        ("净增", commentary.count(t["net"]), f"本年累计 {commentary.count(t['net_ytd'])}"),
        ("新设注销比", commentary.ratio(t["ratio"]), f"本年累计 {commentary.ratio(t['ratio_ytd'])}"),
    ]
    return _env.get_template("stats_report.html.j2").render(
        title=f"绍兴市市场主体发展情况（{commentary.month_title(month)}）",
        month=month,
        cards=cards,
        sentences=commentary.sentences(frame, month),
        charts=[jinja2.utils.markupsafe.Markup(c) for c in charts(frame, month)],
        plotly_js=jinja2.utils.markupsafe.Markup(plotly.offline.get_plotlyjs()),
        tables=[("分县（市、区）", _table(frame, "county", month)), ("分主体类别", _table(frame, "category", month)),
                ("分三次产业", _table(frame, "sector", month)), ("分行业门类", _table(frame, "industry", month))],
        settings=frame.settings,
        notes=frame.notes,
    )  # fmt: skip


def write_report(frame: StatsFrame, month: str, path: Path) -> Path:
    return write_private_text(path, render_report(frame, month))
