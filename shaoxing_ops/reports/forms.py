"""Printable forms of the registers: the 《应用系统问题反馈单》 of one feedback item, which the contract has the
project group receive and hand on (change requests to the city bureau), signed on paper.

One self-contained Chinese HTML page in the reports' style, personal data masked as in every report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2

from shaoxing_ops import settings
from shaoxing_ops.domain.identifiers import mask_phone
from shaoxing_ops.files import write_private_text

from .safety import redact_all

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("shaoxing_ops.reports", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
)


def _shown(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return value.isoformat() if isinstance(value, dt.date) else value


def feedback_form(item: dict[str, Any], generated_at: dt.datetime | None = None) -> str:
    """The form of one item as HTML: its fields, the routing, blank lines for analysis and signatures."""
    shown = redact_all({k: _shown(v) for k, v in item.items()})
    shown["contact"] = mask_phone(item.get("contact"))
    moment = generated_at or dt.datetime.now(settings.TZ).replace(tzinfo=None)
    return _env.get_template("feedback_form.html.j2").render(f=shown, generated_at=_shown(moment))


def forms_dir() -> Path:
    return settings.data_dir() / "reports" / "feedback"


def write_feedback_form(item: dict[str, Any], folder: Path | None = None) -> list[Path]:
    """Write ``问题反馈单_<id>.html`` under ``folder`` (default: the reports folder's ``feedback/``)."""
    stem = (folder or forms_dir()) / f"问题反馈单_{item['id']:04d}"
    html = feedback_form(item)
    return [write_private_text(stem.with_suffix(".html"), html)]
