"""A classic (v1) set of six CSV files turned into an SDS v2.1 set; docs/v1-to-v2.1.md is the mapping.

Pure: bytes in, bytes out. Bad input is carried over, never raised on: a value the v2.1 rules refuse
stays as it was, so that verifying the result names it (file, row, column) in v2.1 terms.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from sds_core.verification.formats import is_date
from sds_core.verification.header import is_uk
from sds_core.verification.spec import FILES_BY_NAME
from sds_core.verification.spec_v21 import (
    ACADEMIC_SESSIONS,
    CLASSES,
    COURSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    FILES,
    GRADE_LEVELS,
    ORGS,
    ROLES,
    USERS,
)

HEADERS: dict[str, tuple[str, ...]] = {spec.name: tuple(c.name for c in spec.columns) for spec in FILES}
TEACHER_PREFIX = "T-"  # a teacher whose SIS ID is also a student's gets this before it in v2.1
SESSION_TYPE = "term"
_GRADES = {code.casefold(): code for code in GRADE_LEVELS}
_GRADE_WORDS = {"k": "KG", "kindergarten": "KG", "prek": "PK", "pre-k": "PK", "prekindergarten": "PK"}
_DATE_PARTS = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})|(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
SCHOOL_YEAR_STARTS = 8  # August, as for the Industry Data year (sds_core/models/industry_data.py)


@dataclass
class _Table:
    """One classic file's data rows, read by column name (US names; UK headers are mapped)."""

    positions: dict[str, int] = field(default_factory=dict)
    rows: list[list[str]] = field(default_factory=list)

    def values(self, row: list[str], *names: str) -> list[str]:
        """The row's values of these columns ("" where the column or the field is absent)."""
        out = []
        for name in names:
            at = self.positions.get(name)
            out.append(row[at] if at is not None and at < len(row) else "")
        return out


def _read(data: bytes | None, file_name: str) -> _Table:
    """A classic file's header mapped onto its specification, and its rows (blank lines skipped)."""
    if not data:
        return _Table()
    text = data.decode("utf-8-sig", errors="replace")
    records = [r for r in csv.reader(io.StringIO(text, newline=""), strict=False) if any(f.strip() for f in r)]
    if not records:
        return _Table()
    header, rows = records[0], records[1:]
    spec = FILES_BY_NAME[file_name]
    uk = is_uk(header)
    loose = {text.strip().casefold(): index for index, text in reversed(list(enumerate(header)))}
    positions = {c.name: loose[c.header(uk).casefold()] for c in spec.columns if c.header(uk).casefold() in loose}
    return _Table(positions, rows)


def iso_date(text: str) -> str | None:
    """A classic date (YYYY-MM-DD, YYYYMMDD or M/D/YYYY) as ISO 8601 YYYY-MM-DD; None when it is none."""
    text = text.strip()
    match = _DATE_PARTS.fullmatch(text)
    if match is None or not is_date(text):
        return None
    g = match.groups()
    year, month, day = (g[0], g[1], g[2]) if g[0] else (g[5], g[3], g[4])
    return f"{year}-{int(month):02d}-{int(day):02d}"


def grade_code(text: str) -> str:
    """A classic Grade as a grade-level code: 9 -> 09, K -> KG; a code already (any case) as written
    in the list; anything else unchanged (the verifier warns about it, the tenant may have it)."""
    value = text.strip()
    if value.isdigit() and 1 <= int(value) <= 13:
        return f"{int(value):02d}"
    lowered = value.casefold()
    return _GRADES.get(lowered) or _GRADE_WORDS.get(lowered) or value


def school_year(start: str, end: str) -> str:
    """The school year (the calendar year it begins in, August to July) holding a term's middle."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    middle = first + (last - first) / 2
    return str(middle.year if middle.month >= SCHOOL_YEAR_STARTS else middle.year - 1)


def _with_domain(username: str, domain: str | None) -> str:
    if domain and username and "@" not in username:
        return f"{username}@{domain}"
    return username


def _csv(name: str, rows: Iterable[Iterable[str]]) -> bytes:
    """A v2.1 file: its header, then the rows, CRLF line ends as in Microsoft's samples, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS[name])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def convert_v1_to_v21(files: Mapping[str, bytes], domains: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """The v2.1 files (by their exact names) of a classic set given by file name (any case).

    `domains` ("student", "teacher" -> a domain) completes Usernames written without one: v2.1
    requires the domain. classes.csv and enrollments.csv are written when section.csv is given;
    academicSessions.csv, courses.csv and demographics.csv when the sections' terms and courses or
    the students' birthdates give them rows.
    """
    domains = domains or {}
    given = {name.lower(): data for name, data in files.items()}
    tables = {name: _read(given.get(name), name) for name in FILES_BY_NAME}
    schools, sections = tables["school.csv"], tables["section.csv"]
    students, teachers = tables["student.csv"], tables["teacher.csv"]
    student_ids = {students.values(r, "SIS ID")[0] for r in students.rows}

    def teacher_id(value: str) -> str:
        return TEACHER_PREFIX + value if value in student_ids else value

    out: dict[str, bytes] = {
        ORGS: _csv(ORGS, ([*schools.values(r, "SIS ID", "Name"), "school", ""] for r in schools.rows)),
        USERS: _csv(USERS, _users(students, teachers, teacher_id, domains)),
        ROLES: _csv(ROLES, _roles(students, teachers, teacher_id)),
    }
    if "section.csv" in given:
        sessions, courses = _sessions(sections), _courses(sections)
        out[CLASSES] = _csv(CLASSES, _classes(sections, sessions, courses))
        out[ENROLLMENTS] = _csv(ENROLLMENTS, _enrollments(tables, teacher_id))
        if sessions:
            out[ACADEMIC_SESSIONS] = _csv(ACADEMIC_SESSIONS, sessions.values())
        if courses:
            out[COURSES] = _csv(COURSES, courses.values())
    births = [[sid, "", day, "", "", "", "", ""] for sid, born in (students.values(r, "SIS ID", "Birthdate") for r in students.rows)
              if (day := iso_date(born))]
    if births:
        out[DEMOGRAPHICS] = _csv(DEMOGRAPHICS, births)
    return out


def _users(students: _Table, teachers: _Table, teacher_id, domains: Mapping[str, str]) -> Iterator[list[str]]:  # noqa: ANN001
    columns = ("SIS ID", "Username", "First Name", "Last Name", "Password")
    for role, table, sourced in (("student", students, str), ("teacher", teachers, teacher_id)):
        for row in table.rows:
            sis_id, username, given_name, family_name, password = table.values(row, *columns)
            yield [sourced(sis_id), _with_domain(username, domains.get(role)), given_name, family_name, password,
                   "", "", "", ""]


def _roles(students: _Table, teachers: _Table, teacher_id) -> Iterator[list[str]]:  # noqa: ANN001
    for row in students.rows:
        sis_id, school, grade = students.values(row, "SIS ID", "School SIS ID", "Grade")
        yield [sis_id, school, "student", "", grade_code(grade), "true", "", ""]
    for row in teachers.rows:
        sis_id, school = teachers.values(row, "SIS ID", "School SIS ID")
        yield [teacher_id(sis_id), school, "teacher", "", "", "true", "", ""]


def _sessions(sections: _Table) -> dict[str, list[str]]:
    """One academic session per Term SIS ID whose first row with both dates gives them."""
    sessions: dict[str, list[str]] = {}
    for row in sections.rows:
        term, name, start, end = sections.values(row, "Term SIS ID", "Term Name", "Term StartDate", "Term EndDate")
        if not term.strip() or term in sessions:
            continue
        first, last = iso_date(start), iso_date(end)
        if first and last:
            sessions[term] = [term, name.strip() or term, SESSION_TYPE, school_year(first, last), first, last]
    return sessions


def _courses(sections: _Table) -> dict[str, list[str]]:
    """One course per Course SIS ID, from the first section naming it."""
    courses: dict[str, list[str]] = {}
    for row in sections.rows:
        course, school, name, number, subject = sections.values(
            row, "Course SIS ID", "School SIS ID", "Course Name", "Course Number", "Course Subject")
        if course.strip() and course not in courses:
            courses[course] = [course, school, name.strip() or course, number, "", subject, ""]
    return courses


def _classes(sections: _Table, sessions: Mapping[str, list[str]], courses: Mapping[str, list[str]]) -> Iterator[list[str]]:
    for row in sections.rows:
        sis_id, school, name, term, course = sections.values(
            row, "SIS ID", "School SIS ID", "Section Name", "Term SIS ID", "Course SIS ID")
        yield [sis_id, school, name, term if term in sessions else "", course if course in courses else ""]


def _enrollments(tables: Mapping[str, _Table], teacher_id) -> Iterator[list[str]]:  # noqa: ANN001
    for file_name, role, sourced in (("studentenrollment.csv", "student", str), ("teacherroster.csv", "teacher", teacher_id)):
        table = tables[file_name]
        for row in table.rows:
            section, person = table.values(row, "Section SIS ID", "SIS ID")
            yield [section, sourced(person), role]
