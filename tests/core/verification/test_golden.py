"""Golden cases: one folder per message of the table, the whole expected JSON written by hand."""

from __future__ import annotations

import json

import pytest

from sds_core.verification.options import VerifyOptions
from sds_core.verification.report import start_body
from sds_core.verification.verify import verify_folder
from tests.paths import GOLDEN

BASE_URL = "https://graph.microsoft.com/beta"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def options_for(expected: dict) -> VerifyOptions:
    """The options a case asks for (a profile, a row limit), else none."""
    wanted = expected.get("options", {})
    return VerifyOptions.from_profile(wanted.get("profile"), max_rows_per_file=wanted.get("maxRows", 0))


def test_there_is_a_case_per_message() -> None:
    assert len(CASES) == 19


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str) -> None:
    expected = json.loads((GOLDEN / case / "expected.json").read_text(encoding="utf-8"))
    result = verify_folder(GOLDEN / case, options_for(expected))
    actual = {"response": start_body(result.graph_messages(), BASE_URL), "details": result.details()}
    assert actual == {"response": expected["response"], "details": expected["details"]}
