"""The mistakes admins make with Excel, run through the real command line: the exit status, the JSON
(Graph's texts, unchanged), and the lines on stderr that name the cause and the fix."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.verification.mistakes import BUILDERS, MISTAKES, write_all

PROG = "python -m sds_core verify"
SAVE = '"CSV UTF-8 (Comma delimited)"'
SIX = "school.csv, section.csv, teacher.csv, student.csv, studentenrollment.csv, teacherroster.csv"
MISSING = "The required file was not uploaded."
SEMICOLONS = ("The header is separated by semicolons (;), not commas: Excel separates with the list separator of "
              "the computer's region. Set it to a comma (Windows: Region > Additional settings > List separator), "
              f"then save the file again as {SAVE}.")


def verify(*args: object) -> tuple[int, str, str]:
    """Exit status, stdout and stderr (its seconds replaced by `<s>`) of `python -m sds_core verify`."""
    done = subprocess.run([sys.executable, "-m", "sds_core", "verify", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", check=False)
    return done.returncode, done.stdout, re.sub(r"\d+\.\d\d s$", "<s> s", done.stderr, flags=re.M)


def missing_six() -> list[dict[str, str]]:
    names = sorted(SIX.split(", "))
    return [{"type": "Error", "fileName": name, "description": MISSING} for name in names]


def test_the_committed_folders_are_the_ones_the_builders_make(tmp_path: Path) -> None:
    write_all(tmp_path)

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert sorted(p.name for p in MISTAKES.iterdir()) == sorted(BUILDERS)
    assert tree(MISTAKES) == tree(tmp_path)


def test_a_utf16_file_says_save_as_csv_utf8() -> None:
    status, out, err = verify(MISTAKES / "unicode-text")
    assert (status, json.loads(out)["value"]) == (1, [{
        "type": "Error", "fileName": "school.csv",
        "description": "The file is not UTF-8 encoded (first invalid byte on line 1)."}])
    assert err == (f"school.csv: This file looks like UTF-16 (Excel's \"Unicode Text\"): save it as {SAVE}.\n"
                   "sync blocked: 1 error, 0 warnings, 0 information; 6 files, 72 rows, <s> s\n")


def test_a_windows_1252_file_names_the_byte_and_says_save_as_csv_utf8() -> None:
    status, out, err = verify(MISTAKES / "windows-1252")
    assert (status, json.loads(out)["value"]) == (1, [{
        "type": "Error", "fileName": "school.csv",
        "description": "The file is not UTF-8 encoded (first invalid byte on line 2)."}])
    assert err == ("school.csv: This file looks like Windows-1252, as Excel's \"CSV (Comma delimited)\" saves it "
                   f"(byte 0xC9 on line 2 is \"É\" there): save it as {SAVE}.\n"
                   "sync blocked: 1 error, 0 warnings, 0 information; 6 files, 72 rows, <s> s\n")


def test_a_semicolon_file_says_which_separator_and_how_to_change_it() -> None:
    status, out, err = verify(MISTAKES / "semicolons", "--details")
    body = json.loads(out)
    assert (status, body["response"]["value"]) == (1, [
        {"type": "Error", "fileName": "school.csv", "description": "The header is missing the required field - SIS ID"},
        {"type": "Error", "fileName": "school.csv", "description": "The header is missing the required field - Name"},
        {"type": "Warning", "fileName": "school.csv",
         "description": "The column is not part of the SDS format and was ignored - SIS ID;Name"},
    ])
    assert [m["note"] for m in body["details"]] == [SEMICOLONS] * 3
    assert err == f"school.csv: {SEMICOLONS}\nsync blocked: 2 errors, 1 warning, 0 information; 6 files, 74 rows, <s> s\n"


def test_a_folder_of_workbooks_names_them_and_says_save_each_sheet_as_csv() -> None:
    status, out, err = verify(MISTAKES / "workbooks", "--details")
    body = json.loads(out)
    assert (status, body["response"]["value"]) == (1, missing_six())
    advice = ("The folder holds no CSV file but 3 Excel workbooks: school.xlsx, section.xlsx, student.xlsx. "
              f"Save each sheet as {SAVE} with the file names {SIX} (Excel saves only the sheet on screen: "
              "once per sheet).")
    assert err == f"{advice}\nsync blocked: 6 errors, 0 warnings, 0 information; 0 files, 0 rows, <s> s\n"
    workbook = 'is an Excel workbook: save its sheet as "CSV UTF-8 (Comma delimited)" named'
    assert {m["fileName"]: m["note"] for m in body["details"]} == {
        "school.csv": f"school.xlsx {workbook} school.csv.",
        "section.csv": f"section.xlsx {workbook} section.csv.",
        "student.csv": f"student.xlsx {workbook} student.csv.",
        "studentenrollment.csv": advice, "teacher.csv": advice, "teacherroster.csv": advice,
    }


def test_an_empty_folder_says_it_is_empty() -> None:
    status, out, err = verify(MISTAKES / "empty")
    assert (status, json.loads(out)["value"]) == (1, missing_six())
    assert err == (f"The folder is empty: put the six CSV files in it ({SIX}).\n"
                   "sync blocked: 6 errors, 0 warnings, 0 information; 0 files, 0 rows, <s> s\n")


def test_the_parent_folder_names_the_sub_folder_to_verify() -> None:
    status, out, err = verify(MISTAKES / "parent")
    assert (status, json.loads(out)["value"]) == (1, missing_six())
    assert err == (f"The CSV files are in the sub-folder export (all six): run {PROG} {MISTAKES / 'parent' / 'export'}\n"
                   "sync blocked: 6 errors, 0 warnings, 0 information; 0 files, 0 rows, <s> s\n")
    assert verify(MISTAKES / "parent" / "export")[0] == 0  # the command it gives works


def test_a_file_instead_of_a_folder_says_so_and_gives_its_folder() -> None:
    path = MISTAKES / "parent" / "export" / "School.csv"
    assert verify(path) == (2, "", f"{PROG}: error: {path}: is a file, not a folder: give the folder that holds "
                                   f"the six CSV files: {PROG} {path.parent}\n")


def test_sds_verify_names_itself_in_the_command_it_gives(capsys: pytest.CaptureFixture[str]) -> None:
    from sds_core.cli import main

    path = MISTAKES / "parent" / "export" / "School.csv"
    assert main([str(path)], prog="sds-verify") == 2
    assert capsys.readouterr().err.endswith(f"the six CSV files: sds-verify {path.parent}\n")
    assert main([str(MISTAKES / "parent")], prog="sds-verify") == 1
    assert f"run sds-verify {MISTAKES / 'parent' / 'export'}\n" in capsys.readouterr().err


@pytest.mark.parametrize("folder", sorted(BUILDERS))
def test_the_human_lines_speak_of_a_folder_not_of_uploads(folder: str, tmp_path: Path) -> None:
    page, report = tmp_path / "report.html", tmp_path / "report.csv"
    status, out, err = verify(MISTAKES / folder, "--html", page, "--report", report)
    human = "\n".join([err, page.read_text(encoding="utf-8"), report.read_text(encoding="utf-8-sig")])
    for phrase in ("uploaded", "upload the files", "call <code>start", "Name as uploaded"):
        assert phrase not in human
    assert status == (0 if folder == "v21" else 1)
    if folder in ("workbooks", "empty", "parent"):
        assert MISSING in out  # the JSON keeps Graph's text: clients parse it
        assert "The required file is not in the folder." in page.read_text(encoding="utf-8")


V21_NAMES = "orgs.csv, academicSessions.csv, courses.csv and 7 more"
V21_TOLD = (f"The files are SDS v2.1 ({V21_NAMES}), the new School Data Sync's format, told by their names: "
            "verified with the v2.1 rules (docs/sds-v2.1-rules.md).")
V21_AS_V1 = (f"{V21_NAMES} are SDS v2.1, the new School Data Sync's format, not the classic six: verify them with "
             "the v2.1 rules (on the command line: --format v2.1, or no --format; docs/sds-v2.1-rules.md).")


def test_a_v21_folder_is_said_to_be_v21_and_verified_with_its_rules(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    status, out, err = verify(MISTAKES / "v21", "--html", page)
    assert (status, json.loads(out)["value"]) == (0, [])
    assert err == f"{V21_TOLD}\nsync can start: 0 errors, 0 warnings, 0 information; 10 files, 44 rows, <s> s\n"
    assert ("<dt>Format</dt><dd>SDS v2.1 <span class=\"explain\">(the new School Data Sync&#x27;s files: orgs.csv, "
            "users.csv, roles.csv, ...; told by the file names; --format forces either)</span></dd>") in (
        page.read_text(encoding="utf-8"))
    assert verify(MISTAKES / "v21", "--format", "v2.1")[2].splitlines()[0].startswith("sync can start")


def test_a_v21_folder_verified_as_classic_says_what_it_is_and_how_to_verify_it() -> None:
    status, out, err = verify(MISTAKES / "v21", "--format", "v1", "--details")
    body = json.loads(out)
    unknown = "The file is not part of the SDS format and was ignored."
    ten = [{"type": "Warning", "fileName": p.name.lower(), "description": unknown} for p in (MISTAKES / "v21").iterdir()]
    assert (status, body["response"]["value"]) == (1, sorted(missing_six() + ten, key=lambda m: m["fileName"]))
    assert {m["code"]: 0 for m in body["details"]} == {"missingFile": 0, "unknownFile": 0}
    assert {m["note"] for m in body["details"]} == {V21_AS_V1}  # the 6 missing files and the 10 unknown ones
    assert err == f"{V21_AS_V1}\nsync blocked: 6 errors, 10 warnings, 0 information; 0 files, 0 rows, <s> s\n"


def test_a_classic_folder_verified_as_v21_says_so_and_offers_the_conversion() -> None:
    status, _, err = verify(MISTAKES / "parent" / "export", "--format", "v2.1")
    assert (status, err.splitlines()[0]) == (1, (
        "School.csv, Section.csv, Teacher.csv and 3 more are classic SDS files, not SDS v2.1: verify them with the "
        "classic rules (on the command line: --format v1, or no --format), or convert them to v2.1 (sds-convert; "
        "docs/v1-to-v2.1.md)."))


def test_a_set_mixing_the_formats_says_so_in_starts_details_too() -> None:
    from sds_core.verification.options import VerifyOptions
    from sds_core.verification.verify import verify_files

    files = {p.name: p.read_bytes() for p in (MISTAKES / "parent" / "export").iterdir()}
    files.update({name: (MISTAKES / "v21" / name).read_bytes() for name in ("orgs.csv", "users.csv")})
    result = verify_files(files, VerifyOptions())  # start tells v1 from the names, as here: 6 against 2
    mixed = ("The files mix the classic format and SDS v2.1 (orgs.csv and users.csv are SDS v2.1): verify each set "
             "on its own (the file names tell its format; docs/sds-v2.1-rules.md).")
    assert result.graph_messages() == [
        {"type": "Warning", "fileName": name, "description": "The file is not part of the SDS format and was ignored."}
        for name in ("orgs.csv", "users.csv")]
    assert (result.note, [m["note"] for m in result.details()]) == (mixed, [mixed, mixed])


def test_a_file_name_in_a_hint_cannot_drive_the_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "school\x1b[2J.xlsx").write_bytes(b"PK")
    status, _, err = verify(folder)
    assert status == 1 and "\x1b" not in err
    assert err.startswith("The folder holds no CSV file but 1 Excel workbook: school<ESC>[2J.xlsx. Save each sheet")


def test_the_hints_are_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    shutil.copytree(MISTAKES / "parent" / "export", folder)
    for n in range(30):
        (folder / f"student ({n}).csv").write_text("SIS ID\r\n1\r\n", encoding="utf-8")
    status, _, err = verify(folder)
    lines = err.splitlines()
    assert (status, len(lines)) == (0, 22)
    assert lines[0] == "student (0).csv: Its name is close to student.csv: if it is that file, rename it student.csv."
    assert lines[-2:] == ["and 10 more notes (--details or --html lists them all)",
                          "sync can start: 0 errors, 30 warnings, 0 information; 6 files, 74 rows, <s> s"]
