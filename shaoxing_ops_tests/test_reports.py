"""The deliverables: inspection sheet from real runs, checks and re-pushes; weekly and monthly reports with
hostile text; host metrics through a real sensor tick; the report and feedback commands."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from pathlib import Path

import dagster as dg
import pytest

from shaoxing_ops import cli
from shaoxing_ops.catalog import Catalog
from shaoxing_ops.defs.bureau.checks import BUREAU_CHECKS
from shaoxing_ops.defs.ops.assets import (
    HOST_METRICS,
    host_metrics_sensor,
    inspection_sheet,
    resource_assessment,
)
from shaoxing_ops.defs.resources import Databases
from shaoxing_ops.exchange import faults, make_engine
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.names import LEG_CHECKS
from shaoxing_ops.operations.records import OperationsRecords
from shaoxing_ops.reports import build

from .conftest import Dbs, embedded_instance
from .test_health import DAY1, DAY2, Harness, province  # noqa: F401  (the fixture is used by name)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ID_NUMBER = "330602199001011234"
PHONE = "13812345678"


@pytest.fixture
def instance():
    with embedded_instance() as inst:
        yield inst


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SXOPS_REPUSH_DELAY_SECONDS", "0")


def _row(sheet: dict, table: str) -> dict:
    return next(r for leg in sheet["legs"] for r in leg["rows"] if r["table"] == table)


def test_sheet_shows_a_planted_failure_then_its_repush(
    province: Dbs,  # noqa: F811
    catalog: Catalog,
    instance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SXOPS_FULL_RECONCILE", "daily")  # rows lost from older days fail reconcile too
    h = Harness(province, catalog, instance, "E_PRI_PERSON")
    h.load(DAY1)
    h.load(DAY2)
    front = province.engine("front")
    exchange, operations = ExchangeRecords(front).ensure(), OperationsRecords(front).ensure()
    faults.target_missing(h.table, province.engine("front"), 4)
    faults.target_duplicated(h.table, province.engine("front"), 2)
    assert not h.inspect(DAY2)["row_count"].passed

    before = build.daily_sheet(instance, exchange, operations, DAY2)
    row = _row(before, "E_PRI_PERSON")
    assert row["status"] == "succeeded" and row["rows_moved"] > 0
    assert row["checks"]["row_count"] == "failed" and row["checks"]["reconcile"] == "failed"
    assert row["count_difference"] == -2 and row["repush_attempts"] == 0 and not row["healthy"]
    assert before["attention"][0]["table"] == "E_PRI_PERSON"  # failures first, then the tables never started
    assert {a["status"] for a in before["attention"][1:]} == {"not_started"}
    others = [r for leg in before["legs"] for r in leg["rows"] if r["table"] != "E_PRI_PERSON"]
    assert {r["status"] for r in others} == {"not_started"} and len(others) == 155
    assert before["summary"]["checks_failed"] == 2 and before["summary"]["succeeded"] == 1

    (request,) = h.tick().run_requests
    h.run_request(request)
    after = build.daily_sheet(instance, exchange, operations, DAY2)
    row = _row(after, "E_PRI_PERSON")
    assert row["checks"]["row_count"] == "passed" and row["checks"]["reconcile"] == "passed"
    assert (row["repush_attempts"], row["repush_outcome"], row["count_difference"]) == (1, "成功", 0)
    assert _row(after, "SCJG_ZTXX")["checks"]["reconcile"] == "none"  # the bureau leg has no such check
    files = build.write(after, f"巡检单_{DAY2}")
    text = files.html.read_text(encoding="utf-8")
    assert "数据交换日常巡检单（2026年03月02日）" in text and "1 次 成功" in text
    assert json.loads(files.json.read_text(encoding="utf-8"))["summary"]["repushed"] == 1


def test_sheet_lists_a_failed_run_and_its_escalation(province: Dbs, catalog: Catalog, instance) -> None:  # noqa: F811
    h = Harness(province, catalog, instance, "E_PRI_PERSON")
    h.load(DAY1)
    faults.arm(province.engine("province"), "connection-drop", h.table, times=1000)
    assert not h.load(DAY2, raise_on_error=False).success
    for _ in range(5):
        for request in h.tick().run_requests:
            h.run_request(request, raise_on_error=False)
    front = province.engine("front")
    sheet = build.daily_sheet(instance, ExchangeRecords(front), OperationsRecords(front), DAY2)
    row = _row(sheet, "E_PRI_PERSON")
    assert (row["status"], row["repush_attempts"], row["repush_outcome"]) == ("failed", 3, "失败")
    assert [(e["asset_key"], e["attempts"]) for e in sheet["escalations"]] == [(h.key.to_user_string(), 3)]
    assert "需人工处理" in build.render(sheet)


def _hostile_ops(engine) -> tuple[ExchangeRecords, OperationsRecords]:  # type: ignore[no-untyped-def]
    exchange, ops = ExchangeRecords(engine).ensure(), OperationsRecords(engine).ensure()
    opened = dt.datetime(2026, 3, 3, 9, 0)
    first = ops.add_feedback(
        system="执法在线",
        channel="微信",
        reporter=f"张三{HOSTILE}",
        contact=PHONE,
        description=f"{HOSTILE} 身份证 {ID_NUMBER} 电话 {PHONE} 查询不到案件",
        at=opened,
    )
    ops.add_feedback(
        system="全程电子化登记",
        channel="电话",
        reporter=f"李四{HOSTILE}",
        description="名称核准页面打不开",
        at=opened + dt.timedelta(days=1),
    )
    ops.resolve_feedback(first, f"已处理{HOSTILE}", "运维 王五", at=opened + dt.timedelta(hours=5))
    audit = exchange.start_reinit("E_BASEINFO", f"代码集变更{HOSTILE}", "市局 赵科长", None)
    exchange.finish_reinit(audit, status="succeeded", rows_before=10, rows_after=12)
    with engine.begin() as conn:  # approved and run during the reported week
        conn.execute(exchange.tables.reinit_audit.update().values(requested_at=opened, finished_at=opened))
    for hour in range(0, 24 * 5, 2):  # five days of samples, disk growing
        at = dt.datetime(2026, 3, 2) + dt.timedelta(hours=hour)
        ops.record_metrics(
            "web-1",
            {"cpu_percent": 30 + hour % 7, "memory_percent": 50.0, "disk_percent:/": 60 + hour / 24},
            at=at,
        )
    return exchange, ops


def test_reports_render_hostile_text_as_text_and_mask_personal_data(
    tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SXOPS_FRONT_URL", "postgresql://sxops:secret-pass-42@db-host/front")
    ops = _hostile_ops(make_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    monkeypatch.setattr(build, "_now", lambda: dt.datetime(2026, 3, 9, 10, 0))
    weekly = build.period_report(instance, *ops, dt.date(2026, 3, 2), dt.date(2026, 3, 8), "weekly")
    monthly = build.period_report(instance, *ops, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "monthly")
    daily = build.daily_sheet(instance, *ops, dt.date(2026, 3, 4))
    assert weekly["feedback"]["opened"] == 2 and weekly["feedback"]["resolved"] == 1
    assert len(weekly["reinits"]) == 1 and len(weekly["daily"]) == 7 and len(monthly["daily"]) == 31
    disk = weekly["resources"]["web-1|disk_percent:/"]  # each host's series apart
    assert disk["peak"][-1] > disk["peak"][0] and set(weekly["resources"]) == {
        "web-1|cpu_percent",
        "web-1|memory_percent",
        "web-1|disk_percent:/",
    }
    assert [h["assessment"]["host"] for h in weekly["hosts"]] == ["web-1"]
    assert monthly["statistics"]["note"]  # no front database given: said, not invented
    for report in (weekly, monthly, daily):
        html = build.render(report)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
        assert ID_NUMBER not in html and PHONE not in html and "secret-pass-42" not in html
        data = json.dumps(report, ensure_ascii=False, default=str)
        assert ID_NUMBER not in data and PHONE not in data
    html = build.render(weekly)
    assert "3306************34" in html and "138****5678" in html
    assert "数据交换运维周报（2026年03月02日—03月08日）" in html and "Plotly.newPlot" in html
    assert "甲方确认" in build.render(monthly) and "<script src=" not in html


def _history(store: OperationsRecords, host: str, end: dt.datetime, hours: int, **values: float) -> None:
    """Synthetic samples every 10 minutes for ``hours`` up to ``end``: metric names with ``__`` for ``:/``."""
    for i in range(hours * 6):
        at = end - dt.timedelta(minutes=10 * i)
        store.record_metrics(host, {k.replace("__", ":/"): v for k, v in values.items()}, at=at)
    store.register_host(host, "db" if host.startswith("db") else "app", at=end - dt.timedelta(hours=hours))
    store.register_host(host, "db" if host.startswith("db") else "app", at=end)


def test_each_host_is_assessed_apart_in_the_sheet(
    tmp_path: Path,
    instance,
    catalog: Catalog,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    """The sensor's own host and a database host fed by `host collect --name db-1`, each with two days of
    history: two assessments, each with its own figures and advice; a third host that went quiet is an alert."""
    from .receivers import http_receiver

    front = f"sqlite:///{tmp_path / 'front.db'}"
    databases = Databases(
        front_url=front,
        province_url=f"sqlite:///{tmp_path / 'province.db'}",
        bureau_url=f"sqlite:///{tmp_path / 'bureau.db'}",
    )
    monkeypatch.setenv("SXOPS_HOST_NAME", "app-1")
    monkeypatch.setenv("SXOPS_REPORTS_BASE_URL", "https://ops.example/reports")
    monkeypatch.setenv("SXOPS_FRONT_URL", front)
    with dg.build_sensor_context(instance=instance, resources={"databases": databases}) as context:
        result = host_metrics_sensor(context)
    (observation,) = result.asset_events
    assert observation.asset_key == HOST_METRICS and observation.metadata["host"].value == "app-1"
    assert 0 <= observation.metadata["cpu_percent"].value <= 100
    assert 0 < observation.metadata["memory_percent"].value < 100
    assert cli.main(["host", "collect", "--name", "db-1", "--role", "db"]) == 0
    assert "主机 db-1（数据库服务器）" in capsys.readouterr().out
    store = OperationsRecords(make_engine(front))
    assert {(h["name"], h["role"]) for h in store.hosts()} == {("app-1", "app"), ("db-1", "db")}
    assert {s["metric"] for s in store.metrics(dt.datetime(2000, 1, 1), host="db-1")} >= {
        "cpu_percent",
        "disk_percent:/",
    }

    day = build._now().date() - dt.timedelta(
        days=1
    )  # the newest daily partition; the sheet sees up to its end
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    _history(store, "app-1", end - dt.timedelta(minutes=1), 48, cpu_percent=5.0, memory_percent=30.0)
    _history(
        store,
        "db-1",
        end - dt.timedelta(minutes=1),
        48,
        cpu_percent=95.0,
        memory_percent=60.0,
        db_connections=40.0,
        db_max_connections=100.0,
        db_longest_transaction_seconds=2.0,
        **{"db_bytes:front": 2.0 * 2**30},
    )
    _history(store, "db-2", end - dt.timedelta(hours=3), 24, cpu_percent=20.0, memory_percent=40.0)
    with http_receiver() as http:
        monkeypatch.setenv("SXOPS_ALERT_WEBHOOK", http.url("/hook"))
        done = dg.materialize(
            [resource_assessment, inspection_sheet],
            instance=instance,
            partition_key=day.isoformat(),
            resources={"databases": databases},
        )
        texts = [r.body["text"] for r in http.received]
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in done.get_asset_materialization_events()
    }
    assessment = meta["ops/resource_assessment"]
    assert assessment["hosts"].value == 3 and assessment["silent_hosts"].value == "db-2"
    assert assessment["建议"].value == "app-1 保持；db-1 扩容；db-2 保持"
    assert assessment["db-1 cpu p95 %"].value == 95.0 and assessment["app-1 cpu p95 %"].value < 10
    assert any("主机 db-2（数据库服务器）已停止上报" in t for t in texts), texts
    sheet = meta["ops/inspection_sheet"]
    assert sheet["tables"].value == 156 and not sheet["healthy"].value
    name = f"巡检单_{day.isoformat()}.html"  # linked where the client's desktops can open it
    assert sheet["report"].value == "https://ops.example/reports/inspection/" + urllib.parse.quote(name)
    report = json.loads(Path(sheet["json"].value).read_text(encoding="utf-8"))
    hosts = {h["assessment"]["host"]: h["assessment"] for h in report["hosts"]}
    assert list(hosts) == ["app-1", "db-1", "db-2"] and report["hosts_silent"] == ["db-2"]
    app, db = hosts["app-1"], hosts["db-1"]
    assert app["recommendation"] == "保持" and db["recommendation"] == "扩容"
    assert db["reasons"][0].startswith("CPU 使用率 p95 95.0%") and not any(
        "95.0%" in r for r in app["reasons"]
    )
    assert db["database"]["connections_peak"] == 40 and db["database"]["sizes"][0]["database"] == "front"
    assert app["database"] is None and hosts["db-2"]["reasons"][0].startswith("已停止上报：最后一次采样在")
    html = Path(sheet["html"].value).read_text(encoding="utf-8")
    assert html.count("（数据库服务器）") == 2 and "app-1（应用服务器）" in html
    assert "主机 db-2 已停止上报资源采样" in html and "40 / 40 / 100（峰值 40%）" in html
    _screenshot(Path(sheet["html"].value), "report_inspection_hosts.png")


def _screenshot(page: Path, name: str) -> None:
    """The page as a reader sees it, kept with the test's artifacts where a browser is at hand."""
    import tempfile

    from .browser import Browser, find_chromium
    from .test_ui import ARTIFACTS, has_all

    found = find_chromium()
    if not found:
        return
    with tempfile.TemporaryDirectory() as profile, Browser(found, Path(profile)) as browser:
        browser.open(page.as_uri(), has_all("主机资源评估"))
        browser.call(
            "Runtime.evaluate",
            expression="[...document.querySelectorAll('h2')]"
            ".find(h => h.textContent.includes('主机资源评估')).scrollIntoView()",
        )
        browser.screenshot(ARTIFACTS / name)


def test_reports_index_lists_each_kind_by_month_and_links_open_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shaoxing_ops import settings
    from shaoxing_ops.files import write_private_text
    from shaoxing_ops.reports.publish import report_url, write_index

    root = tmp_path / "data" / "reports"
    files = [
        "inspection/巡检单_2026-10-31.html",
        "inspection/巡检单_2026-11-01.html",
        "inspection/巡检单_2026-11-01.json",
        "monthly/运维服务月报_2026-10.html",
        "stats/2026-11/<img src=x onerror=alert(1)>_2026-11.html",
        "stats/2026-11/绍兴市市场主体统计_2026-11.xlsx",
    ]
    for name in files:
        write_private_text(root / name, "x")
    html = write_index().read_text(encoding="utf-8")
    assert (write_index().stat().st_mode & 0o777) == 0o600
    text = re.sub(r"<[^>]+>", " ", html)
    assert text.index("2026年11月") < text.index("2026年10月")  # newest month first
    assert text.index("巡检单_2026-11-01.html") < text.index("巡检单_2026-10-31.html")
    assert ".json" not in html and "运维周报 暂无" in " ".join(text.split())
    assert (
        "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    )  # a name is text, its link quoted
    assert 'href="stats/2026-11/%3Cimg%20src%3Dx' in html and "绍兴市市场主体统计_2026-11.xlsx" in html
    sheet = root / "inspection" / "巡检单_2026-11-01.html"
    assert report_url(sheet) == sheet.as_uri()  # no base URL: the local file
    monkeypatch.setenv("SXOPS_REPORTS_BASE_URL", "https://ops.example/sx/reports/")
    assert (
        report_url(sheet)
        == "https://ops.example/sx/reports/inspection/%E5%B7%A1%E6%A3%80%E5%8D%95_2026-11-01.html"
    )
    assert report_url(tmp_path / "elsewhere.html").startswith("file://")  # outside the reports folder
    monkeypatch.setenv("SXOPS_REPORTS_BASE_URL", "ops.example/reports")
    with pytest.raises(settings.SettingsError, match="is not an http"):
        report_url(sheet)


def test_report_and_feedback_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("SXOPS_FRONT_URL", f"sqlite:///{tmp_path / 'front.db'}")
    assert (
        cli.main(
            [
                "feedback",
                "add",
                "--system",
                "执法在线",
                "--channel",
                "浙政钉",
                "--reporter",
                "柯桥区局 陈工",
                "--description",
                "处罚决定书上传失败",
            ]
        )
        == 0
    )
    assert cli.main(["report", "weekly", "2026-03-04"]) == 0
    out = capsys.readouterr().out
    assert "2026-03-02 … 2026-03-08" in out and "运维周报_2026-03-02.html" in out
    assert (tmp_path / "data" / "reports" / "weekly" / "运维周报_2026-03-02.json").exists()
    assert cli.main(["report", "monthly", "2026-03"]) == 0
    assert cli.main(["report", "daily", "2026-13-01"]) == 2
    assert "not a date" in capsys.readouterr().err


def test_report_checks_match_the_defined_checks() -> None:
    assert LEG_CHECKS["bureau"] == BUREAU_CHECKS


def test_reports_count_each_days_rows_after_one_ranged_run(province: Dbs, catalog: Catalog, instance) -> None:  # noqa: F811
    from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    h = Harness(province, catalog, instance, "E_PRI_PERSON")
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: DAY1.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: DAY2.isoformat(),
    }
    assert dg.materialize(
        [h.asset, h.checks], instance=instance, tags=tags, resources={"databases": h.databases}
    ).success
    loaded = {
        r.partition_key: r.asset_materialization.metadata
        for r in instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=h.key), limit=5).records
    }
    moved = {
        d: sum(m[f"rows_{k}"].value for k in ("inserted", "updated", "deleted")) for d, m in loaded.items()
    }
    assert moved[str(DAY1)] > moved[str(DAY2)] > 0  # the baseline day, then an ordinary day: each its own

    front = province.engine("front")
    exchange, operations = ExchangeRecords(front).ensure(), OperationsRecords(front).ensure()
    sheet = build.daily_sheet(instance, exchange, operations, DAY2)
    row = _row(sheet, "E_PRI_PERSON")
    assert row["rows_moved"] == moved[str(DAY2)] and row["loaded_with"].startswith(f"{DAY1} … {DAY2}")
    assert row["source_rows"] == row["target_rows"] == loaded[str(DAY2)]["rows_read"].value
    assert row["total_source_rows"] == row["total_target_rows"] > row["source_rows"]
    assert row["count_difference"] == 0 and row["healthy"]
    assert set(row["checks"].values()) == {"passed"}  # every check of the day, none left unknown
    unloaded = _row(sheet, "E_CANCEL")
    assert (unloaded["status"], unloaded["source_rows"], unloaded["count_difference"]) == (
        "not_started",
        None,
        None,
    )

    monthly = build.period_report(
        instance, exchange, operations, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "monthly"
    )
    by_day = {d["day"]: d for d in monthly["daily"]}
    assert (
        by_day[str(DAY1)]["rows_moved"] == moved[str(DAY1)]
        and by_day[str(DAY2)]["rows_moved"] == moved[str(DAY2)]
    )
    assert by_day["2026-03-03"]["rows_moved"] == 0 and monthly["summary"]["rows_moved"] == sum(moved.values())
    outcomes, rows = build.figures(monthly)[:2]
    assert rows.layout.title.text == "每日交换行数" and rows.layout.yaxis.rangemode == "tozero"
    for fig in (outcomes, rows):  # every day of the month a category, by its full date; counts from zero
        assert fig.layout.xaxis.type == "category" and list(fig.data[0].x)[-1] == "2026-03-31"
        assert len(fig.data[0].x) == 31 and min(min(trace.y) for trace in fig.data) >= 0
    assert list(rows.data[0].y) == [by_day[d]["rows_moved"] for d in rows.data[0].x]
    assert outcomes.layout.yaxis2.range[0] == 0 and outcomes.layout.yaxis2.rangemode == "tozero"
    assert "每日交换行数" in "".join(build.charts(monthly)).encode().decode("unicode_escape")


def test_reports_outside_the_loaded_days_are_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("SXOPS_FRONT_URL", f"sqlite:///{tmp_path / 'front.db'}")
    monkeypatch.setenv("SXOPS_START_DATE", "2026-03-01")
    monkeypatch.setattr(cli.settings, "today", lambda: dt.date(2026, 3, 20))
    cases = [
        (
            ["report", "daily", "2026-03-20"],
            "the daily report of 2026-03-20 reaches past the last complete day, 2026-03-19",
        ),
        (["report", "weekly", "2026-03-18"], "reaches past the last complete day"),  # the week is not over
        (
            ["report", "monthly", "2026-02"],
            "begins before the first partition, 2026-03-01 (SXOPS_START_DATE)",
        ),
        (["stats", "--month", "2026-03"], "the month 2026-03 is not over"),
    ]
    for args, message in cases:
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert cli.main(["report", "daily", "2026-03-20", "--force"]) == 0
    assert cli.main(["report", "daily", "2026-03-19"]) == 0
    assert "0 succeeded" in capsys.readouterr().out
