"""Outside text made inert for one-line places (log lines, status messages): pure."""

from __future__ import annotations

import unicodedata


def inert(text: str, limit: int | None = None) -> str:
    """`text` with control and line-separating characters escaped (`\\n`, `\\x1b`, `\\u2028`),
    cut to `limit` characters (with `...`) when given."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    shown = "".join(out)
    if limit is not None and len(shown) > limit:
        shown = shown[: max(0, limit - 3)] + "..."
    return shown
