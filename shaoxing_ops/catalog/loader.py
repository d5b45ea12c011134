"""Read and validate the catalog YAML files.

A column is written on one line, ``name: <type> <中文名> [flag ...]``, for example
``uniscid: str(18) 统一社会信用代码 check=credit_code index``. Types: ``str(n)``, ``text``, ``int``,
``bigint``, ``dec(p,s)``, ``date``, ``datetime``. Flags: ``req`` (not null), ``index``, ``code=CODESET``,
``check=credit_code|id_number|phone``, ``gen=...`` (simulator hint, see ``GENERATORS``).
Every error names the file, the table and the field, so a typo is found without reading a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .model import (
    PLATFORM_COLUMNS,
    BureauTable,
    Catalog,
    CodeSet,
    Column,
    Expr,
    MapPart,
    System,
    Table,
    Translation,
    VolumeRules,
)

CHECKS = ("credit_code", "id_number", "phone")
SIM_KINDS = ("generic", "core")
# Simulator hints a generic table may use; ``simulate.generic`` implements each of them.
GENERATORS = (
    "uuid",  # 32-hex key
    "seq",  # running number
    "entity",  # entity.<attr>: a field of a random market entity (see ENTITY_ATTRS)
    "enterprise",  # enterprise.<attr>: the same, enterprises and cooperatives only
    "individual",  # individual.<attr>: the same, 个体工商户 only
    "person_name",
    "id_number",
    "phone",
    "address",
    "ent_name",
    "credit_code",
    "date",  # a date within the last days before the change
    "past_date",  # a date in the last years
    "future_date",  # a date in the coming years (validity ends)
    "datetime",
    "amount",  # money, 万元 or 元
    "count",
    "text",  # text:<label> — a Chinese sentence about <label>
    "doc_no",  # doc_no:<prefix> — 绍市监<prefix>〔2026〕123号
    "org",  # an authority name
    "officer",  # an enforcement officer's name
    "enum",  # enum:a|b|c
    "const",  # const:VALUE
    "division",  # a Shaoxing division code
    "localadm",  # an 8-digit supervising office code
    "year",
    "ref",  # ref:TABLE — the key of an existing row of another generic table (a foreign key that joins)
)

# Fields of a market entity that generic tables can copy, so their rows point at real entities.
ENTITY_ATTRS = (
    "pripid",
    "uniscid",
    "entname",
    "regno",
    "regorg",
    "dom",
    "name",
    "enttype",
    "industryphy",
    "localadm",
    "estdate",
    "district",
)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_TYPE = re.compile(r"^(str)\((\d+)\)$|^(dec)\((\d+),(\d+)\)$|^(text|int|bigint|date|datetime)$")

PLATFORM_SPECS = {
    "dsc_biz_record_id": "str(64) 交换记录标识 req",
    "dsc_biz_operation": "str(1) 交换操作类型 req",
    "dsc_biz_timestamp": "datetime 交换时间戳 req index",
}


class CatalogError(ValueError):
    """The catalog files are inconsistent; the message names the file, line, table and field."""


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers the line of each of its keys, for error messages."""

    lines: dict[Any, int]


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that remembers each key's line; libyaml's parser where PyYAML has it (the catalog is read by
    every process that starts, and the pure-Python parser took 0.7 s of it)."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.lines = {}
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        data.lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@dataclass(frozen=True)
class Where:
    """Where a catalog entry is written: ``file:line: TABLE.field`` in every message about it."""

    file: str
    line: int
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}" if self.line else f"{self.file}: {self.path}"

    def at(self, raw: Any, key: Any) -> Where:
        """The same path, at the line where ``key`` of ``raw`` is written (if known)."""
        return Where(self.file, getattr(raw, "lines", {}).get(key, self.line), self.path)


def _at(where: Where | str, raw: Any, key: Any) -> Where | str:
    return where.at(raw, key) if isinstance(where, Where) else where


def _valid_gen(value: str) -> bool:
    head, _, arg = value.partition(":")
    kind, _, attr = head.partition(".")
    if kind not in GENERATORS:
        return False
    if kind in ("entity", "enterprise", "individual"):
        return attr in ENTITY_ATTRS
    if kind in ("text", "doc_no", "enum", "const", "ref"):
        return bool(arg)
    return not attr


def parse_column(where: Where | str, name: str, spec: Any) -> Column:
    if not isinstance(name, str) or not _NAME.match(name):
        raise CatalogError(f"{where}: column name {name!r} must be lower-case letters, digits and _")
    if not isinstance(spec, str) or len(spec.split()) < 2:
        raise CatalogError(f"{where}.{name}: expected '<type> <中文名> [flags]', got {spec!r}")
    type_text, title, *flags = spec.split()
    m = _TYPE.match(type_text)
    if not m:
        raise CatalogError(f"{where}.{name}: unknown type {type_text!r}")
    kw: dict[str, Any] = {"name": name, "title": title}
    if m.group(1):
        kw.update(kind="str", length=int(m.group(2)))
    elif m.group(3):
        kw.update(kind="dec", precision=int(m.group(4)), scale=int(m.group(5)))
    else:
        kw["kind"] = m.group(6)
    for flag in flags:
        key, _, value = flag.partition("=")
        if key == "req" and not value:
            kw["nullable"] = False
        elif key == "index" and not value:
            kw["index"] = True
        elif key == "code" and value:
            kw["codeset"] = value
        elif key == "check" and value in CHECKS:
            kw["check"] = value
        elif key == "gen" and _valid_gen(value):
            kw["gen"] = value
        else:
            raise CatalogError(f"{where}.{name}: unknown flag {flag!r}")
    return Column(**kw)


def _columns(where: Where | str, raw: Any, key: tuple[str, ...], platform: bool) -> tuple[Column, ...]:
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{where}: 'columns' must be a non-empty mapping")
    cols = []
    for name, spec in raw.items():
        if name in PLATFORM_COLUMNS:
            raise CatalogError(
                f"{where}.{name}: platform columns are added by the catalog, do not declare them"
            )
        col = parse_column(_at(where, raw, name), name, spec)
        if name in key and col.nullable:
            col = Column(**{**col.__dict__, "nullable": False})
        cols.append(col)
    names = [c.name for c in cols]
    for k in key:
        if k not in names:
            raise CatalogError(f"{where}.key: key column {k!r} is not among the columns")
    if platform:
        cols += [parse_column(where, n, s) for n, s in PLATFORM_SPECS.items()]
    return tuple(cols)


def _key(where: Where | str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise CatalogError(f"{where}.key: expected a column name or a list of them, got {raw!r}")
    return tuple(raw)


def volume_rules(where: Where | str, raw: Any, base: VolumeRules) -> VolumeRules:
    """``base`` with the fields ``raw`` (a mapping, or nothing) overrides; every value a number >= 0."""
    if raw is None:
        return base
    fields = VolumeRules.__dataclass_fields__
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping of {', '.join(fields)}")
    values = dict(base.__dict__)
    for name, value in raw.items():
        if name not in fields:
            raise CatalogError(f"{where}.{name}: unknown field; known: {', '.join(fields)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CatalogError(f"{where}.{name}: expected a number >= 0, got {value!r}")
        values[name] = type(getattr(base, name))(value)
    return VolumeRules(**values)


_SOURCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$#]*$")
TABLE_FIELDS = ("title", "key", "columns", "volume", "base", "sim", "description", "volume_check", "source")


def _table(where: Where, system: str, name: str, raw: Any, rules: VolumeRules) -> Table:
    if not _TABLE.match(str(name)):
        raise CatalogError(f"{where}: table name must be upper-case letters, digits and _")
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping with title, key, columns")
    unknown = set(raw) - set(TABLE_FIELDS)
    if unknown:
        field_name = sorted(unknown)[0]
        raise CatalogError(
            f"{where.at(raw, field_name)}.{field_name}: unknown field; known: {', '.join(TABLE_FIELDS)}"
        )
    source = raw.get("source") or {}
    if not isinstance(source, dict) or set(source) - {"table", "schema"}:
        raise CatalogError(
            f"{where.at(raw, 'source')}.source: expected {{table: NAME, schema: NAME}}, got {source!r}"
        )
    for part in ("table", "schema"):
        if part in source and not _SOURCE_NAME.match(str(source[part])):
            raise CatalogError(
                f"{where.at(raw, 'source')}.source.{part}: {source[part]!r} is not a database name"
            )
    if not isinstance(raw.get("title"), str) or not raw["title"]:
        raise CatalogError(f"{where}.title: a Chinese title is required")
    key = _key(where.at(raw, "key"), raw.get("key"))
    volume = raw.get("volume", 0)
    if not isinstance(volume, int | float) or volume < 0:
        raise CatalogError(f"{where}.volume: expected a number >= 0, got {volume!r}")
    base = raw.get("base", round(volume * 365))
    if not isinstance(base, int) or base < 0:
        raise CatalogError(f"{where}.base: expected an integer >= 0, got {base!r}")
    sim = raw.get("sim", "generic")
    if sim not in SIM_KINDS:
        raise CatalogError(f"{where}.sim: expected one of {SIM_KINDS}, got {sim!r}")
    return Table(
        system=system,
        name=name,
        title=raw["title"],
        key=key,
        columns=_columns(where.at(raw, "columns"), raw.get("columns"), key, platform=True),
        volume=float(volume),
        base=base,
        sim=sim,
        description=str(raw.get("description", "")),
        volume_rules=volume_rules(
            f"{where.at(raw, 'volume_check')}.volume_check", raw.get("volume_check"), rules
        ),
        source_name=str(source.get("table", "")),
        source_schema=source.get("schema"),
    )


MAP_FUNCTIONS = {"label": 2, "translate": 2, "district": 1, "category": 1, "first": -1}
_CALL = re.compile(r"^(\w+)\((.*)\)$")


def _split_args(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_expr(
    where: str,
    text: Any,
    source: Table,
    joined: Table | None,
    codesets: dict[str, CodeSet],
    translations: dict[str, Translation],
) -> Expr:
    if not isinstance(text, str) or not text.strip():
        raise CatalogError(f"{where}: expected an expression, got {text!r}")
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return Expr("lit", text[1:-1])
    if text.startswith("join."):
        if joined is None or text[5:] not in joined.column_names:
            raise CatalogError(f"{where}: {text!r} names no column of the joined table")
        return Expr("join", text[5:])
    m = _CALL.match(text)
    if m:
        fn, args = m.group(1), _split_args(m.group(2))
        if fn not in MAP_FUNCTIONS:
            raise CatalogError(f"{where}: unknown function {fn!r}; known: {', '.join(MAP_FUNCTIONS)}")
        arity = MAP_FUNCTIONS[fn]
        if (arity >= 0 and len(args) != arity) or not args:
            raise CatalogError(f"{where}: {fn}() takes {arity if arity >= 0 else 'one or more'} arguments")
        name = None
        if fn in ("label", "translate"):
            name, args = args[0], args[1:]
            known = codesets if fn == "label" else translations
            if name not in known:
                raise CatalogError(
                    f"{where}: {fn}({name}, …): no such {'code set' if fn == 'label' else 'translation'}"
                )
        parsed = tuple(parse_expr(where, a, source, joined, codesets, translations) for a in args)
        return Expr("fn", fn, parsed, name)
    if text not in source.column_names:
        raise CatalogError(f"{where}: {source.name} has no column {text!r}")
    return Expr("col", text)


def _map_part(
    where: str,
    raw: Any,
    columns: tuple[Column, ...],
    key: tuple[str, ...],
    tables: dict[str, Table],
    codesets: dict[str, CodeSet],
    translations: dict[str, Translation],
) -> MapPart:
    if not isinstance(raw, dict) or raw.get("from") not in tables:
        raise CatalogError(
            f"{where}.from: expected a provincial table, got {raw.get('from') if isinstance(raw, dict) else raw!r}"
        )
    source = tables[raw["from"]]
    joined = None
    join_on: tuple[tuple[str, str], ...] = ()
    if raw.get("join"):
        j = raw["join"]
        if not isinstance(j, dict) or j.get("table") not in tables or not isinstance(j.get("match"), dict):
            raise CatalogError(f"{where}.join: expected {{table: T, match: {{source_col: joined_col}}}}")
        joined = tables[j["table"]]
        join_on = tuple((str(a), str(b)) for a, b in j["match"].items())
        for a, b in join_on:
            if a not in source.column_names or b not in joined.column_names:
                raise CatalogError(f"{where}.join.match: {a} = {b} names a missing column")
        if tuple(b for _, b in join_on) != joined.key:
            raise CatalogError(
                f"{where}.join.match: must name the key of {joined.name} ({', '.join(joined.key)})"
            )
    conds = []
    for col, values in (raw.get("where") or {}).items():
        if col not in source.column_names:
            raise CatalogError(f"{where}.where: {source.name} has no column {col!r}")
        vals = values if isinstance(values, list) else [values]
        conds.append((col, tuple(str(v) for v in vals)))
    names = {c.name for c in columns}
    mapped = []
    for col, text in (raw.get("columns") or {}).items():
        if col not in names:
            raise CatalogError(f"{where}.columns: the bureau table has no column {col!r}")
        mapped.append(
            (col, parse_expr(f"{where}.columns.{col}", text, source, joined, codesets, translations))
        )
    got = dict(mapped)
    for c in columns:
        if (c.name in key or not c.nullable) and c.name not in got and not c.name.startswith("dsc_biz_"):
            raise CatalogError(f"{where}.columns: required column {c.name!r} is not mapped")
    for k in key:
        if got[k].kind != "col" or got[k].value not in source.key:
            raise CatalogError(f"{where}.columns.{k}: a bureau key must be a key column of {source.name}")
    return MapPart(source.name, tuple(mapped), tuple(conds), joined.name if joined else None, join_on)


def _load_yaml(path: Path, label: str | None = None) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{label or path.name}: not valid YAML: {exc}") from exc


def _overlay_table(packaged: dict[str, Any], site: dict[str, Any]) -> LineDict:
    """A packaged table with a site's fields: ``columns`` merged column by column (``drop`` removes one),
    every other field replaced."""
    merged = LineDict(packaged)
    merged.lines = dict(getattr(site, "lines", {}))
    for field_name, value in site.items():
        if field_name == "columns" and isinstance(value, dict) and isinstance(packaged.get("columns"), dict):
            cols = LineDict(packaged["columns"])
            cols.lines = dict(getattr(value, "lines", {}))
            for col, spec in value.items():
                if spec == "drop":
                    cols.pop(col, None)
                else:
                    cols[col] = spec
            merged["columns"] = cols
        else:
            merged[field_name] = value
    return merged


def load_catalog_from(folder: Path, site: Path | None = None) -> Catalog:
    """The catalog in ``folder``, extended or overridden table by table by a ``site`` folder of the same
    layout (``SXOPS_CATALOG_DIR``): its code sets add or replace, its ``volume.yaml`` defaults replace field by
    field, its ``province/*.yaml`` tables add a table, change one (``columns`` merged column by column, a
    column given as ``drop`` removed), map its source name (``source: {table: T_E_BASEINFO, schema: SCJG}``)
    or drop it (``drop: true``), and its ``bureau.yaml`` tables add, replace or drop whole tables."""
    label = (lambda p: f"{site.name}/{p.relative_to(site)}") if site else (lambda p: p.name)

    def layers(pattern: str) -> list[tuple[Path, str]]:
        found = [(p, p.name) for p in sorted(folder.glob(pattern))]
        return found + ([(p, label(p)) for p in sorted(site.glob(pattern))] if site else [])

    codesets: dict[str, CodeSet] = {}
    for path, shown in layers("codesets*.yaml"):
        site_layer = site is not None and path.is_relative_to(site)
        raw_sets = _load_yaml(path, shown) or {}
        for name, raw in raw_sets.items():
            where = Where(shown, getattr(raw_sets, "lines", {}).get(name, 0), str(name))
            if not isinstance(raw, dict) or not isinstance(raw.get("codes"), dict) or "title" not in raw:
                raise CatalogError(f"{where}: expected title and codes")
            if name in codesets and not site_layer:
                raise CatalogError(f"{where}: code set declared twice")
            codesets[name] = CodeSet(name, raw["title"], {str(k): str(v) for k, v in raw["codes"].items()})

    defaults = VolumeRules()
    for path, shown in layers("volume.yaml"):
        vraw = _load_yaml(path, shown) or {}
        defaults = volume_rules(f"{shown}: defaults", vraw.get("defaults"), defaults)

    # A system may be spread over several files (registration.yaml, registration_filings.yaml, ...).
    titles: dict[str, str] = {}
    raw_tables: dict[str, tuple[str, Where, Any]] = {}  # name -> (system, where it is written, raw)
    for path, shown in layers("province/*.yaml"):
        site_layer = site is not None and path.is_relative_to(site)
        raw = _load_yaml(path, shown)
        if not isinstance(raw, dict) or "tables" not in raw or ("system" not in raw and not site_layer):
            raise CatalogError(f"{shown}: expected system, title and tables")
        system = raw.get("system")
        if system is not None:
            title = titles.setdefault(system, raw.get("title") or "")
            if raw.get("title") and title != raw["title"]:
                raise CatalogError(f"{shown}: system {system!r} is titled {title!r} elsewhere")
        tables_raw = raw["tables"] or {}
        for name, traw in tables_raw.items():
            where = Where(shown, getattr(tables_raw, "lines", {}).get(name, 0), str(name))
            if not site_layer:
                if name in raw_tables:
                    raise CatalogError(f"{where}: already declared in {raw_tables[name][1].file}")
                raw_tables[name] = (raw["system"], where, traw)  # required outside a site layer
            elif isinstance(traw, dict) and traw.get("drop") is True:
                if name not in raw_tables:
                    raise CatalogError(f"{where}: drop: no packaged table {name!r} to drop")
                del raw_tables[name]
            elif name in raw_tables:
                owner, _, packaged = raw_tables[name]
                if not isinstance(traw, dict):
                    raise CatalogError(f"{where}: expected a mapping of the fields to change")
                raw_tables[name] = (system or owner, where, _overlay_table(packaged, traw))
            else:
                if system is None:
                    raise CatalogError(f"{where}: a new table needs its file's 'system:'")
                raw_tables[name] = (raw["system"], where, traw)  # required outside a site layer
    for system, title in titles.items():
        if not title:
            raise CatalogError(f"system {system!r}: no title given (add 'title:' beside 'system:')")

    systems: dict[str, tuple[str, list[Table]]] = {s: (t, []) for s, t in titles.items()}
    seen: dict[str, str] = {}
    for name, (system, where, traw) in raw_tables.items():
        seen[name] = where.file
        table = _table(where, system, name, traw, defaults)
        for col in table.columns:
            if col.codeset and col.codeset not in codesets:
                raise CatalogError(
                    f"{where.at(traw.get('columns'), col.name)}.{col.name}: unknown code set {col.codeset!r}"
                )
        systems[system][1].append(table)
    systems = {s: v for s, v in systems.items() if v[1]}

    for _, tables in systems.values():
        for table in tables:
            for col in table.columns:
                if col.gen and col.gen.startswith("ref:") and col.gen[4:] not in seen:
                    raise CatalogError(
                        f"{seen[table.name]}: {table.name}.{col.name}: gen={col.gen} names no table"
                    )

    braw = _load_yaml(folder / "bureau.yaml") or {}
    if site and (site / "bureau.yaml").exists():
        sraw = _load_yaml(site / "bureau.yaml", label(site / "bureau.yaml")) or {}
        merged_tables = dict(braw.get("tables") or {})
        for name, traw in (sraw.get("tables") or {}).items():
            if isinstance(traw, dict) and traw.get("drop") is True:
                merged_tables.pop(name, None)
            else:
                merged_tables[name] = traw
        braw = {
            "translations": {**(braw.get("translations") or {}), **(sraw.get("translations") or {})},
            "tables": merged_tables,
        }
    translations = {}
    for name, raw in (braw.get("translations") or {}).items():
        if not isinstance(raw, dict) or not isinstance(raw.get("codes"), dict):
            raise CatalogError(f"bureau.yaml: translations.{name}: expected title and codes")
        translations[name] = Translation(
            name, str(raw.get("title", name)), {str(k): str(v) for k, v in raw["codes"].items()}
        )
    tables_by_name = {t.name: t for _, ts in systems.values() for t in ts}
    bureau = []
    for name, raw in (braw.get("tables") or {}).items():
        at = f"bureau.yaml: {name}"
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            raise CatalogError(f"{at}: expected title, key, columns, sources, map")
        key = _key(at, raw.get("key"))
        sources = tuple(raw.get("sources") or ())
        for src in sources:
            if src not in seen:
                raise CatalogError(f"{at}.sources: {src!r} is not a provincial table")
        columns = _columns(at, raw.get("columns"), key, platform=True)
        for col in columns:
            if col.codeset and col.codeset not in codesets:
                raise CatalogError(f"{at}.{col.name}: unknown code set {col.codeset!r}")
        parts = tuple(
            _map_part(f"{at}.map[{i}]", part, columns, key, tables_by_name, codesets, translations)
            for i, part in enumerate(raw.get("map") or ())
        )
        for part in parts:
            if part.source not in sources:
                raise CatalogError(f"{at}.map: {part.source} is not among the sources")
        rules = volume_rules(f"{at}.volume_check", raw.get("volume_check"), defaults)
        bureau.append(BureauTable(name, raw["title"], key, columns, sources, parts, rules))
    ordered = tuple(System(name, title, tuple(tables)) for name, (title, tables) in systems.items())
    return Catalog(ordered, codesets, tuple(bureau), translations)


PACKAGED = Path(str(resources.files("shaoxing_ops.catalog")))


def site_catalog_dir() -> Path | None:
    """``SXOPS_CATALOG_DIR``: the site's own catalog folder, or None."""
    text = os.environ.get("SXOPS_CATALOG_DIR")
    if not text:
        return None
    folder = Path(text)
    if not folder.is_dir():
        raise CatalogError(f"SXOPS_CATALOG_DIR={text!r} is not a folder; create it or unset the variable")
    return folder


def load_catalog() -> Catalog:
    """The packaged catalog with the site's (``SXOPS_CATALOG_DIR``), validated once per process and folder."""
    site = site_catalog_dir()
    return _load(str(site.resolve()) if site else None)


@cache
def _load(site: str | None) -> Catalog:
    return load_catalog_from(PACKAGED, Path(site) if site else None)
