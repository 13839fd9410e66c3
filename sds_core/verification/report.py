"""Shapes of a verification for people and programs: Graph's body, the detail, a spreadsheet report."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from sds_core.verification.invisible import INVISIBLE, looks_like_formula

VERIFICATION_CONTEXT = "{base}/$metadata#education/Collection(microsoft.graph.verificationMessage)"
REPORT_COLUMNS = ("file", "row", "column", "value", "severity", "problem")
SEVERITIES = ("Error", "Warning", "Information")
BOM = "\ufeff"  # Excel reads a CSV file as UTF-8 only when it starts with one
PASSWORD_MASK = "***"
_C0_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS TAB LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()
Line = tuple[str, str, str, str, str, str]
Origin = Literal["upload", "folder"]
"""Where the verified files came from: uploaded to a profile, or a folder checked on disk."""
# Graph's texts that speak of uploading, as a report about a folder on disk says them (the JSON
# keeps Graph's text: clients parse it).
FOLDER_TEXTS = {"missingFile": "The required file is not in the folder."}


def start_body(messages: Iterable[Mapping[str, str]], base_url: str) -> dict[str, object]:
    """The JSON body `start` answers: Graph's collection of verification messages."""
    return {
        "@odata.context": VERIFICATION_CONTEXT.format(base=base_url.rstrip("/")),
        "value": [dict(m) for m in messages],
    }


def shown_as(char: str) -> str:
    """How one invisible character is written, readable in any font: <NUL>, <TAB>, <LF>, <DEL>, <U+202E>."""
    code = ord(char)
    if code < 0x20:
        return f"<{_C0_NAMES[code]}>"
    if code == 0x7F:
        return "<DEL>"
    return f"<U+{code:04X}>"


def visible(value: object) -> str:
    """The text with every invisible or reordering character written visibly."""
    text = "" if value is None else str(value)
    return INVISIBLE.sub(lambda m: shown_as(m.group()), text)


def invisible_spans(text: str) -> Iterable[tuple[str, bool]]:
    """The text cut into (piece, is_invisible_character) pieces, in order."""
    start = 0
    for match in INVISIBLE.finditer(text):
        if match.start() > start:
            yield text[start : match.start()], False
        yield match.group(), True
        start = match.end()
    if start < len(text):
        yield text[start:], False


def shown_value(row: Mapping[str, Any]) -> str | None:
    """A detail row's value, masked again when its column is a Password (the detail already is)."""
    if str(row.get("column") or "").strip().lower() == "password" and row.get("value"):
        return PASSWORD_MASK
    return row.get("value")


def unlisted(message: Mapping[str, Any]) -> int:
    """Rows counted behind a message but not kept in its detail."""
    return max(int(message.get("total") or 0) - len(message.get("rows") or []), 0)


def severity_counts(details: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Messages per severity, every severity present (zero when none)."""
    counts = Counter(str(m.get("type")) for m in details)
    return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading apostrophe (a sign
    `= + - @` or a look-alike first or after leading whitespace; a leading tab, CR or LF)."""
    text = "" if value is None else str(value)
    return "'" + text if looks_like_formula(text) else text


def described(message: Mapping[str, Any], origin: Origin = "upload") -> str:
    """A message's text for people: Graph's, said of a folder when the files were read from disk."""
    if origin == "folder":
        return FOLDER_TEXTS.get(str(message.get("code")), message["description"])
    return message["description"]


def _with_notes(text: str, *notes: object) -> str:
    said = "; ".join(str(n) for n in notes if n)
    return f"{text} ({said})" if said else text


def report_rows(details: Iterable[Mapping[str, Any]], origin: Origin = "upload") -> Iterable[Line]:
    """One line per offending row of the detail (file-level messages give one line each), and a
    last line per message whose rows were capped, saying how many more there are; the notes of
    the row and of the message in brackets after the text."""
    for message in details:
        file_name, description = message["fileName"], described(message, origin)
        severity, field = str(message.get("type") or ""), message.get("field") or ""
        rows, more, note = message.get("rows") or [], unlisted(message), message.get("note")
        if not rows and not more:
            yield file_name, "", field, "", severity, _with_notes(description, note)
        for row in rows:
            problem = _with_notes(description, row.get("note"), note)
            number = "" if row.get("row") is None else str(row["row"])
            yield file_name, number, row.get("column") or "", shown_value(row) or "", severity, problem
        if more:
            yield file_name, "", field, "", severity, _with_notes(description, f"{more} more row(s) not listed")


def report_csv(details: Iterable[Mapping[str, Any]], origin: Origin = "upload") -> str:
    """The row-level report as CSV text for a spreadsheet: a UTF-8 BOM first, invisible characters
    written visibly, formula-like cells escaped, Password values masked."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for line in report_rows(details, origin):
        writer.writerow([safe_cell(visible(cell)) for cell in line])
    return out.getvalue()


def what_to_do(details: Iterable[Mapping[str, Any]],
               advice: str | None = None) -> list[tuple[str | None, str]]:
    """The advice for people, in the messages' order: (file or None, what to do). A folder's advice
    comes first and stands for the notes of the files missing from it; then each file's distinct
    message notes (row notes stay with their rows)."""
    items: list[tuple[str | None, str]] = [(None, advice)] if advice else []
    for message in details:
        note = message.get("note")
        if not note or note == advice or (advice and message.get("code") == "missingFile"):
            continue
        item = (str(message.get("fileName")), str(note))
        if item not in items:
            items.append(item)
    return items
