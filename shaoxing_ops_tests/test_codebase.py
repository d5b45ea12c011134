"""Rules of the codebase that a reviewer would otherwise have to remember (ARCHITECTURE.md).

Each rule reads the source as Python syntax, so a comment or a string that mentions a name breaks nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "shaoxing_ops"
ADAPTER = PACKAGE / "dagster_internals.py"  # the one module allowed to reach into dagster._core


def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imports(tree: ast.Module) -> list[tuple[int, str, str]]:
    """(line, module, imported name) of every import, absolute module names as written."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found += [(node.lineno, module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, "") for alias in node.names]
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    offences = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: from {module} import {name}"
        for path, tree in _modules().items()
        for line, module, name in _imports(tree)
        if module.startswith(("shaoxing_ops", "."))
        and (_private(name) or any(_private(part) for part in module.lstrip(".").split(".")))
    ]
    assert offences == [], "make the name public in its module, or move it where both can use it"


def test_only_the_adapter_imports_dagster_internals() -> None:
    offences = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path, tree in _modules().items()
        if path != ADAPTER
        for line, module, name in _imports(tree)
        if module.startswith("dagster._") or (module == "dagster" and _private(name))
    ]
    assert offences == [], "reach into dagster._core only through shaoxing_ops/dagster_internals.py"
    assert any(
        module.startswith("dagster._core") for _, module, _ in _imports(ast.parse(ADAPTER.read_text()))
    )


def test_lower_layers_never_import_dagster() -> None:
    """catalog, domain, exchange, simulate, stats and operations are plain Python (ARCHITECTURE.md)."""
    plain = ("catalog", "domain", "exchange", "simulate", "stats", "operations")
    offences = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path, tree in _modules().items()
        if path.relative_to(PACKAGE).parts[0] in plain and path.name != "cli.py"
        for line, module, _ in _imports(tree)
        if module.split(".")[0] in ("dagster", "dagster_postgres", "dagster_webserver")
        or module.startswith(("shaoxing_ops.defs", "shaoxing_ops.definitions"))
    ]
    assert offences == []


def test_every_name_the_benchmarks_import_from_the_package_exists() -> None:
    """The benchmarks run by hand, never in CI, and import inside their functions: a renamed or moved name
    would break them unnoticed (``bench/exchange.py`` asked for a ``CHECK_NAMES`` that had become
    ``names.PROVINCE_CHECKS``)."""
    import importlib

    missing = []
    for path in sorted((PACKAGE.parent / "bench").glob("*.py")):
        for line, module, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not module.startswith("shaoxing_ops"):
                continue
            imported = importlib.import_module(module)
            if name and name != "*" and not hasattr(imported, name):
                try:
                    importlib.import_module(f"{module}.{name}")  # a submodule
                except ModuleNotFoundError:
                    missing.append(f"bench/{path.name}:{line}: from {module} import {name}")
    assert missing == []
