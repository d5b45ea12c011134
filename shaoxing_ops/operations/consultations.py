"""Consultations answered (技术咨询): the contract's technical consulting on the province-built systems (全程电子化,
执法在线, 食安准入 …) by phone, 浙政钉, QQ and WeChat, for the bureau's departments and the public.

Each is recorded with its day, channel, system, question, answer and the minutes it took, so the reports can
count them by channel and system and total the time spent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa

from shaoxing_ops.domain.identifiers import mask_phone
from shaoxing_ops.exchange.opsdb import new_id, now_local

from . import feedback
from .records import FEEDBACK_CHANNELS, OperationsRecords
from .registers import RegisterError, optional, parse_day, required
from .text import clip, table

MAX_MINUTES = 8 * 60  # one consultation longer than a working day is a typing error


def minutes(value: int | str | None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_MINUTES:
        raise RegisterError(f"用时 {value!r} 无效：填写 1–{MAX_MINUTES} 之间的整数分钟数，如 --minutes 15")
    return number


def _channel(text: str) -> str:
    try:
        return feedback.channel(text)
    except ValueError as exc:
        raise RegisterError(f"咨询渠道 {text!r} 无效，可选: {'、'.join(FEEDBACK_CHANNELS)}") from exc


def _contact(text: str | None) -> str | None:
    try:
        return feedback.contact(text)
    except ValueError as exc:
        raise RegisterError(str(exc)) from None


def add(
    reg: OperationsRecords,
    *,
    asked_on: str | dt.date,
    channel: str,
    system: str,
    question: str,
    minutes_taken: int | str,
    answer: str | None = None,
    asker: str | None = None,
    contact: str | None = None,
    answered_by: str | None = None,
) -> int:
    """Register a consultation answered (or still being answered: the answer may follow by ``update``)."""
    values = {
        "asked_on": parse_day(asked_on, "咨询日期"),
        "channel": _channel(channel),
        "system": required(system, "系统（--system）"),
        "question": required(question, "咨询内容（--question）"),
        "answer": optional(answer),
        "minutes": minutes(minutes_taken),
        "asker": optional(asker),
        "contact": _contact(contact),
        "answered_by": optional(answered_by),
    }
    reg.ensure()
    with reg.engine.begin() as conn:
        result = conn.execute(reg.tables.consultations.insert().values(**values, recorded_at=now_local()))
        return new_id(result)


def update(reg: OperationsRecords, item_id: int, **given: Any) -> dict[str, Any]:
    """Change the fields given (the names of ``add``); returns the consultation as stored afterwards."""
    checks = {
        "asked_on": lambda v: parse_day(v, "咨询日期"),
        "channel": _channel,
        "system": lambda v: required(v, "系统"),
        "question": lambda v: required(v, "咨询内容"),
        "minutes_taken": minutes,
        "answer": optional,
        "asker": optional,
        "contact": _contact,
        "answered_by": optional,
    }
    values = {
        ("minutes" if k == "minutes_taken" else k): checks[k](v) for k, v in given.items() if v is not None
    }
    reg.ensure()
    c = reg.tables.consultations
    with reg.engine.begin() as conn:
        if conn.execute(sa.select(c.c.id).where(c.c.id == item_id)).first() is None:
            raise RegisterError(f"技术咨询 #{item_id} 不存在：用 `shaoxing-ops consult list` 查看编号")
        if values:
            conn.execute(sa.update(c).where(c.c.id == item_id).values(**values))
    return items(reg, ids=[item_id])[0]


def items(
    reg: OperationsRecords,
    first: dt.date | None = None,
    last: dt.date | None = None,
    ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Consultations asked on ``[first, last]``, oldest first."""
    reg.ensure()
    c = reg.tables.consultations
    query = sa.select(c).order_by(c.c.asked_on, c.c.id)
    if first is not None:
        query = query.where(c.c.asked_on >= first)
    if last is not None:
        query = query.where(c.c.asked_on <= last)
    if ids is not None:
        query = query.where(c.c.id.in_(ids))
    with reg.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def summary(reg: OperationsRecords, first: dt.date, last: dt.date) -> dict[str, Any]:
    """A period ``[first, last]`` for a report: how many, how long, by channel and by system."""
    found = items(reg, first, last)
    by_channel: Counter[str] = Counter()
    by_system: Counter[str] = Counter()
    minutes_by: dict[str, Counter[str]] = {"channel": Counter(), "system": Counter()}
    for x in found:
        by_channel[x["channel"]] += 1
        by_system[x["system"]] += 1
        minutes_by["channel"][x["channel"]] += x["minutes"]
        minutes_by["system"][x["system"]] += x["minutes"]
    return {
        "count": len(found),
        "minutes": sum(x["minutes"] for x in found),
        "by_channel": [
            {"name": ch, "count": by_channel[ch], "minutes": minutes_by["channel"][ch]}
            for ch in FEEDBACK_CHANNELS
            if by_channel[ch]
        ],
        "by_system": [
            {"name": name, "count": n, "minutes": minutes_by["system"][name]}
            for name, n in by_system.most_common()
        ],
        "items": found,
    }


def format_items(found: list[dict[str, Any]], width: int = 30) -> list[str]:
    """A readable table for the terminal: phone numbers and ID numbers masked."""
    if not found:
        return ["（无技术咨询记录）"]
    from shaoxing_ops.reports.safety import redact

    rows = [
        [
            str(x["id"]),
            str(x["asked_on"]),
            x["channel"],
            redact(x["system"]),
            redact(x["asker"] or ""),
            mask_phone(x["contact"]),
            clip(redact(x["question"]), width),
            clip(redact(x["answer"] or "（待答复）"), width),
            str(x["minutes"]),
            redact(x["answered_by"] or ""),
        ]
        for x in found
    ]
    header = ["编号", "日期", "渠道", "系统", "咨询人", "联系电话", "咨询内容", "答复", "分钟", "答复人"]
    return table(header, rows, right=[0, 8])
