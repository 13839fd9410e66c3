"""A frictionless data package with a schema equivalent to the SDS rules, for comparison.

What a district admin would write with a generic tool: required fields, patterns for SIS IDs,
usernames, emails, dates, years and names, unique keys, and foreign keys between the files.
Frictionless cannot say "a real calendar date" or "unique ignoring case" with a pattern, so its
checks are, if anything, a little lighter than the verifier's.
"""

from __future__ import annotations

from pathlib import Path

import frictionless

from bench.layout import COLUMNS, ENROLLMENT, FILES, ROSTER
from bench.peer_rules import FOREIGN_KEYS, REQUIRED, UNIQUE

SIS_ID = r"[A-Za-z0-9._-]{1,64}"
USERNAME = (r"(?!\.)(?!.*\.\.)[A-Za-z0-9'._!#^~-]{1,64}(?<!\.)"
            r"(@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})?")
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
DATE = r"\d{4}-\d{2}-\d{2}|\d{8}|\d{1,2}/\d{1,2}/\d{4}"
YEAR = r"\d{4}"
PERSON_NAME = r"[^\x00-\x1f\x7f]{0,64}"
TITLE = r"[^\x00-\x1f\x7f]{0,256}"

MISSING_VALUES = ["", " ", "   "]


def resource_name(file: str) -> str:
    """Frictionless resource name of an SDS file."""
    return file.removesuffix(".csv").lower()


def _pattern(field: str) -> str | None:
    if field.endswith("SIS ID"):
        return SIS_ID
    if field == "Username":
        return USERNAME
    if field.endswith("Email"):
        return EMAIL
    if field in ("Term StartDate", "Term EndDate", "Birthdate"):
        return DATE
    if field == "Graduation Year":
        return YEAR
    if field in ("First Name", "Middle Name", "Last Name"):
        return PERSON_NAME
    if field in ("Name", "Section Name"):
        return TITLE
    return None


def schema(file: str) -> dict:
    """Table Schema descriptor of one SDS file."""
    fields = []
    for name in COLUMNS[file]:
        constraints: dict[str, object] = {}
        if name in REQUIRED[file]:
            constraints["required"] = True
        if name in UNIQUE.get(file, ()):
            constraints["unique"] = True
        if pattern := _pattern(name):
            constraints["pattern"] = pattern
        fields.append({"name": name, "type": "string", "constraints": constraints})
    descriptor: dict[str, object] = {"fields": fields, "missingValues": MISSING_VALUES}
    if file in (ENROLLMENT, ROSTER):
        descriptor["primaryKey"] = ["Section SIS ID", "SIS ID"]
    descriptor["foreignKeys"] = [
        {"fields": field, "reference": {"resource": resource_name(target), "fields": "SIS ID"}}
        for field, target in FOREIGN_KEYS.get(file, [])
    ]
    return descriptor


def package(folder: Path) -> frictionless.Package:
    """The six files of `folder` as one package, so foreign keys reach across files."""
    resources = [
        frictionless.Resource(
            path=file, basepath=str(folder), name=resource_name(file), format="csv",
            encoding="utf-8", schema=frictionless.Schema.from_descriptor(schema(file)),
            detector=frictionless.Detector(schema_sync=True),
        )
        for file in FILES
    ]
    return frictionless.Package(resources=resources, basepath=str(folder))


def validate(folder: Path) -> dict[str, int]:
    """Validate the folder with frictionless; returns the rows read and the errors of each type."""
    report = package(folder).validate(limit_errors=10**9)
    counts = {"rows": sum(task.stats["rows"] or 0 for task in report.tasks)}
    for task in report.tasks:
        for error in task.errors:
            key = f"{task.name}:{error.type}"
            counts[key] = counts.get(key, 0) + 1
    return counts
