"""The source side of a sync: the six files as entities (sorted by key) and the links between them.

Everything here is columns: a district-sized file set is read without a Python object per row.
Each entity keeps the row it was first seen in, the columns synced for it, and a digest of them
that the planner compares with the last run's to skip what did not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sds_core.sync.columns import FileColumns, FileInput, empty_columns, file_columns
from sds_core.sync.digests import row_digests, text_digests
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
# Kept for the account's creation only: a new password alone is not a change to write.
NOT_DIGESTED = frozenset({"Password"})

ROLES = ("student", "teacher")  # in key order: "student:..." sorts before "teacher:..."
ROLE_FILES = {"student": "student.csv", "teacher": "teacher.csv"}
ROSTER_FILES = {"student": "studentenrollment.csv", "teacher": "teacherroster.csv"}
FILE_NAMES = (
    "school.csv",
    "section.csv",
    "student.csv",
    "teacher.csv",
    "studentenrollment.csv",
    "teacherroster.csv",
)
_NO_LINKS = (np.empty(0, np.int64), np.empty(0, np.int64))


@dataclass(frozen=True, slots=True)
class Record:
    """One source entity: its key, the row it came from and its non-empty synced values."""

    key: str
    row: int
    values: dict[str, str]


@dataclass
class Entities:
    """One kind's entities in key order: first row, synced values and their digest, role, file."""

    keys: pa.Array
    row_numbers: np.ndarray
    values: pa.Table
    row_digests: np.ndarray
    roles: np.ndarray  # index into ROLES for users, 0 otherwise

    def __len__(self) -> int:
        return len(self.keys)

    @cached_property
    def key_list(self) -> list[str]:
        """The keys as Python strings, for building writes."""
        return self.keys.to_pylist()

    @cached_property
    def key_digests(self) -> np.ndarray:
        """A digest of each key: what a set of links to these entities is made of."""
        return text_digests(self.keys)

    def records(self, indices: Sequence[int] | np.ndarray) -> list[Record]:
        """The records of some entities (values without empty ones)."""
        indices = np.asarray(indices, dtype=np.int64)
        rows = self.values.take(indices).to_pylist() if len(indices) else []
        keys = self.key_list
        return [
            Record(keys[i], int(self.row_numbers[i]), {k: v for k, v in row.items() if v})
            for i, row in zip(indices.tolist(), rows, strict=True)
        ]


@dataclass
class Source:
    """Schools, classes and users of one file set, with the links the files give them."""

    schools: Entities
    classes: Entities
    users: Entities  # key: "student:<SIS ID>" / "teacher:<SIS ID>"
    class_school: np.ndarray  # class -> school index (-1: none)
    user_schools: tuple[np.ndarray, np.ndarray] = _NO_LINKS  # (user, school) pairs
    members: tuple[np.ndarray, np.ndarray] = _NO_LINKS  # (class, student) pairs
    teachers: tuple[np.ndarray, np.ndarray] = _NO_LINKS  # (class, teacher) pairs
    rows: dict[str, int] = field(default_factory=dict)  # file -> data rows read

    @property
    def memberships(self) -> int:
        """Roster rows that name a known class and user."""
        return sum(
            int(np.count_nonzero((c >= 0) & (u >= 0))) for c, u in (self.members, self.teachers)
        )


def kept_columns(kind: str, options: SyncOptions, role: str | None = None) -> tuple[str, ...]:
    """The columns synced for an entity of `kind` (and role), given the profile's options."""
    if kind == "school":
        always, optional, custom = ("Name",), SCHOOL_COLUMNS, options.customization("school")
    elif kind == "class":
        always, optional, custom = (
            ("Section Name",),
            SECTION_COLUMNS,
            options.customization("section"),
        )
    else:
        match = options.matching.get(role or "")
        always = PERSON_COLUMNS if match is None else (*PERSON_COLUMNS, match.source_property)
        optional = STUDENT_COLUMNS if role == "student" else TEACHER_COLUMNS
        custom = options.customization(role or "")
    columns = (*always, *(c for c in optional if custom.allows(c)))
    return tuple(dict.fromkeys(columns))


def read_source(files: Mapping[str, FileInput], options: SyncOptions) -> Source:
    """Read the six files (bytes, or rows keyed by US header names) into a Source."""
    tables = {
        name: file_columns(name, files[name]) if name in files else empty_columns()
        for name in FILE_NAMES
    }
    schools, _ = _entities(
        tables["school.csv"], tables["school.csv"].column("SIS ID"), kept_columns("school", options)
    )
    section = tables["section.csv"]
    classes, section_rows = _entities(
        section, section.column("SIS ID"), kept_columns("class", options)
    )
    class_school = _first_of(
        section_rows, _index(section.column("School SIS ID"), schools.keys), len(classes)
    )
    people = {role: tables[ROLE_FILES[role]] for role in ROLES}
    keys = {role: _prefixed(role, table.column("SIS ID")) for role, table in people.items()}
    users = _merge(
        [
            _entities(table, keys[role], kept_columns("user", options, role), role)[0]
            for role, table in people.items()
        ]
    )
    # Every row of a person names a school: one person can be in several.
    user_schools = [
        (_index(keys[role], users.keys), _index(table.column("School SIS ID"), schools.keys))
        for role, table in people.items()
    ]
    rosters = {}
    for role, name in ROSTER_FILES.items():
        table = tables[name]
        rosters[role] = (
            _index(table.column("Section SIS ID"), classes.keys),
            _index(_prefixed(role, table.column("SIS ID")), users.keys),
        )
    return Source(
        schools=schools,
        classes=classes,
        users=users,
        class_school=class_school,
        user_schools=(
            np.concatenate([u for u, _ in user_schools]),
            np.concatenate([s for _, s in user_schools]),
        ),
        members=rosters["student"],
        teachers=rosters["teacher"],
        rows={name: table.row_count for name, table in tables.items() if name in files},
    )


def _prefixed(role: str, sis_ids: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(role, sis_ids, ":")


def _index(values: pa.Array, keys: pa.Array) -> np.ndarray:
    """Each value's position among `keys` (-1: not there)."""
    if len(values) == 0:
        return np.empty(0, np.int64)
    found = pc.index_in(values, value_set=keys)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _first_of(row_entity: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """For each entity, `values` at its first row."""
    return values[_first_rows(row_entity, count)] if count else np.empty(0, np.int64)


def _first_rows(row_entity: np.ndarray, count: int) -> np.ndarray:
    """The first row of each entity 0..count-1 (every entity has one)."""
    found, first = np.unique(row_entity, return_index=True)
    return first[found >= 0][:count]


def _entities(
    table: FileColumns, keys: pa.Array, kept: tuple[str, ...], role: str | None = None
) -> tuple[Entities, np.ndarray]:
    """The distinct non-empty keys of a file in key order, each with its first row's values."""
    distinct = pc.unique(keys.filter(pc.not_equal(keys, ""))) if len(keys) else keys
    distinct = distinct.take(pc.sort_indices(distinct))
    row_entity = _index(keys, distinct)
    first = _first_rows(row_entity, len(distinct))
    values = pa.table({c: pc.utf8_trim_whitespace(table.column(c).take(first)) for c in kept})
    digested = [values.column(c).combine_chunks() for c in kept if c not in NOT_DIGESTED]
    entities = Entities(
        keys=distinct,
        row_numbers=table.row_numbers[first],
        values=values,
        row_digests=row_digests(digested),
        roles=np.full(len(distinct), ROLES.index(role) if role else 0, np.int8),
    )
    return entities, row_entity


def _merge(parts: list[Entities]) -> Entities:
    """Entities of consecutive key ranges (students, then teachers) as one kind."""
    return Entities(
        keys=pa.concat_arrays([p.keys for p in parts]),
        row_numbers=np.concatenate([p.row_numbers for p in parts]),
        values=pa.concat_tables([p.values for p in parts], promote_options="default"),
        row_digests=np.concatenate([p.row_digests for p in parts]),
        roles=np.concatenate([p.roles for p in parts]),
    )
