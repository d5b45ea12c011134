"""The statistics' dimensions as data: their members, codes and Chinese names, in report order."""

from __future__ import annotations

from dataclasses import dataclass

from shaoxing_ops.domain.geography import BY_CODE, DISTRICTS, LEGACY_CODES
from shaoxing_ops.domain.industry import SECTIONS, SECTORS
from shaoxing_ops.domain.mapping import COOPERATIVE_TYPES

UNKNOWN = "未知"
OTHER_COUNTY = "999999"  # a registration authority outside Shaoxing's units: kept, shown as 其他

COUNTIES: dict[str, str] = {d.code: d.name for d in DISTRICTS[1:]} | {DISTRICTS[0].code: DISTRICTS[0].name}
CATEGORIES: dict[str, str] = {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}
FAMILIES: dict[str, str] = {
    "1000": "内资公司",
    "2000": "内资分公司",
    "3000": "内资企业法人",
    "4000": "内资非法人企业、非公司私营企业",
    "5000": "外商投资企业",
    "6000": "台、港、澳投资企业",
    "7000": "外国（地区）企业",
    "9100": "农民专业合作社",
    "9600": "个体工商户",
    "0000": "其他类型",
}
INDUSTRIES: dict[str, str] = {letter: title for letter, (_, _, title) in SECTIONS.items()}
SECTOR_OF: dict[str, str] = {
    letter: "1" if letter == "A" else "2" if letter in "BCDE" else "3" for letter in SECTIONS
}
SECTOR_NAMES: dict[str, str] = {"1": SECTORS["primary"], "2": SECTORS["secondary"], "3": SECTORS["tertiary"]}


def county_of(regorg: str | None) -> str:
    """The county-level unit of a registration authority; 330621 (former 绍兴县) counts as 柯桥区."""
    code = (regorg or "")[:6]
    code = LEGACY_CODES.get(code, code)
    return code if code in BY_CODE else OTHER_COUNTY


def category_of(source: str, enttype: str | None, individual_codes: tuple[str, ...]) -> str:
    if source == "pb" or (enttype or "") in individual_codes:
        return "2"
    return "3" if (enttype or "") in COOPERATIVE_TYPES else "1"


def family_of(category: str, enttype: str | None, individual_code: str) -> str:
    if category == "2":
        return individual_code
    if category == "3":
        return "9100"
    first = (enttype or "")[:1]
    return f"{first}000" if first in "1234567" and first else "0000"


def industry_of(industryphy: str | None) -> str:
    letter = (industryphy or "").strip().upper()
    return letter if letter in INDUSTRIES else UNKNOWN


@dataclass(frozen=True)
class Dimension:
    """One way of cutting the figures; ``columns`` are the cube columns it groups by (none: the city total)."""

    name: str
    title: str
    columns: tuple[str, ...]


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("total", "全市合计", ()),
    Dimension("county", "分县（市、区）", ("county",)),
    Dimension("category", "分主体类别", ("category",)),
    Dimension("family", "分企业类型", ("family",)),
    Dimension("industry", "分行业门类", ("industry",)),
    Dimension("sector", "分三次产业", ("sector",)),
    Dimension("county_category", "县（市、区）× 主体类别", ("county", "category")),
    Dimension("county_sector", "县（市、区）× 三次产业", ("county", "sector")),
    Dimension("county_industry", "县（市、区）× 行业门类", ("county", "industry")),
)
BY_NAME = {d.name: d for d in DIMENSIONS}


def members(column: str, individual_code: str) -> dict[str, str]:
    """Every member a report shows for a column, even with no activity, in report order."""
    match column:
        case "county":
            return dict(COUNTIES)
        case "category":
            return dict(CATEGORIES)
        case "family":
            names = dict(FAMILIES)
            names[individual_code] = names.pop("9600")
            return {k: v for k, v in names.items() if k != "0000"}
        case "industry":
            return dict(INDUSTRIES)
        case "sector":
            return dict(SECTOR_NAMES)
    raise KeyError(column)


def member_name(column: str, code: str, individual_code: str) -> str:
    if code in (OTHER_COUNTY, UNKNOWN):
        return "其他" if column == "county" else UNKNOWN
    if column == "family" and code == "0000":
        return FAMILIES["0000"]
    return members(column, individual_code).get(code, code)
