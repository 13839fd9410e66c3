"""Where the defects go: damaged entity rows, and the defective rows of the two relation files."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bench import defects as d
from bench.district import (
    District,
    csv_field,
    school_id,
    section_id,
    student_id,
    teacher_id,
)
from bench.layout import COLUMNS, ENROLLMENT, ROSTER, SCHOOL, SECTION, STUDENT, TEACHER, Scale

KEY_OF: dict[str, Callable[[int], str]] = {
    SCHOOL: school_id, SECTION: section_id, STUDENT: student_id, TEACHER: teacher_id,
}
ENTITIES = (SCHOOL, SECTION, STUDENT, TEACHER)
# Relation file -> (file its Section SIS ID refers to, file its SIS ID refers to)
RELATIONS = {ENROLLMENT: (SECTION, STUDENT), ROSTER: (SECTION, TEACHER)}
# Free-text column that gets an unquoted comma in a ragged row with one field too many.
RAGGED_TEXT = {SECTION: "Course Name", STUDENT: "Last Name"}
COPY_PREVIOUS = "\0copy"  # marks a relation row that repeats the previous clean pair


@dataclass(frozen=True)
class Slot:
    """One damaged row: the kind, the field, and its ordinal among rows of that kind and field."""

    kind: str
    field: str
    n: int


def expand(file: str, multiplier: int) -> list[Slot]:
    """Every damaged row of a file, in plan order."""
    return [Slot(x.kind, x.field, n) for x in d.PLAN[file] for n in range(x.rows(multiplier))]


class Injector:
    """Chooses the damaged rows of every file and renders them."""

    def __init__(self, scale: Scale, seed: int) -> None:
        self.scale = scale
        self.seed = seed
        self.placed: dict[str, dict[int, Slot]] = {}
        self.sources: dict[str, dict[Slot, int]] = {}
        for file in ENTITIES:
            slots = expand(file, scale.defects)
            copies = [s for s in slots if s.kind == "duplicate"]
            rows = self._rng(file).sample(range(scale.rows[file]), len(slots) + len(copies))
            self.placed[file] = dict(zip(rows, slots))
            # A duplicate repeats the value of a clean row: a row chosen among the undamaged.
            self.sources[file] = dict(zip(copies, rows[len(slots):]))
        self.unreferenced = {
            file: {i for i, s in self.placed[file].items()
                   if s.field == "SIS ID" and s.kind in d.KEY_DAMAGE}
            for file in ENTITIES
        }
        self.district = District(scale, seed, self.unreferenced)
        self._invalid_keys = {
            file: [d.bad_key(KEY_OF[file](i), s.n)
                   for i, s in sorted(self.placed[file].items(), key=lambda x: x[1].n)
                   if s.kind == "invalid" and s.field == "SIS ID"]
            for file in ENTITIES
        }
        self._teacher_sources = self._clean_rows(
            TEACHER, sum(1 for s in self.placed[STUDENT].values() if s.kind == "teacher_username"))

    def _rng(self, file: str) -> random.Random:
        return random.Random(f"{self.seed}:defects:{file}")

    def _clean_rows(self, file: str, count: int) -> list[int]:
        """`count` distinct rows of an entity file that carry no defect and are not sources."""
        taken = set(self.placed[file]) | set(self.sources[file].values())
        rng = self._rng(f"clean:{file}")
        chosen: list[int] = []
        while len(chosen) < count:
            i = rng.randrange(self.scale.rows[file])
            if i not in taken:
                taken.add(i)
                chosen.append(i)
        return chosen

    def absent_key(self, file: str, n: int) -> str:
        """A well-formed SIS ID absent from `file`: a damaged row's own, a case variant, or new."""
        damaged = sorted(self.unreferenced[file])
        key = KEY_OF[file]
        if n % 3 == 0 and damaged:
            return key(damaged[(n // 3) % len(damaged)])
        if n % 3 == 1:
            present = key(n % self.scale.rows[file])
            variant = present.lower() if present.lower() != present else present.upper()
            if variant != present:  # SIS IDs compare case-sensitively
                return variant
        return key(self.scale.rows[file] + 1000 + n)

    # Entity files

    def entity_row(self, file: str, i: int, fields: list[str]) -> str:
        """Row i of an entity file as written: clean, or damaged as planned."""
        slot = self.placed[file].get(i)
        if slot is None:
            return ",".join(fields)
        if slot.kind == "ragged":
            if slot.n % 2:
                return ",".join(fields[:-2])
            col = COLUMNS[file].index(RAGGED_TEXT[file])
            fields[col] = f"{fields[col]}, Jr." if file == STUDENT else f"{fields[col]}, Honors"
            return ",".join(fields)
        col = COLUMNS[file].index(slot.field)
        fields[col] = csv_field(self._damaged_value(file, i, slot, fields[col]))
        return ",".join(fields)

    def _damaged_value(self, file: str, i: int, slot: Slot, clean: str) -> str:
        kind, field, n = slot.kind, slot.field, slot.n
        if kind == "missing":
            return d.MISSING[n % len(d.MISSING)]
        if kind == "linebreak":
            return ("Prerequisite: none.\r\nLab fee applies.", "Two terms\nsame room")[n % 2]
        if kind == "dangling":
            return self.absent_key(SCHOOL, n)
        if kind == "invalid_duplicate":
            keys = self._invalid_keys[file]
            return keys[n % len(keys)]
        if kind == "duplicate":
            source = self.sources[file][slot]
            if field == "SIS ID":
                return KEY_OF[file](source)
            username = self._username(file, source)
            return username.upper() if n % 2 else username.lower()
        if kind == "teacher_username":
            username = self.district.teacher_username(self._teacher_sources[n])
            return username.upper() if n % 2 else username
        if kind == "invalid":
            return self._invalid_value(field, n, clean or f"guardian{i}@example.com")
        raise ValueError(kind)

    def _username(self, file: str, i: int) -> str:
        if file == STUDENT:
            return self.district.student_username(i)
        return self.district.teacher_username(i)

    @staticmethod
    def _invalid_value(field: str, n: int, clean: str) -> str:
        if field.endswith("SIS ID"):
            return d.bad_key(clean, n)
        if field == "Username":
            return d.bad_username(clean, n)
        if field.endswith("Email"):
            return d.bad_email(clean, n)
        if field in ("Term StartDate", "Term EndDate", "Birthdate"):
            return d.BAD_DATES[n % len(d.BAD_DATES)]
        if field == "Graduation Year":
            return d.BAD_YEARS[n % len(d.BAD_YEARS)]
        if field in ("First Name", "Last Name", "Middle Name"):
            return d.bad_person_name(clean, n, field)
        if field in ("Name", "Section Name"):
            return d.bad_title(clean, n)
        raise ValueError(field)

    # Relation files

    def relation_rows(self, file: str) -> dict[int, str]:
        """Position in the file -> damaged row (or COPY_PREVIOUS) for a relation file."""
        slots = expand(file, self.scale.defects)
        rng = self._rng(file)
        # Row 0 stays clean so that every repeated pair has a clean pair before it.
        positions = rng.sample(range(1, self.scale.rows[file]), len(slots))
        left_file, right_file = RELATIONS[file]
        lefts = self._referenced_sample(left_file, len(slots), rng)
        rights = self._referenced_sample(right_file, len(slots), rng)
        rows: dict[int, str] = {}
        for position, slot, left_row, right_row in zip(positions, slots, lefts, rights):
            left, right = KEY_OF[left_file](left_row), KEY_OF[right_file](right_row)
            if slot.field == "Section SIS ID":
                left = self._relation_value(slot, left, left_file)
            elif slot.field == "SIS ID":
                right = self._relation_value(slot, right, right_file)
            if slot.kind == "pair_duplicate":
                rows[position] = COPY_PREVIOUS
            elif slot.kind == "ragged":
                rows[position] = f"{left},{right},Active" if slot.n % 2 == 0 else left
            else:
                rows[position] = f"{left},{right}"
        return rows

    def _relation_value(self, slot: Slot, clean: str, target: str) -> str:
        if slot.kind == "missing":
            return d.MISSING[slot.n % len(d.MISSING)]
        if slot.kind == "invalid":
            return d.bad_key(clean, slot.n)
        if slot.kind == "dangling":
            return self.absent_key(target, slot.n)
        raise ValueError(slot.kind)

    def _referenced_sample(self, file: str, count: int, rng: random.Random) -> list[int]:
        """`count` distinct referenceable rows of an entity file, so damaged pairs never repeat."""
        skip = self.unreferenced[file]
        chosen: list[int] = []
        seen: set[int] = set()
        while len(chosen) < count:
            i = rng.randrange(self.scale.rows[file])
            if i not in skip and i not in seen:
                seen.add(i)
                chosen.append(i)
        return chosen
