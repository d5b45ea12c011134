"""Jobs an operations engineer launches from the launchpad: reconciliation (交换表数量比对) with optional
repair, and audited full re-initialisation (数据初始化) of named tables, on either leg: the front's tables against
the province, or the Data Bureau's tables against what their mapping makes of the front."""

from typing import Literal

import dagster as dg
from pydantic import Field

from shaoxing_ops.catalog import BureauTable, Table, load_catalog
from shaoxing_ops.exchange.maintenance import (
    Approval,
    ApprovalMissing,
    reconcile_any,
    reinitialise_any,
    tables_of,
)
from shaoxing_ops.exchange.reconcile import diff_report
from shaoxing_ops.names import LAUNCHED_BY_TAG

from .bureau.assets import asset_key as bureau_key
from .province.assets import asset_key
from .resources import Databases

Leg = Literal["province", "bureau"]
LEG_FIELD = Field(
    default="province", description="province：前置库对省局；bureau：数据局表对前置库按映射生成的结果"
)


def _tables(names: list[str], leg: Leg) -> list[Table] | list[BureauTable]:
    try:
        return tables_of(load_catalog(), leg, names)
    except KeyError as exc:
        raise dg.Failure(description=f"未知的表：{exc.args[0]}；表名见 `shaoxing-ops tables`") from None


def _key(table: Table | BureauTable) -> dg.AssetKey:
    return bureau_key(table) if isinstance(table, BureauTable) else asset_key(table)


class ReconcileConfig(dg.Config):
    tables: list[str] = Field(
        default_factory=list, description="表名，如 E_BASEINFO 或 SCJG_ZTXX；留空表示该方向全部表"
    )
    repair: bool = Field(default=False, description="发现差异时只重新复制有差异的记录，删除多出的记录")
    leg: Leg = LEG_FIELD


@dg.op(description="逐表按主键分段比对校验和，列出缺失、多出、不一致的记录；repair 为真时定向修复。")
def reconcile_tables(context: dg.OpExecutionContext, config: ReconcileConfig, databases: Databases) -> dict:
    catalog, ops = load_catalog(), databases.exchange_records()
    unequal = []
    for table in _tables(config.tables, config.leg):
        outcome = reconcile_any(
            table,
            catalog,
            databases.engine,
            ops,
            fix=config.repair,
            launched_by=context.run.tags.get(LAUNCHED_BY_TAG),
        )
        context.log.info(diff_report(outcome.diff, outcome.repaired))
        still = outcome.equal_now
        if not still:
            unequal.append(table.name)
        context.log_event(
            dg.AssetObservation(
                asset_key=_key(table),
                metadata={
                    "reconciled": True,
                    "missing": outcome.diff.missing_total,
                    "extra": outcome.diff.extra_total,
                    "changed": outcome.diff.changed_total,
                    "repaired": outcome.repaired is not None,
                    "equal_now": still,
                },
            )
        )
    if unequal and config.repair:
        raise dg.Failure(description=f"修复后仍不一致：{', '.join(unequal)}")
    return {"unequal": unequal}


@dg.job(
    name="reconcile",
    description="交换表数量比对：校验和核对前置库与省局（或数据局表与前置库），可选定向修复（repair: true）。",
)
def reconcile_job() -> None:
    reconcile_tables()


class ReinitConfig(dg.Config):
    tables: list[str] = Field(description="要全量初始化的表名，如 [E_BASEINFO] 或 [SCJG_ZTXX]")
    reason: str = Field(default="", description="初始化原因（必填），如：代码集变更导致差异较大")
    approved_by: str = Field(default="", description="报备并批准的市局管理员（必填）")
    leg: Leg = LEG_FIELD


@dg.op(
    description="全量初始化：另建新表装载全部有效记录，一个事务内替换；记录审批人、原因、前后行数，并随后核对。"
)
def reinitialise_tables(context: dg.OpExecutionContext, config: ReinitConfig, databases: Databases) -> dict:
    if not config.tables:
        raise dg.Failure(description="请在 tables 中列出要初始化的表")
    tables = _tables(config.tables, config.leg)
    catalog, ops = load_catalog(), databases.exchange_records()
    done = {}
    for table in tables:
        try:
            loaded, check = reinitialise_any(
                table,
                catalog,
                databases.engine,
                ops,
                Approval(
                    config.reason,
                    config.approved_by,
                    run_id=context.run_id,
                    launched_by=context.run.tags.get(LAUNCHED_BY_TAG),
                ),
            )
        except ApprovalMissing as exc:
            raise dg.Failure(description=str(exc)) from None
        context.log.info(
            f"{table.name}: {loaded.rows_before} -> {loaded.target_rows} rows; " + diff_report(check.diff)
        )
        context.log_event(
            dg.AssetObservation(
                asset_key=_key(table),
                metadata={
                    "reinitialised": True,
                    "reason": config.reason,
                    "approved_by": config.approved_by,
                    "launched_by": context.run.tags.get(LAUNCHED_BY_TAG, ""),
                    "rows_before": loaded.rows_before or 0,
                    "rows_after": loaded.target_rows,
                    "equal": check.diff.equal,
                },
            )
        )
        done[table.name] = loaded.target_rows
    return done


@dg.job(
    name="reinitialise",
    description="数据初始化：按市数据局或市场监管局要求对指定表全量初始化（须填写原因与审批人）。",
)
def reinitialise_job() -> None:
    reinitialise_tables()
