"""Operations: host samples and retention, database sizes, the resource assessment, patch status and the
feedback register through its command line, on SQLite and PostgreSQL, with real psutil readings."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
from pathlib import Path

import pytest
import sqlalchemy as sa

from shaoxing_ops.commands import feedback as feedback_commands
from shaoxing_ops.commands import hosts as host_commands
from shaoxing_ops.exchange.opsdb import now_local
from shaoxing_ops.operations import hostmetrics
from shaoxing_ops.operations.assessment import (
    Thresholds,
    assess,
    assess_hosts,
    describe,
    percentile,
    slope_per_day,
)
from shaoxing_ops.operations.feedback import summary
from shaoxing_ops.operations.patches import patch_status
from shaoxing_ops.operations.records import FeedbackError, OperationsRecords

from .conftest import Dbs

NOW = dt.datetime(2026, 5, 1, 12, 0)


@pytest.fixture
def store(dbs: Dbs) -> OperationsRecords:
    return OperationsRecords(dbs.engine("front")).ensure()


# -- host metrics -----------------------------------------------------------------------------------
def test_real_sample_is_recorded_and_read_back(store: OperationsRecords) -> None:
    values = hostmetrics.sample()
    assert 0 <= values["cpu_percent"] <= 100 and 0 < values["memory_percent"] < 100
    assert values["disk_total_bytes:/"] > 0 and 0 < values["disk_percent:/"] < 100
    assert values["disk_used_bytes:/"] <= values["disk_total_bytes:/"]
    assert values["memory_total_bytes"] > 0 and values["cpu_count"] >= 1
    at = now_local()
    assert store.record_metrics("web-1", values, at=at) == len(values)
    rows = store.metrics(at - dt.timedelta(minutes=1))
    assert {r["metric"]: r["value"] for r in rows} == pytest.approx(values)
    assert {r["host"] for r in rows} == {"web-1"} and {r["sampled_at"] for r in rows} == {at}
    disk = store.metrics(at, metric_prefix="disk_")
    assert {r["metric"] for r in disk} == {m for m in values if m.startswith("disk_")}
    assert store.metrics(at + dt.timedelta(seconds=1)) == []
    assert store.metrics(at, host="other") == []


def test_retention_prunes_only_old_rows(store: OperationsRecords) -> None:
    now = now_local()
    store.record_metrics(
        "web-1", {"cpu_percent": 50.0, "memory_percent": 40.0}, at=now - dt.timedelta(days=40)
    )
    store.record_metrics("web-1", {"cpu_percent": 60.0}, at=now - dt.timedelta(days=29))
    store.record_db_sizes(
        [{"role": "front", "database_name": "f", "object_name": "__database__", "bytes": 1}],
        at=now - dt.timedelta(days=31),
    )
    got = hostmetrics.collect(store, host="web-1", retention_days=30)
    assert got.pruned == 3  # two metrics and one size, all older than 30 days
    rows = store.metrics(now - dt.timedelta(days=100))
    assert [r["value"] for r in rows if r["metric"] == "cpu_percent"] == [60.0, got.samples["cpu_percent"]]
    assert min(r["sampled_at"] for r in rows) == now - dt.timedelta(days=29)
    assert store.db_sizes(now - dt.timedelta(days=100)) == []
    assert store.prune_metrics(now - dt.timedelta(days=29)) == 0


def test_database_sizes_on_every_backend(store: OperationsRecords, dbs: Dbs) -> None:
    store.record_metrics("web-1", hostmetrics.sample())
    rows = hostmetrics.database_sizes(store.engine, "front")
    whole = [r for r in rows if r["object_name"] == hostmetrics.DATABASE_OBJECT]
    assert len(whole) == 1 and whole[0]["bytes"] > 0 and whole[0]["role"] == "front"
    tables = [r for r in rows if r["object_name"] != hostmetrics.DATABASE_OBJECT]
    assert 0 < len(tables) <= hostmetrics.TOP_TABLES
    metrics_table = "ops.host_metrics" if dbs.kind == "postgres" else "ops_host_metrics"
    assert metrics_table in {r["object_name"] for r in tables}
    assert all(0 < r["bytes"] <= whole[0]["bytes"] for r in tables)
    assert [r["bytes"] for r in tables] == sorted((r["bytes"] for r in tables), reverse=True)
    at = now_local()
    assert store.record_db_sizes(rows, at=at) == len(rows)
    back = store.db_sizes(at, role="front")
    assert {(r["object_name"], r["bytes"]) for r in back} == {(r["object_name"], r["bytes"]) for r in rows}
    assert {r["object_name"] for r in store.latest_db_sizes()} == {r["object_name"] for r in rows}


# -- assessment -------------------------------------------------------------------------------------
def history(hours: float, step_minutes: int = 60, **series) -> list[dict]:  # type: ignore[no-untyped-def]
    """Samples every ``step_minutes`` over ``hours`` up to NOW; each series is value(hours since start)."""
    steps = int(hours * 60 // step_minutes)
    rows = []
    for i in range(steps + 1):
        at = NOW - dt.timedelta(minutes=step_minutes * (steps - i))
        h = i * step_minutes / 60
        for metric, fn in series.items():
            rows.append(
                {"sampled_at": at, "host": "web-1", "metric": metric.replace("__", ":/"), "value": fn(h)}
            )
    return rows


def test_percentile_and_slope_by_hand() -> None:
    assert percentile([float(v) for v in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    day = dt.datetime(2026, 1, 1)
    points = [(day + dt.timedelta(hours=12 * i), 10 + 1.5 * i) for i in range(5)]  # +1.5 per half day
    assert slope_per_day(points) == pytest.approx(3.0)


def test_steady_moderate_load_keeps() -> None:
    rows = history(
        7 * 24,
        cpu_percent=lambda h: 45 + 10 * math.sin(h),
        memory_percent=lambda h: 60.0,
        swap_percent=lambda h: 0.0,
        disk_percent__=lambda h: 50.0,
    )
    a = assess(rows, NOW)
    assert a.recommendation == "保持"
    cpu = a.resource("cpu")
    assert cpu is not None and cpu.peak <= 55 and 44 < cpu.average < 46 and 54 < cpu.p95 <= 55
    assert a.resource("disk:/").days_until_full is None  # type: ignore[union-attr]
    assert any("CPU 使用率 p95" in r for r in a.reasons) and any(
        "磁盘 / 使用率 50.0%，无增长" in r for r in a.reasons
    )
    assert a.history_hours == 168 and a.window_end == NOW


def test_disk_growing_toward_full_scales_up() -> None:
    # 70% a week ago, +2 points a day: 84% now, (100 - 84) / 2 = 8 days left, full on 2026-05-09 12:00.
    rows = history(
        7 * 24,
        cpu_percent=lambda h: 30.0,
        memory_percent=lambda h: 50.0,
        disk_percent__=lambda h: 70 + 2 * h / 24,
    )
    a = assess(rows, NOW)
    disk = a.resource("disk:/")
    assert a.recommendation == "扩容" and disk is not None
    assert disk.latest == pytest.approx(84.0) and disk.slope_per_day == pytest.approx(2.0)
    assert 7.9 < disk.days_until_full < 8.1  # type: ignore[operator]
    assert disk.full_at == dt.datetime(2026, 5, 9, 12, 0)
    assert a.reasons == ["磁盘 / 使用率 84.0%，按近 7 天增长 2.0%/天，约 8.0 天后写满"]
    # Assessed two days after the last sample, the same projection leaves 6 days.
    later = assess(rows, NOW + dt.timedelta(days=2))
    assert later.resource("disk:/").days_until_full == pytest.approx(6.0)  # type: ignore[union-attr]
    # 60 days away is beyond the 30-day horizon; stricter thresholds bring it back.
    slow = history(
        7 * 24,
        cpu_percent=lambda h: 30.0,
        memory_percent=lambda h: 50.0,
        disk_percent__=lambda h: 40 + 0.5 * h / 24,
    )
    assert assess(slow, NOW).recommendation == "保持"
    assert assess(slow, NOW, thresholds=Thresholds(disk_full_days=200)).recommendation == "扩容"


def test_busy_cpu_scales_up() -> None:
    rows = history(24, cpu_percent=lambda h: 90.0 if h % 2 else 70.0, memory_percent=lambda h: 50.0)
    a = assess(rows, NOW)
    assert a.recommendation == "扩容" and a.reasons[0].startswith("CPU 使用率 p95 90.0%")


def test_idle_machine_over_days_scales_down() -> None:
    rows = history(
        5 * 24,
        cpu_percent=lambda h: 3 + (h % 3),
        memory_percent=lambda h: 20.0,
        disk_percent__=lambda h: 30.0,
    )
    a = assess(rows, NOW)
    assert a.recommendation == "缩容"
    assert (
        a.reasons[0] == "近 5 天 CPU p95 5.0%（低于 15%）、内存 p95 20.0%（低于 35%），磁盘无增长，资源富余"
    )
    # The same idleness over only two days is not enough to give resources back.
    short = assess(history(48, cpu_percent=lambda h: 3.0, memory_percent=lambda h: 20.0), NOW)
    assert short.recommendation == "保持" and "暂不缩容" in short.reasons[-1]


def test_too_short_history_keeps_with_reason() -> None:
    rows = history(0.5, step_minutes=5, cpu_percent=lambda h: 99.0, memory_percent=lambda h: 95.0)
    a = assess(rows, NOW)
    assert a.recommendation == "保持"
    assert a.reasons == ["监测数据不足：仅有 30 分钟的采样（至少需要 1 小时），暂按保持处理"]
    assert a.resource("cpu").p95 == 99.0  # type: ignore[union-attr]  # the figures are still there
    empty = assess([], NOW)
    assert empty.recommendation == "保持" and "没有采样" in empty.reasons[0]
    data = a.to_dict()
    assert data["assessed_at"] == "2026-05-01T12:00:00" and data["resources"][0]["resource"] == "cpu"


def test_assessment_of_recorded_samples(store: OperationsRecords) -> None:
    """The store's rows feed the assessment directly, whatever the backend returns for datetimes."""
    for row in history(
        4 * 24, cpu_percent=lambda h: 2.0, memory_percent=lambda h: 10.0, disk_percent__=lambda h: 20.0
    ):
        store.record_metrics(row["host"], {row["metric"]: row["value"]}, at=row["sampled_at"])
    a = assess(store.metrics(NOW - dt.timedelta(days=7)), NOW)
    assert a.recommendation == "缩容" and a.history_hours == 96
    assert "建议：缩容" in describe(a)


# -- patches ----------------------------------------------------------------------------------------
def test_hosts_are_assessed_apart_and_a_quiet_one_is_named() -> None:
    """An application host at 5% and a database host at 95% are two assessments, never "average 50%"; a host
    sampled every 5 minutes that stopped 2 hours ago is silent; one sampled hourly, last 2 hours ago, is not."""
    app = [
        {**r, "host": "app-1"} for r in history(48, cpu_percent=lambda h: 5.0, memory_percent=lambda h: 30.0)
    ]
    db = [
        {**r, "host": "db-1"}
        for r in history(
            48,
            cpu_percent=lambda h: 95.0,
            memory_percent=lambda h: 60.0,
            db_connections=lambda h: 10 + h,
            db_max_connections=lambda h: 100.0,
            db_cache_hits=lambda h: 1000.0 * h,
            db_cache_reads=lambda h: 500.0 * h,
            db_longest_transaction_seconds=lambda h: 7200.0 if h == 40 else 1.0,
        )
    ]
    five_min = [
        {
            "sampled_at": NOW - dt.timedelta(hours=2, minutes=5 * i),
            "host": "db-2",
            "metric": "cpu_percent",
            "value": 10.0,
        }
        for i in range(50)
    ]
    hourly = [
        {**r, "host": "etl-1"}
        for r in history(24, cpu_percent=lambda h: 10.0)
        if r["sampled_at"] <= NOW - dt.timedelta(hours=2)
    ]
    registered = [
        {"name": "db-1", "role": "db", "first_seen": NOW - dt.timedelta(days=9), "last_seen": NOW},
        {
            "name": "db-2",
            "role": "db",
            "first_seen": NOW - dt.timedelta(days=9),
            "last_seen": NOW - dt.timedelta(hours=2),
        },
        {
            "name": "old-1",
            "role": "app",
            "first_seen": NOW - dt.timedelta(days=20),
            "last_seen": NOW - dt.timedelta(days=10),
        },
        {
            "name": "new-1",
            "role": "app",
            "first_seen": NOW + dt.timedelta(days=1),
            "last_seen": NOW + dt.timedelta(days=1),
        },
    ]
    got = {a.host: a for a in assess_hosts(app + db + five_min + hourly, NOW, registered)}
    assert list(got) == [
        "app-1",
        "etl-1",
        "old-1",
        "db-1",
        "db-2",
    ]  # applications first; none before its time
    assert got["app-1"].resource("cpu").p95 == 5.0 and got["db-1"].resource("cpu").p95 == 95.0  # type: ignore[union-attr]
    assert got["app-1"].recommendation == "保持" and got["db-1"].recommendation == "扩容"
    assert got["db-1"].role_cn == "数据库服务器" and got["app-1"].database is None
    d = got["db-1"].database
    assert d is not None and (d.connections, d.connections_peak, d.max_connections) == (58.0, 58.0, 100.0)
    assert d.cache_hit_percent == pytest.approx(100 * 2 / 3) and d.longest_transaction_seconds == 7200.0
    reasons = got["db-1"].reasons
    assert reasons[0] == "CPU 使用率 p95 95.0%（峰值 95.0%），超过 80%"
    assert "数据库缓存命中率 66.7%，低于 90%，内存不足以容纳常用数据" in reasons
    assert "存在运行 2.0 小时的长事务，会阻塞清理并导致表膨胀，请核查" in reasons
    assert [h for h, a in got.items() if a.silent] == ["old-1", "db-2"]
    assert got["db-2"].reasons[0] == (
        "已停止上报：最后一次采样在 2026-05-01 10:00（2.0 小时前，超过 15 分钟），"
        "请检查该主机及其采集任务（host collect）"
    )
    assert got["old-1"].reasons[0].startswith("已停止上报：最后一次采样在 2026-04-21 12:00（10.0 天前")
    assert not got["etl-1"].silent  # hourly: silent only after 3 hours
    assert "（数据库服务器）" in describe(got["db-1"])[0] and "【已停止上报】" in describe(got["db-2"])[0]
    peak = assess_hosts(
        [r for r in db if r["metric"] != "db_connections"]
        + [{**db[0], "metric": "db_connections", "value": 90.0}],
        NOW,
        registered[:1],
    )[0]
    assert "数据库连接数峰值 90/100（90%），超过上限的 80%" in peak.reasons


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_a_database_hosts_own_figures_through_host_collect(
    kind: str,
    request: pytest.FixtureRequest,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    """`host collect --name db-1 --role db` on the database server: its connections (one held open in a
    transaction for a second), cache counters, longest transaction and database sizes, read from the server."""
    import time

    dbs = request.getfixturevalue({"postgres": "pg_dbs", "mariadb": "mysql_dbs"}[kind])
    front = dbs.engine("front")
    with front.connect() as held:
        held.exec_driver_sql("CREATE TABLE filler (id INTEGER PRIMARY KEY)")
        held.exec_driver_sql("INSERT INTO filler VALUES (1)")  # a transaction stays open on this connection
        time.sleep(1.2)
        figures = hostmetrics.database_figures(front)
        secret = tmp_path / "db_url"
        secret.write_text(dbs.front + "\n", encoding="utf-8")
        monkeypatch.setenv("SXOPS_FRONT_URL", f"sqlite:///{tmp_path / 'ops.db'}")  # the ops store
        assert (
            run(["host", "collect", "--name", "db-1", "--role", "db", "--database-url-file", str(secret)])
            == 0
        )
        held.rollback()
    assert 1 <= figures["db_connections"] <= figures["db_max_connections"]
    assert figures["db_longest_transaction_seconds"] >= 1.0
    assert figures["db_cache_hits"] > 0 and figures["db_cache_reads"] >= 0
    name = sa.engine.make_url(dbs.front).database
    assert figures[f"db_bytes:{name}"] > 0
    out = capsys.readouterr().out
    assert "主机 db-1（数据库服务器）" in out and "db_connections" in out and dbs.front not in out
    store = OperationsRecords(sa.create_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
    assert store.hosts()[0]["name"] == "db-1" and store.hosts()[0]["role"] == "db"
    metrics = {r["metric"] for r in store.metrics(now_local() - dt.timedelta(minutes=5), host="db-1")}
    assert {"cpu_percent", "db_connections", "db_cache_hits", f"db_bytes:{name}"} <= metrics
    with pytest.raises(ValueError, match="not a database server"):
        hostmetrics.database_figures(sa.create_engine("sqlite://"))


def test_patch_status_of_this_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shaoxing_ops.operations import patches

    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path))
    patches._apt_security_as_of.cache_clear()  # another test of this worker may have asked already
    status = patch_status()
    assert status["kernel"] == platform.release()
    assert status["os"] and status["uptime_seconds"] > 0 and "天" in status["uptime"]
    assert status["boot_time"] < now_local() + dt.timedelta(seconds=1)
    if status["package_manager"] is not None:
        assert status["last_update"] is not None and status["last_update"] <= now_local()
    # Either a count of pending security fixes or the reason it could not be told.
    assert (status["security_updates"] is None) == (status["security_check_error"] is not None)
    if status["security_updates"] is not None:
        assert status["security_updates"] == len(status["security_packages"])
    if status["package_manager"] == "dpkg" and status["security_updates"] is not None:
        # kept in a file every run process reads, for as long as the packages and lists stay as they are
        from shaoxing_ops import settings

        cache = settings.data_dir() / "cache" / "apt_security.json"
        kept = json.loads(cache.read_text(encoding="utf-8"))
        assert kept["packages"] == status["security_packages"] and (cache.stat().st_mode & 0o777) == 0o600
        cache.write_text(json.dumps({"key": kept["key"], "packages": ["planted"]}), encoding="utf-8")
        patches._apt_security_as_of.cache_clear()  # as a new process would
        assert patch_status()["security_packages"] == ["planted"]
        patches._apt_security_as_of.cache_clear()


# -- feedback ---------------------------------------------------------------------------------------
def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="shaoxing-ops")
    sub = parser.add_subparsers(dest="command", required=True)
    feedback_commands.add_parsers(sub)
    host_commands.add_parsers(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_feedback_through_the_command_line(env_dbs: Dbs, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        run(
            [
                "feedback",
                "add",
                "--system",
                "执法在线",
                "--channel",
                "浙政钉",
                "--reporter",
                "柯桥局 张三",
                "--contact",
                "13812345678",
                "--description",
                "案件列表打开超时，约 30 秒",
            ]
        )
        == 0
    )
    assert "问题反馈 #1 已登记" in capsys.readouterr().out
    assert (
        run(
            [
                "feedback",
                "add",
                "--system",
                "食安",
                "--channel",
                "qq",
                "--reporter",
                "李四",
                "--description",
                "三小一摊 许可证查询不到",
            ]
        )
        == 0
    )
    assert "#2" in capsys.readouterr().out

    assert (
        run(
            [
                "feedback",
                "add",
                "--system",
                "食安",
                "--channel",
                "邮件",
                "--reporter",
                "王五",
                "--description",
                "x",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "反馈渠道 '邮件' 无效" in err and "电话、浙政钉、QQ、微信" in err
    assert (
        run(
            [
                "feedback",
                "add",
                "--system",
                "食安",
                "--channel",
                "电话",
                "--reporter",
                "王五",
                "--contact",
                "call me",
                "--description",
                "x",
            ]
        )
        == 2
    )
    assert "联系电话" in capsys.readouterr().err

    assert run(["feedback", "list"]) == 0
    out = capsys.readouterr().out
    assert "138****5678" in out and "13812345678" not in out
    assert "执法在线" in out and "浙政钉" in out and "QQ" in out and "共 2 条，其中待处理 2 条" in out

    assert (
        run(["feedback", "resolve", "1", "--resolution", "索引重建后 2 秒内打开", "--by", "运维 赵六"]) == 0
    )
    assert "问题反馈 #1 已处理（运维 赵六" in capsys.readouterr().out
    assert run(["feedback", "resolve", "1", "--resolution", "again", "--by", "x"]) == 2
    err = capsys.readouterr().err
    assert "问题反馈 #1 已于" in err and "由 运维 赵六 处理，不能重复处理" in err
    assert run(["feedback", "resolve", "99", "--resolution", "r", "--by", "x"]) == 2
    assert "#99 不存在" in capsys.readouterr().err

    assert run(["feedback", "list", "--status", "open"]) == 0
    out = capsys.readouterr().out
    assert "李四" in out and "张三" not in out and "共 1 条，其中待处理 1 条" in out
    assert run(["feedback", "list", "--status", "resolved"]) == 0
    out = capsys.readouterr().out
    assert "已解决" in out and "运维 赵六" in out and "索引重建后" in out

    # the ops database defaults to the front database
    store = OperationsRecords(env_dbs.engine("front")).ensure()
    done = store.feedback_items(status="resolved")
    assert (
        len(done) == 1
        and done[0]["resolution"] == "索引重建后 2 秒内打开"
        and done[0]["resolved_by"] == "运维 赵六"
    )
    assert done[0]["contact"] == "13812345678" and done[0]["channel"] == "浙政钉"
    assert done[0]["resolved_at"] >= done[0]["opened_at"]
    assert [i["channel"] for i in store.feedback_items(status="open")] == ["QQ"]


def test_feedback_periods_for_reports(store: OperationsRecords) -> None:
    day = dt.datetime(2026, 4, 1, 9)
    a = store.add_feedback(system="执法在线", channel="电话", reporter="甲", description="登录失败", at=day)
    b = store.add_feedback(
        system="食安", channel="微信", reporter="乙", description="导出空白", at=day + dt.timedelta(days=3)
    )
    store.add_feedback(
        system="执法在线", channel="QQ", reporter="丙", description="打印错位", at=day + dt.timedelta(days=40)
    )
    store.resolve_feedback(a, "重置密码", "赵六", at=day + dt.timedelta(days=5, hours=3))
    with pytest.raises(FeedbackError, match="早于登记时间"):
        store.resolve_feedback(b, "x", "y", at=day)
    with pytest.raises(FeedbackError, match="电话、浙政钉、QQ、微信"):
        store.add_feedback(system="食安", channel="email", reporter="丁", description="x")
    assert [i["id"] for i in store.feedback_open_at(day + dt.timedelta(days=4))] == [a, b]
    assert [i["id"] for i in store.feedback_open_at(day + dt.timedelta(days=6))] == [b]
    assert [i["id"] for i in store.feedback_resolved_between(day, day + dt.timedelta(days=30))] == [a]
    april = summary(store, dt.datetime(2026, 4, 1), dt.datetime(2026, 5, 1))
    assert april == {
        "opened": 2,
        "resolved": 1,
        "open_at_end": 1,
        "by_system": {"执法在线": 1, "食安": 1},
        "by_channel": {"电话": 1, "微信": 1},
        "mean_hours_to_resolve": 123.0,
        "oldest_open": day + dt.timedelta(days=3),
    }
    assert len(store.feedback_items()) == 3


def test_host_sample_and_assess_commands(env_dbs: Dbs, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["host", "sample", "--host", "web-1"]) == 0
    out = capsys.readouterr().out
    assert "cpu_percent" in out and "disk_total_bytes:/" in out and "数据库合计" in out
    store = OperationsRecords(env_dbs.engine("front")).ensure()
    since = now_local() - dt.timedelta(minutes=5)
    assert {r["host"] for r in store.metrics(since)} == {"web-1"}
    whole = {r["role"]: r["bytes"] for r in store.db_sizes(since) if r["object_name"] == "__database__"}
    if env_dbs.kind != "sqlite":  # a server's databases exist, empty or not
        assert set(whole) == {"province", "front", "bureau"} and whole["front"] > 0
        # PostgreSQL counts an empty database's catalog; MariaDB sums its tables, and these have none yet
        assert all(v > 0 if env_dbs.kind == "postgres" else v == 0 for r, v in whole.items() if r != "front")
    else:  # SQLite files not made yet are left alone rather than created empty by measuring them
        assert set(whole) == {"front"} and whole["front"] > 0
        assert not Path(sa.engine.make_url(env_dbs.province).database).exists()  # type: ignore[arg-type]
    assert run(["host", "assess", "--host", "web-1", "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert "主机 web-1（应用服务器）" in out and "建议：保持" in out and "监测数据不足" in out
    assert run(["host", "list"]) == 0 and "web-1" in capsys.readouterr().out
    assert run(["host", "forget", "web-1"]) == 0 and run(["host", "forget", "web-1"]) == 2
    assert "is not registered" in capsys.readouterr().err
