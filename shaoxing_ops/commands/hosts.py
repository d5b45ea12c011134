"""``shaoxing-ops host collect|assess|list|forget``: host monitoring, a sample of this host (and, on the
application server, of the platform's databases) and each host's resource assessment (资源评估).

Each handler returns an exit code: 0 done, 1 done with a warning (a database could not be measured, a host
went silent), 2 refused (bad input), with the reason on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from shaoxing_ops import settings
from shaoxing_ops.exchange.opsdb import now_local
from shaoxing_ops.operations.assessment import ROLE_CN
from shaoxing_ops.operations.text import table

from .shared import ops_store, refuse


def add_parsers(subparsers: Any) -> None:
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


def human_bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # unreachable, keeps type checkers content


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

    from shaoxing_ops.operations.databases import measure_databases
    from shaoxing_ops.operations.hostmetrics import DATABASE_OBJECT, collect

    role = args.role or settings.host_role()
    try:
        database = _host_database(args)
    except (OSError, ValueError, ArgumentError) as exc:
        return refuse(
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
    from shaoxing_ops.operations.assessment import assess_hosts, describe

    if args.days <= 0:
        return refuse("--days must be positive")
    now = now_local()
    store = ops_store()
    registered = [h for h in store.hosts() if not args.host or h["name"] == args.host]
    results = assess_hosts(store.metrics(now - dt.timedelta(days=args.days), host=args.host), now, registered)
    if args.host and not results:
        return refuse(f"host {args.host!r} has never reported; see `shaoxing-ops host list`")
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
        return refuse(f"host {args.name!r} is not registered; see `shaoxing-ops host list`")
    print(f"已移除主机 {args.name}（其采样按保留期自动清理）")
    return 0
