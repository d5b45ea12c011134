"""Operations (运维) in Dagster: host metrics observed by a sensor, the daily assessment, inspection sheet and
the weekly, monthly and yearly reports, each a partitioned asset whose files are linked from its metadata; the
three periodic reports are made by one factory (``report_asset``)."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import dagster as dg

from shaoxing_ops.alerts import Alert, Notifier, channels_from_env
from shaoxing_ops.alerts.digest import daily_summary, disk_alerts, silent_host_alerts
from shaoxing_ops.operations.assessment import assess_hosts, describe
from shaoxing_ops.operations.databases import measure_databases
from shaoxing_ops.operations.hostmetrics import collect
from shaoxing_ops.operations.patches import patch_status
from shaoxing_ops.operations.records import OperationsRecords
from shaoxing_ops.reports import annual, build
from shaoxing_ops.reports.publish import report_url

from ..partitions import daily, ops_monthly, weekly, yearly
from ..province.jobs import INSPECTION_KEY
from ..resources import Databases
from ..stats.assets import REPORT_KEY as STATS_REPORT

OWNER = "team:operations"
HOST_METRICS = dg.AssetKey(["ops", "host_metrics"])
ASSESSMENT = dg.AssetKey(["ops", "resource_assessment"])
SHEET = dg.AssetKey(["ops", "inspection_sheet"])
WEEKLY = dg.AssetKey(["ops", "weekly_report"])
MONTHLY = dg.AssetKey(["ops", "monthly_report"])
ANNUAL = dg.AssetKey(["ops", "annual_report"])
DB_SIZE_EVERY_SECONDS = 3600

host_metrics = dg.AssetSpec(
    HOST_METRICS,
    group_name="ops",
    description="主机资源使用（CPU、内存、交换分区、各磁盘、负载、网络与磁盘 I/O），由 host_metrics_sensor 每分钟采样，"
    "保存在运维库（保留 30 天），在此以观测记录绘图。",
    kinds={"psutil"},
    owners=[OWNER],
)


@dg.sensor(
    name="host_metrics_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="每分钟采样主机资源写入运维库，每小时记录各数据库大小；结果作为 ops/host_metrics 的观测。",
)
def host_metrics_sensor(context: dg.SensorEvaluationContext, databases: Databases) -> dg.SensorResult:
    got = collect(databases.operations_records())
    now = got.sampled_at.timestamp()
    cursor = float(context.cursor or 0)
    sizes = 0
    if now - cursor >= DB_SIZE_EVERY_SECONDS:
        rows, warnings = measure_databases()
        sizes = databases.operations_records().record_db_sizes(rows, at=got.sampled_at)
        for warning in warnings:
            context.log.warning(f"database size not measured: {warning}")
        _announce_silent_hosts(context, databases.operations_records(), got.sampled_at)
        cursor = now
    metadata = {
        name: dg.MetadataValue.float(round(value, 2))
        for name, value in got.samples.items()
        if "percent" in name or name.startswith("load")
    }
    metadata["host"] = dg.MetadataValue.text(got.host)
    if sizes:
        metadata["database_sizes_recorded"] = dg.MetadataValue.int(sizes)
    return dg.SensorResult(
        asset_events=[dg.AssetObservation(HOST_METRICS, metadata=metadata)], cursor=str(cursor)
    )


def _announce_silent_hosts(
    context: dg.SensorEvaluationContext, ops: OperationsRecords, at: dt.datetime
) -> None:
    """Hourly, between the daily assessments: a database host whose collector stopped is heard of within the hour."""
    recent = ops.metrics(at - dt.timedelta(days=1), metric_prefix="cpu_percent")  # one row a sample
    alerts = silent_host_alerts(assess_hosts(recent, at, ops.hosts()), at.date().isoformat())
    if alerts:
        announce(context, ops, "主机停止上报", alerts)


def _end_of(context: dg.AssetExecutionContext) -> dt.datetime:
    return context.partition_time_window.end.replace(tzinfo=None)


@dg.asset(
    key=ASSESSMENT,
    deps=[HOST_METRICS],
    group_name="ops",
    partitions_def=daily,
    description="资源瓶颈评估：每台主机（应用服务器、数据库服务器）分别评估近 7 天各资源的峰值、均值、P95、趋势与"
    "磁盘预计写满天数，数据库服务器另有连接数、缓存命中率、最长事务与库大小，给出扩容/保持/缩容建议及理由；"
    "停止上报的主机单独告警；附本机补丁情况。",
    kinds={"python"},
    owners=[OWNER],
)
def resource_assessment(context: dg.AssetExecutionContext, databases: Databases) -> dg.MaterializeResult:
    at = min(_end_of(context), dt.datetime.now(dt.UTC).astimezone(build.settings.TZ).replace(tzinfo=None))
    ops = databases.operations_records()
    assessments = assess_hosts(ops.metrics(at - dt.timedelta(days=7), at), at, ops.hosts())
    patches = patch_status()
    metadata: dict[str, dg.MetadataValue] = {
        "hosts": dg.MetadataValue.int(len(assessments)),
        "建议": dg.MetadataValue.text(
            "；".join(f"{a.host} {a.recommendation}" for a in assessments) or "无采样"
        ),
        "评估": dg.MetadataValue.md(
            "\n\n".join("```\n" + "\n".join(describe(a)) + "\n```" for a in assessments)
        ),
        "kernel": dg.MetadataValue.text(str(patches["kernel"])),
        "security_updates": dg.MetadataValue.text(str(patches["security_updates"])),
    }
    alerts = silent_host_alerts(assessments, context.partition_key)
    for a in assessments:
        for r in a.resources:
            metadata[f"{a.host} {r.resource} p95 %"] = dg.MetadataValue.float(round(r.p95, 2))
            if r.days_until_full is not None:
                metadata[f"{a.host} {r.resource} days until full"] = dg.MetadataValue.float(
                    round(r.days_until_full, 1)
                )
        alerts += disk_alerts(a.resources, context.partition_key, a.host)
    silent = [a.host for a in assessments if a.silent]
    if silent:
        metadata["silent_hosts"] = dg.MetadataValue.text("、".join(silent))
    if alerts:
        metadata["alerts_sent"] = dg.MetadataValue.int(announce(context, ops, "主机资源预警", alerts))
    return dg.MaterializeResult(metadata=metadata)


def announce(
    context: dg.AssetExecutionContext | dg.SensorEvaluationContext,
    ops: OperationsRecords,
    title: str,
    alerts: list[Alert],
    lines_before: tuple[str, ...] = (),
) -> int:
    """Send through the configured channels; a channel that fails is logged and never fails the asset."""
    channels = channels_from_env()
    if not channels:
        return 0
    outcome = Notifier(channels, ops).notify(title, alerts, lines_before=lines_before)
    for channel, error in outcome.failed.items():
        context.log.warning(
            f"alert channel {channel} failed; the ops_alert_sensor does not resend it: {error}"
        )
    return sum(outcome.sent.values())


def _files(context: dg.AssetExecutionContext, files: build.ReportFiles) -> dict[str, dg.MetadataValue]:
    """Links to the report and its Word and PDF copies; a copy that could not be made is said in the log."""
    copies = files.documents
    out = {
        "html": dg.MetadataValue.path(str(files.html)),
        "report": dg.MetadataValue.url(report_url(files.html)),
        "json": dg.MetadataValue.path(str(files.json)),
        "word": dg.MetadataValue.url(report_url(copies.docx)),
    }
    if copies.pdf:
        out["pdf"] = dg.MetadataValue.url(report_url(copies.pdf))
    if copies.missing:
        context.log.warning(copies.missing)
        out["copies_missing"] = dg.MetadataValue.text(copies.missing)
    return out


@dg.asset(
    key=SHEET,
    deps=[ASSESSMENT, INSPECTION_KEY],
    group_name="ops",
    partitions_def=daily,
    description="日常巡检单：当日两条链路每张表的运行状态、交换行数、各项检查结果、行数差、重推次数与结果、升级事项、"
    "主机资源评估和未关闭的问题反馈；输出中文 HTML 与 JSON。",
    kinds={"html", "json", "docx", "pdf"},
    owners=[OWNER],
)
def inspection_sheet(context: dg.AssetExecutionContext, databases: Databases) -> dg.MaterializeResult:
    day = context.partition_time_window.start.date()
    report = build.daily_sheet(
        context.instance, databases.exchange_records(), databases.operations_records(), day
    )
    files = build.write(report, f"巡检单_{day.isoformat()}")
    s = report["summary"]
    title, lines, alert = daily_summary(report)
    sent = announce(context, databases.operations_records(), title, [alert], tuple(lines))
    return dg.MaterializeResult(
        metadata={
            **_files(context, files),
            **{k: dg.MetadataValue.int(v) for k, v in s.items()},
            "healthy": dg.MetadataValue.bool(not report["attention"] and not report["hosts_silent"]),
            "summary_sent": dg.MetadataValue.int(sent),
        }
    )


ReportWriter = Callable[[dg.AssetExecutionContext, Databases], tuple[dict[str, Any], build.ReportFiles]]


def report_asset(
    key: dg.AssetKey,
    deps: list[dg.AssetKey],
    partitions_def: dg.PartitionsDefinition,
    description: str,
    write: ReportWriter,
    figures: Callable[[dict[str, Any]], dict[str, dg.MetadataValue]],
) -> dg.AssetsDefinition:
    """A periodic report (weekly, monthly, yearly): ``write`` builds the partition's report and writes its files;
    its materialisation links them and shows the report's ``figures``."""

    @dg.asset(
        key=key,
        deps=deps,
        group_name="ops",
        partitions_def=partitions_def,
        description=description,
        kinds={"html", "plotly", "docx", "pdf"},
        owners=[OWNER],
    )
    def _report(context: dg.AssetExecutionContext, databases: Databases) -> dg.MaterializeResult:
        report, files = write(context, databases)
        return dg.MaterializeResult(metadata={**_files(context, files), **figures(report)})

    return _report


def period_writer(kind: str, stem: Callable[[dt.date], str]) -> ReportWriter:
    """The weekly or monthly report of the partition's days (the monthly one with the month's statistics),
    written under the name ``stem`` gives its first day."""

    def write(
        context: dg.AssetExecutionContext, databases: Databases
    ) -> tuple[dict[str, Any], build.ReportFiles]:
        window = context.partition_time_window
        first, last = window.start.date(), window.end.date() - dt.timedelta(days=1)
        front = databases.engine("front") if kind == "monthly" else None
        exchange, operations = databases.exchange_records(), databases.operations_records()
        report = build.period_report(context.instance, exchange, operations, first, last, kind, front)
        return report, build.write(report, stem(first))

    return write


def write_annual(
    context: dg.AssetExecutionContext, databases: Databases
) -> tuple[dict[str, Any], build.ReportFiles]:
    """The year-end summary of the partition's year."""
    year = context.partition_time_window.start.year
    exchange, operations = databases.exchange_records(), databases.operations_records()
    report = annual.annual_report(context.instance, exchange, operations, year, progress=context.log.info)
    return report, annual.write(report)


def incidents(report: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    return {"incidents": dg.MetadataValue.int(len(report["incidents"]))}


def availability(report: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    legs = report["legs"]
    return {
        "province_availability_percent": dg.MetadataValue.float(legs["province"]["availability"] or 0.0),
        "bureau_availability_percent": dg.MetadataValue.float(legs["bureau"]["availability"] or 0.0),
        "escalations": dg.MetadataValue.int(report["escalations"]["count"]),
    }


weekly_report = report_asset(
    WEEKLY,
    [SHEET],
    weekly,
    "运维周报：一周的巡检汇总、故障及处理、数据初始化及审批、资源趋势图、问题反馈的登记与解决，附确认签字栏。",
    period_writer("weekly", lambda first: f"运维周报_{first.isoformat()}"),
    incidents,
)
monthly_report = report_asset(
    MONTHLY,
    [SHEET, STATS_REPORT],
    ops_monthly,
    "运维服务月报：当月巡检、故障与处理、数据初始化、资源趋势、问题反馈，以及市场主体统计要点，附用户单位确认签字栏。",
    period_writer("monthly", lambda first: f"运维服务月报_{first:%Y-%m}"),
    incidents,
)
annual_report = report_asset(
    ANNUAL,
    [MONTHLY],
    yearly,
    "运维服务年度总结（验收用）：全年两条链路的交换可用率、故障与处理时长、自动重推、数据初始化、问题反馈、"
    "各月主机资源与扩缩容建议、市场主体统计交付情况，附甲乙双方确认签字栏；输出 HTML、JSON、Word 与 PDF。",
    write_annual,
    availability,
)
