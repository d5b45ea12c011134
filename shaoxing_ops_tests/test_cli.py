"""The `shaoxing-ops` command as an operator types it: simulate with faults, reconcile, re-initialise, demo."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from shaoxing_ops.cli import main
from shaoxing_ops.commands.demo import demo_runs, demo_window, last_whole_month
from shaoxing_ops.exchange import full_reload
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.exchange.upload import upload_window

from .conftest import Dbs, Demo
from .test_engine import province_live, snapshot


@pytest.fixture
def cli_env(sqlite_dbs: Dbs, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Dbs:  # type: ignore[no-untyped-def]
    for role in ("province", "front", "bureau"):
        monkeypatch.setenv(f"SXOPS_{role.upper()}_URL", getattr(sqlite_dbs, role))
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    return sqlite_dbs


def test_simulate_reconcile_repair_and_reinit(cli_env: Dbs, catalog, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(["simulate", "--start", "2026-03-01", "--end", "2026-03-02", "--scale", "0.003", "--seed", "4"])
        == 0
    )
    out = capsys.readouterr().out
    assert "baseline: market entities" in out and "day 2026-03-02" in out and "done: 2 days" in out
    table = catalog.table("E_PRI_PERSON")
    full_reload(table, cli_env.engine("province"), cli_env.engine("front"))
    assert (
        main(
            [
                "simulate",
                "--start",
                "2026-03-02",
                "--end",
                "2026-03-02",
                "--scale",
                "0.003",
                "--seed",
                "4",
                "--fault",
                "target-missing:E_PRI_PERSON",
                "--fault-rows",
                "3",
            ]
        )
        == 0
    )
    assert "fault target-missing on E_PRI_PERSON: 删除了 3 条" in capsys.readouterr().out

    assert main(["reconcile", "E_PRI_PERSON"]) == 1
    out = capsys.readouterr().out
    assert "目标端缺失 3 条" in out and "--repair" in out
    assert main(["reconcile", "e_pri_person", "--repair"]) == 0
    assert "已修复：重新复制 3 条" in capsys.readouterr().out
    store = ExchangeRecords(cli_env.engine("front")).ensure()
    with store.engine.connect() as conn:
        rec = store.tables.reconciliations
        repaired = conn.execute(sa.select(rec.c.launched_by).where(rec.c.repaired.is_(True))).scalars().all()
    assert repaired == [getpass.getuser()]  # who ran the repair, next to what it did
    assert snapshot(cli_env.engine("front"), table) == province_live(cli_env.engine("province"), table)

    assert main(["reinit", "E_PRI_PERSON", "--reason", "代码集变更"]) == 2
    assert "审批人" in capsys.readouterr().err
    assert main(["reinit", "E_PRI_PERSON", "--reason", "代码集变更", "--approved-by", "王科长"]) == 0
    assert "结论：两端一致" in capsys.readouterr().out
    (audit,) = ExchangeRecords(cli_env.engine("front")).reinits()
    assert (audit["approved_by"], audit["launched_by"], audit["status"]) == (
        "王科长",
        getpass.getuser(),
        "succeeded",
    )

    # The Data Bureau leg: 法定代表人信息 is made from E_PRI_PERSON; a hand-changed row is found and re-sent.
    bt = catalog.bureau_table("SCJG_FDDBRXX")
    bureau = cli_env.engine("bureau")
    upload_window(bt, catalog, cli_env.engine("front"), bureau, None, None)
    assert main(["reconcile", "--leg", "bureau", "scjg_fddbrxx"]) == 0
    assert "结论：两端一致" in capsys.readouterr().out
    with bureau.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE scjg_fddbrxx SET xm = '张三丰' WHERE rybs = (SELECT min(rybs) FROM scjg_fddbrxx)"
        )
    assert main(["reconcile", "--leg", "bureau", "SCJG_FDDBRXX"]) == 1
    assert "内容不一致 1 条" in capsys.readouterr().out
    assert main(["reconcile", "--leg", "bureau", "SCJG_FDDBRXX", "--repair"]) == 0
    assert "已修复：重新复制 1 条" in capsys.readouterr().out
    assert main(["reinit", "--leg", "bureau", "SCJG_FDDBRXX", "--reason", "数据局要求"]) == 2
    assert "审批人" in capsys.readouterr().err
    assert (
        main(["reinit", "--leg", "bureau", "SCJG_FDDBRXX", "--reason", "数据局要求", "--approved-by", "李四"])
        == 0
    )
    assert "结论：两端一致" in capsys.readouterr().out
    audits = ExchangeRecords(cli_env.engine("front")).reinits()
    assert [(a["table_name"], a["approved_by"], a["status"]) for a in audits][-1] == (
        "SCJG_FDDBRXX",
        "李四",
        "succeeded",
    )
    assert main(["reconcile", "--leg", "bureau", "E_BASEINFO"]) == 2
    assert "unknown bureau table 'E_BASEINFO'" in capsys.readouterr().err


def test_errors_say_what_to_do(cli_env: Dbs, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["simulate", "--start", "2026-03-01", "--end", "2026-03-01", "--scale", "0.002"]) == 0
    capsys.readouterr()
    assert main(["simulate", "--start", "2026-03-05", "--end", "2026-03-06", "--scale", "0.002"]) == 2
    assert "continue from 2026-03-02" in capsys.readouterr().err
    assert main(["reconcile", "NO_SUCH_TABLE"]) == 2
    assert "unknown table 'NO_SUCH_TABLE'" in capsys.readouterr().err
    assert (
        main(
            [
                "simulate",
                "--start",
                "2026-03-01",
                "--end",
                "2026-03-01",
                "--scale",
                "0.002",
                "--fault",
                "meteor-strike",
            ]
        )
        == 2
    )
    assert "unknown fault 'meteor-strike'" in capsys.readouterr().err


def test_late_day_fault_is_delivered_with_the_next_day(cli_env: Dbs, catalog, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["simulate", "--scale", "0.003", "--seed", "5"]
    assert main([*args, "--start", "2026-03-01", "--end", "2026-03-02", "--fault", "late-day"]) == 0
    held = capsys.readouterr().out
    assert "fault late-day on E_ALTER_RECODER: 2026-03-02 的" in held
    with cli_env.engine("province").connect() as conn:
        count = "SELECT count(*) FROM e_alter_recoder WHERE dsc_biz_timestamp >= '2026-03-02'"
        before = conn.execute(sa.text(count)).scalar_one()
    assert main([*args, "--start", "2026-03-03", "--end", "2026-03-03"]) == 0
    assert "late delivery: E_ALTER_RECODER" in capsys.readouterr().out
    with cli_env.engine("province").connect() as conn:
        assert conn.execute(sa.text(count)).scalar_one() > before


@pytest.mark.slow
def test_demo_runs_end_to_end(demo: Demo, catalog) -> None:  # type: ignore[no-untyped-def]
    """The first README command's program, on a tiny scale, through real Dagster runs in a fresh home."""
    done, tmp_path = demo.done, demo.root
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 failed steps, 0 tables differing" in done.stdout
    assert "make ui" in done.stdout and (tmp_path / "dagster" / "dagster.yaml").exists()
    # the other way to the UI names programs and files that exist, wherever the demo was started (here: a
    # folder of its own, not the checkout)
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("or: cd ")]
    dg_path, workspace = line.split(" dev -w ")[0].split()[-1], line.split(" dev -w ")[1]
    assert Path(dg_path).is_file() and Path(workspace).is_file(), line
    assert "step 5/6  market-entity statistics" in done.stdout
    assert len(list((tmp_path / "data" / "reports" / "inspection").glob("*.html"))) == 1
    # the demo's catalog applications leave two exchanged tables without an approval: the sheet says which
    (sheet,) = (tmp_path / "data" / "reports" / "inspection").glob("*.json")
    check = json.loads(sheet.read_text(encoding="utf-8"))["registers"]["applications"]
    left_out = [s.tables[-1].name for s in catalog.systems if len(s.tables) > 1][:2]
    assert sorted(t["table"] for t in check["unapproved"]) == sorted(left_out)
    assert check["applications"] == len(catalog.systems) + 1
    workbooks = list((tmp_path / "data" / "reports" / "stats").glob("*/*.xlsx"))
    assert len(workbooks) == 1 and workbooks[0].stat().st_size > 10_000, done.stdout[-2000:]


def test_the_demos_runs_load_every_table_once_the_uploads_sources_first_and_end_in_two_halves(
    catalog,
) -> None:  # type: ignore[no-untyped-def]
    runs = demo_runs(catalog)
    loaded = [name for r in runs for name in r.tables]
    assert sorted(loaded) == sorted(t.name for t in catalog.tables)  # each table in one run, none twice
    feeding = {name for bt in catalog.bureau for name in bt.sources}
    assert [r.feeds_bureau for r in runs] == [True, True, False, False, False, False]
    assert {n for r in runs if r.feeds_bureau for n in r.tables} == feeding
    *_, one, two = runs
    assert (one.label, two.label) == ("食安 三小一摊（其余） 1/2", "食安 三小一摊（其余） 2/2")
    assert abs(len(one.tables) - len(two.tables)) <= 1


def test_every_loaded_day_of_every_table_has_each_checks_own_result(demo: Demo, catalog) -> None:  # type: ignore[no-untyped-def]
    """The demo loads ranges, yet each day of each exchanged table carries that day's result of every check,
    as the instance records it (what the UI's Checks tab and lineage nodes count)."""
    import dagster as dg

    from shaoxing_ops.defs.bureau.assets import asset_key as bureau_key
    from shaoxing_ops.defs.province.assets import asset_key
    from shaoxing_ops.names import LEG_CHECKS

    assert demo.done.returncode == 0, demo.done.stdout[-2000:] + demo.done.stderr[-2000:]
    first, last = (
        dt.date.fromisoformat(d)
        for d in demo.done.stdout.split("simulate the province, ")[1].split(",")[0].split(" … ")
    )
    days = {(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)}
    keys = [dg.AssetCheckKey(asset_key(t), c) for t in catalog.tables for c in LEG_CHECKS["province"]]
    keys += [dg.AssetCheckKey(bureau_key(b), c) for b in catalog.bureau for c in LEG_CHECKS["bureau"]]
    with dg.DagsterInstance.from_config(str(demo.root / "dagster")) as instance:
        infos = instance.event_log_storage.get_asset_check_partition_info(keys)
    found: dict[tuple[dg.AssetCheckKey, str], str] = {
        (i.check_key, i.partition_key): i.latest_execution_status.value for i in infos if i.partition_key
    }
    assert len(keys) == 142 * 6 + 14 * 5
    missing = [(k.to_user_string(), d) for k in keys for d in sorted(days) if (k, d) not in found]
    assert not missing, f"{len(missing)} check-days without a result, e.g. {missing[:5]}"
    statuses = Counter(found[(k, d)] for k in keys for d in days)
    failed = [(k.to_user_string(), d) for k in keys for d in days if found[(k, d)] != "SUCCEEDED"]
    assert statuses["SUCCEEDED"] == len(keys) * len(days), (statuses, failed[:10])


@pytest.mark.parametrize(
    ("today", "days", "window", "month"),
    [
        ("2026-12-01", 60, ("2026-10-01", "2026-11-30"), "2026-11"),  # November is over on its last day
        ("2026-12-01", 3, ("2026-11-01", "2026-11-30"), "2026-11"),
        ("2026-11-20", 60, ("2026-09-01", "2026-11-19"), "2026-10"),  # November not over: October's report
        ("2026-02-10", 60, ("2026-01-01", "2026-02-09"), "2026-01"),  # never before SXOPS_START_DATE
    ],
)
def test_the_demo_loads_whole_months(today: str, days: int, window: tuple[str, str], month: str) -> None:
    yesterday = dt.date.fromisoformat(today) - dt.timedelta(days=1)
    start, end = demo_window(yesterday, days)
    assert (start.isoformat(), end.isoformat()) == window
    assert start.day == 1 and last_whole_month(end) == month
    short = demo_window(yesterday, 3, yesterday - dt.timedelta(days=2))
    assert (short[1] - short[0]).days == 2


def test_a_url_from_a_file_and_errors_that_name_the_database(  # type: ignore[no-untyped-def]
    cli_env: Dbs, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from shaoxing_ops import settings

    secret = tmp_path / "province.url"
    secret.write_text("mysql+pymysql://sxops:s3cret-pw@127.0.0.1:1/province\n", encoding="utf-8")
    monkeypatch.delenv("SXOPS_PROVINCE_URL")
    monkeypatch.setenv("SXOPS_PROVINCE_URL_FILE", str(secret))
    assert settings.database_url("province") == "mysql+pymysql://sxops:s3cret-pw@127.0.0.1:1/province"
    assert main(["reconcile", "E_BASEINFO"]) == 2  # nothing listens on port 1
    err = capsys.readouterr().err
    assert err.startswith("error: the province database (mysql+pymysql://sxops:***@127.0.0.1:1/province")
    assert "cannot be reached" in err and "check SXOPS_PROVINCE_URL" in err and "s3cret" not in err
    assert err.count("\n") == 1
    for url, message in [
        ("oracle+oracledb://u:s3cret@h/x", "needs a driver that is not installed"),
        ("not a url", "SXOPS_PROVINCE_URL is not a database URL"),
    ]:
        secret.write_text(url, encoding="utf-8")
        assert main(["reconcile", "E_BASEINFO"]) == 2
        err = capsys.readouterr().err
        assert message in err and "s3cret" not in err and err.count("\n") == 1, err
    monkeypatch.setenv("SXOPS_PROVINCE_URL_FILE", str(tmp_path / "missing.url"))
    assert main(["reconcile", "E_BASEINFO"]) == 2
    err = capsys.readouterr().err
    assert "SXOPS_PROVINCE_URL_FILE=" in err and "missing.url' cannot be read" in err and err.count("\n") == 1


def test_every_job_the_commands_launch_is_rebuilt_by_name() -> None:
    """The one pointer the demo, statistics and report runs go through: each job by its name, as Dagster
    rebuilds it in the processes a run starts."""
    from shaoxing_ops.commands.runs import reconstructable_job

    names = ("province_nightly", "bureau_upload", "stats_monthly", "ops_daily", "ops_weekly", "ops_monthly")
    for name in names:
        job = reconstructable_job(name)
        assert job.job_name == name
        assert job.get_definition().name == name
        origin = job.get_python_origin()  # what the run records to rebuild it: a function and the job's name
        assert origin.repository_origin.code_pointer.reconstructable_args == [name]


def test_no_library_or_dagster_module_imports_a_command_module() -> None:
    """The commands sit on top: the engine, the operations and the Dagster wiring import none of them (the
    host sensor's database sizes come from ``operations.databases``, not from a command)."""
    import ast
    from pathlib import Path

    import shaoxing_ops

    package = Path(shaoxing_ops.__file__).parent

    def is_command(name: str) -> bool:
        return name.startswith(("shaoxing_ops.commands", "shaoxing_ops.serve")) or (
            name.startswith("shaoxing_ops.") and name.endswith(".cli")
        )

    wrong, read = [], 0
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] in ("cli.py", "commands", "serve") or relative.name == "cli.py":
            continue
        read += 1
        here = ["shaoxing_ops", *relative.with_suffix("").parts]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: -node.level] + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            wrong += [(str(relative), n) for n in names if is_command(n)]
    assert read > 80 and not wrong, wrong
