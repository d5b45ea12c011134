"""Alerts reach a person: every channel against a real local receiver (HTTP robots and endpoint, an SMTP server),
once per cause and table-day, retried when a channel fails, never a secret or an ID number in the text."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from shaoxing_ops.alerts import Alert, ChannelConfigError, Notifier, channels_from_env
from shaoxing_ops.alerts.channels import dingtalk_sign
from shaoxing_ops.exchange import make_engine
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.operations.records import OperationsRecords

from .conftest import embedded_instance
from .receivers import http_receiver, smtp_receiver

SECRET = "SECd7f0c1a2b3"


def env_for(http, mail) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "SXOPS_DINGTALK_WEBHOOK": http.url("/dingtalk/robot/send?access_token=tok123"),
        "SXOPS_DINGTALK_SECRET": SECRET,
        "SXOPS_WECOM_WEBHOOK": http.url("/wecom/webhook/send?key=k456"),
        "SXOPS_SMTP_URL": f"smtp://alerts:pa%24s@127.0.0.1:{mail.port}",
        "SXOPS_ALERT_EMAIL_TO": "ops@sx.example, duty@sx.example",
        "SXOPS_ALERT_WEBHOOK": http.url("/hook"),
    }


@pytest.fixture
def store(tmp_path: Path) -> OperationsRecords:
    return OperationsRecords(make_engine(f"sqlite:///{tmp_path / 'ops.db'}")).ensure()


def test_dingtalk_signature_follows_the_robot_documentation() -> None:
    # Base64(HMAC-SHA256(secret, "timestamp\nsecret")), URL-encoded: computed here independently
    import base64
    import hashlib
    import hmac

    stamp = 1_700_000_000_000
    digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert dingtalk_sign(SECRET, stamp) == urllib.parse.quote_plus(base64.b64encode(digest))


def test_each_channel_delivers_one_message_once_per_cause_and_table_day(store: OperationsRecords) -> None:
    alerts = [
        Alert(
            "volume",
            "E_BASEINFO",
            "2026-03-11",
            "2026-03-11 省局下发 E_BASEINFO 企业基本信息：未下发",
            "严重",
        ),
        Alert(
            "freshness",
            "E_CANCEL",
            "2026-03-11",
            "2026-03-11 E_CANCEL：联系人 13812345678 身份证 330602199001011234",
            "警告",
        ),
    ]
    with http_receiver(dingtalk_secret=SECRET) as http, smtp_receiver() as mail:
        channels = channels_from_env(env_for(http, mail))
        assert [c.name for c in channels] == ["dingtalk", "wecom", "email", "webhook"]
        outcome = Notifier(channels, store).notify("数据交换告警", alerts)
        assert outcome.ok and outcome.sent == {"dingtalk": 2, "wecom": 2, "email": 2, "webhook": 2}
        (ding,) = http.at("/dingtalk/robot/send")
        assert http.refused == [] and ding.query["access_token"] == "tok123" and ding.query["sign"]
        assert ding.body["msgtype"] == "markdown" and "未下发" in ding.body["markdown"]["text"]
        (wecom,) = http.at("/wecom/webhook/send")
        assert "E_BASEINFO" in wecom.body["markdown"]["content"]
        (hook,) = http.at("/hook")
        assert [a["cause"] for a in hook.body["facts"]["alerts"]] == [
            "volume",
            "freshness",
        ]  # the worst first
        (message,) = mail.messages
        assert message["Subject"] == "【严重】数据交换告警" and mail.envelopes[0][1] == [
            "ops@sx.example",
            "duty@sx.example",
        ]
        body = message.get_content()
        for text in (
            body,
            ding.body["markdown"]["text"],
            wecom.body["markdown"]["content"],
            hook.body["text"],
        ):
            assert "13812345678" not in text and "330602199001011234" not in text  # masked
            assert "138****5678" in text and "pa$s" not in text and "tok123" not in text
        # the same alerts again (a re-run of the checks, the next tick): nothing more arrives anywhere
        again = Notifier(channels, store).notify("数据交换告警", alerts)
        assert again.sent == {} and again.skipped == {"dingtalk": 2, "wecom": 2, "email": 2, "webhook": 2}
        assert len(http.received) == 3 and len(mail.messages) == 1


def test_a_failing_channel_is_retried_later_and_never_raises(store: OperationsRecords) -> None:
    alert = Alert(
        "run_failed", "province_nightly|2026-03-11", "2026-03-11", "运行失败：作业 province_nightly"
    )
    with http_receiver() as http:
        hook = channels_from_env({"SXOPS_ALERT_WEBHOOK": http.url("/hook")})
        dead = channels_from_env({"SXOPS_WECOM_WEBHOOK": "http://127.0.0.1:9/cgi-bin/webhook/send?key=x"})
        notifier = Notifier([*dead, *hook], store, attempts=2, pause_seconds=0.01)
        first = notifier.notify("数据交换告警", [alert])
        assert (
            first.sent == {"webhook": 1}
            and "wecom" in first.failed
            and "Connection refused" in first.failed["wecom"]
        )
        http.fail_status = 500  # the endpoint goes down too: recorded, retried, not raised
        assert Notifier(hook, store, attempts=2, pause_seconds=0.01).notify("x", [alert]).sent == {}
        log = {(r["channel"], r["delivered"]) for r in store.alert_log()}
        assert log == {("wecom", False), ("webhook", True)}
        wecom = next(r for r in store.alert_log() if r["channel"] == "wecom")
        assert wecom["attempts"] == 1 and "Connection refused" in wecom["last_error"]


def test_misconfigured_channels_are_named_without_their_values() -> None:
    with pytest.raises(ChannelConfigError, match=r"^SXOPS_SMTP_URL: expected smtp://") as exc:
        channels_from_env({"SXOPS_SMTP_URL": "mailto:boss:s3cret@host", "SXOPS_ALERT_EMAIL_TO": "a@b"})
    assert "s3cret" not in str(exc.value)
    with pytest.raises(ChannelConfigError, match="SXOPS_ALERT_EMAIL_TO"):
        channels_from_env({"SXOPS_SMTP_URL": "smtp://host:25"})
    with pytest.raises(ChannelConfigError, match="SXOPS_DINGTALK_WEBHOOK: expected an http"):
        channels_from_env({"SXOPS_DINGTALK_WEBHOOK": "oapi.dingtalk.com/robot/send"})


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SXOPS_")}
    return subprocess.run(
        [sys.executable, "-m", "shaoxing_ops.cli", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_alert_test_command_sends_through_each_channel_and_fails_when_one_does(tmp_path: Path) -> None:
    with http_receiver(dingtalk_secret=SECRET) as http, smtp_receiver() as mail:
        env = {**env_for(http, mail), "SXOPS_DATA_DIR": str(tmp_path)}
        done = run_cli("alert", "test", env=env)
        assert done.returncode == 0, done.stderr
        assert [line.split(":")[0] for line in done.stdout.splitlines()] == [
            "[1/4] dingtalk",
            "[2/4] wecom",
            "[3/4] email",
            "[4/4] webhook",
        ]
        assert len(http.received) == 3 and len(mail.messages) == 1 and "测试" in mail.messages[0]["Subject"]
        only = run_cli("alert", "test", "--channel", "wecom", env=env)
        assert (
            only.returncode == 0
            and only.stdout.count("sent") == 1
            and len(http.at("/wecom/webhook/send")) == 2
        )
        http.fail_status = 502
        failing = run_cli("alert", "test", "--channel", "webhook", env=env)
        assert failing.returncode == 1 and "HTTP 502" in failing.stdout
    none = run_cli("alert", "test", env={"SXOPS_DATA_DIR": str(tmp_path)})
    assert none.returncode == 2 and none.stderr.startswith("error: no alert channel is configured")


def test_the_sensor_tells_of_failed_runs_and_escalations_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from shaoxing_ops.defs.ops.alerts import ops_alert_sensor
    from shaoxing_ops.defs.resources import Databases

    front = f"sqlite:///{tmp_path / 'front.db'}"
    databases = Databases(province_url=f"sqlite:///{tmp_path / 'province.db'}", front_url=front)
    ops = ExchangeRecords(make_engine(front)).ensure()
    ops.escalate(
        "province/registration/e_revoke",
        "2026-03-02",
        "检查 row_count 未通过；已自动重推 3 次仍未恢复，需人工处理",
        3,
    )
    with embedded_instance() as instance, http_receiver() as http:
        monkeypatch.setenv("SXOPS_ALERT_WEBHOOK", http.url("/hook"))
        run = dg.DagsterRun(
            job_name="province_nightly",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": "2026-03-02"},
        )
        instance.add_run(run)
        instance.report_run_failed(run)

        def tick(cursor: str | None) -> str | None:
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"databases": databases}
            ) as c:
                ops_alert_sensor(c)
                return c.cursor

        cursor = tick(None)
        (got,) = http.received
        causes = {(a["cause"], a["subject"], a["day"]) for a in got.body["facts"]["alerts"]}
        assert causes == {
            ("run_failed", "province_nightly|2026-03-02", "2026-03-02"),
            ("escalated", "province/registration/e_revoke", "2026-03-02"),
        }
        assert "运行失败：作业 province_nightly 分区 2026-03-02" in got.body["text"]
        assert "需人工处理" in got.body["text"] and got.body["severity"] == "严重"
        tick(cursor)  # the escalation is still open, the run still failed: nothing new to say
        again = dg.DagsterRun(
            job_name="province_nightly",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": "2026-03-02"},
        )
        instance.add_run(again)  # the run retried and failed again: the same cause, table and day
        instance.report_run_failed(again)
        tick(cursor)
        assert len(http.received) == 1


def test_a_whole_system_silent_for_a_day_is_one_alert(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    import dagster as dg

    from shaoxing_ops.defs.ops.alerts import check_alerts
    from shaoxing_ops.defs.province.assets import asset_key
    from shaoxing_ops.defs.resources import Databases
    from shaoxing_ops.exchange import ensure_table

    province = make_engine(f"sqlite:///{tmp_path / 'province.db'}")
    databases = Databases(
        province_url=f"sqlite:///{tmp_path / 'province.db'}", front_url=f"sqlite:///{tmp_path / 'f.db'}"
    )
    enforcement, registration = catalog.system("enforcement").tables, catalog.system("registration").tables
    for table in (*enforcement[:3], *registration[:2]):  # the province's tables exist, with nothing that day
        ensure_table(province, table)

    def silent(table, day: str) -> dg.AssetCheckEvaluation:  # type: ignore[no-untyped-def]
        return dg.AssetCheckEvaluation(
            asset_key=asset_key(table),
            check_name="volume",
            passed=False,
            metadata={"status": "silent"},
            partition=day,
            description="未下发：当日无任何变更，通常约 12 条",
        )

    with embedded_instance() as instance:
        for table in enforcement[:3]:
            instance.report_runless_asset_event(silent(table, "2026-03-18"))
        instance.report_runless_asset_event(
            silent(registration[0], "2026-03-18")
        )  # one table of another system
        alerts, cursor = check_alerts(instance, catalog, databases, None)
        got = sorted((a.cause, a.subject, a.day) for a in alerts)
        assert got == [
            ("system_silent", "enforcement", "2026-03-18"),
            ("volume", registration[0].name, "2026-03-18"),
        ]
        system = next(a for a in alerts if a.cause == "system_silent")
        assert "执法在线 整体未下发" in system.text and f"{len(enforcement)} 张表" in system.text
        assert check_alerts(instance, catalog, databases, cursor)[0] == []  # nothing new since the cursor


def test_daily_summary_goes_out_once_with_the_inspection_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import dagster as dg

    from shaoxing_ops.defs.ops.assets import inspection_sheet, resource_assessment
    from shaoxing_ops.defs.resources import Databases

    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    databases = Databases(
        front_url=f"sqlite:///{tmp_path / 'front.db'}",
        province_url=f"sqlite:///{tmp_path / 'p.db'}",
        bureau_url=f"sqlite:///{tmp_path / 'b.db'}",
    )
    day = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    with embedded_instance() as instance, http_receiver() as http:
        monkeypatch.setenv("SXOPS_ALERT_WEBHOOK", http.url("/hook"))
        for _ in range(2):  # the 09:30 job, then a re-run of it
            done = dg.materialize(
                [resource_assessment, inspection_sheet],
                instance=instance,
                partition_key=day,
                resources={"databases": databases},
            )
            assert done.success
        (got,) = http.received
        assert got.body["title"] == f"巡检日报 {day}：156 张表需关注" and got.body["severity"] == "警告"
        assert "交换表·日 156：成功 0，失败 0，未开始 156" in got.body["text"]
        assert "另有 146 张表需关注，详见巡检单" in got.body["text"]  # ten named, the rest counted
