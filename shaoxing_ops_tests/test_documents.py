"""The reports' Word and PDF copies, as the client signs them: opened with python-docx and pypdf, their pages
rendered with pdftoppm (kept as artifacts), Chinese glyphs required of every PDF."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import dagster as dg
import docx
import pytest
from docx.oxml.ns import qn
from pypdf import PdfReader

from shaoxing_ops import settings
from shaoxing_ops.exchange import make_engine
from shaoxing_ops.reports import build, documents

from .conftest import Demo, embedded_instance
from .test_reports import HOSTILE, PHONE, _hostile_ops
from .test_ui import ARTIFACTS, REQUIRE_UI

CONTRACTOR = "浙江某某信息技术有限公司"


@pytest.fixture(autouse=True)
def _printing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if documents.chromium() is None or not shutil.which("pdftoppm"):
        if REQUIRE_UI:
            pytest.fail(
                "SXOPS_REQUIRE_UI=1 but no Chromium or pdftoppm: .ci/run installs chromium and poppler-utils"
            )
        pytest.skip("no Chromium or pdftoppm here (apt-get install chromium poppler-utils fonts-noto-cjk)")
    monkeypatch.setenv("SXOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SXOPS_CONTRACTOR", CONTRACTOR)
    monkeypatch.setattr(build, "_now", lambda: dt.datetime(2026, 3, 9, 10, 0))


def _pages(pdf: Path, name: str, pages: list[int]) -> list[Path]:
    """The given pages rendered to PNG among the test artifacts (the person checking CI looks at them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = []
    for page in pages:
        stem = ARTIFACTS / f"{name}-p{page}"
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-f",
                str(page),
                "-l",
                str(page),
                "-png",
                "-singlefile",
                str(pdf),
                str(stem),
            ],
            check=True,
        )
        out.append(stem.with_suffix(".png"))
    return out


LOOK_ALIKES = str.maketrans({"戶": "户", "⻅": "见", "⻚": "页", "―": "—"})


def _norm(text: str) -> str:
    """Text as a PDF reader gives it back: Noto's CJK fonts map some characters to look-alike radicals (⽉ for
    月, ⻅ for 见), which NFKC and a few substitutions fold back (NFKC also makes （ and ： ASCII)."""
    return unicodedata.normalize("NFKC", text).translate(LOOK_ALIKES)


def _pdf_pages(path: Path) -> list[str]:
    return [_norm(p.extract_text()) for p in PdfReader(path).pages]


def _docx_text(document: docx.document.Document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _check_word(path: Path, title: str, contractor: str, landscape: bool, charts: int) -> str:
    """What the client's staff rely on in a Word copy; returns its text."""
    word = docx.Document(str(path))
    section = word.sections[0]
    assert sorted([round(section.page_width.cm, 1), round(section.page_height.cm, 1)]) == [21.0, 29.7]  # A4
    assert (section.page_width > section.page_height) == landscape
    assert [p.text for p in word.paragraphs if p.style.name == "Title"] == [title]
    text = _docx_text(word)
    assert (
        f"乙方（服务单位）：{contractor}" in text and "甲方（用户单位）：绍兴市市场监督管理局" in text
    )  # the cover
    assert 'w:instr="PAGE"' in section.footer.paragraphs[0]._p.xml
    assert section.different_first_page_header_footer  # no page number on the cover
    assert [p.text for p in word.paragraphs if p.style.name.startswith("Heading")]
    for style, font in (("Heading 1", "黑体"), ("Heading 2", "黑体"), ("Normal", "仿宋")):
        assert word.styles[style].element.rPr.rFonts.get(qn("w:eastAsia")) == font
    left, right = (c.text for c in word.tables[-1].rows[0].cells)  # the signature block comes last
    assert left.startswith("甲方确认：绍兴市市场监督管理局（盖章）") and "确认人（签字）" in left
    assert right.startswith(f"乙方：{contractor}（盖章）") and "日期" in right
    data = next(
        t for t in word.tables if t.rows[0].cells[0].text in ("日期", "表", "月份", "") and len(t.rows) > 2
    )
    first, second = (data.rows[i]._tr.find(qn("w:trPr")) for i in (0, 1))
    assert first.find(qn("w:tblHeader")) is not None  # repeated on every page
    assert second.find(qn("w:tblHeader")) is None and second.find(qn("w:cantSplit")) is not None
    assert len(word.inline_shapes) == charts
    return text


def _check_pdf(path: Path, title: str, contractor: str, name: str) -> str:
    """The PDF: cover, numbered pages, the signature block on the last page, Chinese glyphs; pages kept."""
    assert documents.has_cjk_font(path), documents.pdf_fonts(path)
    pages = _pdf_pages(path)
    assert len(pages) >= 3 and _norm(contractor) in pages[0] and _norm(title) in pages[0]
    assert "页" not in pages[0]  # the cover has no page number
    assert _norm(f"第 2 页，共 {len(pages)} 页") in pages[1].replace("\n", " ")
    assert "甲方确认" in pages[-1] and "乙方" in pages[-1] and _norm("确认人（签字）") in pages[-1]
    for png in _pages(path, name, [1, 2, len(pages)]):
        assert png.stat().st_size > 5_000  # drawn, not blank
    return "".join(pages)


def test_the_demos_reports_are_written_as_word_and_pdf(demo: Demo) -> None:
    """Each report kind of one demo as the client signs it: the inspection sheet, the weekly and monthly
    reports, the month's market-entity statistics."""
    assert demo.done.returncode == 0, demo.done.stdout[-2000:] + demo.done.stderr[-2000:]
    reports = demo.root / "data" / "reports"
    for folder, landscape in (("inspection", True), ("weekly", False), ("monthly", False)):
        (data,) = sorted((reports / folder).glob("*.json"))
        report = json.loads(data.read_text(encoding="utf-8"))
        charts = 0 if landscape else len(build.figures(report))
        docx_path, pdf_path = data.with_suffix(".docx"), data.with_suffix(".pdf")
        assert (os.stat(docx_path).st_mode & 0o777) == (os.stat(pdf_path).st_mode & 0o777) == 0o600
        _check_word(docx_path, report["title"], "运维服务单位", landscape, charts)
        _check_pdf(pdf_path, report["title"], "运维服务单位", f"report_{folder}_pdf")
        assert landscape or charts >= 2
    (html,) = (reports / "stats").glob("*/绍兴市市场主体发展情况_*.html")  # the month's statistics
    title = re.search(r"<title>(.*?)</title>", html.read_text(encoding="utf-8")).group(1)
    assert title.startswith("绍兴市市场主体发展情况（") and title.endswith("月）")
    text = _check_word(html.with_suffix(".docx"), title, "运维服务单位", False, 6)
    assert "其中：私营企业实有（户）" in text and "实有注册资本（亿元）" in text
    _check_pdf(html.with_suffix(".pdf"), title, "运维服务单位", "report_stats_pdf")


def test_word_and_pdf_show_hostile_text_as_text_and_mask_personal_data(tmp_path: Path) -> None:
    with embedded_instance() as instance:
        ops = _hostile_ops(make_engine(f"sqlite:///{tmp_path / 'ops.db'}"))
        weekly = build.period_report(instance, *ops, dt.date(2026, 3, 2), dt.date(2026, 3, 8), "weekly")
    copies = build.write(weekly, "周报_hostile").documents
    assert copies.missing == "" and copies.pdf is not None
    text = _check_word(copies.docx, weekly["title"], CONTRACTOR, False, len(build.figures(weekly)))
    assert HOSTILE in text and PHONE not in text and "138****5678" in text  # markup is only text in Word
    pdf_text = _check_pdf(copies.pdf, weekly["title"], CONTRACTOR, "report_hostile_pdf").replace("\n", "")
    assert _norm(HOSTILE) in pdf_text and PHONE not in pdf_text


def test_the_daily_sheets_table_repeats_its_header_on_every_pdf_page() -> None:
    rows = "".join(f"<tr><td>表{i}</td><td>{i}</td></tr>" for i in range(150))
    html = f"<html><body><h1>巡检</h1><table><tr><th>表名</th><th>行数</th></tr>{rows}</table></body></html>"
    pdf = documents.write_pdf(
        documents.with_header_groups(html), Path(os.environ["SXOPS_DATA_DIR"]) / "t.pdf"
    )
    pages = _pdf_pages(pdf)
    assert len(pages) >= 3 and all("表名" in page and "行数" in page for page in pages)
    assert (
        documents.with_header_groups("<table><tr><th>a</th></tr><tr><td>1</td></tr></table>").count("<thead>")
        == 1
    )


def test_a_pdf_printed_without_chinese_fonts_is_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a bare server every Chinese character prints blank; the copy says so rather than passing silently."""
    latin = next(
        (
            d
            for d in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
            if Path(d).is_dir()
        ),
        None,
    )
    if latin is None:
        pytest.skip("no Latin-only font folder to stand for a bare server")
    config = tmp_path / "fonts.conf"
    config.write_text(
        f'<?xml version="1.0"?><fontconfig><dir>{latin}</dir><cachedir>{tmp_path}/fc</cachedir></fontconfig>'
    )
    html = "<html><body><h1>数据交换运维周报</h1><p>本周运行正常。</p></body></html>"
    good = documents.write_documents(html, tmp_path / "with_fonts")
    assert good.missing == "" and documents.has_cjk_font(good.pdf)
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    bare = documents.write_documents(html, tmp_path / "bare")
    assert bare.pdf is not None and not documents.has_cjk_font(bare.pdf)
    assert "has no Chinese font" in bare.missing and "fonts-noto-cjk" in bare.missing


@pytest.mark.slow
def test_the_year_end_summary_of_the_demo_by_command_and_asset(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`report annual YEAR` on the demo's data: availability per leg from its table-days, the month's statistics
    delivered, Word and PDF with the signature block; the yearly asset writes the same figures."""
    assert demo.done.returncode == 0, demo.done.stdout[-2000:] + demo.done.stderr[-2000:]
    report_json = json.loads(
        next((demo.root / "data" / "reports" / "monthly").glob("*.json")).read_text("utf-8")
    )
    month_first = dt.date.fromisoformat(report_json["period"]["first"])
    month_days = len(report_json["daily"])
    year = month_first.year
    consult = [
        "consult",
        "add",
        "--on",
        str(month_first + dt.timedelta(days=2)),
        "--channel",
        "浙政钉",
        "--system",
        "全程电子化登记",
        "--question",
        "名称核准怎么办",
        "--minutes",
        "25",
    ]
    added = subprocess.run(
        [sys.executable, "-m", "shaoxing_ops.cli", *consult],
        cwd=demo.root,
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    done = subprocess.run(
        [sys.executable, "-m", "shaoxing_ops.cli", "report", "annual", str(year)],
        cwd=demo.root,
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{month_first:%Y-%m}: {month_days} days" in done.stdout  # progress month by month
    data = demo.root / "data" / "reports" / "annual" / f"运维服务年度总结_{year}.json"
    summary = json.loads(data.read_text(encoding="utf-8"))
    # the service year runs from the demo's first loaded day to yesterday, whatever today is
    first, last = (dt.date.fromisoformat(summary["period"][k]) for k in ("first", "last"))
    assert first == month_first and last == min(
        dt.date(year, 12, 31), settings.today() - dt.timedelta(days=1)
    )
    days = (last - first).days + 1
    for leg, tables in (("province", 142), ("bureau", 14)):
        figures = summary["legs"][leg]
        assert (figures["expected"], figures["healthy"]) == (
            tables * days,
            tables * month_days,
        )  # the demo's month
        assert figures["availability"] == round(100 * month_days / days, 2) and figures["failed"] == 0
    assert summary["statistics"]["delivered"] == [f"{month_first:%Y-%m}"]
    assert (summary["consultations"]["count"], summary["consultations"]["minutes"]) == (1, 25)
    assert summary["months"][0]["month"] == f"{month_first:%Y-%m}"
    _check_word(data.with_suffix(".docx"), summary["title"], "运维服务单位", False, 2)
    text = _check_pdf(data.with_suffix(".pdf"), summary["title"], "运维服务单位", "report_annual_pdf")
    assert _norm("验收确认") in text and _norm(f"{summary['legs']['province']['availability']:.2f}%") in text

    from shaoxing_ops.defs.ops.assets import annual_report
    from shaoxing_ops.defs.resources import Databases

    for name, value in demo.env.items():
        if name.startswith("SXOPS_") or name == "DAGSTER_HOME":
            monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.from_config(demo.env["DAGSTER_HOME"])
    result = dg.materialize(
        [annual_report], instance=instance, partition_key=str(year), resources={"databases": Databases()}
    )
    (event,) = result.asset_materializations_for_node("ops__annual_report")
    assert (
        event.metadata["province_availability_percent"].value == summary["legs"]["province"]["availability"]
    )
    assert event.metadata["pdf"].value.endswith(
        f"%E8%BF%90%E7%BB%B4%E6%9C%8D%E5%8A%A1%E5%B9%B4%E5%BA%A6%E6%80%BB%E7%BB%93_{year}.pdf"
    )


def test_charts_are_drawn_in_a_new_browser_when_kaleidos_dies(caplog: pytest.LogCaptureFixture) -> None:
    """The charts' browser killed under the report (as the out-of-memory killer would): the next chart is
    drawn in a new one, not lost with the report."""
    import base64

    import plotly.graph_objects as go
    import psutil

    figures = [
        go.Figure(go.Bar(x=["越城区", "柯桥区"], y=[3, 5]), layout={"title": f"图{i}"}) for i in range(2)
    ]
    assert len(documents.chart_images(figures[:1]) or []) == 1  # kaleido's browser is up in this process

    def browsers() -> set[int]:
        return {p.pid for p in psutil.Process().children(recursive=True) if "chrom" in p.name()}

    killed = browsers()
    assert killed
    for pid in killed:
        psutil.Process(pid).kill()
    psutil.wait_procs([psutil.Process(pid) for pid in killed if psutil.pid_exists(pid)], timeout=10)
    with caplog.at_level("WARNING", logger=documents.__name__):
        images = documents.chart_images(figures)
    assert images is not None and len(images) == 2
    for uri in images:
        assert base64.b64decode(uri.removeprefix("data:image/png;base64,"))[:8] == b"\x89PNG\r\n\x1a\n"
    ours = [r.getMessage().split(" failed")[0] for r in caplog.records if r.name == documents.__name__]
    assert ours == ["chart '图0'"]
    assert browsers() and not browsers() & killed
