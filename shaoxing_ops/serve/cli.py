"""``shaoxing-ops serve`` (the production set behind nginx) and ``shaoxing-ops serve user add|remove|list``."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from .proxy import ROOT, ServeConfig, ServeError, default_state_dir, free_port, serve
from .users import ROLES, UserError, add_user, default_users_dir, remove_user, users


def _port(name: str, default: str) -> int:
    text = os.environ.get(name, default)
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"error: {name}={text!r} is not a port number") from None


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="the production set behind nginx with log-in: operators and read-only viewers"
    )
    p.add_argument(
        "--host",
        default=os.environ.get("SXOPS_SERVE_HOST", "0.0.0.0"),
        help="address nginx listens on (SXOPS_SERVE_HOST, default 0.0.0.0)",
    )
    p.add_argument(
        "--port", type=int, default=None, help="public port of nginx (SXOPS_SERVE_PORT, default 8080)"
    )
    p.add_argument(
        "--operator-port",
        type=int,
        default=None,
        help="writable webserver on 127.0.0.1 (SXOPS_OPERATOR_PORT, default 3001; 0: any free port)",
    )
    p.add_argument(
        "--viewer-port",
        type=int,
        default=None,
        help="read-only webserver on 127.0.0.1 (SXOPS_VIEWER_PORT, default 3002; 0: any free port)",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the rendered nginx.conf, pid and logs go (SXOPS_SERVE_DIR, default DAGSTER_HOME/../serve)",
    )
    p.add_argument(
        "--users-dir",
        type=Path,
        default=None,
        help="the htpasswd files (SXOPS_USERS_DIR, default DAGSTER_HOME/../users)",
    )
    p.add_argument(
        "--tls-cert",
        type=Path,
        default=os.environ.get("SXOPS_TLS_CERT") or None,
        help="PEM certificate (chain) for https (SXOPS_TLS_CERT)",
    )
    p.add_argument(
        "--tls-key",
        type=Path,
        default=os.environ.get("SXOPS_TLS_KEY") or None,
        help="its private key (SXOPS_TLS_KEY)",
    )
    p.add_argument("--workspace", type=Path, default=ROOT / "workspace.yaml", help="Dagster workspace file")
    p.add_argument(
        "--no-daemon",
        action="store_true",
        help="leave the daemon out (it runs as its own service, or the instance needs none)",
    )
    p.set_defaults(func=cmd_serve, user_action=None)

    users_sub = p.add_subparsers(dest="serve_command")
    u = users_sub.add_parser(
        "user", help="who may log in: add (password from stdin or a prompt), remove, list"
    )
    u.add_argument("user_action", choices=("add", "remove", "list"))
    u.add_argument("name", nargs="?")
    u.add_argument("--role", choices=ROLES, help="operator: everything; viewer: the read-only webserver")
    u.add_argument("--users-dir", dest="user_users_dir", type=Path, default=None)
    u.set_defaults(func=cmd_user)


def _read_password() -> str:
    """From stdin when it is not a terminal (one line), else asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再次输入 / again: ") != first:
        raise UserError("两次输入的密码不一致 / the passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    folder = (args.user_users_dir or args.users_dir or default_users_dir()).absolute()
    try:
        if args.user_action == "list":
            for name, role in users(folder):
                print(f"{name}\t{role}")
            return 0
        if not args.name:
            raise UserError("请给出用户名 / name the user")
        if args.user_action == "remove":
            if not remove_user(folder, args.name):
                raise UserError(f"用户 {args.name} 不存在")
            print(f"removed {args.name} ({folder})")
            return 0
        if not args.role:
            raise UserError("请用 --role operator|viewer 指定角色")
        add_user(folder, args.name, args.role, _read_password())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.name}: {args.role} ({folder})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from shaoxing_ops.commands.shared import ensure_dagster_home

    ensure_dagster_home()  # the children's instance: DAGSTER_HOME, or the embedded default's ./var/dagster
    port = args.port if args.port is not None else _port("SXOPS_SERVE_PORT", "8080")
    operator = args.operator_port if args.operator_port is not None else _port("SXOPS_OPERATOR_PORT", "3001")
    viewer = args.viewer_port if args.viewer_port is not None else _port("SXOPS_VIEWER_PORT", "3002")
    state = args.state_dir or (
        Path(os.environ["SXOPS_SERVE_DIR"]) if os.environ.get("SXOPS_SERVE_DIR") else None
    )
    config = ServeConfig(
        host=args.host,
        port=port,
        operator_port=operator or free_port(),
        viewer_port=viewer or free_port(),
        state_dir=(state or default_state_dir()).absolute(),
        users_dir=(args.users_dir or default_users_dir()).absolute(),
        workspace=args.workspace.absolute(),
        tls_cert=args.tls_cert.absolute() if args.tls_cert else None,
        tls_key=args.tls_key.absolute() if args.tls_key else None,
        daemon=not args.no_daemon,
    )
    try:
        return serve(config, say=lambda text: print(text, flush=True))
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
