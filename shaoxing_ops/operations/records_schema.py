"""The operations' records as tables: hosts and their samples, database sizes, alerts sent, and the contract's
registers (problem feedback, catalog data applications, security notices and patches, consultations).

Names and columns are those an existing ops database already holds (``RecordStore.ensure`` adds the nullable
columns a newer version brought), in the schema or under the prefix ``OpsSchema`` gives. Every change of a
register's state keeps its own date, so a past period's report can show the state as of its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shaoxing_ops.exchange.opsdb import OpsSchema

# BigInteger keys do not auto-increment on SQLite unless they are its INTEGER rowid alias.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@dataclass(frozen=True)
class OperationsTables:
    metadata: sa.MetaData
    hosts: sa.Table  # every host that ever reported, with its role: a quiet one is found by its absence
    host_metrics: sa.Table  # one row a metric of a host's sample, all of a sample at one moment
    db_sizes: sa.Table  # each database's size and its largest tables, as measured at a moment
    alerts_sent: sa.Table  # which alert reached which channel: delivered once, a failed one retried
    feedback: sa.Table  # the problem feedback register (问题反馈登记)
    applications: sa.Table  # catalog data applications (编目数据申请), a date for each step
    application_tables: sa.Table  # the catalog tables an application names
    notices: sa.Table  # the client's security notices (安全通报) and who confirmed them done
    notice_patches: sa.Table  # each item of a notice patched on a host, once, with the day
    consultations: sa.Table  # technical consultations answered (技术咨询), with the minutes each took


def operations_tables(ops: OpsSchema) -> OperationsTables:
    """The operations' tables on one MetaData of their own."""
    p = ops.prefix  # for the names of indexes and constraints
    ops.table(
        "hosts",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),  # one of HOST_ROLES
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
    )
    ops.records(
        "host_metrics",
        sa.Column("sampled_at", sa.DateTime, nullable=False),  # naive Asia/Shanghai
        sa.Column("host", sa.String(100), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),  # cpu_percent, disk_percent:/, ...
        sa.Column("value", sa.Double, nullable=False),  # Float has 4 bytes on MariaDB: 6 digits of a size
        sa.Index(f"ix_{p}host_metrics_metric_time", "metric", "sampled_at"),
        sa.Index(f"ix_{p}host_metrics_time", "sampled_at"),
        key=_BIG_ID,
    )
    ops.records(
        "db_sizes",
        sa.Column("sampled_at", sa.DateTime, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),  # province | front | bureau | ops
        sa.Column("database_name", sa.String(200), nullable=False),
        sa.Column("object_name", sa.String(200), nullable=False),  # "__database__" or schema.table
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Index(f"ix_{p}db_sizes_time", "sampled_at", "role"),
        key=_BIG_ID,
    )
    ops.records(
        "alerts_sent",
        sa.Column("cause", sa.String(32), nullable=False),  # volume, freshness, run_failed, escalated, ...
        sa.Column("subject", sa.String(200), nullable=False),  # a table, a job, a disk, a system
        sa.Column("day", sa.String(10), nullable=False),  # the day it is about
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(300)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("first_tried_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("cause", "subject", "day", "channel", name=f"uq_{p}alerts_sent_once"),
    )
    ops.records(
        "feedback",
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
        sa.Column("kind", sa.String(16)),  # one of FEEDBACK_KINDS; NULL on items registered before it existed
        sa.Column("severity", sa.String(8)),  # one of FEEDBACK_SEVERITIES
        sa.Column("sent_to", sa.String(16)),  # 市局 | 省局: where the item was submitted
        sa.Column("sent_on", sa.Date),
        sa.Index(f"ix_{p}feedback_status", "status", "opened_at"),
    )
    applications = ops.records(
        "applications",
        sa.Column("applicant", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # the latest, derived from the dates below
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("approved_on", sa.Date),
        sa.Column("rejected_on", sa.Date),
        sa.Column("delivered_on", sa.Date),  # 已下发: the province started delivering
        sa.Column("note", sa.Text),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    )
    ops.table(
        "application_tables",
        sa.Column("application_id", sa.Integer, sa.ForeignKey(applications.c.id), primary_key=True),
        sa.Column("table_name", sa.String(64), primary_key=True),  # the catalog's standard name
        sa.Index(f"ix_{p}application_tables_table", "table_name"),
    )
    notices = ops.records(
        "notices",
        sa.Column("notice_no", sa.String(64), nullable=False),  # the client's number of the notice
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("hosts", sa.Text, nullable=False),  # comma-separated host names
        sa.Column("items", sa.Text, nullable=False),  # comma-separated CVE ids or package names
        sa.Column("note", sa.Text),
        sa.Column("confirmed_on", sa.Date),
        sa.Column("confirmed_by", sa.String(100)),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("notice_no", name=f"uq_{p}notices_no"),
    )
    ops.records(
        "notice_patches",
        sa.Column("notice_id", sa.Integer, sa.ForeignKey(notices.c.id), nullable=False),
        sa.Column("host", sa.String(100), nullable=False),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("applied_by", sa.String(100)),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("notice_id", "host", "item", name=f"uq_{p}notice_patches_once"),
    )
    ops.records(
        "consultations",
        sa.Column("asked_on", sa.Date, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),  # one of FEEDBACK_CHANNELS
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("asker", sa.String(100)),
        sa.Column("contact", sa.String(32)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("answered_by", sa.String(100)),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{p}consultations_day", "asked_on"),
    )
    return OperationsTables(ops.metadata, **ops.by_name())
