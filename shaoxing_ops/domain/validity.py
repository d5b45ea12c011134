"""Row-level validity rules: what the `validity` check counts and the quarantine lists.

A rule never changes a row: invalid rows are still delivered as they came, and reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shaoxing_ops.catalog import Catalog, Column, Table

from .identifiers import is_valid_credit_code, is_valid_id_number

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2099, 12, 31)
# Dates that record something that has happened: they cannot lie after the change that reports them.
EVENT_DATES = {"estdate", "apprdate", "candate", "revdate", "altdate", "condate_paid", "pendecissdate"}
ID_CERTYPES = {None, "", "10"}  # a cerno column holds a resident ID only when the certificate type says so


@dataclass(frozen=True)
class Violation:
    column: str
    reason: str  # in Chinese: it is read by the operations engineer


def is_valid_phone(value: object) -> bool:
    return isinstance(value, str) and bool(PHONE.match(value))


def _date_of(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


class RowRules:
    """The rules of one table, prepared once and applied to many rows."""

    def __init__(self, table: Table, catalog: Catalog) -> None:
        self.table = table
        self.codes = {c.name: set(catalog.codesets[c.codeset].codes) for c in table.columns if c.codeset}
        self.columns: list[Column] = [
            c for c in table.business_columns if c.check or c.codeset or c.kind == "date"
        ]
        self.has_certype = "certype" in table.column_names

    def violations(self, row: Mapping[Any, Any]) -> list[Violation]:
        out: list[Violation] = []
        changed = _date_of(row.get("dsc_biz_timestamp"))
        for col in self.columns:
            value = row.get(col.name)
            if value is None or value == "":
                if not col.nullable:
                    out.append(Violation(col.name, "必填项为空"))
                continue
            if col.check == "credit_code" and not is_valid_credit_code(value):
                out.append(Violation(col.name, f"统一社会信用代码校验不通过：{value}"))
            elif col.check == "id_number" and (not self.has_certype or row.get("certype") in ID_CERTYPES):
                if not is_valid_id_number(value):
                    out.append(Violation(col.name, "身份证号码校验不通过"))
            elif col.check == "phone" and not is_valid_phone(value):
                out.append(Violation(col.name, "联系电话格式不正确"))
            if col.codeset and str(value) not in self.codes[col.name]:
                out.append(Violation(col.name, f"代码 {value!r} 不在代码集 {col.codeset} 中"))
            if col.kind == "date":
                day = _date_of(value)
                if day is None or not EARLIEST <= day <= LATEST:
                    out.append(Violation(col.name, f"日期不合理：{value}"))
                elif col.name in EVENT_DATES and changed and day > changed + dt.timedelta(days=1):
                    out.append(Violation(col.name, f"日期晚于变更时间：{value}"))
        if row.get("dsc_biz_operation") not in ("I", "U", "D"):
            out.append(
                Violation("dsc_biz_operation", f"操作类型 {row.get('dsc_biz_operation')!r} 不是 I/U/D")
            )
        return out
