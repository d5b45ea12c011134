"""Reports a person can reach: links that open on the client's desktops, and an index page to browse them.

A report's file path means nothing on another machine, and a ``file://`` link opens nothing in a browser there.
With ``SXOPS_REPORTS_BASE_URL`` (e.g. ``https://ops.example.gov.cn/reports/``, where ``shaoxing-ops serve``
publishes the reports folder behind the log-in) every link the platform shows is that URL plus the report's
place under the reports folder; without it, the local ``file://`` URI (a developer's machine). ``index.html`` in
the reports folder lists every report by kind and month, newest first; it is rewritten whenever a report is.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections import defaultdict
from pathlib import Path

from shaoxing_ops import settings
from shaoxing_ops.files import write_private_text

from .templating import environment

KINDS = {  # folder -> what the index calls it, in the order it lists them
    "inspection": "日常巡检单",
    "weekly": "运维周报",
    "monthly": "运维服务月报",
    "stats": "市场主体发展情况（月度统计）",
    "annual": "运维服务年度总结",
    "feedback": "应用系统问题反馈单",
}
SHOWN = (".html", ".xlsx", ".docx", ".pdf")  # what a reader opens; the JSON beside each is for machines
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"_(\d{4})\.")  # a yearly report: 运维服务年度总结_2026.pdf
_env = environment()


def reports_root() -> Path:
    return settings.data_dir() / "reports"


def base_url() -> str | None:
    """``SXOPS_REPORTS_BASE_URL``, ending in one slash, or None when unset."""
    text = os.environ.get("SXOPS_REPORTS_BASE_URL", "").strip()
    if not text:
        return None
    if not text.startswith(("http://", "https://")):
        raise settings.SettingsError(
            f"SXOPS_REPORTS_BASE_URL={text!r} is not an http(s) URL; use e.g. https://ops.example/reports/"
        )
    return text.rstrip("/") + "/"


def report_url(path: Path) -> str:
    """The link to show for a report file: under the base URL when one is set and the file is under the
    reports folder, else its ``file://`` URI."""
    base, root = base_url(), reports_root().resolve()
    path = path.resolve()
    if base is None or not path.is_relative_to(root):
        return path.as_uri()
    return base + urllib.parse.quote(path.relative_to(root).as_posix())


def write_index() -> Path:
    """Write ``index.html`` of the reports folder: every report by kind and month, newest first."""
    root = reports_root()
    kinds = []
    for folder, title in KINDS.items():
        months: dict[str, list[dict[str, str]]] = defaultdict(list)
        for path in sorted((root / folder).rglob("*"), reverse=True):
            if path.suffix not in SHOWN or not path.is_file():
                continue
            found = _MONTH.search(path.name) or _MONTH.search(path.parent.name)
            year = _YEAR.search(path.name)
            month = (
                f"{found.group(1)}年{found.group(2)}月" if found else f"{year.group(1)}年" if year else "其他"
            )
            months[month].append({"name": path.name, "href": path.relative_to(root).as_posix()})
        kinds.append({"title": title, "months": sorted(months.items(), reverse=True)})
    html = _env.get_template("index.html.j2").render(kinds=kinds, quote=urllib.parse.quote)
    return write_private_text(root / "index.html", html)
