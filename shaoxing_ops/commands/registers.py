"""The contract's registers from the command line, each with add, list and update: ``application`` (编目数据申请),
``notice`` (安全通报与补丁) and ``consult`` (技术咨询).

Each handler returns an exit code: 0 done, 2 refused (bad input), with the reason on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from typing import Any

from shaoxing_ops.operations import applications, consultations, notices
from shaoxing_ops.operations.records import FEEDBACK_CHANNELS
from shaoxing_ops.operations.registers import RegisterError, parse_date

from .shared import add_command, item_command, ops_store, refuse, refusing

APPLICATION_FIELDS = ("tables", "applied_on", "applicant", "note")
NOTICE_FIELDS = ("notice_no", "received_on", "hosts", "items", "note")
CONSULT_FIELDS = ("asked_on", "channel", "system", "question", "answer", "asker", "contact", "answered_by")


def add_parsers(subparsers: Any) -> None:
    """``application``, ``notice`` and ``consult``, each with add, list and update."""
    _add_application_parsers(subparsers)
    _add_notice_parsers(subparsers)
    _add_consult_parsers(subparsers)


def _add_application_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "application", help="编目数据申请 (catalog data applications): add, list, update"
    )
    sub = parser.add_subparsers(dest="application_command", required=True)
    help_text = "register an application for catalog tables on the province's platform"
    _application_fields(add_command(sub, "add", help_text, cmd_application_add), adding=True)

    help_text = "applications, with their status (as of a day with --as-of)"
    p = add_command(sub, "list", help_text, cmd_application_list)
    p.add_argument("--status", help=f"only this status: {', '.join(applications.STATUSES)}")
    p.add_argument("--table", help="only applications naming this table")
    p.add_argument("--as-of", help="the status at the end of this day, YYYY-MM-DD (default: now)")

    help_text = "record a decision (--status 已批准 --on DATE) or correct an application"
    _application_fields(item_command(sub, "update", help_text, cmd_application_update), adding=False)


def _application_fields(p: argparse.ArgumentParser, adding: bool) -> None:
    """An application's fields and decision: those it is registered with required to add one, all optional to
    correct it."""
    tables = (
        "编目表, e.g. E_BASEINFO,E_CANCEL (see `shaoxing-ops tables`)"
        if adding
        else "编目表 (replaces the list)"
    )
    p.add_argument("--tables", required=adding, help=tables)
    p.add_argument("--applied-on", required=adding, help="申请日期, YYYY-MM-DD")
    p.add_argument("--applicant", required=adding, help="申请人")
    p.add_argument("--status", help=f"申请状态: {', '.join(applications.STATUSES)}")
    p.add_argument("--on", help="the day that status was reached, YYYY-MM-DD")
    p.add_argument("--approved-on", help="批准日期, YYYY-MM-DD (with --status 已下发 when not recorded yet)")
    p.add_argument("--note", help="备注")


def _add_notice_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "notice", help="安全通报与补丁 (security notices and patches): add, list, update"
    )
    sub = parser.add_subparsers(dest="notice_command", required=True)
    _notice_fields(
        add_command(sub, "add", "register a security notice of the client", cmd_notice_add), adding=True
    )

    help_text = "notices with patches, what is left per host and the confirmation"
    p = add_command(sub, "list", help_text, cmd_notice_list)
    p.add_argument("--open", action="store_true", help="only notices not yet confirmed")
    p.add_argument("--as-of", help="as they stood at the end of this day, YYYY-MM-DD (default: now)")

    help_text = "record patches (--patched) or the confirmation (--confirmed-by), or correct"
    p = item_command(sub, "update", help_text, cmd_notice_update)
    p.add_argument("--patched", help="items patched, e.g. openssh-server, or all")
    p.add_argument("--host", help="hosts they were installed on (default: every host of the notice)")
    p.add_argument("--by", help="who installed them")
    p.add_argument("--confirmed-by", help="who confirmed the notice is dealt with (the client)")
    p.add_argument("--on", help="the day of the patches or the confirmation, YYYY-MM-DD (default: today)")
    _notice_fields(p, adding=False)


def _notice_fields(p: argparse.ArgumentParser, adding: bool) -> None:
    """A notice's own fields: required to add one, each optional to correct it."""
    hosts = "涉及主机, e.g. app-1,db-1" if adding else "涉及主机 (replaces the list)"
    items = (
        "通报项: CVE ids or package names, e.g. CVE-2024-6387,openssh-server"
        if adding
        else "通报项 (replaces the list)"
    )
    p.add_argument("--no", required=adding, dest="notice_no", help="通报编号")
    p.add_argument("--received-on", required=adding, help="收到日期, YYYY-MM-DD")
    p.add_argument("--hosts", required=adding, help=hosts)
    p.add_argument("--items", required=adding, help=items)
    p.add_argument("--note", help="备注")


def _add_consult_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser("consult", help="技术咨询 (consultations answered): add, list, update")
    sub = parser.add_subparsers(dest="consult_command", required=True)
    for adding in (True, False):
        p = (add_command if adding else item_command)(
            sub,
            "add" if adding else "update",
            "register a consultation" if adding else "complete or correct a consultation",
            cmd_consult_add if adding else cmd_consult_update,
        )
        p.add_argument("--on", required=adding, dest="asked_on", help="咨询日期, YYYY-MM-DD")
        p.add_argument("--channel", required=adding, help=f"渠道: {', '.join(FEEDBACK_CHANNELS)}")
        p.add_argument("--system", required=adding, help="系统, e.g. 全程电子化登记, 执法在线, 食安")
        p.add_argument("--question", required=adding, help="咨询内容")
        p.add_argument("--answer", help="答复")
        p.add_argument("--minutes", required=adding, help="用时（分钟）")
        p.add_argument("--asker", help="咨询人")
        p.add_argument("--contact", help="联系电话")
        p.add_argument("--by", dest="answered_by", help="答复人")

    help_text = "consultations with the count and minutes by channel and system"
    p = add_command(sub, "list", help_text, cmd_consult_list)
    p.add_argument("--since", help="asked on or after this day, YYYY-MM-DD")
    p.add_argument("--until", help="asked on or before this day, YYYY-MM-DD")


def _given(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The arguments ``names`` as the keywords of the register's function of the same names."""
    return {name: getattr(args, name) for name in names}


def _optional_day(text: str | None, what: str) -> dt.date | None:
    return parse_date(text, what) if text else None


def _show(lines: Iterable[str], total: str | None = None) -> int:
    """Print a register's items as its module formats them, then their total if any; exit code 0."""
    print("\n".join(lines))
    if total:
        print(total)
    return 0


def _decision(args: argparse.Namespace) -> dict[str, Any]:
    """``--status S --on DATE`` and ``--approved-on`` as the dates the applications module takes."""
    dates: dict[str, Any] = {"approved_on": args.approved_on}
    if args.status is None:
        if args.on is not None:
            raise RegisterError("--on 是 --status 的日期，须一起给出，如 --status 已批准 --on 2026-03-05")
        return dates
    new = applications.status(args.status)
    if new == "申请中":
        return {**dates, "reopen": True}
    if args.on is None:
        raise RegisterError(f"登记“{new}”须注明日期：--on YYYY-MM-DD")
    return {**dates, applications.DATE_COLUMN[new]: args.on}


@refusing(RegisterError)
def cmd_application_add(args: argparse.Namespace) -> int:
    dates = _decision(args)
    dates.pop("reopen", None)
    store = ops_store()
    new_id = applications.add(store, **_given(args, APPLICATION_FIELDS), **dates)
    added = applications.applications(store, ids=[new_id])
    return _show(applications.format_items(added), f"编目数据申请 #{new_id} 已登记")


@refusing(RegisterError)
def cmd_application_list(args: argparse.Namespace) -> int:
    as_of = _optional_day(args.as_of, "--as-of")
    wanted = applications.status(args.status) if args.status else None
    table = applications.catalog_tables(args.table)[0] if args.table else None
    found = applications.applications(ops_store(), as_of=as_of, status_filter=wanted)
    found = [x for x in found if table is None or table in x["tables"]]
    approved = {t for x in found if x["status_then"] in applications.APPROVED for t in x["tables"]}
    total = f"共 {len(found)} 项申请，已批准（含已下发）的编目表 {len(approved)} 张"
    return _show(applications.format_items(found), total if found else None)


@refusing(RegisterError)
def cmd_application_update(args: argparse.Namespace) -> int:
    app = applications.update(ops_store(), args.id, **_given(args, APPLICATION_FIELDS), **_decision(args))
    return _show(applications.format_items([app]), f"编目数据申请 #{app['id']} 已更新：{app['status']}")


@refusing(RegisterError)
def cmd_notice_add(args: argparse.Namespace) -> int:
    new_id = notices.add(ops_store(), **_given(args, NOTICE_FIELDS))
    print(
        f"安全通报 #{new_id} 已登记；安装补丁后登记 `shaoxing-ops notice update {new_id} --patched all --on YYYY-MM-DD`"
    )
    return 0


@refusing(RegisterError)
def cmd_notice_list(args: argparse.Namespace) -> int:
    as_of = _optional_day(args.as_of, "--as-of")
    found = [x for x in notices.state(ops_store(), as_of or dt.date.max) if x["open"] or not args.open]
    total = f"共 {len(found)} 份，其中未确认 {sum(x['open'] for x in found)} 份"
    return _show(notices.format_items(found), total if found else None)


@refusing(RegisterError)
def cmd_notice_update(args: argparse.Namespace) -> int:
    changes = _given(args, (*NOTICE_FIELDS, "patched", "confirmed_by"))
    if all(value is None for value in changes.values()):
        return refuse("没有要修改的内容：给出 --patched、--confirmed-by 或要更正的字段")
    notice = notices.update(ops_store(), args.id, **changes, patched_hosts=args.host, on=args.on, by=args.by)
    _show(notices.format_items([notice]))
    if args.confirmed_by and notice["remaining"]:
        left = "；".join(f"{h}: {'、'.join(i)}" for h, i in notice["remaining"].items())
        print(f"warning: 通报已确认，但仍有未登记安装的项：{left}", file=sys.stderr)
    return 0


def _consult_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {**_given(args, CONSULT_FIELDS), "minutes_taken": args.minutes}


@refusing(RegisterError)
def cmd_consult_add(args: argparse.Namespace) -> int:
    store = ops_store()
    new_id = consultations.add(store, **_consult_fields(args))
    item = consultations.items(store, ids=[new_id])[0]
    print(
        f"技术咨询 #{new_id} 已登记（{item['asked_on']}，{item['channel']}，{item['system']}，{item['minutes']} 分钟）"
    )
    return 0


@refusing(RegisterError)
def cmd_consult_update(args: argparse.Namespace) -> int:
    fields = {k: v for k, v in _consult_fields(args).items() if v is not None}
    if not fields:
        return refuse("没有要修改的内容：给出要修改的字段，如 --answer")
    return _show(consultations.format_items([consultations.update(ops_store(), args.id, **fields)]))


@refusing(RegisterError)
def cmd_consult_list(args: argparse.Namespace) -> int:
    first, last = _optional_day(args.since, "--since"), _optional_day(args.until, "--until")
    reg = ops_store()
    found = consultations.items(reg, first, last)
    if not found:
        return _show(consultations.format_items(found))
    s = consultations.summary(reg, first or dt.date.min, last or dt.date.max)
    by = "；".join(f"{x['name']} {x['count']} 次" for x in s["by_channel"])
    return _show(consultations.format_items(found), f"共 {s['count']} 次，用时 {s['minutes']} 分钟（{by}）")
