"""Reconciliation with repair and audited full re-initialisation, shared by the command line and Dagster."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import Table

from .copy import CopyResult, ExchangeError, Progress, full_reload
from .opsdb import OpsStore, now_local
from .reconcile import Diff, RepairResult, reconcile, repair


@dataclass
class Reconciliation:
    diff: Diff
    repaired: RepairResult | None
    after: Diff | None  # the comparison after the repair, which must be equal


def reconcile_table(table: Table, source: Engine, target: Engine, ops: OpsStore | None, *,
                    fix: bool = False) -> Reconciliation:  # fmt: skip
    started = now_local()
    diff = reconcile(table, source, target)
    repaired = after = None
    if fix and not diff.equal:
        repaired = repair(table, source, target, diff)
        after = reconcile(table, source, target)
    if ops is not None:
        detail = {"missing": [list(map(str, k)) for k in diff.missing[:50]],
                  "extra": [list(map(str, k)) for k in diff.extra[:50]],
                  "changed": [list(map(str, k)) for k in diff.changed[:50]],
                  "equal_after_repair": after.equal if after else None}  # fmt: skip
        ops.record_reconciliation({
            "table_name": table.name, "started_at": started, "source_rows": diff.source_rows,
            "target_rows": diff.target_rows, "missing": len(diff.missing), "extra": len(diff.extra),
            "changed": len(diff.changed), "repaired": repaired is not None, "seconds": diff.seconds,
            "detail": json.dumps(detail, ensure_ascii=False),
        })  # fmt: skip
    return Reconciliation(diff, repaired, after)


class ApprovalMissing(ExchangeError):
    """A re-initialisation needs a reason and an approver (报备市局管理员)."""


def reinitialise(table: Table, source: Engine, target: Engine, ops: OpsStore, *, reason: str, approved_by: str,
                 run_id: str | None = None, progress: Progress | None = None) -> tuple[CopyResult, Reconciliation]:  # fmt: skip
    """Rebuild one target table from the source, with an audit row before and after, then reconcile."""
    if not (reason or "").strip() or not (approved_by or "").strip():
        raise ApprovalMissing(
            f"{table.name}: 数据初始化须注明原因（--reason）和审批人（--approved-by），已拒绝执行 / "
            "a re-initialisation needs both a reason and an approver"
        )
    audit = ops.start_reinit(table.name, reason.strip(), approved_by.strip(), run_id)
    try:
        loaded = full_reload(table, source, target, progress=progress)
        check = reconcile_table(table, source, target, ops)
    except BaseException:
        ops.finish_reinit(audit, status="failed")
        raise
    ops.finish_reinit(audit, status="succeeded" if check.diff.equal else "unequal", rows_before=loaded.rows_before,
                      rows_after=loaded.target_rows, reconciliation=check.diff.summary())  # fmt: skip
    return loaded, check
