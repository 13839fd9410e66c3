"""The benchmark generator's own bookkeeping: its expected.json matches a brute-force recount.

The recount below is written from decisions.md ("The rules verified", "Verification messages")
with the standard library csv module only, independently of how the generator places defects.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from bench.generate import CRLF_FILE, ORDERS, generate
from bench.layout import COLUMNS, ENROLLMENT, FILES, ROSTER, TINY

REQUIRED = {
    "school.csv": ("SIS ID", "Name"),
    "section.csv": ("SIS ID", "School SIS ID", "Section Name"),
    "student.csv": ("SIS ID", "School SIS ID", "Username"),
    "teacher.csv": ("SIS ID", "School SIS ID", "Username"),
    "studentenrollment.csv": ("Section SIS ID", "SIS ID"),
    "teacherroster.csv": ("Section SIS ID", "SIS ID"),
}
REFERENCES = {  # (file, field) -> referenced file
    ("section.csv", "School SIS ID"): "school.csv",
    ("student.csv", "School SIS ID"): "school.csv",
    ("teacher.csv", "School SIS ID"): "school.csv",
    ("studentenrollment.csv", "Section SIS ID"): "section.csv",
    ("studentenrollment.csv", "SIS ID"): "student.csv",
    ("teacherroster.csv", "Section SIS ID"): "section.csv",
    ("teacherroster.csv", "SIS ID"): "teacher.csv",
}
SIS_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
USERNAME_PREFIX = re.compile(r"[A-Za-z0-9'._!#^~-]{1,64}")
DOMAIN = re.compile(r"([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def valid_username(value: str) -> bool:
    prefix, at, domain = value.partition("@")
    if not USERNAME_PREFIX.fullmatch(prefix) or ".." in prefix:
        return False
    if prefix.startswith(".") or prefix.endswith("."):
        return False
    return not at or DOMAIN.fullmatch(domain) is not None


def valid_date(value: str) -> bool:
    for pattern in (r"(\d{4})-(\d{2})-(\d{2})", r"(\d{4})(\d{2})(\d{2})"):
        if m := re.fullmatch(pattern, value):
            year, month, day = m.groups()
            break
    else:
        if not (m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)):
            return False
        month, day, year = m.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def valid_name(value: str, limit: int) -> bool:
    return len(value) <= limit and not any(unicodedata.category(c) == "Cc" for c in value)


def valid(file: str, field: str, value: str) -> bool:
    if "\x00" in value:
        return False
    if field.endswith("SIS ID"):
        return SIS_ID.fullmatch(value) is not None
    if field == "Username":
        return valid_username(value)
    if field.endswith("Email"):
        return EMAIL.fullmatch(value) is not None
    if field in ("Term StartDate", "Term EndDate", "Birthdate"):
        return valid_date(value)
    if field == "Graduation Year":
        return re.fullmatch(r"\d{4}", value) is not None
    if field in ("Name", "Section Name"):
        return valid_name(value, 256)
    if field in ("First Name", "Middle Name", "Last Name"):
        return valid_name(value, 64)
    return True


def recount(folder: Path) -> list[dict[str, str]]:
    """Verification messages of a folder, counted row by row."""
    tables: dict[str, tuple[list[str], list[list[str]], list[list[str]]]] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            header, *rows = list(csv.reader(f))
        even = [r for r in rows if len(r) == len(header)]
        tables[path.name.lower()] = (header, even, [r for r in rows if len(r) != len(header)])

    def present_keys(name: str) -> set[str]:
        header, even, ragged = tables[name]
        col = header.index("SIS ID")
        return {r[col] for r in even} | {r[col] for r in ragged if len(r) > col}

    teacher_header, teacher_rows, _ = tables["teacher.csv"]
    teacher_col = teacher_header.index("Username")
    teacher_usernames = {r[teacher_col].casefold() for r in teacher_rows if r[teacher_col].strip()}
    messages: list[dict[str, str]] = []

    def add(kind: str, name: str, text: str) -> None:
        messages.append({"type": kind, "fileName": name, "description": text})

    for name, (header, even, ragged) in tables.items():
        known = set(COLUMNS[next(f for f in FILES if f.lower() == name)])
        for field in header:
            if field not in known:
                add("Warning", name, f"The column is not part of the SDS format and was ignored"
                                     f" - {field}")
        if ragged:
            add("Error", name, f"{len(ragged)} row(s) have a number of fields different from the"
                               " header")
        for col, field in enumerate(header):
            breaks = sum(1 for r in even if "\r" in r[col] or "\n" in r[col])
            if breaks:
                add("Error", name, f"{breaks} row(s) have a line break inside the field - {field}")
        for col, field in enumerate(header):
            values = [r[col] for r in even]
            filled = [x for x in values if x.strip()]
            missing = len(values) - len(filled) if field in REQUIRED[name] else 0
            invalid = [x for x in filled if not valid(name, field, x)]
            if missing:
                add("Error", name, f"{missing} row(s) have missing data for the field - {field}")
            if invalid:
                add("Error", name, f"{len(invalid)} row(s) have an invalid format for the field"
                                   f" - {field}")
            if field in ("SIS ID", "Username") and name in ("school.csv", "section.csv",
                                                            "student.csv", "teacher.csv"):
                keys = [x.casefold() if field == "Username" else x for x in filled]
                extra = len(keys) - len(set(keys))
                if extra:
                    kind = "Error" if name in ("school.csv", "section.csv") else "Warning"
                    add(kind, name, f"{extra} duplicates found in column {field} which requires"
                                    " values to be Unique.")
            target = REFERENCES.get((name, field))
            if target:
                keys = present_keys(target)
                dangling = sum(1 for x in filled if valid(name, field, x) and x not in keys)
                if dangling:
                    add("Error", name, f"{dangling} row(s) have referenced data not found in"
                                       f" source. Field - {field}")
        if name in ("studentenrollment.csv", "teacherroster.csv"):
            pairs = [(r[0], r[1]) for r in even if r[0].strip() and r[1].strip()]
            extra = len(pairs) - len(set(pairs))
            if extra:
                add("Warning", name, f"{extra} duplicates found in column Section SIS ID + SIS ID"
                                     " which requires values to be Unique.")
        if name == "student.csv":
            col = header.index("Username")
            shared = sum(1 for r in even
                         if r[col].strip() and r[col].casefold() in teacher_usernames)
            if shared:
                add("Warning", name, f"{shared} row(s) have a Username that is also used in"
                                     " teacher.csv")
    return messages


def as_multiset(messages: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return sorted((m["fileName"], m["type"], m["description"]) for m in messages)


@pytest.fixture(scope="module", params=ORDERS)
def tiny(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"tiny-{request.param}")
    generate(folder, TINY, seed=7, order=request.param)
    return folder


def test_expected_json_matches_a_brute_force_recount(tiny: Path) -> None:
    expected = json.loads((tiny / "expected.json").read_text(encoding="utf-8"))
    assert as_multiset(recount(tiny)) == as_multiset(expected)


def test_every_kind_of_message_is_injected(tiny: Path) -> None:
    expected = json.loads((tiny / "expected.json").read_text(encoding="utf-8"))
    kinds = Counter(re.sub(r"^\d+ ", "", m["description"]).split(" - ")[0] for m in expected)
    assert sorted(kinds) == sorted([
        "The column is not part of the SDS format and was ignored",
        "row(s) have a number of fields different from the header",
        "row(s) have a line break inside the field",
        "row(s) have missing data for the field",
        "row(s) have an invalid format for the field",
        "duplicates found in column SIS ID which requires values to be Unique.",
        "duplicates found in column Username which requires values to be Unique.",
        "duplicates found in column Section SIS ID + SIS ID which requires values to be Unique.",
        "row(s) have referenced data not found in source. Field",
        "row(s) have a Username that is also used in teacher.csv",
    ])


def test_files_have_the_sample_headers_their_line_endings_and_the_scale_row_counts(tiny: Path) -> None:
    for file in FILES:
        raw = (tiny / file).read_bytes()
        with (tiny / file).open(encoding="utf-8", newline="") as f:
            header, *rows = list(csv.reader(f))
        extra = ["Department"] if file == "Teacher.csv" else []
        assert (header, len(rows)) == (list(COLUMNS[file]) + extra, TINY.rows[file])
        newline = "\r\n" if file == CRLF_FILE else "\n"
        inside = sum(value.count(newline) for row in rows for value in row)
        inside_crlf = sum(value.count("\r\n") for row in rows for value in row)
        assert raw.count(newline.encode()) == len(rows) + 1 + inside
        assert raw.endswith(newline.encode())
        if newline == "\n":
            assert raw.count(b"\r\n") == inside_crlf


def test_the_ids_are_numeric_alphanumeric_and_guid_like(tiny: Path) -> None:
    with (tiny / "Student.csv").open(encoding="utf-8", newline="") as f:
        ids = [row[0] for row in csv.reader(f)][1:]
    assert any(i.isdigit() for i in ids)
    assert any(re.fullmatch(r"ST\d{7}X", i) for i in ids)
    assert any(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", i) for i in ids)


def test_the_orders_group_the_membership_files_as_named(tiny: Path) -> None:
    order = tiny.name.split("-")[1].rstrip("0123456789")
    for file in (ENROLLMENT, ROSTER):
        with (tiny / file).open(encoding="utf-8", newline="") as f:
            rows = [r for r in list(csv.reader(f))[1:] if len(r) == 2]
        column = 0 if order == "section" else 1
        keys = [r[column] for r in rows]
        if order == "shuffled":
            assert keys != sorted(keys)
        else:
            assert keys == sorted(keys)


def test_the_same_seed_writes_the_same_bytes(tiny: Path, tmp_path: Path) -> None:
    order = tiny.name.split("-")[1].rstrip("0123456789")
    generate(tmp_path, TINY, seed=7, order=order)
    assert {f: (tmp_path / f).read_bytes() for f in FILES} == {
        f: (tiny / f).read_bytes() for f in FILES}
