"""Outside text made inert for one line of a log or a status: control characters escaped."""

from __future__ import annotations

import unicodedata

# Besides the C0/C1 controls and DEL (category Cc): the line and paragraph separators (Zl, Zp),
# which some viewers break lines at, and the bidirectional controls, which reorder what is shown.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
ELLIPSIS = "…"


def _escaped(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI


def inert(text: str, limit: int | None = None) -> str:
    """`text` on one line: control characters as escapes (`\\n`, `\\x1b`, `\\u2028`), and at
    most `limit` characters (cut between escapes, never inside one, and ended with "…").

    Idempotent: backslashes are left as they are, so inert(inert(t)) == inert(t).
    """
    pieces = [_escaped(c) if _is_control(c) else c for c in text]
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit - len(ELLIPSIS):
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + ELLIPSIS
