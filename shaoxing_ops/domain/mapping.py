"""Evaluate the bureau mappings of the catalog on one source row: pure functions, no database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shaoxing_ops.catalog import Catalog, Column, Expr, MapPart

from .geography import canonical_division

COOPERATIVE_TYPES = {"9100", "9200"}
INDIVIDUAL_TYPES = {"9600", "9999"}  # 个体工商户 in the two coding schemes the province uses (domain.md)


class Unmappable(ValueError):
    """A source row that cannot become a bureau row; it is quarantined with this reason, never dropped."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column, self.reason = column, reason


def category(enttype: str | None) -> str | None:
    """主体类别 of the bureau: 1 企业, 2 个体工商户, 3 农民专业合作社."""
    if not enttype:
        return None
    if enttype in COOPERATIVE_TYPES:
        return "3"
    if enttype in INDIVIDUAL_TYPES:
        return "2"
    return "1"


def evaluate(
    expr: Expr, row: Mapping[str, Any], joined: Mapping[str, Any] | None, catalog: Catalog, column: str
) -> Any:
    match expr.kind:
        case "col":
            return row.get(expr.value)
        case "join":
            return joined.get(expr.value) if joined else None
        case "lit":
            return expr.value
    args = [evaluate(a, row, joined, catalog, column) for a in expr.args]
    match expr.value:
        case "first":
            return next((a for a in args if a not in (None, "")), None)
        case "district":
            return canonical_division(args[0])
        case "category":
            return category(args[0])
        case "label":
            return None if args[0] is None else catalog.codesets[expr.name or ""].codes.get(str(args[0]))
        case "translate":
            if args[0] is None:
                return None
            translation = catalog.translations[expr.name or ""]
            if str(args[0]) not in translation.codes:
                raise Unmappable(column, f"代码 {args[0]!r} 在“{translation.title}”中没有对应")
            return translation.codes[str(args[0])]
    raise ValueError(f"unknown function {expr.value!r}")  # the catalog validated it


def passes(part: MapPart, row: Mapping[str, Any]) -> bool:
    return all(str(row.get(col)) in values for col, values in part.where)


def map_row(
    part: MapPart,
    row: Mapping[str, Any],
    joined: Mapping[str, Any] | None,
    catalog: Catalog,
    columns: tuple[Column, ...],
) -> dict[str, Any]:
    """The bureau row of one source row (platform columns excluded), or ``Unmappable``."""
    if part.join_table and joined is None:
        raise Unmappable(part.join_on[0][0], f"关联的 {part.join_table} 记录不存在")
    out = {col: evaluate(expr, row, joined, catalog, col) for col, expr in part.columns}
    for c in columns:
        if c.name.startswith("dsc_biz_"):
            continue
        if not c.nullable and out.get(c.name) in (None, ""):
            raise Unmappable(c.name, "必填项为空")
    return out
