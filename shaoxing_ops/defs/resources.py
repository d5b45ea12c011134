"""The databases as a Dagster resource: URLs from the environment, engines shared within a run."""

from __future__ import annotations

import os

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr
from sqlalchemy.engine import Engine

from shaoxing_ops import settings
from shaoxing_ops.exchange import make_engine, safe_url
from shaoxing_ops.exchange.faults import install_standin_hooks
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.operations.records import OperationsRecords


class Databases(dg.ConfigurableResource):
    """Province (read), front (前置库) and Data Bureau databases.

    Unset URLs fall back to SQLite files under ``SXOPS_DATA_DIR``; passwords are never shown, only
    ``describe()``'s redacted forms.
    """

    province_url: str | None = None
    front_url: str | None = None
    bureau_url: str | None = None
    ops_url: str | None = None
    _engines: dict[str, Engine] = PrivateAttr(default_factory=dict)
    _exchange: ExchangeRecords | None = PrivateAttr(default=None)
    _operations: OperationsRecords | None = PrivateAttr(default=None)

    def url(self, role: str) -> str:
        if role == "ops":
            return self.ops_url or self.front_url or settings.database_url("ops")
        return getattr(self, f"{role}_url", None) or settings.database_url(role)

    def exchange_records(self) -> ExchangeRecords:
        """Quarantine, escalations, migration and re-initialisation audit, reconciliations: made on first use."""
        if self._exchange is None:
            self._exchange = ExchangeRecords(self.engine("ops")).ensure()
        return self._exchange

    def operations_records(self) -> OperationsRecords:
        """Hosts, samples, database sizes, alerts sent, the contract's registers: made on first use."""
        if self._operations is None:
            self._operations = OperationsRecords(self.engine("ops")).ensure()
        return self._operations

    def engine(self, role: str) -> Engine:
        if role not in self._engines:
            engine = make_engine(self.url(role), role=role)
            if role == "province" and settings.simulation():
                install_standin_hooks(engine)  # the stand-in's armed faults act on its reads
            self._engines[role] = engine
        return self._engines[role]

    def describe(self, role: str) -> str:
        return safe_url(self.url(role))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self._exchange = self._operations = None


def databases_from_env() -> Databases:
    """Bind each URL to its environment variable when it is set, so the value stays out of the UI."""
    fields = {}
    for role in (*settings.ROLES, "ops"):
        var = f"SXOPS_{role.upper()}_URL"
        if os.environ.get(var):
            fields[f"{role}_url"] = dg.EnvVar(var)
    return Databases(**fields)


def backend_kind(role: str) -> str:
    """``postgres``, ``sqlite``, ``mysql``, ``oracle``…: the kind tag the UI shows on assets stored there."""
    backend = sa.engine.make_url(settings.database_url(role)).get_backend_name()
    return "postgres" if backend == "postgresql" else backend
