"""The checks the polars and DuckDB peers implement: the SDS rules as plain data, and their messages.

Written from decisions.md ("The rules verified"), independently of sds_core: what an engineer
would write in an afternoon with a dataframe library. Each peer returns counts keyed by
(file, kind, field); `messages` renders them as the verifier's Graph messages.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from bench.defects import _message, _order
from bench.layout import COLUMNS, ENROLLMENT, FILES, ROSTER, SCHOOL, SECTION, STUDENT, TEACHER
from sds_core.verification.formats import is_date  # the calendar check both sides must share

REQUIRED = {
    SCHOOL: {"SIS ID", "Name"}, SECTION: {"SIS ID", "School SIS ID", "Section Name"},
    STUDENT: {"SIS ID", "School SIS ID", "Username"},
    TEACHER: {"SIS ID", "School SIS ID", "Username"},
    ENROLLMENT: {"Section SIS ID", "SIS ID"}, ROSTER: {"Section SIS ID", "SIS ID"},
}
UNIQUE = {SCHOOL: {"SIS ID"}, SECTION: {"SIS ID"}, STUDENT: {"SIS ID", "Username"},
          TEACHER: {"SIS ID", "Username"}}
FOREIGN_KEYS = {  # file -> [(field, referenced file)]
    SECTION: [("School SIS ID", SCHOOL)], STUDENT: [("School SIS ID", SCHOOL)],
    TEACHER: [("School SIS ID", SCHOOL)],
    ENROLLMENT: [("Section SIS ID", SECTION), ("SIS ID", STUDENT)],
    ROSTER: [("Section SIS ID", SECTION), ("SIS ID", TEACHER)],
}

SIS_ID = r"^[A-Za-z0-9._-]{1,64}$"
_PREFIX = r"A-Za-z0-9'_!#^~\-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
USERNAME = rf"^[{_PREFIX}]+(?:\.[{_PREFIX}]+)*(?:@{_LABEL}(?:\.{_LABEL})+)?$"
USERNAME_PREFIX_MAX = 64
EMAIL = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
YEAR = r"^[0-9]{4}$"
CONTROL = r"[\x00-\x1f\x7f]"
LINE_BREAK = r"[\r\n]"
PAIR_FILES = {ENROLLMENT, ROSTER}

Counts = dict[tuple[str, str, str], int]


def kind_of(field: str) -> str | None:
    """The rule a column's values follow, by its name."""
    if field.endswith("SIS ID"):
        return "sis_id"
    if field == "Username":
        return "username"
    if field.endswith("Email"):
        return "email"
    if field in ("Term StartDate", "Term EndDate", "Birthdate"):
        return "date"
    if field == "Graduation Year":
        return "year"
    if field in ("First Name", "Middle Name", "Last Name"):
        return "person_name"
    if field in ("Name", "Section Name"):
        return "title"
    return None


NAME_LIMIT = {"person_name": 64, "title": 256}


def header_of(path: Path) -> list[str]:
    """The first record's fields."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f))


def fields_per_record(data: bytes) -> np.ndarray:
    """Fields of every record after the header, counted in the bytes (quotes respected)."""
    b = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(b == 34)
    ends = np.flatnonzero(b == 10)
    commas = np.flatnonzero(b == 44)
    if len(quotes):  # a separator after an odd number of quotes is inside a quoted value
        ends = ends[np.searchsorted(quotes, ends) % 2 == 0]
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    if len(b) and b[-1] != 10:
        ends = np.append(ends, len(b))
    return np.diff(np.searchsorted(commas, ends)) + 1


def targets() -> dict[str, list[tuple[str, str]]]:
    """File -> [(field, referenced file)] for the reference checks."""
    return FOREIGN_KEYS


def messages(counts: Counts) -> list[dict[str, str]]:
    """The Graph messages of the counts, in the verifier's order."""
    keyed = [(_order(f, k, c), _message(f, k, c, n)) for (f, k, c), n in counts.items() if n]
    return [m for _, m in sorted(keyed, key=lambda km: km[0])]


