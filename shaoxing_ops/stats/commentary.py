"""Numbers into the short Chinese sentences a statistician would write beside them."""

from __future__ import annotations

from typing import Any

import polars as pl

from .compute import PCT_DIGITS, StatsFrame


def month_title(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:7])}月"


def count(n: Any) -> str:
    return "—" if n is None else f"{int(n):,}"


def pct(p: float | None) -> str:
    """A growth rate, signed, with the one decimal every percentage of the statistics has."""
    return "—" if p is None else f"{p:+.{PCT_DIGITS}f}%"


def share(part: float | None, whole: float | None) -> str:
    """``part`` as a percentage of ``whole`` (占比), one decimal like the growth rates; "—" for an empty whole."""
    return "—" if part is None or not whole else f"{part / whole * 100:.{PCT_DIGITS}f}%"


def capital(v: float | None) -> str:
    """注册资本 in 亿元 with two decimals (domain.md); "—" where there is none (个体工商户)."""
    return "—" if v is None else f"{v:,.2f}"


def ratio(r: float | None) -> str:
    """新设注销比 as "x.xx:1"; a month without deregistrations has none (not infinity, not zero)."""
    return "—" if r is None else f"{r:.2f}:1"


def growth(label: str, p: float | None) -> str:
    if p is None:
        return f"无{label}数据"
    if round(abs(p), PCT_DIGITS) == 0:
        return f"{label}持平"
    return f"{label}{'增长' if p > 0 else '下降'} {abs(p):.{PCT_DIGITS}f}%"


def _top(df: pl.DataFrame, measure: str) -> dict[str, Any] | None:
    if df.is_empty():
        return None
    best = df.sort(measure, descending=True).row(0, named=True)
    return best if best[measure] else None


def sentences(frame: StatsFrame, month: str) -> list[str]:
    """The report's commentary for ``month``, every figure taken from the frame."""
    t = frame.total(month)
    out = [
        f"截至{month_title(month)}末，全市实有市场主体 {count(t['stock'])} 户，"
        f"{growth('同比', t['stock_yoy'])}，{growth('环比', t['stock_mom'])}。"
    ]
    cats = {r["code1"]: r for r in frame.of("category", month).iter_rows(named=True)}
    private = frame.of("private", month).to_dicts()
    if cats:
        ent = cats["1"]
        mid = ""
        if private and ent["stock"]:
            stock = private[0]["stock"]
            mid = f"（其中私营企业 {count(stock)} 户，占企业总数的 {share(stock, ent['stock'])}）"
        out.append(
            f"其中企业 {count(ent['stock'])} 户{mid}、个体工商户 {count(cats['2']['stock'])} 户、"
            f"农民专业合作社 {count(cats['3']['stock'])} 户。"
        )
    flows = (
        f"本月新设 {count(t['new'])} 户，{growth('同比', t['new_yoy'])}，{growth('环比', t['new_mom'])}；"
        f"注销 {count(t['cancelled'])} 户，吊销 {count(t['revoked'])} 户，净增 {count(t['net'])} 户"
    )
    if t["ratio"] is None:
        flows += "；本月无注销，新设注销比不适用。"
    else:
        flows += f"；新设注销比 {ratio(t['ratio'])}。"
    out.append(flows)
    out.append(
        f"全市实有注册资本 {capital(t['stock_capital'])} 亿元，{growth('同比', t['stock_capital_yoy'])}；"
        f"本月新设注册资本 {capital(t['new_capital'])} 亿元，{growth('同比', t['new_capital_yoy'])}"
        + (
            f"，其中私营企业 {capital(private[0]['new_capital'])} 亿元。"
            if private and private[0]["new_capital"]
            else "。"
        )
    )
    if t["new_ytd"] is not None:
        out.append(
            f"本年累计新设 {count(t['new_ytd'])} 户、注销 {count(t['cancelled_ytd'])} 户，"
            f"累计净增 {count(t['net_ytd'])} 户，累计新设注销比 {ratio(t['ratio_ytd'])}。"
        )
    counties = frame.of("county", month)
    top_new, top_stock = _top(counties, "new"), _top(counties, "stock")
    if top_new and top_stock:
        out.append(
            f"分县（市、区）看，本月新设最多的是{top_new['name1']}（{count(top_new['new'])} 户），"
            f"实有规模最大的是{top_stock['name1']}（{count(top_stock['stock'])} 户）。"
        )
    industries = frame.of("industry", month)
    top = _top(industries, "new")
    if top and t["new"]:
        out.append(
            f"分行业看，{top['name1']}新设 {count(top['new'])} 户，"
            f"占本月新设的 {share(top['new'], t['new'])}。"
        )
    return out
