"""``feedback`` and ``host`` sub-commands, registered on the ``shaoxing-ops`` parser by its owner.

Each handler returns an exit code: 0 done, 1 done with a warning (a database could not be measured), 2 refused
(bad input), with the reason on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
from typing import Any

from shaoxing_ops import settings
from shaoxing_ops.exchange.opsdb import FEEDBACK_CHANNELS, FeedbackError, OpsStore, now_local

DB_ROLES = ("province", "front", "bureau", "ops")


def ops_store() -> OpsStore:
    from shaoxing_ops.exchange.dbs import engine_for

    return OpsStore(engine_for("ops")).ensure()


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


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
    p.set_defaults(func=cmd_feedback_add)

    p = sub.add_parser("list", help="list feedback items (phone numbers masked)")
    p.add_argument("--status", choices=("open", "resolved", "all"), default="all")
    p.add_argument("--since", type=dt.date.fromisoformat, help="opened on or after this day, YYYY-MM-DD")
    p.set_defaults(func=cmd_feedback_list)

    p = sub.add_parser("resolve", help="close an open item with what was done")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--resolution", required=True, help="处理结果")
    p.add_argument("--by", required=True, dest="resolved_by", help="处理人")
    p.set_defaults(func=cmd_feedback_resolve)
    return parser


def cmd_feedback_add(args: argparse.Namespace) -> int:
    from . import feedback

    try:
        new_id = feedback.add(ops_store(), system=args.system, channel_text=args.channel, reporter=args.reporter,
                              description=args.description, contact_text=args.contact)  # fmt: skip
    except FeedbackError as exc:
        return _refuse(str(exc))
    print(f"问题反馈 #{new_id} 已登记（{args.system}，{args.channel}，{args.reporter}）")
    return 0


def cmd_feedback_list(args: argparse.Namespace) -> int:
    from . import feedback

    since = dt.datetime.combine(args.since, dt.time()) if args.since else None
    status = None if args.status == "all" else args.status
    items = ops_store().feedback_items(status=status, opened_since=since)
    for line in feedback.format_items(items):
        print(line)
    if items:
        open_count = sum(i["status"] == "open" for i in items)
        print(f"共 {len(items)} 条，其中待处理 {open_count} 条")
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
    parser = subparsers.add_parser("host", help="host monitoring: sample, assess (资源评估)")
    sub = parser.add_subparsers(dest="host_command", required=True)

    p = sub.add_parser("sample", help="record one sample of this host and the sizes of the databases")
    p.add_argument("--host", help="name recorded for this host (default: its hostname)")
    p.add_argument("--retention-days", type=int, default=30, help="drop samples older than this (default 30)")
    p.set_defaults(func=cmd_host_sample)

    p = sub.add_parser("assess", help="peak, p95, trend and scaling advice (扩容/保持/缩容)")
    p.add_argument("--days", type=float, default=7, help="history to assess (default 7)")
    p.add_argument("--host", help="host to assess (default: this hostname)")
    p.add_argument("--json", action="store_true", help="print the assessment as JSON")
    p.set_defaults(func=cmd_host_assess)
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


def cmd_host_sample(args: argparse.Namespace) -> int:
    from .hostmetrics import DATABASE_OBJECT, collect
    from .text import table

    store = ops_store()
    got = collect(store, host=args.host, retention_days=args.retention_days)
    print(f"主机 {got.host}  采样时间 {got.sampled_at:%Y-%m-%d %H:%M:%S}  （清理过期记录 {got.pruned} 条）")
    for name, value in got.samples.items():
        shown = (
            human_bytes(value) if "bytes" in name else f"{value:.1f}%" if "percent" in name else f"{value:g}"
        )
        print(f"  {name:<28} {shown}")
    rows, warnings = measure_databases()
    store.record_db_sizes(rows, at=got.sampled_at)
    cells = [
        [r["role"], r["database_name"], "数据库合计" if r["object_name"] == DATABASE_OBJECT else r["object_name"],
         human_bytes(r["bytes"])]
        for r in rows
    ]  # fmt: skip
    if cells:
        print("\n".join("  " + line for line in table(["角色", "数据库", "对象", "大小"], cells, right=[3])))
    for warning in warnings:
        print(f"warning: 无法统计数据库大小 {warning}", file=sys.stderr)
    return 1 if warnings else 0


def cmd_host_assess(args: argparse.Namespace) -> int:
    from .assessment import assess, describe

    if args.days <= 0:
        return _refuse("--days must be positive")
    now = now_local()
    host = args.host or socket.gethostname()
    rows = ops_store().metrics(now - dt.timedelta(days=args.days), host=host)
    result = assess(rows, now)
    result.hosts = result.hosts or [host]
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(describe(result)))
    return 0
