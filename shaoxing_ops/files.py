"""Files the platform writes for people (reports, workbooks): readable and writable by the account that runs it
only, as they hold the province's data (personal data masked, but still the client's) and must survive a 等保
review of the server."""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def write_private_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (folders made as needed), owner-only from its creation on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, OWNER_ONLY)  # a file that existed before keeps its old mode on open
    return path


def make_private(path: Path) -> Path:
    """Owner-only permissions for a file another library wrote (the Excel workbook)."""
    os.chmod(path, OWNER_ONLY)
    return path
