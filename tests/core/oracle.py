"""A plain, row-by-row reimplementation of the value rules, written apart from the engine.

It covers the minimal column sets only (what the property tests generate) and returns the expected
Graph messages as a sorted list of (type, fileName, description).
"""

from __future__ import annotations

import re

SIS_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}", re.ASCII)
USERNAME_PREFIX = re.compile(r"[A-Za-z0-9'._!#^~\-]{1,64}", re.ASCII)
DOMAIN_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?", re.ASCII)

COLUMNS = {
    "school.csv": [("SIS ID", "id"), ("Name", "name")],
    "section.csv": [("SIS ID", "id"), ("School SIS ID", "id"), ("Section Name", "name")],
    "student.csv": [("SIS ID", "id"), ("School SIS ID", "id"), ("Username", "username")],
    "teacher.csv": [("SIS ID", "id"), ("School SIS ID", "id"), ("Username", "username")],
    "studentenrollment.csv": [("Section SIS ID", "id"), ("SIS ID", "id")],
    "teacherroster.csv": [("Section SIS ID", "id"), ("SIS ID", "id")],
}
REFERENCES = {
    "section.csv": [("School SIS ID", "school.csv")],
    "student.csv": [("School SIS ID", "school.csv")],
    "teacher.csv": [("School SIS ID", "school.csv")],
    "studentenrollment.csv": [("Section SIS ID", "section.csv"), ("SIS ID", "student.csv")],
    "teacherroster.csv": [("Section SIS ID", "section.csv"), ("SIS ID", "teacher.csv")],
}


def is_missing(value: str) -> bool:
    return value.strip() == ""


def is_valid(value: str, kind: str) -> bool:
    if kind == "id":
        return SIS_ID.fullmatch(value) is not None
    if kind == "name":
        return len(value) <= 256 and not any(ord(c) < 32 or ord(c) == 127 for c in value)
    prefix, at, domain = value.partition("@")
    if not USERNAME_PREFIX.fullmatch(prefix) or prefix.startswith(".") or prefix.endswith(".") or ".." in prefix:
        return False
    if not at:
        return True
    labels = domain.split(".")
    return len(labels) >= 2 and all(DOMAIN_LABEL.fullmatch(label) for label in labels)


def expected_messages(tables: dict[str, list[list[str]]]) -> list[tuple[str, str, str]]:
    """Messages 14 to 17 and 19 for complete, well-formed tables keyed by lower-case file name."""
    out: list[tuple[str, str, str]] = []
    for file_name, rows in tables.items():
        names = [name for name, _ in COLUMNS[file_name]]
        for position, (field, kind) in enumerate(COLUMNS[file_name]):
            values = [row[position] for row in rows]
            missing = sum(is_missing(v) for v in values)
            invalid = sum(not is_missing(v) and not is_valid(v, kind) for v in values)
            if missing:
                out.append(("Error", file_name, f"{missing} row(s) have missing data for the field - {field}"))
            if invalid:
                out.append(("Error", file_name, f"{invalid} row(s) have an invalid format for the field - {field}"))
            unique = field in ("SIS ID", "Username") and file_name in ("school.csv", "section.csv", "student.csv", "teacher.csv")
            if unique and not (file_name in ("school.csv", "section.csv") and field != "SIS ID"):
                present = [v.lower() if kind == "username" else v for v in values if not is_missing(v)]
                extra = len(present) - len(set(present))
                if extra:
                    severity = "Error" if file_name in ("school.csv", "section.csv") else "Warning"
                    out.append((severity, file_name,
                                f"{extra} duplicates found in column {field} which requires values to be Unique."))
        for field, target in REFERENCES.get(file_name, []):
            position = names.index(field)
            keys = {row[0] for row in tables[target]}
            dangling = sum(
                1 for row in rows
                if not is_missing(row[position]) and is_valid(row[position], "id") and row[position] not in keys
            )
            if dangling:
                out.append(("Error", file_name,
                            f"{dangling} row(s) have referenced data not found in source. Field - {field}"))
        if file_name in ("studentenrollment.csv", "teacherroster.csv"):
            pairs = [(a, b) for a, b in rows if not is_missing(a) and not is_missing(b)]
            extra = len(pairs) - len(set(pairs))
            if extra:
                out.append(("Warning", file_name, f"{extra} duplicates found in column Section SIS ID + SIS ID "
                                                  "which requires values to be Unique."))
    teachers = {r[2].lower() for r in tables["teacher.csv"] if not is_missing(r[2])}
    shared = sum(1 for r in tables["student.csv"] if not is_missing(r[2]) and r[2].lower() in teachers)
    if shared:
        out.append(("Warning", "student.csv", f"{shared} row(s) have a Username that is also used in teacher.csv"))
    return sorted(out)
