"""The SDS classic (v1) rules as tables, shared by the fast peers: files, columns, formats, texts.

Written from the rules only (/work/shared/spec/decisions.md "Verification messages" and "The rules
verified", sds-csv.md 1.2 to 1.8), without reading the verifier or the older peers. The engines
(bench/peer_polars_fast.py, bench/peer_duckdb_fast.py) count; this module decides which files and
columns there are, reads the header record, and turns the counts into Graph's messages.

Readings of the rules where they are silent, the same in both fast peers:
- a ragged row (message 11) gets no other row message, but its values still "appear in the file"
  for the references into that file and for message 19 (its fields are taken by position);
- a blank line is not a row; a value that is empty or only whitespace is "missing" in a required
  column and "no value" (no format check, not a duplicate) in any column;
- a value with a line break (message 12) is not also an invalid format;
- a header spelled with another case or surrounding spaces (message 7) does not make the column
  present: no message 6 for it and no row messages; only the first exact spelling is read;
- message 12 counts in the format's columns only (unknown columns are ignored);
- a Username's domain is two or more DNS labels; an email is `local@domain.tld`, no whitespace.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

SCHOOL, SECTION, STUDENT = "school.csv", "section.csv", "student.csv"
TEACHER, ENROLLMENT, ROSTER = "teacher.csv", "studentenrollment.csv", "teacherroster.csv"
FILES = (SCHOOL, SECTION, STUDENT, TEACHER, ENROLLMENT, ROSTER)

# Column lists in the specification's order (sds-csv.md 1.2), US names.
COLUMNS: dict[str, tuple[str, ...]] = {
    SCHOOL: ("SIS ID", "Name", "School Number", "School NCES_ID", "State ID", "Grade Low",
             "Grade High", "Principal SIS ID", "Principal Name", "Principal Secondary Email",
             "Address", "City", "State", "Country", "Zip", "Phone", "Zone"),
    SECTION: ("SIS ID", "School SIS ID", "Section Name", "Section Number", "Term SIS ID",
              "Term Name", "Term StartDate", "Term EndDate", "Course SIS ID", "Course Name",
              "Course Number", "Course Description", "Course Subject", "Periods", "Status"),
    STUDENT: ("SIS ID", "School SIS ID", "Username", "First Name", "Last Name", "Password",
              "State ID", "Secondary Email", "Student Number", "Middle Name", "Grade", "Status",
              "Birthdate", "Graduation Year"),
    TEACHER: ("SIS ID", "School SIS ID", "Username", "First Name", "Last Name", "Password",
              "State ID", "Teacher Number", "Status", "Middle Name", "Secondary Email", "Title",
              "Qualification"),
    ENROLLMENT: ("Section SIS ID", "SIS ID"),
    ROSTER: ("Section SIS ID", "SIS ID"),
}

# The UK variant renames the ID columns (sds-csv.md 2); a header with one of them is UK.
UK_NAMES: dict[str, dict[str, str]] = {
    SCHOOL: {"SIS ID": "DfE Number", "Zip": "Postal Code"},
    SECTION: {"SIS ID": "ID", "School SIS ID": "School DfE Number"},
    STUDENT: {"SIS ID": "ID", "School SIS ID": "School DfE Number"},
    TEACHER: {"SIS ID": "ID", "School SIS ID": "School DfE Number"},
    ENROLLMENT: {"Section SIS ID": "Section ID", "SIS ID": "ID"},
    ROSTER: {"Section SIS ID": "Section ID", "SIS ID": "ID"},
}
UK_MARKERS = frozenset(n.casefold() for n in
                       ("DfE Number", "ID", "School DfE Number", "Section ID", "Postal Code"))

REQUIRED: dict[str, frozenset[str]] = {
    SCHOOL: frozenset({"SIS ID", "Name"}),
    SECTION: frozenset({"SIS ID", "School SIS ID", "Section Name"}),
    STUDENT: frozenset({"SIS ID", "School SIS ID", "Username"}),
    TEACHER: frozenset({"SIS ID", "School SIS ID", "Username"}),
    ENROLLMENT: frozenset({"Section SIS ID", "SIS ID"}),
    ROSTER: frozenset({"Section SIS ID", "SIS ID"}),
}

# Format kinds: id, username, email, date, year, name64, name256; any other column is text
# (only a NUL character is invalid there).
_KINDS: dict[str, dict[str, str]] = {
    SCHOOL: {"SIS ID": "id", "Name": "name256", "Principal SIS ID": "id",
             "Principal Secondary Email": "email"},
    SECTION: {"SIS ID": "id", "School SIS ID": "id", "Section Name": "name256",
              "Term SIS ID": "id", "Term StartDate": "date", "Term EndDate": "date",
              "Course SIS ID": "id"},
    STUDENT: {"SIS ID": "id", "School SIS ID": "id", "Username": "username",
              "First Name": "name64", "Last Name": "name64", "Middle Name": "name64",
              "Secondary Email": "email", "Birthdate": "date", "Graduation Year": "year"},
    TEACHER: {"SIS ID": "id", "School SIS ID": "id", "Username": "username",
              "First Name": "name64", "Last Name": "name64", "Middle Name": "name64",
              "Secondary Email": "email"},
    ENROLLMENT: {"Section SIS ID": "id", "SIS ID": "id"},
    ROSTER: {"Section SIS ID": "id", "SIS ID": "id"},
}


def kind(file: str, column: str) -> str:
    """The format kind of a column (US name)."""
    return _KINDS[file].get(column, "text")


# Uniqueness: column -> (severity, compared without case)
UNIQUE: dict[str, dict[str, tuple[str, bool]]] = {
    SCHOOL: {"SIS ID": ("Error", False)},
    SECTION: {"SIS ID": ("Error", False)},
    STUDENT: {"SIS ID": ("Warning", False), "Username": ("Warning", True)},
    TEACHER: {"SIS ID": ("Warning", False), "Username": ("Warning", True)},
    ENROLLMENT: {},
    ROSTER: {},
}
PAIRED = frozenset({ENROLLMENT, ROSTER})  # (Section SIS ID, SIS ID) pair duplicates: Warning

# References (Errors): (file, column) -> (referenced file, its column)
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    (SECTION, "School SIS ID"): (SCHOOL, "SIS ID"),
    (STUDENT, "School SIS ID"): (SCHOOL, "SIS ID"),
    (TEACHER, "School SIS ID"): (SCHOOL, "SIS ID"),
    (ENROLLMENT, "Section SIS ID"): (SECTION, "SIS ID"),
    (ENROLLMENT, "SIS ID"): (STUDENT, "SIS ID"),
    (ROSTER, "Section SIS ID"): (SECTION, "SIS ID"),
    (ROSTER, "SIS ID"): (TEACHER, "SIS ID"),
}

# Regular expressions, in the syntax both Rust's regex (polars) and RE2 (DuckDB) read the same
# way. Whitespace is Unicode White_Space, spelled out so that both engines agree.
WS = r"\t\n\x0B\x0C\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
BLANK = f"^[{WS}]*$"
SIS_ID = r"^[A-Za-z0-9._-]{1,64}$"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PREFIX_CHAR = r"[A-Za-z0-9'_!#^~-]"
USERNAME = rf"^{_PREFIX_CHAR}+(?:\.{_PREFIX_CHAR}+)*(?:@(?:{_LABEL}\.)+{_LABEL})?$"
USERNAME_PREFIX_TOO_LONG = r"^[^@]{65}"
EMAIL = rf"^[^@{WS}]+@[^@{WS}]+\.[^@{WS}]+$"
YEAR = r"^[0-9]{4}$"
# A date's shape; which alternative matched tells where year, month and day are.
DATE = (r"^(?:([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{4})([0-9]{2})([0-9]{2})"
        r"|([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}))$")
CONTROL = r"[\x00-\x1F\x7F-\x{9F}]"
LINE_BREAK = r"[\r\n]"
NAME_LIMIT = {"name64": 64, "name256": 256}


def pair_name(variant: str) -> str:
    """The column of the pair duplicate message."""
    return "Section ID + ID" if variant == "UK" else "Section SIS ID + SIS ID"


@dataclass
class Header:
    """What a file's header says: its variant, where each SDS column is, and header messages."""

    file: str
    variant: str
    fields: list[str]
    position: dict[str, int]  # US column name -> index of its first exact spelling
    display: dict[str, str]  # US column name -> the name as the variant writes it
    # (message number, order within the number, type, text)
    messages: list[tuple[int, int, str, str]] = field(default_factory=list)
    record_bytes: int = 0  # bytes of the header record, line ending included
    record_lines: int = 1  # physical lines of the header record

    @property
    def width(self) -> int:
        """Fields in the header."""
        return len(self.fields)

    def present(self, column: str) -> bool:
        """Whether the file has the column (spelled exactly)."""
        return column in self.position


def _cut(text: str) -> str:
    return text if len(text) <= 100 else f"{text[:100]}\u2026 ({len(text)} characters)"


def analyze_header(file: str, fields: list[str]) -> Header:
    """Variant, column positions and the messages 6 to 9 for one header."""
    variant = "UK" if any(f.strip().casefold() in UK_MARKERS for f in fields) else "US"
    renames = UK_NAMES[file] if variant == "UK" else {}
    display = {c: renames.get(c, c) for c in COLUMNS[file]}
    by_name = {name: c for c, name in display.items()}
    by_folded = {name.casefold(): c for c, name in display.items()}
    position: dict[str, int] = {}
    seen: dict[str, int] = {}
    miswritten: dict[str, str] = {}
    unknown: list[str] = []
    for i, given in enumerate(fields):
        column = by_name.get(given)
        if column is not None:
            seen[column] = seen.get(column, 0) + 1
            position.setdefault(column, i)
            continue
        column = by_folded.get(given.strip().casefold())
        if column is not None:
            miswritten.setdefault(column, given)
        else:
            unknown.append(given)
    header = Header(file, variant, fields, position, display)
    order = {c: i for i, c in enumerate(COLUMNS[file])}
    for column in COLUMNS[file]:
        name = display[column]
        if column in REQUIRED[file] and column not in position and column not in miswritten:
            header.messages.append((6, order[column], "Error",
                                    f"The header is missing the required field - {name}"))
        if column in miswritten:
            header.messages.append((7, order[column], "Error",
                                    f'The header field "{_cut(miswritten[column])}" must be '
                                    f'written exactly "{name}"'))
        if seen.get(column, 0) > 1:
            header.messages.append((8, order[column], "Error",
                                    f"The header contains the field more than once - {name}"))
    for i, given in enumerate(unknown[:50]):
        header.messages.append((9, i, "Warning", "The column is not part of the SDS format and "
                                f"was ignored - {_cut(given)}"))
    if len(unknown) > 50:
        header.messages.append((9, 50, "Warning", "The column is not part of the SDS format and "
                                f"was ignored - and {len(unknown) - 50} more columns"))
    return header


class NotUtf8(Exception):
    """The bytes of a file do not decode; `line` is where the first invalid byte is."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def not_utf8(line: int) -> str:
    """The text of message 5."""
    return f"The file is not UTF-8 encoded (first invalid byte on line {line})."


def invalid_utf8_line(path: Path) -> int | None:
    """Line (1-based) of the first byte that is not UTF-8, or None when the file decodes."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return data.count(b"\n", 0, error.start) + 1
    return None


def read_header(file: str, path: Path) -> Header | str:
    """The header of a file, or the text of message 4 or 5 when it has none to read."""
    with path.open("rb") as f:
        chunk = f.read(1 << 16)
        start = 3 if chunk.startswith(b"\xef\xbb\xbf") else 0
        if not chunk[start:].strip():
            rest = f.read(1 << 20)
            while rest and not rest.strip():
                rest = f.read(1 << 20)
            if not rest:
                return "The file is empty."
        end = _record_end(chunk, start)
        while end < 0:  # a header record longer than what was read
            more = f.read(len(chunk))
            if not more:
                end = len(chunk)
                break
            chunk += more
            end = _record_end(chunk, start)
    raw = chunk[start:end]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return not_utf8(raw.count(b"\n", 0, error.start) + 1)
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    fields = next(csv.reader([text], strict=False), [])
    header = analyze_header(file, fields)
    header.record_bytes = end
    header.record_lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    return header



def read_headers(upload: Upload) -> tuple[dict[str, Header], dict[str, str]]:
    """Each file's header record, or its header problem (message text) by file."""
    headers: dict[str, Header] = {}
    problems: dict[str, str] = {}
    for file, path in upload.paths.items():
        header = read_header(file, path)
        if isinstance(header, str):
            problems[file] = header
        else:
            headers[file] = header
    return headers, problems

def _record_end(chunk: bytes, start: int) -> int:
    """End (after its LF) of the first CSV record in chunk, or -1 when it does not end there."""
    quotes = 0
    position = start
    while True:
        newline = chunk.find(b"\n", position)
        if newline < 0:
            return -1
        quotes += chunk.count(b'"', position, newline)
        if quotes % 2 == 0:
            return newline + 1
        position = newline + 1


@dataclass
class Upload:
    """The files of a folder as the rules see them."""

    paths: dict[str, Path]  # canonical name -> the one file to verify
    messages: list[dict[str, str]]  # messages 1 to 3


def scan_folder(folder: Path) -> Upload:
    """The six files (any letter case), and messages 1, 2 and 3."""
    by_name: dict[str, list[Path]] = {}
    for entry in folder.iterdir():
        if entry.is_file() and entry.name.lower().endswith(".csv"):
            by_name.setdefault(entry.name.lower(), []).append(entry)
    paths: dict[str, Path] = {}
    messages: list[dict[str, str]] = []
    for name, found in sorted(by_name.items()):
        if name not in FILES:
            messages.extend(_message("Warning", name, "The file is not part of the SDS format "
                                     "and was ignored.") for _ in found)
        elif len(found) > 1:
            names = ", ".join(sorted(p.name for p in found))
            messages.append(_message("Error", name, f"{len(found)} files differ from this name "
                                     f"only in letter case: {names}"))
        else:
            paths[name] = found[0]
    for name in FILES:
        if name not in by_name:
            messages.append(_message("Error", name, "The required file was not uploaded."))
    return Upload(paths, messages)


def _message(type_: str, file: str, text: str) -> dict[str, str]:
    return {"type": type_, "fileName": file, "description": text}


def row_limit() -> int:
    """SDS_MAX_ROWS_PER_FILE, 0 (no limit) when unset."""
    try:
        return max(0, int(os.environ.get("SDS_MAX_ROWS_PER_FILE", "0")))
    except ValueError:
        return 0


def checkable(headers: dict[str, Header]) -> set[tuple[str, str]]:
    """References whose referenced file was read and has the referenced column."""
    return {source for source, (target, column) in REFERENCES.items()
            if source[0] in headers and target in headers and headers[target].present(column)}


# Counts an engine gives for one file: {(kind, column): n}, kind one of ragged, linebreak,
# missing, invalid, duplicate, dangling, pair, teacher_username ("" column for the file-level
# ones), plus ("rows", "") for the data rows.
Counts = dict[tuple[str, str], int]

_FIELD_KINDS = {"missing": 14, "invalid": 15, "duplicate": 16, "dangling": 17}


def messages(upload: Upload, problems: dict[str, str], headers: dict[str, Header],
             counts: dict[str, Counts]) -> list[dict[str, str]]:
    """Every message, in the documented order: by file, then file level, fields, pair, 19."""
    keyed: list[tuple[tuple, dict[str, str]]] = []
    for m in upload.messages:
        number = {"The required file was not uploaded.": 1}.get(m["description"], 2)
        if m["type"] == "Warning":
            number = 3
        keyed.append(((m["fileName"], 0, number, 0, 0), m))
    for file, problem in problems.items():
        number = 4 if problem == "The file is empty." else 5
        keyed.append(((file, 0, number, 0, 0), _message("Error", file, problem)))
    limit = row_limit()
    for file, header in headers.items():
        for number, order, type_, text in header.messages:
            keyed.append(((file, 0, number, order, 0), _message(type_, file, text)))
        n = counts.get(file, {})
        position = {c: i for i, c in enumerate(COLUMNS[file])}
        name = header.display
        rows = n.get(("rows", ""), 0)
        if rows == 0:
            keyed.append(((file, 0, 10, 0, 0), _message(
                "Warning", file, "The file has a header but no data rows.")))
        if n.get(("ragged", ""), 0):
            keyed.append(((file, 0, 11, 0, 0), _message(
                "Error", file, f"{n['ragged', '']} row(s) have a number of fields different "
                "from the header")))
        if limit and rows > limit:
            keyed.append(((file, 0, 13, 0, 0), _message(
                "Error", file, f"{rows - limit} row(s) exceed the maximum of {limit} rows per "
                "file")))
        for (what, column), value in n.items():
            if not value:
                continue
            if what == "linebreak":
                keyed.append(((file, 0, 12, position[column], 0), _message(
                    "Error", file, f"{value} row(s) have a line break inside the field - "
                    f"{name[column]}")))
            elif what in _FIELD_KINDS:
                type_ = "Error"
                if what == "missing":
                    text = f"{value} row(s) have missing data for the field - {name[column]}"
                elif what == "invalid":
                    text = f"{value} row(s) have an invalid format for the field - {name[column]}"
                elif what == "duplicate":
                    type_ = UNIQUE[file][column][0]
                    text = (f"{value} duplicates found in column {name[column]} which requires "
                            "values to be Unique.")
                else:
                    text = (f"{value} row(s) have referenced data not found in source. Field - "
                            f"{name[column]}")
                keyed.append(((file, 1, position[column], _FIELD_KINDS[what], 0),
                              _message(type_, file, text)))
            elif what == "pair":
                keyed.append(((file, 2, 0, 0, 0), _message(
                    "Warning", file, f"{value} duplicates found in column "
                    f"{pair_name(header.variant)} which requires values to be Unique.")))
            elif what == "teacher_username":
                keyed.append(((file, 3, 0, 0, 0), _message(
                    "Warning", file, f"{value} row(s) have a Username that is also used in "
                    "teacher.csv")))
    return [m for _, m in sorted(keyed, key=lambda km: km[0])]


def is_real_date(year: int, month: int, day: int) -> bool:
    """Whether year-month-day is in the calendar (years 1 to 9999)."""
    if not (1 <= year <= 9999 and 1 <= month <= 12 and day >= 1):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
