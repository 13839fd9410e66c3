"""The v2.1 benchmark generator: its expected.json holds, recounted with the csv module, in every order."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from bench.generate import ORDERS
from bench.generate_v21 import FILES, PER_KIND, generate_v21
from bench.layout import TINY
from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_folder


def records(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module", params=ORDERS)
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"v21-{request.param}")
    generate_v21(folder, TINY, order=request.param)
    return folder


def test_the_verifier_answers_expected_json(generated: Path) -> None:
    expected = json.loads((generated / "expected.json").read_text(encoding="utf-8"))
    result = verify_folder(generated, VerifyOptions(format="v2.1"))
    assert sorted(result.graph_messages(), key=str) == sorted(expected, key=str)
    assert len(expected) == 5


def test_the_defects_recounted(generated: Path) -> None:
    n = PER_KIND * TINY.defects
    users = records(generated, "users.csv")
    ids = {u["sourcedId"] for u in users}
    assert sum("@" not in u["username"] for u in users) == n
    assert sum(not c["title"] for c in records(generated, "classes.csv")) == n
    assert sum(r["grade"] == "6" for r in records(generated, "roles.csv")) == n
    enrollments = records(generated, "enrollments.csv")
    assert sum(e["userSourcedId"] not in ids for e in enrollments) == n
    pairs = Counter((e["classSourcedId"], e["userSourcedId"]) for e in enrollments)
    assert sum(c - 1 for c in pairs.values()) == n


def test_the_same_district_as_the_v1_set(generated: Path) -> None:
    users = records(generated, "users.csv")
    assert len(users) == TINY.rows["Student.csv"] + TINY.rows["Teacher.csv"]
    assert len(records(generated, "classes.csv")) == TINY.rows["Section.csv"]
    enrollments = len(records(generated, "enrollments.csv"))
    assert enrollments == TINY.rows["StudentEnrollment.csv"] + TINY.rows["TeacherRoster.csv"] + PER_KIND
    assert sorted(p.name for p in generated.glob("*.csv")) == sorted(FILES)
