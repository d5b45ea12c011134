"""Monthly figures of Shaoxing's market entities from the front database.

The database does the heavy part in one grouped scan: every entity (enterprises and cooperatives from
E_BASEINFO, individual businesses from E_PB_BASEINFO, with their E_CANCEL and E_REVOKE dates) is counted into
a small cube by registration authority, type, industry and the months it was set up, deregistered and
revoked, with the sum of their registered capital per currency. Events before the first statistics month
collapse into one opening bucket, so the cube stays small whatever the register's age. polars turns the cube
into every dimension's monthly figures: stock is the running sum of set-ups minus exits, and 同比/环比/累计 are
read off the complete month grid, so a county or industry with no activity still appears, with zeros.
注册资本 runs the same way: 新设 is the capital of the month's set-ups, 实有 the running sum less that of exits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shaoxing_ops import settings as platform_settings
from shaoxing_ops.catalog import Catalog, load_catalog
from shaoxing_ops.domain.mapping import INDIVIDUAL_TYPES
from shaoxing_ops.exchange.dbs import is_postgres, reading
from shaoxing_ops.exchange.dialects import family
from shaoxing_ops.exchange.schema import table_exists

from . import dimensions as dims

OPENING = "0000-00"  # every event before the first statistics month
UNDATED = -1  # an entity without a set-up date: counted aside, reported
COUNTS = ("stock", "new", "cancelled", "revoked", "net")
FLOWS = ("new", "cancelled", "revoked", "net")
CAPITAL = ("new_capital", "stock_capital")  # 亿元; none for 个体工商户, who register 资金数额, not 注册资本
PCT_DIGITS = 1  # every percentage (同比, 环比, 占比) has one decimal, in the tables as in the reports


@dataclass(frozen=True)
class Settings:
    """How the figures are counted. ``since`` is the first month the statistics (and their comparisons) cover."""

    since: str = "2024-01"
    revoked_in_stock: bool = False  # whether 吊销未注销 entities still count in 实有
    individual_code: str = "9600"  # the type code 个体工商户 rows carry in the type dimension (9600 or 9999)
    private_types: frozenset[str] = frozenset(dims.PRIVATE_TYPES)  # the type codes of 私营企业
    fx_rates: tuple[tuple[str, float], ...] = tuple(dims.FX_RATES.items())  # currency -> 元 per unit

    @property
    def rates(self) -> dict[str, float]:
        return dict(self.fx_rates)

    def __post_init__(self) -> None:
        try:
            dt.date.fromisoformat(f"{self.since}-01")
        except ValueError:
            raise ValueError(
                f"statistics start month {self.since!r} is not YYYY-MM (SXOPS_STATS_SINCE)"
            ) from None
        if self.individual_code not in INDIVIDUAL_TYPES:
            raise ValueError(
                f"个体工商户 type code {self.individual_code!r} is not one of {sorted(INDIVIDUAL_TYPES)} "
                "(SXOPS_STATS_INDIVIDUAL_CODE)"
            )
        if not self.private_types:
            raise ValueError("no 私营企业 type code (SXOPS_STATS_PRIVATE_TYPES)")
        bad = [f"{c}={r}" for c, r in self.fx_rates if not (r > 0)]
        if bad or self.rates.get(dims.CNY) != 1.0:
            raise ValueError(
                f"exchange rates {', '.join(bad) or dict(self.fx_rates)} are not positive 元 per unit with "
                f"{dims.CNY}=1 (SXOPS_STATS_FX_RATES)"
            )

    @classmethod
    def from_env(cls) -> Settings:
        """``SXOPS_STATS_SINCE`` (default: January two years before the exchange's first day), the counting
        choices ``SXOPS_STATS_REVOKED_IN_STOCK`` (0/1) and ``SXOPS_STATS_INDIVIDUAL_CODE``, and the two mappings
        domain.md leaves open: ``SXOPS_STATS_PRIVATE_TYPES`` (type codes of 私营企业, comma-separated) and
        ``SXOPS_STATS_FX_RATES`` (``840=7.10,344=0.91``: 元 per unit, replacing the default table)."""
        since = os.environ.get("SXOPS_STATS_SINCE") or f"{platform_settings.start_date().year - 2}-01"
        revoked = os.environ.get("SXOPS_STATS_REVOKED_IN_STOCK", "0").strip().lower() in ("1", "true", "yes")
        out = cls(since, revoked, os.environ.get("SXOPS_STATS_INDIVIDUAL_CODE", "9600"))
        if types := os.environ.get("SXOPS_STATS_PRIVATE_TYPES", "").strip():
            out = dataclasses.replace(
                out, private_types=frozenset(t.strip() for t in types.split(",") if t.strip())
            )
        if rates := os.environ.get("SXOPS_STATS_FX_RATES", "").strip():
            out = dataclasses.replace(out, fx_rates=parse_rates(rates))
        return out

    def with_choices(
        self, revoked_in_stock: bool | None = None, individual_code: str | None = None
    ) -> Settings:
        """These settings with the launchpad's or the command line's counting choices, where given."""
        return dataclasses.replace(
            self,
            revoked_in_stock=self.revoked_in_stock if revoked_in_stock is None else revoked_in_stock,
            individual_code=individual_code or self.individual_code,
        )


def parse_rates(text: str) -> tuple[tuple[str, float], ...]:
    """``840=7.10,344=0.91`` as (currency, 元 per unit) pairs; 人民币 is always 1."""
    rates = {dims.CNY: 1.0}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, sep, value = part.partition("=")
        try:
            rates[code.strip()] = float(value) if sep else float("nan")
        except ValueError:
            rates[code.strip()] = float("nan")
        if not rates[code.strip()] > 0:
            raise ValueError(
                f"exchange rate {part!r} is not CODE=元 per unit, e.g. 840=7.10 (SXOPS_STATS_FX_RATES)"
            )
    return tuple(rates.items())


def month_range(first: str, last: str) -> list[str]:
    """``YYYY-MM`` months from ``first`` to ``last`` included."""
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_end(month: str) -> dt.date:
    """The first day after ``month``."""
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)


@dataclass
class StatsFrame:
    """The figures of some months: a long table (one row per month, dimension and member) and what it rests on."""

    settings: Settings
    months: list[str]
    long: pl.DataFrame
    cube_rows: int = 0
    notes: dict[str, int] = field(default_factory=dict)

    def of(self, dimension: str, month: str) -> pl.DataFrame:
        return self.long.filter((pl.col("dimension") == dimension) & (pl.col("month") == month))

    def with_parts(self, dimension: str, month: str) -> list[dict[str, Any]]:
        """The rows of ``dimension``, each followed by its 其中 rows (私营企业 under 企业), named "其中：…".

        A part row belongs under the member whose codes, but the last, are its own: 私营企业 under 企业 for the
        city, 柯桥区 · 私营企业 under 柯桥区 · 企业 by county."""
        parts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for d in dims.DIMENSIONS:
            if d.part_of and d.part_of[0] == dimension:
                for rec in self.of(d.name, month).iter_rows(named=True):
                    codes = _codes(rec)
                    name = "name2" if len(codes) == 2 else "name1"
                    parts.setdefault((*codes[:-1], d.part_of[1]), []).append(
                        {**rec, name: f"其中：{rec[name]}", "part": True}
                    )
        out = []
        for rec in self.of(dimension, month).iter_rows(named=True):
            out.append({**rec, "part": False})
            out += parts.get(_codes(rec), [])
        return out

    def total(self, month: str) -> dict[str, Any]:
        rows = self.of("total", month).to_dicts()
        if not rows:
            raise KeyError(f"no figures for {month}; computed months: {self.months[0]} … {self.months[-1]}")
        return rows[0]


def _codes(rec: dict[str, Any]) -> tuple[str, ...]:
    return (rec["code1"], rec["code2"]) if rec["code2"] else (rec["code1"],)


# -- the cube, in the database --------------------------------------------------------------------------
def _cube_sql(engine: Engine, catalog: Catalog) -> str:
    q = engine.dialect.identifier_preparer.quote
    cancel, revoke = q(catalog.table("E_CANCEL").db_name), q(catalog.table("E_REVOKE").db_name)

    def bucket(col: str) -> str:  # NULL: not (yet) happened; 0: before the first statistics month
        return (
            f"CASE WHEN {col} IS NULL OR {col} >= :until THEN NULL WHEN {col} < :since THEN 0 "
            f"ELSE {family(engine).month_of(col)} END"
        )

    parts = []
    for source, name in (("ent", "E_BASEINFO"), ("pb", "E_PB_BASEINFO")):
        t = q(catalog.table(name).db_name)
        capital = "e.regcapcur, e.regcap" if source == "ent" else "NULL, NULL"  # 个体: 资金数额, not 注册资本
        parts.append(
            f"SELECT '{source}' AS src, substr(e.regorg, 1, 6) AS regorg, e.enttype, e.industryphy, {capital}, "
            f"CASE WHEN e.estdate IS NULL THEN {UNDATED} ELSE {bucket('e.estdate')} END AS est_m, "
            f"{bucket('c.candate')} AS can_m, {bucket('r.revdate')} AS rev_m "
            f"FROM {t} e LEFT JOIN {cancel} c ON c.pripid = e.pripid LEFT JOIN {revoke} r ON r.pripid = e.pripid "
            f"WHERE e.estdate < :until OR e.estdate IS NULL"
        )
    keys = "src, regorg, enttype, industryphy, regcapcur, est_m, can_m, rev_m"
    # PostgreSQL adds numerics per group markedly slower than doubles, and 亿元 to two decimals needs no exact 万元
    cap = "sum(CAST(regcap AS DOUBLE PRECISION))" if is_postgres(engine) else "sum(regcap)"
    return f"SELECT {keys}, count(*) AS n, {cap} AS cap FROM ({' UNION ALL '.join(parts)}) x GROUP BY {keys}"


def _event_counts_sql(engine: Engine, catalog: Catalog) -> dict[str, str]:
    """All deregistrations and revocations of the period, to tell those the cube could not place."""
    q = engine.dialect.identifier_preparer.quote
    return {
        label: f"SELECT count(*) FROM {q(catalog.table(name).db_name)} WHERE {col} >= :since AND {col} < :until"
        for label, name, col in (("can_m", "E_CANCEL", "candate"), ("rev_m", "E_REVOKE", "revdate"))
    }


def load_cube(
    engine: Engine, settings: Settings, last_month: str, catalog: Catalog | None = None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The grouped counts up to the end of ``last_month``, with the counts of records it could not place:
    entities without a set-up date, deregistrations and revocations of no known entity. Never silently lost."""
    catalog = catalog or load_catalog()
    missing = [
        n
        for n in ("E_BASEINFO", "E_PB_BASEINFO", "E_CANCEL", "E_REVOKE")
        if not table_exists(engine, catalog.table(n).db_name)
    ]
    if missing:
        raise LookupError(
            f"the front database has no {', '.join(missing)} yet: load the registration tables first "
            "(materialise province/registration/* or run `shaoxing-ops demo`)"
        )
    params = {"since": dt.date.fromisoformat(f"{settings.since}-01"), "until": month_end(last_month)}
    binds = [sa.bindparam("since", type_=sa.Date), sa.bindparam("until", type_=sa.Date)]
    with reading(engine.connect()) as conn:
        if is_postgres(engine):  # tens of thousands of groups: hash them rather than sort a million rows
            conn.exec_driver_sql("SET LOCAL enable_sort = off")
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        rows = conn.execute(sa.text(_cube_sql(engine, catalog)).bindparams(*binds), params).all()
        events = {
            col: int(conn.execute(sa.text(sql).bindparams(*binds), params).scalar_one())
            for col, sql in _event_counts_sql(engine, catalog).items()
        }
    schema = {
        "src": pl.String,
        "regorg": pl.String,
        "enttype": pl.String,
        "industryphy": pl.String,
        "regcapcur": pl.String,
        "est_m": pl.Int32,
        "can_m": pl.Int32,
        "rev_m": pl.Int32,
        "n": pl.Int64,
        "cap": pl.Float64,
    }
    # the capital sum is a Decimal on MariaDB, a float elsewhere: 万元 as floats is exact enough for 亿元
    cube = pl.DataFrame(
        [(*r[:-1], None if r[-1] is None else float(r[-1])) for r in rows], schema=schema, orient="row"
    )
    undated = cube.filter(pl.col("est_m") == UNDATED)
    cube = cube.filter(pl.col("est_m") != UNDATED)
    placed = {col: int(cube.filter(pl.col(col) > 0)["n"].sum()) for col in events}
    notes = {
        "undated_entities": int(undated["n"].sum()),
        "unmatched_cancellations": events["can_m"] - placed["can_m"],
        "unmatched_revocations": events["rev_m"] - placed["rev_m"],
    }

    def label(col: str) -> pl.Expr:
        m = pl.col(col)
        text = (m // 100).cast(pl.String) + "-" + (m % 100).cast(pl.String).str.zfill(2)
        return pl.when(m == 0).then(pl.lit(OPENING)).otherwise(text).alias(col)

    return cube.with_columns(label("est_m"), label("can_m"), label("rev_m")), notes


def _currency(col: str = "regcapcur") -> pl.Expr:
    """The capital's currency code; an empty one is 人民币 (domestic records often leave it blank)."""
    code = pl.col(col).str.strip_chars()
    return pl.when(code.is_null() | (code == "")).then(pl.lit(dims.CNY)).otherwise(code)


def _classify(cube: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Each cube row's county, category, type family, 私营企业 or not, industry section and sector (mapped once
    per distinct key), and its capital in 亿元 of 人民币 (none where the currency has no rate)."""
    keys = cube.select("src", "regorg", "enttype", "industryphy").unique()
    mapped = []
    for src, regorg, enttype, industryphy in keys.iter_rows():
        category = dims.category_of(src, enttype, tuple(INDIVIDUAL_TYPES))
        industry = dims.industry_of(industryphy)
        private = dims.PRIVATE if dims.is_private(category, enttype, settings.private_types) else "0"
        mapped.append(
            (
                src,
                regorg,
                enttype,
                industryphy,
                dims.county_of(regorg),
                category,
                dims.family_of(category, enttype, settings.individual_code),
                private,
                industry,
                dims.SECTOR_OF.get(industry, dims.UNKNOWN),
            )
        )
    columns = (
        "src",
        "regorg",
        "enttype",
        "industryphy",
        "county",
        "category",
        "family",
        "private",
        "industry",
        "sector",
    )
    table = pl.DataFrame(mapped, schema={c: pl.String for c in columns}, orient="row")
    rate = _currency().replace_strict(settings.rates, default=None, return_dtype=pl.Float64)
    return cube.join(
        table, on=["src", "regorg", "enttype", "industryphy"], how="left", nulls_equal=True
    ).with_columns(capital=pl.col("cap") * rate / dims.WAN_PER_YI)


def capital_notes(cube: pl.DataFrame, settings: Settings) -> dict[str, int]:
    """Entities (set up by the last month, live or not) whose capital was converted from a foreign currency, and
    those left out of 注册资本 for a currency without a rate: said in the reports' notes, never silently lost."""
    rates = settings.rates
    with_capital = cube.filter(pl.col("cap").is_not_null()).with_columns(cur=_currency())
    foreign = with_capital.filter(pl.col("cur") != dims.CNY)
    return {
        "foreign_currency_entities": int(foreign.filter(pl.col("cur").is_in(list(rates)))["n"].sum()),
        "unconverted_capital_entities": int(foreign.filter(~pl.col("cur").is_in(list(rates)))["n"].sum()),
    }


# -- the figures, in polars -----------------------------------------------------------------------------
def _pct(cur: pl.Expr, prev: pl.Expr) -> pl.Expr:
    """Growth in percent; none where the base is missing or zero (no infinities, no invented zeros)."""
    return (
        pl.when(prev.is_null() | (prev == 0))
        .then(None)
        .otherwise(((cur - prev) / prev.abs() * 100).round(PCT_DIGITS))
        .cast(pl.Float64)
    )


def _grid(columns: Sequence[str], data: pl.DataFrame, settings: Settings, months: list[str]) -> pl.DataFrame:
    """Every member (those the report always shows, plus any other the data holds) × every month."""
    grid = pl.DataFrame({"m": [OPENING, *months]})
    for col in columns:
        known = list(dims.members(col, settings.individual_code))
        extra = sorted(set(data.get_column(col).unique().to_list()) - set(known) - {None})
        values = known + extra
        grid = grid.join(pl.DataFrame({col: values, f"{col}_ord": list(range(len(values)))}), how="cross")
    return grid


def _dimension(
    cube: pl.DataFrame, dim: dims.Dimension, settings: Settings, months: list[str]
) -> pl.DataFrame:
    cols = list(dim.columns)
    if dim.where:
        cube = cube.filter(pl.col(dim.where[0]) == dim.where[1])
    events = []
    for name, bucket, capital in (
        ("new", "est_m", "new_capital"),
        ("cancelled", "can_m", None),
        ("revoked", "rev_m", None),
        ("exits", "exit_m", "exit_capital"),
    ):
        sums = [pl.col("n").sum().alias(name)] + ([pl.col("capital").sum().alias(capital)] if capital else [])
        events.append(
            cube.filter(pl.col(bucket).is_not_null())
            .group_by([*cols, bucket])
            .agg(sums)
            .rename({bucket: "m"})
        )
    grid = _grid(cols, cube, settings, months)
    frame = grid
    for ev in events:
        frame = frame.join(ev, on=[*cols, "m"], how="left")
    order = [f"{c}_ord" for c in cols]  # report order of the members (the six units, then 市本级; A … T)
    filled = ("new", "cancelled", "revoked", "exits", "new_capital", "exit_capital")
    frame = frame.with_columns(pl.col(*filled).fill_null(0)).sort([*order, "m"])
    over = cols or None

    def within(expr: pl.Expr) -> pl.Expr:
        return expr.over(over) if over else expr

    frame = frame.with_columns(
        stock=within(pl.col("new").cum_sum() - pl.col("exits").cum_sum()),
        net=pl.col("new") - pl.col("cancelled"),
        stock_capital=within(pl.col("new_capital").cum_sum() - pl.col("exit_capital").cum_sum()),
    ).filter(pl.col("m") != OPENING)
    year = pl.col("m").str.slice(0, 4)
    ytd_known = (year + "-01") >= settings.since  # a year that started before the data has no honest 累计
    shifted = {}
    for c in COUNTS:
        shifted[f"{c}_mom"] = _pct(pl.col(c), within(pl.col(c).shift(1)))
        shifted[f"{c}_yoy"] = _pct(pl.col(c), within(pl.col(c).shift(12)))
    for c in CAPITAL:
        shifted[f"{c}_yoy"] = _pct(pl.col(c), within(pl.col(c).shift(12)))
    for c in (*FLOWS, "new_capital"):
        shifted[f"{c}_ytd"] = pl.when(ytd_known).then(pl.col(c).cum_sum().over([*cols, year])).otherwise(None)
    frame = frame.with_columns(**shifted)
    if (
        no_capital := _no_capital(cols, settings)
    ) is not None:  # 个体工商户 have none: "—", not a misleading 0.00
        frame = frame.with_columns(
            pl.when(no_capital).then(None).otherwise(pl.col(c)).alias(c)
            for c in (*CAPITAL, "new_capital_yoy", "stock_capital_yoy", "new_capital_ytd")
        )
    frame = frame.with_columns(
        ratio=pl.when(pl.col("cancelled") > 0)
        .then((pl.col("new") / pl.col("cancelled")).round(2))
        .otherwise(None),
        ratio_ytd=pl.when(pl.col("cancelled_ytd") > 0)
        .then((pl.col("new_ytd") / pl.col("cancelled_ytd")).round(2))
        .otherwise(None),
    )
    c1, c2 = [*cols, None, None][:2]
    named = []
    for code_col, name_col, col in (("code1", "name1", c1), ("code2", "name2", c2)):
        if col is None:
            named += [
                pl.lit("").alias(code_col),
                pl.lit("全市" if code_col == "code1" else "").alias(name_col),
            ]
        else:
            names = {
                v: dims.member_name(col, v, settings.individual_code) for v in frame[col].unique().to_list()
            }
            named += [pl.col(col).alias(code_col), pl.col(col).replace_strict(names).alias(name_col)]
    return frame.select(
        pl.col("m").alias("month"), pl.lit(dim.name).alias("dimension"), *named, *LONG_MEASURES
    )


def _no_capital(cols: Sequence[str], settings: Settings) -> pl.Expr | None:
    """Members made of 个体工商户 only, which register 资金数额 rather than 注册资本."""
    if "category" in cols:
        return pl.col("category") == "2"
    if "family" in cols:
        return pl.col("family") == settings.individual_code
    return None


LONG_MEASURES = [
    "stock",
    "stock_yoy",
    "stock_mom",
    "new",
    "new_yoy",
    "new_mom",
    "new_ytd",
    "cancelled",
    "cancelled_yoy",
    "cancelled_mom",
    "cancelled_ytd",
    "revoked",
    "revoked_yoy",
    "revoked_mom",
    "revoked_ytd",
    "net",
    "net_yoy",
    "net_mom",
    "net_ytd",
    "ratio",
    "ratio_ytd",
    "new_capital",
    "new_capital_yoy",
    "new_capital_ytd",
    "stock_capital",
    "stock_capital_yoy",
]


def figures(cube: pl.DataFrame, settings: Settings, months: list[str]) -> pl.DataFrame:
    """The long table of ``months`` (all of them from ``settings.since`` are needed for stock and comparisons)."""
    last = max(months)
    full = month_range(settings.since, last)
    classified = _classify(cube, settings)
    # An entity leaves the stock when deregistered, or already when revoked unless 吊销未注销 still counts.
    classified = classified.with_columns(
        exit_m=pl.col("can_m") if settings.revoked_in_stock else pl.min_horizontal("can_m", "rev_m"),
    )
    frames = [_dimension(classified, d, settings, full) for d in dims.DIMENSIONS]
    long = pl.concat(frames, how="vertical_relaxed")
    return long.filter(pl.col("month").is_in(months)).sort(
        "month", maintain_order=True
    )  # stable: keeps report order


def compute_months(
    engine: Engine, months: Sequence[str], settings: Settings | None = None, catalog: Catalog | None = None
) -> StatsFrame:
    """The statistics of ``months`` (``YYYY-MM``) from the front database."""
    settings = settings or Settings.from_env()
    months = sorted(set(months))
    if not months:
        raise ValueError("no month to compute")
    early = [m for m in months if m < settings.since]
    if early:
        raise ValueError(
            f"{', '.join(early)} is before the statistics start {settings.since} (SXOPS_STATS_SINCE); "
            "choose a later month or an earlier start"
        )
    cube, notes = load_cube(engine, settings, months[-1], catalog)
    notes |= capital_notes(cube, settings)
    return StatsFrame(settings, list(months), figures(cube, settings, list(months)), cube.height, notes)
