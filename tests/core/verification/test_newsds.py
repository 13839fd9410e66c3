"""The new School Data Sync's own v1 rules (newsds.py), applied with VerifyOptions(new_sds=True)."""

from __future__ import annotations

from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_files, verify_folder
from tests.core.builders import SAMPLES, csv_bytes, rows_of, sample_files

NEW_SDS = VerifyOptions(new_sds=True)
CLASS_FILES = ("Section.csv", "StudentEnrollment.csv", "TeacherRoster.csv")


def warning(file_name: str, description: str) -> dict[str, str]:
    return {"type": "Warning", "fileName": file_name, "description": description}


def error(file_name: str, description: str) -> dict[str, str]:
    return {"type": "Error", "fileName": file_name, "description": description}


def not_taken(file_name: str, n: int, field: str) -> dict[str, str]:
    return warning(file_name, f"{n} row(s) have data that School Data Sync does not take in the field - {field}")


def test_min_required_set_passes_both_ways() -> None:
    files = sample_files()
    assert verify_files(files).graph_messages() == []
    assert verify_files(files, NEW_SDS).graph_messages() == []


def test_full_sample_set_warns_about_columns_and_grades() -> None:
    result = verify_folder(SAMPLES / "sds-v1_25-users", NEW_SDS)
    assert result.graph_messages() == [
        not_taken("school.csv", 2, "Grade Low"),
        not_taken("school.csv", 2, "Grade High"),
        not_taken("school.csv", 2, "Principal SIS ID"),
        not_taken("school.csv", 2, "Principal Name"),
        not_taken("school.csv", 2, "Zone"),
        not_taken("section.csv", 2, "Periods"),
        not_taken("section.csv", 2, "Status"),
        warning("student.csv",
                "8 row(s) have a value that is not in the School Data Sync list of values for the field - Grade"),
        not_taken("student.csv", 22, "Status"),
        not_taken("teacher.csv", 2, "Status"),
    ]
    assert not result.has_errors
    grade = next(m for m in result.details() if m["code"] == "notInListOfValues")
    assert (grade["total"], {r["value"] for r in grade["rows"]}) == (8, {"9"})


def test_grade_codes_match_without_case_and_blank_is_not_checked() -> None:
    files = sample_files()
    header, *students = rows_of(files["Student.csv"])
    grades = ["kg", "09", " ", "Other", "ninth", "9"]
    rows = [row + [grades[i] if i < len(grades) else "12"] for i, row in enumerate(students)]
    files["Student.csv"] = csv_bytes(header + ["Grade"], rows)
    result = verify_files(files, NEW_SDS)
    assert result.graph_messages() == [
        warning("student.csv",
                "2 row(s) have a value that is not in the School Data Sync list of values for the field - Grade"),
    ]
    assert result.details()[0]["rows"] == [
        {"row": 6, "column": "Grade", "value": "ninth"},
        {"row": 7, "column": "Grade", "value": "9"},
    ]
    # The classic rules take any grade.
    assert verify_files(files).graph_messages() == []


def test_users_only_is_a_complete_set() -> None:
    files = {k: v for k, v in sample_files().items() if k not in CLASS_FILES}
    assert verify_files(files, NEW_SDS).graph_messages() == []
    assert verify_files(files).graph_messages() == [
        error(name.lower(), "The required file was not uploaded.") for name in CLASS_FILES
    ]


def test_some_class_files_need_all_three() -> None:
    files = {k: v for k, v in sample_files().items() if k != "TeacherRoster.csv"}
    assert verify_files(files, NEW_SDS).graph_messages() == [
        error("teacherroster.csv", "The required file was not uploaded."),
    ]


def test_school_student_teacher_stay_required() -> None:
    files = {k: v for k, v in sample_files().items() if k not in ("Teacher.csv", *CLASS_FILES)}
    assert verify_files(files, NEW_SDS).graph_messages() == [
        error("teacher.csv", "The required file was not uploaded."),
    ]


def test_uk_headers_are_refused() -> None:
    files = sample_files()
    files["School.csv"] = csv_bytes(["DfE Number", "Name", "Postal Code"], [["10001", "A", "AB1 2CD"],
                                                                            ["10002", "B", ""]])
    assert verify_files(files, NEW_SDS).graph_messages() == [
        error("school.csv", 'The header field "DfE Number" is a UK name, which School Data Sync does not take: '
                            'write "SIS ID"'),
        error("school.csv", 'The header field "Postal Code" is a UK name, which School Data Sync does not take: '
                            'write "Zip"'),
    ]
    assert verify_files(files).graph_messages() == []


def test_line_breaks_count_in_every_column() -> None:
    files = sample_files()
    header = ["SIS ID", "Name", "Address", "Notes"]
    files["School.csv"] = csv_bytes(header, [["10001", "A", "1 Way\nSuite 2", "x"], ["10002", "B", "", "a\r\nb"]])
    options = VerifyOptions(new_sds=True, optional_properties={"school": frozenset()})
    result = verify_files(files, options)
    assert result.graph_messages() == [
        warning("school.csv", "The column is not part of the SDS format and was ignored - Notes"),
        error("school.csv", "1 row(s) have a line break inside the field - Address"),
        error("school.csv", "1 row(s) have a line break inside the field - Notes"),
    ]
    assert [m["rows"] for m in result.details()[1:]] == [
        [{"row": 2, "column": "Address", "value": "1 Way\nSuite 2"}],
        [{"row": 3, "column": "Notes", "value": "a\r\nb"}],
    ]
    # Classic reads neither column: an excluded optional one and an unknown one.
    assert verify_files(files, VerifyOptions(optional_properties={"school": frozenset()})).graph_messages() == [
        warning("school.csv", "The column is not part of the SDS format and was ignored - Notes"),
    ]


def test_columns_not_synced_by_the_profile_are_not_reported() -> None:
    files = sample_files()
    files["Section.csv"] = csv_bytes(
        ["SIS ID", "School SIS ID", "Section Name", "Periods"],
        [["11001", "10001", "Math", "1"], ["11002", "10001", "Art", ""]],
    )
    assert verify_files(files, NEW_SDS).graph_messages() == [not_taken("section.csv", 1, "Periods")]
    excluded = VerifyOptions(new_sds=True, optional_properties={"section": frozenset({"Section Number"})})
    assert verify_files(files, excluded).graph_messages() == []


def test_options_version_changes_only_when_set() -> None:
    assert VerifyOptions().version() == VerifyOptions(new_sds=False).version()
    assert VerifyOptions().version() != NEW_SDS.version()
    assert VerifyOptions.from_profile(None, new_sds=True) == NEW_SDS


def test_the_command_line_applies_them_on_request() -> None:
    import json
    import subprocess
    import sys

    folder = SAMPLES / "sds-v1-uk_min-required"
    plain = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(folder)], capture_output=True, text=True)
    assert (plain.returncode, json.loads(plain.stdout)["value"]) == (0, [])
    new = subprocess.run([sys.executable, "-m", "sds_core", "verify", str(folder), "--new-sds"],
                         capture_output=True, text=True)
    assert new.returncode == 1
    assert json.loads(new.stdout)["value"][0] == error(
        "school.csv", 'The header field "DfE Number" is a UK name, which School Data Sync does not take: '
                      'write "SIS ID"')


def test_the_tenants_grade_codes_replace_the_default_list() -> None:
    files = sample_files()
    header, *students = rows_of(files["Student.csv"])
    grades = ["Y7", "y7", "PK", "09"]
    rows = [row + [grades[i] if i < len(grades) else "09"] for i, row in enumerate(students)]
    files["Student.csv"] = csv_bytes(header + ["Grade"], rows)
    tenant = VerifyOptions(new_sds=True, grade_levels=frozenset({"y7", "09"}))  # PK disabled, Y7 added
    result = verify_files(files, tenant)
    assert result.graph_messages() == [
        warning("student.csv",
                "1 row(s) have a value that is not in the School Data Sync list of values for the field - Grade"),
    ]
    assert result.details()[0]["rows"] == [{"row": 4, "column": "Grade", "value": "PK"}]
    assert verify_files(files, NEW_SDS).graph_messages() == [
        warning("student.csv",
                "2 row(s) have a value that is not in the School Data Sync list of values for the field - Grade"),
    ]


def test_the_tenants_codes_change_the_fingerprint_only_when_set() -> None:
    assert VerifyOptions(new_sds=True, grade_levels=None).version() == NEW_SDS.version()
    with_codes = VerifyOptions(new_sds=True, grade_levels=frozenset({"09"}))
    assert with_codes.version() != NEW_SDS.version()
    assert with_codes.version() == VerifyOptions(new_sds=True, grade_levels=frozenset({"09"})).version()
    assert with_codes.version() != VerifyOptions(new_sds=True, grade_levels=frozenset({"10"})).version()
    # The fingerprints of other profiles stay as they were before the option existed.
    assert (VerifyOptions().version(), NEW_SDS.version()) == ("22039328e1b392e9", "8fb5b0f3703db660")
