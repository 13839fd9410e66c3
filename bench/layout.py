"""The SDS classic (v1, US) files the generator writes: names, columns and row counts per scale."""

from __future__ import annotations

from dataclasses import dataclass

SCHOOL = "School.csv"
SECTION = "Section.csv"
STUDENT = "Student.csv"
TEACHER = "Teacher.csv"
ENROLLMENT = "StudentEnrollment.csv"
ROSTER = "TeacherRoster.csv"
FILES = (SCHOOL, SECTION, STUDENT, TEACHER, ENROLLMENT, ROSTER)

# Columns in the order of Microsoft's full samples (sds-v1_100-users).
COLUMNS: dict[str, tuple[str, ...]] = {
    SCHOOL: (
        "SIS ID", "Name", "School Number", "School NCES_ID", "State ID", "Grade Low", "Grade High",
        "Principal SIS ID", "Principal Name", "Principal Secondary Email", "Address", "City",
        "State", "Country", "Zip", "Phone", "Zone",
    ),
    SECTION: (
        "SIS ID", "School SIS ID", "Section Name", "Section Number", "Term SIS ID", "Term Name",
        "Term StartDate", "Term EndDate", "Course SIS ID", "Course Name", "Course Number",
        "Course Description", "Course Subject", "Periods", "Status",
    ),
    STUDENT: (
        "SIS ID", "School SIS ID", "First Name", "Last Name", "Username", "Password", "State ID",
        "Secondary Email", "Student Number", "Middle Name", "Grade", "Status", "Birthdate",
        "Graduation Year",
    ),
    TEACHER: (
        "SIS ID", "School SIS ID", "First Name", "Last Name", "Username", "Password", "State ID",
        "Teacher Number", "Status", "Middle Name", "Secondary Email", "Title", "Qualification",
    ),
    ENROLLMENT: ("Section SIS ID", "SIS ID"),
    ROSTER: ("Section SIS ID", "SIS ID"),
}

# Column order of the specification (sds-csv.md 1.2), which orders the verification messages.
SPEC_ORDER: dict[str, tuple[str, ...]] = {
    **COLUMNS,
    STUDENT: (
        "SIS ID", "School SIS ID", "Username", "First Name", "Last Name", "Password", "State ID",
        "Secondary Email", "Student Number", "Middle Name", "Grade", "Status", "Birthdate",
        "Graduation Year",
    ),
    TEACHER: (
        "SIS ID", "School SIS ID", "Username", "First Name", "Last Name", "Password", "State ID",
        "Teacher Number", "Status", "Middle Name", "Secondary Email", "Title", "Qualification",
    ),
}


@dataclass(frozen=True)
class Scale:
    """Data rows per file, and the multiplier of the injected defect counts."""

    name: str
    rows: dict[str, int]
    defects: int

    @property
    def total_rows(self) -> int:
        """Data rows over the six files."""
        return sum(self.rows.values())


def _scaled(name: str, factor: int) -> Scale:
    base = {SCHOOL: 10, SECTION: 1_000, STUDENT: 5_000, TEACHER: 250, ENROLLMENT: 40_000,
            ROSTER: 1_740}
    return Scale(name, {f: n * factor for f, n in base.items()}, factor)


# L: 500k students, 100k sections, 4M enrollments, 4.8M rows in all; M = L/10, S = L/100; 2L = 2 x L.
SCALES: dict[str, Scale] = {"S": _scaled("S", 1), "M": _scaled("M", 10), "L": _scaled("L", 100),
                            "2L": _scaled("2L", 200)}

# A few hundred rows with every defect once: for the generator's own test.
TINY = Scale(
    "tiny",
    {SCHOOL: 10, SECTION: 80, STUDENT: 200, TEACHER: 40, ENROLLMENT: 600, ROSTER: 120},
    1,
)
