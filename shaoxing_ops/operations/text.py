"""Terminal tables with Chinese text: a CJK character takes two columns, so ``str.ljust`` misaligns them."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    space = " " * max(0, columns - width(text))
    return space + text if right else text + space


def clip(text: str, columns: int) -> str:
    """Cut ``text`` to at most ``columns`` display columns, marking the cut with "…"."""
    if width(text) <= columns:
        return text
    out, used = "", 0
    for ch in text:
        w = width(ch)
        if used + w > columns - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Lines of a table, columns as wide as their widest cell; ``right`` lists right-aligned columns."""
    sizes = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(pad(c, sizes[i], i in right) for i, c in enumerate(cells)).rstrip()

    return [line(header), "  ".join("-" * s for s in sizes)] + [line(r) for r in rows]
