"""Golden cases of the v2.1 rules: Microsoft's v2.1 sample with one kind of defect each, the whole
expected JSON kept beside the files (file, row, column and value of every finding)."""

from __future__ import annotations

import json

import pytest

from sds_core.verification.messages import TEMPLATES_V21, Code
from sds_core.verification.options import VerifyOptions
from sds_core.verification.report import start_body
from sds_core.verification.verify import verify_folder
from tests.paths import GOLDEN_V21

BASE_URL = "https://graph.microsoft.com/beta"
CASES = sorted(p.name for p in GOLDEN_V21.iterdir() if p.is_dir())
# Bounded input (header too long) and the row limit have golden cases of their own in v1 and the
# same code path; the v2.1 rules do not use the v1-only messages.
NOT_HERE = {Code.HEADER_TOO_LONG, Code.TOO_MANY_ROWS}


def expected_of(case: str) -> dict:
    return json.loads((GOLDEN_V21 / case / "expected.json").read_text(encoding="utf-8"))


def test_every_v21_message_has_a_case() -> None:
    codes = {Code(m["code"]) for case in CASES for m in expected_of(case)["details"]}
    assert codes == set(TEMPLATES_V21) - NOT_HERE


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str) -> None:
    result = verify_folder(GOLDEN_V21 / case, VerifyOptions(format="v2.1"))
    actual = {"response": start_body(result.graph_messages(), BASE_URL), "details": result.details()}
    assert actual == expected_of(case)


def test_the_users_only_set_and_microsofts_sample_are_clean() -> None:
    assert expected_of("20-users-only")["details"] == []


def _sample_with_classes(sessions: list[str]) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in (GOLDEN_V21.parent / "samples" / "sds-v2.1").glob("*.csv")}
    rows = "".join(f'11200{i},110001,Class {i},"{s}",C12001\r\n' for i, s in enumerate(sessions, 1))
    files["classes.csv"] = b"sourcedId,orgSourcedId,title,sessionSourcedIds,courseSourcedId\r\n" + rows.encode()
    return files


def test_several_sessions_of_a_class_are_each_looked_up() -> None:
    from sds_core.verification.verify import verify_files

    clean = verify_files(_sample_with_classes(["FS2021HED,SY2021K12", "SY2021K12"]), VerifyOptions(format="v2.1"))
    assert clean.graph_messages() == []
    found = verify_files(_sample_with_classes(["FS2021HED,SY2021K12", "SY2021K12,NOPE", "FS2021HED, SY2021K12"]),
                         VerifyOptions(format="v2.1"))
    assert [(m["code"], m["rows"]) for m in found.details()] == [
        ("invalidFormat", [{"row": 4, "column": "sessionSourcedIds", "value": "FS2021HED, SY2021K12"}]),
        ("referenceNotFound", [{"row": 3, "column": "sessionSourcedIds", "value": "SY2021K12,NOPE",
                                "note": "not in the sourcedId column of academicSessions.csv"}]),
    ]
