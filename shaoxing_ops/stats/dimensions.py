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

# 私营企业 (domain.md, "Statistics: categories the MSA headlines"): enterprises set up or controlled by natural
# persons, i.e. 有限责任公司/股份有限公司 "(自然人投资或控股)" and "(自然人独资)", 个人独资企业 and 合伙企业 of
# natural persons. The type code is all a register row says about its owners, so partnerships count whole (the
# type code does not say who the partners are) and 1150 一人有限责任公司 does not (its one owner may be a legal
# person: only 1151 says 自然人独资). Legacy 私营 codes of older systems are added through the setting
# (SXOPS_STATS_PRIVATE_TYPES); the mapping is data, not code, because domain.md marks it unsettled.
PRIVATE_TYPES: dict[str, str] = {
    "1130": "有限责任公司（自然人投资或控股）",
    "1151": "有限责任公司（自然人独资）",
    "1212": "股份有限公司（上市、自然人投资或控股）",
    "1222": "股份有限公司（非上市、自然人投资或控股）",
    "4531": "普通合伙企业",
    "4532": "特殊普通合伙企业",
    "4533": "有限合伙企业",
    "4540": "个人独资企业",
}
PRIVATE = "1"  # the member of the ``private`` cube column that is 私营企业 ("0": every other entity)
PRIVATE_NAME = "私营企业"

# Registered capital in another currency is converted to 人民币 at these fixed rates (元 per unit; approximate
# 2025 central parity rates, SXOPS_STATS_FX_RATES replaces them), so that 注册资本 is one sum; capital in a
# currency without a rate is left out of the sums and counted in the notes. An empty currency is 人民币.
CNY = "156"
FX_RATES: dict[str, float] = {CNY: 1.0, "840": 7.10, "344": 0.91, "392": 0.048, "826": 9.50, "978": 8.20}
CURRENCY_NAMES: dict[str, str] = {
    CNY: "人民币",
    "840": "美元",
    "344": "港元",
    "392": "日元",
    "826": "英镑",
    "978": "欧元",
}
WAN_PER_YI = 10_000  # regcap is in 万元; the statistics report 亿元


def county_of(regorg: str | None) -> str:
    """The county-level unit of a registration authority; 330621 (former 绍兴县) counts as 柯桥区."""
    code = (regorg or "")[:6]
    code = LEGACY_CODES.get(code, code)
    return code if code in BY_CODE else OTHER_COUNTY


def category_of(source: str, enttype: str | None, individual_codes: tuple[str, ...]) -> str:
    if source == "pb" or (enttype or "") in individual_codes:
        return "2"
    return "3" if (enttype or "") in COOPERATIVE_TYPES else "1"


def is_private(category: str, enttype: str | None, private_types: frozenset[str]) -> bool:
    """私营企业 is a part of 企业 (category 1), never of 个体工商户 or 农民专业合作社, whatever the setting holds."""
    return category == "1" and (enttype or "") in private_types


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
    """One way of cutting the figures; ``columns`` are the cube columns it groups by (none: the city total).

    ``where`` keeps only the cube rows whose column has the value; such a dimension is a part (其中) of another
    dimension's member, ``part_of``, rather than a partition of the city, so it stays out of the sums that must
    give the total (``parts_add_up``) and is shown under that member."""

    name: str
    title: str
    columns: tuple[str, ...]
    where: tuple[str, str] | None = None  # (cube column, value)
    part_of: tuple[str, str] | None = None  # (dimension, member code) whose part it is


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
    Dimension("private", "其中：私营企业", ("private",), ("private", PRIVATE), ("category", "1")),
    Dimension(
        "county_private",
        "县（市、区）× 私营企业",
        ("county", "private"),
        ("private", PRIVATE),
        ("county_category", "1"),
    ),
)
BY_NAME = {d.name: d for d in DIMENSIONS}
ADDITIVE = tuple(d.name for d in DIMENSIONS if d.columns and d.part_of is None)  # each adds up to the total


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
        case "private":
            return {PRIVATE: PRIVATE_NAME}
    raise KeyError(column)


def member_name(column: str, code: str, individual_code: str) -> str:
    if code in (OTHER_COUNTY, UNKNOWN):
        return "其他" if column == "county" else UNKNOWN
    if column == "family" and code == "0000":
        return FAMILIES["0000"]
    return members(column, individual_code).get(code, code)
