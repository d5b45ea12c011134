"""The tables as data: provincial tables, Data Bureau tables and code sets, with typed loaders."""

from .loader import GENERATORS, CatalogError, load_catalog, load_catalog_from
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

__all__ = [
    "GENERATORS",
    "PLATFORM_COLUMNS",
    "BureauTable",
    "Catalog",
    "CatalogError",
    "CodeSet",
    "Column",
    "Expr",
    "MapPart",
    "System",
    "Table",
    "Translation",
    "VolumeRules",
    "load_catalog",
    "load_catalog_from",
]
