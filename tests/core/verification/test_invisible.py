"""Invisible characters are written visibly and formula look-alikes escaped, in the CSV report and the page."""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata

import pytest

from sds_core.verification.invisible import (
    DEFAULT_IGNORABLE,
    INVISIBLE,
    OTHER_INVISIBLE,
    UNICODE_VERSION,
    looks_like_formula,
)
from sds_core.verification.page import render_page
from sds_core.verification.report import report_csv, safe_cell, visible
from tests.paths import DATA

UCD_LINES = DATA / "unicode" / f"DerivedCoreProperties-{UNICODE_VERSION}-Default_Ignorable_Code_Point.txt"
# Format characters (Cf) that are not Default_Ignorable_Code_Point, by the property's derivation in
# UAX #44 (Cf minus White_Space, FFF9..FFFB, 13430..1343F and Prepended_Concatenation_Mark):
# https://www.unicode.org/reports/tr44/#Default_Ignorable_Code_Point
CF_NOT_IGNORABLE = {
    *range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD,  # prepended marks
    *range(0xFFF9, 0xFFFC),  # interlinear annotation
    *range(0x13430, 0x13440),  # Egyptian hieroglyph format controls
}


def code_points(ranges: tuple[tuple[int, int], ...]) -> set[int]:
    return {c for first, last in ranges for c in range(first, last + 1)}


def test_the_table_is_the_unicode_character_database_s() -> None:
    published: set[int] = set()
    lines = 0
    for line in UCD_LINES.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([0-9A-F]{4,6})(?:\.\.([0-9A-F]{4,6}))?\s*; Default_Ignorable_Code_Point #", line)
        if match:
            lines += 1
            first = int(match.group(1), 16)
            published |= set(range(first, int(match.group(2) or match.group(1), 16) + 1))
    assert (lines, len(published)) == (27, 4174)
    assert code_points(DEFAULT_IGNORABLE) == published


def test_the_table_agrees_with_this_python_s_unicode_data() -> None:
    # Independent of the committed lines: every format character this Python knows is in the table
    # or one of the documented exceptions; every variation selector is in it; and every assigned
    # code point of the table is a format character, a mark or one of the Hangul fillers.
    table = code_points(DEFAULT_IGNORABLE)
    everything = range(sys.maxunicode + 1)
    formats = {c for c in everything if unicodedata.category(chr(c)) == "Cf"}
    assert formats - table - CF_NOT_IGNORABLE == set()
    selectors = {c for c in everything if unicodedata.name(chr(c), "").startswith("VARIATION SELECTOR")}
    assert len(selectors) == 256 and selectors <= table
    assigned = {unicodedata.category(chr(c)) for c in table} - {"Cn"}
    assert assigned == {"Cf", "Mn", "Lo"}
    assert {c for c in table if unicodedata.category(chr(c)) == "Lo"} == {0x115F, 0x1160, 0x3164, 0xFFA0}


def test_every_code_point_of_both_tables_is_written_visibly() -> None:
    every = sorted(code_points(DEFAULT_IGNORABLE) | code_points(OTHER_INVISIBLE))
    text = "".join(map(chr, every))
    shown = visible(text)
    assert INVISIBLE.search(shown) is None and shown.isascii()
    assert len(re.findall(r"<[^<>]+>", shown)) == len(every)


@pytest.mark.parametrize(("value", "shown"), [
    ("a\U000E0041\U000E0042b", "a<U+E0041><U+E0042>b"),  # TAG characters: hidden text
    ("\U000E0001\U000E007F", "<U+E0001><U+E007F>"),  # LANGUAGE TAG, CANCEL TAG
    ("x\ufe0f", "x<U+FE0F>"),  # VARIATION SELECTOR-16
    ("x\U000E0100", "x<U+E0100>"),  # VARIATION SELECTOR-17
    ("\u115f\u1160\u3164\uffa0", "<U+115F><U+1160><U+3164><U+FFA0>"),  # Hangul fillers
    ("a\u2800b", "a<U+2800>b"),  # braille blank
    ("a\u180eb\u034fc", "a<U+180E>b<U+034F>c"),  # Mongolian vowel separator, grapheme joiner
    ("a\u00adb\u200bc\u2060d", "a<U+00AD>b<U+200B>c<U+2060>d"),  # soft hyphen, zero width, word joiner
    ("\u202eevil\u2066\u2069", "<U+202E>evil<U+2066><U+2069>"),  # bidi override and isolates
    ("a\u00a0b\u3000c\u2003d", "a<U+00A0>b<U+3000>c<U+2003>d"),  # spaces a reader cannot tell from " "
    ("\U0001D159\U0001D173", "<U+1D159><U+1D173>"),  # musical null notehead, begin beam
    ("a\tb\x00c\x7f", "a<TAB>b<NUL>c<DEL>"),
    ("plain text, é ü 名", "plain text, é ü 名"),
])
def test_invisible_characters_are_named(value: str, shown: str) -> None:
    assert visible(value) == shown


FORMULAS = [
    "=1+1", "+1", "-1", "@SUM(A1)",
    "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)",  # full-width ＝ ＋ － ＠
    "\ufe661", "\ufe621", "\ufe631", "\ufe6bx",  # small forms ﹦ ﹢ ﹣ ﹫
    "\u207a1", "\u208c1", "\u22121",  # superscript plus, subscript equals, minus sign
    " =1", "  +1", "\t=1", "\u00a0=1", "\u3000=1", "\u2003-1", "\u2028@x", "\r\n=1", "\n=1",
    "\u200b=1", "\ufeff=1", " \u00a0\u3000\uff1d1",
    "\t", "\rtext", "\ntext",
]
NOT_FORMULAS = ["", "a=1", "1-2", "x@y.org", "'=1", " a", "SIS ID", "\u00a0", "名=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_look_alikes_are_escaped(value: str) -> None:
    assert looks_like_formula(value)
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", NOT_FORMULAS)
def test_other_values_are_left_as_they_are(value: str) -> None:
    assert not looks_like_formula(value) and safe_cell(value) == value


def detail(values: list[str]) -> list[dict[str, object]]:
    return [{"type": "Error", "fileName": "student.csv", "description": "d", "code": "invalidFormat",
             "field": "Username", "total": len(values), "truncated": False,
             "rows": [{"row": n, "column": "Username", "value": v} for n, v in enumerate(values, 2)]}]


def test_the_csv_report_whole_text() -> None:
    values = [" =1", "\uff1d1", "\u3000=1", "\t=1", "a\U000E0041b", "x\ufe0f", "\u3164", "\u2800", "＠x", "ok"]
    text = report_csv(detail(values))
    assert text == (
        "\ufefffile,row,column,value,severity,problem\r\n"
        "student.csv,2,Username,' =1,Error,d\r\n"
        "student.csv,3,Username,'\uff1d1,Error,d\r\n"
        "student.csv,4,Username,<U+3000>=1,Error,d\r\n"  # written visibly first: no longer a formula
        "student.csv,5,Username,<TAB>=1,Error,d\r\n"
        "student.csv,6,Username,a<U+E0041>b,Error,d\r\n"
        "student.csv,7,Username,x<U+FE0F>,Error,d\r\n"
        "student.csv,8,Username,<U+3164>,Error,d\r\n"
        "student.csv,9,Username,<U+2800>,Error,d\r\n"
        "student.csv,10,Username,'＠x,Error,d\r\n"
        "student.csv,11,Username,ok,Error,d\r\n"
    )
    cells = [line[3] for line in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))][1:]
    assert all(not looks_like_formula(c) or c.startswith("'") for c in cells)


def test_a_formula_in_every_column_of_the_report_is_escaped() -> None:
    message = {"type": "Error", "fileName": "\uff1dx.csv", "description": " @d", "code": "c", "field": "\u2003=f",
               "total": 1, "truncated": False, "rows": [{"row": 2, "column": "-c", "value": "+v", "note": "=n"}]}
    assert report_csv([message]).splitlines()[1] == "'\uff1dx.csv,2,'-c,'+v,Error,' @d (=n)"


def test_the_page_marks_every_invisible_case() -> None:
    values = ["a\U000E0041b", "x\ufe0f", "x\U000E0100", "\u115f", "\u3164", "\uffa0", "a\u2800b", "\u180e", "\u034f"]
    page = render_page(detail(values), [], title="t")
    cells = re.findall(r'<td class="value">(.*?)</td>', page)
    marks = [re.findall(r'<mark class="ctl" title="(U\+[0-9A-F]+)">', cell) for cell in cells]
    assert marks == [["U+E0041"], ["U+FE0F"], ["U+E0100"], ["U+115F"], ["U+3164"], ["U+FFA0"], ["U+2800"],
                     ["U+180E"], ["U+034F"]]
    assert "\U000E0041" not in page and "\u3164" not in page and "\u2800" not in page
