"""Files for the sync as columns: US names whatever the variant, only specified columns, bad rows out."""

from __future__ import annotations

from sds_core.sync.columns import FileColumns, file_columns
from tests.core.builders import SAMPLES


def rows_of(columns: FileColumns) -> list[dict[str, str]]:
    """The columns back as rows keyed by US names."""
    names = list(columns.columns)
    values = [columns.columns[name].to_pylist() for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def test_uk_headers_come_out_with_us_names() -> None:
    us = file_columns("student.csv", (SAMPLES / "sds-v1_25-users" / "Student.csv").read_bytes())
    uk = file_columns("student.csv", (SAMPLES / "sds-v1-uk_25-users" / "Student.csv").read_bytes())
    assert rows_of(uk) == rows_of(us)
    assert rows_of(uk)[0]["SIS ID"] == "13001" and rows_of(uk)[0]["School SIS ID"] == "10001"


def test_unknown_columns_blank_lines_and_ragged_rows_are_left_out_and_rows_keep_their_numbers() -> (
    None
):
    data = "\ufeffSection SIS ID,SIS ID,Note\r\nA,1,x\r\n\r\nB,2\r\nC,3,y\r\n".encode()
    columns = file_columns("studentenrollment.csv", data)
    assert rows_of(columns) == [
        {"Section SIS ID": "A", "SIS ID": "1"},
        {"Section SIS ID": "C", "SIS ID": "3"},
    ]
    assert columns.row_numbers.tolist() == [2, 5]


def test_an_empty_file_and_rows_given_as_dicts() -> None:
    assert file_columns("school.csv", b"").row_count == 0
    given = file_columns("school.csv", [{"SIS ID": "1", "Name": "A"}, {"SIS ID": "2"}])
    assert rows_of(given) == [{"SIS ID": "1", "Name": "A"}, {"SIS ID": "2", "Name": ""}]
    assert given.row_numbers.tolist() == [2, 3]
    assert given.column("Zip").to_pylist() == ["", ""]
