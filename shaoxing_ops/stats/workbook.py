"""The month's statistics as an Excel workbook: a sheet per dimension, Chinese headers, frozen header rows.

私营企业 has no sheet of its own: it is a part of 企业, so it shows as "其中：私营企业" right under 企业 (by type,
and by county in the county × type sheet), the way statistical tables print a 其中 row, never as a further
member that a column sum would count twice over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from shaoxing_ops.files import make_private

from . import commentary
from .compute import StatsFrame
from .dimensions import BY_NAME, CNY, CURRENCY_NAMES, DIMENSIONS

# (column of the long table, header, kind)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("stock", "实有户数", "int"),
    ("stock_yoy", "实有同比", "pct"),
    ("stock_mom", "实有环比", "pct"),
    ("new", "新设户数", "int"),
    ("new_yoy", "新设同比", "pct"),
    ("new_mom", "新设环比", "pct"),
    ("new_ytd", "本年累计新设", "int"),
    ("cancelled", "注销户数", "int"),
    ("cancelled_yoy", "注销同比", "pct"),
    ("cancelled_mom", "注销环比", "pct"),
    ("cancelled_ytd", "本年累计注销", "int"),
    ("revoked", "吊销户数", "int"),
    ("revoked_yoy", "吊销同比", "pct"),
    ("revoked_ytd", "本年累计吊销", "int"),
    ("net", "净增户数", "int"),
    ("net_ytd", "本年累计净增", "int"),
    ("ratio", "新设注销比", "ratio"),
    ("ratio_ytd", "累计新设注销比", "ratio"),
    ("new_capital", "新设注册资本（亿元）", "cap"),
    ("new_capital_yoy", "新设注册资本同比", "pct"),
    ("new_capital_ytd", "本年累计新设注册资本（亿元）", "cap"),
    ("stock_capital", "实有注册资本（亿元）", "cap"),
    ("stock_capital_yoy", "实有注册资本同比", "pct"),
)
SHEET_NAMES = {
    "county": "分县市区",
    "category": "分主体类别",
    "family": "分企业类型",
    "industry": "分行业门类",
    "sector": "分三次产业",
    "county_category": "县市区×主体类别",
    "county_sector": "县市区×三次产业",
    "county_industry": "县市区×行业门类",
}
LABELS = {
    "county": ("县（市、区）",),
    "category": ("主体类别",),
    "family": ("企业类型",),
    "industry": ("行业门类",),
    "sector": ("三次产业",),
    "county_category": ("县（市、区）", "主体类别"),
    "county_sector": ("县（市、区）", "三次产业"),
    "county_industry": ("县（市、区）", "行业门类"),
}


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        base = {"font_name": "等线", "font_size": 10.5, "border": 1}
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.note = book.add_format({"font_size": 10, "text_wrap": True, "valign": "top"})
        self.header = book.add_format(
            {
                **base,
                "bold": True,
                "bg_color": "#DDEBF7",
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.label = book.add_format(base)
        self.part = book.add_format({**base, "indent": 1, "italic": True})  # 其中：私营企业
        self.int = book.add_format({**base, "num_format": "#,##0"})
        self.pct = book.add_format({**base, "num_format": "0.0%"})  # one decimal, as everywhere
        self.cap = book.add_format({**base, "num_format": "#,##0.00"})  # 亿元, two decimals
        self.text = book.add_format({**base, "align": "right"})

    def write(self, sheet: Any, row: int, col: int, value: Any, kind: str) -> None:
        if value is None:
            sheet.write_string(row, col, "—", self.text)
        elif kind == "int":
            sheet.write_number(row, col, value, self.int)
        elif kind == "pct":
            sheet.write_number(row, col, value / 100, self.pct)
        elif kind == "cap":
            sheet.write_number(row, col, value, self.cap)
        elif kind == "ratio":
            sheet.write_string(row, col, commentary.ratio(value), self.text)
        else:
            sheet.write(row, col, value, self.label)


def _height(text: str) -> float:
    """Row height (pt) for a wrapped note across the overview's six merged columns: about 44 Chinese characters a
    line, 15 pt each, never below the two lines the row had."""
    return 15.0 * max(2, -(-len(text) // 44))


def _overview(book: xlsxwriter.Workbook, f: _Formats, frame: StatsFrame, month: str) -> None:
    sheet = book.add_worksheet("总览")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 5, 14)
    sheet.write(0, 0, f"绍兴市市场主体发展情况（{commentary.month_title(month)}）", f.title)
    t = frame.total(month)
    private = next(iter(frame.of("private", month).to_dicts()), None)
    header = ["指标", "本月", "同比", "环比", "本年累计"]
    for c, h in enumerate(header):
        sheet.write(2, c, h, f.header)
    lines: list[tuple[str, dict[str, Any] | None, str, str]] = [
        ("实有（户）", t, "stock", "int"),
        ("其中：私营企业实有（户）", private, "stock", "int"),
        ("新设（户）", t, "new", "int"),
        ("其中：私营企业新设（户）", private, "new", "int"),
        ("注销（户）", t, "cancelled", "int"),
        ("吊销（户）", t, "revoked", "int"),
        ("净增（户）", t, "net", "int"),
        ("实有注册资本（亿元）", t, "stock_capital", "cap"),
        ("新设注册资本（亿元）", t, "new_capital", "cap"),
        ("其中：私营企业新设注册资本（亿元）", private, "new_capital", "cap"),
    ]
    r = 3
    for label, rec, key, kind in lines:
        if rec is None:
            continue
        sheet.write(r, 0, label, f.part if label.startswith("其中") else f.label)
        f.write(sheet, r, 1, rec[key], kind)
        f.write(sheet, r, 2, rec.get(f"{key}_yoy"), "pct")
        f.write(sheet, r, 3, rec.get(f"{key}_mom"), "pct")
        f.write(sheet, r, 4, rec.get(f"{key}_ytd"), kind)
        r += 1
    sheet.write(r, 0, "新设注销比", f.label)
    f.write(sheet, r, 1, t["ratio"], "ratio")
    f.write(sheet, r, 2, None, "")
    f.write(sheet, r, 3, None, "")
    f.write(sheet, r, 4, t["ratio_ytd"], "ratio")
    if private is not None:
        r += 1
        enterprise = frame.of("category", month).filter(pl.col("code1") == "1")["stock"].sum()
        sheet.write(r, 0, "私营企业占企业总数比重", f.label)
        f.write(sheet, r, 1, private["stock"] / enterprise * 100 if enterprise else None, "pct")
        for c in (2, 3, 4):
            f.write(sheet, r, c, None, "")
    sheet.freeze_panes(3, 1)
    r += 2
    sheet.write(r, 0, "分析", f.title)
    for i, text in enumerate(commentary.sentences(frame, month), start=r + 1):
        sheet.merge_range(i, 0, i, 5, text, f.note)
        sheet.set_row(i, _height(text))
    r = i + 2
    s = frame.settings
    notes = [
        "口径说明：实有＝成立日期不晚于月末、且月末前未注销"
        + (
            "（吊销未注销的仍计入实有）"
            if s.revoked_in_stock
            else "、未吊销的市场主体（吊销未注销的不计入实有）"
        ),
        "新设按成立日期、注销按注销日期、吊销按吊销日期归月；净增＝新设－注销；新设注销比＝新设÷注销，无注销时不计。",
        *capital_notes(frame),
        f"统计起始月份 {s.since}：此前月份无同比、首月无环比；个体工商户类型代码按 {s.individual_code} 归类；"
        "330621（原绍兴县）登记机关计入柯桥区。",
    ]
    if frame.notes.get("unmatched_cancellations") or frame.notes.get("unmatched_revocations"):
        notes.append(
            f"另有 {frame.notes.get('unmatched_cancellations', 0)} 条注销、{frame.notes.get('unmatched_revocations', 0)} "
            "条吊销记录在主体表中找不到对应主体，未计入上述分组，请核查。"
        )
    for i, text in enumerate(notes, start=r):
        sheet.merge_range(i, 0, i, 5, text, f.note)
        sheet.set_row(i, _height(text))


def private_note(frame: StatsFrame) -> str:
    """How 私营企业 is counted, for the notes of the workbook and the report."""
    codes = "、".join(sorted(frame.settings.private_types))
    return (
        "私营企业：自然人投资设立或控股的企业，按企业类型代码认定（"
        + codes
        + "，即有限责任公司、股份有限公司"
        "（自然人投资或控股、自然人独资）、合伙企业和个人独资企业；可由 SXOPS_STATS_PRIVATE_TYPES 配置），"
        "是企业的一部分，以“其中：私营企业”列示，不另计入合计。"
    )


def capital_notes(frame: StatsFrame) -> list[str]:
    """How 注册资本 is counted and converted, with the entities whose capital was converted or left out."""
    rates = "、".join(
        f"1 {CURRENCY_NAMES.get(code, code)}＝{rate:g} 元"
        for code, rate in frame.settings.fx_rates
        if code != CNY
    )
    out = [
        private_note(frame),
        "注册资本以亿元计（源数据为万元，1 亿元＝10,000 万元），保留两位小数：新设注册资本为本月新设企业的注册资本，"
        "实有注册资本为月末实有企业的注册资本，均含农民专业合作社（成员出资总额），个体工商户登记资金数额而无注册资本，"
        "不计入（以“—”表示）。按主体表中现登记的注册资本计：增资、减资后的数额也用于此前各月，不还原变更前的数额。",
        f"外币注册资本按固定汇率折算为人民币：{rates}（SXOPS_STATS_FX_RATES 可配置），币种为空的视为人民币。",
    ]
    foreign, left = (
        frame.notes.get("foreign_currency_entities", 0),
        frame.notes.get("unconverted_capital_entities", 0),
    )
    if foreign or left:
        out.append(
            f"截至统计期末，以外币登记注册资本并已折算的企业 {foreign:,} 户（含已注销、吊销）"
            + (f"；另有 {left:,} 户的币种无折算汇率，其注册资本未计入，请核查。" if left else "。")
        )
    return out


def _dimension_sheet(
    book: xlsxwriter.Workbook, f: _Formats, frame: StatsFrame, month: str, name: str
) -> None:
    sheet = book.add_worksheet(SHEET_NAMES[name])
    labels = LABELS[name]
    sheet.write(0, 0, f"{BY_NAME[name].title}（{commentary.month_title(month)}）", f.title)
    headers = [*labels, *(h for _, h, _ in COLUMNS)]
    for c, h in enumerate(headers):
        sheet.write(1, c, h, f.header)
    sheet.set_row(1, 30)
    sheet.set_column(0, len(labels) - 1, 18)
    sheet.set_column(len(labels), len(headers) - 1, 11)
    rows = frame.with_parts(name, month)
    for r, rec in enumerate(rows, start=2):
        label = f.part if rec["part"] else f.label
        sheet.write(r, 0, rec["name1"], f.label if len(labels) > 1 else label)
        if len(labels) > 1:
            sheet.write(r, 1, rec["name2"], label)
        for c, (key, _, kind) in enumerate(COLUMNS, start=len(labels)):
            f.write(sheet, r, c, rec[key], kind)
    sheet.freeze_panes(2, len(labels))
    sheet.autofilter(1, 0, 1 + len(rows), len(headers) - 1)


def _trend_sheet(book: xlsxwriter.Workbook, f: _Formats, frame: StatsFrame) -> None:
    sheet = book.add_worksheet("月度趋势")
    cols = [
        ("month", "月份", ""),
        ("stock", "实有户数", "int"),
        ("stock_yoy", "实有同比", "pct"),
        ("new", "新设户数", "int"),
        ("new_yoy", "新设同比", "pct"),
        ("new_mom", "新设环比", "pct"),
        ("cancelled", "注销户数", "int"),
        ("revoked", "吊销户数", "int"),
        ("net", "净增户数", "int"),
        ("ratio", "新设注销比", "ratio"),
        ("new_capital", "新设注册资本（亿元）", "cap"),
        ("stock_capital", "实有注册资本（亿元）", "cap"),
    ]
    for c, (_, h, _) in enumerate(cols):
        sheet.write(0, c, h, f.header)
    sheet.set_row(0, 30)
    sheet.set_column(0, len(cols) - 1, 12)
    totals = frame.long.filter(pl.col("dimension") == "total").sort("month")
    for r, rec in enumerate(totals.iter_rows(named=True), start=1):
        for c, (key, _, kind) in enumerate(cols):
            f.write(sheet, r, c, rec[key], kind)
    sheet.freeze_panes(1, 1)


def write_workbook(frame: StatsFrame, month: str, path: Path) -> Path:
    """Write ``path`` (.xlsx) for ``month``; the frame should also hold the months before it for the trend."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    try:
        f = _Formats(book)
        _overview(book, f, frame, month)
        for d in DIMENSIONS:
            if d.name != "total" and d.part_of is None:  # 其中 rows sit in their whole's sheet
                _dimension_sheet(book, f, frame, month, d.name)
        _trend_sheet(book, f, frame)
    finally:
        book.close()
    return make_private(path)
