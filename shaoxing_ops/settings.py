"""Where the platform's data lives, read from the environment with a zero-setup default.

With nothing set, every database is a SQLite file under ``SXOPS_DATA_DIR`` (default ``./var/data``), so the
whole platform runs on a bare machine; production points the URLs at PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Shanghai"
TZ = ZoneInfo(TIMEZONE)
ROLES = ("province", "front", "bureau")
DEFAULT_START_DATE = "2026-01-01"


class SettingsError(ValueError):
    """A setting in the environment is wrong; the message names the variable and what to do."""


def data_dir() -> Path:
    return Path(os.environ.get("SXOPS_DATA_DIR", "var/data")).absolute()


def sqlite_url(role: str) -> str:
    return f"sqlite:///{data_dir() / f'{role}.db'}"


def _from_env_or_file(name: str) -> str | None:
    """``NAME``, or the content of the file ``NAME_FILE`` names (a mounted secret): a password then lives in
    no environment listing and no shell history."""
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(
            f"{name}_FILE={path!r} cannot be read ({exc.strerror}); fix the path or its rights"
        ) from None


def database_url(role: str) -> str:
    """SQLAlchemy URL of a database role (province | front | bureau | ops) from ``SXOPS_<ROLE>_URL`` or the
    file ``SXOPS_<ROLE>_URL_FILE`` names."""
    if role == "ops":
        return _from_env_or_file("SXOPS_OPS_URL") or database_url("front")
    if role not in ROLES:
        raise ValueError(f"unknown database role {role!r}; expected one of {ROLES} or 'ops'")
    return _from_env_or_file(f"SXOPS_{role.upper()}_URL") or sqlite_url(role)


def start_date() -> dt.date:
    """First day of the daily partitions (``SXOPS_START_DATE``)."""
    text = os.environ.get("SXOPS_START_DATE", DEFAULT_START_DATE)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"SXOPS_START_DATE={text!r} is not a date; use YYYY-MM-DD") from None


def today() -> dt.date:
    return dt.datetime.now(TZ).date()


def _non_negative(name: str, default: str, what: str, example: str) -> float:
    """A number >= 0 from the environment, or a one-line error naming the variable and an example."""
    text = os.environ.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise SettingsError(f"{name}={text!r} is not {what} >= 0; use e.g. {example}")
    return value


def retry_delay_seconds() -> float:
    """``SXOPS_RETRY_DELAY_SECONDS``: the wait before a step's first retry of a passing fault (default 5 s)."""
    return _non_negative("SXOPS_RETRY_DELAY_SECONDS", "5", "a number of seconds", "5")


def simulation() -> bool:
    """``SXOPS_SIMULATION=1``: the province is the stand-in and its armed faults act (the demo and the tests).
    Off by default: a production configuration never touches the stand-in's ``sim_*`` tables."""
    return os.environ.get("SXOPS_SIMULATION", "0") == "1"


def repush_interval_seconds() -> int:
    """``SXOPS_REPUSH_INTERVAL_SECONDS``: how often the re-push sensors look for failures (default 60 s), the
    longest a failed table-day waits before its re-push is requested."""
    return max(1, round(_non_negative("SXOPS_REPUSH_INTERVAL_SECONDS", "60", "a number of seconds", "60")))


def volume_scale() -> float:
    """``SXOPS_VOLUME_SCALE``: the catalog's expected volumes are Shaoxing's real size; a smaller site (or the
    demo's stand-in at ``--scale``) says by how much, for the ``volume`` check while history is short."""
    return _non_negative("SXOPS_VOLUME_SCALE", "1", "a number", "1 or 0.02")


FULL_RECONCILE_MODES = ("weekly", "daily")


def full_reconcile() -> str:
    """``SXOPS_FULL_RECONCILE``: how often the nightly ``reconcile`` check compares a whole table, ``weekly``
    (default: each table on its own weekday, the other nights the window's changed rows) or ``daily``."""
    mode = os.environ.get("SXOPS_FULL_RECONCILE", "weekly")
    if mode not in FULL_RECONCILE_MODES:
        raise SettingsError(f"SXOPS_FULL_RECONCILE={mode!r} is not a schedule; use weekly or daily")
    return mode


def host_name() -> str:
    """The name this host's samples are recorded under (``SXOPS_HOST_NAME``, default its hostname)."""
    import socket

    return os.environ.get("SXOPS_HOST_NAME") or socket.gethostname()


HOST_ROLES = ("app", "db")  # application server (Dagster, webserver) | database server


def host_role() -> str:
    """``app`` or ``db`` (``SXOPS_HOST_ROLE``): what the assessment and reports call this host."""
    role = os.environ.get("SXOPS_HOST_ROLE", "app")
    if role not in HOST_ROLES:
        raise SettingsError(f"SXOPS_HOST_ROLE={role!r} is not a host role; use app or db")
    return role


def host_database_url() -> str | None:
    """The database server a database host serves (``SXOPS_HOST_DB_URL`` or the file ``..._FILE`` names):
    ``host collect --role db`` samples its connections, cache hits, transactions and sizes."""
    return _from_env_or_file("SXOPS_HOST_DB_URL")


def contract() -> dict[str, str]:
    """The operations contract as the deliverables' covers and signature blocks name it: 甲方 (the client),
    乙方 (``SXOPS_CONTRACTOR``), the project (``SXOPS_PROJECT_NAME``) and its number (``SXOPS_CONTRACT_NO``)."""
    return {
        "client": "绍兴市市场监督管理局",
        "contractor": os.environ.get("SXOPS_CONTRACTOR", "").strip() or "运维服务单位",
        "project": os.environ.get("SXOPS_PROJECT_NAME", "").strip()
        or "绍兴市市场监督管理局数据交换运维服务项目",
        "number": os.environ.get("SXOPS_CONTRACT_NO", "").strip(),
    }
