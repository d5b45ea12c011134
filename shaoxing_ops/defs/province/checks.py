"""The checks of every provincial table, one check definition per table."""

import dagster as dg
from sqlalchemy.engine import Engine

from shaoxing_ops.catalog import Catalog

from ..checks import table_checks
from ..resources import Databases
from .assets import asset_key


def _engines(databases: Databases) -> tuple[Engine, Engine]:
    return databases.engine("province"), databases.engine("front")


def province_checks(catalog: Catalog) -> list[dg.AssetChecksDefinition]:
    return [
        table_checks(asset_key(t), t, f"province__{t.system}__{t.db_name}__checks", _engines, leg="province")
        for t in catalog.tables
    ]
