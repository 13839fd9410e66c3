"""The defects injected into the generated data, and the verification messages they must cause.

Counts are known by construction: key-damaged rows are never referenced, referencing rows are
built on purpose, and every damaged value is unique, so no defect causes a second message. The
texts and order are those of decisions.md "Verification messages".
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.layout import ENROLLMENT, FILES, ROSTER, SCHOOL, SECTION, SPEC_ORDER, STUDENT, TEACHER

PAIR = "Section SIS ID + SIS ID"
UNKNOWN_COLUMN = "Department"  # appended to Teacher.csv


@dataclass(frozen=True)
class Defect:
    """One kind of damage to `field` (empty for row-level kinds), on `count` rows per multiplier."""

    kind: str
    field: str
    count: int

    def rows(self, multiplier: int) -> int:
        """Damaged rows at a scale: ragged rows and line breaks stay a handful at every scale."""
        return self.count if self.kind in HANDFUL else self.count * multiplier


# kind: missing | invalid | duplicate | dangling | ragged | linebreak | teacher_username
#       | pair_duplicate | invalid_duplicate (an invalid key repeating another invalid key:
#       counted once as invalid format and once as a duplicate)
PLAN: dict[str, tuple[Defect, ...]] = {
    SCHOOL: (
        Defect("missing", "SIS ID", 1), Defect("invalid", "SIS ID", 1),
        Defect("duplicate", "SIS ID", 1), Defect("missing", "Name", 1),
        Defect("invalid", "Name", 1), Defect("invalid", "Principal Secondary Email", 1),
    ),
    SECTION: (
        Defect("ragged", "", 1), Defect("linebreak", "Course Description", 2),
        Defect("missing", "SIS ID", 2), Defect("invalid", "SIS ID", 3),
        Defect("duplicate", "SIS ID", 2), Defect("missing", "School SIS ID", 1),
        Defect("invalid", "School SIS ID", 1), Defect("dangling", "School SIS ID", 2),
        Defect("missing", "Section Name", 1), Defect("invalid", "Section Name", 2),
        Defect("invalid", "Term StartDate", 1), Defect("invalid", "Term EndDate", 1),
        Defect("invalid", "Course SIS ID", 1),
    ),
    STUDENT: (
        Defect("ragged", "", 2), Defect("missing", "SIS ID", 3), Defect("invalid", "SIS ID", 4),
        Defect("invalid_duplicate", "SIS ID", 1), Defect("duplicate", "SIS ID", 3),
        Defect("missing", "School SIS ID", 2), Defect("invalid", "School SIS ID", 2),
        Defect("dangling", "School SIS ID", 3), Defect("missing", "Username", 2),
        Defect("invalid", "Username", 4), Defect("duplicate", "Username", 3),
        Defect("invalid", "First Name", 2), Defect("invalid", "Last Name", 1),
        Defect("invalid", "Middle Name", 1), Defect("invalid", "Secondary Email", 3),
        Defect("invalid", "Birthdate", 3), Defect("invalid", "Graduation Year", 2),
        Defect("teacher_username", "Username", 2),
    ),
    TEACHER: (
        Defect("missing", "SIS ID", 1), Defect("invalid", "SIS ID", 1),
        Defect("duplicate", "SIS ID", 1), Defect("missing", "School SIS ID", 1),
        Defect("dangling", "School SIS ID", 1), Defect("missing", "Username", 1),
        Defect("invalid", "Username", 1), Defect("duplicate", "Username", 1),
        Defect("invalid", "First Name", 1), Defect("invalid", "Secondary Email", 1),
    ),
    ENROLLMENT: (
        Defect("ragged", "", 2), Defect("missing", "Section SIS ID", 3),
        Defect("invalid", "Section SIS ID", 3), Defect("dangling", "Section SIS ID", 8),
        Defect("missing", "SIS ID", 3), Defect("invalid", "SIS ID", 3),
        Defect("dangling", "SIS ID", 8), Defect("pair_duplicate", "", 4),
    ),
    ROSTER: (
        Defect("ragged", "", 1), Defect("missing", "Section SIS ID", 1),
        Defect("invalid", "Section SIS ID", 1), Defect("dangling", "Section SIS ID", 2),
        Defect("missing", "SIS ID", 1), Defect("invalid", "SIS ID", 1),
        Defect("dangling", "SIS ID", 2), Defect("pair_duplicate", "", 1),
    ),
}

# Malformed records are rare in real exports: a handful per file, whatever its size.
HANDFUL = frozenset({"ragged", "linebreak"})

# Kinds that damage an entity's own key: such rows are never referenced.
KEY_DAMAGE = frozenset({"missing", "invalid", "duplicate", "invalid_duplicate"})

# Message kinds in decisions.md order: file-level 9, 11, 12; field-level 14 to 17; then 19.
_FILE_LEVEL = {"unknown_column": 9, "ragged": 11, "linebreak": 12}
_FIELD_LEVEL = {"missing": 14, "invalid": 15, "duplicate": 16, "dangling": 17}


def expected_messages(multiplier: int) -> list[dict[str, str]]:
    """The messages a correct verifier gives for data generated with this defect multiplier."""
    keyed: list[tuple[tuple, dict[str, str]]] = []
    for file in FILES:
        counts: dict[tuple[str, str], int] = {}
        for d in PLAN[file]:
            n = d.rows(multiplier)
            if d.kind == "invalid_duplicate":
                for kind in ("invalid", "duplicate"):
                    counts[kind, d.field] = counts.get((kind, d.field), 0) + n
            else:
                counts[d.kind, d.field] = counts.get((d.kind, d.field), 0) + n
        if file == TEACHER:
            counts["unknown_column", UNKNOWN_COLUMN] = 1
        for (kind, field), n in counts.items():
            keyed.append((_order(file, kind, field), _message(file, kind, field, n)))
    return [m for _, m in sorted(keyed, key=lambda km: km[0])]


def _order(file: str, kind: str, field: str) -> tuple:
    if kind in _FILE_LEVEL:
        return (file.lower(), 0, _FILE_LEVEL[kind], 0)
    if kind == "teacher_username":
        return (file.lower(), 3, 0, 0)
    if kind == "pair_duplicate":
        return (file.lower(), 2, 0, 0)
    return (file.lower(), 1, SPEC_ORDER[file].index(field), _FIELD_LEVEL[kind])


def _message(file: str, kind: str, field: str, n: int) -> dict[str, str]:
    error, warning = "Error", "Warning"
    if kind == "unknown_column":
        text = f"The column is not part of the SDS format and was ignored - {field}"
        severity = warning
    elif kind == "ragged":
        text, severity = f"{n} row(s) have a number of fields different from the header", error
    elif kind == "linebreak":
        text, severity = f"{n} row(s) have a line break inside the field - {field}", error
    elif kind == "missing":
        text, severity = f"{n} row(s) have missing data for the field - {field}", error
    elif kind == "invalid":
        text, severity = f"{n} row(s) have an invalid format for the field - {field}", error
    elif kind in ("duplicate", "pair_duplicate"):
        column = PAIR if kind == "pair_duplicate" else field
        text = f"{n} duplicates found in column {column} which requires values to be Unique."
        severity = error if file in (SCHOOL, SECTION) else warning
    elif kind == "dangling":
        text = f"{n} row(s) have referenced data not found in source. Field - {field}"
        severity = error
    elif kind == "teacher_username":
        text, severity = f"{n} row(s) have a Username that is also used in teacher.csv", warning
    else:
        raise ValueError(kind)
    return {"type": severity, "fileName": file.lower(), "description": text}


# Damaged values. Each variant of a distinct clean value is distinct, so none duplicates another.

MISSING = ("", " ", "   ")


def bad_key(clean: str, n: int) -> str:
    """An invalid SIS ID made from a valid one: a space, a bad character, or too long."""
    variants = (
        f"{clean[:2]} {clean[2:]}", f"{clean} ", f" {clean}", f"{clean}#", f"{clean}é",
        f"{clean}/{n % 10}", clean.rjust(65, "0"), f"{clean}@x",
    )
    return variants[n % len(variants)]


def bad_username(clean: str, n: int) -> str:
    """An invalid Username made from a valid one (its domain, if any, is dropped)."""
    prefix = clean.split("@", 1)[0]
    variants = (
        f"{prefix[:2]} {prefix[2:]}", f".{prefix}", f"{prefix}.", f"{prefix[:2]}..{prefix[2:]}",
        f"{prefix}%", f"{prefix}@", prefix.rjust(65, "x"), f"{prefix}@bad domain.edu",
    )
    return variants[n % len(variants)]


def bad_email(clean: str, n: int) -> str:
    """An invalid email made from a valid one."""
    local, domain = clean.split("@", 1)
    variants = (
        f"{local}@@{domain}", f"{local} @{domain}", f"{local}@{domain.split('.')[0]}",
        f"{local}.{domain}", f"@{domain}", f"{local}@{domain} ",
    )
    return variants[n % len(variants)]


BAD_DATES = ("2/30/2012", "13/1/2011", "2011-02-29", "20111301", "4/31/2010", "2010-00-10",
             "2024/08/21", "8-21-2024")
BAD_YEARS = ("25", "20300", "2O30", "203", " 2030")


def bad_person_name(clean: str, n: int, field: str) -> str:
    """A person's name with a control character, a NUL, or longer than 64 characters."""
    if field == "Last Name":
        return f"{clean[:1]}\x00{clean[1:]}"
    variants = (f"{clean}\x1b", f"\x07{clean}", clean.ljust(65, "a"), f"{clean[:1]}\x0b{clean[1:]}")
    return variants[n % len(variants)]


def bad_title(clean: str, n: int) -> str:
    """A school or section name with a control character or longer than 256 characters."""
    variants = (f"{clean}\x07", clean.ljust(257, "."), f"\x1b{clean}")
    return variants[n % len(variants)]
