"""Characters a reader of a report cannot see, and characters a spreadsheet reads as a formula's start.

Python's unicodedata has no Default_Ignorable_Code_Point property, so its ranges are embedded here
from the Unicode Character Database: https://www.unicode.org/Public/16.0.0/ucd/DerivedCoreProperties.txt
(Unicode 16.0.0; 27 lines, 4,174 code points; the same set since Unicode 14.0, when U+180F joined).
tests/data/unicode/ keeps those 27 lines as published, and a test compares this table with them.
"""

from __future__ import annotations

import re
import unicodedata

UNICODE_VERSION = "16.0.0"

# Default_Ignorable_Code_Point, as (first, last) code points: a renderer may draw nothing for them.
DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ, AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, MONGOLIAN VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE .. RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # WORD JOINER, invisible operators, bidi isolates, deprecated format characters
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1 .. 16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE (the BOM)
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT controls
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM .. END PHRASE
    (0xE0000, 0xE0FFF),  # TAG characters (E0020-E007F), VARIATION SELECTOR-17 .. 256, reserved
)

# Other characters that show nothing, or nothing a reader can tell from a plain space.
OTHER_INVISIBLE: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F),  # C0 controls
    (0x007F, 0x009F),  # DEL and the C1 controls
    (0x00A0, 0x00A0),  # NO-BREAK SPACE
    (0x1680, 0x1680),  # OGHAM SPACE MARK
    (0x2000, 0x200A),  # EN QUAD .. HAIR SPACE
    (0x2028, 0x2029),  # LINE SEPARATOR, PARAGRAPH SEPARATOR
    (0x202F, 0x202F),  # NARROW NO-BREAK SPACE
    (0x205F, 0x205F),  # MEDIUM MATHEMATICAL SPACE
    (0x2800, 0x2800),  # BRAILLE PATTERN BLANK: drawn as a blank, used as a filler
    (0x3000, 0x3000),  # IDEOGRAPHIC SPACE
    (0xD800, 0xDFFF),  # lone surrogates (only in text decoded with errors="surrogateescape")
    (0xFFF9, 0xFFFB),  # interlinear annotation marks
    (0x1D159, 0x1D159),  # MUSICAL SYMBOL NULL NOTEHEAD: drawn as a blank, used as a filler
)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    parts = (re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


INVISIBLE = re.compile(_char_class(tuple(sorted(DEFAULT_IGNORABLE + OTHER_INVISIBLE))))

# A spreadsheet starts a formula at these, and at any character NFKC folds into one of them
# (full-width ＝ ＋ － ＠, small ﹦ ﹢ ﹣ ﹫, super- and subscript ⁺ ⁼ ₊ ₌); U+2212 MINUS SIGN too.
FORMULA_SIGNS = frozenset("=+-@\u2212")
# Cells starting with these are escaped whatever follows (OWASP, "CSV Injection": tab and CR).
_ESCAPED_FIRST = frozenset("\t\r\n")


def is_formula_sign(char: str) -> bool:
    """Whether a spreadsheet may read this character, first in a cell, as the start of a formula."""
    return char in FORMULA_SIGNS or unicodedata.normalize("NFKC", char) in FORMULA_SIGNS


def _skipped(char: str) -> bool:
    """Characters before a formula sign that do not stop a spreadsheet, or a reader, from seeing it."""
    return char.isspace() or INVISIBLE.fullmatch(char) is not None


def looks_like_formula(text: str) -> bool:
    """Whether a cell's text may run as a formula: a formula sign first, or after any whitespace
    or invisible characters; a leading tab, CR or LF."""
    if text[:1] in _ESCAPED_FIRST:
        return True
    for char in text:
        if not _skipped(char):
            return is_formula_sign(char)
    return False
