"""The command line with v2.1 sets: the format told by the names or forced, and `convert v1-to-v2.1`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sds_core.cli import main
from tests.paths import GOLDEN_V21, SAMPLES

CONTEXT = "https://graph.microsoft.com/beta/$metadata#education/Collection(microsoft.graph.verificationMessage)"
V21_SAMPLE = SAMPLES / "sds-v2.1"
V1_SAMPLE = SAMPLES / "sds-v1_25-users"
ROOT = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = main([*map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def descriptions(out: str) -> list[tuple[str, str, str]]:
    return [(m["type"], m["fileName"], m["description"]) for m in json.loads(out)["value"]]


def test_a_v21_folder_is_verified_with_the_v21_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "verify", V21_SAMPLE)
    assert (status, json.loads(out)) == (0, {"@odata.context": CONTEXT, "value": []})
    told, summary = err.splitlines()
    assert told.startswith("The files are SDS v2.1 (orgs.csv, academicSessions.csv, courses.csv and 7 more)")
    assert summary.startswith("sync can start: 0 errors, 0 warnings, 0 information; 10 files, 44 rows, ")


def test_a_golden_v21_case_through_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    case = GOLDEN_V21 / "17-reference-not-found"
    status, out, _ = run(capsys, "verify", case, "--details")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert (status, json.loads(out)) == (1, expected)


def test_format_forces_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "verify", V21_SAMPLE, "--format", "v1")
    found = descriptions(out)
    assert status == 1
    assert [d for d in found if d[0] == "Error"] == [
        ("Error", name, "The required file was not uploaded.")
        for name in ("school.csv", "section.csv", "student.csv", "studentenrollment.csv", "teacher.csv",
                     "teacherroster.csv")]
    assert len(found) == 16  # and the ten v2.1 files are unknown to v1
    status, out, _ = run(capsys, "verify", V1_SAMPLE, "--format", "v2.1")
    assert status == 1
    assert [d for d in descriptions(out) if d[0] == "Error"] == [
        ("Error", name, f"When trying to validate required file {name} encountered RequiredFileNotFound error.")
        for name in ("orgs.csv", "roles.csv", "users.csv")]


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", str(V21_SAMPLE), "--format", "v2"])
    assert exit_info.value.code == 2
    assert "argument --format: invalid choice: 'v2'" in capsys.readouterr().err


def test_convert_writes_a_clean_v21_set(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "v21"
    status, out, err = run(capsys, "convert", "v1-to-v2.1", V1_SAMPLE, out_dir, "--domain", "contoso.edu")
    assert (status, json.loads(out)) == (0, {"@odata.context": CONTEXT, "value": []})
    assert err.startswith(f"wrote 8 v2.1 files to {out_dir}; sync can start: 0 errors, ")
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([
        "orgs.csv", "users.csv", "roles.csv", "classes.csv", "enrollments.csv", "academicSessions.csv",
        "courses.csv", "demographics.csv"])
    assert run(capsys, "verify", out_dir)[:2] == (0, json.dumps({"@odata.context": CONTEXT, "value": []},
                                                                indent=2) + "\n")


def test_student_and_teacher_domains(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, _ = run(capsys, "convert", "v1-to-v2.1", V1_SAMPLE, tmp_path / "o", "--domain", "contoso.edu",
                       "--student-domain", "students.contoso.edu")
    users = (tmp_path / "o" / "users.csv").read_text().splitlines()
    assert status == 0
    assert users[1].startswith("13001,OKlein@students.contoso.edu,") and users[-1].startswith("14002,DTodd@contoso.edu,")


def test_convert_without_a_domain_says_what_v21_refuses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "convert", "v1-to-v2.1", V1_SAMPLE, tmp_path / "o")
    assert status == 1 and "sync blocked: 1 error" in err
    assert descriptions(out) == [("Error", "users.csv", "24 record(s) have a value in username that isn't a valid "
                                  "username with its domain (name@domain). Correct source system.")]


@pytest.mark.parametrize("problem", ["holds csv", "no source", "target is a file"])
def test_convert_input_problems_exit_2_and_write_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, problem: str
) -> None:
    source, target = V1_SAMPLE, tmp_path / "out"
    if problem == "holds csv":
        target.mkdir()
        (target / "Orgs.CSV").write_text("old")
        expected = f"{target}: already holds CSV files; choose an empty or new folder"
    elif problem == "no source":
        source = tmp_path / "missing"
        expected = f"{source}: no such folder"
    else:
        target.write_text("a file")
        expected = f"{target}: is a file, not a folder"
    before = sorted(tmp_path.rglob("*"))
    status, out, err = run(capsys, "convert", "v1-to-v2.1", source, target)
    assert (status, out, err) == (2, "", f"python -m sds_core convert: error: {expected}\n")
    assert sorted(tmp_path.rglob("*")) == before


def test_sds_convert_and_the_module_are_the_same_command(tmp_path: Path) -> None:
    for command, out_dir in (([sys.executable, "-m", "sds_core", "convert"], tmp_path / "a"),
                             ([sys.executable, "-c", "from sds_core.cli import convert_main; convert_main()"],
                              tmp_path / "b")):
        done = subprocess.run([*command, "v1-to-v2.1", str(V1_SAMPLE), str(out_dir), "--domain", "x.edu"],
                              capture_output=True, text=True, check=False, cwd=ROOT)
        assert (done.returncode, json.loads(done.stdout)["value"]) == (0, [])
    assert {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()} == {
        p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}


def test_sds_convert_help(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from sds_core.cli import convert_main; convert_main()", "--help"],
                          capture_output=True, text=True, check=False, cwd=ROOT, env={"COLUMNS": "200", "PATH": ""})
    assert done.returncode == 0
    assert done.stdout.startswith("usage: sds-convert [-h] [--domain DOMAIN]")
    assert "examples:\n  sds-convert v1-to-v2.1 ./export ./export-v2.1 --domain contoso.edu\n" in done.stdout
