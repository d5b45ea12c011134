"""``feedback``, ``host`` and the registers' sub-commands (``application``, ``notice``, ``consult``), registered
on the ``shaoxing-ops`` parser by its owner.

Each handler returns an exit code: 0 done, 1 done with a warning (a database could not be measured), 2 refused
(bad input), with the reason on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from shaoxing_ops import settings
from shaoxing_ops.exchange.opsdb import now_local

from .assessment import ROLE_CN
from .records import FEEDBACK_CHANNELS, FEEDBACK_KINDS, FEEDBACK_SEVERITIES, FeedbackError, OperationsRecords
from .registers import RegisterError, parse_date

DB_ROLES = ("province", "front", "bureau", "ops")


def ops_store() -> OperationsRecords:
    from shaoxing_ops.exchange.dbs import engine_for

    return OperationsRecords(engine_for("ops")).ensure()


def register_store() -> OperationsRecords:
    return ops_store()  # the registers are operations records


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _since(text: str | None, what: str) -> dt.date | None:
    return parse_date(text, what) if text else None


# -- feedback ---------------------------------------------------------------------------------------
def add_feedback_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("feedback", help="问题反馈登记: add, list, resolve")
    sub = parser.add_subparsers(dest="feedback_command", required=True)

    p = sub.add_parser("add", help="register a problem reported by a user")
    p.add_argument(
        "--system", required=True, help="应用系统, e.g. 执法在线, 全程电子化登记, 食安, 数据交换平台"
    )
    p.add_argument("--channel", required=True, help=f"反馈渠道: {', '.join(FEEDBACK_CHANNELS)}")
    p.add_argument("--reporter", required=True, help="反馈人")
    p.add_argument("--contact", help="联系电话 (optional)")
    p.add_argument("--description", required=True, help="问题描述")
    p.add_argument(
        "--type", dest="kind", default="缺陷", help=f"问题类型: {', '.join(FEEDBACK_KINDS)} (default 缺陷)"
    )
    p.add_argument(
        "--severity", default="一般", help=f"严重程度: {', '.join(FEEDBACK_SEVERITIES)} (default 一般)"
    )
    p.set_defaults(func=cmd_feedback_add)

    p = sub.add_parser("list", help="list feedback items (phone numbers masked)")
    p.add_argument("--status", choices=("open", "resolved", "all"), default="all")
    p.add_argument("--since", help="opened on or after this day, YYYY-MM-DD")
    p.add_argument("--type", dest="kind", help=f"only this type: {', '.join(FEEDBACK_KINDS)}")
    p.add_argument(
        "--unsent", action="store_true", help="only change requests (需求变更) not yet sent to 市局"
    )
    p.set_defaults(func=cmd_feedback_list)

    p = sub.add_parser("update", help="classify an item (type, severity) or correct its system")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--type", dest="kind", help=f"问题类型: {', '.join(FEEDBACK_KINDS)}")
    p.add_argument("--severity", help=f"严重程度: {', '.join(FEEDBACK_SEVERITIES)}")
    p.add_argument("--system", help="应用系统")
    p.set_defaults(func=cmd_feedback_update)

    p = sub.add_parser("route", help="record that an item was submitted (需求变更: to 市局) and when")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--to", default="市局", help="市局 (default; every 需求变更 goes there) or 省局")
    p.add_argument("--sent-on", required=True, help="报送日期, YYYY-MM-DD")
    p.set_defaults(func=cmd_feedback_route)

    p = sub.add_parser("print", help="write the printable 应用系统问题反馈单 of an item (HTML, Word, PDF)")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--out", help="folder to write it to (default: the reports folder's feedback/)")
    p.set_defaults(func=cmd_feedback_print)

    p = sub.add_parser("resolve", help="close an open item with what was done")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--resolution", required=True, help="处理结果")
    p.add_argument("--by", required=True, dest="resolved_by", help="处理人")
    p.set_defaults(func=cmd_feedback_resolve)
    return parser


def cmd_feedback_add(args: argparse.Namespace) -> int:
    from . import feedback

    try:
        new_id = feedback.add(
            ops_store(),
            system=args.system,
            channel_text=args.channel,
            reporter=args.reporter,
            description=args.description,
            contact_text=args.contact,
            kind_text=args.kind,
            severity_text=args.severity,
        )
    except FeedbackError as exc:
        return _refuse(str(exc))
    item = ops_store().feedback_item(new_id) or {}
    print(
        f"问题反馈 #{new_id} 已登记（{args.system}，{args.channel}，{args.reporter}，"
        f"{item.get('kind')}，{item.get('severity')}）"
    )
    if item.get("kind") == "需求变更":
        print(
            f"需求变更须提交市局：报送后登记 `shaoxing-ops feedback route {new_id} --to 市局 --sent-on YYYY-MM-DD`"
        )
    return 0


def cmd_feedback_list(args: argparse.Namespace) -> int:
    from . import feedback

    try:
        since_day = _since(args.since, "--since")
        kind = feedback.kind(args.kind) if args.kind else None
    except (RegisterError, FeedbackError) as exc:
        return _refuse(str(exc))
    since = dt.datetime.combine(since_day, dt.time()) if since_day else None
    status = None if args.status == "all" else args.status
    store = ops_store()
    if args.unsent:
        items = [i for i in feedback.unsent_change_requests(store) if not since or i["opened_at"] >= since]
    else:
        items = store.feedback_items(status=status, opened_since=since)
    items = [i for i in items if kind is None or i["kind"] == kind]
    for line in feedback.format_items(items):
        print(line)
    if items:
        open_count = sum(i["status"] == "open" for i in items)
        unsent = sum(i["kind"] == "需求变更" and not i["sent_on"] for i in items)
        print(
            f"共 {len(items)} 条，其中待处理 {open_count} 条"
            + (f"，需求变更待报送市局 {unsent} 条" if unsent else "")
        )
    return 0


def cmd_feedback_update(args: argparse.Namespace) -> int:
    from . import feedback

    if args.kind is None and args.severity is None and args.system is None:
        return _refuse("没有要修改的内容：给出 --type、--severity 或 --system")
    try:
        item = feedback.update(
            ops_store(), args.id, kind_text=args.kind, severity_text=args.severity, system=args.system
        )
    except FeedbackError as exc:
        return _refuse(str(exc))
    print(f"问题反馈 #{item['id']} 已更新：{item['system']}，{item['kind']}，{item['severity']}")
    return 0


def cmd_feedback_route(args: argparse.Namespace) -> int:
    from . import feedback

    try:
        item = feedback.route(ops_store(), args.id, to=args.to, sent_on=args.sent_on)
    except FeedbackError as exc:
        return _refuse(str(exc))
    print(
        f"问题反馈 #{item['id']}（{item['kind'] or '未分类'}）已登记于 {item['sent_on']} 报送{item['sent_to']}"
    )
    return 0


def cmd_feedback_print(args: argparse.Namespace) -> int:
    """The 应用系统问题反馈单 of an item: HTML, Word and PDF; exit 1 when a copy lacks something (it says what)."""
    from pathlib import Path

    from shaoxing_ops.reports.documents import DocumentError
    from shaoxing_ops.reports.forms import write_feedback_form

    item = ops_store().feedback_item(args.id)
    if item is None:
        return _refuse(f"问题反馈 #{args.id} 不存在：用 `shaoxing-ops feedback list` 查看编号")
    try:
        html, documents = write_feedback_form(item, Path(args.out) if args.out else None)
    except DocumentError as exc:
        return _refuse(str(exc))
    for path in (html, documents.docx, documents.pdf):
        if path is not None:
            print(path)
    if documents.missing:
        print(f"warning: {documents.missing}", file=sys.stderr)
        return 1
    return 0


def cmd_feedback_resolve(args: argparse.Namespace) -> int:
    try:
        item = ops_store().resolve_feedback(args.id, args.resolution, args.resolved_by)
    except FeedbackError as exc:
        return _refuse(str(exc))
    print(f"问题反馈 #{item['id']} 已处理（{item['resolved_by']}，{item['resolved_at']:%Y-%m-%d %H:%M}）")
    return 0


# -- host -------------------------------------------------------------------------------------------
def add_host_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("host", help="host monitoring: collect, assess (资源评估), list, forget")
    sub = parser.add_subparsers(dest="host_command", required=True)

    p = sub.add_parser(
        "collect",
        aliases=["sample"],
        help="record one sample of this host (run every minute or five by the systemd timer or cron in deploy/)",
    )
    p.add_argument(
        "--name",
        "--host",
        dest="host",
        help="name recorded for this host (default: SXOPS_HOST_NAME or its hostname)",
    )
    p.add_argument(
        "--role",
        choices=settings.HOST_ROLES,
        help="app: application server; db: database server (default: SXOPS_HOST_ROLE or app)",
    )
    p.add_argument(
        "--database-url-file",
        help="file holding the URL of the database server this db host serves "
        "(default: SXOPS_HOST_DB_URL or SXOPS_HOST_DB_URL_FILE); its connections, cache hits, "
        "longest transaction and sizes are sampled too",
    )
    p.add_argument("--retention-days", type=int, default=30, help="drop samples older than this (default 30)")
    p.set_defaults(func=cmd_host_collect)

    p = sub.add_parser("assess", help="each host's peak, p95, trend and scaling advice (扩容/保持/缩容)")
    p.add_argument("--days", type=float, default=7, help="history to assess (default 7)")
    p.add_argument("--host", help="assess this host only (default: every host that reported)")
    p.add_argument("--json", action="store_true", help="print the assessments as JSON")
    p.set_defaults(func=cmd_host_assess)

    p = sub.add_parser("list", help="every host that reported: role, first and last sample")
    p.set_defaults(func=cmd_host_list)

    p = sub.add_parser("forget", help="remove a decommissioned host from the register")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_host_forget)
    return parser


def human_bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # unreachable, keeps type checkers content


def measure_databases(roles: tuple[str, ...] = DB_ROLES) -> tuple[list[dict[str, Any]], list[str]]:
    """Sizes of the configured databases, each URL once (ops shares the front's by default); and warnings."""
    from sqlalchemy.engine import make_url

    from shaoxing_ops.exchange import make_engine, safe_url

    from .hostmetrics import database_sizes

    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for role in roles:
        url = settings.database_url(role)
        if url in seen:
            continue
        seen.add(url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and not os.path.exists(parsed.database or ""):
            continue  # not created yet: measuring would create an empty file
        engine = make_engine(url)
        try:
            rows += database_sizes(engine, role)
        except Exception as exc:  # one unreachable database must not lose the host sample
            warnings.append(
                f"{role} ({safe_url(url)}): {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            )
        finally:
            engine.dispose()
    return rows, warnings


def _host_database(args: argparse.Namespace) -> Any:
    """The engine of the database server a db host serves, or None; a bad URL is refused by the caller."""
    from pathlib import Path

    from shaoxing_ops.exchange import make_engine

    if args.database_url_file:
        url = Path(args.database_url_file).read_text(encoding="utf-8").strip()
    else:
        url = settings.host_database_url()
    return make_engine(url) if url else None


def cmd_host_collect(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import ArgumentError

    from .hostmetrics import DATABASE_OBJECT, collect
    from .text import table

    role = args.role or settings.host_role()
    try:
        database = _host_database(args)
    except (OSError, ValueError, ArgumentError) as exc:
        return _refuse(
            f"the database server's URL cannot be used ({type(exc).__name__}: {exc}); "
            "fix --database-url-file or SXOPS_HOST_DB_URL"
        )
    if role == "db" and database is None:
        print(
            "warning: 数据库服务器未给出 SXOPS_HOST_DB_URL（或 --database-url-file），只采样主机资源",
            file=sys.stderr,
        )
    store = ops_store()
    try:
        got = collect(store, host=args.host, retention_days=args.retention_days, role=role, database=database)
    finally:
        if database is not None:
            database.dispose()
    print(
        f"主机 {got.host}（{ROLE_CN[got.role]}）  采样时间 {got.sampled_at:%Y-%m-%d %H:%M:%S}  "
        f"（清理过期记录 {got.pruned} 条）"
    )
    for name, value in got.samples.items():
        shown = (
            human_bytes(value) if "bytes" in name else f"{value:.1f}%" if "percent" in name else f"{value:g}"
        )
        print(f"  {name:<28} {shown}")
    if role == "db":  # the application host measures the platform's databases; a database host its server
        return 0
    rows, warnings = measure_databases()
    store.record_db_sizes(rows, at=got.sampled_at)
    cells = [
        [
            r["role"],
            r["database_name"],
            "数据库合计" if r["object_name"] == DATABASE_OBJECT else r["object_name"],
            human_bytes(r["bytes"]),
        ]
        for r in rows
    ]
    if cells:
        print("\n".join("  " + line for line in table(["角色", "数据库", "对象", "大小"], cells, right=[3])))
    for warning in warnings:
        print(f"warning: 无法统计数据库大小 {warning}", file=sys.stderr)
    return 1 if warnings else 0


def cmd_host_assess(args: argparse.Namespace) -> int:
    from .assessment import assess_hosts, describe

    if args.days <= 0:
        return _refuse("--days must be positive")
    now = now_local()
    store = ops_store()
    registered = [h for h in store.hosts() if not args.host or h["name"] == args.host]
    results = assess_hosts(store.metrics(now - dt.timedelta(days=args.days), host=args.host), now, registered)
    if args.host and not results:
        return _refuse(f"host {args.host!r} has never reported; see `shaoxing-ops host list`")
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
    elif not results:
        print(
            "没有任何主机的采样：运行 `shaoxing-ops host collect`，或启动 Dagster 守护进程（host_metrics_sensor）"
        )
    else:
        print("\n\n".join("\n".join(describe(r)) for r in results))
    return 1 if any(r.silent for r in results) else 0


def cmd_host_list(args: argparse.Namespace) -> int:
    from .text import table

    hosts = ops_store().hosts()
    if not hosts:
        print("没有任何主机上报过采样")
        return 0
    cells = [
        [
            h["name"],
            ROLE_CN.get(h["role"], h["role"]),
            f"{h['first_seen']:%Y-%m-%d %H:%M}",
            f"{h['last_seen']:%Y-%m-%d %H:%M}",
        ]
        for h in hosts
    ]
    print("\n".join(table(["主机", "角色", "首次采样", "最近采样"], cells)))
    return 0


def cmd_host_forget(args: argparse.Namespace) -> int:
    if not ops_store().forget_host(args.name):
        return _refuse(f"host {args.name!r} is not registered; see `shaoxing-ops host list`")
    print(f"已移除主机 {args.name}（其采样按保留期自动清理）")
    return 0


# -- registers: 编目数据申请, 安全通报与补丁, 技术咨询 ---------------------------------------------------------
def add_register_parsers(subparsers: Any) -> None:
    """``application``, ``notice`` and ``consult``, each with add, list and update."""
    from .applications import STATUSES

    parser = subparsers.add_parser(
        "application", help="编目数据申请 (catalog data applications): add, list, update"
    )
    sub = parser.add_subparsers(dest="application_command", required=True)
    p = sub.add_parser("add", help="register an application for catalog tables on the province's platform")
    p.add_argument(
        "--tables", required=True, help="编目表, e.g. E_BASEINFO,E_CANCEL (see `shaoxing-ops tables`)"
    )
    p.add_argument("--applied-on", required=True, help="申请日期, YYYY-MM-DD")
    p.add_argument("--applicant", required=True, help="申请人")
    _decision_arguments(p, STATUSES)
    p.set_defaults(func=cmd_application_add)
    p = sub.add_parser("list", help="applications, with their status (as of a day with --as-of)")
    p.add_argument("--status", help=f"only this status: {', '.join(STATUSES)}")
    p.add_argument("--table", help="only applications naming this table")
    p.add_argument("--as-of", help="the status at the end of this day, YYYY-MM-DD (default: now)")
    p.set_defaults(func=cmd_application_list)
    p = sub.add_parser(
        "update", help="record a decision (--status 已批准 --on DATE) or correct an application"
    )
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--tables", help="编目表 (replaces the list)")
    p.add_argument("--applied-on", help="申请日期, YYYY-MM-DD")
    p.add_argument("--applicant", help="申请人")
    _decision_arguments(p, STATUSES)
    p.set_defaults(func=cmd_application_update)

    parser = subparsers.add_parser(
        "notice", help="安全通报与补丁 (security notices and patches): add, list, update"
    )
    sub = parser.add_subparsers(dest="notice_command", required=True)
    p = sub.add_parser("add", help="register a security notice of the client")
    p.add_argument("--no", required=True, dest="notice_no", help="通报编号")
    p.add_argument("--received-on", required=True, help="收到日期, YYYY-MM-DD")
    p.add_argument("--hosts", required=True, help="涉及主机, e.g. app-1,db-1")
    p.add_argument(
        "--items", required=True, help="通报项: CVE ids or package names, e.g. CVE-2024-6387,openssh-server"
    )
    p.add_argument("--note", help="备注")
    p.set_defaults(func=cmd_notice_add)
    p = sub.add_parser("list", help="notices with patches, what is left per host and the confirmation")
    p.add_argument("--open", action="store_true", help="only notices not yet confirmed")
    p.add_argument("--as-of", help="as they stood at the end of this day, YYYY-MM-DD (default: now)")
    p.set_defaults(func=cmd_notice_list)
    p = sub.add_parser(
        "update", help="record patches (--patched) or the confirmation (--confirmed-by), or correct"
    )
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--patched", help="items patched, e.g. openssh-server, or all")
    p.add_argument("--host", help="hosts they were installed on (default: every host of the notice)")
    p.add_argument("--by", help="who installed them")
    p.add_argument("--confirmed-by", help="who confirmed the notice is dealt with (the client)")
    p.add_argument("--on", help="the day of the patches or the confirmation, YYYY-MM-DD (default: today)")
    p.add_argument("--no", dest="notice_no", help="通报编号")
    p.add_argument("--received-on", help="收到日期, YYYY-MM-DD")
    p.add_argument("--hosts", help="涉及主机 (replaces the list)")
    p.add_argument("--items", help="通报项 (replaces the list)")
    p.add_argument("--note", help="备注")
    p.set_defaults(func=cmd_notice_update)

    parser = subparsers.add_parser("consult", help="技术咨询 (consultations answered): add, list, update")
    sub = parser.add_subparsers(dest="consult_command", required=True)
    for name in ("add", "update"):
        adding = name == "add"
        p = sub.add_parser(
            name, help="register a consultation" if adding else "complete or correct a consultation"
        )
        if not adding:
            p.add_argument("id", type=int, metavar="ID")
        p.add_argument("--on", required=adding, dest="asked_on", help="咨询日期, YYYY-MM-DD")
        p.add_argument("--channel", required=adding, help=f"渠道: {', '.join(FEEDBACK_CHANNELS)}")
        p.add_argument("--system", required=adding, help="系统, e.g. 全程电子化登记, 执法在线, 食安")
        p.add_argument("--question", required=adding, help="咨询内容")
        p.add_argument("--answer", help="答复")
        p.add_argument("--minutes", required=adding, help="用时（分钟）")
        p.add_argument("--asker", help="咨询人")
        p.add_argument("--contact", help="联系电话")
        p.add_argument("--by", dest="answered_by", help="答复人")
        p.set_defaults(func=cmd_consult_add if adding else cmd_consult_update)
    p = sub.add_parser("list", help="consultations with the count and minutes by channel and system")
    p.add_argument("--since", help="asked on or after this day, YYYY-MM-DD")
    p.add_argument("--until", help="asked on or before this day, YYYY-MM-DD")
    p.set_defaults(func=cmd_consult_list)


def _decision_arguments(p: argparse.ArgumentParser, statuses: tuple[str, ...]) -> None:
    p.add_argument("--status", help=f"申请状态: {', '.join(statuses)}")
    p.add_argument("--on", help="the day that status was reached, YYYY-MM-DD")
    p.add_argument("--approved-on", help="批准日期, YYYY-MM-DD (with --status 已下发 when not recorded yet)")
    p.add_argument("--note", help="备注")


def _decision(args: argparse.Namespace) -> dict[str, Any]:
    """``--status S --on DATE`` and ``--approved-on`` as the dates the applications module takes."""
    from .applications import DATE_COLUMN, status

    dates: dict[str, Any] = {"approved_on": args.approved_on}
    if args.status is None:
        if args.on is not None:
            raise RegisterError("--on 是 --status 的日期，须一起给出，如 --status 已批准 --on 2026-03-05")
        return dates
    new = status(args.status)
    if new == "申请中":
        return {**dates, "reopen": True}
    if args.on is None:
        raise RegisterError(f"登记“{new}”须注明日期：--on YYYY-MM-DD")
    return {**dates, DATE_COLUMN[new]: args.on}


def cmd_application_add(args: argparse.Namespace) -> int:
    from . import applications

    try:
        dates = _decision(args)
        dates.pop("reopen", None)
        new_id = applications.add(
            register_store(),
            tables=args.tables,
            applied_on=args.applied_on,
            applicant=args.applicant,
            note=args.note,
            **dates,
        )
    except RegisterError as exc:
        return _refuse(str(exc))
    print("\n".join(applications.format_items(applications.applications(register_store(), ids=[new_id]))))
    print(f"编目数据申请 #{new_id} 已登记")
    return 0


def cmd_application_list(args: argparse.Namespace) -> int:
    from . import applications

    try:
        as_of = _since(args.as_of, "--as-of")
        wanted = applications.status(args.status) if args.status else None
        table = applications.catalog_tables(args.table)[0] if args.table else None
    except RegisterError as exc:
        return _refuse(str(exc))
    found = applications.applications(register_store(), as_of=as_of, status_filter=wanted)
    found = [x for x in found if table is None or table in x["tables"]]
    print("\n".join(applications.format_items(found)))
    if found:
        approved = {t for x in found if x["status_then"] in applications.APPROVED for t in x["tables"]}
        print(f"共 {len(found)} 项申请，已批准（含已下发）的编目表 {len(approved)} 张")
    return 0


def cmd_application_update(args: argparse.Namespace) -> int:
    from . import applications

    try:
        app = applications.update(
            register_store(),
            args.id,
            tables=args.tables,
            applied_on=args.applied_on,
            applicant=args.applicant,
            note=args.note,
            **_decision(args),
        )
    except RegisterError as exc:
        return _refuse(str(exc))
    print("\n".join(applications.format_items([app])))
    print(f"编目数据申请 #{app['id']} 已更新：{app['status']}")
    return 0


def cmd_notice_add(args: argparse.Namespace) -> int:
    from . import notices

    try:
        new_id = notices.add(
            register_store(),
            notice_no=args.notice_no,
            received_on=args.received_on,
            hosts=args.hosts,
            items=args.items,
            note=args.note,
        )
    except RegisterError as exc:
        return _refuse(str(exc))
    print(
        f"安全通报 #{new_id} 已登记；安装补丁后登记 `shaoxing-ops notice update {new_id} --patched all --on YYYY-MM-DD`"
    )
    return 0


def cmd_notice_list(args: argparse.Namespace) -> int:
    from . import notices

    try:
        as_of = _since(args.as_of, "--as-of")
    except RegisterError as exc:
        return _refuse(str(exc))
    found = notices.state(register_store(), as_of or dt.date.max)
    found = [x for x in found if x["open"] or not args.open]
    print("\n".join(notices.format_items(found)))
    if found:
        print(f"共 {len(found)} 份，其中未确认 {sum(x['open'] for x in found)} 份")
    return 0


def cmd_notice_update(args: argparse.Namespace) -> int:
    from . import notices

    fields = ("notice_no", "received_on", "hosts", "items", "note", "patched", "confirmed_by")
    if all(getattr(args, f) is None for f in fields):
        return _refuse("没有要修改的内容：给出 --patched、--confirmed-by 或要更正的字段")
    try:
        notice = notices.update(
            register_store(),
            args.id,
            notice_no=args.notice_no,
            received_on=args.received_on,
            hosts=args.hosts,
            items=args.items,
            note=args.note,
            patched=args.patched,
            patched_hosts=args.host,
            confirmed_by=args.confirmed_by,
            on=args.on,
            by=args.by,
        )
    except RegisterError as exc:
        return _refuse(str(exc))
    print("\n".join(notices.format_items([notice])))
    if args.confirmed_by and notice["remaining"]:
        left = "；".join(f"{h}: {'、'.join(i)}" for h, i in notice["remaining"].items())
        print(f"warning: 通报已确认，但仍有未登记安装的项：{left}", file=sys.stderr)
    return 0


def _consult_fields(args: argparse.Namespace) -> dict[str, Any]:
    names = ("asked_on", "channel", "system", "question", "answer", "asker", "contact", "answered_by")
    return {**{n: getattr(args, n) for n in names}, "minutes_taken": args.minutes}


def cmd_consult_add(args: argparse.Namespace) -> int:
    from . import consultations

    try:
        new_id = consultations.add(register_store(), **_consult_fields(args))
    except RegisterError as exc:
        return _refuse(str(exc))
    item = consultations.items(register_store(), ids=[new_id])[0]
    print(
        f"技术咨询 #{new_id} 已登记（{item['asked_on']}，{item['channel']}，{item['system']}，{item['minutes']} 分钟）"
    )
    return 0


def cmd_consult_update(args: argparse.Namespace) -> int:
    from . import consultations

    fields = {k: v for k, v in _consult_fields(args).items() if v is not None}
    if not fields:
        return _refuse("没有要修改的内容：给出要修改的字段，如 --answer")
    try:
        item = consultations.update(register_store(), args.id, **fields)
    except RegisterError as exc:
        return _refuse(str(exc))
    print("\n".join(consultations.format_items([item])))
    return 0


def cmd_consult_list(args: argparse.Namespace) -> int:
    from . import consultations

    try:
        first, last = _since(args.since, "--since"), _since(args.until, "--until")
    except RegisterError as exc:
        return _refuse(str(exc))
    reg = register_store()
    found = consultations.items(reg, first, last)
    print("\n".join(consultations.format_items(found)))
    if found:
        s = consultations.summary(reg, first or dt.date.min, last or dt.date.max)
        by = "；".join(f"{x['name']} {x['count']} 次" for x in s["by_channel"])
        print(f"共 {s['count']} 次，用时 {s['minutes']} 分钟（{by}）")
    return 0
