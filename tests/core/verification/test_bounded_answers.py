"""Small uploads get small answers: header messages are bounded however wide or long the header,
ragged rows cost what their bytes cost, and a Password never shows in a ragged row's detail."""

from __future__ import annotations

import json

from sds_core.verification.csvread import parse_csv
from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_files
from tests.core.builders import csv_bytes, rows_of, sample_files

UNKNOWN = "The column is not part of the SDS format and was ignored - {}"


def student_with(header_extra: list[str], row_extra: list[str] | None = None) -> dict[str, bytes]:
    """The min-required sample with columns added to every Student.csv row."""
    files = sample_files()
    student = rows_of(files["Student.csv"])
    fill = row_extra if row_extra is not None else [""] * len(header_extra)
    files["Student.csv"] = csv_bytes(student[0] + header_extra, [r + fill for r in student[1:]])
    return files


def warning(description: str) -> dict[str, str]:
    return {"type": "Warning", "fileName": "student.csv", "description": description}


def test_unknown_columns_beyond_fifty_are_one_message_that_names_them_in_its_rows() -> None:
    names = [f"x{i}" for i in range(53)]
    result = verify_files(student_with(names), VerifyOptions(detail_rows_per_message=2))
    assert result.graph_messages() == [warning(UNKNOWN.format(n)) for n in names[:50]] + [
        warning(UNKNOWN.format("and 3 more columns"))
    ]
    assert result.details()[-1] == {
        **warning(UNKNOWN.format("and 3 more columns")),
        "code": "unknownColumn",
        "field": "and 3 more columns",
        "total": 3,
        "truncated": True,
        "rows": [
            {"row": 1, "column": None, "value": "x50", "note": "column 54"},
            {"row": 1, "column": None, "value": "x51", "note": "column 55"},
        ],
    }


def test_a_hundred_thousand_columns_answer_in_kilobytes() -> None:
    result = verify_files(student_with([f"column-{i}" for i in range(100_000)]))
    body = json.dumps(result.graph_messages())
    details = json.dumps(result.details())
    assert len(result.graph_messages()) == 51
    assert result.graph_messages()[-1] == warning(UNKNOWN.format("and 99,950 more columns"))
    assert (len(body) < 8 * 1024, len(details) < 128 * 1024) == (True, True)


def test_a_long_column_name_is_quoted_cut_with_its_length() -> None:
    name = "n" * 1_000_000
    cut = "n" * 100 + "… (1,000,000 characters)"
    result = verify_files(student_with([name]))
    assert result.graph_messages() == [warning(UNKNOWN.format(cut))]
    assert result.details()[0]["rows"] == [{"row": 1, "column": cut, "value": cut, "note": "column 4"}]


def test_a_miswritten_column_repeated_is_reported_once() -> None:
    result = verify_files(student_with(["sis id"] * 1000))
    assert result.graph_messages() == [{
        "type": "Error", "fileName": "student.csv",
        "description": 'The header field "sis id" must be written exactly "SIS ID"',
    }]


def test_a_long_miswritten_header_is_quoted_cut() -> None:
    given = "username" + " " * 500
    result = verify_files(student_with([given]))
    shown = given[:100] + "… (508 characters)"
    assert result.graph_messages() == [{
        "type": "Error", "fileName": "student.csv",
        "description": f'The header field "{shown}" must be written exactly "Username"',
    }]


def test_a_ragged_row_never_shows_a_password_wherever_it_shifted() -> None:
    files = sample_files()
    student = rows_of(files["Student.csv"])
    header = student[0] + ["Password", "Grade"]
    good = [r + ["Pw-ok", "9"] for r in student[1:3]]
    one_more = student[3] + ["Secret-1", "9", "extra"]
    one_less = student[4][:1] + student[4][2:] + ["Secret-2", "9"]  # School SIS ID left out
    files["Student.csv"] = csv_bytes(header, good + [one_more, one_less])
    result = verify_files(files)
    ragged = [m for m in result.details() if m["code"] == "raggedRows"]
    assert [r["value"] for r in ragged[0]["rows"]] == [
        f"{student[3][0]},{student[3][1]},***,***,***,extra",
        f"{student[4][0]},{student[4][2]},***,***",
    ]
    assert "Secret" not in json.dumps(result.details())


def test_ragged_rows_are_kept_as_compact_texts_and_keys() -> None:
    header = "SIS ID,School SIS ID,Username\n"
    body = "".join(f"s{i},10001,u{i},extra\n" for i in range(200_000))
    parsed = parse_csv((header + "s-good,10001,good\n" + body).encode())
    assert (len(parsed.ragged), parsed.table.num_rows) == (200_000, 1)
    assert parsed.ragged.rows[:3].tolist() == [3, 4, 5]
    assert [r.fields for r in parsed.ragged.first(2)] == [["s0", "10001", "u0", "extra"], ["s1", "10001", "u1", "extra"]]
    assert parsed.ragged.fields_at(0).to_pylist()[-1] == "s199999"
    assert len(parsed.ragged.fields_at(3)) == 200_000
    assert len(parsed.ragged.fields_at(4)) == 0


def test_ragged_rows_with_quotes_split_as_csv() -> None:
    data = b'SIS ID,School SIS ID,Username\n"a,1",10001,u\n"b,2",10001,u,extra\n"c",x\n'
    parsed = parse_csv(data)
    assert [(r.row, r.fields) for r in parsed.ragged] == [(3, ["b,2", "10001", "u", "extra"]), (4, ["c", "x"])]
    assert parsed.ragged.fields_at(0).to_pylist() == ["b,2", "c"]
    assert parsed.ragged.fields_at(2).to_pylist() == ["u"]


def test_a_file_wider_than_a_spreadsheet_is_still_verified_on_its_sds_columns() -> None:
    files = sample_files()
    student = rows_of(files["Student.csv"])
    extra = [f"x{i}" for i in range(20_000)]
    rows = [r + [""] * len(extra) for r in student[1:]]
    rows[1][2] = ""  # a Username missing, found even in the wide file
    rows.append(["s-short", "10001"])  # a ragged row
    files["Student.csv"] = csv_bytes(student[0][:2] + extra[:5] + student[0][2:] + extra[5:],
                                     [r[:2] + r[3:8] + r[2:3] + r[8:] if len(r) > 3 else r for r in rows])
    result = verify_files(files)
    assert result.graph_messages() == [warning(UNKNOWN.format(n)) for n in extra[:50]] + [
        warning(UNKNOWN.format("and 19,950 more columns")),
        {"type": "Error", "fileName": "student.csv",
         "description": "1 row(s) have a number of fields different from the header"},
        {"type": "Error", "fileName": "student.csv",
         "description": "1 row(s) have missing data for the field - Username"},
    ]
    missing = next(m for m in result.details() if m["code"] == "missingData")
    assert missing["rows"] == [{"row": 3, "column": "Username", "value": ""}]


def test_a_header_line_longer_than_16_mib_is_refused_alone() -> None:
    files = sample_files()
    files["Student.csv"] = b"SIS ID," + b"n" * (16 << 20) + b"\r\n13001,x\r\n"
    assert verify_files(files).graph_messages() == [
        {"type": "Error", "fileName": "student.csv",
         "description": "The header is longer than 16,777,216 bytes and the file was not read."},
    ]  # references into a file that was not read are not checked: this Error already blocks


def test_a_header_of_just_under_16_mib_is_read() -> None:
    files = sample_files()
    student = rows_of(files["Student.csv"])
    name = "n" * ((16 << 20) - 100)
    files["Student.csv"] = csv_bytes(student[0] + [name], [r + [""] for r in student[1:]])
    cut = "n" * 100 + f"… ({len(name):,} characters)"
    assert verify_files(files).graph_messages() == [warning(UNKNOWN.format(cut))]


def test_line_breaks_in_many_unknown_columns_for_the_new_sds_are_bounded() -> None:
    names = [f"x{i}" for i in range(60)]
    files = student_with(names, ["a\nb"] * 60)
    result = verify_files(files, VerifyOptions(new_sds=True))
    breaks = [m for m in result.details() if m["code"] == "lineBreak"]
    assert [m["description"] for m in breaks] == [
        f"22 row(s) have a line break inside the field - {n}" for n in names[:50]
    ] + ["22 row(s) have a line break inside the field - and 10 more columns"]


def test_a_wide_file_for_the_new_sds_is_verified_on_its_sds_columns() -> None:
    names = [f"x{i}" for i in range(20_000)]
    files = student_with(names, ["a\nb"] + [""] * (len(names) - 1))
    result = verify_files(files, VerifyOptions(new_sds=True))
    assert result.graph_messages()[-1] == warning(UNKNOWN.format("and 19,950 more columns"))
