"""Seeded generator of an SDS v2.1 set of the same district as bench/generate.py, with known defects.

Usage: python bench/generate_v21.py --scale S|M|L|2L [--order section|student|shuffled] [--seed N] [--out DIR]

The people, schools, sections and memberships are those of the v1 set of the same scale and seed
(bench/district.py, through the same Injector), written as v2.1 files: orgs, users (students and
teachers), roles, classes, enrollments (students and teachers), academicSessions, courses and
demographics. Five kinds of defect are injected, `3 x scale.defects` rows each, so that
expected.json is known: usernames without their domain, classes without a title, grades outside the
list of values, enrollments of unknown users and repeated enrollments.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.district import csv_field, school_id, section_id, student_id, teacher_id
from bench.generate import DEFAULT_SEED, ORDERS, arguments, write_csv
from bench.inject import Injector
from bench.layout import ENROLLMENT, ROSTER, SCALES, SECTION, STUDENT, TEACHER, Scale
from sds_core.conversion.v1_to_v21 import HEADERS, grade_code, iso_date
from sds_core.verification.checks import KIND_TEXTS
from sds_core.verification.messages import Code, render
from sds_core.verification.spec import Kind

# The files written (userFlags.csv and relationships.csv have no data in a classic district).
FILES = ("orgs.csv", "academicSessions.csv", "courses.csv", "users.csv", "classes.csv", "roles.csv",
         "enrollments.csv", "demographics.csv")
TERM = ("T2425", "Fall 2024", "term", "2024", "2024-08-21", "2025-01-24")
YEAR = ("SY2425", "School year 2024-2025", "schoolYear", "2024", "2024-08-21", "2025-06-13")
STUDENT_DOMAIN, STAFF_DOMAIN = "students.contoso.edu", "contoso.edu"
PER_KIND = 3  # defective rows of each kind, times the scale's multiplier


class Defects:
    """Which rows get which defect: distinct rows, drawn once per file from the seed."""

    def __init__(self, scale: Scale, seed: int) -> None:
        self.count = PER_KIND * scale.defects
        rng = random.Random(f"{seed}:v2.1")
        self.no_domain = set(rng.sample(range(scale.rows[STUDENT]), self.count))
        self.bad_grade = set(rng.sample(range(scale.rows[STUDENT]), self.count))
        self.no_title = set(rng.sample(range(scale.rows[SECTION]), self.count))
        picked = rng.sample(range(scale.rows[ENROLLMENT]), 2 * self.count)
        self.unknown_user = dict(zip(picked[: self.count], range(self.count)))
        self.repeated = set(picked[self.count:])

    def expected(self) -> list[dict[str, str]]:
        """The Graph messages the verifier answers for this set."""
        n = self.count

        def message(severity: str, file: str, code: Code, field: str, **values: str) -> dict[str, str]:
            return {"type": severity, "fileName": file, "description": render(code, "v2.1", n=n, field=field, **values)}

        return [
            message("Error", "users.csv", Code.INVALID_FORMAT, "username", kind=KIND_TEXTS[Kind.UPN]),
            message("Error", "classes.csv", Code.MISSING_DATA, "title"),
            message("Warning", "roles.csv", Code.NOT_IN_LIST_OF_VALUES, "grade", list="RefGradeLevel"),
            message("Error", "enrollments.csv", Code.REFERENCE_NOT_FOUND, "userSourcedId",
                    target="users.csv sourcedId"),
            message("Warning", "enrollments.csv", Code.DUPLICATE_VALUES, "classSourcedId + userSourcedId"),
        ]


def _row(*fields: str) -> str:
    return ",".join(csv_field(f) for f in fields)


def generate_v21(out: Path, scale: Scale, seed: int = DEFAULT_SEED, order: str = "section") -> list[dict[str, str]]:
    """Write the v2.1 files in `order` and expected.json into `out`; returns the expected messages."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    out.mkdir(parents=True, exist_ok=True)
    district = Injector(scale, seed).district
    defects = Defects(scale, seed)
    sections = list(district.section_rows())
    courses: dict[str, str] = {}
    for fields in sections:
        course = f"{fields[8]}-{fields[1]}"
        courses.setdefault(course, _row(course, fields[1], fields[9], fields[10], YEAR[0], "", ""))
    students = list(district.student_rows())
    teachers = list(district.teacher_rows())
    files: dict[str, Iterator[str] | list[str]] = {
        "orgs.csv": [_row(school_id(s), f"School {school_id(s)}", "school", "district-1") for s in district.schools]
        + [_row("district-1", "Contoso School District", "district", "")],
        "academicSessions.csv": [_row(*TERM), _row(*YEAR)],
        "courses.csv": list(courses.values()),
        "users.csv": _users(students, teachers, defects),
        "classes.csv": [_row(f[0], f[1], "" if i in defects.no_title else f[2], TERM[0], f"{f[8]}-{f[1]}")
                        for i, f in enumerate(sections)],
        "roles.csv": _roles(students, teachers, defects),
        "enrollments.csv": _enrollments(district, scale, defects),
        "demographics.csv": [_row(f[0], ("male", "female")[i % 2], iso_date(f[12]) or "", "", "WA", "US", "", "")
                             for i, f in enumerate(students)],
    }
    assert tuple(files) == FILES
    for name, rows in files.items():
        write_csv(out / name, HEADERS[name], _ordered(rows, name, order, seed))
    expected = defects.expected()
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    return expected


def _users(students: list[list[str]], teachers: list[list[str]], defects: Defects) -> Iterator[str]:
    for i, f in enumerate(students):
        username = f[4] if "@" in f[4] else f"{f[4]}@{STUDENT_DOMAIN}"
        if i in defects.no_domain:
            username = username.split("@")[0]
        yield _row(f[0], username, f[2], f[3], f[5], "", f[7], "", "")
    for f in teachers:
        yield _row(f[0], f"{f[4]}@{STAFF_DOMAIN}", f[2], f[3], f[5], f[10], f[10], "", "")


def _roles(students: list[list[str]], teachers: list[list[str]], defects: Defects) -> Iterator[str]:
    for i, f in enumerate(students):
        grade = "6" if i in defects.bad_grade else grade_code(f[10])
        yield _row(f[0], f[1], "student", YEAR[0], grade, "true", YEAR[4], YEAR[5])
    for f in teachers:
        yield _row(f[0], f[1], "teacher", YEAR[0], "", "true", YEAR[4], YEAR[5])


def _enrollments(district, scale: Scale, defects: Defects) -> Iterator[str]:  # noqa: ANN001
    for n, (a, b) in enumerate(district.enrollment_pairs(scale.rows[ENROLLMENT])):
        user = f"unknown-{defects.unknown_user[n]}" if n in defects.unknown_user else student_id(b)
        row = f"{section_id(a)},{user},student"
        yield row
        if n in defects.repeated:
            yield row
    for a, b in district.roster_pairs(scale.rows[ROSTER]):
        yield f"{section_id(a)},{teacher_id(b)},teacher"


def _ordered(rows, file: str, order: str, seed: int):  # noqa: ANN001, ANN202
    """The rows in the requested order: memberships grouped by class or by user, or all shuffled."""
    if order == "shuffled":
        listed = list(rows)
        random.Random(f"{seed}:order:v2.1:{file}").shuffle(listed)
        return listed
    if file != "enrollments.csv":
        return rows
    column = 0 if order == "section" else 1
    return sorted(rows, key=lambda row: row.split(",", 2)[column])


def main(argv: list[str] | None = None) -> int:
    """Command line: generate one scale."""
    args, out = arguments(argv, __doc__.splitlines()[0], "-v2.1")
    started = time.perf_counter()
    generate_v21(out, SCALES[args.scale], args.seed, args.order)
    size = sum((out / f).stat().st_size for f in FILES)
    print(f"{args.scale} {args.order} v2.1: {size / 2**20:.1f} MiB in {out} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
