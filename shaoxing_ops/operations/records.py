"""The operations' records: hosts and their samples, database sizes, alerts sent, problem feedback
(问题反馈登记), and the tables of the contract's other registers (``applications``, ``notices`` and
``consultations`` write them).

Beside the exchange's records in the same ops database (``exchange/opsdb.py``); the tables are in
``records_schema.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.exchange.opsdb import OpsSchema, RecordStore, new_id, now_local
from shaoxing_ops.exchange.windows import to_local_naive
from shaoxing_ops.settings import HOST_ROLES

from .records_schema import operations_tables

FEEDBACK_CHANNELS = ("电话", "浙政钉", "QQ", "微信")
FEEDBACK_STATUSES = ("open", "resolved")
# 需求变更 are all submitted to the city bureau (市局), as the contract says
FEEDBACK_KINDS = ("缺陷", "需求变更", "咨询", "数据问题")
FEEDBACK_SEVERITIES = ("一般", "严重", "紧急")


class FeedbackError(ValueError):
    """A feedback entry that cannot be recorded or resolved as asked; the message says what to do instead."""


class OperationsRecords(RecordStore):
    """The operations' records in the ops database ``engine`` reaches."""

    def __init__(self, engine: Engine) -> None:
        self.tables = operations_tables(OpsSchema(engine))
        super().__init__(engine, self.tables.metadata)

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
                conn.execute(self.tables.host_metrics.insert(), rows)
        return len(rows)

    def register_host(self, name: str, role: str, at: dt.datetime | None = None) -> None:
        """Record that ``name`` reported as ``role`` at ``at``: the role is the latest one given."""
        if role not in HOST_ROLES:
            raise ValueError(f"unknown host role {role!r}; expected one of {', '.join(HOST_ROLES)}")
        self.ensure()
        moment = to_local_naive(at) or now_local()
        h = self.tables.hosts
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
        h = self.tables.hosts
        return self.rows(sa.select(h).order_by(h.c.role, h.c.name))

    def forget_host(self, name: str) -> bool:
        """Drop a decommissioned host from the register (its samples age out with the retention)."""
        self.ensure()
        h = self.tables.hosts
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
        m = self.tables.host_metrics
        query = sa.select(m.c.sampled_at, m.c.host, m.c.metric, m.c.value).where(
            m.c.sampled_at >= to_local_naive(since)
        )
        if until is not None:
            query = query.where(m.c.sampled_at < to_local_naive(until))
        if metric_prefix:
            query = query.where(m.c.metric.startswith(metric_prefix, autoescape=True))
        if host:
            query = query.where(m.c.host == host)
        return self.rows(query.order_by(m.c.sampled_at, m.c.metric))

    def prune_metrics(self, older_than: dt.datetime) -> int:
        """Retention: delete host samples taken before ``older_than``; returns the rows deleted."""
        return self._prune(self.tables.host_metrics, older_than)

    # -- database sizes --------------------------------------------------------------------------------
    def record_db_sizes(self, rows: Iterable[dict[str, Any]], at: dt.datetime | None = None) -> int:
        """Rows of role, database_name, object_name, bytes (as ``hostmetrics.database_sizes`` returns)."""
        self.ensure()
        moment = to_local_naive(at) or now_local()
        keys = ("role", "database_name", "object_name", "bytes")
        data = [{"sampled_at": moment, **{k: r[k] for k in keys}} for r in rows]
        if data:
            with self.engine.begin() as conn:
                conn.execute(self.tables.db_sizes.insert(), data)
        return len(data)

    def db_sizes(
        self, since: dt.datetime, until: dt.datetime | None = None, role: str | None = None
    ) -> list[dict[str, Any]]:
        d = self.tables.db_sizes
        query = sa.select(d).where(d.c.sampled_at >= to_local_naive(since))
        if until is not None:
            query = query.where(d.c.sampled_at < to_local_naive(until))
        if role:
            query = query.where(d.c.role == role)
        return self.rows(query.order_by(d.c.sampled_at, d.c.role, d.c.bytes.desc()))

    def latest_db_sizes(self) -> list[dict[str, Any]]:
        """The newest measurement of each role: what a report shows as "current size"."""
        d = self.tables.db_sizes
        newest = sa.select(d.c.role, sa.func.max(d.c.sampled_at).label("at")).group_by(d.c.role).subquery()
        return self.rows(
            sa.select(d)
            .join(newest, sa.and_(d.c.role == newest.c.role, d.c.sampled_at == newest.c.at))
            .order_by(d.c.role, d.c.bytes.desc())
        )

    def prune_db_sizes(self, older_than: dt.datetime) -> int:
        """Retention: delete size measurements taken before ``older_than``; returns the rows deleted."""
        return self._prune(self.tables.db_sizes, older_than)

    def _prune(self, table: sa.Table, older_than: dt.datetime) -> int:
        """Delete the rows of a sampled table (``sampled_at``) taken before ``older_than``."""
        self.ensure()
        with self.engine.begin() as conn:
            deleted = conn.execute(sa.delete(table).where(table.c.sampled_at < to_local_naive(older_than)))
            return int(deleted.rowcount or 0)

    # -- alerts sent -----------------------------------------------------------------------------------
    def alerts_delivered(
        self, channel: str, keys: Iterable[tuple[str, str, str]]
    ) -> set[tuple[str, str, str]]:
        """Which (cause, subject, day) of ``keys`` already reached ``channel``."""
        self.ensure()
        wanted = set(keys)
        if not wanted:
            return set()
        a = self.tables.alerts_sent
        days = sorted({k[2] for k in wanted})
        query = sa.select(a.c.cause, a.c.subject, a.c.day).where(
            a.c.channel == channel, a.c.delivered.is_(True), a.c.day.in_(days)
        )
        with self.engine.connect() as conn:
            return {tuple(r) for r in conn.execute(query)} & wanted  # type: ignore[misc]

    def record_alerts(
        self,
        channel: str,
        items: Iterable[tuple[str, str, str, str]],
        delivered: bool,
        error: str | None = None,
    ) -> None:
        """Record an attempt to send (cause, subject, day, text) items on ``channel``."""
        self.ensure()
        a, now = self.tables.alerts_sent, now_local()
        outcome = {"delivered": delivered, "last_error": error, "sent_at": now if delivered else None}
        with self.engine.begin() as conn:
            for cause, subject, day, text in items:
                key = {"cause": cause, "subject": subject, "day": day, "channel": channel}
                attempt = {**outcome, "text": text[:2000]}
                where = sa.and_(*(a.c[k] == v for k, v in key.items()))
                done = conn.execute(a.update().where(where).values(**attempt, attempts=a.c.attempts + 1))
                if not done.rowcount:
                    conn.execute(a.insert().values(**key, **attempt, attempts=1, first_tried_at=now))

    def alert_log(self, since: dt.datetime | None = None) -> list[dict[str, Any]]:
        a = self.tables.alerts_sent
        query = sa.select(a).order_by(a.c.first_tried_at, a.c.id)
        if since is not None:
            query = query.where(a.c.first_tried_at >= since)
        return self.rows(query)

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
                self.tables.feedback.insert().values(
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
            return new_id(result)

    def resolve_feedback(
        self, feedback_id: int, resolution: str, resolved_by: str, at: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Close an open item with what was done and by whom; returns the item as stored afterwards."""
        if not (resolution or "").strip() or not (resolved_by or "").strip():
            raise FeedbackError("处理问题反馈须填写处理结果和处理人")
        self.ensure()
        f = self.tables.feedback
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
        f = self.tables.feedback
        conditions = []
        if status:
            conditions.append(f.c.status == status)
        if opened_since is not None:
            conditions.append(f.c.opened_at >= to_local_naive(opened_since))
        if opened_until is not None:
            conditions.append(f.c.opened_at < to_local_naive(opened_until))
        return self._feedback_where(*conditions)

    def feedback_item(self, feedback_id: int) -> dict[str, Any] | None:
        rows = self._feedback_where(self.tables.feedback.c.id == feedback_id)
        return rows[0] if rows else None

    def feedback_open_at(self, moment: dt.datetime) -> list[dict[str, Any]]:
        """Items still open at ``moment``: opened before it, not resolved by then (a report's backlog)."""
        f, at = self.tables.feedback, to_local_naive(moment)
        return self._feedback_where(
            f.c.opened_at < at, sa.or_(f.c.resolved_at.is_(None), f.c.resolved_at >= at)
        )

    def feedback_resolved_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Items resolved in ``[start, end)``, whenever they were opened."""
        f = self.tables.feedback
        return self._feedback_where(
            f.c.resolved_at >= to_local_naive(start), f.c.resolved_at < to_local_naive(end)
        )

    def _feedback_where(self, *conditions: Any) -> list[dict[str, Any]]:
        f = self.tables.feedback
        return self.rows(sa.select(f).where(*conditions).order_by(f.c.opened_at, f.c.id))
