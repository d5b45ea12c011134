"""What the contract's registers share: catalog data applications (编目数据申请), the client's security notices
and the patches applied for them (安全通报与补丁), consultations answered (技术咨询), and the problem feedback.

Their tables are operations records (``records_schema.py``, stored through ``OperationsRecords``). The input
helpers here turn what operators type into the stored spelling, or refuse in one line that says what to type
instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from shaoxing_ops.exchange.opsdb import now_local


class RegisterError(ValueError):
    """An entry that cannot be recorded as asked; the message is one line saying what to do instead."""


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEPARATORS = re.compile(r"[,，、;；\s]+")


def parse_date(text: str | dt.date | None, what: str) -> dt.date:
    """A day typed as YYYY-MM-DD (nothing else: ``date.fromisoformat`` would also take 20260305 and 2026-W10-4)."""
    if isinstance(text, dt.date):
        return text
    value = (text or "").strip()
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RegisterError(f"{what} {text!r} 不是日期，请按 YYYY-MM-DD 填写，如 2026-03-05") from None


def parse_day(text: str | dt.date | None, what: str, today: dt.date | None = None) -> dt.date:
    """A day typed as YYYY-MM-DD, not in the future: registers record what happened."""
    day = parse_date(text, what)
    today = today or now_local().date()
    if day > today:
        raise RegisterError(f"{what} {day} 晚于今天 {today}：登记已发生的事，请填写实际日期")
    return day


def pick(text: str | None, allowed: Iterable[str], aliases: Mapping[str, str], what: str) -> str:
    """The register's spelling of ``text`` (itself or an alias, case-insensitive), or a refusal naming the choices."""
    allowed = tuple(allowed)
    value = (text or "").strip()
    value = aliases.get(value.lower(), value)
    if value not in allowed:
        raise RegisterError(f"{what} {text!r} 无效，可选: {'、'.join(allowed)}")
    return value


def aliases(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{"已批准": ("批准", "approved")}`` as the alias -> value map ``pick`` takes (keys in lower case)."""
    return {alias.lower(): value for value, names in groups.items() for alias in names}


def split_list(text: str | Iterable[str] | None) -> list[str]:
    """Names typed as "a,b", "a，b", "a、b" or "a b", in order, each once."""
    parts = _SEPARATORS.split(text) if isinstance(text, str) else list(text or [])
    return list(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


def required(text: str | None, what: str) -> str:
    value = (text or "").strip()
    if not value:
        raise RegisterError(f"缺少必填项：{what}")
    return value


def optional(text: str | None) -> str | None:
    return (text or "").strip() or None


def entry(
    conn: sa.Connection,
    table: sa.Table,
    entry_id: int,
    what: str,
    command: str,
    error: type[ValueError] = RegisterError,
) -> dict[str, Any]:
    """Entry ``entry_id`` of a register's ``table``, or a refusal saying how to list the numbers
    (``shaoxing-ops <command> list``)."""
    row = conn.execute(sa.select(table).where(table.c.id == entry_id)).mappings().first()
    if row is None:
        raise error(f"{what} #{entry_id} 不存在：用 `shaoxing-ops {command} list` 查看编号")
    return dict(row)
