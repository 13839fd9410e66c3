"""Sample sets for the sync tests: as uploaded (bytes) and as rows keyed by US header names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from sds_core.sync import SyncOptions, plan_sync, read_source
from sds_core.sync.columns import file_columns
from tests.core.sync.test_columns import rows_of
from tests.paths import SAMPLES

SETS = sorted(p.name for p in SAMPLES.glob("sds-v1*"))
CREATION = {
    "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
        "userDomains": [
            {"appliesTo": "student", "name": "students.example.edu"},
            {"appliesTo": "teacher", "name": "example.edu"},
        ],
    },
}

Files = dict[str, list[dict[str, str]]]


def raw_sample(folder: str) -> dict[str, bytes]:
    """A sample set as uploaded: canonical file name -> bytes."""
    return {p.name.lower(): p.read_bytes() for p in (SAMPLES / folder).glob("*.csv")}


def sample(folder: str) -> Files:
    """A sample set: canonical file name -> rows."""
    return {name: rows_of(file_columns(name, data)) for name, data in raw_sample(folder).items()}


def csv_files(tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> Files:
    """Files written inline as lists of dicts (all values as text)."""
    return {
        name: [{k: str(v) for k, v in row.items()} for row in rows] for name, rows in tables.items()
    }


def expected_counts(files: Files) -> dict[str, int]:
    """What the files describe: distinct schools, classes, users and memberships."""

    def distinct(name: str, *columns: str) -> set[tuple[str, ...]]:
        return {tuple(row[c] for c in columns) for row in files[name]}

    return {
        "schools": len(distinct("school.csv", "SIS ID")),
        "classes": len(distinct("section.csv", "SIS ID")),
        "users": len(distinct("student.csv", "SIS ID")) + len(distinct("teacher.csv", "SIS ID")),
        "members": len(distinct("studentenrollment.csv", "Section SIS ID", "SIS ID")),
        "teachers": len(distinct("teacherroster.csv", "Section SIS ID", "SIS ID")),
        "school_users": len(distinct("student.csv", "SIS ID", "School SIS ID"))
        + len(distinct("teacher.csv", "SIS ID", "School SIS ID")),
    }


@pytest.mark.parametrize("folder", SETS)
def test_each_sample_set_plans_one_add_per_entity_and_every_membership(folder: str) -> None:
    files = sample(folder)
    options = SyncOptions.from_profile(CREATION)
    plan = plan_sync(f"p-{folder}", read_source(files, options), options)
    changes = plan.changes(plan.steps)
    kinds = [c.kind for c in changes]
    links = {
        part: sum(len(c.links.get(part, ())) for c in changes if c.kind == kind)
        for kind, part in (("class", "members"), ("class", "teachers"), ("school", "users"))
    }
    got = {
        "schools": kinds.count("school"),
        "classes": kinds.count("class"),
        "users": kinds.count("user"),
        "members": links["members"],
        "teachers": links["teachers"],
        "school_users": links["users"],
    }
    assert got == expected_counts(files)
    assert plan.issues == []
    assert {c.op for c in changes} == {"add"}
    assert plan_sync(f"p-{folder}", read_source(files, options), options, plan.baseline).steps == []
    uploaded = plan_sync(f"p-{folder}", read_source(raw_sample(folder), options), options)
    assert uploaded.changes(uploaded.steps) == changes
    assert (
        plan_sync(
            f"p-{folder}", read_source(raw_sample(folder), options), options, plan.baseline
        ).steps
        == []
    )
