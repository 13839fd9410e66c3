"""The command line: output, exit status, profile, details and the spreadsheet report."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sds_core.cli import main
from tests.core.builders import MIN_REQUIRED, SAMPLES

CONTEXT = "https://graph.microsoft.com/beta/$metadata#education/Collection(microsoft.graph.verificationMessage)"
from tests.paths import GOLDEN


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["verify", *map(str, args)])
    return status, capsys.readouterr().out


def test_clean_set_prints_an_empty_collection_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, MIN_REQUIRED)
    assert (status, json.loads(out)) == (0, {"@odata.context": CONTEXT, "value": []})


def test_errors_exit_1_with_the_body_start_would_answer(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, GOLDEN / "17-reference-not-found")
    expected = json.loads((GOLDEN / "17-reference-not-found" / "expected.json").read_text())
    assert (status, json.loads(out)) == (1, expected["response"])


def test_warnings_only_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, GOLDEN / "09-unknown-column")
    assert status == 0 and json.loads(out)["value"][0]["type"] == "Warning"


def test_empty_folder_is_six_missing_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a csv")
    status, out = run(capsys, tmp_path)
    assert status == 1
    assert [m["description"] for m in json.loads(out)["value"]] == ["The required file was not uploaded."] * 6


def test_details_and_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, GOLDEN / "16-duplicates", "--details", "--base-url", "https://sds.example.org/beta/")
    expected = json.loads((GOLDEN / "16-duplicates" / "expected.json").read_text())
    expected["response"]["@odata.context"] = CONTEXT.replace(
        "https://graph.microsoft.com/beta", "https://sds.example.org/beta"
    )
    assert (status, json.loads(out)) == (1, {"response": expected["response"], "details": expected["details"]})


def test_profile_with_account_creation_requires_names_and_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = {
        "displayName": "Create accounts",
        "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
        "identitySynchronizationConfiguration": {
            "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
            "userDomains": [{"appliesTo": "student", "name": "example.edu"}],
        },
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    status, out = run(capsys, MIN_REQUIRED, "--profile", path)
    assert status == 1
    assert json.loads(out)["value"] == [
        {"type": "Error", "fileName": "student.csv", "description": f"The header is missing the required field - {f}"}
        for f in ("First Name", "Last Name", "Password")
    ]


def test_report_masks_passwords_and_escapes_formulas(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "set"
    shutil.copytree(SAMPLES / "sds-v1_25-users", folder)
    student = (folder / "Student.csv").read_text()
    student = student.replace("13001,10001,Ora,Klein,OKlein,P@ssword", "13001,10001,Ora,Klein,=HYPERLINK(1),P\x00ssword")
    (folder / "Student.csv").write_text(student)
    report = tmp_path / "report.csv"
    status, _ = run(capsys, folder, "--report", report)
    lines = list(csv.reader(io.StringIO(report.read_text(), newline="")))
    assert status == 1
    assert lines == [
        ["file", "row", "column", "value", "problem"],
        ["student.csv", "2", "Username", "'=HYPERLINK(1)", "1 row(s) have an invalid format for the field - Username"],
        ["student.csv", "2", "Password", "***", "1 row(s) have an invalid format for the field - Password"],
    ]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert main(["verify", str(MIN_REQUIRED), "--profile", str(tmp_path / "none.json")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["verify"])
    assert exit_info.value.code == 2


def test_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(MIN_REQUIRED)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == []
