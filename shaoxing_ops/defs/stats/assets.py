"""Monthly market-entity statistics: the figures as tables of the front database, then the workbook and report."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from shaoxing_ops.catalog import load_catalog
from shaoxing_ops.reports.publish import report_url
from shaoxing_ops.stats import Settings, StatsFrame, compute_months
from shaoxing_ops.stats import store as stats_store
from shaoxing_ops.stats.commentary import sentences
from shaoxing_ops.stats.dimensions import ADDITIVE
from shaoxing_ops.stats.outputs import write_outputs

from ..checks import latest_materializations
from ..partitions import monthly
from ..province.assets import asset_key as province_key
from ..resources import Databases, backend_kind

OWNER = "team:statistics"
SOURCES = ("E_BASEINFO", "E_PB_BASEINFO", "E_CANCEL", "E_REVOKE")
FIGURES_KEY = dg.AssetKey(["stats", "market_entities"])
REPORT_KEY = dg.AssetKey(["stats", "market_entity_report"])


class StatsConfig(dg.Config):
    """Counting choices; unset means the environment's (SXOPS_STATS_REVOKED_IN_STOCK, SXOPS_STATS_INDIVIDUAL_CODE)."""

    revoked_in_stock: bool | None = None
    individual_code: str | None = None

    def settings(self) -> Settings:
        return Settings.from_env().with_choices(self.revoked_in_stock, self.individual_code)


def _headline(total: dict) -> dict[str, dg.MetadataValue]:
    """The month's city-wide figures as numbers the UI plots across partitions (missing rates are left out)."""
    out: dict[str, dg.MetadataValue] = {}
    for key, label in (
        ("stock", "实有"),
        ("new", "新设"),
        ("cancelled", "注销"),
        ("revoked", "吊销"),
        ("net", "净增"),
    ):
        out[f"{key} {label}"] = dg.MetadataValue.int(int(total[key]))
    for key, label in (
        ("stock_yoy", "实有同比%"),
        ("new_yoy", "新设同比%"),
        ("new_mom", "新设环比%"),
        ("ratio", "新设注销比"),
    ):
        if total[key] is not None:
            out[f"{key} {label}"] = dg.MetadataValue.float(float(total[key]))
    for key, label in (("new_capital", "新设注册资本（亿元）"), ("stock_capital", "实有注册资本（亿元）")):
        out[f"{key} {label}"] = dg.MetadataValue.float(round(float(total[key]), 2))
    return out


def _private(frame: StatsFrame, month: str) -> dict[str, dg.MetadataValue]:
    """私营企业 beside the headline: its stock and new registrations, plotted month by month like them."""
    rows = frame.of("private", month).to_dicts()
    if not rows:
        return {}
    return {
        "private_stock 私营企业实有": dg.MetadataValue.int(int(rows[0]["stock"])),
        "private_new 私营企业新设": dg.MetadataValue.int(int(rows[0]["new"])),
    }


def _source_deps() -> list[dg.AssetDep]:
    catalog = load_catalog()
    mapping = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    return [dg.AssetDep(province_key(catalog.table(n)), partition_mapping=mapping) for n in SOURCES]


@dg.asset(
    key=FIGURES_KEY,
    group_name="statistics",
    deps=_source_deps(),
    partitions_def=monthly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "市场主体月度统计：按县（市、区）、主体类别（其中私营企业）、企业类型、行业门类与三次产业统计实有、新设、注销、"
        "吊销、净增及新设、实有注册资本（亿元），及同比、环比、本年累计和新设注销比。"
        "写入前置库 stats_market_entity（长表）与两张透视表。"
    ),
    kinds={backend_kind("front"), "polars"},
    owners=[OWNER],
    tags={"domain": "statistics"},
    metadata={"dagster/table_name": f"front.{stats_store.LONG_TABLE}"},
    pool="front_db",
)
def market_entities(
    context: dg.AssetExecutionContext, config: StatsConfig, databases: Databases
) -> dg.MaterializeResult:
    settings = config.settings()
    months = [k[:7] for k in context.partition_keys]
    front = databases.engine("front")
    frame = compute_months(front, months, settings)
    written = stats_store.write(front, frame)
    last = months[-1]
    context.log.info(f"statistics of {months[0]} … {last} from {databases.describe('front')}: {written}")
    return dg.MaterializeResult(
        metadata={
            **_headline(frame.total(last)),
            **_private(frame, last),
            "dagster/row_count": dg.MetadataValue.int(written[stats_store.LONG_TABLE]),
            "分析": dg.MetadataValue.md("\n\n".join(sentences(frame, last))),
            "cube_rows": dg.MetadataValue.int(frame.cube_rows),
            **{k: dg.MetadataValue.int(v) for k, v in frame.notes.items()},
            "revoked_in_stock": dg.MetadataValue.bool(settings.revoked_in_stock),
        }
    )


def _number(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:.6f}".rstrip("0").rstrip(".")


def _month_gaps(long: pl.DataFrame) -> dict[str, dict[str, str]]:
    """Where one month's stored figures do not add up: for each failing dimension, each measure that differs,
    with the parts' sum, the whole and by how much; empty where everything adds up."""
    counts, capital = ["stock", "new", "cancelled", "revoked"], ["new_capital", "stock_capital"]
    if (
        "stock_capital" not in long.columns
        or long.filter(pl.col("dimension") == "total")["stock_capital"][0] is None
    ):
        capital = []  # a month stored before 注册资本 existed

    def sums(dim: str, **where: str) -> dict[str, float]:
        rows = long.filter(pl.col("dimension") == dim, *[pl.col(c) == v for c, v in where.items()])
        return dict(zip(counts + capital, rows.select(pl.col(counts + capital).sum()).row(0), strict=True))

    def unequal(parts: dict[str, float], whole: dict[str, float], label: str) -> dict[str, str]:
        # capital in 亿元: float sums, 1 元 apart
        return {
            k: f"{_number(parts[k])} ≠ {label} {_number(whole[k])}（相差 {_number(parts[k] - whole[k])}）"
            for k in counts + capital
            if (parts[k] != whole[k] if k in counts else abs(parts[k] - whole[k]) > 1e-8)
        }

    def exceeding(part: dict[str, float], whole: dict[str, float]) -> dict[str, str]:
        return {
            k: f"{part[k]} > 企业 {whole[k]}（超出 {part[k] - whole[k]}）"
            for k in counts
            if part[k] > whole[k]
        }

    total = sums("total")
    gaps = {dim: unequal(sums(dim), total, "合计") for dim in ADDITIVE}
    # 其中：私营企业 is a part of 企业, in the city and in each county, and its counties add up to the city's.
    private = sums("private")
    gaps["private"] = exceeding(private, sums("category", code1="1"))
    gaps["county_private"] = unequal(sums("county_private"), private, "全市")
    for county in long.filter(pl.col("dimension") == "county_private")["code1"].to_list():
        part, whole = sums("county_private", code1=county), sums("county_category", code1=county, code2="1")
        gaps[f"county_private {county}"] = exceeding(part, whole)
    return {dim: gap for dim, gap in gaps.items() if gap}


@dg.asset_check(
    asset=FIGURES_KEY,
    description=(
        "各县（市、区）、各主体类别、企业类型、行业门类、三次产业之和与全市合计一致（实有、新设、注销、吊销、"
        "新设与实有注册资本）；其中私营企业各县之和等于全市，且不超过企业（各县亦然）。逐月核对，每月一个结果。"
    ),
    blocking=True,
    partitions_def=monthly,
)
def parts_add_up(
    context: dg.AssetCheckExecutionContext, databases: Databases
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    """One result per month of the run (a backfill of several months runs as one step), each from that month's
    own stored figures and recorded on its partition, as the provincial checks record each day of a range.

    Dagster records an ``AssetCheckResult`` of a ranged step for no month, so evaluations are yielded, after the
    check's (empty) output, as Dagster itself does for a result; a failed one still blocks what follows."""
    yield dg.Output(None)
    keys = list(context.partition_keys)
    front = databases.engine("front")
    targets = latest_materializations(context.instance, FIGURES_KEY, keys)
    for key in keys:
        month = key[:7]
        long = stats_store.read_long(front, [month])
        if long.is_empty():
            passed, description = False, f"前置库中没有 {month} 的统计数据"
            metadata = {"month": month, "原因": description}
        else:
            gaps = _month_gaps(long)
            passed = not gaps
            description = (
                f"{month}：{'、'.join(gaps)} 之和与合计不一致" if gaps else f"{month}：各维度之和与合计一致"
            )
            metadata = {
                "month": month,
                "差异": dg.MetadataValue.json(gaps or {"无": "各维度之和与合计一致"}),
            }
        yield dg.AssetCheckEvaluation(
            asset_key=FIGURES_KEY,
            check_name="parts_add_up",
            passed=passed,
            metadata=metadata,
            target_materialization_data=targets.get(key),
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            blocking=True,
            partition=key,
        )


@dg.asset(
    key=REPORT_KEY,
    group_name="statistics",
    deps=[FIGURES_KEY],
    partitions_def=monthly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="市场主体月度统计报表：Excel 工作簿（每个维度一个工作表）与含 plotly 图表和文字分析的 HTML 报告。",
    kinds={"excel", "html", "plotly"},
    owners=[OWNER],
    tags={"domain": "statistics"},
)
def market_entity_report(
    context: dg.AssetExecutionContext, config: StatsConfig, databases: Databases
) -> dg.MaterializeResult:
    for key in context.partition_keys:
        month = key[:7]
        out = write_outputs(databases.engine("front"), month, config.settings())
        context.log.info(f"statistics of {month}: {out.workbook} and {out.report}")
    return dg.MaterializeResult(
        metadata={
            "workbook": dg.MetadataValue.path(str(out.workbook)),
            "report": dg.MetadataValue.url(report_url(out.report)),
            "report_path": dg.MetadataValue.path(str(out.report)),
            "word": dg.MetadataValue.url(report_url(out.documents.docx)),
            **({"pdf": dg.MetadataValue.url(report_url(out.documents.pdf))} if out.documents.pdf else {}),
            **(
                {"copies_missing": dg.MetadataValue.text(out.documents.missing)}
                if out.documents.missing
                else {}
            ),
            "分析": dg.MetadataValue.md("\n\n".join(sentences(out.frame, month))),
            **_headline(out.frame.total(month)),
        }
    )
