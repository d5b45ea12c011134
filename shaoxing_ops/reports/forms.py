"""Printable forms of the registers: the 《应用系统问题反馈单》 of one feedback item, which the contract has the
project group receive and hand on (change requests to the city bureau), signed on paper.

One page in the reports' style from the reports' one Jinja2 environment, personal data masked as in every
report, written as HTML and, like the reports, as Word and PDF copies (``documents.write_documents``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from shaoxing_ops import settings
from shaoxing_ops.domain.identifiers import mask_phone
from shaoxing_ops.files import write_private_text

from .documents import Documents, write_documents
from .publish import write_index
from .safety import redact_all
from .templating import environment

_env = environment()


def _shown(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return value.isoformat() if isinstance(value, dt.date) else value


def feedback_form(item: dict[str, Any], generated_at: dt.datetime | None = None) -> str:
    """The form of one item as HTML: its fields, the routing, room for the analysis, the signature block."""
    shown = redact_all({k: _shown(v) for k, v in item.items()})
    shown["contact"] = mask_phone(item.get("contact"))
    moment = generated_at or dt.datetime.now(settings.TZ).replace(tzinfo=None)
    return _env.get_template("feedback_form.html.j2").render(f=shown, generated_at=_shown(moment))


def forms_dir() -> Path:
    return settings.data_dir() / "reports" / "feedback"


def write_feedback_form(item: dict[str, Any], folder: Path | None = None) -> tuple[Path, Documents]:
    """Write ``问题反馈单_<id>.html``, ``.docx`` and ``.pdf`` under ``folder`` (default: the reports folder's
    ``feedback/``); the Word and PDF copies say in ``Documents.missing`` what they lack, if anything."""
    stem = (folder or forms_dir()) / f"问题反馈单_{item['id']:04d}"
    html = feedback_form(item)
    written = write_private_text(stem.with_suffix(".html"), html), write_documents(html, stem)
    if folder is None:
        write_index()  # the reports' index lists the forms too
    return written
