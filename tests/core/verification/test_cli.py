"""The command line: output, exit status, profile, details and the spreadsheet report."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sds_core.cli import main
from tests.core.builders import MIN_REQUIRED, SAMPLES
from tests.core.verification.report_data import INJECTED_SCRIPT, hostile_set

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
    lines = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"), newline="")))
    assert status == 1
    assert lines == [
        ["file", "row", "column", "value", "severity", "problem"],
        ["student.csv", "2", "Username", "'=HYPERLINK(1)", "Error",
         "1 row(s) have an invalid format for the field - Username "
         "(\"=\" is not allowed: a Username has only ASCII letters, digits and ' . - _ ! # ^ ~)"],
        ["student.csv", "2", "Password", "***", "Error",
         "1 row(s) have an invalid format for the field - Password (holds a NUL character)"],
    ]


def test_report_for_a_spreadsheet_whole_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = hostile_set(tmp_path / "set")
    report = tmp_path / "report.csv"
    status, _ = run(capsys, folder, "--report", report, "--detail-rows", "1")
    invalid = "row(s) have an invalid format for the field -"
    assert status == 1
    assert report.read_bytes().decode("utf-8") == (
        "\ufeff"  # a BOM: Excel then reads the file as UTF-8
        "file,row,column,value,severity,problem\r\n"
        "notes.csv,,,,Warning,The file is not part of the SDS format and was ignored.\r\n"
        f"student.csv,2,Username,'=HYPERLINK(1),Error,\"2 {invalid} Username (\"\"=\"\" is not allowed: "
        "a Username has only ASCII letters, digits and ' . - _ ! # ^ ~)\"\r\n"
        f"student.csv,,Username,,Error,2 {invalid} Username (1 more row(s) not listed)\r\n"
        f"student.csv,3,First Name,Beu<SOH>lah,Error,\"1 {invalid} First Name (\"\"<SOH>\"\" is not allowed in a name)\"\r\n"
        f"student.csv,2,Password,***,Error,1 {invalid} Password (holds a NUL character)\r\n"
        f"studentenrollment.csv,46,Section SIS ID,{INJECTED_SCRIPT},Error,\"1 {invalid} Section SIS ID (\"\"<\"\" is not "
        'allowed: a SIS ID has only ASCII letters, digits, ""."", ""_"" and ""-"")"\r\n'
    )


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert main(["verify", str(MIN_REQUIRED), "--profile", str(tmp_path / "none.json")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["verify"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().out == ""


def test_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(MIN_REQUIRED)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == []


def test_the_process_ends_with_every_byte_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The entry point skips the interpreter's teardown: nothing it writes may be lost to that.
    big = tmp_path / "big"
    shutil.copytree(MIN_REQUIRED, big)
    with (big / "StudentEnrollment.csv").open("a", encoding="utf-8", newline="") as out:
        out.writelines(f"missing-{n},missing-{n}\r\n" for n in range(3000))
    status = main(["verify", str(big), "--details", "--report", str(tmp_path / "in-process.csv")])
    expected = capsys.readouterr().out
    with (tmp_path / "out.json").open("w") as stdout:
        done = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(big), "--details",
                               "--report", str(tmp_path / "process.csv")], stdout=stdout, stderr=subprocess.PIPE,
                              text=True, check=False)
    assert (done.returncode, status) == (1, 1)
    assert (tmp_path / "out.json").read_text() == expected and len(expected) > 200_000
    assert (tmp_path / "process.csv").read_bytes() == (tmp_path / "in-process.csv").read_bytes()
    assert done.stderr.startswith("sync blocked: ")


def run_all(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Exit status, stdout and stderr (its seconds replaced by `<s>`) of one run."""
    status = main(["verify", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, re.sub(r"\d+\.\d\d s$", "<s> s", captured.err, flags=re.M)


def test_one_summary_line_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run_all(capsys, hostile_set(tmp_path / "set"))
    assert status == 1 and json.loads(out)["value"]
    assert err == "sync blocked: 4 errors, 1 warning, 0 information; 6 files, 75 rows, <s> s\n"
    assert run_all(capsys, MIN_REQUIRED)[2] == "sync can start: 0 errors, 0 warnings, 0 information; 6 files, 74 rows, <s> s\n"


def test_summary_line_when_stderr_is_not_a_terminal() -> None:
    done = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(GOLDEN / "09-unknown-column")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert re.sub(r"\d+\.\d\d s$", "<s> s", done.stderr) == (
        "sync can start: 0 errors, 1 warning, 0 information; 6 files, 74 rows, <s> s\n"
    )


def test_a_closed_pipe_ends_quietly() -> None:
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before anything is written, as after `| head` exits
    try:
        done = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(GOLDEN / "16-duplicates"), "--details"],
                              stdout=writer, stderr=subprocess.PIPE, text=True, check=False)
    finally:
        os.close(writer)
    assert done.returncode == 1
    assert re.sub(r"\d+\.\d\d s$", "<s> s", done.stderr).splitlines() == [
        "sync blocked: 1 error, 3 warnings, 0 information; 6 files, 78 rows, <s> s"
    ]


def test_piping_into_head_ends_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big"
    shutil.copytree(MIN_REQUIRED, big)
    with (big / "StudentEnrollment.csv").open("a", encoding="utf-8", newline="") as out:
        out.writelines(f"missing-{n},missing-{n}\r\n" for n in range(3000))  # ~600 KB of details
    command = f"{shlex.quote(sys.executable)} -m sds_core verify {shlex.quote(str(big))} --details | head -n 3"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, check=False)
    assert done.stdout.splitlines() == ["{", '  "response": {',
                                        '    "@odata.context": "' + CONTEXT + '",']
    assert "Traceback" not in done.stderr and "Error" not in done.stderr
    assert re.sub(r"\d+\.\d\d s$", "<s> s", done.stderr).startswith("sync blocked: ")
    assert done.returncode == 1


def test_help_says_what_it_does(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--help"])
    text = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "print on stdout the JSON body that POST .../synchronizationProfiles/{id}/start would answer" in text
    assert ("school.csv, section.csv, teacher.csv, student.csv, studentenrollment.csv, teacherroster.csv"
            in text)
    assert "exit status:\n  0  no Error" in text and "\n  1  at least one Error" in text and "\n  2  a usage" in text
    assert "(default: 1000)" in text and "(default: https://graph.microsoft.com/beta)" in text
    assert text.endswith(
        "examples:\n  python -m sds_core verify ./export\n"
        "  python -m sds_core verify ./export --profile profile.json --html report.html --report report.csv\n"
    )


def test_every_option_is_in_the_command_line_page_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    in_help = set(re.findall(r"^  (--[a-z-]+)", capsys.readouterr().out, flags=re.M)) - {"--help"}
    root = Path(__file__).resolve().parents[3]
    page = (root / "docs" / "command-line.md").read_text(encoding="utf-8")
    section = page.split("## Options and exit status", 1)[1].split("\n## ", 1)[0]
    in_table = set(re.findall(r"^\| `(--[a-z-]+)", section, flags=re.M))
    assert in_help == in_table
    assert in_table == {"--profile", "--details", "--report", "--html", "--base-url", "--max-rows",
                        "--detail-rows", "--new-sds", "--format"}


def test_sds_verify_is_the_same_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(MIN_REQUIRED)], prog="sds-verify") == 0
    assert json.loads(capsys.readouterr().out) == {"@odata.context": CONTEXT, "value": []}
    with pytest.raises(SystemExit):
        main(["--help"], prog="sds-verify")
    assert "examples:\n  sds-verify ./export\n" in capsys.readouterr().out


# Usage and input problems: exit 2, one line on stderr, nothing on stdout, nothing written.

PROG = "python -m sds_core verify"


def usage_problem(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """stderr of a run that must end with exit 2 and an empty stdout."""
    try:
        status = main(["verify", *map(str, args)])
    except SystemExit as exit_info:
        status = exit_info.code
    captured = capsys.readouterr()
    assert (status, captured.out) == (2, "")
    return captured.err



def _decode_error(text: str) -> str:
    """What the command line says of invalid JSON: the decoder's message and position."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
    raise AssertionError(f"{text!r} is valid JSON")

@pytest.mark.parametrize(("content", "problem"), [
    ("[1, 2]", "expected an object (a synchronizationProfile), not an array"),
    ('"profile"', "expected an object (a synchronizationProfile), not a string"),
    ('{"identitySynchronizationConfiguration": "create"}',
     "identitySynchronizationConfiguration must be an object, not a string"),
    ('{"identitySynchronizationConfiguration": {"userDomains": {"appliesTo": "student"}}}',
     "identitySynchronizationConfiguration.userDomains must be an array, not an object"),
    ('{"identitySynchronizationConfiguration": {"userDomains": ["student"]}}',
     "identitySynchronizationConfiguration.userDomains[0] must be an object, not a string"),
    ('{"dataProvider": []}', "dataProvider must be an object, not an array"),
    ('{"dataProvider": {"customizations": {"student": {"optionalPropertiesToSync": "Email"}}}}',
     "dataProvider.customizations.student.optionalPropertiesToSync must be an array of column names, not a string"),
    ('{"dataProvider": {"customizations": {"student": {"optionalPropertiesToSync": [1]}}}}',
     "dataProvider.customizations.student.optionalPropertiesToSync must hold strings, not a number"),
    ('{"handleSpecialCharacterConstraint": "yes"}', "handleSpecialCharacterConstraint must be true or false, not a string"),
    # The decoder's own words and position: Python 3.13 says "Illegal trailing comma before end of
    # object" at column 20, 3.11 "Expecting property name enclosed in double quotes" at 21.
    ('{"displayName": "x",}', _decode_error('{"displayName": "x",}')),
    ("", "invalid JSON at line 1 column 1: Expecting value"),
])
def test_a_profile_of_the_wrong_shape_exits_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "profile.json"
    path.write_text(content, encoding="utf-8")
    assert usage_problem(capsys, MIN_REQUIRED, "--profile", path) == f"{PROG}: error: profile {path}: {problem}\n"


def test_a_profile_that_is_not_text_or_absent_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    binary = tmp_path / "profile.json"
    binary.write_bytes(b"\xff\xfe{}")
    assert usage_problem(capsys, MIN_REQUIRED, "--profile", binary) == f"{PROG}: error: profile {binary}: not UTF-8 text\n"
    absent = tmp_path / "none.json"
    assert usage_problem(capsys, MIN_REQUIRED, "--profile", absent) == f"{PROG}: error: profile {absent}: no such file\n"


def test_a_profile_with_a_bom_is_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('\ufeff{"handleSpecialCharacterConstraint": true}', encoding="utf-8")
    assert run(capsys, MIN_REQUIRED, "--profile", path)[0] == 0


@pytest.mark.parametrize(("args", "problem"), [
    (["--max-rows", "-1"], "argument --max-rows: must be 0 or more, not -1"),
    (["--detail-rows", "-1"], "argument --detail-rows: must be 0 or more, not -1"),
    (["--detail-rows", "ten"], "argument --detail-rows: expected a whole number, not 'ten'"),
])
def test_bad_numbers_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str], problem: str) -> None:
    assert usage_problem(capsys, MIN_REQUIRED, *args) == f"{PROG}: error: {problem} (see --help)\n"


def test_an_unknown_option_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert usage_problem(capsys, MIN_REQUIRED, "--colour") == (
        "python -m sds_core: error: unrecognized arguments: --colour (see --help)\n"
    )


def test_a_missing_folder_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert usage_problem(capsys, missing) == f"{PROG}: error: {missing}: no such folder\n"
    assert usage_problem(capsys) == f"{PROG}: error: the following arguments are required: folder (see --help)\n"


@pytest.mark.parametrize("option", ["--report", "--html"])
def test_an_output_path_that_cannot_be_written_exits_2_before_anything_is_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str
) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = {
        tmp_path / "no-such-folder" / "out": f"the folder {tmp_path / 'no-such-folder'} does not exist",
        a_file / "out": f"the folder {a_file} does not exist",
        tmp_path: "is a folder, not a file",
    }
    for path, problem in cases.items():
        assert usage_problem(capsys, GOLDEN / "16-duplicates", option, path) == f"{PROG}: error: {option} {path}: {problem}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_html_and_report_are_written_whole(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page, report = tmp_path / "report.html", tmp_path / "report.csv"
    report.write_text("old")
    status, _ = run(capsys, GOLDEN / "16-duplicates", "--html", page, "--report", report)
    assert status == 1
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert report.read_bytes().startswith(b"\xef\xbb\xbffile,row,column,value,severity,problem\r\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.html"]
    assert oct(page.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
