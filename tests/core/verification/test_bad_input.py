"""Bad input gets a clear answer and loses nothing from the rest of the report."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from sds_core.verification.verify import verify_files
from tests.core.builders import HEADERS, csv_bytes, rows_of, sample_files

SECTION_HEADER = HEADERS["Section.csv"]


def verify_with(**replaced: bytes) -> list[dict[str, str]]:
    """Graph messages for the min-required sample with some files replaced."""
    files = sample_files()
    files.update({name.replace("_", "."): data for name, data in replaced.items()})
    return verify_files(files).graph_messages()


def details_with(**replaced: bytes) -> list[dict[str, object]]:
    files = sample_files()
    files.update({name.replace("_", "."): data for name, data in replaced.items()})
    return verify_files(files).details()


def error(file_name: str, description: str) -> dict[str, str]:
    return {"type": "Error", "fileName": file_name, "description": description}


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Section.csv", "SIS ID,School SIS ID,Section Name\r\n" * 50)
    return out.getvalue()


def png_bytes() -> bytes:
    raw = b"\x00\xff\x00\x00" * 4
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_the_sample_passes_untouched() -> None:
    assert verify_with() == []


def test_utf8_bom_is_accepted() -> None:
    files = sample_files()
    assert verify_with(Section_csv=b"\xef\xbb\xbf" + files["Section.csv"]) == []


def test_lf_line_endings_are_accepted() -> None:
    files = sample_files()
    assert verify_with(Student_csv=files["Student.csv"].replace(b"\r\n", b"\n")) == []


def test_rfc4180_quoting_is_understood() -> None:
    rows = [["11001", "10001", 'Math, "Algebra" 1'], ["11002", "10001", "Math - Algebra 2"]]
    data = csv_bytes(SECTION_HEADER, rows)
    assert b'"Math, ""Algebra"" 1"' in data
    assert verify_with(Section_csv=data) == []


def test_a_cr_inside_a_quoted_value_is_a_line_break() -> None:
    data = b'SIS ID,School SIS ID,Section Name\r\n11001,10001,"A\rB"\r\n11002,10001,Math\r\n'
    assert verify_with(Section_csv=data) == [
        error("section.csv", "1 row(s) have a line break inside the field - Section Name")
    ]


def test_nul_bytes_are_invalid_format() -> None:
    data = b"SIS ID,School SIS ID,Section Name\r\n11001,10001,Ma\x00th\r\n11002,10001,Math\r\n"
    assert verify_with(Section_csv=data) == [
        error("section.csv", "1 row(s) have an invalid format for the field - Section Name")
    ]


def test_a_10_mb_field_is_reported_and_shortened_in_detail() -> None:
    huge = "x" * (10 * 2**20)
    data = csv_bytes(SECTION_HEADER, [["11001", "10001", huge], ["11002", "10001", "Math"]])
    details = details_with(Section_csv=data)
    assert [d["description"] for d in details] == [
        "1 row(s) have an invalid format for the field - Section Name"
    ]
    shown = details[0]["rows"][0]["value"]
    assert shown.startswith("x" * 200) and shown.endswith(f"({len(huge)} characters)") and len(shown) < 300


@pytest.mark.parametrize(
    ("content", "line"),
    [(zip_bytes(), None), (png_bytes(), 1), ("SIS ID,Name\r\n1,Sch\u00f6n\r\n".encode("utf-16"), 1)],
    ids=["zip", "png", "utf16"],
)
def test_files_that_are_not_csv_are_not_utf8(content: bytes, line: int | None) -> None:
    messages = verify_with(School_csv=content)
    assert len(messages) == 1
    assert messages[0]["fileName"] == "school.csv"
    assert messages[0]["description"].startswith("The file is not UTF-8 encoded (first invalid byte on line ")
    if line is not None:
        assert messages[0]["description"].endswith(f"line {line}).")


def test_a_bad_file_loses_nothing_elsewhere() -> None:
    files = sample_files()
    roster = rows_of(files["TeacherRoster.csv"])
    roster.append(["11001", "99999"])
    messages = verify_with(Student_csv=zip_bytes(), TeacherRoster_csv=csv_bytes(roster[0], roster[1:]))
    assert [m["fileName"] for m in messages] == ["student.csv", "teacherroster.csv"]
    assert messages[1] == error(
        "teacherroster.csv", "1 row(s) have referenced data not found in source. Field - SIS ID"
    )


def test_only_a_bom_and_whitespace_is_empty() -> None:
    assert verify_with(School_csv=b"\xef\xbb\xbf \r\n\t\r\n") == [error("school.csv", "The file is empty.")]


def test_blank_lines_are_skipped_but_counted_in_row_numbers() -> None:
    data = b"SIS ID,School SIS ID,Username\r\n13001,10001,a\r\n\r\n13002,,b\r\n\r\n\r\n"
    files = sample_files()
    files["Student.csv"] = data
    enrollment = csv_bytes(HEADERS["StudentEnrollment.csv"], [["11001", "13001"], ["11001", "13002"]])
    files["StudentEnrollment.csv"] = enrollment
    details = verify_files(files).details()
    assert [(d["description"], [r["row"] for r in d["rows"]]) for d in details] == [
        ("1 row(s) have missing data for the field - School SIS ID", [4]),
    ]


def test_a_row_of_empty_fields_is_not_a_blank_line() -> None:
    data = b"SIS ID,School SIS ID,Username\r\n,,\r\n13001,10001,a\r\n"
    assert [(m["description"]) for m in verify_with(Student_csv=data)] == [
        "1 row(s) have missing data for the field - SIS ID",
        "1 row(s) have missing data for the field - School SIS ID",
        "1 row(s) have missing data for the field - Username",
        "42 row(s) have referenced data not found in source. Field - SIS ID",
    ]


def test_ragged_rows_still_count_as_present_keys() -> None:
    files = sample_files()
    student = rows_of(files["Student.csv"])
    # Row of student 13001 gets an extra field: reported once, its SIS ID still satisfies references.
    student[1].append("extra")
    assert verify_with(Student_csv=csv_bytes(student[0], student[1:])) == [
        error("student.csv", "1 row(s) have a number of fields different from the header")
    ]


def test_uk_and_us_files_mix_in_one_set() -> None:
    uk_school = b"DfE Number,Name\r\n10001,Contoso High School\r\n10002,Fabrikam High School\r\n"
    assert verify_with(School_csv=uk_school) == []


def test_unknown_extensions_are_ignored_silently() -> None:
    files = sample_files()
    files["readme.txt"] = b"\x00\xff"
    files["School.CSV.bak"] = b"junk"
    assert verify_files(files).graph_messages() == []
