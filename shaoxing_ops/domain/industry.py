"""GB/T 4754-2017 industry sections and the three sectors."""

from __future__ import annotations

# section letter -> (first division, last division, title)
SECTIONS: dict[str, tuple[int, int, str]] = {
    "A": (1, 5, "农、林、牧、渔业"),
    "B": (6, 12, "采矿业"),
    "C": (13, 43, "制造业"),
    "D": (44, 46, "电力、热力、燃气及水生产和供应业"),
    "E": (47, 50, "建筑业"),
    "F": (51, 52, "批发和零售业"),
    "G": (53, 60, "交通运输、仓储和邮政业"),
    "H": (61, 62, "住宿和餐饮业"),
    "I": (63, 65, "信息传输、软件和信息技术服务业"),
    "J": (66, 69, "金融业"),
    "K": (70, 70, "房地产业"),
    "L": (71, 72, "租赁和商务服务业"),
    "M": (73, 75, "科学研究和技术服务业"),
    "N": (76, 79, "水利、环境和公共设施管理业"),
    "O": (80, 82, "居民服务、修理和其他服务业"),
    "P": (83, 83, "教育"),
    "Q": (84, 85, "卫生和社会工作"),
    "R": (86, 90, "文化、体育和娱乐业"),
    "S": (91, 96, "公共管理、社会保障和社会组织"),
    "T": (97, 97, "国际组织"),
}
SECTORS = {"primary": "第一产业", "secondary": "第二产业", "tertiary": "第三产业"}


def section_of_class(industryco: str | None) -> str | None:
    """The section of a 4-digit class code (2011 and 2017 codes share the division ranges used here)."""
    if not industryco or len(industryco) < 2 or not industryco[:2].isdigit():
        return None
    division = int(industryco[:2])
    for letter, (first, last, _) in SECTIONS.items():
        if first <= division <= last:
            return letter
    return None


def sector_of_section(section: str | None) -> str | None:
    if not section or section not in SECTIONS:
        return None
    if section == "A":
        return "primary"
    if section in "BCDE":
        return "secondary"
    return "tertiary"


# A few real class codes per section, Shaoxing-flavoured (textiles and dyeing weigh heavily in C).
CLASS_CODES: dict[str, tuple[str, ...]] = {
    "A": ("0141", "0151", "0412", "0169"),
    "B": ("1011", "1019"),
    "C": ("1713", "1752", "1762", "1711", "1821", "2829", "3411", "3812", "3484", "2929", "1512"),
    "D": ("4430", "4500", "4610"),
    "E": ("4811", "4891", "5011", "4999"),
    "F": ("5132", "5137", "5161", "5211", "5212", "5223", "5292", "5174", "5181"),
    "G": ("5430", "5821", "5990", "6010"),
    "H": ("6110", "6210", "6220", "6231", "6291"),
    "I": ("6513", "6421", "6531", "6450"),
    "J": ("6720", "6631", "6910"),
    "K": ("7010", "7020", "7040"),
    "L": ("7212", "7241", "7251", "7111"),
    "M": ("7320", "7452", "7519", "7484"),
    "N": ("7721", "7851", "7862"),
    "O": ("8010", "8051", "8111", "8070"),
    "P": ("8391", "8399"),
    "Q": ("8421", "8499"),
    "R": ("8610", "8770", "8890"),
    "S": ("9521", "9529"),
    "T": ("9700",),
}
