"""The source side of a sync: the six files read into compact records and their links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sds_core.sync.options import SyncOptions

# Optional columns that have a place in the Graph v1.0 shapes, per file (CSV header names).
SCHOOL_COLUMNS = (
    "School Number",
    "Grade Low",
    "Grade High",
    "Principal SIS ID",
    "Principal Name",
    "Principal Secondary Email",
    "Address",
    "City",
    "State",
    "Country",
    "Zip",
    "Phone",
)
SECTION_COLUMNS = (
    "Section Number",
    "Term SIS ID",
    "Term Name",
    "Term StartDate",
    "Term EndDate",
    "Course SIS ID",
    "Course Name",
    "Course Number",
    "Course Description",
    "Course Subject",
)
STUDENT_COLUMNS = ("Middle Name", "Student Number", "Grade", "Birthdate", "Graduation Year")
TEACHER_COLUMNS = ("Middle Name", "Teacher Number")
# Columns a user record always keeps: they name the account, they are not optional properties.
PERSON_COLUMNS = ("Username", "First Name", "Last Name", "Password")

ROLE_FILES = {"student": "student.csv", "teacher": "teacher.csv"}
ROSTER_FILES = {"student": "studentenrollment.csv", "teacher": "teacherroster.csv"}


@dataclass(slots=True)
class Record:
    """One source entity: its key, the row it came from and the columns kept for it."""

    key: str
    row: int
    values: dict[str, str]
    schools: list[str] = field(default_factory=list)


@dataclass
class Source:
    """Schools, classes and users of one file set, with class rosters and user schools."""

    schools: dict[str, Record] = field(default_factory=dict)
    classes: dict[str, Record] = field(default_factory=dict)
    users: dict[str, Record] = field(default_factory=dict)  # key: "student:<SIS ID>"
    members: dict[str, list[str]] = field(default_factory=dict)  # class -> user keys
    teachers: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # file -> data rows read


def user_key(role: str, sis_id: str) -> str:
    """The key of a user: role and SIS ID (students and teachers have separate SIS IDs)."""
    return f"{role}:{sis_id}"


def _kept(row: Mapping[str, str], always: Iterable[str], optional: Iterable[str], allows) -> dict:
    values = {c: v for c in always if (v := (row.get(c) or "").strip())}
    for column in optional:
        if allows(column) and (v := (row.get(column) or "").strip()):
            values[column] = v
    return values


def read_source(files: Mapping[str, Iterable[Mapping[str, str]]], options: SyncOptions) -> Source:
    """Read the six files (rows keyed by US header names) into a Source."""
    source = Source()
    school_c = options.customization("school")
    for row_no, row in enumerate(files.get("school.csv", ()), start=2):
        source.rows["school.csv"] = row_no - 1
        key = row.get("SIS ID", "")
        if key and key not in source.schools:
            values = _kept(row, ("Name",), SCHOOL_COLUMNS, school_c.allows)
            source.schools[key] = Record(key, row_no, values)
    section_c = options.customization("section")
    for row_no, row in enumerate(files.get("section.csv", ()), start=2):
        source.rows["section.csv"] = row_no - 1
        key = row.get("SIS ID", "")
        if key and key not in source.classes:
            values = _kept(row, ("Section Name",), SECTION_COLUMNS, section_c.allows)
            source.classes[key] = Record(key, row_no, values, [row.get("School SIS ID", "")])
    for role, name in ROLE_FILES.items():
        _read_people(source, role, files.get(name, ()), options)
    for role, name in ROSTER_FILES.items():
        rosters = source.members if role == "student" else source.teachers
        for row_no, row in enumerate(files.get(name, ()), start=2):
            source.rows[name] = row_no - 1
            key = user_key(role, row.get("SIS ID", ""))
            record = source.users.get(key)
            # The user's own key object: 4M roster rows then cost a pointer each, not a string.
            rosters.setdefault(row.get("Section SIS ID", ""), []).append(
                record.key if record else key
            )
    return source


def _read_people(
    source: Source, role: str, rows: Iterable[Mapping[str, str]], options: SyncOptions
) -> None:
    name = ROLE_FILES[role]
    custom = options.customization(role)
    optional = STUDENT_COLUMNS if role == "student" else TEACHER_COLUMNS
    match = options.matching.get(role)
    always = PERSON_COLUMNS if match is None else (*PERSON_COLUMNS, match.source_property)
    for row_no, row in enumerate(rows, start=2):
        source.rows[name] = row_no - 1
        sis_id = row.get("SIS ID", "")
        if not sis_id:
            continue
        key = user_key(role, sis_id)
        record = source.users.get(key)
        if record is None:
            # Later rows with the same SIS ID add schools: one person in several schools.
            record = source.users[key] = Record(
                key, row_no, _kept(row, always, optional, custom.allows)
            )
        school = row.get("School SIS ID", "")
        if school and school not in record.schools:
            record.schools.append(school)
