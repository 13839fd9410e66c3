"""What a file that is not a comma-separated UTF-8 file looks like instead: its encoding, its kind,
its separator; and what a file's name says it is. Only a few kilobytes are looked at.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum

from sds_core.verification.spec import FileSpec

SNIFFED_BYTES = 64 << 10
# NUL bytes at every other position of text: UTF-16 without a BOM (ASCII text has a NUL beside each
# character). The share of such positions that must hold a NUL, and that the others may hold.
_UTF16_NUL_SHARE, _OTHER_NUL_SHARE = 0.3, 0.05
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an Excel 97-2003 workbook (compound file)
_ZIP = b"PK\x03\x04"
_ODS = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
# Bytes cp1252 leaves undefined: a file holding one is in no Windows-1252 text.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
WORKBOOK_EXTENSIONS = {".xlsx": "Excel workbook", ".xlsm": "Excel workbook", ".xlsb": "Excel workbook",
                       ".xls": "Excel workbook", ".ods": "OpenDocument spreadsheet",
                       ".numbers": "Numbers spreadsheet"}
TEXT_EXTENSIONS = (".txt", ".tsv", ".tab", ".prn")
SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


class Encoding(StrEnum):
    """What the bytes of a file that is not UTF-8 (or holds NULs) most likely are."""

    UTF16 = "UTF-16"
    UTF32 = "UTF-32"
    CP1252 = "Windows-1252"
    XLSX = "xlsx"
    ODS = "ods"
    ZIP = "zip"
    XLS = "xls"


def encoding(data: bytes | bytearray | memoryview, invalid_at: int | None = None) -> Encoding | None:
    """The likely encoding or kind of a file's bytes, None when nothing is recognised.

    `invalid_at` is the offset of the first byte that is not UTF-8 (None: the bytes decode, and
    only a UTF-16 or UTF-32 layout of NULs is looked for).
    """
    head = bytes(data[:SNIFFED_BYTES])
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return Encoding.UTF32
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding.UTF16
    if _alternate_nuls(head):
        return Encoding.UTF16
    if invalid_at is None:
        return None
    if head.startswith(_ZIP):
        return Encoding.ODS if _ODS in head[:200] else Encoding.XLSX if b"xl/" in head else Encoding.ZIP
    if head.startswith(_OLE2):
        return Encoding.XLS
    if b"\x00" not in head and _reads_as_cp1252(bytes(data[invalid_at:invalid_at + SNIFFED_BYTES])):
        return Encoding.CP1252
    return None


def _alternate_nuls(head: bytes) -> bool:
    """NULs at most odd (or most even) offsets and almost none at the others: 16-bit text."""
    sample = head[: 4096 - 4096 % 2]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2].count(0) / (len(sample) / 2), sample[1::2].count(0) / (len(sample) / 2)
    return (odd >= _UTF16_NUL_SHARE and even <= _OTHER_NUL_SHARE) or (
        even >= _UTF16_NUL_SHARE and odd <= _OTHER_NUL_SHARE)


def _reads_as_cp1252(tail: bytes) -> bool:
    """Whether the bytes from the first invalid one on read as Windows-1252 text: no undefined byte,
    and the first non-ASCII character a letter, a sign or punctuation (not a control character)."""
    if any(b in _CP1252_UNDEFINED for b in tail if b >= 0x80):
        return False
    first = tail[:1].decode("cp1252")
    return bool(first) and unicodedata.category(first)[0] in "LSPN"


def cp1252_char(byte: int) -> str:
    """How one byte reads in Windows-1252."""
    return bytes([byte]).decode("cp1252", errors="replace")


def _loose(text: str) -> str:
    return text.strip().strip('"').strip().casefold()


def separator(spec: FileSpec, header: list[str]) -> str | None:
    """The separator a header uses instead of commas: `;`, tab or `|`, when splitting the header at
    it finds at least two of the file's column names (US or UK) and more of them than the commas did."""
    known = {_loose(c.header(uk)) for c in spec.columns for uk in (False, True)}
    by_comma = len(known.intersection(map(_loose, header)))
    joined = ",".join(header)
    best, found = None, max(by_comma, 1)
    for candidate in SEPARATORS:
        if candidate not in joined:
            continue
        count = len(known.intersection(map(_loose, re.split(f"[{re.escape(candidate)},]", joined))))
        if count > found:
            best, found = candidate, count
    return best


def stem(name: str) -> str:
    """A file name reduced to what tells the SDS files apart: letters only, before the first dot,
    without a plural s (`Student Enrollments (1).xlsx` -> `studentenrollment`)."""
    base = name.rsplit("/", 1)[-1].split(".", 1)[0]
    letters = re.sub(r"[^a-z]", "", base.casefold())
    return letters[:-1] if letters.endswith("s") and not letters.endswith("ss") else letters


def workbook_kind(name: str) -> str | None:
    """`Excel workbook` (or another spreadsheet's name) when the file name says it is one."""
    lower = name.casefold()
    if lower.startswith("~$"):  # Excel's lock file beside an open workbook
        return None
    return next((kind for ext, kind in WORKBOOK_EXTENSIONS.items() if lower.endswith(ext)), None)


def same_file(spec: FileSpec, names: Iterable[str]) -> list[str]:
    """The names among `names` that look like this SDS file under another name or extension."""
    wanted = stem(spec.name)
    return [n for n in names
            if n.casefold() != spec.name and not n.startswith(("~$", ".")) and stem(n) == wanted]
