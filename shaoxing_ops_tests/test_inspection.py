"""A day the province never delivers, found by its own day's `volume` check after one ranged run, shown on the
inspection sheet as 未下发, and told once to a person on every configured channel, however often it is re-run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.commands.runs import reconstructable_job
from shaoxing_ops.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from shaoxing_ops.defs.ops.alerts import ops_alert_sensor
from shaoxing_ops.defs.province.assets import asset_key
from shaoxing_ops.defs.resources import Databases
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.operations.records import OperationsRecords
from shaoxing_ops.reports import build

from .conftest import SIM_SCALE, SIM_SEED, Dbs, embedded_instance, simulate_into
from .receivers import http_receiver, smtp_receiver

FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 20)
SCALE = 2 * SIM_SCALE  # AN_BASEINFO then receives about 20 changes a working day: a day without is news
SILENT = dt.date(2026, 3, 18)  # a Wednesday
BUSY = "AN_BASEINFO"
ALSO = ("E_BASEINFO", "E_CANCEL")  # quieter tables loaded alongside: they must not alarm


def ranged_run(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dg.ExecuteJobResult:
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: FIRST.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: LAST.isoformat(),
    }
    with dg.execute_job(
        reconstructable_job("province_nightly"), instance, tags=tags, asset_selection=keys
    ) as result:
        assert result.success
        return result


def statuses(instance: dg.DagsterInstance, key: dg.AssetKey, check: str) -> dict[str, str]:
    infos = instance.event_log_storage.get_asset_check_partition_info([dg.AssetCheckKey(key, check)])
    return {i.partition_key: i.latest_execution_status.value for i in infos if i.partition_key}


def tick(instance: dg.DagsterInstance, dbs: Dbs, cursor: str | None) -> str | None:
    databases = Databases(province_url=dbs.province, front_url=dbs.front, bureau_url=dbs.bureau)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"databases": databases}) as ctx:
        ops_alert_sensor(ctx)
        return ctx.cursor


@pytest.fixture
def province(env_dbs: Dbs, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> Dbs:
    monkeypatch.setenv("SXOPS_VOLUME_SCALE", str(SCALE))
    simulate_into(env_dbs.province, catalog, FIRST, LAST, SCALE, SIM_SEED)
    table = catalog.table(BUSY)
    with env_dbs.engine("province").begin() as conn:  # the province never delivers that day's changes
        gone = conn.execute(
            sa.text(f"DELETE FROM {table.db_name} WHERE dsc_biz_timestamp >= :a AND dsc_biz_timestamp < :b"),
            {
                "a": dt.datetime.combine(SILENT, dt.time()),
                "b": dt.datetime.combine(SILENT, dt.time()) + dt.timedelta(days=1),
            },
        ).rowcount
    assert gone >= 10
    return env_dbs


@pytest.mark.slow
@pytest.mark.parametrize("dbs", ["sqlite"], indirect=True)
def test_a_day_never_delivered_fails_its_volume_check_shows_on_the_sheet_and_alerts_once(
    province: Dbs, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keys = [asset_key(catalog.table(n)) for n in (BUSY, *ALSO)]
    busy = keys[0]
    with embedded_instance() as instance:
        ranged_run(instance, keys)
        volume = statuses(instance, busy, "volume")
        days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range((LAST - FIRST).days + 1)]
        assert sorted(volume) == days  # every day of the range has its own result
        assert volume[str(SILENT)] == "FAILED"
        assert (
            volume[str(SILENT - dt.timedelta(days=1))]
            == volume[str(SILENT + dt.timedelta(days=1))]
            == "SUCCEEDED"
        )
        assert [d for d, s in volume.items() if s != "SUCCEEDED"] == [str(SILENT)]
        for key in keys[1:]:  # quiet tables never alarm
            assert set(statuses(instance, key, "volume").values()) == {"SUCCEEDED"}, key

        front = province.engine("front")
        exchange, operations = ExchangeRecords(front).ensure(), OperationsRecords(front).ensure()
        sheet = build.daily_sheet(instance, exchange, operations, SILENT)
        row = next(r for leg in sheet["legs"] for r in leg["rows"] if r["table"] == BUSY)
        assert (row["checks"]["volume"], row["delivery"], row["delivery_cn"]) == (
            "failed",
            "silent",
            "未下发",
        )
        assert row["status"] == "succeeded" and row["rows"]["read"] == 0 and row["source_rows"] == 0
        assert sheet["summary"]["not_delivered"] == 1
        html = build.write(sheet, f"巡检单_{SILENT}").html
        assert "未下发" in html.read_text(encoding="utf-8")
        before = next(
            r
            for leg in build.daily_sheet(instance, exchange, operations, SILENT - dt.timedelta(days=1))[
                "legs"
            ]
            for r in leg["rows"]
            if r["table"] == BUSY
        )
        assert (
            before["delivery"] == "" and before["checks"]["volume"] == "passed" and before["source_rows"] > 0
        )

        with http_receiver() as http, smtp_receiver() as mail:
            monkeypatch.setenv("SXOPS_DINGTALK_WEBHOOK", http.url("/dingtalk"))
            monkeypatch.setenv("SXOPS_WECOM_WEBHOOK", http.url("/wecom"))
            monkeypatch.setenv("SXOPS_ALERT_WEBHOOK", http.url("/hook"))
            monkeypatch.setenv("SXOPS_SMTP_URL", f"smtp://127.0.0.1:{mail.port}")
            monkeypatch.setenv("SXOPS_ALERT_EMAIL_TO", "ops@sx.example")
            cursor = tick(instance, province, None)
            for path in ("/dingtalk", "/wecom", "/hook"):
                (got,) = http.at(path)
                text = str(got.body)
                assert BUSY in text and str(SILENT) in text and "未下发" in text, text
            (hook,) = http.at("/hook")
            assert [(a["cause"], a["subject"], a["day"]) for a in hook.body["facts"]["alerts"]] == [
                ("volume", BUSY, str(SILENT))
            ]
            (message,) = mail.messages
            assert "未下发" in message.get_content() and BUSY in message.get_content()

            # a re-run of the range and the inspection: the check fails again, nobody is told twice
            ranged_run(instance, keys)
            assert statuses(instance, busy, "volume")[str(SILENT)] == "FAILED"
            tick(instance, province, cursor)
            tick(instance, province, None)  # even a sensor that lost its cursor
            assert len(http.received) == 3 and len(mail.messages) == 1
