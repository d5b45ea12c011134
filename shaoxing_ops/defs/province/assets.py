"""One daily-partitioned asset per provincial table, all made by one factory from the catalog."""

import dagster as dg

from shaoxing_ops import settings
from shaoxing_ops.catalog import Catalog, System, Table
from shaoxing_ops.exchange import copy_window
from shaoxing_ops.exchange.maintenance import reconcile_table
from shaoxing_ops.names import PROVINCE, province_key_path

from ..figures import record_days, step_metadata
from ..partitions import daily
from ..repush import repair_if_repush
from ..resources import Databases, backend_kind

OWNER = "team:exchange"


def retry_policy() -> dg.RetryPolicy:
    """Passing faults (a dropped connection) are retried in the step before any sensor has to step in: twice,
    after ``SXOPS_RETRY_DELAY_SECONDS`` (default 5) and then twice that."""
    delay = settings.retry_delay_seconds()
    return dg.RetryPolicy(max_retries=2, delay=delay, backoff=dg.Backoff.EXPONENTIAL)


def asset_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey(province_key_path(table))


def group_name(system: System) -> str:
    return f"{PROVINCE}_{system.name}"


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type_text,
                description=c.title + (f"（代码集 {c.codeset}）" if c.codeset else ""),
                constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=table.key == (c.name,)),
            )
            for c in table.columns
        ]
    )


def province_asset(table: Table, system: System) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(table),
        group_name=group_name(system),
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"{table.title}（{table.name}，{system.title}）。{table.description}".rstrip(),
        kinds={backend_kind("front")},
        owners=[OWNER],
        tags={"leg": PROVINCE, "system": system.name},
        metadata={
            "表名": table.name,
            "中文名": table.title,
            "来源系统": system.title,
            "主键": ", ".join(table.key),
            "dagster/table_name": f"front.{table.db_name}",
            "dagster/column_schema": column_schema(table),
        },
        retry_policy=retry_policy(),
        pool="front_db",
    )
    def _load(context: dg.AssetExecutionContext, databases: Databases) -> dg.MaterializeResult:
        window = context.partition_time_window
        province, front = databases.engine("province"), databases.engine("front")
        result = copy_window(table, province, front, window.start, window.end)
        # What was moved goes into the materialisations' metadata, each day its own figures; a separate log
        # line per table would cost the nightly run one more stored event for each of 142 tables.
        record_days(context, result)
        repaired = repair_if_repush(
            context,
            table.name,
            lambda: reconcile_table(table, province, front, databases.exchange_records(), fix=True),
        )
        metadata = step_metadata(
            result, route=f"{databases.describe('province')} -> {databases.describe('front')}"
        )
        if repaired:
            metadata.update(
                repaired, **{"dagster/row_count": dg.IntMetadataValue(repaired["rows_after_repair"])}
            )
        return dg.MaterializeResult(metadata=metadata)

    return _load


def province_assets(catalog: Catalog) -> list[dg.AssetsDefinition]:
    return [province_asset(table, system) for system in catalog.systems for table in system.tables]
