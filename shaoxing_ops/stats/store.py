"""The statistics as tables of the front database: the long table and two ready pivots, replaced per month.

注册资本 columns are in 亿元 (floats, unrounded: the reports round to two decimals); a table written before they
existed gets them added (empty for the months written then) the next time a month is stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .compute import LONG_MEASURES, StatsFrame
from .dimensions import COUNTIES

LONG_TABLE = "stats_market_entity"
COUNTY_CATEGORY_TABLE = "stats_pivot_county_category"
INDUSTRY_COUNTY_TABLE = "stats_pivot_industry_county"
CATEGORY_SLUGS = {"1": "enterprise", "2": "individual", "3": "cooperative", "": "total"}
PRIVATE_SLUG = (
    "private"  # 其中：私营企业, a part of enterprise: total = enterprise + individual + cooperative
)
PIVOT_MEASURES = ("stock", "new", "cancelled", "revoked", "net")
PIVOT_CAPITAL = ("new_capital", "stock_capital")  # 亿元; 个体工商户 have none
SLUGS = (*CATEGORY_SLUGS.values(), PRIVATE_SLUG)
CAPITAL_SLUGS = tuple(s for s in SLUGS if s != "individual")

metadata = sa.MetaData()


def _measure_type(name: str) -> sa.types.TypeEngine:
    if name in ("new_capital", "new_capital_ytd", "stock_capital"):
        return sa.Double()  # 亿元 to the 元: MariaDB's FLOAT would keep 7 digits, too few for 实有注册资本
    floats = name.endswith(("_yoy", "_mom")) or name.startswith("ratio")
    return sa.Float() if floats else sa.BigInteger()


def _comment(name: str) -> str | None:
    return "亿元" if "capital" in name and not name.endswith(("_yoy", "_mom")) else None


long_table = sa.Table(
    LONG_TABLE,
    metadata,
    sa.Column("month", sa.String(7), primary_key=True, comment="统计月份"),
    sa.Column("dimension", sa.String(32), primary_key=True, comment="统计维度"),
    sa.Column("code1", sa.String(12), primary_key=True, comment="维度代码"),
    sa.Column("name1", sa.String(60), nullable=False, comment="维度名称"),
    sa.Column("code2", sa.String(12), primary_key=True, comment="交叉维度代码"),
    sa.Column("name2", sa.String(60), nullable=False, comment="交叉维度名称"),
    *[sa.Column(m, _measure_type(m), comment=_comment(m)) for m in LONG_MEASURES],
)


def _pivot(name: str, dimension: str, *columns: sa.Column) -> sa.Table:
    """A ready pivot: one row per month and member of ``dimension`` (its code and name), with ``columns``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column(f"{dimension}_code", sa.String(12), primary_key=True),
        sa.Column(f"{dimension}_name", sa.String(60), nullable=False),
        *columns,
    )


def _counts(names: Iterable[str]) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger, nullable=False) for name in names]


county_category_table = _pivot(
    COUNTY_CATEGORY_TABLE,
    "county",
    *_counts(f"{m}_{slug}" for m in PIVOT_MEASURES for slug in CATEGORY_SLUGS.values()),
    *[sa.Column(f"{m}_{PRIVATE_SLUG}", sa.BigInteger) for m in PIVOT_MEASURES],
    *[sa.Column(f"{m}_{slug}", sa.Double, comment="亿元") for m in PIVOT_CAPITAL for slug in CAPITAL_SLUGS],
)
industry_county_table = _pivot(
    INDUSTRY_COUNTY_TABLE,
    "industry",
    *_counts(f"{m}_{c}" for m in ("stock", "new") for c in [*COUNTIES, "999999"]),
    *_counts(["stock_total", "new_total"]),
)


def county_category_pivot(frame: StatsFrame) -> pl.DataFrame:
    """One row per county and month: each measure by 企业 (其中 私营企业) / 个体工商户 / 农民专业合作社 and in
    total, and 注册资本 but for 个体工商户."""
    parts = frame.long.filter(pl.col("dimension").is_in(["county_category", "county", "county_private"]))
    rows = []
    for (month, code), group in parts.group_by(["month", "code1"], maintain_order=True):
        row = {"month": month, "county_code": code, "county_name": group["name1"][0]}
        for rec in group.iter_rows(named=True):
            slug = PRIVATE_SLUG if rec["dimension"] == "county_private" else CATEGORY_SLUGS[rec["code2"]]
            for m in PIVOT_MEASURES:
                row[f"{m}_{slug}"] = rec[m] or 0
            if slug in CAPITAL_SLUGS:
                row.update({f"{m}_{slug}": rec[m] for m in PIVOT_CAPITAL})
        rows.append(row)
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def industry_county_pivot(frame: StatsFrame) -> pl.DataFrame:
    """One row per industry section and month: stock and new registrations in each county."""
    parts = frame.long.filter(pl.col("dimension").is_in(["county_industry", "industry"]))
    rows = {}
    for rec in parts.iter_rows(named=True):
        industry = rec["code2"] if rec["dimension"] == "county_industry" else rec["code1"]
        row = rows.setdefault((rec["month"], industry), {"month": rec["month"], "industry_code": industry})
        if rec["dimension"] == "industry":
            row.update(industry_name=rec["name1"], stock_total=rec["stock"], new_total=rec["new"])
        else:
            row.update({f"stock_{rec['code1']}": rec["stock"], f"new_{rec['code1']}": rec["new"]})
    return pl.DataFrame(list(rows.values())).fill_null(0) if rows else pl.DataFrame()


def _records(df: pl.DataFrame, table: sa.Table) -> list[dict]:
    names = [c.name for c in table.columns]
    out = []
    for rec in df.iter_rows(named=True):
        out.append({n: rec.get(n, None if isinstance(table.c[n].type, sa.Float) else 0) for n in names})
    return out


def _add_missing_columns(conn: sa.Connection, table: sa.Table) -> None:
    """Columns added since the table was created (注册资本, 私营企业), as nullable columns: its rows stay."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for col in table.columns:
        if col.name not in have:
            kind = col.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {conn.dialect.identifier_preparer.quote(table.name)} ADD COLUMN "
                f"{conn.dialect.identifier_preparer.quote(col.name)} {kind}"
            )


def write(engine: Engine, frame: StatsFrame, months: Sequence[str] | None = None) -> dict[str, int]:
    """Replace the given months (default: all of the frame's) in the three tables, in one transaction."""
    months = list(months or frame.months)
    selected = StatsFrame(frame.settings, months, frame.long.filter(pl.col("month").is_in(months)))
    payload = {
        long_table: _records(selected.long, long_table),
        county_category_table: _records(county_category_pivot(selected), county_category_table),
        industry_county_table: _records(industry_county_pivot(selected), industry_county_table),
    }
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        for table in payload:
            _add_missing_columns(conn, table)
        for table, rows in payload.items():
            conn.execute(table.delete().where(table.c.month.in_(months)))
            if rows:
                conn.execute(table.insert(), rows)
    return {t.name: len(rows) for t, rows in payload.items()}


def read_long(engine: Engine, months: Sequence[str]) -> pl.DataFrame:
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.select(long_table).where(long_table.c.month.in_(list(months)))).mappings().all()
        )
    return pl.DataFrame([dict(r) for r in rows]) if rows else pl.DataFrame()
