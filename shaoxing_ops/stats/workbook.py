"""The month's statistics as an Excel workbook: a sheet per dimension, Chinese headers, frozen header rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from shaoxing_ops.files import make_private

from . import commentary
from .compute import StatsFrame
from .dimensions import BY_NAME, DIMENSIONS

# (column of the long table, header, kind)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("stock", "实有户数", "int"), ("stock_yoy", "实有同比", "pct"), ("stock_mom", "实有环比", "pct"),
    ("new", "新设户数", "int"), ("new_yoy", "新设同比", "pct"), ("new_mom", "新设环比", "pct"),
    ("new_ytd", "本年累计新设", "int"),
    ("cancelled", "注销户数", "int"), ("cancelled_yoy", "注销同比", "pct"), ("cancelled_mom", "注销环比", "pct"),
    ("cancelled_ytd", "本年累计注销", "int"),
    ("revoked", "吊销户数", "int"), ("revoked_yoy", "吊销同比", "pct"), ("revoked_ytd", "本年累计吊销", "int"),
    ("net", "净增户数", "int"), ("net_ytd", "本年累计净增", "int"),
    ("ratio", "新设注销比", "ratio"), ("ratio_ytd", "累计新设注销比", "ratio"),
)  # fmt: skip
SHEET_NAMES = {
    "county": "分县市区", "category": "分主体类别", "family": "分企业类型", "industry": "分行业门类",
    "sector": "分三次产业", "county_category": "县市区×主体类别", "county_sector": "县市区×三次产业",
    "county_industry": "县市区×行业门类",
}  # fmt: skip
LABELS = {
    "county": ("县（市、区）",), "category": ("主体类别",), "family": ("企业类型",), "industry": ("行业门类",),
    "sector": ("三次产业",), "county_category": ("县（市、区）", "主体类别"),
    "county_sector": ("县（市、区）", "三次产业"), "county_industry": ("县（市、区）", "行业门类"),
}  # fmt: skip


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        base = {"font_name": "等线", "font_size": 10.5, "border": 1}
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.note = book.add_format({"font_size": 10, "text_wrap": True, "valign": "top"})
        self.header = book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "align": "center",
                                       "valign": "vcenter", "text_wrap": True})  # fmt: skip
        self.label = book.add_format(base)
        self.int = book.add_format({**base, "num_format": "#,##0"})
        self.pct = book.add_format({**base, "num_format": "0.00%"})
        self.text = book.add_format({**base, "align": "right"})

    def write(self, sheet: Any, row: int, col: int, value: Any, kind: str) -> None:
        if value is None:
            sheet.write_string(row, col, "—", self.text)
        elif kind == "int":
            sheet.write_number(row, col, value, self.int)
        elif kind == "pct":
            sheet.write_number(row, col, value / 100, self.pct)
        elif kind == "ratio":
            sheet.write_string(row, col, commentary.ratio(value), self.text)
        else:
            sheet.write(row, col, value, self.label)


def _overview(book: xlsxwriter.Workbook, f: _Formats, frame: StatsFrame, month: str) -> None:
    sheet = book.add_worksheet("总览")
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 5, 14)
    sheet.write(0, 0, f"绍兴市市场主体发展情况（{commentary.month_title(month)}）", f.title)
    t = frame.total(month)
    header = ["指标", "本月", "同比", "环比", "本年累计"]
    for c, h in enumerate(header):
        sheet.write(2, c, h, f.header)
    lines = [
        ("实有", "stock", "int"), ("新设", "new", "int"), ("注销", "cancelled", "int"),
        ("吊销", "revoked", "int"), ("净增", "net", "int"),
    ]  # fmt: skip
    for r, (label, key, kind) in enumerate(lines, start=3):
        sheet.write(r, 0, label, f.label)
        f.write(sheet, r, 1, t[key], kind)
        f.write(sheet, r, 2, t.get(f"{key}_yoy"), "pct")
        f.write(sheet, r, 3, t.get(f"{key}_mom"), "pct")
        f.write(sheet, r, 4, t.get(f"{key}_ytd"), "int") if key != "stock" else f.write(sheet, r, 4, None, "")
    r = 3 + len(lines)
    sheet.write(r, 0, "新设注销比", f.label)
    f.write(sheet, r, 1, t["ratio"], "ratio")
    f.write(sheet, r, 2, None, "")
    f.write(sheet, r, 3, None, "")
    f.write(sheet, r, 4, t["ratio_ytd"], "ratio")
    sheet.freeze_panes(3, 1)
    r += 2
    sheet.write(r, 0, "分析", f.title)
    for i, text in enumerate(commentary.sentences(frame, month), start=r + 1):
        sheet.merge_range(i, 0, i, 5, text, f.note)
        sheet.set_row(i, 30)
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
        sheet.set_row(i, 30)


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
    rows = frame.of(name, month)
    for r, rec in enumerate(rows.iter_rows(named=True), start=2):
        sheet.write(r, 0, rec["name1"], f.label)
        if len(labels) > 1:
            sheet.write(r, 1, rec["name2"], f.label)
        for c, (key, _, kind) in enumerate(COLUMNS, start=len(labels)):
            f.write(sheet, r, c, rec[key], kind)
    sheet.freeze_panes(2, len(labels))
    sheet.autofilter(1, 0, 1 + rows.height, len(headers) - 1)


def _trend_sheet(book: xlsxwriter.Workbook, f: _Formats, frame: StatsFrame) -> None:
    sheet = book.add_worksheet("月度趋势")
    cols = [("month", "月份", ""), ("stock", "实有户数", "int"), ("stock_yoy", "实有同比", "pct"),
            ("new", "新设户数", "int"), ("new_yoy", "新设同比", "pct"), ("new_mom", "新设环比", "pct"),
            ("cancelled", "注销户数", "int"), ("revoked", "吊销户数", "int"), ("net", "净增户数", "int"),
            ("ratio", "新设注销比", "ratio")]  # fmt: skip
    for c, (_, h, _) in enumerate(cols):
        sheet.write(0, c, h, f.header)
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
            if d.name != "total":
                _dimension_sheet(book, f, frame, month, d.name)
        _trend_sheet(book, f, frame)
    finally:
        book.close()
    return make_private(path)
