"""The tables as data: provincial tables, Data Bureau tables and code sets, with typed loaders.

Exported here is what the other packages use; the code-set types and the simulator's hints are imported where
they are defined (``model``, ``loader``)."""

from .loader import CatalogError, load_catalog, load_catalog_from
from .model import (
    PLATFORM_COLUMNS,
    BureauTable,
    Catalog,
    Column,
    Expr,
    MapPart,
    System,
    Table,
    VolumeRules,
)

__all__ = [
    "PLATFORM_COLUMNS",
    "BureauTable",
    "Catalog",
    "CatalogError",
    "Column",
    "Expr",
    "MapPart",
    "System",
    "Table",
    "VolumeRules",
    "load_catalog",
    "load_catalog_from",
]
