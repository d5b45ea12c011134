"""``shaoxing-ops feedback add|list|update|route|print|resolve``: the 问题反馈登记 of problems users report.

Each handler returns an exit code: 0 done, 1 done with a warning, 2 refused (bad input), with the reason on
stderr and no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from shaoxing_ops.operations import feedback
from shaoxing_ops.operations.records import (
    FEEDBACK_CHANNELS,
    FEEDBACK_KINDS,
    FEEDBACK_SEVERITIES,
    FeedbackError,
)
from shaoxing_ops.operations.registers import RegisterError, parse_date

from .shared import add_command, item_command, ops_store, refuse, refusing


def add_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser("feedback", help="问题反馈登记: add, list, resolve")
    sub = parser.add_subparsers(dest="feedback_command", required=True)

    p = add_command(sub, "add", "register a problem reported by a user", cmd_feedback_add)
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

    p = add_command(sub, "list", "list feedback items (phone numbers masked)", cmd_feedback_list)
    p.add_argument("--status", choices=("open", "resolved", "all"), default="all")
    p.add_argument("--since", help="opened on or after this day, YYYY-MM-DD")
    p.add_argument("--type", dest="kind", help=f"only this type: {', '.join(FEEDBACK_KINDS)}")
    p.add_argument(
        "--unsent", action="store_true", help="only change requests (需求变更) not yet sent to 市局"
    )

    help_text = "classify an item (type, severity) or correct its system"
    p = item_command(sub, "update", help_text, cmd_feedback_update)
    p.add_argument("--type", dest="kind", help=f"问题类型: {', '.join(FEEDBACK_KINDS)}")
    p.add_argument("--severity", help=f"严重程度: {', '.join(FEEDBACK_SEVERITIES)}")
    p.add_argument("--system", help="应用系统")

    help_text = "record that an item was submitted (需求变更: to 市局) and when"
    p = item_command(sub, "route", help_text, cmd_feedback_route)
    p.add_argument("--to", default="市局", help="市局 (default; every 需求变更 goes there) or 省局")
    p.add_argument("--sent-on", required=True, help="报送日期, YYYY-MM-DD")

    help_text = "write the printable 应用系统问题反馈单 of an item (HTML, Word, PDF)"
    p = item_command(sub, "print", help_text, cmd_feedback_print)
    p.add_argument("--out", help="folder to write it to (default: the reports folder's feedback/)")

    p = item_command(sub, "resolve", "close an open item with what was done", cmd_feedback_resolve)
    p.add_argument("--resolution", required=True, help="处理结果")
    p.add_argument("--by", required=True, dest="resolved_by", help="处理人")


@refusing(FeedbackError)
def cmd_feedback_add(args: argparse.Namespace) -> int:
    store = ops_store()
    new_id = feedback.add(
        store,
        system=args.system,
        channel_text=args.channel,
        reporter=args.reporter,
        description=args.description,
        contact_text=args.contact,
        kind_text=args.kind,
        severity_text=args.severity,
    )
    item = store.feedback_item(new_id) or {}
    print(
        f"问题反馈 #{new_id} 已登记（{args.system}，{args.channel}，{args.reporter}，"
        f"{item.get('kind')}，{item.get('severity')}）"
    )
    if item.get("kind") == "需求变更":
        print(
            f"需求变更须提交市局：报送后登记 `shaoxing-ops feedback route {new_id} --to 市局 --sent-on YYYY-MM-DD`"
        )
    return 0


@refusing(RegisterError, FeedbackError)
def cmd_feedback_list(args: argparse.Namespace) -> int:
    since_day = parse_date(args.since, "--since") if args.since else None
    kind = feedback.kind(args.kind) if args.kind else None
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


@refusing(FeedbackError)
def cmd_feedback_update(args: argparse.Namespace) -> int:
    if args.kind is None and args.severity is None and args.system is None:
        return refuse("没有要修改的内容：给出 --type、--severity 或 --system")
    item = feedback.update(
        ops_store(), args.id, kind_text=args.kind, severity_text=args.severity, system=args.system
    )
    print(f"问题反馈 #{item['id']} 已更新：{item['system']}，{item['kind']}，{item['severity']}")
    return 0


@refusing(FeedbackError)
def cmd_feedback_route(args: argparse.Namespace) -> int:
    item = feedback.route(ops_store(), args.id, to=args.to, sent_on=args.sent_on)
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
        return refuse(f"问题反馈 #{args.id} 不存在：用 `shaoxing-ops feedback list` 查看编号")
    try:
        html, documents = write_feedback_form(item, Path(args.out) if args.out else None)
    except DocumentError as exc:
        return refuse(str(exc))
    for path in (html, documents.docx, documents.pdf):
        if path is not None:
            print(path)
    if documents.missing:
        print(f"warning: {documents.missing}", file=sys.stderr)
        return 1
    return 0


@refusing(FeedbackError)
def cmd_feedback_resolve(args: argparse.Namespace) -> int:
    item = ops_store().resolve_feedback(args.id, args.resolution, args.resolved_by)
    print(f"问题反馈 #{item['id']} 已处理（{item['resolved_by']}，{item['resolved_at']:%Y-%m-%d %H:%M}）")
    return 0
