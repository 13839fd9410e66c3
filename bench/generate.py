"""Seeded generator of realistic SDS classic (v1) data with injected defects of known counts.

Usage: python bench/generate.py --scale S|M|L [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import values as v
from bench.layout import (
    COLUMNS, ENROLLMENT, FILES, ROSTER, SCALES, SCHOOL, SECTION, STUDENT, TEACHER, Scale,
)

DEFAULT_SEED = 20240831
DATA_DIR = Path(__file__).resolve().parent / "data"
CRLF = "\r\n"
CHUNK_ROWS = 65_536

_FIRST_FOLDED = [v.ascii_fold(n) for n in v.FIRST_NAMES]
_LAST_FOLDED = [v.ascii_fold(n) for n in v.LAST_NAMES]


def school_id(i: int) -> str:
    """SIS ID of the school on data row i."""
    return str(10001 + i)


def section_id(i: int) -> str:
    """SIS ID of the section on data row i."""
    return f"S{200001 + i}"


def student_id(i: int) -> str:
    """SIS ID of the student on data row i."""
    return str(3000001 + i)


def teacher_id(i: int) -> str:
    """SIS ID of the teacher on data row i."""
    return f"T{40001 + i}"


def csv_field(value: str) -> str:
    """The value as an RFC 4180 field: quoted when it holds a comma, quote or line break."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv(path: Path, header: Iterable[str], rows: Iterator[str]) -> int:
    """Write the header and the already-joined rows with CRLF endings; returns the data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + CRLF)
        chunk: list[str] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                out.write(CRLF.join(chunk) + CRLF)
                count += len(chunk)
                chunk = []
        if chunk:
            out.write(CRLF.join(chunk) + CRLF)
            count += len(chunk)
    return count


class District:
    """The clean data of one district: which school each person or section belongs to."""

    def __init__(self, scale: Scale, seed: int, unreferenced: dict[str, set[int]]) -> None:
        self.scale = scale
        self.seed = seed
        self.unreferenced = unreferenced
        rows = scale.rows
        self.schools = [i for i in range(rows[SCHOOL]) if i not in unreferenced[SCHOOL]]

    def rng(self, name: str) -> random.Random:
        """A generator of its own for each file, so files do not depend on each other's draws."""
        return random.Random(f"{self.seed}:{name}")

    def school_of(self, file: str, i: int) -> int:
        """Row index of the school that row i of an entity file belongs to."""
        return self.schools[i * len(self.schools) // self.scale.rows[file]]

    def members(self, file: str) -> dict[int, list[int]]:
        """Referenceable rows of an entity file, grouped by school row index."""
        groups: dict[int, list[int]] = {k: [] for k in self.schools}
        skip = self.unreferenced[file]
        for i in range(self.scale.rows[file]):
            if i not in skip:
                groups[self.school_of(file, i)].append(i)
        return groups

    # Entity rows as lists of fields, in COLUMNS order.

    def school_rows(self) -> Iterator[list[str]]:
        """Rows of School.csv."""
        rng = self.rng(SCHOOL)
        teachers_per_school = max(1, self.scale.rows[TEACHER] // len(self.schools))
        for i in range(self.scale.rows[SCHOOL]):
            level, low, high = v.SCHOOL_LEVELS[i % 3]
            name = v.SCHOOL_NAMES[(i // 3) % len(v.SCHOOL_NAMES)]
            city, state, zip_code = v.CITIES[i % len(v.CITIES)]
            suffix = f" {city}" if i >= 3 * len(v.SCHOOL_NAMES) else ""
            first = rng.randrange(len(v.FIRST_NAMES))
            last = rng.randrange(len(v.LAST_NAMES))
            yield [
                school_id(i), f"{name} {level}{suffix}", str(10001 + i), f"53{i:010d}", state,
                "K" if low == 0 else str(low), str(high),
                teacher_id(i * teachers_per_school), f"{v.FIRST_NAMES[first]} {v.LAST_NAMES[last]}",
                f"{_FIRST_FOLDED[first]}.{_LAST_FOLDED[last]}@contoso.edu".lower().replace("'", ""),
                f"{rng.randrange(1, 9999)} {rng.choice(v.STREETS)}", city, state, "US", zip_code,
                f"555-{rng.randrange(100, 1000)}-{rng.randrange(10000):04d}", str(i % 5 + 1),
            ]

    def section_rows(self) -> Iterator[list[str]]:
        """Rows of Section.csv."""
        rng = self.rng(SECTION)
        randrange = rng.randrange
        for i in range(self.scale.rows[SECTION]):
            school = self.school_of(SECTION, i)
            subject, stem, courses = v.COURSES[randrange(len(v.COURSES))]
            course = randrange(len(courses))
            course_name, description = courses[course]
            period = randrange(1, 8)
            if school % 2:
                term = ("T2425", "SY2425", "8/21/2024", "6/13/2025")
            else:
                term = ("T2425", "SY2425", "2024-08-21", "2025-06-13")
            yield [
                section_id(i), school_id(school), f"{course_name} - Period {period}",
                f"{101 + course}-{period:02d}", *term, f"{stem}{101 + course}", course_name,
                str(101 + course), csv_field(description), subject, str(period), "Active",
            ]

    def student_rows(self) -> Iterator[list[str]]:
        """Rows of Student.csv."""
        rng = self.rng(STUDENT)
        randrange = rng.randrange
        random_ = rng.random
        n_first, n_last, n_middle = len(v.FIRST_NAMES), len(v.LAST_NAMES), len(v.MIDDLE_NAMES)
        for i in range(self.scale.rows[STUDENT]):
            school = self.school_of(STUDENT, i)
            _, low, high = v.SCHOOL_LEVELS[school % 3]
            grade = low + i % (high - low + 1)
            first, last = randrange(n_first), randrange(n_last)
            number = student_id(i)
            born = 2024 - 6 - grade - (random_() < 0.3)
            month, day = randrange(1, 13), randrange(1, 29)
            if school % 4 == 3:
                birthdate = f"{born}-{month:02d}-{day:02d}"
            elif school % 4 == 1:
                birthdate = f"{month:02d}/{day:02d}/{born}"
            else:
                birthdate = f"{month}/{day}/{born}"
            username = f"{_FIRST_FOLDED[first][0]}{_LAST_FOLDED[last]}{number}"
            if school % 10 == 7:
                username += "@students.contoso.edu"
            email = ""
            if random_() < 0.3:
                family = _LAST_FOLDED[last].lower().replace("'", "")
                email = f"{family}.family{number[-3:]}@{v.EMAIL_DOMAINS[randrange(4)]}"
            yield [
                number, school_id(school), v.FIRST_NAMES[first], v.LAST_NAMES[last], username,
                f"{v.PASSWORD_WORDS[randrange(10)]}{randrange(10, 100)}!", "WA", email,
                number, v.MIDDLE_NAMES[randrange(n_middle)] if random_() < 0.6 else "",
                "K" if grade == 0 else str(grade), "Active" if random_() < 0.98 else "Inactive",
                birthdate, str(2025 + 12 - grade),
            ]

    def teacher_rows(self) -> Iterator[list[str]]:
        """Rows of Teacher.csv."""
        rng = self.rng(TEACHER)
        randrange = rng.randrange
        for i in range(self.scale.rows[TEACHER]):
            school = self.school_of(TEACHER, i)
            first, last = randrange(len(v.FIRST_NAMES)), randrange(len(v.LAST_NAMES))
            number = teacher_id(i)
            folded = f"{_FIRST_FOLDED[first]}.{_LAST_FOLDED[last]}"
            yield [
                number, school_id(school), v.FIRST_NAMES[first], v.LAST_NAMES[last],
                f"{folded}{number[1:]}", f"{v.PASSWORD_WORDS[randrange(10)]}#{randrange(1000, 10000)}",
                f"WA{number[1:]}", str(100 + i), "Active",
                v.MIDDLE_NAMES[randrange(len(v.MIDDLE_NAMES))] if rng.random() < 0.5 else "",
                f"{folded.lower().replace(chr(39), '')}@{v.EMAIL_DOMAINS[randrange(4)]}",
                rng.choice(v.TITLES), rng.choice(v.QUALIFICATIONS),
            ]

    # Relation rows as (row index in the referenced entity files) pairs.

    def enrollment_pairs(self, count: int) -> Iterator[tuple[int, int]]:
        """`count` distinct (section, student) pairs, each within one school, grouped by student."""
        sections = self.members(SECTION)
        students = [i for i in range(self.scale.rows[STUDENT]) if i not in self.unreferenced[STUDENT]]
        yield from _spread(count, students, lambda i: sections[self.school_of(STUDENT, i)], True)

    def roster_pairs(self, count: int) -> Iterator[tuple[int, int]]:
        """`count` distinct (section, teacher) pairs, each within one school, grouped by section."""
        teachers = self.members(TEACHER)
        sections = [i for i in range(self.scale.rows[SECTION]) if i not in self.unreferenced[SECTION]]
        yield from _spread(count, sections, lambda i: teachers[self.school_of(SECTION, i)], False)


def _spread(count: int, owners: list[int], partners_of, owner_is_second: bool
            ) -> Iterator[tuple[int, int]]:
    """Give each owner base or base+1 distinct partners of its school, `count` pairs in all."""
    base, extra = divmod(count, len(owners))
    seen: dict[int, int] = {}
    for n, owner in enumerate(owners):
        partners = partners_of(owner)
        k = base + (n < extra)
        if k > len(partners):
            raise ValueError(f"school of row {owner} has {len(partners)} partners, needs {k}")
        local = seen.get(id(partners), 0)
        seen[id(partners)] = local + 1
        start = local * (base + 1)
        for t in range(k):
            partner = partners[(start + t) % len(partners)]
            yield (partner, owner) if owner_is_second else (owner, partner)


def generate(out: Path, scale: Scale, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """Write the six files and expected.json into `out`; returns the expected messages."""
    out.mkdir(parents=True, exist_ok=True)
    unreferenced: dict[str, set[int]] = {f: set() for f in FILES}
    district = District(scale, seed, unreferenced)
    joined = lambda rows: (",".join(r) for r in rows)  # noqa: E731
    write_csv(out / SCHOOL, COLUMNS[SCHOOL], joined(district.school_rows()))
    write_csv(out / SECTION, COLUMNS[SECTION], joined(district.section_rows()))
    write_csv(out / STUDENT, COLUMNS[STUDENT], joined(district.student_rows()))
    write_csv(out / TEACHER, COLUMNS[TEACHER], joined(district.teacher_rows()))
    write_csv(out / ENROLLMENT, COLUMNS[ENROLLMENT],
              (f"{section_id(a)},{student_id(b)}"
               for a, b in district.enrollment_pairs(scale.rows[ENROLLMENT])))
    write_csv(out / ROSTER, COLUMNS[ROSTER],
              (f"{section_id(a)},{teacher_id(b)}"
               for a, b in district.roster_pairs(scale.rows[ROSTER])))
    expected: list[dict[str, str]] = []
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    return expected


def main(argv: list[str] | None = None) -> int:
    """Command line: generate one scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="default: bench/data/<scale>")
    args = parser.parse_args(argv)
    out = args.out or DATA_DIR / args.scale
    started = time.perf_counter()
    generate(out, SCALES[args.scale], args.seed)
    size = sum((out / f).stat().st_size for f in FILES)
    print(f"{args.scale}: {SCALES[args.scale].total_rows:,} rows, {size / 2**20:.1f} MiB in {out} "
          f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
