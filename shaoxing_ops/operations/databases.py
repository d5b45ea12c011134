"""The sizes of the platform's configured databases, for the host sample of the application server (the
``host collect`` command and the host sensor both record them)."""

from __future__ import annotations

import os
from typing import Any

from shaoxing_ops import settings

DB_ROLES = ("province", "front", "bureau", "ops")


def measure_databases(roles: tuple[str, ...] = DB_ROLES) -> tuple[list[dict[str, Any]], list[str]]:
    """Sizes of the configured databases, each URL once (ops shares the front's by default); and warnings."""
    from sqlalchemy.engine import make_url

    from shaoxing_ops.exchange import make_engine, safe_url

    from .hostmetrics import database_sizes

    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for role in roles:
        url = settings.database_url(role)
        if url in seen:
            continue
        seen.add(url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and not os.path.exists(parsed.database or ""):
            continue  # not created yet: measuring would create an empty file
        engine = make_engine(url)
        try:
            rows += database_sizes(engine, role)
        except Exception as exc:  # one unreachable database must not lose the host sample
            warnings.append(
                f"{role} ({safe_url(url)}): {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            )
        finally:
            engine.dispose()
    return rows, warnings
