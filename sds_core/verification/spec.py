"""The SDS classic (v1) CSV format as data: files, columns, value kinds, keys and references.

`Format` bundles one format's files and file rules; v1 is `V1` here, v2.1 is in spec_v21.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


ANY_ROLE = "any"  # FileSpec.role of a file whose users may have any role (v2.1 users.csv)


class Kind(StrEnum):
    """What a column holds; each kind has its own format rule."""

    SIS_ID = "sisId"
    USERNAME = "username"
    EMAIL = "email"
    DATE = "date"
    YEAR = "year"
    SCHOOL_NAME = "schoolName"
    PERSON_NAME = "personName"
    PASSWORD = "password"
    TEXT = "text"
    # SDS v2.1 (spec_v21.py)
    UNIQUE_ID = "uniqueId"
    UPN = "usernameWithDomain"
    ISO_DATE = "isoDate"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    """One column of a file, named as the US header writes it (`uk` when the UK header differs)."""

    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    uk: str | None = None
    required_when_creating: bool = False
    values: frozenset[str] | None = None
    """A list of values (compared without regard to case, as the new SDS's enums are); None: any."""
    list_name: str = ""
    """The list's name in the new SDS (RefRoleId, ...), as its messages quote it."""
    list_is_error: bool = False
    """A value outside the list is an Error (a fixed list), else a Warning (the tenant may extend it)."""
    multiple: bool = False
    """The field may hold several comma-separated references (v2.1 sessionSourcedIds)."""

    def header(self, uk: bool) -> str:
        """The header text of this column in the US or UK variant."""
        return self.uk if uk and self.uk else self.name


@dataclass(frozen=True)
class Reference:
    """A column whose values must appear in the key column of another file."""

    column: str
    target_file: str
    target_column: str = "SIS ID"


@dataclass(frozen=True)
class FileSpec:
    """One of the six classic files."""

    name: str
    customization: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    unique_is_error: bool = False
    unique_pair: tuple[str, str] | None = None
    references: tuple[Reference, ...] = ()
    special_character_columns: tuple[str, ...] = ()
    role: str | None = None
    key: str = "SIS ID"
    """The column other files reference."""

    def column(self, name: str) -> Column:
        """The column with this US name."""
        return next(c for c in self.columns if c.name == name)

    def position(self, name: str) -> int:
        """Position of a column (US name) in the specification's column list."""
        return next(i for i, c in enumerate(self.columns) if c.name == name)


def _person_columns(extra: tuple[Column, ...]) -> tuple[Column, ...]:
    head = (
        Column("SIS ID", Kind.SIS_ID, required=True, uk="ID"),
        Column("School SIS ID", Kind.SIS_ID, required=True, uk="School DfE Number"),
        Column("Username", Kind.USERNAME, required=True),
        Column("First Name", Kind.PERSON_NAME, required_when_creating=True),
        Column("Last Name", Kind.PERSON_NAME, required_when_creating=True),
        Column("Password", Kind.PASSWORD, required_when_creating=True),
    )
    return head + extra


SCHOOL = FileSpec(
    name="school.csv",
    customization="school",
    columns=(
        Column("SIS ID", Kind.SIS_ID, required=True, uk="DfE Number"),
        Column("Name", Kind.SCHOOL_NAME, required=True),
        Column("School Number"),
        Column("School NCES_ID"),
        Column("State ID"),
        Column("Grade Low"),
        Column("Grade High"),
        Column("Principal SIS ID", Kind.SIS_ID),
        Column("Principal Name"),
        Column("Principal Secondary Email", Kind.EMAIL),
        Column("Address"),
        Column("City"),
        Column("State"),
        Column("Country"),
        Column("Zip", uk="Postal Code"),
        Column("Phone"),
        Column("Zone"),
    ),
    unique=("SIS ID",),
    unique_is_error=True,
)

SECTION = FileSpec(
    name="section.csv",
    customization="section",
    columns=(
        Column("SIS ID", Kind.SIS_ID, required=True, uk="ID"),
        Column("School SIS ID", Kind.SIS_ID, required=True, uk="School DfE Number"),
        Column("Section Name", Kind.SCHOOL_NAME, required=True),
        Column("Section Number"),
        Column("Term SIS ID", Kind.SIS_ID),
        Column("Term Name"),
        Column("Term StartDate", Kind.DATE),
        Column("Term EndDate", Kind.DATE),
        Column("Course SIS ID", Kind.SIS_ID),
        Column("Course Name"),
        Column("Course Number"),
        Column("Course Description"),
        Column("Course Subject"),
        Column("Periods"),
        Column("Status"),
    ),
    unique=("SIS ID",),
    unique_is_error=True,
    references=(Reference("School SIS ID", "school.csv"),),
    special_character_columns=("SIS ID",),
)

STUDENT = FileSpec(
    name="student.csv",
    customization="student",
    columns=_person_columns(
        (
            Column("State ID"),
            Column("Secondary Email", Kind.EMAIL),
            Column("Student Number"),
            Column("Middle Name", Kind.PERSON_NAME),
            Column("Grade"),
            Column("Status"),
            Column("Birthdate", Kind.DATE),
            Column("Graduation Year", Kind.YEAR),
        )
    ),
    unique=("SIS ID", "Username"),
    references=(Reference("School SIS ID", "school.csv"),),
    special_character_columns=("Username",),
    role="student",
)

TEACHER = FileSpec(
    name="teacher.csv",
    customization="teacher",
    columns=_person_columns(
        (
            Column("State ID"),
            Column("Teacher Number"),
            Column("Status"),
            Column("Middle Name", Kind.PERSON_NAME),
            Column("Secondary Email", Kind.EMAIL),
            Column("Title"),
            Column("Qualification"),
        )
    ),
    unique=("SIS ID", "Username"),
    references=(Reference("School SIS ID", "school.csv"),),
    special_character_columns=("Username",),
    role="teacher",
)


def _membership(name: str, customization: str, person_file: str) -> FileSpec:
    return FileSpec(
        name=name,
        customization=customization,
        columns=(
            Column("Section SIS ID", Kind.SIS_ID, required=True, uk="Section ID"),
            Column("SIS ID", Kind.SIS_ID, required=True, uk="ID"),
        ),
        unique_pair=("Section SIS ID", "SIS ID"),
        references=(
            Reference("Section SIS ID", "section.csv"),
            Reference("SIS ID", person_file),
        ),
        special_character_columns=("Section SIS ID",),
    )


STUDENT_ENROLLMENT = _membership("studentenrollment.csv", "studentEnrollment", "student.csv")
TEACHER_ROSTER = _membership("teacherroster.csv", "teacherRoster", "teacher.csv")

# Parents before the files that reference them, so key sets exist when references are checked.
# Teachers before students: message 19 on student.csv needs teacher.csv's Usernames.
FILES: tuple[FileSpec, ...] = (SCHOOL, SECTION, TEACHER, STUDENT, STUDENT_ENROLLMENT, TEACHER_ROSTER)
FILES_BY_NAME: dict[str, FileSpec] = {f.name: f for f in FILES}

# Headers that only the UK variant uses; a file whose header has more of these than of the US ones is UK.
UK_MARKERS = frozenset({"DfE Number", "ID", "School DfE Number", "Section ID", "Postal Code"})
US_MARKERS = frozenset({"SIS ID", "School SIS ID", "Section SIS ID", "Zip"})


@dataclass(frozen=True)
class Format:
    """One CSV format: its files (parents before the files that reference them) and file rules."""

    name: str
    files: tuple[FileSpec, ...]
    required_files: frozenset[str]
    together: frozenset[str] = frozenset()
    """Files needed all together or not at all (the new SDS's class files)."""
    exact_names: bool = False
    """File names are case-sensitive (else matched in any case and reported lower-cased)."""
    variants: bool = False
    """Files come in a US and a UK header variant."""
    optional_is_warning: bool = False
    """An invalid or dangling value of an optional column is a Warning: the new SDS drops the value
    and keeps the record (v2.1); else an Error (the classic rules)."""
    largest: str = ""
    """The file checked last (see verify.py)."""
    templates: str = "v1"
    """Which set of message texts (messages.py)."""

    @property
    def referenced(self) -> frozenset[tuple[str, str]]:
        """(file, column) pairs that other files reference: their keys are kept once read."""
        return frozenset((r.target_file, r.target_column) for f in self.files for r in f.references)


V1 = Format(name="v1", files=FILES, required_files=frozenset(FILES_BY_NAME), variants=True,
            largest="studentenrollment.csv")
