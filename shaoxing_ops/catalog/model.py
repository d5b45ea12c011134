"""Typed view of the table catalog: what every layer above reads instead of hard-coding table facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

PLATFORM_COLUMNS = ("dsc_biz_record_id", "dsc_biz_operation", "dsc_biz_timestamp")
COLUMN_KINDS = ("str", "text", "int", "bigint", "dec", "date", "datetime")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # one of COLUMN_KINDS
    title: str
    length: int | None = None  # str(n)
    precision: int | None = None  # dec(p,s)
    scale: int | None = None
    nullable: bool = True
    codeset: str | None = None  # values must belong to this code set
    check: str | None = None  # credit_code | id_number | phone
    gen: str | None = None  # simulator hint for generic tables
    index: bool = False

    @property
    def type_text(self) -> str:
        if self.kind == "str":
            return f"str({self.length})"
        if self.kind == "dec":
            return f"dec({self.precision},{self.scale})"
        return self.kind


@dataclass(frozen=True)
class VolumeRules:
    """How a day's delivered changes are judged against the table's own recent history (``volume`` check).

    The defaults are ``volume.yaml``'s; a table may override any of them under ``volume_check:``.
    """

    history_weeks: int = 4  # the same weekday in the last N weeks is the first history asked
    min_history: int = 3  # days of history needed before it is trusted
    silent_below: float = 10.0  # expecting at least this many changes, a day with none fails (未下发)
    drop_ratio: float = 0.25  # fewer than this share of the expected changes warns (数据量骤降) …
    drop_min_expected: float = 20.0  # … for a table expecting at least this many
    surge_ratio: float = 4.0  # more than this multiple of the expected changes warns (数据量激增) …
    surge_min_rows: float = 50.0  # … when at least this many rows above the expected


@dataclass(frozen=True)
class Table:
    system: str
    name: str  # national-standard name as published, e.g. E_BASEINFO
    title: str  # Chinese title
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    volume: float  # changed rows per day at scale 1.0
    base: int  # rows before the first simulated day at scale 1.0
    sim: str = "generic"  # generic | core (hand-written model in simulate/)
    description: str = ""
    volume_rules: VolumeRules = VolumeRules()
    source_name: str = ""  # the province's own name for it, where not the standard one (e.g. T_E_BASEINFO)
    source_schema: str | None = None  # the province's schema, where not the connection's default

    @property
    def db_name(self) -> str:
        """Identifier in the databases: lower case, so hand-written SQL needs no quotes on PostgreSQL."""
        return self.name.lower()

    @property
    def source_db_name(self) -> str:
        """The table's name in the provincial database (lower case, as ``db_name``)."""
        return (self.source_name or self.name).lower()

    @cached_property
    def column_names(self) -> tuple[str, ...]:  # asked for every row the simulator writes: computed once
        return tuple(c.name for c in self.columns)

    @cached_property
    def business_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.name not in PLATFORM_COLUMNS)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}: no column {name!r}")


@dataclass(frozen=True)
class System:
    name: str  # registration | enforcement | food_safety
    title: str  # 全程电子化登记 …
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class CodeMap:
    """Codes and what each stands for, under a name and a title."""

    name: str
    title: str
    codes: dict[str, str]


class CodeSet(CodeMap):
    """A code set of the province's tables: code -> 中文名 (``codesets*.yaml``)."""


class Translation(CodeMap):
    """A front code -> the Data Bureau's code for the same thing (``bureau.yaml``)."""


@dataclass(frozen=True)
class Expr:
    """One bureau column's value: a source column, a joined column, a literal, or a function of those."""

    kind: str  # col | join | lit | fn
    value: str  # column name, literal text, or function name
    args: tuple[Expr, ...] = ()
    name: str | None = None  # label/translate: the code set or translation named first


@dataclass(frozen=True)
class MapPart:
    """Rows of one source table (optionally joined to another) as rows of a bureau table."""

    source: str
    columns: tuple[tuple[str, Expr], ...]
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    join_table: str | None = None
    join_on: tuple[tuple[str, str], ...] = ()  # (source column, joined table column)


@dataclass(frozen=True)
class BureauTable:
    """A table reported to the city Data Bureau and how it is built from the front tables."""

    name: str
    title: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    sources: tuple[str, ...]  # province table names it is built from
    parts: tuple[MapPart, ...] = ()
    volume_rules: VolumeRules = VolumeRules()

    @property
    def db_name(self) -> str:
        return self.name.lower()

    @property
    def table(self) -> Table:
        """The same table in the shape the exchange engine loads (platform columns included)."""
        return Table(
            system="bureau",
            name=self.name,
            title=self.title,
            key=self.key,
            columns=self.columns,
            volume=0.0,
            base=0,
            volume_rules=self.volume_rules,
        )


@dataclass(frozen=True)
class Catalog:
    systems: tuple[System, ...]
    codesets: dict[str, CodeSet]
    bureau: tuple[BureauTable, ...]
    translations: dict[str, Translation] = field(default_factory=dict)
    _by_name: dict[str, Table] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for system in self.systems:
            for table in system.tables:
                self._by_name[table.name] = table

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for s in self.systems for t in s.tables)

    def table(self, name: str) -> Table:
        """Look a provincial table up by its standard name, case-insensitively."""
        try:
            return self._by_name[name.upper()]
        except KeyError:
            raise KeyError(f"unknown table {name!r}: see `shaoxing-ops tables` for the catalog") from None

    def bureau_table(self, name: str) -> BureauTable:
        for b in self.bureau:
            if b.name == name.upper():
                return b
        raise KeyError(f"unknown bureau table {name!r}")

    def system(self, name: str) -> System:
        for s in self.systems:
            if s.name == name:
                return s
        raise KeyError(f"unknown system {name!r}")
