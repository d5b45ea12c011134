"""The exchange's records as tables: what the engine and its wiring write while data moves, kept for audit.

Names and columns are those an existing ops database already holds (``RecordStore.ensure`` adds the nullable
columns a newer version brought), in the schema or under the prefix ``OpsSchema`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .opsdb import OpsSchema


@dataclass(frozen=True)
class ExchangeTables:
    metadata: sa.MetaData
    quarantine: sa.Table  # values that broke a rule, per table-day: delivered as they came, or held
    reinit_audit: sa.Table  # re-initialisations: approved by, launched by, rows before and after
    escalations: sa.Table  # table-days the re-push gave up on, open until they pass their checks again
    migrations: sa.Table  # catalog migrations: columns added in place to a front table, with the approval
    reconciliations: sa.Table  # each reconciliation: the counts on both sides, what differed, if repaired


def exchange_tables(ops: OpsSchema) -> ExchangeTables:
    """The exchange's tables on one MetaData of their own."""
    p = ops.prefix  # for the names of indexes and constraints
    ops.records(
        "quarantine",
        sa.Column("leg", sa.String(16), nullable=False),  # province | bureau
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("partition_key", sa.String(32), nullable=False),
        sa.Column("record_key", sa.String(200), nullable=False),
        sa.Column("column_name", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),  # True: delivered as it came; False: held back
        sa.Column("detected_at", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Index(f"ix_{p}quarantine_table", "table_name", "partition_key"),
    )
    ops.records(
        "reinit_audit",
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
        sa.Column("launched_by", sa.String(100)),  # who started it: the proxy's user or the CLI's OS user
    )
    ops.records(
        "escalations",
        sa.Column("asset_key", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("escalated_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
        sa.UniqueConstraint("asset_key", "partition_key", name=f"uq_{p}escalations_target"),
    )
    ops.records(
        "migrations",
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("columns_added", sa.Text, nullable=False),  # comma-separated
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
    )
    ops.records(
        "reconciliations",
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
    return ExchangeTables(ops.metadata, **ops.by_name())
