"""Reconciliation with repair and audited full re-initialisation, shared by the command line and Dagster."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import BureauTable, Catalog, Table

from .copy import full_reload
from .dbs import make_engine
from .dialects import family
from .opsdb import now_local
from .reconcile import Diff, RepairResult, reconcile, repair
from .records import ExchangeRecords
from .results import CopyResult, ExchangeError
from .schema import column_type, exists_on, table_on
from .staging import Progress
from .upload import upload_window


@dataclass
class Reconciliation:
    diff: Diff
    repaired: RepairResult | None
    after: Diff | None  # the comparison after the repair, which must be equal

    @property
    def equal_now(self) -> bool:
        """Whether the tables are equal after this: as compared after the repair, else as first compared."""
        return self.after.equal if self.after else self.diff.equal


def reconcile_table(
    table: Table,
    source: Engine,
    target: Engine,
    ops: ExchangeRecords | None,
    *,
    fix: bool = False,
    launched_by: str | None = None,
) -> Reconciliation:
    started = now_local()
    diff = reconcile(table, source, target)
    repaired = after = None
    if fix and not diff.equal:
        repaired = repair(table, source, target, diff)
        after = reconcile(table, source, target)
    if ops is not None:
        detail = {
            "missing": [list(map(str, k)) for k in diff.missing[:50]],
            "extra": [list(map(str, k)) for k in diff.extra[:50]],
            "changed": [list(map(str, k)) for k in diff.changed[:50]],
            "equal_after_repair": after.equal if after else None,
        }
        ops.record_reconciliation(
            {
                "table_name": table.name,
                "started_at": started,
                "source_rows": diff.source_rows,
                "target_rows": diff.target_rows,
                "missing": diff.missing_total,
                "extra": diff.extra_total,
                "changed": diff.changed_total,
                "repaired": repaired is not None,
                "seconds": diff.seconds,
                "detail": json.dumps(detail, ensure_ascii=False),
                "launched_by": launched_by,
            }
        )
    return Reconciliation(diff, repaired, after)


class ApprovalMissing(ExchangeError):
    """A re-initialisation needs a reason and an approver (报备市局管理员)."""


@dataclass(frozen=True)
class Approval:
    """What the audit of a re-initialisation records: why, who approved it (报备市局管理员), and which run and
    person carried it out (the proxy's user, the CLI's OS user)."""

    reason: str
    approved_by: str
    run_id: str | None = None
    launched_by: str | None = None

    def require(self, name: str) -> None:
        """Refuse a re-initialisation of ``name`` without a reason or an approver."""
        if not (self.reason or "").strip() or not (self.approved_by or "").strip():
            raise ApprovalMissing(
                f"{name}: 数据初始化须注明原因（--reason）和审批人（--approved-by），已拒绝执行 / "
                "a re-initialisation needs both a reason and an approver"
            )


def reinitialise(
    table: Table,
    source: Engine,
    target: Engine,
    ops: ExchangeRecords,
    approval: Approval,
    progress: Progress | None = None,
) -> tuple[CopyResult, Reconciliation]:
    """Rebuild one target table from the source, with an audit row before and after, then reconcile."""
    approval.require(table.name)
    a = approval
    audit = ops.start_reinit(table.name, a.reason.strip(), a.approved_by.strip(), a.run_id, a.launched_by)
    try:
        loaded = full_reload(table, source, target, progress=progress)
        check = reconcile_table(table, source, target, ops, launched_by=approval.launched_by)
    except BaseException:
        ops.finish_reinit(audit, status="failed")
        raise
    ops.finish_reinit(
        audit,
        status="succeeded" if check.diff.equal else "unequal",
        rows_before=loaded.rows_before,
        rows_after=loaded.target_rows,
        reconciliation=check.diff.summary(),
    )
    return loaded, check


def missing_columns(table: Table, target: Engine) -> list[str]:
    """Catalog columns the target table does not have yet (a column the site's catalog added)."""
    t = table_on(target, table)
    held = {c["name"] for c in sa.inspect(target).get_columns(t.name, t.schema)}
    return [c.name for c in table.columns if c.name not in held]


def migrate(
    table: Table, target: Engine, ops: ExchangeRecords, *, reason: str, approved_by: str
) -> list[str]:
    """Add the catalog's new columns to the target table in place, audited like a re-initialisation.

    Rows already loaded hold NULL in them until their next change, a repair (``reconcile --repair``) or a
    re-initialisation brings the values; the ``schema`` check reports the table until this has run.
    """
    if not (reason or "").strip() or not (approved_by or "").strip():
        raise ApprovalMissing(
            f"{table.name}: 结构变更须注明原因（--reason）和审批人（--approved-by），已拒绝执行 / "
            "a migration needs both a reason and an approver"
        )
    if not exists_on(target, table):
        raise ExchangeError(f"{table.name}: the target table does not exist yet; its first load creates it")
    added = missing_columns(table, target)
    if not added:
        return []
    keys = [c for c in added if c in table.key]
    if keys:
        raise ExchangeError(
            f"{table.name}: key column(s) {', '.join(keys)} cannot be added in place; "
            "re-initialise the table (`shaoxing-ops reinit`)"
        )
    audit = ops.start_migration(table.name, added, reason.strip(), approved_by.strip())
    fam, q = family(target), target.dialect.identifier_preparer.quote
    name = target.dialect.identifier_preparer.format_table(table_on(target, table))
    try:
        with target.begin() as conn:
            for col in added:
                sql_type = column_type(table.column(col)).compile(dialect=target.dialect)
                conn.exec_driver_sql(fam.add_column(name, q(col), sql_type))
    except BaseException:
        ops.finish_migration(audit, "failed")
        raise
    ops.finish_migration(audit, "succeeded")
    return added


# -- the Data Bureau leg -------------------------------------------------------------------------------
@contextmanager
def mapped_front(bt: BureauTable, catalog: Catalog, front: Engine) -> Iterator[Engine]:
    """What the mapping makes of the whole front, in a scratch SQLite database: the bureau table as it should
    be, the source that its reconciliation, repair and re-initialisation compare with and copy from. Rows that
    cannot be mapped are left out of it, as they are never sent."""
    with tempfile.TemporaryDirectory(prefix="sxops_mapped_") as folder:
        expected = make_engine(f"sqlite:///{Path(folder) / 'expected.db'}")
        try:
            upload_window(bt, catalog, front, expected, None, None)
            yield expected
        finally:
            expected.dispose()


def reconcile_bureau(
    bt: BureauTable,
    catalog: Catalog,
    front: Engine,
    bureau: Engine,
    ops: ExchangeRecords | None,
    *,
    fix: bool = False,
    launched_by: str | None = None,
) -> Reconciliation:
    """A bureau table against what the mapping makes of the front; ``fix`` re-sends the rows that differ and
    removes those the mapping no longer produces."""
    with mapped_front(bt, catalog, front) as expected:
        return reconcile_table(bt.table, expected, bureau, ops, fix=fix, launched_by=launched_by)


def reinitialise_bureau(
    bt: BureauTable,
    catalog: Catalog,
    front: Engine,
    bureau: Engine,
    ops: ExchangeRecords,
    approval: Approval,
    progress: Progress | None = None,
) -> tuple[CopyResult, Reconciliation]:
    """Rebuild a bureau table from the whole front through its mapping, audited as the provincial tables are."""
    approval.require(bt.name)
    with mapped_front(bt, catalog, front) as expected:
        return reinitialise(bt.table, expected, bureau, ops, approval, progress)


# -- either leg, for the command line and the launchpad jobs ---------------------------------------------
Engines = Callable[[str], Engine]  # role (province, front, bureau) -> its engine


def tables_of(catalog: Catalog, leg: str, names: list[str]) -> list[Table] | list[BureauTable]:
    """A leg's tables by name, all of them where none are named; an unknown name raises ``KeyError``."""
    if leg == "bureau":
        return [catalog.bureau_table(n) for n in names] if names else list(catalog.bureau)
    return [catalog.table(n) for n in names] if names else list(catalog.tables)


def reconcile_any(
    table: Table | BureauTable,
    catalog: Catalog,
    engine: Engines,
    ops: ExchangeRecords | None,
    *,
    fix: bool = False,
    launched_by: str | None = None,
) -> Reconciliation:
    """A bureau table against what its mapping makes of the front, or a provincial table's front against the
    province."""
    if isinstance(table, BureauTable):
        return reconcile_bureau(
            table, catalog, engine("front"), engine("bureau"), ops, fix=fix, launched_by=launched_by
        )
    return reconcile_table(table, engine("province"), engine("front"), ops, fix=fix, launched_by=launched_by)


def reinitialise_any(
    table: Table | BureauTable,
    catalog: Catalog,
    engine: Engines,
    ops: ExchangeRecords,
    approval: Approval,
    progress: Progress | None = None,
) -> tuple[CopyResult, Reconciliation]:
    """``reinitialise`` or ``reinitialise_bureau``, as the table is a provincial or a bureau table."""
    if isinstance(table, BureauTable):
        return reinitialise_bureau(table, catalog, engine("front"), engine("bureau"), ops, approval, progress)
    return reinitialise(table, engine("province"), engine("front"), ops, approval, progress)
