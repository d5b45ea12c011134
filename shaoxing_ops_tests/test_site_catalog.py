"""A site's own catalog (``SXOPS_CATALOG_DIR``): a table added, a column added, a source table under the
province's own name; the new asset appears, its rows load, ``migrate`` adds the column in place, audited,
``catalog check`` names file, line and field; and no file of the package changes."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from shaoxing_ops.catalog import CatalogError, load_catalog
from shaoxing_ops.catalog.loader import PACKAGED
from shaoxing_ops.cli import main
from shaoxing_ops.exchange import copy_window, health, make_engine
from shaoxing_ops.exchange.reconcile import reconcile
from shaoxing_ops.exchange.records import ExchangeRecords

from .conftest import Dbs, _simulate, simulate_into

SITE = """\
system: registration
tables:
  E_BASEINFO:
    source: {table: T_E_BASEINFO}
    columns:
      ext_remark: str(100) 市局备注
  E_SITE_NOTE:
    title: 市局自建主体备注
    key: noteid
    volume: 400
    columns:
      noteid: str(32) 备注标识 gen=uuid
      pripid: str(36) 主体身份代码 gen=entity.pripid
      note: text 备注内容 gen=text:备注
  FS_WORKSHOP_PRODUCT:
    drop: true
"""


def package_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGED.rglob("*.yaml")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site-catalog"
    (folder / "province").mkdir(parents=True)
    (folder / "province" / "shaoxing.yaml").write_text(SITE, encoding="utf-8")
    monkeypatch.setenv("SXOPS_CATALOG_DIR", str(folder))
    return folder


def test_a_site_catalog_adds_changes_maps_and_drops_tables(site: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    before = package_fingerprint()
    catalog = load_catalog()
    names = {t.name for t in catalog.tables}
    assert "E_SITE_NOTE" in names and "FS_WORKSHOP_PRODUCT" not in names and len(names) == 142
    base = catalog.table("E_BASEINFO")
    assert base.column("ext_remark").title == "市局备注" and base.column("uniscid").check == "credit_code"
    assert (base.source_db_name, base.db_name) == ("t_e_baseinfo", "e_baseinfo")
    assert catalog.table("E_SITE_NOTE").system == "registration"

    from shaoxing_ops.defs.province.assets import province_assets

    keys = {k.to_user_string() for a in province_assets(catalog) for k in a.keys}
    assert "province/registration/e_site_note" in keys
    assert "province/food_safety/fs_workshop_product" not in keys

    assert main(["catalog", "check"]) == 0
    out = capsys.readouterr().out
    assert "1 added, 1 changed, 1 dropped" in out and "E_SITE_NOTE" in out and "(source T_E_BASEINFO)" in out
    assert package_fingerprint() == before


def test_catalog_check_names_the_site_file_line_and_field(site: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (site / "province" / "shaoxing.yaml").write_text(
        SITE.replace("note: text 备注内容", "note: txt 备注内容"), encoding="utf-8"
    )
    assert main(["catalog", "check"]) == 2
    err = capsys.readouterr().err
    assert "site-catalog/province/shaoxing.yaml:14: E_SITE_NOTE.note: unknown type 'txt'" in err, err
    with pytest.raises(CatalogError, match=r"shaoxing\.yaml:\d+: E_NOPE: drop: no packaged table"):
        (site / "province" / "shaoxing.yaml").write_text(
            SITE + "  E_NOPE:\n    drop: true\n", encoding="utf-8"
        )
        load_catalog()


@pytest.mark.parametrize("dbs", ["sqlite"], indirect=True)
def test_rows_load_from_the_provinces_own_name_and_migrate_adds_the_column(
    site: Path, env_dbs: Dbs, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    province, front = env_dbs.engine("province"), env_dbs.engine("front")
    day = (dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3))

    # The front was loaded under the packaged catalog, before the site added its column.
    monkeypatch.delenv("SXOPS_CATALOG_DIR")
    plain = load_catalog()
    simulate_into(env_dbs.province, plain, end=dt.date(2026, 3, 2))
    copy_window(plain.table("E_BASEINFO"), province, front, *day)
    with province.begin() as conn:  # the province calls the table its own way
        conn.exec_driver_sql("ALTER TABLE e_baseinfo RENAME TO t_e_baseinfo")
        conn.exec_driver_sql("ALTER TABLE t_e_baseinfo ADD COLUMN ext_remark VARCHAR(100)")
        conn.exec_driver_sql("UPDATE t_e_baseinfo SET ext_remark = '重点监管' WHERE rowid % 10 = 0")

    monkeypatch.setenv("SXOPS_CATALOG_DIR", str(site))
    catalog = load_catalog()
    base = catalog.table("E_BASEINFO")
    drift = health.schema(base, province, front)
    assert not drift.passed and drift.metadata["target_missing"] == "ext_remark"

    assert main(["migrate", "E_BASEINFO"]) == 2  # no reason, no approver: refused
    assert "须注明原因和审批人" in capsys.readouterr().err
    assert (
        main(["migrate", "E_BASEINFO", "--reason", "市局新增备注字段", "--approved-by", "市局 王科长"]) == 0
    )
    assert "added ext_remark" in capsys.readouterr().out
    assert health.schema(base, province, front).passed
    audit = ExchangeRecords(front).migration_log()
    assert [(a["table_name"], a["columns_added"], a["approved_by"], a["status"]) for a in audit] == [
        ("E_BASEINFO", "ext_remark", "市局 王科长", "succeeded")
    ]
    diff = reconcile(base, province, front)  # rows loaded before hold NULL until repaired
    assert diff.changed and not diff.missing and not diff.extra
    assert main(["reconcile", "E_BASEINFO", "--repair"]) == 0
    assert reconcile(base, province, front).equal

    # The site's own table: simulated with the site catalog, loaded like any other.
    stand_in = env_dbs.province.replace("province.db", "site-province.db")
    _simulate(stand_in, catalog, dt.date(2026, 3, 1), dt.date(2026, 3, 2), 0.004, 11)
    loaded = copy_window(catalog.table("E_SITE_NOTE"), make_engine(stand_in), front, *day)
    assert loaded.inserted > 0 and loaded.target_rows == loaded.inserted


@pytest.mark.postgres
def test_a_source_table_in_the_provinces_own_schema(  # type: ignore[no-untyped-def]
    pg_dbs: Dbs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    (folder / "province").mkdir(parents=True)
    (folder / "province" / "scjg.yaml").write_text(
        "system: registration\ntables:\n  E_CANCEL:\n    source: {table: T_E_CANCEL, schema: scjg}\n",
        encoding="utf-8",
    )
    simulate_into(pg_dbs.province, load_catalog(), end=dt.date(2026, 3, 2))
    province, front = pg_dbs.engine("province"), pg_dbs.engine("front")
    with province.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA scjg")
        conn.exec_driver_sql("ALTER TABLE e_cancel SET SCHEMA scjg")
        conn.exec_driver_sql("ALTER TABLE scjg.e_cancel RENAME TO t_e_cancel")
    monkeypatch.setenv("SXOPS_CATALOG_DIR", str(folder))
    table = load_catalog().table("E_CANCEL")
    loaded = copy_window(table, province, front, dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3))
    assert loaded.method == "pg-binary-copy" and loaded.target_rows > 0
    assert reconcile(table, province, front).equal
    days = health.row_count(table, province, front, dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 3))
    assert all(o.passed for o in days.values()), days
