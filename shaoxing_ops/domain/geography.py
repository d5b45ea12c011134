"""Shaoxing's county-level units, and how registration codes map onto them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    code: str
    name: str
    share: float  # rough share of the city's market entities, for sizing the simulator only

    @property
    def authority(self) -> str:
        return f"{'绍兴市' if self.code == CITY_CODE else self.name}市场监督管理局"


CITY_CODE = "330600"

DISTRICTS: tuple[District, ...] = (
    District("330600", "市本级", 0.00),
    District("330602", "越城区", 0.18),
    District("330603", "柯桥区", 0.24),
    District("330604", "上虞区", 0.15),
    District("330624", "新昌县", 0.07),
    District("330681", "诸暨市", 0.24),
    District("330683", "嵊州市", 0.12),
)
BY_CODE = {d.code: d for d in DISTRICTS}

# Codes that still occur in old records and what they mean today.
LEGACY_CODES = {"330621": "330603"}  # 绍兴县 became 柯桥区 in 2013

STREETS = {
    "330602": [
        "府山街道",
        "塔山街道",
        "北海街道",
        "城南街道",
        "稽山街道",
        "东湖街道",
        "皋埠街道",
        "陶堰街道",
    ],
    "330603": [
        "柯桥街道",
        "华舍街道",
        "齐贤街道",
        "柯岩街道",
        "湖塘街道",
        "钱清街道",
        "杨汛桥街道",
        "安昌街道",
    ],
    "330604": ["百官街道", "曹娥街道", "东关街道", "道墟街道", "崧厦街道", "小越街道", "丰惠镇", "章镇镇"],
    "330624": ["南明街道", "七星街道", "羽林街道", "沃洲镇", "儒岙镇", "澄潭街道", "梅渚镇", "大市聚镇"],
    "330681": ["暨阳街道", "浣东街道", "陶朱街道", "店口镇", "大唐街道", "枫桥镇", "山下湖镇", "次坞镇"],
    "330683": ["三江街道", "剡湖街道", "鹿山街道", "浦口街道", "甘霖镇", "长乐镇", "崇仁镇", "黄泽镇"],
    "330600": ["府山街道", "柯桥街道", "百官街道"],
}
ROADS = [
    "人民路",
    "解放路",
    "中兴路",
    "胜利路",
    "环城西路",
    "笛扬路",
    "金柯桥大道",
    "群贤路",
    "凤林路",
    "望江路",
    "鲁迅路",
    "延安路",
    "城南大道",
    "迪荡路",
    "世纪街",
    "东港大道",
    "江东路",
    "越秀路",
    "艇湖路",
    "望花路",
    "浣纱路",
    "暨东路",
    "鼓山路",
    "大佛路",
]


def canonical_division(code: str | None) -> str | None:
    """The county-level unit a 6-digit division code belongs to today (330621 counts as 柯桥区)."""
    if not code:
        return None
    code = code[:6]
    code = LEGACY_CODES.get(code, code)
    return code if code in BY_CODE else None


def district_name(code: str | None) -> str:
    canon = canonical_division(code)
    return BY_CODE[canon].name if canon else "其他"
