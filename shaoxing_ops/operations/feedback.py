"""The problem feedback register (问题反馈登记): input checks, the readable list, period summaries.

The store enforces the rules (channel, required fields, one resolution per item); this module lets the CLI
accept what operators actually type ("qq", "钉钉") and prints items with phone numbers masked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from shaoxing_ops.domain.identifiers import mask_phone
from shaoxing_ops.exchange.opsdb import FEEDBACK_CHANNELS, FeedbackError, OpsStore

from .text import clip, table

KNOWN_SYSTEMS = ("执法在线", "全程电子化登记", "食安", "数据交换平台")  # suggestions; any system is accepted
STATUS_LABELS = {"open": "待处理", "resolved": "已解决"}
CHANNEL_ALIASES = {
    "qq": "QQ",
    "钉钉": "浙政钉",
    "电话": "电话",
    "手机": "电话",
    "wechat": "微信",
    "微信": "微信",
}
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


def channel(text: str) -> str:
    """The register's spelling of a channel, or an error listing the allowed ones."""
    value = (text or "").strip()
    value = CHANNEL_ALIASES.get(value.lower(), value)
    if value not in FEEDBACK_CHANNELS:
        raise FeedbackError(f"反馈渠道 {text!r} 无效，可选: {'、'.join(FEEDBACK_CHANNELS)}")
    return value


def contact(text: str | None) -> str | None:
    """A phone number as digits (mobile 13812345678, landline 0575-88123456), or None when not given."""
    value = (text or "").strip()
    if not value:
        return None
    if not PHONE.match(value):
        raise FeedbackError(f"联系电话 {text!r} 格式不对，应为手机号或带区号的座机号，如 0575-88123456")
    return value.replace(" ", "")


def add(store: OpsStore, *, system: str, channel_text: str, reporter: str, description: str,
        contact_text: str | None = None, at: dt.datetime | None = None) -> int:  # fmt: skip
    return store.add_feedback(system=system, channel=channel(channel_text), reporter=reporter,
                              description=description, contact=contact(contact_text), at=at)  # fmt: skip


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def format_items(items: list[dict[str, Any]], description_width: int = 40) -> list[str]:
    """A readable table of feedback items; phone numbers masked (the list is shown to people)."""
    if not items:
        return ["（无问题反馈）"]
    rows = [
        [str(i["id"]), STATUS_LABELS.get(i["status"], i["status"]), i["system"], i["channel"], i["reporter"],
         mask_phone(i["contact"]), _when(i["opened_at"]), clip(i["description"], description_width),
         _when(i["resolved_at"]), i["resolved_by"] or "", clip(i["resolution"] or "", description_width)]
        for i in items
    ]  # fmt: skip
    header = [
        "编号",
        "状态",
        "系统",
        "渠道",
        "反馈人",
        "联系电话",
        "登记时间",
        "问题描述",
        "解决时间",
        "处理人",
        "处理结果",
    ]
    return table(header, rows, right=[0])


def summary(store: OpsStore, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """A period ``[start, end)`` for a report: opened, resolved, still open at the end, by system and channel."""
    opened = store.feedback_items(opened_since=start, opened_until=end)
    resolved = store.feedback_resolved_between(start, end)
    backlog = store.feedback_open_at(end)
    hours = [(i["resolved_at"] - i["opened_at"]).total_seconds() / 3600 for i in resolved]
    return {
        "opened": len(opened),
        "resolved": len(resolved),
        "open_at_end": len(backlog),
        "by_system": dict(Counter(i["system"] for i in opened).most_common()),
        "by_channel": dict(Counter(i["channel"] for i in opened).most_common()),
        "mean_hours_to_resolve": round(sum(hours) / len(hours), 1) if hours else None,
        "oldest_open": min((i["opened_at"] for i in backlog), default=None),
    }
