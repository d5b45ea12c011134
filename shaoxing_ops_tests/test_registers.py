"""The contract's registers through the command line, into the inspection sheet and the reports, on SQLite,
PostgreSQL and MariaDB: hostile text stays text, personal data is masked, past periods read the state they had,
the sheet compares the day's exchange with the approved catalog applications, change requests are routed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shlex
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from docx import Document

from shaoxing_ops.catalog import Catalog
from shaoxing_ops.commands import feedback as feedback_commands
from shaoxing_ops.commands import registers as register_commands
from shaoxing_ops.exchange.opsdb import now_local
from shaoxing_ops.exchange.records import ExchangeRecords
from shaoxing_ops.operations import applications
from shaoxing_ops.operations.records import OperationsRecords
from shaoxing_ops.operations.registers import RegisterError, parse_day, split_list
from shaoxing_ops.reports import build
from shaoxing_ops.reports.registers import application_check, for_period

from .conftest import Dbs, embedded_instance
from .test_health import DAY2, Harness, province  # noqa: F401  (the fixture is used by name)

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE ops_feedback; --"
PHONE, ID_NUMBER = "13812345678", "330602199001011234"
PHONE_MASKED, ID_MASKED = "138****5678", "3306************34"


def run(argv: list[str] | str) -> int:
    """The command as typed (a string, split as a shell would) or as its arguments."""
    parser = argparse.ArgumentParser(prog="shaoxing-ops")
    sub = parser.add_subparsers(dest="command", required=True)
    feedback_commands.add_parsers(sub)
    register_commands.add_parsers(sub)
    args = parser.parse_args(shlex.split(argv) if isinstance(argv, str) else argv)
    return int(args.func(args))


@pytest.fixture
def instance():
    with embedded_instance() as inst:
        yield inst


def _week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def _text(html: str) -> str:
    """What a reader sees of a page: the tags dropped, entities left as they are."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_input_rules() -> None:
    today = dt.date(2026, 3, 10)
    assert parse_day("2026-03-05", "日期", today) == dt.date(2026, 3, 5)
    for typed in ("20260305", "2026-W10-4", "2026/03/05", "5 March", "", "2026-02-30"):
        with pytest.raises(RegisterError, match="请按 YYYY-MM-DD 填写") as caught:
            parse_day(typed, "日期", today)
        assert "\n" not in str(caught.value)
    with pytest.raises(RegisterError, match="晚于今天"):
        parse_day("2026-03-11", "日期", today)
    assert split_list("E_BASEINFO，e_cancel、E_BASEINFO  E_PRI_PERSON;") == [
        "E_BASEINFO",
        "e_cancel",
        "E_PRI_PERSON",
    ]
    assert [applications.status(s) for s in ("approved", "批准", "已驳回", "下发")] == [
        "已批准",
        "已批准",
        "已驳回",
        "已下发",
    ]
    with pytest.raises(RegisterError, match=r"E_NOPE.*不在目录中.*shaoxing-ops tables"):
        applications.catalog_tables("E_BASEINFO,E_NOPE")


def test_every_register_round_trips_hostile_text_into_the_weekly_report(
    env_dbs: Dbs, instance, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    today = now_local().date()
    day, q = today.isoformat(), shlex.quote
    # 编目数据申请
    assert run(f"application add --tables E_FOO,e_baseinfo --applied-on {day} --applicant x") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'E_FOO' 不在目录中" in err and "shaoxing-ops tables" in err
    assert run(f"application add --tables E_CANCEL --applied-on {today:%Y/%m/%d} --applicant x") == 2
    assert "请按 YYYY-MM-DD 填写" in capsys.readouterr().err
    assert (
        run(
            f"application add --tables 'e_baseinfo, E_CANCEL' --applied-on {day} "
            f"--applicant {q('市局数据办' + SCRIPT)} --note {q(f'联系 {PHONE} {SQL}')}"
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "E_BASEINFO、E_CANCEL" in out and SCRIPT in out and "申请中" in out
    assert PHONE not in out and PHONE_MASKED in out
    assert run("application update 1 --status 已批准") == 2
    assert "须注明日期" in capsys.readouterr().err
    assert run(f"application update 1 --status approved --on {day}") == 0
    assert "已批准" in capsys.readouterr().out
    # 安全通报与补丁
    assert (
        run(
            f"notice add --no {q('绍市监信〔2026〕7号' + SCRIPT)} --received-on {day} --hosts app-1,db-1 "
            f"--items CVE-2024-6387,openssh-server --note {q(SQL)}"
        )
        == 0
    )
    assert (
        run(f"notice update 1 --patched openssh-server --host app-1 --on {day} --by {q('运维' + SCRIPT)}")
        == 0
    )
    assert run(f"notice update 1 --patched nginx --on {day}") == 2
    assert "nginx 不在通报" in capsys.readouterr().err
    assert run("notice list --open") == 0
    out = capsys.readouterr().out
    assert "处理中" in out and SCRIPT in out and "db-1: CVE-2024-6387、openssh-server" in out
    # 技术咨询
    question = f"{SCRIPT} 身份证 {ID_NUMBER} 的主体怎么变更"
    assert (
        run(
            f"consult add --on {day} --channel qq --system 全程电子化登记 --question {q(question)} "
            f"--answer {q(SQL)} --minutes 15 --asker 张三 --contact {PHONE}"
        )
        == 0
    )
    assert (
        run(f"consult add --on {day} --channel 钉钉 --system 执法在线 --question 案件怎么移送 --minutes 20")
        == 0
    )
    assert (
        run(f"consult add --on {day} --channel 电话 --system 食安 --question q --minutes 'half an hour'") == 2
    )
    assert "整数分钟数" in capsys.readouterr().err
    assert run("consult update 2 --answer 在案件移送菜单操作 --by '运维 王工'") == 0
    assert run("consult list") == 0
    out = capsys.readouterr().out
    assert SCRIPT in out and ID_NUMBER not in out and PHONE not in out and PHONE_MASKED in out
    assert "共 2 次，用时 35 分钟（浙政钉 1 次；QQ 1 次）" in out
    # 问题反馈单
    assert (
        run(
            f"feedback add --system 执法在线 --channel 浙政钉 --reporter {q('陈工' + SCRIPT)} --contact {PHONE} "
            f"--description {q(f'希望增加导出按钮 {SCRIPT} {SQL}')} --type 需求 --severity 紧急"
        )
        == 0
    )
    assert "需求变更须提交市局" in capsys.readouterr().out
    assert run("feedback list --unsent") == 0
    out = capsys.readouterr().out
    assert "需求变更  紧急" in out and "待报送市局" in out and PHONE not in out

    ops = OperationsRecords(env_dbs.engine("front")).ensure()
    first, last = _week_of(today)
    report = build.period_report(instance, ExchangeRecords(ops.engine), ops, first, last, "weekly")
    registers = report["registers"]
    assert registers["consultations"]["count"] == 2 and registers["consultations"]["minutes"] == 35
    assert {x["name"]: x["minutes"] for x in registers["consultations"]["by_system"]} == {
        "全程电子化登记": 15,
        "执法在线": 20,
    }
    assert registers["notices"]["received"] == 1 and registers["notices"]["open_at_end"] == 1
    assert [x["status_then"] for x in registers["applications"]["items"]] == ["已批准"]
    assert [i["kind"] for i in registers["change_requests_unsent"]] == ["需求变更"]
    html = build.render(report)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#39;; DROP TABLE ops_feedback; --" in html
    assert PHONE not in html and ID_NUMBER not in html and ID_MASKED in html
    data = json.dumps(report, ensure_ascii=False, default=str)
    assert PHONE not in data and ID_NUMBER not in data
    text = _text(html)
    for heading in ("六、安全通报与补丁", "七、技术咨询", "八、编目数据申请", "九、确认"):
        assert heading in text
    assert "答复技术咨询 2 次，合计用时 35 分钟" in text and "需求变更待报送市局 1 条" in text
    assert "app-1：openssh-server（" in text and "db-1：CVE-2024-6387、openssh-server" in text

    # the printable 应用系统问题反馈单, as HTML and, through the reports' documents, as Word and PDF
    code = run(["feedback", "print", "1", "--out", str(tmp_path / "forms")])
    out, err = capsys.readouterr()
    written = [Path(line) for line in out.split()]
    assert [p.name for p in written][:2] == ["问题反馈单_0001.html", "问题反馈单_0001.docx"]
    assert code == (1 if err else 0) and all((p.stat().st_mode & 0o777) == 0o600 for p in written)
    page = written[0].read_text(encoding="utf-8")
    assert SCRIPT not in page and "&lt;script&gt;" in page and PHONE not in page and PHONE_MASKED in page
    assert "需求变更，待提交市局" in _text(page) and "登记人（签字）" in page and "甲方确认" in page
    word = Document(str(written[1]))
    cells = " ".join(c.text for t in word.tables for r in t.rows for c in r.cells)
    assert f"希望增加导出按钮 {SCRIPT}" in cells and PHONE_MASKED in cells and PHONE not in cells
    # nothing hostile was ever SQL: every table still there, every row readable
    reg = ops.tables
    with ops.engine.connect() as conn:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (reg.feedback, reg.applications, reg.notices, reg.notice_patches, reg.consultations)
        ]
    assert counts == [1, 1, 1, 1, 2]


def test_a_notice_reads_open_in_the_month_it_stood_open_and_closed_in_the_month_it_was_confirmed(
    env_dbs: Dbs, instance, capsys
) -> None:  # type: ignore[no-untyped-def]
    """Received and half patched in March, the rest patched and confirmed in April: March's report shows it open
    with what was left then, April's closed, May's not at all. The register's part of the reports is checked on
    every backend; the whole monthly reports are built on SQLite (their exchange part reads the Dagster instance,
    the same whatever the ops store, and takes ~20 s a month)."""
    ops = OperationsRecords(env_dbs.engine("front")).ensure()
    assert (
        run(
            "notice add --no 绍市监信〔2026〕3号 --received-on 2026-03-10 --hosts app-1 "
            '--items "CVE-2024-6387, openssh-server"'
        )
        == 0
    )
    assert run("notice update 1 --patched openssh-server --on 2026-03-20 --by 王工") == 0
    assert run("notice update 1 --patched CVE-2024-6387 --on 2026-04-02") == 0
    assert run('notice update 1 --confirmed-by "市局 赵科长" --on 2026-04-06') == 0
    assert run('notice update 1 --confirmed-by "市局 赵科长" --on 2026-04-07') == 2
    assert "不能重复确认" in capsys.readouterr().err
    assert run("notice list --as-of 2026-03-31") == 0
    assert "处理中" in capsys.readouterr().out

    months = {m: (dt.date(2026, m, 1), dt.date(2026, m + 1, 1) - dt.timedelta(days=1)) for m in (3, 4, 5)}
    parts, hosts = {}, {}
    for month, (first, last) in months.items():
        hosts[month] = [{"assessment": {"host": "app-1"}, "patches": None}]
        parts[month] = for_period(ops, first, last, hosts[month])["notices"]
    (m,), (a,) = parts[3]["notices"], parts[4]["notices"]
    assert (m["state"], m["open"], m["remaining"], m["confirmed_on"]) == (
        "处理中",
        True,
        {"app-1": ["CVE-2024-6387"]},
        None,
    )
    assert [p["item"] for p in m["patches"]] == ["openssh-server"]  # April's patch is not known in March
    assert (a["state"], a["open"], a["confirmed_by"], a["remaining"]) == ("已确认", False, "市局 赵科长", {})
    assert [(x["open_at_end"], x["received"], x["confirmed"], x["patches"]) for x in parts.values()] == [
        (1, 1, 0, 1),
        (0, 0, 1, 1),
        (0, 0, 0, 0),
    ]
    assert [(n["notice_no"], n["remaining"]) for n in hosts[3][0]["notices"]] == [
        ("绍市监信〔2026〕3号", ["CVE-2024-6387"])
    ]
    assert hosts[4][0]["notices"] == [] and parts[5]["notices"] == []

    if env_dbs.kind != "sqlite":
        return
    for at in (dt.datetime(2026, 3, 31, 20), dt.datetime(2026, 4, 30, 20)):  # app-1 reports in both months
        for minutes in range(0, 120, 10):
            sample = {"cpu_percent": 20.0, "memory_percent": 40.0}
            ops.record_metrics("app-1", sample, at=at + dt.timedelta(minutes=minutes))
        ops.register_host("app-1", "app", at=at)
    exchange = ExchangeRecords(ops.engine)
    march, april = (build.period_report(instance, exchange, ops, *months[m], "monthly") for m in (3, 4))
    assert (
        [h["assessment"]["host"] for h in march["hosts"]]
        == ["app-1"]
        == [h["assessment"]["host"] for h in april["hosts"]]
    )
    march_text, april_text = _text(build.render(march)), _text(build.render(april))
    assert (
        "安全通报：绍市监信〔2026〕3号（ 处理中 ，2026-03-10 收到，本机待安装 CVE-2024-6387）" in march_text
    )
    assert "期末未关闭 1 份" in march_text and "市局 赵科长" not in march_text
    assert "安全通报：无未关闭的通报" in april_text and "市局 赵科长 2026-04-06 已确认" in april_text
    assert "期末未关闭 0 份" in april_text


def test_change_requests_are_listed_until_sent_to_the_city_bureau_and_old_rows_keep_working(
    dbs: Dbs, instance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A feedback table made before type, severity and routing existed gains them in place; its rows read as
    未分类 until classified."""
    engine = dbs.engine("front")
    ops = OperationsRecords(engine).ensure()
    quote = engine.dialect.identifier_preparer
    old = ops.add_feedback(system="食安", channel="电话", reporter="李四", description="旧版本登记的问题")
    with engine.begin() as conn:
        for column in ("kind", "severity", "sent_to", "sent_on"):
            conn.exec_driver_sql(
                f"ALTER TABLE {quote.format_table(ops.tables.feedback)} DROP COLUMN {quote.quote(column)}"
            )
    monkeypatch.setenv("SXOPS_FRONT_URL", dbs.front)
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    assert run("feedback list") == 0  # the next version's store adds the columns back, empty
    out = capsys.readouterr().out
    assert "未分类" in out and "旧版本登记的问题" in out
    assert run(f"feedback update {old} --type bug --severity 高") == 0
    assert "缺陷，严重" in capsys.readouterr().out

    assert (
        run(
            "feedback add --system 全程电子化登记 --channel 微信 --reporter '柯桥区局 陈工' "
            "--description 名称自主申报增加行业表述 --type 需求变更"
        )
        == 0
    )
    change = old + 1
    today = now_local().date()
    first, last = _week_of(today)

    def unsent() -> list[int]:
        report = build.period_report(
            instance, ExchangeRecords(engine), OperationsRecords(engine), first, last, "weekly"
        )
        html = _text(build.render(report))
        listed = [i["id"] for i in report["registers"]["change_requests_unsent"]]
        assert f"需求变更待报送市局 {len(listed)} 条" in html  # the overview
        section = html[html.index("需求变更待报送市局（截至期末") : html.index("六、安全通报与补丁")]
        assert ("名称自主申报增加行业表述" in section) == bool(listed)
        return listed

    assert unsent() == [change]
    assert run(f"feedback route {change} --to 省局 --sent-on {today}") == 2
    assert "需求变更须提交市局" in capsys.readouterr().err
    assert run(f"feedback route {change} --sent-on yesterday") == 2
    assert "请按 YYYY-MM-DD 填写" in capsys.readouterr().err
    assert run(f"feedback route {change} --to 市市监局 --sent-on {today}") == 0
    assert f"已登记于 {today} 报送市局" in capsys.readouterr().out
    assert run(f"feedback route {change} --sent-on {today}") == 2
    assert "不能重复报送" in capsys.readouterr().err
    assert unsent() == []
    assert run(f"feedback update {change} --type 缺陷") == 2  # sent as a change request, it stays one
    assert "不能再改类型" in capsys.readouterr().err
    assert run(f"feedback route {old} --to province --sent-on {today}") == 0  # a defect, to the province
    items = {i["id"]: i for i in OperationsRecords(engine).feedback_items()}
    assert (items[old]["kind"], items[old]["sent_to"], items[change]["sent_to"]) == ("缺陷", "省局", "市局")


def test_the_sheet_flags_exchange_without_approval_and_approvals_without_data(
    province: Dbs,  # noqa: F811
    catalog: Catalog,
    instance: dg.DagsterInstance,
) -> None:
    """E_PRI_PERSON approved and delivered: quiet. E_BASEINFO exchanged while its application is still 申请中 on
    the day (approved three days later): flagged. E_CANCEL approved but the province has sent none of its rows:
    flagged. E_ALTER_RECODER has no application but was not exchanged that day: not this check's business."""
    reg = OperationsRecords(province.engine("front")).ensure()
    approved = applications.add(
        reg,
        tables="E_PRI_PERSON,E_CANCEL",
        applied_on="2026-02-20",
        applicant="市市监局数据管理办公室",
        approved_on="2026-02-25",
    )
    pending = applications.add(reg, tables="E_BASEINFO", applied_on="2026-02-26", applicant=SCRIPT)
    applications.update(reg, pending, approved_on="2026-03-05")
    cancel = catalog.table("E_CANCEL")
    with province.engine("province").begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {cancel.db_name}"))  # the province delivers none of it yet
    harnesses = [Harness(province, catalog, instance, n) for n in ("E_PRI_PERSON", "E_BASEINFO", "E_CANCEL")]
    assert dg.materialize(
        [x for h in harnesses for x in (h.asset, h.checks)],
        instance=instance,
        partition_key=DAY2.isoformat(),
        resources={"databases": harnesses[0].databases},
    ).success

    sheet = build.daily_sheet(instance, ExchangeRecords(reg.engine), reg, DAY2)
    check = sheet["registers"]["applications"]
    assert [(t["table"], t["reason"]) for t in check["unapproved"]] == [
        ("E_BASEINFO", f"申请 #{pending}（2026-02-26 申请）申请中")
    ]
    assert [(t["table"], t["application"], t["status"]) for t in check["not_arriving"]] == [
        ("E_CANCEL", approved, "已批准")
    ]
    assert (check["applications"], check["approved_tables"]) == (2, 2)
    html = build.render(sheet)
    text = _text(html)
    assert "1 张编目表当日有交换，但无已批准的编目数据申请" in text
    assert "1 张编目表的申请已批准，前置库尚无数据" in text
    section = text[text.index("编目数据申请核对 已登记申请") : text.index("主机资源评估 ")]
    assert "E_BASEINFO" in section and "E_CANCEL" in section
    assert "E_PRI_PERSON" not in section and "E_ALTER_RECODER" not in section
    assert SCRIPT not in html
    # on the day it was approved, E_BASEINFO is no longer flagged (as of that day, not as of today)
    later = registers_check(reg, dt.date(2026, 3, 5), sheet)
    assert [t["table"] for t in later["unapproved"]] == []


def registers_check(reg: OperationsRecords, day: dt.date, sheet: dict) -> dict:  # type: ignore[type-arg]
    """The sheet's application check of the same loads, as if made on ``day``."""
    from shaoxing_ops.reports.collect import TableDay

    rows = []
    for leg in sheet["legs"]:
        for r in leg["rows"]:
            fields = {k: v for k, v in r.items() if k in TableDay.__dataclass_fields__}
            rows.append(TableDay(**fields))
    return application_check(reg, day, rows)
