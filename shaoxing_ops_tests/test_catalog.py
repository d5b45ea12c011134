"""The catalog: complete, consistent, and precise about what is wrong when it is not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shaoxing_ops.catalog import PLATFORM_COLUMNS, Catalog, CatalogError, load_catalog_from
from shaoxing_ops.catalog.loader import GENERATORS

CATALOG_DIR = Path(__file__).resolve().parents[1] / "shaoxing_ops" / "catalog"


def test_three_systems_and_about_140_tables(catalog: Catalog) -> None:
    sizes = {s.name: len(s.tables) for s in catalog.systems}
    assert set(sizes) == {"registration", "enforcement", "food_safety"}
    assert 130 <= sum(sizes.values()) <= 160
    assert {s.title for s in catalog.systems} == {"全程电子化登记", "执法在线", "食安 三小一摊"}
    for name in [
        "E_BASEINFO",
        "E_PB_BASEINFO",
        "E_PRI_PERSON",
        "E_INV_INVESTMENT",
        "E_ALTER_RECODER",
        "E_CANCEL",
        "E_REVOKE",
        "E_LP_HSTLEREF",
        "E_LP_HSTNAME",
        "E_NAME_INFO",
        "E_SP_PLEDGE",
        "E_LIQ_MBR",
        "CASE_PUB_BASEINFO",
        "CASE_PUB_PARTYINFO",
        "AO_OPA_DETAIL",
    ]:
        assert catalog.table(name).name == name
    assert catalog.table("e_baseinfo") is catalog.table("E_BASEINFO")


def test_every_table_is_well_formed(catalog: Catalog) -> None:
    for t in catalog.tables:
        names = t.column_names
        assert names[-3:] == PLATFORM_COLUMNS, t.name
        assert len(set(names)) == len(names), t.name
        assert t.key and all(not t.column(k).nullable for k in t.key), t.name
        assert t.title and t.volume >= 0 and t.base >= 0, t.name
        for c in t.columns:
            assert c.codeset is None or c.codeset in catalog.codesets, (t.name, c.name)
            assert c.gen is None or c.gen.split(":")[0].split(".")[0] in GENERATORS, (t.name, c.name)
    core = [t.name for t in catalog.tables if t.sim == "core"]
    assert len(core) == 10


def test_code_sets_carry_both_unsettled_individual_business_codes(catalog: Catalog) -> None:
    enttype = catalog.codesets["ENTTYPE"].codes
    assert enttype["9600"].startswith("个体工商户") and enttype["9999"].startswith("个体工商户")
    assert catalog.codesets["REGSTATE"].codes["2"] == "吊销未注销"
    assert set(catalog.codesets["INDUSTRY"].codes) == set("ABCDEFGHIJKLMNOPQRST")


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "uniscid: str(18) 统一社会信用代码 check=credit_code index",
            "uniscid: strr(18) 统一社会信用代码",
            r"registration.yaml:16: E_BASEINFO.uniscid: unknown type 'strr\(18\)'",
        ),
        (
            "enttype: str(4) 企业类型 code=ENTTYPE req",
            "enttype: str(4) 企业类型 code=NOPE",
            r"E_BASEINFO.enttype: unknown code set 'NOPE'",
        ),
        (
            "    key: pripid\n    sim: core\n    volume: 320",
            "    key: [pripid, nothere]\n    sim: core\n    volume: 320",
            r"E_BASEINFO.key: key column 'nothere' is not among the columns",
        ),
        (
            "regno: str(15) 注册号\n",
            "regno: str(15) 注册号 gen=wizardry\n",
            r"E_BASEINFO.regno: unknown flag 'gen=wizardry'",
        ),
        (
            "    title: 企业基本信息\n",
            "    title: 企业基本信息\n    colour: blue\n",
            r"E_BASEINFO.colour: unknown field",
        ),
        ("    volume: 320\n", "    volume: lots\n", r"E_BASEINFO.volume: expected a number"),
        (
            "regno: str(15) 注册号\n",
            "dsc_biz_timestamp: datetime 时间\n",
            r"E_BASEINFO.dsc_biz_timestamp: platform columns",
        ),
    ],
)
def test_errors_name_file_table_and_field(copy_dir: Path, old: str, new: str, message: str) -> None:
    edit(copy_dir / "province" / "registration.yaml", old, new)
    with pytest.raises(CatalogError, match=message):
        load_catalog_from(copy_dir)


def test_a_table_declared_twice_is_refused(copy_dir: Path) -> None:
    (copy_dir / "province" / "zz_extra.yaml").write_text(
        "system: registration\ntitle: 全程电子化登记\ntables:\n  E_CANCEL:\n    title: 重复\n    key: a\n"
        "    columns:\n      a: str(3) 甲\n",
        encoding="utf-8",
    )
    with pytest.raises(
        CatalogError, match=r"zz_extra\.yaml:\d+: E_CANCEL: already declared in registration\.yaml"
    ):
        load_catalog_from(copy_dir)


def test_broken_yaml_is_named(copy_dir: Path) -> None:
    (copy_dir / "codesets.yaml").write_text("REGSTATE: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"codesets\.yaml: not valid YAML"):
        load_catalog_from(copy_dir)


def test_volume_thresholds_are_data_with_per_table_overrides(copy_dir: Path) -> None:
    edit(copy_dir / "volume.yaml", "silent_below: 10 ", "silent_below: 8 ")
    edit(
        copy_dir / "province" / "registration.yaml",
        "    volume: 320\n",
        "    volume: 320\n    volume_check: {drop_ratio: 0.5, history_weeks: 6}\n",
    )
    catalog = load_catalog_from(copy_dir)
    rules = catalog.table("E_BASEINFO").volume_rules
    assert (rules.silent_below, rules.drop_ratio, rules.history_weeks) == (8.0, 0.5, 6)
    assert catalog.table("E_CANCEL").volume_rules.drop_ratio == 0.25  # the defaults elsewhere
    assert catalog.bureau[0].table.volume_rules.silent_below == 8.0


@pytest.mark.parametrize(
    "override, message",
    [
        ("{silent_below: -1}", r"E_BASEINFO\.volume_check\.silent_below: expected a number >= 0, got -1"),
        ("{quiet: 1}", r"E_BASEINFO\.volume_check\.quiet: unknown field; known: history_weeks"),
        ("7", r"E_BASEINFO\.volume_check: expected a mapping"),
    ],
)
def test_volume_overrides_are_validated(copy_dir: Path, override: str, message: str) -> None:
    edit(
        copy_dir / "province" / "registration.yaml",
        "    volume: 320\n",
        f"    volume: 320\n    volume_check: {override}\n",
    )
    with pytest.raises(CatalogError, match=message):
        load_catalog_from(copy_dir)
