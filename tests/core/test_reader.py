"""Rows for the sync: US names whatever the variant, only specified columns, skipped bad rows."""

from __future__ import annotations

from sds_core.reader import iter_rows
from tests.core.builders import SAMPLES


def test_uk_headers_come_out_with_us_names() -> None:
    us = list(iter_rows("student.csv", (SAMPLES / "sds-v1_25-users" / "Student.csv").read_bytes()))
    uk = list(iter_rows("student.csv", (SAMPLES / "sds-v1-uk_25-users" / "Student.csv").read_bytes()))
    assert uk == us
    assert uk[0]["SIS ID"] == "13001" and uk[0]["School SIS ID"] == "10001"


def test_unknown_columns_blank_lines_and_ragged_rows_are_left_out() -> None:
    data = "\ufeffSection SIS ID,SIS ID,Note\r\nA,1,x\r\n\r\nB,2\r\nC,3,y\r\n".encode()
    assert list(iter_rows("studentenrollment.csv", data)) == [
        {"Section SIS ID": "A", "SIS ID": "1"},
        {"Section SIS ID": "C", "SIS ID": "3"},
    ]
