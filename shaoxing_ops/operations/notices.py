"""The client's operating-system security notices (安全通报) and the patches applied for them (补丁).

The contract: on the bureau's notice, provide the fixes and help upgrade the servers at once. A notice names
hosts and items (CVE ids or package names); each patch is recorded per host and item with the day it was
applied, and the client's confirmation with its day and who gave it. Nothing is overwritten by a later state,
so a report of a past month reads the notices as they stood at that month's end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from shaoxing_ops.exchange.opsdb import now_local

from .records import OperationsRecords
from .registers import RegisterError, entry, optional, parse_day, required, split_list
from .text import clip, table

STATES = (
    "未处理",
    "处理中",
    "待确认",
    "已确认",
)  # nothing patched, some, all (awaiting the client), confirmed


def _joined(names: list[str]) -> str:
    return ", ".join(names)


def _names(text: str | list[str] | None, what: str) -> list[str]:
    names = split_list(text)
    if not names:
        raise RegisterError(f"缺少必填项：{what}")
    return names


def _notice(conn: sa.Connection, reg: OperationsRecords, notice_id: int) -> dict[str, Any]:
    return entry(conn, reg.tables.notices, notice_id, "安全通报", "notice")


def _unique_number(
    conn: sa.Connection, reg: OperationsRecords, number: str, other_than: int | None = None
) -> None:
    n = reg.tables.notices
    query = sa.select(n.c.id).where(n.c.notice_no == number)
    if other_than is not None:
        query = query.where(n.c.id != other_than)
    found = conn.execute(query).scalar()
    if found is not None:
        raise RegisterError(
            f"通报编号 {number!r} 已登记为 #{found}：用 `shaoxing-ops notice update {found}` 修改"
        )


def add(
    reg: OperationsRecords,
    *,
    notice_no: str,
    received_on: str | dt.date,
    hosts: str | list[str],
    items: str | list[str],
    note: str | None = None,
) -> int:
    """Register a notice as received."""
    number = required(notice_no, "通报编号（--no）")
    values = {
        "notice_no": number,
        "received_on": parse_day(received_on, "收到日期"),
        "hosts": _joined(_names(hosts, "涉及主机（--hosts app-1,db-1）")),
        "items": _joined(_names(items, "通报项（--items CVE-2024-6387,openssh-server）")),
        "note": optional(note),
    }
    reg.ensure()
    with reg.engine.begin() as conn:
        _unique_number(conn, reg, number)
        return int(
            conn.execute(
                reg.tables.notices.insert().values(**values, recorded_at=now_local())
            ).inserted_primary_key[0]
        )


def update(
    reg: OperationsRecords,
    notice_id: int,
    *,
    notice_no: str | None = None,
    received_on: str | dt.date | None = None,
    hosts: str | list[str] | None = None,
    items: str | list[str] | None = None,
    note: str | None = None,
    patched: str | list[str] | None = None,
    patched_hosts: str | list[str] | None = None,
    confirmed_by: str | None = None,
    on: str | dt.date | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """Correct the notice's fields, record patches (``patched`` items, "all" for every one, on ``patched_hosts``,
    default every host of the notice) and the client's confirmation, each on ``on`` (default today). Returns the
    notice's state afterwards."""
    reg.ensure()
    n, p = reg.tables.notices, reg.tables.notice_patches
    with reg.engine.begin() as conn:
        notice = _notice(conn, reg, notice_id)
        changes: dict[str, Any] = {}
        if notice_no is not None:
            changes["notice_no"] = required(notice_no, "通报编号")
            _unique_number(conn, reg, changes["notice_no"], other_than=notice_id)
        if received_on is not None:
            changes["received_on"] = parse_day(received_on, "收到日期")
        if hosts is not None:
            changes["hosts"] = _joined(_names(hosts, "涉及主机"))
        if items is not None:
            changes["items"] = _joined(_names(items, "通报项"))
        if note is not None:
            changes["note"] = optional(note)
        notice.update(changes)
        day = parse_day(on, "日期") if on is not None else now_local().date()
        if day < notice["received_on"] and (patched is not None or confirmed_by is not None):
            raise RegisterError(f"日期 {day} 早于收到通报的日期 {notice['received_on']}")
        if patched is not None:
            rows = _patch_rows(conn, reg, notice, patched, patched_hosts, day, optional(by))
            conn.execute(p.insert(), rows)
        elif patched_hosts is not None:
            raise RegisterError("--host 指补丁安装在哪些主机上，须与 --patched 一起给出")
        if confirmed_by is not None:
            if notice["confirmed_on"] is not None:
                raise RegisterError(
                    f"安全通报 #{notice_id} 已于 {notice['confirmed_on']} 由 "
                    f"{notice['confirmed_by']} 确认，不能重复确认"
                )
            changes.update(confirmed_by=required(confirmed_by, "确认人"), confirmed_on=day)
        elif by is not None and patched is None:
            raise RegisterError("--by 指补丁的安装人，须与 --patched 一起给出；确认人用 --confirmed-by")
        if changes:
            conn.execute(sa.update(n).where(n.c.id == notice_id).values(**changes))
    return state(reg, dt.date.max, ids=[notice_id])[0]


def _patch_rows(
    conn: sa.Connection,
    reg: OperationsRecords,
    notice: dict[str, Any],
    patched: str | list[str],
    hosts: str | list[str] | None,
    day: dt.date,
    by: str | None,
) -> list[dict[str, Any]]:
    """One row per host and item patched; an item or host the notice does not name, or one recorded already,
    is refused (the notice's own list says what may be given)."""
    items, known_hosts = split_list(notice["items"]), split_list(notice["hosts"])
    wanted = split_list(patched)
    wanted = items if [w.lower() for w in wanted] in (["all"], ["全部"]) else wanted
    on_hosts = split_list(hosts) if hosts is not None else known_hosts
    for label, given, known in (("通报项", wanted, items), ("主机", on_hosts, known_hosts)):
        unknown = [x for x in given if x not in known]
        if unknown or not given:
            raise RegisterError(
                f"{label} {'、'.join(unknown) or '（未给出）'} 不在通报 {notice['notice_no']} 中；"
                f"可选: {'、'.join(known)}（全部通报项用 all）"
            )
    p = reg.tables.notice_patches
    done = conn.execute(
        sa.select(p.c.host, p.c.item, p.c.applied_on).where(p.c.notice_id == notice["id"])
    ).all()
    again = [f"{h} {i}（{d}）" for h, i, d in done if h in on_hosts and i in wanted]
    if again:
        raise RegisterError(f"已登记过的补丁：{'、'.join(again)}")
    now = now_local()
    return [
        {
            "notice_id": notice["id"],
            "host": h,
            "item": i,
            "applied_on": day,
            "applied_by": by,
            "recorded_at": now,
        }
        for h in on_hosts
        for i in wanted
    ]


def state(
    reg: OperationsRecords, as_of: dt.date, since: dt.date | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Notices received by the end of ``as_of`` as they stood then: the patches applied by then, what is left
    per host, the confirmation if given by then, and the state (STATES). With ``since``, only those still open
    on that day or later (a period's report: what was open at some time during it)."""
    reg.ensure()
    n, p = reg.tables.notices, reg.tables.notice_patches
    query = sa.select(n).where(n.c.received_on <= as_of).order_by(n.c.received_on, n.c.id)
    if since is not None:
        query = query.where(sa.or_(n.c.confirmed_on.is_(None), n.c.confirmed_on >= since))
    if ids is not None:
        query = query.where(n.c.id.in_(ids))
    with reg.engine.connect() as conn:
        notices = [dict(r) for r in conn.execute(query).mappings()]
        wanted = [x["id"] for x in notices]
        patches = (
            [
                dict(r)
                for r in conn.execute(
                    sa.select(p)
                    .where(p.c.notice_id.in_(wanted), p.c.applied_on <= as_of)
                    .order_by(p.c.applied_on, p.c.id)
                ).mappings()
            ]
            if wanted
            else []
        )
    out = []
    for notice in notices:
        hosts, items = split_list(notice["hosts"]), split_list(notice["items"])
        applied = [x for x in patches if x["notice_id"] == notice["id"]]
        done = {(x["host"], x["item"]) for x in applied}
        remaining = {h: [i for i in items if (h, i) not in done] for h in hosts}
        remaining = {h: left for h, left in remaining.items() if left}
        confirmed = notice["confirmed_on"] is not None and notice["confirmed_on"] <= as_of
        if confirmed:
            label = "已确认"
        else:
            label = (
                "待确认"
                if not remaining
                else "处理中"
                if done & {(h, i) for h in hosts for i in items}
                else "未处理"
            )
        groups: dict[tuple[str, dt.date, str | None], list[str]] = {}
        for (
            x
        ) in applied:  # one line per host and day: "db-1: openssh-server、CVE-2024-6387 (2026-11-20, 王工)"
            groups.setdefault((x["host"], x["applied_on"], x["applied_by"]), []).append(x["item"])
        out.append(
            {
                **notice,
                "patch_groups": [
                    {"host": h, "applied_on": d, "applied_by": by, "items": items}
                    for (h, d, by), items in groups.items()
                ],
                "hosts": hosts,
                "items": items,
                "patches": applied,
                "remaining": remaining,
                "open": not confirmed,
                "state": label,
                "confirmed_on": notice["confirmed_on"] if confirmed else None,
                "confirmed_by": notice["confirmed_by"] if confirmed else None,
            }
        )
    return out


def open_by_host(states: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Host -> the open notices naming it, with what is left to install there (a host's patch status)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for notice in states:
        if notice["open"]:
            for host in notice["hosts"]:
                out.setdefault(host, []).append(
                    {
                        "id": notice["id"],
                        "notice_no": notice["notice_no"],
                        "received_on": notice["received_on"],
                        "state": notice["state"],
                        "remaining": notice["remaining"].get(host, []),
                    }
                )
    return out


def summary(reg: OperationsRecords, first: dt.date, last: dt.date) -> dict[str, Any]:
    """A period ``[first, last]`` for a report: the notices open during it, as they stood at its end."""
    notices = state(reg, last, since=first)
    return {
        "received": sum(first <= x["received_on"] <= last for x in notices),
        "confirmed": sum(x["confirmed_on"] is not None and x["confirmed_on"] >= first for x in notices),
        "open_at_end": sum(x["open"] for x in notices),
        "patches": sum(first <= y["applied_on"] <= last for x in notices for y in x["patches"]),
        "notices": notices,
    }


def format_items(notices: list[dict[str, Any]]) -> list[str]:
    """A readable table of notices for the terminal."""
    if not notices:
        return ["（无安全通报）"]
    from shaoxing_ops.reports.safety import redact

    rows = []
    for x in notices:
        left = "；".join(f"{h}: {'、'.join(i)}" for h, i in x["remaining"].items())
        confirmed = f"{x['confirmed_on']} {redact(x['confirmed_by'])}" if x["confirmed_on"] else ""
        rows.append(
            [
                str(x["id"]),
                x["state"],
                redact(x["notice_no"]),
                str(x["received_on"]),
                "、".join(x["hosts"]),
                clip("、".join(x["items"]), 30),
                str(len(x["patches"])),
                left,
                confirmed,
                clip(redact(x["note"] or ""), 24),
            ]
        )
    header = ["编号", "状态", "通报编号", "收到日期", "主机", "通报项", "已装补丁", "待安装", "确认", "备注"]
    return table(header, rows, right=[0, 6])
