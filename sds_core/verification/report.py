"""Shapes of a verification for people and programs: Graph's body, the detail, a spreadsheet report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

VERIFICATION_CONTEXT = "{base}/$metadata#education/Collection(microsoft.graph.verificationMessage)"
REPORT_COLUMNS = ("file", "row", "column", "value", "problem")
_FORMULA_START = ("=", "+", "-", "@")


def start_body(messages: Iterable[Mapping[str, str]], base_url: str) -> dict[str, object]:
    """The JSON body `start` answers: Graph's collection of verification messages."""
    return {
        "@odata.context": VERIFICATION_CONTEXT.format(base=base_url.rstrip("/")),
        "value": [dict(m) for m in messages],
    }


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_rows(details: Iterable[Mapping[str, Any]]) -> Iterable[tuple[str, str, str, str, str]]:
    """One line per offending row of the detail (file-level messages give one line each)."""
    for message in details:
        file_name, description = message["fileName"], message["description"]
        if not message["rows"]:
            yield file_name, "", message.get("field") or "", "", description
        for row in message["rows"]:
            problem = f"{description} ({row['note']})" if row.get("note") else description
            number = "" if row.get("row") is None else str(row["row"])
            yield file_name, number, row.get("column") or "", row.get("value") or "", problem


def report_csv(details: Iterable[Mapping[str, Any]]) -> str:
    """The row-level report as CSV text (Password values are already masked in the detail)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for line in report_rows(details):
        writer.writerow([safe_cell(cell) for cell in line])
    return out.getvalue()
