"""The ten messages of Graph's documented `start` example, reproduced from CSVs built here."""

from __future__ import annotations

from sds_core.verification.verify import verify_files
from tests.core.builders import HEADERS, csv_bytes

SEED = [
    ("Error", "section.csv", "5 row(s) have missing data for the field - SIS ID"),
    ("Error", "section.csv", "5 row(s) have an invalid format for the field - SIS ID"),
    ("Warning", "student.csv", "3 duplicates found in column SIS ID which requires values to be Unique."),
    ("Warning", "student.csv", "3 duplicates found in column Username which requires values to be Unique."),
    ("Error", "studentenrollment.csv", "125 row(s) have referenced data not found in source. Field - Section SIS ID"),
    ("Error", "studentenrollment.csv", "35 row(s) have referenced data not found in source. Field - SIS ID"),
    ("Warning", "teacher.csv", "3 duplicates found in column SIS ID which requires values to be Unique."),
    ("Warning", "teacher.csv", "3 duplicates found in column Username which requires values to be Unique."),
    ("Error", "teacherroster.csv", "10 row(s) have referenced data not found in source. Field - Section SIS ID"),
    ("Error", "teacherroster.csv", "91 row(s) have referenced data not found in source. Field - SIS ID"),
]


def people(prefix: str, count: int) -> list[list[str]]:
    """`count` people of school 1, then 3 rows repeating SIS IDs and 3 repeating Usernames."""
    rows = [[f"{prefix}{i}", "1", f"{prefix}user{i}"] for i in range(count)]
    rows += [[f"{prefix}{i}", "1", f"{prefix}other{i}"] for i in range(3)]
    rows += [[f"{prefix}x{i}", "1", f"{prefix.upper()}USER{i}"] for i in range(3)]
    return rows


def seed_files() -> dict[str, bytes]:
    """Files whose defects are exactly those of the documented example."""
    sections = [[f"S{i}", "1", f"Class {i}"] for i in range(20)]
    sections += [["", "1", "No id"] for _ in range(5)]
    sections += [[f"bad id {i}", "1", "Bad id"] for i in range(5)]
    enrollments = [[f"S{i % 20}", f"st{i}"] for i in range(100)]
    enrollments += [[f"S-missing-{i}", f"st{i % 100}"] for i in range(125)]
    enrollments += [[f"S{i % 20}", f"nobody{i}"] for i in range(35)]
    roster = [[f"S{i}", f"te{i}"] for i in range(20)]
    roster += [[f"S-gone-{i}", f"te{i}"] for i in range(10)]
    roster += [[f"S{i % 20}", f"ghost{i}"] for i in range(91)]
    tables = {
        "School.csv": [["1", "School One"]],
        "Section.csv": sections,
        "Student.csv": people("st", 100),
        "Teacher.csv": people("te", 20),
        "StudentEnrollment.csv": enrollments,
        "TeacherRoster.csv": roster,
    }
    return {name: csv_bytes(HEADERS[name], rows) for name, rows in tables.items()}


def test_the_documented_example_is_reproduced_exactly() -> None:
    result = verify_files(seed_files())
    assert [(m["type"], m["fileName"], m["description"]) for m in result.graph_messages()] == SEED
    assert result.has_errors
