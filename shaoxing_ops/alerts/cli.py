"""``shaoxing-ops alert test [--channel NAME]``: a test message through each configured channel."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from shaoxing_ops import settings

from .channels import CHANNEL_VARIABLES, ChannelConfigError, Message, channels_from_env
from .notifier import Notifier


def add_alert_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "alert", help="alerts: send a test message through the configured channels"
    )
    sub = parser.add_subparsers(dest="alert_command", required=True)
    p = sub.add_parser(
        "test", help="send a test message through each configured channel; non-zero if any failed"
    )
    p.add_argument("--channel", choices=tuple(CHANNEL_VARIABLES), help="only this channel")
    p.set_defaults(func=cmd_alert_test)
    return parser


def cmd_alert_test(args: argparse.Namespace) -> int:
    try:
        channels = channels_from_env()
    except ChannelConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.channel:
        channels = [c for c in channels if c.name == args.channel]
    if not channels:
        wanted = (
            CHANNEL_VARIABLES[args.channel] if args.channel else [v[0] for v in CHANNEL_VARIABLES.values()]
        )
        print(f"error: no alert channel is configured; set {' or '.join(wanted)}", file=sys.stderr)
        return 2
    now = dt.datetime.now(settings.TZ).strftime("%Y-%m-%d %H:%M:%S")
    message = Message(
        "告警通道测试", (f"这是 shaoxing-ops 于 {now} 发出的测试消息，收到即表示该通道可用。",), "通知"
    )
    notifier = Notifier(channels, attempts=1)
    failed = 0
    for i, channel in enumerate(channels, 1):
        error = notifier.deliver(channel, message)
        failed += error is not None
        print(
            f"[{i}/{len(channels)}] {channel.name}: " + ("sent" if error is None else f"FAILED: {error}"),
            flush=True,
        )
    return 1 if failed else 0
