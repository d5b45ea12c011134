"""Word (.docx) and PDF copies of a report, both made from the report's print HTML.

The HTML template stays the one description of what a report says; the copies differ only in form.

- PDF: headless Chromium prints the HTML with the print CSS of ``_style.html.j2`` (A4, page numbers in the
  bottom margin, a table's header row repeated on every page, no row cut by a page break). The page is our own
  file; Chromium is told to resolve no host, so nothing leaves the machine.
- Word: the HTML's blocks mapped to python-docx one by one (A4, 仿宋 body and 黑体 headings as Chinese
  government documents use, page numbers in the footer, a cover page, header rows repeated and rows kept whole,
  charts as PNG pictures, the signature block kept together).

Both need Chromium: for the PDF to print and for the charts (plotly's kaleido draws them in it). Without one the
Word copy is written with a line in place of each chart and no PDF is written; ``Documents.missing`` says why.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import lxml.html
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from markupsafe import Markup

from shaoxing_ops.files import OWNER_ONLY

log = logging.getLogger(__name__)

BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PRINT_TIMEOUT_SECONDS = 180
CHART_ATTEMPTS = 3  # a chart's tries, each after the first in a new browser (``chart_images``)
PRINT_FLAGS = (
    "--headless",
    "--no-sandbox",  # the page is our own file; the sandbox needs user namespaces a server may not give
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing on the page may fetch from anywhere
    "--no-pdf-header-footer",  # page numbers come from the page's own @page rules
)
INSTALL_HINT = "install Chromium (Debian: apt-get install chromium fonts-noto-cjk) or set SXOPS_CHROMIUM"
FONT_HINT = "install a CJK font (Debian: apt-get install fonts-noto-cjk) and write the report again"


class DocumentError(RuntimeError):
    """A copy could not be written; the message names the file and the cause."""


@dataclass(frozen=True)
class Documents:
    docx: Path
    pdf: Path | None
    missing: str = ""  # why the PDF or the charts are missing, empty when both are there


def chromium() -> str | None:
    """The Chromium to use: ``SXOPS_CHROMIUM`` or the first of the usual names on the PATH."""
    configured = os.environ.get("SXOPS_CHROMIUM", "").strip()
    if configured:
        return configured if Path(configured).exists() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


@cache
def _kaleido_server() -> bool:
    """Start kaleido's browser once per process (the first chart costs ~6 s, the next ~0.4 s each)."""
    import atexit

    import kaleido

    browser = chromium()
    if browser:
        os.environ.setdefault("BROWSER_PATH", browser)  # where choreographer looks first
    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)
    return True


def _restart_kaleido() -> None:
    import kaleido

    kaleido.stop_sync_server(silence_warnings=True)
    kaleido.start_sync_server(silence_warnings=True)


def _png(fig: Any, width: int) -> bytes:
    with warnings.catch_warnings():  # plotly warns that kaleido's server ignores per-call options
        warnings.simplefilter("ignore", UserWarning)
        return bytes(fig.to_image(format="png", width=width, height=int(fig.layout.height or 400), scale=2))


def chart_images(figures: list[Any], width: int = 1000) -> list[str] | None:
    """Each plotly figure as a PNG data URI, or None when no Chromium can draw them.

    A chart the browser fails to draw is drawn again in a new browser, up to ``CHART_ATTEMPTS`` times in all:
    kaleido's page can report its scripting context before its script has run, which a busy machine shows
    ("kaleido_scopes is not defined", 1 run in 12 with the two cores loaded three times over), and a browser
    can die under the process that started it (killed, out of memory).
    """
    if not figures:
        return []
    if chromium() is None:
        return None
    from choreographer.errors import BrowserClosedError, ChannelClosedError, DevtoolsProtocolError
    from kaleido.errors import JavascriptError

    failures = (JavascriptError, DevtoolsProtocolError, ChannelClosedError, BrowserClosedError)

    _kaleido_server()
    out = []
    for fig in figures:
        for attempt in range(1, CHART_ATTEMPTS + 1):
            try:
                png = _png(fig, width)
                break
            except failures as exc:
                if attempt == CHART_ATTEMPTS:
                    raise
                log.warning(
                    "chart %r failed in kaleido's browser (%s); drawing it again in a new one",
                    _title(fig),
                    str(exc)[:200],
                )
                _restart_kaleido()
        out.append("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
    return out


def _title(fig: Any) -> str:
    return str(fig.layout.title.text or "")


def chart_fragments(figures: list[Any], for_print: bool = False) -> list[Markup]:
    """Figures as HTML fragments: interactive (the page embeds plotly.js once), or for print as PNG images
    (an image without a source where no Chromium can draw them; the Word copy puts a line in its place)."""
    if not for_print:
        return [Markup(fig.to_html(full_html=False, include_plotlyjs=False)) for fig in figures]
    titles = [_title(fig) for fig in figures]
    images = chart_images(figures)
    if images is None:
        return [Markup('<img class="chart" alt="{}">').format(t) for t in titles]
    return [
        Markup('<img class="chart" src="{}" alt="{}">').format(i, t)
        for i, t in zip(images, titles, strict=True)
    ]


def _private(path: Path) -> Path:
    os.chmod(path, OWNER_ONLY)
    return path


def write_pdf(html: str, path: Path) -> Path:
    """Print ``html`` to ``path`` with headless Chromium; the target is replaced only by a complete file."""
    browser = chromium()
    if browser is None:
        raise DocumentError(f"cannot print {path.name}: no Chromium found; {INSTALL_HINT}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sxops-print-") as scratch:
        page = Path(scratch) / "page.html"
        page.write_text(html, encoding="utf-8")
        out = Path(scratch) / "out.pdf"
        command = [browser, *PRINT_FLAGS, f"--user-data-dir={scratch}/profile", f"--print-to-pdf={out}"]
        command.append(page.as_uri())
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise DocumentError(
                f"Chromium did not finish printing {path.name} in {PRINT_TIMEOUT_SECONDS} s"
            ) from None
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise DocumentError(f"Chromium could not print {path.name} (exit {done.returncode}): {last}")
        final = Path(shutil.move(out, path.with_suffix(".pdf.part")))
        os.replace(final, path)
    return _private(path)


def with_header_groups(html: str) -> str:
    """Each table's leading header rows moved into a ``<thead>``: Chromium repeats a thead on every page."""
    root = lxml.html.document_fromstring(html)
    for table in root.iter("table"):
        if table.find("thead") is not None:
            continue
        rows = list(table.iter("tr"))
        leading = []
        for tr in rows:
            cells = [c for c in tr if c.tag in ("th", "td")]
            if not cells or any(c.tag != "th" for c in cells):
                break
            leading.append(tr)
        if not leading or len(leading) == len(rows):
            continue
        head = lxml.html.Element("thead")
        table.insert(0, head)
        for tr in leading:
            tr.getparent().remove(tr)
            head.append(tr)
    return lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


def pdf_fonts(path: Path) -> set[str]:
    """The names of the fonts a PDF embeds (subset prefixes removed): Chromium writes CJK OpenType fonts as
    Type 3 fonts whose name is only in their descriptor."""
    from pypdf import PdfReader

    names: set[str] = set()
    for page in PdfReader(path).pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for ref in fonts.values():
            font = ref.get_object()
            for f in [font, *(d.get_object() for d in font.get("/DescendantFonts") or [])]:
                descriptor = f.get("/FontDescriptor")
                for name in (
                    f.get("/BaseFont"),
                    descriptor.get_object().get("/FontName") if descriptor else None,
                ):
                    if name:
                        names.add(str(name).lstrip("/").split("+", 1)[-1])
    return names


CJK_FONT = re.compile(
    r"CJK|Hei|Song|Fang|Kai|Ming|WenQuanYi|wqy|DroidSansFallback|SourceHan|YaHei|PingFang", re.I
)
HAN = re.compile(r"[\u4e00-\u9fff]")


def has_cjk_font(path: Path) -> bool:
    """Whether the PDF embeds a Chinese font; without one every Chinese character prints blank or as a box."""
    return any(CJK_FONT.search(name) for name in pdf_fonts(path))


def write_documents(html: str, stem: Path) -> Documents:
    """``stem.docx`` and ``stem.pdf`` from the print HTML of a report."""
    docx_path = write_docx(html, stem.with_suffix(".docx"))
    if chromium() is None:
        return Documents(docx_path, None, f"no PDF and no charts in the Word copy: {INSTALL_HINT}")
    pdf = write_pdf(with_header_groups(html), stem.with_suffix(".pdf"))
    if HAN.search(html) and not has_cjk_font(pdf):
        return Documents(
            docx_path, pdf, f"{pdf.name} has no Chinese font, its Chinese prints blank: {FONT_HINT}"
        )
    return Documents(docx_path, pdf)


# --- Word ---------------------------------------------------------------------------------------------------

BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "table", "ul", "ol", "img", "section", "body", "br"}
SKIPPED = {"script", "style", "head", "title", "meta"}
RED = RGBColor(0xC5, 0x30, 0x30)
AMBER = RGBColor(0xB7, 0x79, 0x1F)
GREEN = RGBColor(0x1E, 0x7B, 0x34)
GREY = RGBColor(0x52, 0x60, 0x6D)
COLOURS = {"bad": RED, "warn": AMBER, "ok": GREEN, "muted": GREY, "sub": GREY}
SIZES = {"h1": 20, "h2": 15, "h3": 13, "h4": 12}  # 二号-ish title, 小三, 四号 headings
BODY_PT, TABLE_PT, SMALL_PT = 12, 9, 10.5
TABLE_STYLE = "表格文字"
CHART_WIDTH = Cm(16)
_SPACE = re.compile(r"\s+")


def _classes(el: Any) -> set[str]:
    return set((el.get("class") or "").split())


def _set_font(rpr_owner: Any, name: str) -> None:
    """Set a style's or run's font for East Asian and Latin text alike (Word keeps them apart)."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    for attr in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), LATIN_FONT if name == BODY_FONT else name)


def _page_number_footer(section: Any) -> None:
    """ "— 3 —" centred in the footer, as in government documents."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run(" —")


def _repeat_header(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:tblHeader"))


def _keep_row_whole(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))


def _shade(cell: Any, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _narrow_margins(table: Table, twips: int = 45) -> None:
    """Cell margins of 0.08 cm instead of Word's 0.19 cm: a two-character column then fits its text."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(twips))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.append(margins)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _new_document() -> Any:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
    section.top_margin, section.bottom_margin = Cm(3.0), Cm(2.8)
    section.left_margin, section.right_margin = Cm(2.6), Cm(2.4)
    section.different_first_page_header_footer = True  # the cover carries no page number
    _page_number_footer(section)
    normal = document.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    _set_font(normal.element, BODY_FONT)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.25
    for level in (1, 2, 3):
        style = document.styles[f"Heading {level}"]
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.bold = level == 1
        style.font.size = Pt(SIZES[f"h{level + 1}"])
        _set_font(style.element, HEADING_FONT)
        style.paragraph_format.keep_with_next = True
    cells = document.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cells.base_style = normal
    cells.font.size = Pt(TABLE_PT)
    cells.paragraph_format.space_after = Pt(0)
    cells.paragraph_format.line_spacing = 1.0
    title = document.styles["Title"]
    title.font.size, title.font.color.rgb = Pt(SIZES["h1"]), RGBColor(0, 0, 0)
    _set_font(title.element, HEADING_FONT)
    return document


class _Word:
    """Walks the print HTML and writes each block into one python-docx document."""

    def __init__(self) -> None:
        self.doc = _new_document()
        self.chart_width = CHART_WIDTH

    def landscape(self) -> None:
        """Wide tables (the inspection sheet's 17 columns) on A4 turned sideways."""
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
        self.chart_width = Cm(22)

    # blocks
    def walk(self, el: Any) -> None:
        pending: list[Any] = []
        if el.text and el.text.strip():
            pending.append(el.text)
        for child in el:
            if _skipped(child):
                pass
            elif child.tag in BLOCKS:
                self.paragraph(pending)
                pending = []
                if child.tag != "br":
                    self.block(child)
            else:
                pending.append(child)
            if child.tail and child.tail.strip():
                pending.append(child.tail)
        self.paragraph(pending)

    def block(self, el: Any) -> None:
        tag, classes = el.tag, _classes(el)
        if "cover" in classes:
            self.cover(el)
        elif "cards" in classes:
            self.cards(el)
        elif "sign" in classes:
            self.signature(el)
        elif tag == "h1":
            paragraph = self.doc.add_paragraph(_text(el), style="Title")
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif tag in ("h2", "h3", "h4"):
            self.doc.add_heading(_text(el), level=int(tag[1]) - 1)
        elif tag == "table":
            self.table(el)
        elif tag in ("ul", "ol"):
            for item in el.findall("li"):
                paragraph = self.doc.add_paragraph(style="List Bullet" if tag == "ul" else "List Number")
                self.inline(paragraph, item, _format(item))
        elif tag == "img":
            self.image(el)
        elif tag == "p" or (tag == "div" and not any(isinstance(c.tag, str) and c.tag in BLOCKS for c in el)):
            paragraph = self.doc.add_paragraph()
            self.inline(paragraph, el, _format(el))
        else:
            self.walk(el)

    def paragraph(self, pieces: list[Any]) -> None:
        if not pieces:
            return
        paragraph = self.doc.add_paragraph()
        for piece in pieces:
            if isinstance(piece, str):
                _run(paragraph, piece, {})
            else:
                self.inline(paragraph, piece, _format(piece), own_tail=False)

    def inline(self, paragraph: Paragraph, el: Any, fmt: dict[str, Any], own_tail: bool = False) -> None:
        """The text of ``el`` and its inline children into ``paragraph``, keeping bold and colour."""
        if "sub" in _classes(el) and el.tag in ("p", "div"):
            paragraph.paragraph_format.space_after = Pt(2)
        if el.text:
            _run(paragraph, el.text, fmt)
        for child in el:
            if isinstance(child.tag, str) and child.tag not in SKIPPED:
                if child.tag == "br":
                    paragraph.add_run().add_break()
                elif child.tag == "img":
                    self.image(child)
                else:
                    self.inline(paragraph, child, {**fmt, **_format(child)})
            if child.tail:
                _run(paragraph, child.tail, fmt)

    def image(self, el: Any) -> None:
        src = el.get("src") or ""
        if not src.startswith("data:image/png;base64,"):
            self.doc.add_paragraph(f"（图表“{el.get('alt') or ''}”需 Chromium 绘制，本副本未含）")
            return
        png = base64.b64decode(src.split(",", 1)[1])
        self.doc.add_picture(io.BytesIO(png), width=self.chart_width)
        self.doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    def table(self, el: Any) -> None:
        rows = [tr for tr in el.iter("tr")]
        if not rows:
            return
        width = max(sum(int(c.get("colspan") or 1) for c in tr if c.tag in ("td", "th")) for tr in rows)
        table = self.doc.add_table(rows=0, cols=width)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _narrow_margins(table)
        cells_style = self.doc.styles[TABLE_STYLE].style_id
        table.autofit = False
        widths = _column_widths(rows, width, self.text_width())
        for column, column_width in zip(table.columns, widths, strict=True):
            column.width = column_width  # each row added takes these
        heading = True
        for tr in rows:
            cells = [c for c in tr if c.tag in ("td", "th")]
            header = bool(cells) and all(c.tag == "th" for c in cells)
            row = table.add_row()
            _keep_row_whole(row)
            if header and heading:
                _repeat_header(row)  # the leading header rows repeat on every page
            heading = heading and header
            for index, cell_el in enumerate(cells):
                # cells by their elements (row.cells re-reads the whole row's merges on every call); each
                # HTML cell is one element once the ones before it are merged
                cell = _Cell(row._tr.tc_lst[index], table)
                span = int(cell_el.get("colspan") or 1)
                if span > 1:
                    cell = cell.merge(_Cell(row._tr.tc_lst[index + span - 1], table))
                paragraph = cell.paragraphs[0]
                paragraph._p.get_or_add_pPr().style = cells_style  # by id: by name looks it up each time
                fmt = _format(cell_el)
                if cell_el.tag == "th":
                    fmt["bold"] = True
                    _shade(cell, "EAF1FB")
                if "n" in _classes(cell_el):
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                self.inline(paragraph, cell_el, fmt)
        self.doc.add_paragraph().paragraph_format.space_after = Pt(2)

    def text_width(self) -> int:
        section = self.doc.sections[0]
        return int(section.page_width - section.left_margin - section.right_margin)

    def cards(self, el: Any) -> None:
        """Key figures as a two-row table: names over values."""
        cards = [c for c in el if isinstance(c.tag, str) and "card" in _classes(c)]
        per_row = 5
        for start in range(0, len(cards), per_row):
            group = cards[start : start + per_row]
            table = self.doc.add_table(rows=2, cols=len(group))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for i, card in enumerate(group):
                parts = [c for c in card if isinstance(c.tag, str)]
                names = [p for p in parts if "k" in _classes(p)]
                name = _text(names[0]) if names else ""
                rest = [p for p in parts if "k" not in _classes(p)]
                _shade(table.rows[0].cells[i], "F5F8FC")
                head = table.rows[0].cells[i].paragraphs[0]
                _run(head, name, {"size": SMALL_PT, "colour": GREY})
                value = table.rows[1].cells[i].paragraphs[0]
                for j, part in enumerate(rest):
                    if j:
                        value.add_run().add_break()
                    size = 14 if "v" in _classes(part) else SMALL_PT
                    self.inline(value, part, {"size": size, "bold": "v" in _classes(part), **_format(part)})
            self.doc.add_paragraph().paragraph_format.space_after = Pt(0)

    def cover(self, el: Any) -> None:
        """The cover page: title, the contract's parties and the period, then a page break."""
        for _ in range(5):
            self.doc.add_paragraph()
        for part in el.iter():
            classes = _classes(part) if isinstance(part.tag, str) else set()
            if "cover-title" in classes:
                paragraph = self.doc.add_paragraph()
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                paragraph.paragraph_format.space_after = Pt(48)
                run = _run(paragraph, _text(part), {"size": 22, "bold": True})
                _set_font(run._r, HEADING_FONT)
            elif part.tag == "tr":
                cells = [_text(c) for c in part if c.tag in ("th", "td")]
                paragraph = self.doc.add_paragraph()
                paragraph.paragraph_format.left_indent = Cm(3)
                paragraph.paragraph_format.space_after = Pt(10)
                _run(paragraph, "：".join(cells), {"size": 15})
            elif "cover-date" in classes:
                paragraph = self.doc.add_paragraph()
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                paragraph.paragraph_format.space_before = Pt(60)
                self.inline(paragraph, part, {"size": 15})
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def signature(self, el: Any) -> None:
        """甲方确认 / 乙方 side by side, kept together on the last page."""
        sides = [c for c in el if isinstance(c.tag, str)]
        table = self.doc.add_table(rows=1, cols=max(1, len(sides)))
        _no_borders(table)
        _keep_row_whole(table.rows[0])
        for i, side in enumerate(sides):
            cell = table.rows[0].cells[i]
            lines = [p for p in side if isinstance(p.tag, str) and p.tag == "p"] or [side]
            for j, line in enumerate(lines):
                paragraph = cell.paragraphs[0] if j == 0 else cell.add_paragraph()
                paragraph.paragraph_format.space_after = Pt(18)
                paragraph.paragraph_format.keep_with_next = True
                self.inline(paragraph, line, _format(line))
        previous = table._tbl.getprevious()
        if previous is not None and previous.tag == qn("w:p"):
            Paragraph(previous, self.doc._body).paragraph_format.keep_with_next = True

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".docx.part")
        self.doc.save(str(part))
        os.replace(part, path)
        return _private(path)


def _display_width(text: str) -> int:
    """Columns a text takes: a Chinese character is as wide as two Latin ones."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _column_widths(rows: list[Any], columns: int, total: int) -> list[int]:
    """Column widths by their longest line (capped), so a name column is wide and a count column narrow;
    Word otherwise gives every column the same width and a 17-column table runs to dozens of pages."""
    longest = [5] * columns
    for tr in rows:
        cells = [c for c in tr if c.tag in ("td", "th")]
        if len(cells) != columns:
            continue  # merged cells say nothing about one column
        for i, cell in enumerate(cells):
            lines = cell.text_content().split("\n") if cell.find("br") is None else _lines(cell)
            widest = max((_display_width(line.strip()) for line in lines), default=0)
            longest[i] = max(longest[i], min(widest, 24))
    longest = [n + 2 for n in longest]  # the cell margins
    return [int(total * n / sum(longest)) for n in longest]


def _lines(cell: Any) -> list[str]:
    """A cell's lines as its ``<br>``s break them."""
    lines, current = [], [cell.text or ""]
    for child in cell.iter():
        if child is cell:
            continue
        if child.tag == "br":
            lines.append("".join(current))
            current = []
        elif child.text:
            current.append(child.text)
        if child.tail:
            current.append(child.tail)
    return [*lines, "".join(current)]


def _skipped(el: Any) -> bool:
    """Comments, scripts and styles, and what is marked for the screen only."""
    return not isinstance(el.tag, str) or el.tag in SKIPPED or bool({"noprint", "screen"} & _classes(el))


def _text(el: Any) -> str:
    return _SPACE.sub(" ", el.text_content()).strip()


def _format(el: Any) -> dict[str, Any]:
    fmt: dict[str, Any] = {}
    if not isinstance(el.tag, str):
        return fmt
    if el.tag in ("strong", "b") or "bad" in _classes(el):
        fmt["bold"] = True
    if el.tag == "code":
        fmt["mono"] = True
    for name, colour in COLOURS.items():
        if name in _classes(el):
            fmt["colour"] = colour
    if "sub" in _classes(el):
        fmt["size"] = SMALL_PT
    return fmt


def _run(paragraph: Paragraph, text: str, fmt: dict[str, Any]) -> Any:
    run = paragraph.add_run(_SPACE.sub(" ", text))
    if fmt.get("bold"):
        run.bold = True
    if fmt.get("colour") is not None:
        run.font.color.rgb = fmt["colour"]
    if fmt.get("size"):
        run.font.size = Pt(fmt["size"])
    if fmt.get("mono"):
        run.font.name = "Consolas"
    return run


def docx_from_html(html: str) -> _Word:
    """The Word document of ``html``, not yet saved (``.doc``)."""
    root = lxml.html.document_fromstring(html)
    word = _Word()
    body = root.find("body")
    if body is not None and "landscape" in _classes(body):
        word.landscape()
    word.walk(body if body is not None else root)
    return word


def write_docx(html: str, path: Path) -> Path:
    return docx_from_html(html).save(path)
