"""The clean data of one generated district: ids, names, and who belongs to which school."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from bench import values as v
from bench.layout import SCHOOL, SECTION, STUDENT, TEACHER, Scale

_FIRST_FOLDED = [v.ascii_fold(n) for n in v.FIRST_NAMES]
_LAST_FOLDED = [v.ascii_fold(n) for n in v.LAST_NAMES]


def school_id(i: int) -> str:
    """SIS ID of the school on data row i."""
    return str(10001 + i)


_MASK_128 = (1 << 128) - 1


def guid_like(i: int, salt: int) -> str:
    """A GUID-shaped id, distinct for every i (an odd multiplier is a bijection modulo 2**128)."""
    h = f"{((i + salt) * 0x9E3779B97F4A7C15F39CC0605CEDC835) & _MASK_128:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def section_id(i: int) -> str:
    """SIS ID of the section on data row i: alphanumeric, or GUID-like as some SIS export them."""
    return f"S{200001 + i}" if i % 2 == 0 else guid_like(i, 1 << 40)


def student_id(i: int) -> str:
    """SIS ID of the student on data row i: numeric, alphanumeric or GUID-like, by turns."""
    kind = i % 3
    if kind == 0:
        return str(3000001 + i)
    if kind == 1:
        return f"ST{i:07d}X"
    return guid_like(i, 1 << 80)


def teacher_id(i: int) -> str:
    """SIS ID of the teacher on data row i."""
    return f"T{40001 + i}"


def csv_field(value: str) -> str:
    """The value as an RFC 4180 field: quoted when it holds a comma, quote or line break."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


class District:
    """The clean data of one district: which school each person or section belongs to."""

    def __init__(self, scale: Scale, seed: int, unreferenced: dict[str, set[int]]) -> None:
        self.scale = scale
        self.seed = seed
        self.unreferenced = unreferenced
        rows = scale.rows
        self.schools = [i for i in range(rows[SCHOOL]) if i not in unreferenced[SCHOOL]]
        self.names = {file: self._names(file, rows[file]) for file in (STUDENT, TEACHER)}

    def _names(self, file: str, count: int) -> tuple[list[int], list[int]]:
        rng = self.rng(f"names:{file}")
        n_first, n_last = len(v.FIRST_NAMES), len(v.LAST_NAMES)
        return ([rng.randrange(n_first) for _ in range(count)],
                [rng.randrange(n_last) for _ in range(count)])

    def student_username(self, i: int) -> str:
        """Username of the student on data row i, as generated before any damage."""
        firsts, lasts = self.names[STUDENT]
        username = f"{_FIRST_FOLDED[firsts[i]][0]}{_LAST_FOLDED[lasts[i]]}{student_id(i)}"
        if self.school_of(STUDENT, i) % 10 == 7:
            username += "@students.contoso.edu"
        return username

    def teacher_username(self, i: int) -> str:
        """Username of the teacher on data row i, as generated before any damage."""
        firsts, lasts = self.names[TEACHER]
        return f"{_FIRST_FOLDED[firsts[i]]}.{_LAST_FOLDED[lasts[i]]}{teacher_id(i)[1:]}"

    def rng(self, name: str) -> random.Random:
        """A generator of its own for each file, so files do not depend on each other's draws."""
        return random.Random(f"{self.seed}:{name}")

    def school_of(self, file: str, i: int) -> int:
        """Row index of the school that row i of an entity file belongs to."""
        return self.schools[i * len(self.schools) // self.scale.rows[file]]

    def referenced(self, file: str) -> list[int]:
        """Rows of an entity file that other files may reference (their key is intact)."""
        skip = self.unreferenced[file]
        return [i for i in range(self.scale.rows[file]) if i not in skip]

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
                csv_field(f"{rng.randrange(1, 9999)} {rng.choice(v.STREETS)}"
                          + (f", Suite {100 + i % 7}" if i % 2 else "")), city, state, "US", zip_code,
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
        n_middle = len(v.MIDDLE_NAMES)
        firsts, lasts = self.names[STUDENT]
        for i in range(self.scale.rows[STUDENT]):
            school = self.school_of(STUDENT, i)
            _, low, high = v.SCHOOL_LEVELS[school % 3]
            grade = low + i % (high - low + 1)
            first, last = firsts[i], lasts[i]
            number = student_id(i)
            born = 2024 - 6 - grade - (random_() < 0.3)
            month, day = randrange(1, 13), randrange(1, 29)
            if school % 4 == 3:
                birthdate = f"{born}-{month:02d}-{day:02d}"
            elif school % 4 == 1:
                birthdate = f"{month:02d}/{day:02d}/{born}"
            else:
                birthdate = f"{month}/{day}/{born}"
            username = self.student_username(i)
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
        firsts, lasts = self.names[TEACHER]
        for i in range(self.scale.rows[TEACHER]):
            school = self.school_of(TEACHER, i)
            first, last = firsts[i], lasts[i]
            number = teacher_id(i)
            folded = f"{_FIRST_FOLDED[first]}.{_LAST_FOLDED[last]}"
            yield [
                number, school_id(school), v.FIRST_NAMES[first], v.LAST_NAMES[last],
                self.teacher_username(i),
                f"{v.PASSWORD_WORDS[randrange(10)]}#{randrange(1000, 10000)}",
                f"WA{number[1:]}", str(100 + i), "Active",
                v.MIDDLE_NAMES[randrange(len(v.MIDDLE_NAMES))] if rng.random() < 0.5 else "",
                f"{folded.lower().replace(chr(39), '')}@{v.EMAIL_DOMAINS[randrange(4)]}",
                rng.choice(v.TITLES), rng.choice(v.QUALIFICATIONS),
                v.DEPARTMENTS[randrange(len(v.DEPARTMENTS))],
            ]

    # Relation rows as (row index in the referenced entity files) pairs.

    def enrollment_pairs(self, count: int) -> Iterator[tuple[int, int]]:
        """`count` distinct (section, student) pairs, each within one school, grouped by student."""
        sections = self.members(SECTION)
        students = self.referenced(STUDENT)
        yield from _spread(count, students, lambda i: sections[self.school_of(STUDENT, i)], True)

    def roster_pairs(self, count: int) -> Iterator[tuple[int, int]]:
        """`count` distinct (section, teacher) pairs, each within one school, grouped by section."""
        teachers = self.members(TEACHER)
        sections = self.referenced(SECTION)
        yield from _spread(count, sections, lambda i: teachers[self.school_of(SECTION, i)], False)


def _spread(
    count: int, owners: list[int], partners_of: Callable[[int], list[int]], owner_is_second: bool
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
