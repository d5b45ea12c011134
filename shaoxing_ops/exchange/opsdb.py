"""The platform's own records: quarantine, re-initialisation audit, escalations, reconciliations.

They live in the ops store: an ``ops`` schema on PostgreSQL, ``ops_``-prefixed tables on SQLite, in the front
database unless ``SXOPS_OPS_URL`` names another.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .dbs import is_postgres
from .windows import SHANGHAI


def now_local() -> dt.datetime:
    return dt.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


class OpsStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        pg = is_postgres(engine)
        self.schema = "ops" if pg else None
        prefix = "" if pg else "ops_"
        md = sa.MetaData(schema=self.schema)
        self.metadata = md
        self.quarantine = sa.Table(
            f"{prefix}quarantine", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("leg", sa.String(16), nullable=False),  # province | bureau
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("partition_key", sa.String(32), nullable=False),
            sa.Column("record_key", sa.String(200), nullable=False),
            sa.Column("column_name", sa.String(64), nullable=False),
            sa.Column("reason", sa.String(300), nullable=False),
            sa.Column("delivered", sa.Boolean, nullable=False),  # True: delivered as it came; False: held back
            sa.Column("detected_at", sa.DateTime, nullable=False),
            sa.Column("run_id", sa.String(64)),
            sa.Index(f"ix_{prefix}quarantine_table", "table_name", "partition_key"),
        )  # fmt: skip
        self.reinit_audit = sa.Table(
            f"{prefix}reinit_audit", md,
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
        )  # fmt: skip
        self.escalations = sa.Table(
            f"{prefix}escalations", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("asset_key", sa.String(200), nullable=False),
            sa.Column("partition_key", sa.String(32), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("escalated_at", sa.DateTime, nullable=False),
            sa.Column("resolved_at", sa.DateTime),
            sa.UniqueConstraint("asset_key", "partition_key", name=f"uq_{prefix}escalations_target"),
        )  # fmt: skip
        self.reconciliations = sa.Table(
            f"{prefix}reconciliations", md,
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
        )  # fmt: skip
        self._ready = False

    def ensure(self) -> OpsStore:
        if not self._ready:
            with self.engine.begin() as conn:
                if self.schema:
                    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                self.metadata.create_all(conn, checkfirst=True)
            self._ready = True
        return self

    # -- quarantine -------------------------------------------------------------------------------------
    def replace_quarantine(self, leg: str, table: str, partitions: Sequence[str], entries: Iterable[dict[str, Any]],
                           run_id: str | None = None) -> int:  # fmt: skip
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

    # -- escalations ------------------------------------------------------------------------------------
    def escalate(self, asset_key: str, partition: str, reason: str, attempts: int) -> None:
        self.ensure()
        e = self.escalations
        with self.engine.begin() as conn:
            conn.execute(sa.delete(e).where(e.c.asset_key == asset_key, e.c.partition_key == partition))
            conn.execute(e.insert().values(asset_key=asset_key, partition_key=partition, reason=reason,
                                           attempts=attempts, escalated_at=now_local()))  # fmt: skip

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

    # -- re-initialisation audit --------------------------------------------------------------------------
    def start_reinit(self, table: str, reason: str, approved_by: str, run_id: str | None) -> int:
        self.ensure()
        with self.engine.begin() as conn:
            result = conn.execute(self.reinit_audit.insert().values(
                table_name=table, reason=reason, approved_by=approved_by, requested_at=now_local(),
                status="running", run_id=run_id,
            ))  # fmt: skip
            return int(result.inserted_primary_key[0])

    def finish_reinit(self, audit_id: int, *, status: str, rows_before: int | None = None,
                      rows_after: int | None = None, reconciliation: dict[str, Any] | None = None) -> None:  # fmt: skip
        a = self.reinit_audit
        with self.engine.begin() as conn:
            conn.execute(sa.update(a).where(a.c.id == audit_id).values(
                status=status, finished_at=now_local(), rows_before=rows_before, rows_after=rows_after,
                reconciliation=json.dumps(reconciliation, ensure_ascii=False) if reconciliation else None,
            ))  # fmt: skip

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
