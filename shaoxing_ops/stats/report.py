"""The month's statistics as a self-contained HTML page with plotly charts (opens offline)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
from markupsafe import Markup
from plotly.subplots import make_subplots

from shaoxing_ops.files import write_private_text
from shaoxing_ops.reports.documents import Documents, chart_fragments, write_documents
from shaoxing_ops.reports.templating import environment

from . import commentary
from .compute import StatsFrame
from .workbook import COLUMNS, capital_notes

FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"
TABLE_COLUMNS = (
    "stock",
    "stock_yoy",
    "new",
    "new_yoy",
    "new_mom",
    "cancelled",
    "revoked",
    "net",
    "ratio",
    "new_capital",
    "stock_capital",
)
WAN = 10_000
LARGE_AXIS = 100_000  # an axis reaching six-digit counts reads better in 万户

_env = environment("shaoxing_ops.stats")


def _layout(fig: go.Figure, title: str, height: int = 400) -> go.Figure:
    """Common look: Chinese font, the legend above the plot (clear of the axis titles), axes sized to labels."""
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        font_family=FONT,
        height=height,
        margin=dict(l=60, r=60, t=80, b=50),
        legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
        template="plotly_white",
        separators=".,",
    )
    for axis in (*fig.select_xaxes(), *fig.select_yaxes()):
        # 2,000 rather than plotly's English "2k" (a category axis ignores the format)
        axis.update(automargin=True, tickformat=axis.tickformat or ",")
    return fig


def unit_of(values: Sequence[int | None]) -> str:
    """The unit an axis of these counts reads best in: 万户 where the largest reaches ``LARGE_AXIS``, else 户."""
    return "万户" if max((abs(v) for v in values if v is not None), default=0) >= LARGE_AXIS else "户"


def _counts(fig: go.Figure, kind: str, x: list, values: list, name: str, unit: str, **kw: Any) -> None:
    """A trace of counts in ``unit`` whose hover still gives the exact number of 户."""
    scaled = [None if v is None else v / WAN for v in values] if unit == "万户" else values
    hover = [commentary.count(v) for v in values]
    trace = dict(
        name=name, customdata=hover, hovertemplate=f"%{{x}}<br>{name}：%{{customdata}} 户<extra></extra>"
    )
    if kw.pop("horizontal", False):
        trace |= dict(
            x=scaled,
            y=x,
            orientation="h",
            hovertemplate=f"%{{y}}<br>{name}：%{{customdata}} 户<extra></extra>",
        )
    else:
        trace |= dict(x=x, y=scaled)
    (fig.add_bar if kind == "bar" else fig.add_scatter)(**trace, **kw)


def figures(frame: StatsFrame, month: str) -> list[go.Figure]:
    """Trend of stock and new registrations, county comparison, type and industry composition, capital by county.

    Months are categories labelled in Chinese (plotly would otherwise read "2025-02" as a date and print English
    month names); axes say their unit, counts switch to 万户 where an axis would run into six digits."""
    totals = frame.long.filter(pl.col("dimension") == "total").sort("month")
    months = [commentary.month_title(m) for m in totals["month"]]
    flows = totals["new"].to_list() + totals["cancelled"].to_list()
    flow_unit = unit_of(flows)
    stock_unit = unit_of(totals["stock"].to_list())
    trend = go.Figure()
    _counts(trend, "bar", months, totals["new"].to_list(), "新设", flow_unit)
    _counts(trend, "bar", months, totals["cancelled"].to_list(), "注销", flow_unit)
    _counts(
        trend,
        "scatter",
        months,
        totals["stock"].to_list(),
        "实有（右轴）",
        stock_unit,
        yaxis="y2",
        mode="lines+markers",
    )
    trend.update_layout(
        barmode="group",
        xaxis=dict(type="category", title="年月"),
        yaxis=dict(title=f"新设、注销（{flow_unit}）", rangemode="tozero"),
        yaxis2=dict(
            title=f"实有（{stock_unit}）",
            overlaying="y",
            side="right",
            showgrid=False,
            rangemode="tozero",
            tickmode="auto",  # its own round ticks, not the left axis's grid carried over
        ),
    )

    counties = frame.of("county", month)
    names = counties["name1"].to_list()
    flows = [v for key in ("new", "cancelled", "revoked", "net") for v in counties[key].to_list()]
    county_unit = unit_of(flows)
    county = go.Figure()
    for key, label in (("new", "新设"), ("cancelled", "注销"), ("revoked", "吊销"), ("net", "净增")):
        _counts(county, "bar", names, counties[key].to_list(), label, county_unit)
    county.update_layout(
        barmode="group",
        xaxis=dict(type="category", title="县（市、区）"),
        yaxis=dict(title=f"户数（{county_unit}）"),
    )

    cats = frame.of("category", month)
    composition = go.Figure(
        go.Pie(
            labels=cats["name1"].to_list(),
            values=cats["stock"].to_list(),
            hole=0.45,
            sort=False,
            texttemplate="%{label}<br>%{percent:.1%}",
            hovertemplate="%{label}：%{value:,} 户（%{percent:.1%}）<extra></extra>",
        )
    )
    composition.update_layout(showlegend=False)

    families = frame.of("family", month).filter(pl.col("stock") > 0).sort("stock")
    family_unit = unit_of(families["stock"].to_list())
    family = go.Figure()
    _counts(
        family,
        "bar",
        families["name1"].to_list(),
        families["stock"].to_list(),
        "实有",
        family_unit,
        horizontal=True,
    )
    family.update_layout(
        xaxis=dict(title=f"实有（{family_unit}）"), yaxis=dict(type="category"), showlegend=False
    )

    industries = frame.of("industry", month).sort("code1")
    industry = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    labels = industries["name1"].to_list()
    for col, key, label in ((1, "stock", "实有"), (2, "new", "本月新设")):
        values = industries[key].to_list()
        unit = unit_of(values)
        part = go.Figure()
        _counts(part, "bar", labels, values, label, unit, horizontal=True)
        industry.add_trace(part.data[0], row=1, col=col)
        industry.update_xaxes(title_text=f"{label}（{unit}）", row=1, col=col)
    industry.update_yaxes(type="category", autorange="reversed", row=1, col=1)
    industry.update_layout(showlegend=False)

    capital = make_subplots(rows=1, cols=2, horizontal_spacing=0.08)
    private = frame.of("county_private", month)
    for col, key, label in ((1, "stock_capital", "实有注册资本"), (2, "new_capital", "本月新设注册资本")):
        for rows, name, colour in (
            (counties, "全部企业（含农民专业合作社）", "#2b6cb0"),
            (private, "其中：私营企业", "#f0a030"),
        ):
            capital.add_bar(
                x=rows["name1"].to_list(),
                y=rows[key].to_list(),
                name=name,
                marker_color=colour,
                legendgroup=name,
                showlegend=col == 1,
                hovertemplate=f"%{{x}}<br>{label}（{name}）：%{{y:,.2f}} 亿元<extra></extra>",
                row=1,
                col=col,
            )
        capital.update_xaxes(type="category", title_text="县（市、区）", row=1, col=col)
        capital.update_yaxes(title_text=f"{label}（亿元）", row=1, col=col)
    capital.update_layout(barmode="group")
    return [
        _layout(trend, "月度趋势：新设、注销与实有"),
        _layout(county, f"分县（市、区）比较（{commentary.month_title(month)}）"),
        _layout(composition, "实有主体类别构成"),
        _layout(family, "实有企业类型构成"),
        _layout(industry, "分行业门类：实有与本月新设", height=40 + 26 * max(len(labels), 8)),
        _layout(
            capital, f"分县（市、区）注册资本：全部企业与其中私营企业（{commentary.month_title(month)}）"
        ),
    ]


def charts(frame: StatsFrame, month: str, for_print: bool = False) -> list[Markup]:
    """The figures as HTML fragments, or for print as images."""
    return chart_fragments(figures(frame, month), for_print)


def _cell(value: Any, kind: str) -> str:
    match kind:
        case "int":
            return commentary.count(value)
        case "pct":
            return commentary.pct(value)
        case "cap":
            return commentary.capital(value)
    return commentary.ratio(value)


def _table(frame: StatsFrame, name: str, month: str) -> dict:
    """A dimension's rows with its 其中 rows (私营企业 under 企业) in place, marked so they can be indented."""
    headers = {k: h for k, h, _ in COLUMNS}
    kinds = {k: kind for k, _, kind in COLUMNS}
    rows = []
    for rec in frame.with_parts(name, month):
        label = rec["name1"] + (f" · {rec['name2']}" if rec["name2"] else "")
        rows.append(
            {"label": label, "cells": [_cell(rec[k], kinds[k]) for k in TABLE_COLUMNS], "part": rec["part"]}
        )
    return {"headers": [headers[k] for k in TABLE_COLUMNS], "rows": rows}


def _private_table(frame: StatsFrame, month: str) -> dict:
    """私营企业 by county, with its share of the county's enterprises (占企业总数比重)."""
    enterprises = {
        r["code1"]: r["stock"]
        for r in frame.of("county_category", month).filter(pl.col("code2") == "1").iter_rows(named=True)
    }
    keys = ("stock", "stock_yoy", "new", "new_yoy", "cancelled", "new_capital", "stock_capital")
    kinds = {k: kind for k, _, kind in COLUMNS}
    headers = {k: h for k, h, _ in COLUMNS}
    rows = [
        {
            "label": rec["name1"],
            "cells": [
                _cell(rec["stock"], "int"),
                commentary.share(rec["stock"], enterprises.get(rec["code1"])),
                *[_cell(rec[k], kinds[k]) for k in keys[1:]],
            ],
            "part": False,
        }
        for rec in frame.of("county_private", month).iter_rows(named=True)
    ]
    return {"headers": [headers["stock"], "占企业总数比重", *[headers[k] for k in keys[1:]]], "rows": rows}


def render_report(frame: StatsFrame, month: str, for_print: bool = False) -> str:
    """The month's report page; ``for_print`` the page its Word and PDF copies are made from."""
    import plotly.offline

    t = frame.total(month)
    private = next(iter(frame.of("private", month).to_dicts()), None)
    enterprises = frame.of("category", month).filter(pl.col("code1") == "1")["stock"].sum()
    cards = [
        ("实有（户）", commentary.count(t["stock"]), commentary.growth("同比", t["stock_yoy"])),
        ("新设（户）", commentary.count(t["new"]), commentary.growth("同比", t["new_yoy"])),
        ("注销（户）", commentary.count(t["cancelled"]), commentary.growth("同比", t["cancelled_yoy"])),
        ("吊销（户）", commentary.count(t["revoked"]), commentary.growth("同比", t["revoked_yoy"])),
        ("净增（户）", commentary.count(t["net"]), f"本年累计 {commentary.count(t['net_ytd'])}"),
        ("新设注销比", commentary.ratio(t["ratio"]), f"本年累计 {commentary.ratio(t['ratio_ytd'])}"),
        (
            "实有注册资本（亿元）",
            commentary.capital(t["stock_capital"]),
            commentary.growth("同比", t["stock_capital_yoy"]),
        ),
        (
            "新设注册资本（亿元）",
            commentary.capital(t["new_capital"]),
            commentary.growth("同比", t["new_capital_yoy"]),
        ),
    ]
    if private is not None:
        cards += [
            (
                "其中：私营企业实有（户）",
                commentary.count(private["stock"]),
                f"占企业总数 {commentary.share(private['stock'], enterprises)}",
            ),
            (
                "其中：私营企业新设（户）",
                commentary.count(private["new"]),
                commentary.growth("同比", private["new_yoy"]),
            ),
        ]
    return _env.get_template("stats_report.html.j2").render(
        title=f"绍兴市市场主体发展情况（{commentary.month_title(month)}）",
        month=month,
        cards=cards,
        sentences=commentary.sentences(frame, month),
        charts=charts(frame, month, for_print),
        plotly_js="" if for_print else Markup(plotly.offline.get_plotlyjs()),
        period=commentary.month_title(month),
        tables=[
            ("分县（市、区）", _table(frame, "county", month)),
            ("分主体类别", _table(frame, "category", month)),
            ("分县（市、区）私营企业", _private_table(frame, month)),
            ("分企业类型", _table(frame, "family", month)),
            ("分三次产业", _table(frame, "sector", month)),
            ("分行业门类", _table(frame, "industry", month)),
        ],
        settings=frame.settings,
        notes=frame.notes,
        capital_notes=capital_notes(frame),
    )


def write_report(frame: StatsFrame, month: str, path: Path) -> tuple[Path, Documents]:
    """The HTML report at ``path`` and its Word and PDF copies beside it."""
    write_private_text(path, render_report(frame, month))
    return path, write_documents(render_report(frame, month, for_print=True), path.with_suffix(""))
