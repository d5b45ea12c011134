"""The alert sensor: what a person must hear about, read from the instance and the exchange's records, sent
through the notifier (``shaoxing_ops.alerts``).

Every minute it looks at what happened since its cursor: failed ``volume`` and ``freshness`` evaluations of
either leg (a whole source system silent on a day becomes one alert, not one per table), failed runs, and
re-pushes exhausted and escalated. The disk forecast and the daily summary are sent by the assets that compute
them (``resource_assessment``, ``inspection_sheet``). The notifier's ledger makes each alert go out once per
channel; a channel that fails is retried on the next tick and never fails anything.
"""

import datetime as dt
import json
from collections import defaultdict
from typing import Any

import dagster as dg

from shaoxing_ops import settings
from shaoxing_ops.alerts import Alert, Notifier, channels_from_env
from shaoxing_ops.catalog import Catalog, load_catalog
from shaoxing_ops.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    PartitionKeyFilter,
)
from shaoxing_ops.exchange import health
from shaoxing_ops.names import LEG_CHECKS, PROVINCE
from shaoxing_ops.reports.collect import tables as exchanged_tables

from ..resources import Databases

ALERTED_CHECKS = ("volume", "freshness")
RUN_LIMIT = 200
LEG_CN = {"province": "省局下发", "bureau": "数据局上报"}


def watched(catalog: Catalog) -> dict[dg.AssetKey, tuple[str, str, str, str]]:
    """Asset key -> (leg, system, table, title) of every exchanged table."""
    return {key: (leg, system, name, title) for leg, system, name, title, key in exchanged_tables(catalog)}


def _evaluation(instance: dg.DagsterInstance, key: dg.AssetCheckKey, day: str) -> Any:
    records = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=1, partition_filter=PartitionKeyFilter(key=day)
    )
    return records[0].event.dagster_event.event_specific_data if records and records[0].event else None


def check_alerts(
    instance: dg.DagsterInstance, catalog: Catalog, databases: Databases, after: int | None
) -> tuple[list[Alert], int | None]:
    """Failed volume and freshness evaluations since the storage id ``after``."""
    tables = watched(catalog)
    keys = [
        dg.AssetCheckKey(k, c)
        for k, (leg, *_) in tables.items()
        for c in ALERTED_CHECKS
        if c in LEG_CHECKS[leg]
    ]
    newest = after
    alerts: list[Alert] = []
    silent: dict[tuple[str, str], list[str]] = defaultdict(list)  # (system, day) -> tables not delivered
    for info in instance.event_log_storage.get_asset_check_partition_info(keys, after_storage_id=after):
        newest = max(newest or 0, info.latest_check_event_storage_id)
        day = info.partition_key
        if info.latest_execution_status.value != "FAILED" or not day:
            continue
        evaluation = _evaluation(instance, info.check_key, day)
        if evaluation is None:
            continue
        leg, system, name, title = tables[info.check_key.asset_key]
        status = str(getattr(evaluation.metadata.get("status"), "value", ""))
        if info.check_key.name == "volume" and status == "silent" and leg == PROVINCE:
            silent[(system, day)].append(name)
        severity = "警告" if evaluation.severity.value == "WARN" else "严重"
        text = f"{day} {LEG_CN[leg]} {name} {title}：{evaluation.description or '检查未通过'}"
        alerts.append(Alert(info.check_key.name, name, day, text, severity))
    for (system, day), names in silent.items():
        group = catalog.system(system)
        if len(names) < 2:
            continue
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time())
        changes = health.changes_between(
            databases.engine("province"), group.tables, start, start + dt.timedelta(days=1)
        )
        if changes:
            continue
        # the whole system delivered nothing that day: one incident instead of one alert per table
        alerts = [a for a in alerts if not (a.cause == "volume" and a.day == day and a.subject in names)]
        alerts.append(
            Alert(
                "system_silent",
                system,
                day,
                f"{day} {group.title} 整体未下发：{len(group.tables)} 张表当日均无任何变更"
                f"（其中 {len(names)} 张表通常有变更），请联系省局核实",
                "严重",
            )
        )
    return alerts, newest


def run_alerts(instance: dg.DagsterInstance, after: float | None) -> tuple[list[Alert], float | None]:
    """Runs failed since the timestamp ``after``: one alert per job and partition."""
    since = dt.datetime.fromtimestamp(after, dt.UTC) if after else None
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since),
        limit=RUN_LIMIT,
        ascending=True,
    )
    newest, alerts = after, []
    for record in records:
        newest = max(newest or 0.0, record.update_timestamp.timestamp())
        run = record.dagster_run
        tags = run.tags
        lo, hi = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
        partition = tags.get(PARTITION_NAME_TAG) or (f"{lo}…{hi}" if lo and hi else "")
        day = (
            tags.get(PARTITION_NAME_TAG)
            or lo
            or record.create_timestamp.astimezone(settings.TZ).date().isoformat()
        )[:10]
        failed = sorted(
            {
                e.step_key
                for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
                if e.step_key
            }
        )
        steps = "、".join(failed[:5]) + (f" 等 {len(failed)} 个步骤" if len(failed) > 5 else "")
        text = (
            f"运行失败：作业 {run.job_name}{f' 分区 {partition}' if partition else ''}（run {run.run_id[:8]}）"
            + (f"，失败步骤 {steps}" if steps else "")
        )
        alerts.append(Alert("run_failed", f"{run.job_name}|{partition}", day, text, "严重"))
    return alerts, newest


def escalation_alerts(databases: Databases) -> list[Alert]:
    """Re-pushes exhausted and escalated, still open."""
    return [
        Alert(
            "escalated",
            e["asset_key"],
            e["partition_key"],
            f"需人工处理：{e['asset_key']} 分区 {e['partition_key']}：{e['reason']}",
            "严重",
        )
        for e in databases.exchange_records().open_escalations()
    ]


@dg.sensor(
    name="ops_alert_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="告警：数据量（未下发、骤降、激增）与时效检查未通过、运行失败、自动重推用尽后升级的事项，"
    "通过钉钉/浙政钉机器人、企业微信机器人、邮件或 Webhook 通知运维人员；同一原因、同一张表、同一天只通知一次。",
)
def ops_alert_sensor(context: dg.SensorEvaluationContext, databases: Databases) -> dg.SkipReason | None:
    channels = channels_from_env()
    state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    catalog = load_catalog()
    checks, state["checks"] = check_alerts(context.instance, catalog, databases, state.get("checks"))
    runs, state["runs"] = run_alerts(context.instance, state.get("runs"))
    alerts = [*checks, *runs, *escalation_alerts(databases)]
    context.update_cursor(json.dumps(state))
    if not channels:
        return dg.SkipReason(
            f"{len(alerts)} alert(s) found; no alert channel is configured (SXOPS_*_WEBHOOK, SXOPS_SMTP_URL)"
        )
    outcome = Notifier(channels, databases.operations_records()).notify("数据交换告警", alerts)
    for channel, error in outcome.failed.items():
        context.log.warning(f"alert channel {channel} failed, will retry on the next tick: {error}")
    sent = ", ".join(f"{c} {n}" for c, n in outcome.sent.items()) or "nothing new"
    return dg.SkipReason(f"{len(alerts)} alert(s) considered; sent: {sent}")
