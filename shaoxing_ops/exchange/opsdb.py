"""The platform's own records: quarantine, re-initialisation audit, escalations, reconciliations, and the
operations records: host metrics, database sizes and the problem feedback register (问题反馈登记).

They live in the ops store: an ``ops`` schema on PostgreSQL, ``ops_``-prefixed tables elsewhere (SQLite,
MySQL), in the front database unless ``SXOPS_OPS_URL`` names another.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.settings import HOST_ROLES

from .dbs import is_postgres
from .windows import SHANGHAI, to_local_naive


def now_local() -> dt.datetime:
    return dt.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


FEEDBACK_CHANNELS = ("电话", "浙政钉", "QQ", "微信")
FEEDBACK_STATUSES = ("open", "resolved")
# 需求变更 are all submitted to the city bureau (市局), as the contract says
FEEDBACK_KINDS = ("缺陷", "需求变更", "咨询", "数据问题")
FEEDBACK_SEVERITIES = ("一般", "严重", "紧急")


class FeedbackError(ValueError):
    """A feedback entry that cannot be recorded or resolved as asked; the message says what to do instead."""


def add_missing_columns(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Nullable columns a newer version added to a table an older one made (``launched_by``), added in place:
    ``create_all`` makes missing tables only. Idempotent; the same statement on SQLite, PostgreSQL, MariaDB."""
    inspector, quote = sa.inspect(conn), conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        held = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
        for column in table.columns:
            if column.name not in held and column.nullable:
                conn.exec_driver_sql(
                    f"ALTER TABLE {quote.format_table(table)} ADD COLUMN "
                    f"{quote.quote(column.name)} {column.type.compile(conn.dialect)}"
                )


class OpsStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        pg = is_postgres(engine)
        self.schema = "ops" if pg else None
        self.prefix = prefix = "" if pg else "ops_"  # public: other modules' ops tables follow the same names
        md = sa.MetaData(schema=self.schema)
        self.metadata = md
        self.quarantine = sa.Table(
            f"{prefix}quarantine",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("leg", sa.String(16), nullable=False),  # province | bureau
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("partition_key", sa.String(32), nullable=False),
            sa.Column("record_key", sa.String(200), nullable=False),
            sa.Column("column_name", sa.String(64), nullable=False),
            sa.Column("reason", sa.String(300), nullable=False),
            sa.Column(
                "delivered", sa.Boolean, nullable=False
            ),  # True: delivered as it came; False: held back
            sa.Column("detected_at", sa.DateTime, nullable=False),
            sa.Column("run_id", sa.String(64)),
            sa.Index(f"ix_{prefix}quarantine_table", "table_name", "partition_key"),
        )
        self.reinit_audit = sa.Table(
            f"{prefix}reinit_audit",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("approved_by", sa.String(100), nullable=False),
            sa.Column("requested_at", sa.DateTime, nullable=False),
            sa.Column("finished_at", sa.DateTime),
            sa.Column("rows_before", sa.BigInteger),
            sa.Column("rows_after", sa.BigInteger),
            sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
            sa.Column("reconciliation", sa.Text),  # JSON summary of the reconciliation that followed
            sa.Column("run_id", sa.String(64)),
            sa.Column(
                "launched_by", sa.String(100)
            ),  # who started it: the proxy's user, or the OS user of the CLI
        )
        self.escalations = sa.Table(
            f"{prefix}escalations",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("asset_key", sa.String(200), nullable=False),
            sa.Column("partition_key", sa.String(32), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("escalated_at", sa.DateTime, nullable=False),
            sa.Column("resolved_at", sa.DateTime),
            sa.UniqueConstraint("asset_key", "partition_key", name=f"uq_{prefix}escalations_target"),
        )
        self.migrations = sa.Table(
            f"{prefix}migrations",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("columns_added", sa.Text, nullable=False),  # comma-separated
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("approved_by", sa.String(100), nullable=False),
            sa.Column("requested_at", sa.DateTime, nullable=False),
            sa.Column("finished_at", sa.DateTime),
            sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
        )
        self.reconciliations = sa.Table(
            f"{prefix}reconciliations",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("started_at", sa.DateTime, nullable=False),
            sa.Column("source_rows", sa.BigInteger),
            sa.Column("target_rows", sa.BigInteger),
            sa.Column("missing", sa.Integer),
            sa.Column("extra", sa.Integer),
            sa.Column("changed", sa.Integer),
            sa.Column("repaired", sa.Boolean),
            sa.Column("seconds", sa.Float),
            sa.Column("detail", sa.Text),  # JSON: the first keys of each kind
            sa.Column("launched_by", sa.String(100)),
        )
        # BigInteger keys do not auto-increment on SQLite unless they are its INTEGER rowid alias.
        big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
        self.host_metrics = sa.Table(
            f"{prefix}host_metrics",
            md,
            sa.Column("id", big_id, primary_key=True, autoincrement=True),
            sa.Column("sampled_at", sa.DateTime, nullable=False),  # naive Asia/Shanghai
            sa.Column("host", sa.String(100), nullable=False),
            sa.Column("metric", sa.String(200), nullable=False),  # cpu_percent, disk_percent:/, ...
            sa.Column(
                "value", sa.Double, nullable=False
            ),  # FLOAT is 4 bytes on MariaDB: 6 digits of a byte count
            sa.Index(f"ix_{prefix}host_metrics_metric_time", "metric", "sampled_at"),
            sa.Index(f"ix_{prefix}host_metrics_time", "sampled_at"),
        )
        # Every host that ever reported, with its role: a host gone quiet is found by what it stopped doing.
        self.hosts_table = sa.Table(
            f"{prefix}hosts",
            md,
            sa.Column("name", sa.String(100), primary_key=True),
            sa.Column("role", sa.String(16), nullable=False),  # one of HOST_ROLES
            sa.Column("first_seen", sa.DateTime, nullable=False),
            sa.Column("last_seen", sa.DateTime, nullable=False),
        )
        self.db_sizes_table = sa.Table(
            f"{prefix}db_sizes",
            md,
            sa.Column("id", big_id, primary_key=True, autoincrement=True),
            sa.Column("sampled_at", sa.DateTime, nullable=False),
            sa.Column("role", sa.String(16), nullable=False),  # province | front | bureau | ops
            sa.Column("database_name", sa.String(200), nullable=False),
            sa.Column("object_name", sa.String(200), nullable=False),  # "__database__" or schema.table
            sa.Column("bytes", sa.BigInteger, nullable=False),
            sa.Index(f"ix_{prefix}db_sizes_time", "sampled_at", "role"),
        )
        self.feedback = sa.Table(
            f"{prefix}feedback",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("system", sa.String(64), nullable=False),  # 应用系统: 执法在线, 全程电子化登记, ...
            sa.Column("channel", sa.String(16), nullable=False),  # one of FEEDBACK_CHANNELS
            sa.Column("reporter", sa.String(100), nullable=False),
            sa.Column("contact", sa.String(32)),  # phone, optional
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),  # open | resolved
            sa.Column("opened_at", sa.DateTime, nullable=False),
            sa.Column("resolved_at", sa.DateTime),
            sa.Column("resolution", sa.Text),
            sa.Column("resolved_by", sa.String(100)),
            sa.Column(
                "kind", sa.String(16)
            ),  # one of FEEDBACK_KINDS; NULL on items registered before it existed
            sa.Column("severity", sa.String(8)),  # one of FEEDBACK_SEVERITIES
            sa.Column("sent_to", sa.String(16)),  # 市局 | 省局: where the item was submitted
            sa.Column("sent_on", sa.Date),
            sa.Index(f"ix_{prefix}feedback_status", "status", "opened_at"),
        )
        self.alerts_sent = sa.Table(
            f"{prefix}alerts_sent",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "cause", sa.String(32), nullable=False
            ),  # volume, freshness, run_failed, escalated, ...
            sa.Column("subject", sa.String(200), nullable=False),  # a table, a job, a disk, a system
            sa.Column("day", sa.String(10), nullable=False),  # the day it is about
            sa.Column("channel", sa.String(32), nullable=False),
            sa.Column("delivered", sa.Boolean, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("last_error", sa.String(300)),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("first_tried_at", sa.DateTime, nullable=False),
            sa.Column("sent_at", sa.DateTime),
            sa.UniqueConstraint("cause", "subject", "day", "channel", name=f"uq_{prefix}alerts_sent_once"),
        )
        self._ready = False

    def ensure(self) -> OpsStore:
        if not self._ready:
            with self.engine.begin() as conn:
                if self.schema:
                    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                self.metadata.create_all(conn, checkfirst=True)
                self._add_missing_columns(conn)
            self._ready = True
        return self

    def _add_missing_columns(self, conn: sa.Connection) -> None:
        add_missing_columns(conn, self.metadata)

    # -- quarantine -------------------------------------------------------------------------------------
    def replace_quarantine(
        self,
        leg: str,
        table: str,
        partitions: Sequence[str],
        entries: Iterable[dict[str, Any]],
        run_id: str | None = None,
    ) -> int:
        """Replace what is quarantined for these partitions of a table: the list always matches the data now."""
        self.ensure()
        q = self.quarantine
        rows = [
            {**e, "leg": leg, "table_name": table, "detected_at": now_local(), "run_id": run_id}
            for e in entries
        ]
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(q).where(
                    q.c.leg == leg, q.c.table_name == table, q.c.partition_key.in_(list(partitions))
                )
            )
            if rows:
                conn.execute(q.insert(), rows)
        return len(rows)

    def quarantined(self, table: str | None = None, partition: str | None = None) -> list[dict[str, Any]]:
        self.ensure()
        q = self.quarantine
        query = sa.select(q).order_by(q.c.table_name, q.c.partition_key, q.c.record_key, q.c.column_name)
        if table:
            query = query.where(q.c.table_name == table)
        if partition:
            query = query.where(q.c.partition_key == partition)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- alerts -----------------------------------------------------------------------------------------
    def alerts_delivered(
        self, channel: str, keys: Iterable[tuple[str, str, str]]
    ) -> set[tuple[str, str, str]]:
        """Which (cause, subject, day) of ``keys`` already reached ``channel``."""
        self.ensure()
        wanted = set(keys)
        if not wanted:
            return set()
        a = self.alerts_sent
        days = sorted({k[2] for k in wanted})
        query = sa.select(a.c.cause, a.c.subject, a.c.day).where(
            a.c.channel == channel, a.c.delivered.is_(True), a.c.day.in_(days)
        )
        with self.engine.connect() as conn:
            return {tuple(r) for r in conn.execute(query)} & wanted

    def record_alerts(
        self,
        channel: str,
        items: Iterable[tuple[str, str, str, str]],
        delivered: bool,
        error: str | None = None,
    ) -> None:
        """Record an attempt to send (cause, subject, day, text) items on ``channel``."""
        self.ensure()
        a, now = self.alerts_sent, now_local()
        with self.engine.begin() as conn:
            for cause, subject, day, text in items:
                where = sa.and_(
                    a.c.cause == cause, a.c.subject == subject, a.c.day == day, a.c.channel == channel
                )
                done = conn.execute(
                    a.update()
                    .where(where)
                    .values(
                        delivered=delivered,
                        attempts=a.c.attempts + 1,
                        last_error=error,
                        sent_at=now if delivered else None,
                        text=text[:2000],
                    )
                ).rowcount
                if not done:
                    conn.execute(
                        a.insert().values(
                            cause=cause,
                            subject=subject,
                            day=day,
                            channel=channel,
                            delivered=delivered,
                            attempts=1,
                            last_error=error,
                            text=text[:2000],
                            first_tried_at=now,
                            sent_at=now if delivered else None,
                        )
                    )

    def alert_log(self, since: dt.datetime | None = None) -> list[dict[str, Any]]:
        self.ensure()
        a = self.alerts_sent
        query = sa.select(a).order_by(a.c.first_tried_at, a.c.id)
        if since is not None:
            query = query.where(a.c.first_tried_at >= since)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- escalations ------------------------------------------------------------------------------------
    def escalate(self, asset_key: str, partition: str, reason: str, attempts: int) -> None:
        self.ensure()
        e = self.escalations
        with self.engine.begin() as conn:
            conn.execute(sa.delete(e).where(e.c.asset_key == asset_key, e.c.partition_key == partition))
            conn.execute(
                e.insert().values(
                    asset_key=asset_key,
                    partition_key=partition,
                    reason=reason,
                    attempts=attempts,
                    escalated_at=now_local(),
                )
            )

    def resolve_escalation(self, asset_key: str, partition: str) -> None:
        self.ensure()
        e = self.escalations
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(e)
                .where(e.c.asset_key == asset_key, e.c.partition_key == partition, e.c.resolved_at.is_(None))
                .values(resolved_at=now_local())
            )

    def open_escalations(self) -> list[dict[str, Any]]:
        self.ensure()
        e = self.escalations
        with self.engine.connect() as conn:
            query = sa.select(e).where(e.c.resolved_at.is_(None)).order_by(e.c.escalated_at)
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- catalog migrations (columns added in place) ---------------------------------------------------------
    def start_migration(self, table: str, columns: list[str], reason: str, approved_by: str) -> int:
        self.ensure()
        with self.engine.begin() as conn:
            result = conn.execute(
                self.migrations.insert().values(
                    table_name=table,
                    columns_added=", ".join(columns),
                    reason=reason,
                    approved_by=approved_by,
                    requested_at=now_local(),
                    status="running",
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]  # one key, after an INSERT

    def finish_migration(self, audit_id: int, status: str) -> None:
        m = self.migrations
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(m).where(m.c.id == audit_id).values(status=status, finished_at=now_local())
            )

    def migration_log(self) -> list[dict[str, Any]]:
        self.ensure()
        m = self.migrations
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(m).order_by(m.c.id)).mappings()]

    # -- re-initialisation audit --------------------------------------------------------------------------
    def start_reinit(
        self, table: str, reason: str, approved_by: str, run_id: str | None, launched_by: str | None = None
    ) -> int:
        self.ensure()
        with self.engine.begin() as conn:
            result = conn.execute(
                self.reinit_audit.insert().values(
                    table_name=table,
                    reason=reason,
                    approved_by=approved_by,
                    requested_at=now_local(),
                    status="running",
                    run_id=run_id,
                    launched_by=launched_by,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]  # one key, after an INSERT

    def finish_reinit(
        self,
        audit_id: int,
        *,
        status: str,
        rows_before: int | None = None,
        rows_after: int | None = None,
        reconciliation: dict[str, Any] | None = None,
    ) -> None:
        a = self.reinit_audit
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(a)
                .where(a.c.id == audit_id)
                .values(
                    status=status,
                    finished_at=now_local(),
                    rows_before=rows_before,
                    rows_after=rows_after,
                    reconciliation=json.dumps(reconciliation, ensure_ascii=False) if reconciliation else None,
                )
            )

    def reinits(self) -> list[dict[str, Any]]:
        self.ensure()
        a = self.reinit_audit
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(a).order_by(a.c.id)).mappings()]

    # -- reconciliations -----------------------------------------------------------------------------------
    def record_reconciliation(self, row: dict[str, Any]) -> None:
        self.ensure()
        with self.engine.begin() as conn:
            conn.execute(self.reconciliations.insert().values(**row))

    # -- host metrics ----------------------------------------------------------------------------------
    def record_metrics(self, host: str, samples: dict[str, float], at: dt.datetime | None = None) -> int:
        """One row per metric, all stamped with the same moment so a sample can be read back as a whole."""
        self.ensure()
        moment = to_local_naive(at) or now_local()
        rows = [
            {"sampled_at": moment, "host": host, "metric": k, "value": float(v)} for k, v in samples.items()
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self.host_metrics.insert(), rows)
        return len(rows)

    def register_host(self, name: str, role: str, at: dt.datetime | None = None) -> None:
        """Record that ``name`` reported as ``role`` at ``at``: the role is the latest one given."""
        if role not in HOST_ROLES:
            raise ValueError(f"unknown host role {role!r}; expected one of {', '.join(HOST_ROLES)}")
        self.ensure()
        moment = to_local_naive(at) or now_local()
        h = self.hosts_table
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(h)
                .where(h.c.name == name)
                .values(
                    role=role,
                    first_seen=sa.case((h.c.first_seen > moment, moment), else_=h.c.first_seen),
                    last_seen=sa.case((h.c.last_seen < moment, moment), else_=h.c.last_seen),
                )
            ).rowcount
            if not updated:
                conn.execute(h.insert().values(name=name, role=role, first_seen=moment, last_seen=moment))

    def hosts(self) -> list[dict[str, Any]]:
        """Every registered host: name, role, first_seen, last_seen, by role then name."""
        self.ensure()
        h = self.hosts_table
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(h).order_by(h.c.role, h.c.name)).mappings()]

    def forget_host(self, name: str) -> bool:
        """Drop a decommissioned host from the register (its samples age out with the retention)."""
        self.ensure()
        h = self.hosts_table
        with self.engine.begin() as conn:
            return bool(conn.execute(sa.delete(h).where(h.c.name == name)).rowcount)

    def metrics(
        self,
        since: dt.datetime,
        until: dt.datetime | None = None,
        metric_prefix: str | None = None,
        host: str | None = None,
    ) -> list[dict[str, Any]]:
        """Samples in ``[since, until)``, oldest first: dicts of sampled_at, host, metric, value."""
        self.ensure()
        m = self.host_metrics
        query = sa.select(m.c.sampled_at, m.c.host, m.c.metric, m.c.value).where(
            m.c.sampled_at >= to_local_naive(since)
        )
        if until is not None:
            query = query.where(m.c.sampled_at < to_local_naive(until))
        if metric_prefix:
            query = query.where(m.c.metric.startswith(metric_prefix, autoescape=True))
        if host:
            query = query.where(m.c.host == host)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(m.c.sampled_at, m.c.metric)).mappings()
            return [dict(r) for r in rows]

    def prune_metrics(self, older_than: dt.datetime) -> int:
        """Retention: delete host samples taken before ``older_than``; returns the rows deleted."""
        self.ensure()
        m = self.host_metrics
        with self.engine.begin() as conn:
            return int(
                conn.execute(sa.delete(m).where(m.c.sampled_at < to_local_naive(older_than))).rowcount or 0
            )

    # -- database sizes --------------------------------------------------------------------------------
    def record_db_sizes(self, rows: Iterable[dict[str, Any]], at: dt.datetime | None = None) -> int:
        """Rows of role, database_name, object_name, bytes (as ``hostmetrics.database_sizes`` returns)."""
        self.ensure()
        moment = to_local_naive(at) or now_local()
        keys = ("role", "database_name", "object_name", "bytes")
        data = [{"sampled_at": moment, **{k: r[k] for k in keys}} for r in rows]
        if data:
            with self.engine.begin() as conn:
                conn.execute(self.db_sizes_table.insert(), data)
        return len(data)

    def db_sizes(
        self, since: dt.datetime, until: dt.datetime | None = None, role: str | None = None
    ) -> list[dict[str, Any]]:
        self.ensure()
        d = self.db_sizes_table
        query = sa.select(d).where(d.c.sampled_at >= to_local_naive(since))
        if until is not None:
            query = query.where(d.c.sampled_at < to_local_naive(until))
        if role:
            query = query.where(d.c.role == role)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(d.c.sampled_at, d.c.role, d.c.bytes.desc())).mappings()
            return [dict(r) for r in rows]

    def latest_db_sizes(self) -> list[dict[str, Any]]:
        """The newest measurement of each role: what a report shows as "current size"."""
        self.ensure()
        d = self.db_sizes_table
        newest = sa.select(d.c.role, sa.func.max(d.c.sampled_at).label("at")).group_by(d.c.role).subquery()
        query = (
            sa.select(d)
            .join(newest, sa.and_(d.c.role == newest.c.role, d.c.sampled_at == newest.c.at))
            .order_by(d.c.role, d.c.bytes.desc())
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def prune_db_sizes(self, older_than: dt.datetime) -> int:
        self.ensure()
        d = self.db_sizes_table
        with self.engine.begin() as conn:
            return int(
                conn.execute(sa.delete(d).where(d.c.sampled_at < to_local_naive(older_than))).rowcount or 0
            )

    # -- problem feedback (问题反馈登记) -----------------------------------------------------------------
    def add_feedback(
        self,
        *,
        system: str,
        channel: str,
        reporter: str,
        description: str,
        contact: str | None = None,
        at: dt.datetime | None = None,
        kind: str = "缺陷",
        severity: str = "一般",
    ) -> int:
        """Register a problem as reported; the store is the gate, so every caller gets the same checks."""
        fields = {"system": system, "reporter": reporter, "description": description}
        missing = [k for k, v in fields.items() if not (v or "").strip()]
        if missing:
            raise FeedbackError(f"问题反馈缺少必填项: {', '.join(missing)}")
        if channel not in FEEDBACK_CHANNELS:
            raise FeedbackError(f"反馈渠道 {channel!r} 无效，可选: {'、'.join(FEEDBACK_CHANNELS)}")
        if kind not in FEEDBACK_KINDS:
            raise FeedbackError(f"问题类型 {kind!r} 无效，可选: {'、'.join(FEEDBACK_KINDS)}")
        if severity not in FEEDBACK_SEVERITIES:
            raise FeedbackError(f"严重程度 {severity!r} 无效，可选: {'、'.join(FEEDBACK_SEVERITIES)}")
        self.ensure()
        with self.engine.begin() as conn:
            result = conn.execute(
                self.feedback.insert().values(
                    system=system.strip(),
                    channel=channel,
                    reporter=reporter.strip(),
                    contact=(contact or "").strip() or None,
                    description=description.strip(),
                    status="open",
                    opened_at=to_local_naive(at) or now_local(),
                    kind=kind,
                    severity=severity,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]  # one key, after an INSERT

    def resolve_feedback(
        self, feedback_id: int, resolution: str, resolved_by: str, at: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Close an open item with what was done and by whom; returns the item as stored afterwards."""
        if not (resolution or "").strip() or not (resolved_by or "").strip():
            raise FeedbackError("处理问题反馈须填写处理结果和处理人")
        self.ensure()
        f = self.feedback
        moment = to_local_naive(at) or now_local()
        with self.engine.begin() as conn:
            item = conn.execute(sa.select(f).where(f.c.id == feedback_id)).mappings().first()
            if item is None:
                raise FeedbackError(f"问题反馈 #{feedback_id} 不存在")
            if item["status"] == "resolved":
                raise FeedbackError(
                    f"问题反馈 #{feedback_id} 已于 {item['resolved_at']:%Y-%m-%d %H:%M} "
                    f"由 {item['resolved_by']} 处理，不能重复处理"
                )
            if moment < item["opened_at"]:
                raise FeedbackError(f"处理时间 {moment} 早于登记时间 {item['opened_at']}")
            done = conn.execute(
                sa.update(f)
                .where(f.c.id == feedback_id, f.c.status == "open")  # a concurrent resolve loses here
                .values(
                    status="resolved",
                    resolved_at=moment,
                    resolution=resolution.strip(),
                    resolved_by=resolved_by.strip(),
                )
            )
            if done.rowcount != 1:
                raise FeedbackError(f"问题反馈 #{feedback_id} 已被他人同时处理")
            return dict(conn.execute(sa.select(f).where(f.c.id == feedback_id)).mappings().one())

    def feedback_items(
        self,
        status: str | None = None,
        opened_since: dt.datetime | None = None,
        opened_until: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Items by status and opening time ``[opened_since, opened_until)``, oldest first."""
        if status is not None and status not in FEEDBACK_STATUSES:
            raise FeedbackError(f"状态 {status!r} 无效，可选: {', '.join(FEEDBACK_STATUSES)}")
        f = self.feedback
        conditions = []
        if status:
            conditions.append(f.c.status == status)
        if opened_since is not None:
            conditions.append(f.c.opened_at >= to_local_naive(opened_since))
        if opened_until is not None:
            conditions.append(f.c.opened_at < to_local_naive(opened_until))
        return self._feedback_where(*conditions)

    def feedback_item(self, feedback_id: int) -> dict[str, Any] | None:
        rows = self._feedback_where(self.feedback.c.id == feedback_id)
        return rows[0] if rows else None

    def feedback_open_at(self, moment: dt.datetime) -> list[dict[str, Any]]:
        """Items still open at ``moment``: opened before it, not resolved by then (a report's backlog)."""
        f, at = self.feedback, to_local_naive(moment)
        return self._feedback_where(
            f.c.opened_at < at, sa.or_(f.c.resolved_at.is_(None), f.c.resolved_at >= at)
        )

    def feedback_resolved_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Items resolved in ``[start, end)``, whenever they were opened."""
        f = self.feedback
        return self._feedback_where(
            f.c.resolved_at >= to_local_naive(start), f.c.resolved_at < to_local_naive(end)
        )

    def _feedback_where(self, *conditions: Any) -> list[dict[str, Any]]:
        self.ensure()
        f = self.feedback
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(f).where(*conditions).order_by(f.c.opened_at, f.c.id)).mappings()
            return [dict(r) for r in rows]
