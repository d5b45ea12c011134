"""The ``shaoxing-ops`` command: the top-level parser and the dispatch. Each capability's sub-commands live in a
module of ``shaoxing_ops.commands`` (and ``alerts.cli``, ``serve.cli``) that registers its own parsers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shaoxing_ops import collector, settings


def build_parser() -> argparse.ArgumentParser:
    from shaoxing_ops.alerts.cli import add_alert_parser
    from shaoxing_ops.commands import demo, exchange, feedback, hosts, registers, reports, simulate, stats
    from shaoxing_ops.serve.cli import add_serve_parser

    parser = argparse.ArgumentParser(
        prog="shaoxing-ops", description="绍兴市市场监督管理局 data exchange platform"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    simulate.add_parsers(sub)  # the order of `shaoxing-ops --help`
    demo.add_parsers(sub)
    exchange.add_parsers(sub)
    stats.add_parsers(sub)
    reports.add_parsers(sub)
    feedback.add_parsers(sub)
    registers.add_parsers(sub)
    hosts.add_parsers(sub)
    add_alert_parser(sub)
    add_serve_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import sqlalchemy as sa

    from shaoxing_ops.catalog import CatalogError
    from shaoxing_ops.exchange import ExchangeError, faults
    from shaoxing_ops.exchange.dbs import DatabaseConfigError, connect_error
    from shaoxing_ops.simulate.run import SimulationError

    args = build_parser().parse_args(argv)
    collector.tune()  # the commands simulate, load and check: allocation-heavy (``collector``)
    try:
        return int(args.func(args) or 0)
    except (
        CatalogError,
        ExchangeError,
        SimulationError,
        DatabaseConfigError,
        settings.SettingsError,
        faults.FaultError,
    ) as exc:  # these say what to do next: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sa.exc.DBAPIError as exc:
        message = connect_error(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
