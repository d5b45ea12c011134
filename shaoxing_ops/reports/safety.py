"""Personal data out of free text before it reaches a report: ID numbers and phone numbers are masked."""

from __future__ import annotations

import re
from typing import Any

from shaoxing_ops.domain.identifiers import mask_id_number, mask_phone

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")


def redact(text: Any) -> Any:
    """``text`` with every ID number and phone number masked; non-text values pass through."""
    if not isinstance(text, str):
        return text
    text = _ID.sub(lambda m: mask_id_number(m.group(1)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(1)), text)


def redact_all(value: Any) -> Any:
    """Masks every string inside dicts and lists (the JSON of a report goes through here too)."""
    if isinstance(value, dict):
        return {k: redact_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_all(v) for v in value]
    return redact(value)
