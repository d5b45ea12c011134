"""Catalog data applications (编目数据申请): the city's requests for the province's catalog tables on the
province's data management platform, which the contract has us help the city's data office make.

An application names catalog tables and moves 申请中 → 已批准 → 已下发, or 申请中 → 已驳回; each step keeps its
date, so the state on any day can be told again later. The inspection sheet compares the approved tables with
the tables actually exchanged that day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog, load_catalog
from shaoxing_ops.exchange.opsdb import now_local

from .records import OperationsRecords
from .registers import RegisterError, aliases, optional, parse_day, pick, required, split_list
from .text import clip, table

STATUSES = ("申请中", "已批准", "已驳回", "已下发")
APPROVED = ("已批准", "已下发")  # the tables of these may be exchanged
STATUS_ALIASES = aliases(
    {
        "申请中": ("申请", "待审批", "审批中", "applied", "pending"),
        "已批准": ("批准", "通过", "已通过", "approved"),
        "已驳回": ("驳回", "拒绝", "未通过", "rejected"),
        "已下发": ("下发", "已开通", "delivered"),
    }
)
DATE_COLUMN = {"已批准": "approved_on", "已驳回": "rejected_on", "已下发": "delivered_on"}


def status(text: str | None) -> str:
    return pick(text, STATUSES, STATUS_ALIASES, "申请状态")


def catalog_tables(text: str | list[str] | None, catalog: Catalog | None = None) -> list[str]:
    """Standard names of the catalog's provincial tables named in ``text``; every unknown one named at once."""
    names = split_list(text)
    if not names:
        raise RegisterError("缺少必填项：申请的编目表（--tables E_BASEINFO,E_CANCEL）")
    catalog = catalog or load_catalog()
    found, unknown = [], []
    for name in names:
        try:
            found.append(catalog.table(name).name)
        except KeyError:
            unknown.append(name)
    if unknown:
        raise RegisterError(
            f"编目表 {'、'.join(repr(n) for n in unknown)} 不在目录中：用 `shaoxing-ops tables` "
            "查看表名；站点新增的表先写入站点目录（SXOPS_CATALOG_DIR）再登记申请"
        )
    return list(dict.fromkeys(found))


def status_on(app: dict[str, Any], day: dt.date) -> str | None:
    """The application's status at the end of ``day``; None before it was made."""
    if app["applied_on"] > day:
        return None
    for name in ("已下发", "已驳回", "已批准"):
        done = app[DATE_COLUMN[name]]
        if done is not None and done <= day:
            return name
    return "申请中"


def _check_dates(app: dict[str, Any]) -> None:
    applied, approved, rejected, delivered = (app.get(k) for k in ("applied_on", *DATES))
    for label, day in (("批准日期", approved), ("驳回日期", rejected), ("下发日期", delivered)):
        if day is not None and day < applied:
            raise RegisterError(f"{label} {day} 早于申请日期 {applied}")
    if approved is not None and rejected is not None:
        raise RegisterError("同一申请不能既批准又驳回：被驳回后重新提交的，请登记为新的申请")
    if delivered is not None and (approved is None or delivered < approved):
        raise RegisterError("登记已下发须先有不晚于它的批准日期：同时给出 --approved-on YYYY-MM-DD")


DATES = ("approved_on", "rejected_on", "delivered_on")
DATE_LABELS = {"approved_on": "批准日期", "rejected_on": "驳回日期", "delivered_on": "下发日期"}


def _apply(app: dict[str, Any], dates: dict[str, str | dt.date | None]) -> None:
    """The given decision dates into ``app``, checked, and the status they make."""
    for key, value in dates.items():
        if value is not None:
            app[key] = parse_day(value, DATE_LABELS[key])
    _check_dates(app)
    app["status"] = status_on(app, dt.date.max)


def add(
    reg: OperationsRecords,
    *,
    tables: str | list[str],
    applied_on: str | dt.date,
    applicant: str,
    approved_on: str | dt.date | None = None,
    rejected_on: str | dt.date | None = None,
    delivered_on: str | dt.date | None = None,
    note: str | None = None,
    catalog: Catalog | None = None,
) -> int:
    """Register an application, with the decisions already taken if any (their dates make the status)."""
    names = catalog_tables(tables, catalog)
    app: dict[str, Any] = {
        "applicant": required(applicant, "申请人（--applicant）"),
        "applied_on": parse_day(applied_on, "申请日期"),
        "note": optional(note),
        **dict.fromkeys(DATES),
    }
    _apply(app, {"approved_on": approved_on, "rejected_on": rejected_on, "delivered_on": delivered_on})
    reg.ensure()
    with reg.engine.begin() as conn:
        new_id = int(
            conn.execute(
                reg.tables.applications.insert().values(**app, recorded_at=now_local())
            ).inserted_primary_key[0]
        )
        conn.execute(
            reg.tables.application_tables.insert(),
            [{"application_id": new_id, "table_name": n} for n in names],
        )
    return new_id


def update(
    reg: OperationsRecords,
    app_id: int,
    *,
    tables: str | list[str] | None = None,
    applied_on: str | dt.date | None = None,
    applicant: str | None = None,
    approved_on: str | dt.date | None = None,
    rejected_on: str | dt.date | None = None,
    delivered_on: str | dt.date | None = None,
    reopen: bool = False,
    note: str | None = None,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """Change what is given; ``reopen`` clears the decisions first (a correction back to 申请中). Returns the
    application as stored afterwards."""
    reg.ensure()
    a = reg.tables.applications
    with reg.engine.begin() as conn:
        row = conn.execute(sa.select(a).where(a.c.id == app_id)).mappings().first()
        if row is None:
            raise RegisterError(f"编目数据申请 #{app_id} 不存在：用 `shaoxing-ops application list` 查看编号")
        app = dict(row)
        if applicant is not None:
            app["applicant"] = required(applicant, "申请人")
        if applied_on is not None:
            app["applied_on"] = parse_day(applied_on, "申请日期")
        if note is not None:
            app["note"] = optional(note)
        if reopen:
            app.update(dict.fromkeys(DATES))
        _apply(app, {"approved_on": approved_on, "rejected_on": rejected_on, "delivered_on": delivered_on})
        values = {k: v for k, v in app.items() if k not in ("id", "recorded_at", "updated_at")}
        conn.execute(sa.update(a).where(a.c.id == app_id).values(**values, updated_at=now_local()))
        if tables is not None:
            t = reg.tables.application_tables
            names = catalog_tables(tables, catalog)
            conn.execute(sa.delete(t).where(t.c.application_id == app_id))
            conn.execute(t.insert(), [{"application_id": app_id, "table_name": n} for n in names])
    return get(reg, app_id)  # type: ignore[return-value]


def _with_tables(reg: OperationsRecords, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    t = reg.tables.application_tables
    ids = [r["id"] for r in rows]
    names: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        with reg.engine.connect() as conn:
            query = sa.select(t.c.application_id, t.c.table_name).where(t.c.application_id.in_(ids))
            for app_id, name in conn.execute(query.order_by(t.c.application_id, t.c.table_name)):
                names[app_id].append(name)
    return [{**r, "tables": names[r["id"]]} for r in rows]


def get(reg: OperationsRecords, app_id: int) -> dict[str, Any] | None:
    found = applications(reg, ids=[app_id])
    return found[0] if found else None


def applications(
    reg: OperationsRecords,
    as_of: dt.date | None = None,
    ids: list[int] | None = None,
    status_filter: str | None = None,
) -> list[dict[str, Any]]:
    """Applications made by ``as_of`` (all without it), each with its tables and ``status_then``: its status at
    the end of ``as_of`` (the latest without it); ``status_filter`` keeps one status then."""
    reg.ensure()
    a = reg.tables.applications
    query = sa.select(a).order_by(a.c.applied_on, a.c.id)
    if as_of is not None:
        query = query.where(a.c.applied_on <= as_of)
    if ids is not None:
        query = query.where(a.c.id.in_(ids))
    with reg.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    out = []
    for row in _with_tables(reg, rows):
        row["status_then"] = status_on(row, as_of or dt.date.max)
        if as_of is not None:  # a decision taken later is not known yet on that day
            row.update({k: None for k in DATES if row[k] is not None and row[k] > as_of})
        if status_filter is None or row["status_then"] == status_filter:
            out.append(row)
    return out


def by_table(apps: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Table name -> the applications naming it, newest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for app in sorted(apps, key=lambda x: (x["applied_on"], x["id"]), reverse=True):
        for name in app["tables"]:
            out.setdefault(name, []).append(app)
    return out


def approved_tables(apps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Table name -> the application that approved it (its newest approved one), from ``applications(as_of)``."""
    return {
        name: next(x for x in found if x["status_then"] in APPROVED)
        for name, found in by_table(apps).items()
        if any(x["status_then"] in APPROVED for x in found)
    }


def _tables_text(names: list[str], shown: int = 4) -> str:
    return "、".join(names) if len(names) <= shown else f"{'、'.join(names[:shown])} 等 {len(names)} 张"


def format_items(apps: list[dict[str, Any]]) -> list[str]:
    """A readable table of applications for the terminal."""
    if not apps:
        return ["（无编目数据申请）"]
    from shaoxing_ops.reports.safety import redact

    rows = [
        [
            str(x["id"]),
            x["status_then"] or "",
            _tables_text(x["tables"]),
            str(x["applied_on"]),
            redact(x["applicant"]),
            str(x["approved_on"] or ""),
            str(x["rejected_on"] or ""),
            str(x["delivered_on"] or ""),
            clip(redact(x["note"] or ""), 30),
        ]
        for x in apps
    ]
    header = ["编号", "状态", "编目表", "申请日期", "申请人", "批准日期", "驳回日期", "下发日期", "备注"]
    return table(header, rows, right=[0])


def demo_applications(reg: OperationsRecords, catalog: Catalog, first_day: dt.date) -> int:
    """What a site has by the time data flows: an application per source system, approved and delivered before
    ``first_day``, with one system's last table applied for only lately and another's never, so the inspection
    sheet has something to flag. Once per ops database: a demo run again adds nothing. Returns how many were
    made."""
    if applications(reg):
        return 0
    applied, approved = first_day - dt.timedelta(days=30), first_day - dt.timedelta(days=21)
    left_out = [s.tables[-1].name for s in catalog.systems if len(s.tables) > 1][:2]  # [pending, never]
    made = 0
    for system in catalog.systems:
        names = [t.name for t in system.tables if t.name not in left_out]
        if names:
            add(
                reg,
                tables=names,
                applied_on=applied,
                applicant="市市监局数据管理办公室",
                approved_on=approved,
                delivered_on=first_day - dt.timedelta(days=1),
                catalog=catalog,
                note=f"{system.title}：在省局数据管理平台申请",
            )
            made += 1
    if left_out:
        add(
            reg,
            tables=left_out[:1],
            applied_on=first_day,
            applicant="市市监局数据管理办公室",
            catalog=catalog,
            note="新增需求，已在省局数据管理平台提交，待省局审批",
        )
        made += 1
    return made
