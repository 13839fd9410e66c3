"""Shapes of a verification for people and programs: Graph's body, the detail, a spreadsheet report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from sds_core.messages import Message

VERIFICATION_CONTEXT = "{base}/$metadata#education/Collection(microsoft.graph.verificationMessage)"
REPORT_COLUMNS = ("file", "row", "column", "value", "problem")
_FORMULA_START = ("=", "+", "-", "@")


def start_body(messages: Iterable[Message], base_url: str) -> dict[str, object]:
    """The JSON body `start` answers: Graph's collection of verification messages."""
    return {
        "@odata.context": VERIFICATION_CONTEXT.format(base=base_url.rstrip("/")),
        "value": [m.graph() for m in messages],
    }


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_rows(messages: Iterable[Message]) -> Iterable[tuple[str, str, str, str, str]]:
    """One line per offending row (file-level messages give one line each)."""
    for message in messages:
        if not message.rows:
            yield message.file_name, "", message.field or "", "", message.description
        for row in message.rows:
            problem = message.description if not row.note else f"{message.description} ({row.note})"
            yield message.file_name, "" if row.row is None else str(row.row), row.column or "", row.value or "", problem


def report_csv(messages: Iterable[Message]) -> str:
    """The row-level report as CSV text (Password values are already masked in the detail)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for line in report_rows(messages):
        writer.writerow([safe_cell(cell) for cell in line])
    return out.getvalue()
