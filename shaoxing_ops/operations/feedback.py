"""The problem feedback register (问题反馈登记): input checks, the readable list, period summaries, routing.

The store enforces the rules (channel, type, severity, required fields, one resolution per item); this module
lets the CLI accept what operators actually type ("qq", "钉钉", "bug") and prints items with phone numbers
masked. Routing follows the contract: every change request (需求变更) is submitted to the city bureau (市局);
day-to-day fixes are the province's (省局) to make.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import sqlalchemy as sa

from shaoxing_ops.domain.identifiers import mask_phone

from .records import FEEDBACK_CHANNELS, FEEDBACK_KINDS, FEEDBACK_SEVERITIES, FeedbackError, OperationsRecords
from .registers import RegisterError, aliases, entry, parse_day, pick
from .text import clip, table

STATUS_LABELS = {"open": "待处理", "resolved": "已解决"}
CHANNEL_ALIASES = {
    "qq": "QQ",
    "钉钉": "浙政钉",
    "电话": "电话",
    "手机": "电话",
    "wechat": "微信",
    "微信": "微信",
}
KIND_ALIASES = aliases(
    {
        "缺陷": ("bug", "defect", "故障", "错误", "问题"),
        "需求变更": ("需求", "变更", "需求修改", "change", "requirement"),
        "咨询": ("consult", "question", "疑问"),
        "数据问题": ("数据", "data"),
    }
)
SEVERITY_ALIASES = aliases(
    {
        "一般": ("普通", "低", "normal", "low", "minor"),
        "严重": ("高", "high", "major", "serious"),
        "紧急": ("urgent", "critical", "blocker"),
    }
)
DESTINATIONS = ("市局", "省局")  # the city bureau (市市监局) and the province (省市监局)
DESTINATION_ALIASES = aliases(
    {
        "市局": ("市市监局", "绍兴市市场监督管理局", "绍兴市局", "city"),
        "省局": ("省市监局", "浙江省市场监督管理局", "省市场监管局", "province"),
    }
)
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


def channel(text: str) -> str:
    """The register's spelling of a channel, or an error listing the allowed ones."""
    value = (text or "").strip()
    value = CHANNEL_ALIASES.get(value.lower(), value)
    if value not in FEEDBACK_CHANNELS:
        raise FeedbackError(f"反馈渠道 {text!r} 无效，可选: {'、'.join(FEEDBACK_CHANNELS)}")
    return value


def _picked(text: str | None, allowed: tuple[str, ...], names: dict[str, str], what: str) -> str:
    try:
        return pick(text, allowed, names, what)
    except RegisterError as exc:
        raise FeedbackError(str(exc)) from None


def kind(text: str | None) -> str:
    return _picked(text, FEEDBACK_KINDS, KIND_ALIASES, "问题类型")


def severity(text: str | None) -> str:
    return _picked(text, FEEDBACK_SEVERITIES, SEVERITY_ALIASES, "严重程度")


def destination(text: str | None) -> str:
    return _picked(text, DESTINATIONS, DESTINATION_ALIASES, "报送对象")


def contact(text: str | None) -> str | None:
    """A phone number as digits (mobile 13812345678, landline 0575-88123456), or None when not given."""
    value = (text or "").strip()
    if not value:
        return None
    if not PHONE.match(value):
        raise FeedbackError(f"联系电话 {text!r} 格式不对，应为手机号或带区号的座机号，如 0575-88123456")
    return value.replace(" ", "")


def add(
    store: OperationsRecords,
    *,
    channel_text: str,
    contact_text: str | None = None,
    kind_text: str = "缺陷",
    severity_text: str = "一般",
    **fields: Any,
) -> int:
    """Register a problem as a person wrote it: channel, contact, kind and severity read as the register spells
    them; ``fields`` (system, reporter, description, at) go to ``OperationsRecords.add_feedback`` as they are."""
    return store.add_feedback(
        channel=channel(channel_text),
        contact=contact(contact_text),
        kind=kind(kind_text),
        severity=severity(severity_text),
        **fields,
    )


def _item(conn: sa.Connection, store: OperationsRecords, feedback_id: int) -> dict[str, Any]:
    return entry(conn, store.tables.feedback, feedback_id, "问题反馈", "feedback", FeedbackError)


def update(
    store: OperationsRecords,
    feedback_id: int,
    *,
    kind_text: str | None = None,
    severity_text: str | None = None,
    system: str | None = None,
) -> dict[str, Any]:
    """Classify an item (type, severity; items registered before these existed have none) or correct its system."""
    values: dict[str, Any] = {}
    if kind_text is not None:
        values["kind"] = kind(kind_text)
    if severity_text is not None:
        values["severity"] = severity(severity_text)
    if system is not None:
        if not system.strip():
            raise FeedbackError("系统不能为空")
        values["system"] = system.strip()
    store.ensure()
    f = store.tables.feedback
    with store.engine.begin() as conn:
        item = _item(conn, store, feedback_id)
        if item["sent_on"] is not None and values.get("kind", item["kind"]) != item["kind"]:
            raise FeedbackError(
                f"问题反馈 #{feedback_id} 已于 {item['sent_on']} 作为{item['kind']}报送"
                f"{item['sent_to']}，不能再改类型"
            )
        if values:
            conn.execute(sa.update(f).where(f.c.id == feedback_id).values(**values))
        return _item(conn, store, feedback_id)


def route(store: OperationsRecords, feedback_id: int, *, to: str, sent_on: str | dt.date) -> dict[str, Any]:
    """Record that an item was submitted to the city bureau or the province on ``sent_on``. A change request
    goes to the city bureau (the contract: 需求修改 … 全部提交绍兴市市场监督管理局); an item is sent once."""
    where = destination(to)
    try:
        day = parse_day(sent_on, "报送日期")
    except RegisterError as exc:
        raise FeedbackError(str(exc)) from None
    store.ensure()
    f = store.tables.feedback
    with store.engine.begin() as conn:
        item = _item(conn, store, feedback_id)
        if item["kind"] == "需求变更" and where != "市局":
            raise FeedbackError(
                "需求变更须提交市局（合同：业务软件需求修改的内容全部提交绍兴市市场监督管理局）：用 --to 市局"
            )
        if item["sent_on"] is not None:
            raise FeedbackError(
                f"问题反馈 #{feedback_id} 已于 {item['sent_on']} 报送{item['sent_to']}，不能重复报送"
            )
        if day < item["opened_at"].date():
            raise FeedbackError(f"报送日期 {day} 早于登记日期 {item['opened_at']:%Y-%m-%d}")
        done = conn.execute(
            sa.update(f)
            .where(f.c.id == feedback_id, f.c.sent_on.is_(None))
            .values(sent_to=where, sent_on=day)
        )
        if done.rowcount != 1:
            raise FeedbackError(f"问题反馈 #{feedback_id} 已被他人同时报送")
        return _item(conn, store, feedback_id)


def unsent_change_requests(
    store: OperationsRecords, moment: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Change requests registered before ``moment`` and not sent by then (a report's list); all those not sent
    yet without it."""
    return [
        i
        for i in store.feedback_items(opened_until=moment)
        if i["kind"] == "需求变更"
        and (
            i["sent_on"] is None
            or (moment is not None and dt.datetime.combine(i["sent_on"], dt.time()) >= moment)
        )
    ]


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def sent_text(item: dict[str, Any]) -> str:
    """Where and when an item was submitted; a change request not yet submitted says so."""
    if item.get("sent_on"):
        return f"{item['sent_to']} {item['sent_on']}"
    return "待报送市局" if item.get("kind") == "需求变更" else ""


def format_items(items: list[dict[str, Any]], description_width: int = 40) -> list[str]:
    """A readable table of feedback items; phone and ID numbers masked (the list is shown to people)."""
    if not items:
        return ["（无问题反馈）"]
    from shaoxing_ops.reports.safety import redact

    rows = [
        [
            str(i["id"]),
            STATUS_LABELS.get(i["status"], i["status"]),
            i["kind"] or "未分类",
            i["severity"] or "",
            redact(i["system"]),
            i["channel"],
            redact(i["reporter"]),
            mask_phone(i["contact"]),
            _when(i["opened_at"]),
            clip(redact(i["description"]), description_width),
            sent_text(i),
            _when(i["resolved_at"]),
            redact(i["resolved_by"] or ""),
            clip(redact(i["resolution"] or ""), description_width),
        ]
        for i in items
    ]
    header = [
        "编号",
        "状态",
        "类型",
        "程度",
        "系统",
        "渠道",
        "反馈人",
        "联系电话",
        "登记时间",
        "问题描述",
        "报送",
        "解决时间",
        "处理人",
        "处理结果",
    ]
    return table(header, rows, right=[0])


def summary(store: OperationsRecords, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
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
