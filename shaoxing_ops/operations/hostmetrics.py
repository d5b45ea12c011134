"""What the host and its databases use: one psutil sample, recorded in the operations' records, and database
sizes.

Counters (network, disk I/O) are stored cumulative as psutil gives them: rates are differences of two
samples, and a reboot shows as a drop rather than being hidden by a rate computed at sampling time.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops import settings
from shaoxing_ops.exchange.dbs import is_postgres, reading
from shaoxing_ops.exchange.opsdb import now_local

from .assessment import DB_BYTES_PREFIX
from .records import OperationsRecords

DATABASE_OBJECT = "__database__"
TOP_TABLES = 10
CPU_INTERVAL = 0.5  # seconds psutil watches the CPU: a 0-interval reading is meaningless on first call

# Filesystems that hold no data of ours: memory, kernel views, read-only images, network shares of others.
PSEUDO_FS = {
    "tmpfs",
    "devtmpfs",
    "devfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "devpts",
    "autofs",
    "binfmt_misc",
    "squashfs",
    "iso9660",
    "nsfs",
    "ramfs",
    "rpc_pipefs",
    "efivarfs",
}
PSEUDO_MOUNT_PREFIXES = ("/proc", "/sys", "/dev", "/run", "/snap", "/boot/efi")


def data_mounts() -> list[str]:
    """Mount points of real partitions, one per device (bind mounts of the same device counted once)."""
    by_device: dict[str, str] = {}
    for part in psutil.disk_partitions(all=False):
        mount = part.mountpoint
        if part.fstype in PSEUDO_FS or mount.startswith(PSEUDO_MOUNT_PREFIXES):
            continue
        known = by_device.get(part.device)
        if known is None or len(mount) < len(known):  # keep the shortest path: "/" rather than a bind
            by_device[part.device] = mount
    mounts = sorted(set(by_device.values()))
    return mounts or ["/"]


def sample(disks: list[str] | None = None) -> dict[str, float]:
    """One reading of the host: CPU, memory, swap, load, disk use per mount and cumulative I/O counters."""
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    values: dict[str, float] = {
        "cpu_percent": psutil.cpu_percent(interval=CPU_INTERVAL),
        "cpu_count": float(psutil.cpu_count() or 1),
        "memory_percent": memory.percent,
        "memory_total_bytes": float(memory.total),
        "memory_used_bytes": float(memory.total - memory.available),
        "swap_percent": swap.percent,
        "swap_total_bytes": float(swap.total),
    }
    values.update(zip(("load_1m", "load_5m", "load_15m"), psutil.getloadavg(), strict=True))
    for mount in disks if disks is not None else data_mounts():
        try:
            usage = psutil.disk_usage(mount)
        except OSError:  # unmounted since it was listed, or not readable: skip rather than fail the sample
            continue
        if usage.total == 0:
            continue
        values[f"disk_percent:{mount}"] = usage.percent
        values[f"disk_used_bytes:{mount}"] = float(usage.used)
        values[f"disk_total_bytes:{mount}"] = float(usage.total)
    net = psutil.net_io_counters()
    if net is not None:
        values["net_sent_bytes"], values["net_recv_bytes"] = float(net.bytes_sent), float(net.bytes_recv)
    io = psutil.disk_io_counters()
    if io is not None:  # None in some containers
        values["disk_read_bytes"], values["disk_write_bytes"] = float(io.read_bytes), float(io.write_bytes)
    return values


@dataclass
class Collected:
    host: str
    sampled_at: dt.datetime
    samples: dict[str, float] = field(default_factory=dict)
    pruned: int = 0
    role: str = "app"


def collect(
    store: OperationsRecords,
    host: str | None = None,
    retention_days: int = 30,
    disks: list[str] | None = None,
    role: str | None = None,
    database: Engine | None = None,
) -> Collected:
    """Record one sample of this host, tagged with its name and role (by default ``settings.host_name()`` and
    ``host_role()``), and drop samples (and database sizes) older than the retention. With ``database`` (the server a database host serves) its own figures are
    sampled too (``database_figures``)."""
    at = now_local()
    values = sample(disks)
    if database is not None:
        values.update(database_figures(database))
    result = Collected(host or settings.host_name(), at, values, role=role or settings.host_role())
    store.register_host(result.host, result.role, at=at)
    store.record_metrics(result.host, result.samples, at=at)
    cutoff = at - dt.timedelta(days=retention_days)
    result.pruned = store.prune_metrics(cutoff) + store.prune_db_sizes(cutoff)
    return result


# A database server's own figures, stored as metrics of its host (cumulative counters as the server gives them):
#   db_connections, db_max_connections    client connections now, and the server's limit
#   db_cache_hits, db_cache_reads         block reads served from memory / from disk, cumulative
#   db_longest_transaction_seconds        age of the oldest open transaction (0 when none)
#   db_bytes:<database>                   size of each database

PG_FIGURES = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
       current_setting('max_connections')::int AS max_connections,
       (SELECT COALESCE(sum(blks_hit), 0) FROM pg_stat_database) AS cache_hits,
       (SELECT COALESCE(sum(blks_read), 0) FROM pg_stat_database) AS cache_reads,
       (SELECT COALESCE(max(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)), 0) FROM pg_stat_activity
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()) AS longest_transaction
"""
PG_DATABASES = "SELECT datname, pg_database_size(datname) FROM pg_database WHERE NOT datistemplate ORDER BY 1"
MYSQL_STATUS = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN "
    "('Threads_connected', 'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads')"
)
MYSQL_LONGEST = (
    "SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())), 0) FROM information_schema.innodb_trx"
)
MYSQL_DATABASES = """
SELECT table_schema, SUM(COALESCE(data_length, 0) + COALESCE(index_length, 0)) FROM information_schema.tables
WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
GROUP BY table_schema ORDER BY 1
"""


def database_figures(engine: Engine) -> dict[str, float]:
    """Connections, cache counters, the longest open transaction and every database's size of the server
    ``engine`` reaches (PostgreSQL from its statistics views, MariaDB/MySQL from its status counters)."""
    if is_postgres(engine):
        with reading(engine.connect()) as conn:
            row = conn.execute(sa.text(PG_FIGURES)).one()
            sizes = conn.exec_driver_sql(PG_DATABASES).all()
        connections, limit, hits, reads, longest = row
    elif engine.dialect.name in ("mysql", "mariadb"):
        with reading(engine.connect()) as conn:
            status = {name: float(value) for name, value in conn.exec_driver_sql(MYSQL_STATUS).all()}
            limit = float(conn.exec_driver_sql("SELECT @@max_connections").scalar_one())
            longest = conn.exec_driver_sql(MYSQL_LONGEST).scalar_one()
            sizes = conn.exec_driver_sql(MYSQL_DATABASES).all()
        connections = status.get("Threads_connected", 0.0)
        requests, reads = (
            status.get("Innodb_buffer_pool_read_requests", 0.0),
            status.get("Innodb_buffer_pool_reads", 0.0),
        )
        hits = max(requests - reads, 0.0)  # requests count every logical read, reads the ones from disk
    else:
        raise ValueError(f"{engine.dialect.name} is not a database server: give a PostgreSQL or MariaDB URL")
    figures = {
        "db_connections": float(connections),
        "db_max_connections": float(limit),
        "db_cache_hits": float(hits),
        "db_cache_reads": float(reads),
        "db_longest_transaction_seconds": float(longest or 0),
    }
    figures.update({f"{DB_BYTES_PREFIX}{name}": float(size or 0) for name, size in sizes})
    return figures


def database_sizes(engine: Engine, role: str) -> list[dict[str, Any]]:
    """The database's size and its largest tables, as rows for ``OperationsRecords.record_db_sizes``."""
    if is_postgres(engine):
        return _postgres_sizes(engine, role)
    if engine.dialect.name in ("mysql", "mariadb"):
        return _mysql_sizes(engine, role)
    return _sqlite_sizes(engine, role)


PG_LARGEST_TABLES = """
SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY bytes DESC, name LIMIT :limit
"""


def _postgres_sizes(engine: Engine, role: str) -> list[dict[str, Any]]:
    with reading(engine.connect()) as conn:
        name, size = conn.execute(
            sa.text("SELECT current_database(), pg_database_size(current_database())")
        ).one()
        tables = conn.execute(sa.text(PG_LARGEST_TABLES), {"limit": TOP_TABLES}).all()
    rows = [_row(role, name, DATABASE_OBJECT, size)]
    return rows + [_row(role, name, table, table_bytes) for table, table_bytes in tables]


# InnoDB's own figures (refreshed by its statistics, not exact to the byte): data and indexes of each table
MYSQL_TABLES = """
SELECT table_name AS name, COALESCE(data_length, 0) + COALESCE(index_length, 0) AS bytes
FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
ORDER BY bytes DESC, name
"""


def _mysql_sizes(engine: Engine, role: str) -> list[dict[str, Any]]:
    with reading(engine.connect()) as conn:
        name = conn.exec_driver_sql("SELECT DATABASE()").scalar_one()
        tables = conn.execute(sa.text(MYSQL_TABLES)).all()
    rows = [_row(role, name, DATABASE_OBJECT, sum(int(b) for _, b in tables))]
    return rows + [_row(role, name, table, table_bytes) for table, table_bytes in tables[:TOP_TABLES]]


def _sqlite_sizes(engine: Engine, role: str) -> list[dict[str, Any]]:
    path = engine.url.database
    name = Path(path).name if path and path != ":memory:" else ":memory:"
    with reading(engine.connect()) as conn:
        page_count = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        pages = page_count * conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        # dbstat is an optional SQLite module; indexes are counted with their table. ``aggregate`` gives one
        # row per b-tree (SQLite >= 3.31): the same sums, 20 times faster than a row per page on 500 MB.
        try:
            tables = conn.exec_driver_sql(
                "SELECT COALESCE(m.tbl_name, d.name) AS t, SUM(d.pgsize) AS b FROM dbstat d "
                "LEFT JOIN sqlite_master m ON m.name = d.name WHERE d.aggregate = TRUE "
                "GROUP BY t ORDER BY b DESC, t LIMIT ?",
                (TOP_TABLES,),
            ).all()
        except sa.exc.OperationalError:
            tables = []
    size = pages
    if name != ":memory:" and os.path.exists(path):  # the file, with its write-ahead log, is what takes disk
        wal = f"{path}-wal"
        size = os.path.getsize(path) + (os.path.getsize(wal) if os.path.exists(wal) else 0)
    rows = [_row(role, name, DATABASE_OBJECT, size)]
    return rows + [_row(role, name, table, table_bytes) for table, table_bytes in tables]


def _row(role: str, database: str, obj: str, size: int) -> dict[str, Any]:
    return {"role": role, "database_name": database, "object_name": obj, "bytes": int(size or 0)}
