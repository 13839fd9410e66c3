"""Small builders of SDS CSV files for the tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.paths import SAMPLES

MIN_REQUIRED = SAMPLES / "sds-v1_min-required"

HEADERS = {
    "School.csv": ["SIS ID", "Name"],
    "Section.csv": ["SIS ID", "School SIS ID", "Section Name"],
    "Student.csv": ["SIS ID", "School SIS ID", "Username"],
    "Teacher.csv": ["SIS ID", "School SIS ID", "Username"],
    "StudentEnrollment.csv": ["Section SIS ID", "SIS ID"],
    "TeacherRoster.csv": ["Section SIS ID", "SIS ID"],
}


def csv_bytes(header: list[str], rows: list[list[str]], newline: str = "\r\n") -> bytes:
    """RFC 4180 CSV (quoting where needed) of a header and rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def sample_files(folder: Path = MIN_REQUIRED) -> dict[str, bytes]:
    """The CSV files of a sample folder, by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def rows_of(data: bytes) -> list[list[str]]:
    """Header and rows of a CSV file."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
