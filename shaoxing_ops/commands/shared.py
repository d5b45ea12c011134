"""What the command modules share: a line out, a ticker for quiet steps, a refusal, sub-commands and the
argument types of dates and months, the ops store, and the embedded Dagster instance the commands use by
default."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shaoxing_ops.exchange.records import ExchangeRecords
    from shaoxing_ops.operations.records import OperationsRecords


def say(text: str) -> None:
    """A line on stdout at once: a long command shows where it is while it runs."""
    print(text, flush=True)


@contextmanager
def ticking(label: str, progress: Callable[[], str] | None = None, every: float = 4.5) -> Iterator[None]:
    """A line every ``every`` seconds while a step that prints nothing itself runs: a long command never goes
    quiet. ``progress`` adds how far it has got."""
    started, stop = time.perf_counter(), threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            say(
                f"          … {label}: {progress() if progress else f'{time.perf_counter() - started:,.1f}s'}"
            )

    thread = threading.Thread(target=tick, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def refuse(message: str) -> int:
    """The exit code of a refused command (2), its reason on stderr and no traceback."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def refusing(*errors: type[Exception]) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """A command that refuses (exit 2, the message on stderr) when the library raises one of ``errors``: they
    say what the operator typed wrong."""

    def wrap(command: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(command)
        def refused_on_error(args: argparse.Namespace) -> int:
            try:
                return command(args)
            except errors as exc:
                return refuse(str(exc))

        return refused_on_error

    return wrap


def add_command(
    sub: Any, name: str, help_text: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """The sub-command ``name`` that runs ``func``."""
    p = sub.add_parser(name, help=help_text)
    p.set_defaults(func=func)
    return p


def item_command(
    sub: Any, name: str, help_text: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """The sub-command ``name`` that runs ``func`` on the register item numbered ``ID``."""
    p = add_command(sub, name, help_text, func)
    p.add_argument("id", type=int, metavar="ID")
    return p


def date_argument(text: str) -> dt.date:
    """``YYYY-MM-DD`` as an argument type: argparse says what is wrong with a bad one."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def month_argument(text: str) -> str:
    """``YYYY-MM`` as an argument type, kept as the text."""
    try:
        dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; use YYYY-MM, e.g. 2026-10") from None
    return text


def ops_store() -> OperationsRecords:
    """The operations' records (hosts, feedback, registers) in the configured ops database, made on first use."""
    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.operations.records import OperationsRecords

    return OperationsRecords(engine_for("ops")).ensure()


def exchange_records() -> ExchangeRecords:
    """The exchange's records (quarantine, escalations, audits) in the configured ops database."""
    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.exchange.records import ExchangeRecords

    return ExchangeRecords(engine_for("ops")).ensure()


def embedded_event_log(runs: Path) -> dict:
    """The embedded default instance's event-log storage with its databases in ``runs``: for an instance made
    elsewhere (the tests', the benchmarks') to write events as ``shaoxing-ops`` runs do."""
    import yaml

    storage = yaml.safe_load(embedded_instance_yaml())["event_log_storage"]
    return {**storage, "config": {"base_dir": str(runs)}}


def embedded_instance_yaml() -> str:
    """The embedded default instance's dagster.yaml (the repository's top-level dagster.yaml is this file)."""
    return resources.files("shaoxing_ops").joinpath("embedded_instance.yaml").read_text(encoding="utf-8")


def ensure_dagster_home() -> Path:
    """Use ``DAGSTER_HOME`` or ``./var/dagster``, creating the embedded instance's config on first use."""
    home = Path(os.environ.get("DAGSTER_HOME") or "var/dagster").absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists():
        # The folder named outright: an instance opened by path (DagsterInstance.from_config) with no
        # DAGSTER_HOME set must still find its event log here.
        runs = json.dumps(str(home / "history" / "runs"))
        config.write_text(f"{embedded_instance_yaml()}  config:\n    base_dir: {runs}\n", encoding="utf-8")
    return home
