"""The ops database's two stores, the exchange's records and the operations' records: side by side in one
database under the table names an existing ops database has, whichever store comes first, on every backend."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa

from shaoxing_ops.exchange.dbs import connected, for_reads, make_engine
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


def test_on_sqlite_checks_read_and_clean_days_pass_while_another_run_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    """Two runs share one SQLite front database: a check's reads and a clean table's quarantine must not queue
    behind the other run's load, which holds the file's one write lock for its whole transaction."""
    path = tmp_path / "front.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1), (2)")
    records = ExchangeRecords(engine).ensure()
    records.replace_quarantine("province", "T", ["2026-03-01"], [_entry("A1")])

    load = sqlite3.connect(path, isolation_level=None)
    load.execute("BEGIN IMMEDIATE")  # the other run's load, mid-transaction
    load.execute("INSERT INTO t VALUES (3)")
    answers: dict[str, object] = {}

    def checks() -> None:
        with for_reads(engine) as bind, connected(bind) as conn:
            answers["rows"] = conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
        answers["quarantined"] = records.replace_quarantine("province", "U", ["2026-03-01"], [])

    thread = threading.Thread(target=checks, daemon=True)
    thread.start()
    thread.join(timeout=10)
    finished = not thread.is_alive()
    load.execute("COMMIT")
    thread.join()
    assert finished, "a check waited for the load's write lock"
    assert answers == {"rows": 2, "quarantined": 0}  # the rows before the load's commit; nothing held for U

    # Where entries are held, replacing them with none still deletes them.
    assert records.replace_quarantine("province", "T", ["2026-03-01"], []) == 0
    assert records.quarantined("T") == []


def _entry(key: str) -> dict[str, object]:
    return {
        "partition_key": "2026-03-01",
        "record_key": key,
        "column_name": "uniscid",
        "reason": "统一社会信用代码校验位错误",
        "delivered": True,
    }
