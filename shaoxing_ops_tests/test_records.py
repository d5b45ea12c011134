"""The ops database's two stores, the exchange's records and the operations' records: side by side in one
database under the table names an existing ops database has, whichever store comes first, on every backend."""

from __future__ import annotations

import sqlalchemy as sa

from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.operations.records import OperationsRecords

from .conftest import Dbs

EXCHANGE = {"quarantine", "reinit_audit", "escalations", "migrations", "reconciliations"}
OPERATIONS = {
    "hosts",
    "host_metrics",
    "db_sizes",
    "alerts_sent",
    "feedback",
    "applications",
    "application_tables",
    "notices",
    "notice_patches",
    "consultations",
}


def test_each_store_makes_its_own_tables_in_the_one_ops_database(dbs: Dbs) -> None:
    engine = dbs.engine("front")
    schema, prefix = ("ops", "") if dbs.kind == "postgres" else (None, "ops_")

    def held() -> set[str]:
        names = sa.inspect(engine).get_table_names(schema=schema)  # none before the ops schema is made
        return {n.removeprefix(prefix) for n in names if n.startswith(prefix)}

    assert held() == set()
    operations = OperationsRecords(engine).ensure()  # the first store makes the schema as well
    assert held() == OPERATIONS
    item = operations.add_feedback(system="执法在线", channel="电话", reporter="甲", description="登录失败")
    exchange = ExchangeRecords(engine).ensure()
    assert held() == OPERATIONS | EXCHANGE
    exchange.escalate("province/registration/e_baseinfo", "2026-03-02", "需人工处理", 3)

    again = ExchangeRecords(engine).ensure(), OperationsRecords(engine).ensure()  # nothing left to make
    assert [(e["asset_key"], e["attempts"]) for e in again[0].open_escalations()] == [
        ("province/registration/e_baseinfo", 3)
    ]
    assert [(i["id"], i["description"]) for i in again[1].feedback_items()] == [(item, "登录失败")]
    assert set(vars(exchange.tables)) - {"metadata"} == EXCHANGE  # each table by its name, prefix or not
    assert set(vars(operations.tables)) - {"metadata"} == OPERATIONS
    assert {t.name for t in exchange.metadata.tables.values()} == {prefix + n for n in EXCHANGE}
