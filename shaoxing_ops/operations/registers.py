"""The contract's registers beside the problem feedback register: catalog data applications (编目数据申请), the
client's security notices and the patches applied for them (安全通报与补丁), consultations answered (技术咨询).

They are operations records, so their tables live here rather than in ``OpsStore`` (to be split into exchange
and operations records), on the ops store's engine and conventions: the ``ops`` schema on PostgreSQL, the
``ops_`` prefix elsewhere. Every change of state keeps its own date, so a past period's report can show the
state as of its end. The input helpers here turn what operators type into the stored spelling, or refuse in one
line that says what to type instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from shaoxing_ops.exchange.opsdb import OpsStore, add_missing_columns, now_local


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


class RegisterStore:
    """The register tables, on the engine, schema and table prefix of an ``OpsStore``."""

    def __init__(self, ops: OpsStore) -> None:
        self.ops = ops
        self.engine = ops.engine
        p = ops.prefix
        md = sa.MetaData(schema=ops.schema)
        self.metadata = md
        self.applications = sa.Table(
            f"{p}applications",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("applicant", sa.String(100), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),  # the latest, derived from the dates below
            sa.Column("applied_on", sa.Date, nullable=False),
            sa.Column("approved_on", sa.Date),
            sa.Column("rejected_on", sa.Date),
            sa.Column("delivered_on", sa.Date),  # 已下发: the province started delivering
            sa.Column("note", sa.Text),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime),
        )
        self.application_tables = sa.Table(
            f"{p}application_tables",
            md,
            sa.Column("application_id", sa.Integer, sa.ForeignKey(self.applications.c.id), primary_key=True),
            sa.Column("table_name", sa.String(64), primary_key=True),  # the catalog's standard name
            sa.Index(f"ix_{p}application_tables_table", "table_name"),
        )
        self.notices = sa.Table(
            f"{p}notices",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("notice_no", sa.String(64), nullable=False),  # the client's number of the notice
            sa.Column("received_on", sa.Date, nullable=False),
            sa.Column("hosts", sa.Text, nullable=False),  # comma-separated host names
            sa.Column("items", sa.Text, nullable=False),  # comma-separated CVE ids or package names
            sa.Column("note", sa.Text),
            sa.Column("confirmed_on", sa.Date),
            sa.Column("confirmed_by", sa.String(100)),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.UniqueConstraint("notice_no", name=f"uq_{p}notices_no"),
        )
        self.notice_patches = sa.Table(
            f"{p}notice_patches",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("notice_id", sa.Integer, sa.ForeignKey(self.notices.c.id), nullable=False),
            sa.Column("host", sa.String(100), nullable=False),
            sa.Column("item", sa.String(200), nullable=False),
            sa.Column("applied_on", sa.Date, nullable=False),
            sa.Column("applied_by", sa.String(100)),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.UniqueConstraint("notice_id", "host", "item", name=f"uq_{p}notice_patches_once"),
        )
        self.consultations = sa.Table(
            f"{p}consultations",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("asked_on", sa.Date, nullable=False),
            sa.Column("channel", sa.String(16), nullable=False),  # one of FEEDBACK_CHANNELS
            sa.Column("system", sa.String(64), nullable=False),
            sa.Column("asker", sa.String(100)),
            sa.Column("contact", sa.String(32)),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("answer", sa.Text),
            sa.Column("minutes", sa.Integer, nullable=False),
            sa.Column("answered_by", sa.String(100)),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.Index(f"ix_{p}consultations_day", "asked_on"),
        )
        self._ready = False

    def ensure(self) -> RegisterStore:
        """Create what is missing (the ops store first: it makes the schema), add columns a newer version has."""
        if not self._ready:
            self.ops.ensure()
            with self.engine.begin() as conn:
                self.metadata.create_all(conn, checkfirst=True)
                add_missing_columns(conn, self.metadata)
            self._ready = True
        return self
