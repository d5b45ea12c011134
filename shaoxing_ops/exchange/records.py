"""The exchange's records: quarantine, re-push escalations, migration and re-initialisation audit,
reconciliations.

Written by the engine and its Dagster wiring while data moves; read back by the checks, the sensors and the
reports. The tables are in ``records_schema.py``, the database they live in in ``opsdb.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .opsdb import OpsSchema, RecordStore, new_id, now_local
from .records_schema import exchange_tables


class ExchangeRecords(RecordStore):
    """The exchange's records in the ops database ``engine`` reaches."""

    def __init__(self, engine: Engine) -> None:
        self.tables = exchange_tables(OpsSchema(engine))
        super().__init__(engine, self.tables.metadata)

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
        q = self.tables.quarantine
        rows = [
            {**e, "leg": leg, "table_name": table, "detected_at": now_local(), "run_id": run_id}
            for e in entries
        ]
        held = sa.and_(q.c.leg == leg, q.c.table_name == table, q.c.partition_key.in_(list(partitions)))
        if not rows and not self.rows(sa.select(q.c.id).where(held).limit(1)):
            return 0  # nothing held and nothing to hold: a clean table's days cost no write transaction
        with self.engine.begin() as conn:
            conn.execute(sa.delete(q).where(held))
            if rows:
                conn.execute(q.insert(), rows)
        return len(rows)

    def quarantined(self, table: str | None = None, partition: str | None = None) -> list[dict[str, Any]]:
        q = self.tables.quarantine
        query = sa.select(q).order_by(q.c.table_name, q.c.partition_key, q.c.record_key, q.c.column_name)
        if table:
            query = query.where(q.c.table_name == table)
        if partition:
            query = query.where(q.c.partition_key == partition)
        return self.rows(query)

    # -- escalations ------------------------------------------------------------------------------------
    def escalate(self, asset_key: str, partition: str, reason: str, attempts: int) -> None:
        self.ensure()
        e = self.tables.escalations
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
        e = self.tables.escalations
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(e)
                .where(e.c.asset_key == asset_key, e.c.partition_key == partition, e.c.resolved_at.is_(None))
                .values(resolved_at=now_local())
            )

    def open_escalations(self) -> list[dict[str, Any]]:
        e = self.tables.escalations
        return self.rows(sa.select(e).where(e.c.resolved_at.is_(None)).order_by(e.c.escalated_at))

    # -- catalog migrations (columns added in place) ---------------------------------------------------------
    def start_migration(self, table: str, columns: list[str], reason: str, approved_by: str) -> int:
        self.ensure()
        with self.engine.begin() as conn:
            result = conn.execute(
                self.tables.migrations.insert().values(
                    table_name=table,
                    columns_added=", ".join(columns),
                    reason=reason,
                    approved_by=approved_by,
                    requested_at=now_local(),
                    status="running",
                )
            )
            return new_id(result)

    def finish_migration(self, audit_id: int, status: str) -> None:
        m = self.tables.migrations
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(m).where(m.c.id == audit_id).values(status=status, finished_at=now_local())
            )

    def migration_log(self) -> list[dict[str, Any]]:
        m = self.tables.migrations
        return self.rows(sa.select(m).order_by(m.c.id))

    # -- re-initialisation audit --------------------------------------------------------------------------
    def start_reinit(
        self, table: str, reason: str, approved_by: str, run_id: str | None, launched_by: str | None = None
    ) -> int:
        self.ensure()
        with self.engine.begin() as conn:
            result = conn.execute(
                self.tables.reinit_audit.insert().values(
                    table_name=table,
                    reason=reason,
                    approved_by=approved_by,
                    requested_at=now_local(),
                    status="running",
                    run_id=run_id,
                    launched_by=launched_by,
                )
            )
            return new_id(result)

    def finish_reinit(
        self,
        audit_id: int,
        *,
        status: str,
        rows_before: int | None = None,
        rows_after: int | None = None,
        reconciliation: dict[str, Any] | None = None,
    ) -> None:
        a = self.tables.reinit_audit
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
        a = self.tables.reinit_audit
        return self.rows(sa.select(a).order_by(a.c.id))

    # -- reconciliations -----------------------------------------------------------------------------------
    def record_reconciliation(self, row: dict[str, Any]) -> None:
        self.ensure()
        with self.engine.begin() as conn:
            conn.execute(self.tables.reconciliations.insert().values(**row))
