"""What to do: the notes that name a message's likely cause and its fix.

The Graph texts of the messages are fixed (messages.py); these notes travel beside them, in the
detail (`note` of a message or of a row), the spreadsheet report, the page and the command line.
They speak of files, not of uploads or folders, so the same note fits `start` and the command line.
"""

from __future__ import annotations

from collections.abc import Iterable

from sds_core.verification.messages import Message
from sds_core.verification.sniff import SEPARATORS, TEXT_EXTENSIONS, Encoding, cp1252_char, workbook_kind
from sds_core.verification.spec import FILES, FileSpec

CSV_UTF8 = '"CSV UTF-8 (Comma delimited)"'
SIX_NAMES = ", ".join(f.name for f in FILES)

_ENCODINGS: dict[Encoding | None, str] = {
    Encoding.UTF16: f"This file looks like UTF-16 (Excel's \"Unicode Text\"): save it as {CSV_UTF8}.",
    Encoding.UTF32: f"This file looks like UTF-32: save it as UTF-8 (in Excel: {CSV_UTF8}).",
    Encoding.XLSX: f"This file is an Excel workbook (.xlsx) under a .csv name: open it in Excel and save "
                   f"the sheet as {CSV_UTF8}.",
    Encoding.XLS: f"This file is an Excel 97-2003 workbook (.xls) under a .csv name: open it in Excel and "
                  f"save the sheet as {CSV_UTF8}.",
    Encoding.ODS: "This file is an OpenDocument spreadsheet (.ods) under a .csv name: save the sheet as "
                  '"Text CSV" with the character set "Unicode (UTF-8)" and "," as field delimiter.',
    Encoding.ZIP: f"This file is a ZIP archive, not a CSV file: extract it; save a workbook inside it as {CSV_UTF8}.",
    None: f"Save it as UTF-8: in Excel as {CSV_UTF8}, in another program with the encoding UTF-8.",
}


def encoding_note(looks_like: Encoding | None, invalid_byte: int | None = None, line: int | None = None) -> str:
    """Message 5's note (or that of a file of UTF-16 text that decodes as UTF-8): what the bytes are."""
    if looks_like is Encoding.CP1252 and invalid_byte is not None:
        where = f" on line {line}" if line is not None else ""
        return (f"This file looks like Windows-1252, as Excel's \"CSV (Comma delimited)\" saves it (byte "
                f"0x{invalid_byte:02X}{where} is \"{cp1252_char(invalid_byte)}\" there): save it as {CSV_UTF8}.")
    return _ENCODINGS.get(looks_like, _ENCODINGS[None])


def separator_note(separator: str) -> str:
    """The note of every message of a file whose header is separated by something else than commas."""
    said = SEPARATORS[separator]
    if separator == ";":
        return (f"The header is separated by {said}, not commas: Excel separates with the list separator of "
                f"the computer's region. Set it to a comma (Windows: Region > Additional settings > List "
                f"separator), then save the file again as {CSV_UTF8}.")
    if separator == "\t":
        return (f"The header is separated by {said}, not commas (Excel's \"Text (Tab delimited)\" or \"Unicode "
                f"Text\"): save the file as {CSV_UTF8}.")
    return f"The header is separated by {said}, not commas: export the file again as UTF-8 CSV with commas."


def missing_file_note(spec: FileSpec, lookalikes: list[str]) -> str | None:
    """Message 1's note when another file seems to be this one: a workbook, a text file, another name."""
    if not lookalikes:
        return None
    name = lookalikes[0]
    others = f" (also found: {', '.join(lookalikes[1:])})" if len(lookalikes) > 1 else ""
    kind = workbook_kind(name)
    if kind is not None:
        return f"{name} is an {kind}: save its sheet as {CSV_UTF8} named {spec.name}{others}."
    if name.casefold().endswith(TEXT_EXTENSIONS):
        return f"{name} may hold this file: save it as {CSV_UTF8} named {spec.name}{others}."
    return f"{name} may be this file under another name: rename it {spec.name}{others}."


def unknown_file_note(spec: FileSpec) -> str:
    """Message 3's note for a CSV file whose name is close to an SDS file's."""
    return f"Its name is close to {spec.name}: if it is that file, rename it {spec.name}."


def name_case_note() -> str:
    """Message 2's note."""
    return "Keep one of them: the names of two files may not differ in letter case only."


def reference_note(target_file: str, target_header: str) -> str:
    """A row note of message 17: where the value was looked up."""
    return f"not in the {target_header} column of {target_file}"


LINE_BREAK_NOTE = "a line break inside the value (Alt+Enter in an Excel cell): remove it"
SHARED_USERNAME_NOTE = "teacher.csv has this Username too (letter case ignored)"


def replaced_note(value: str, replaceable: Iterable[str]) -> str:
    """A row note of message 18: the characters that become `_`."""
    chars = sorted(set(replaceable), key=value.index)
    return f"{', '.join(_quoted(c) for c in chars)} will become \"_\""


def _quoted(char: str) -> str:
    return "a space" if char == " " else f'"{char}"'


def columns_note(indices: list[int]) -> str:
    """A header row's note: the columns (1-based) where a field is."""
    places = [str(i + 1) for i in indices]
    if len(places) == 1:
        return f"column {places[0]}"
    return f"columns {', '.join(places[:-1])} and {places[-1]}"


def closest_note(text: str, index: int) -> str:
    """A row note of message 6: the header field that is probably the missing one."""
    return f'column {index + 1} is "{text}": if it is this field, write its name exactly'


def listed(names: list[str], shown: int = 3) -> str:
    """`a`, `a and b`, `a, b and c`, `a, b, c and 7 more`."""
    if len(names) > shown:
        return ", ".join(names[:shown]) + f" and {len(names) - shown:,} more"
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else ""


def other_format_note(other: str, found: list[str], mixed: bool) -> str:
    """The note of a set verified in one format that holds files of the other one (`other`: "v1"
    or "v2.1"): what they are and how to verify them."""
    are = "are" if len(found) > 1 else "is"
    classic = "classic SDS files" if len(found) > 1 else "a classic SDS file"
    if mixed:
        kind = "SDS v2.1" if other == "v2.1" else classic
        return (f"The files mix the classic format and SDS v2.1 ({listed(found)} {are} {kind}): verify each "
                "set on its own (the file names tell its format; docs/sds-v2.1-rules.md).")
    if other == "v2.1":
        return (f"{listed(found)} {are} SDS v2.1, the new School Data Sync's format, not the classic six: "
                "verify them with the v2.1 rules (on the command line: --format v2.1, or no --format; "
                "docs/sds-v2.1-rules.md).")
    return (f"{listed(found)} {are} {classic}, not SDS v2.1: verify them with the classic rules (on the "
            "command line: --format v1, or no --format), or convert them to v2.1 (sds-convert; "
            "docs/v1-to-v2.1.md).")


def attach(messages: Iterable[Message], note: str | None) -> None:
    """Give each message without a note this one."""
    if note:
        for message in messages:
            message.note = message.note or note
