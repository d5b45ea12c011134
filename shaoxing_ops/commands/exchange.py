"""The exchange's tables from the command line: list the catalog (``tables``), check the site's (``catalog
check``), and the audited maintenance of front and bureau tables (``migrate``, ``reconcile``, ``reinit``)."""

from __future__ import annotations

import argparse
import functools
import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shaoxing_ops.exchange import faults

from .shared import refuse, say

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from shaoxing_ops.catalog import BureauTable, Table
    from shaoxing_ops.exchange.records import ExchangeRecords

APPROVAL_MISSING = '须注明原因和审批人: --reason "…" --approved-by "…" (refused)'
LEGS = ("province", "bureau")
LEG_HELP = (
    "province: the front's tables against the province (E_BASEINFO…); bureau: the Data Bureau's tables "
    "against what their mapping makes of the front (SCJG_ZTXX…)"
)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("tables", help="list the catalog")
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser(
        "catalog", help="the catalog: `check` validates it with the site's (SXOPS_CATALOG_DIR)"
    )
    p.add_argument("action", choices=("check",))
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("migrate", help="add the catalog's new columns to front tables in place, audited")
    _approval_arguments(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "reconcile", help="checksum-compare tables, province vs. front; --repair re-copies what differs"
    )
    p.add_argument("tables", nargs="*", metavar="TABLE", help="e.g. E_BASEINFO; none means every table")
    p.add_argument("--repair", action="store_true")
    p.add_argument("--leg", choices=LEGS, default="province", help=LEG_HELP)
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("reinit", help="full re-initialisation (数据初始化) of tables, audited")
    _approval_arguments(p)
    p.add_argument("--leg", choices=LEGS, default="province", help=LEG_HELP)
    p.set_defaults(func=cmd_reinit)


def _approval_arguments(p: argparse.ArgumentParser) -> None:
    """The tables of an audited change, and why and by whom it was approved."""
    p.add_argument("tables", nargs="+", metavar="TABLE")
    p.add_argument("--reason", default="", help="why (required)")
    p.add_argument("--approved-by", default="", help="who approved it (required)")


def _approved(args: argparse.Namespace) -> bool:
    """Whether an audited change names its reason and its approver."""
    return bool(args.reason.strip() and args.approved_by.strip())


def cmd_tables(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog

    catalog = load_catalog()
    for system in catalog.systems:
        say(f"{system.title} ({system.name}): {len(system.tables)} tables")
        for t in system.tables:
            say(
                f"  {t.name:<26}{t.title:<20} key {', '.join(t.key):<12} {len(t.columns):>3} columns  ~{t.volume:g}/day"
            )
    say(f"数据局上报 (bureau): {len(catalog.bureau)} tables")
    for b in catalog.bureau:
        say(f"  {b.name:<26}{b.title:<20} from {', '.join(b.sources)}")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    """Validate the packaged catalog with the site's, and say what the site changes."""
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.catalog.loader import PACKAGED, load_catalog_from, site_catalog_dir

    site = site_catalog_dir()
    catalog = load_catalog()  # a CatalogError names file, line and field (main prints it in one line)
    say(
        f"catalog valid: {len(catalog.tables)} provincial tables in {len(catalog.systems)} systems, "
        f"{len(catalog.bureau)} Data Bureau tables, {len(catalog.codesets)} code sets"
    )
    if site is None:
        say("no site catalog (SXOPS_CATALOG_DIR unset): the packaged catalog as it is")
        return 0
    packaged = {t.name: t for t in load_catalog_from(PACKAGED).tables}
    mine = {t.name: t for t in catalog.tables}
    added = sorted(set(mine) - set(packaged))
    dropped = sorted(set(packaged) - set(mine))
    changed = sorted(n for n in set(mine) & set(packaged) if mine[n] != packaged[n])
    say(f"site catalog {site}: {len(added)} added, {len(changed)} changed, {len(dropped)} dropped")
    for label, names in (("added", added), ("changed", changed), ("dropped", dropped)):
        for name in names:
            t = mine.get(name) or packaged[name]
            source = (
                f"  (source {t.source_schema + '.' if t.source_schema else ''}{t.source_name})"
                if (name in mine and t.source_name)
                else ""
            )
            say(f"  {label:<8}{name:<24}{t.title}{source}")
    return 0


def _engines_and_ops() -> tuple[Callable[[str], Engine], ExchangeRecords]:
    """The configured databases by role, each engine made once when first asked for, and the exchange's
    records."""
    from shaoxing_ops.exchange.dbs import engine_for
    from shaoxing_ops.exchange.records import ExchangeRecords

    engine = functools.cache(engine_for)
    return engine, ExchangeRecords(engine("ops")).ensure()


def _pick(names: list[str], leg: str = "province") -> list[Table] | list[BureauTable]:
    """The catalog's tables of a leg by name (all where none are named): provincial tables, or bureau tables."""
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange.maintenance import tables_of

    try:
        return tables_of(load_catalog(), leg, names)
    except KeyError as exc:
        raise faults.FaultError(str(exc.args[0])) from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from shaoxing_ops.exchange.maintenance import migrate

    if not _approved(args):
        return refuse(f"结构变更{APPROVAL_MISSING}")
    engine, ops = _engines_and_ops()
    for i, table in enumerate(_pick(args.tables), 1):
        added = migrate(table, engine("front"), ops, reason=args.reason, approved_by=args.approved_by)
        if added:
            say(
                f"[{i}] {table.name} {table.title}: added {', '.join(added)} (approved by {args.approved_by}); "
                f"rows already loaded hold NULL there until `shaoxing-ops reconcile {table.name} --repair`"
            )
        else:
            say(f"[{i}] {table.name} {table.title}: front table already has every catalog column")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange.maintenance import reconcile_any
    from shaoxing_ops.exchange.reconcile import diff_report

    engine, ops = _engines_and_ops()
    catalog, tables = load_catalog(), _pick(args.tables, args.leg)
    unequal = 0
    for i, table in enumerate(tables, 1):
        say(f"[{i}/{len(tables)}] {table.name} {table.title}")
        outcome = reconcile_any(table, catalog, engine, ops, fix=args.repair, launched_by=getpass.getuser())
        say(diff_report(outcome.diff, outcome.repaired))
        unequal += not outcome.equal_now
    if unequal:
        say(
            f"\n{unequal} table(s) differ"
            + ("" if args.repair else "; run again with --repair to re-copy the rows")
        )
    return 1 if unequal else 0


def cmd_reinit(args: argparse.Namespace) -> int:
    from shaoxing_ops.catalog import load_catalog
    from shaoxing_ops.exchange.maintenance import Approval, reinitialise_any
    from shaoxing_ops.exchange.reconcile import diff_report

    if not _approved(args):
        return refuse(f"数据初始化{APPROVAL_MISSING}")
    engine, ops = _engines_and_ops()
    catalog, tables = load_catalog(), _pick(args.tables, args.leg)
    for i, table in enumerate(tables, 1):
        say(
            f"[{i}/{len(tables)}] re-initialising {table.name} {table.title} (approved by {args.approved_by})"
        )

        def progress(done: int, unit: str) -> None:
            print(f"\r    {done:,} {unit}", end="", flush=True)

        loaded, check = reinitialise_any(
            table,
            catalog,
            engine,
            ops,
            Approval(args.reason, args.approved_by, launched_by=getpass.getuser()),
            progress,
        )
        print()
        say(f"    rows before {loaded.rows_before:,}, after {loaded.target_rows:,}, {loaded.seconds:.1f}s")
        say(diff_report(check.diff))
    return 0
