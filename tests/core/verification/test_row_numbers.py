"""Row numbers behind messages match what a spreadsheet shows, on files large enough to parse in parallel."""

from __future__ import annotations

import csv
import io

import pytest

from sds_core.verification.csvread import parse_csv


def big_file(quotes: bool) -> tuple[bytes, list[int], list[int]]:
    """600k rows (several parse blocks) with ragged rows and blank lines at known rows; returns data, ragged rows, blank rows."""
    lines = ["Section SIS ID,SIS ID"]
    ragged, blank = [], []
    for i in range(600_000):
        if i in (1_000, 450_000, 599_000):
            lines.append(f"S{i},{i},extra")
            ragged.append(len(lines))
        elif i in (70_000, 520_000):
            lines.append("")
            blank.append(len(lines))
        elif quotes and i == 5:
            lines.append(f'"S{i}",{i}')
        else:
            lines.append(f"S{i % 997},{i}")
    return ("\r\n".join(lines) + "\r\n").encode(), ragged, blank


@pytest.mark.parametrize("quotes", [False, True], ids=["plain", "quoted"])
def test_ragged_and_blank_rows_are_numbered_like_a_spreadsheet(quotes: bool) -> None:
    data, ragged, blank = big_file(quotes)
    parsed = parse_csv(data)
    assert [r.row for r in parsed.ragged] == ragged
    assert list(parsed.rows.skipped) == sorted(ragged + blank)
    records = list(csv.reader(io.StringIO(data.decode(), newline="")))
    data_rows = [n for n, record in enumerate(records, 1) if n > 1 and len(record) == 2]
    numbers = parsed.rows.of(list(range(parsed.table.num_rows)))
    assert list(numbers) == data_rows
    assert parsed.table.column(1).to_pylist()[-1] == records[-1][1]


def test_a_line_repeated_verbatim_is_located_each_time() -> None:
    rows = [f"S{i},{i}" for i in range(600_000)]
    rows[10] = rows[590_000] = "S1,1,again"
    data = ("a,b\n" + "\n".join(rows) + "\n").encode()
    assert [r.row for r in parse_csv(data).ragged] == [12, 590_002]


def test_bytes_are_counted_across_pieces_as_bytes_count_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from sds_core.verification import csvread

    monkeypatch.setattr(csvread, "_COUNT_PIECE", 7)
    data = b"a\nbb\r\n\n" * 50 + b"tail"
    for start, end in [(0, None), (3, 200), (5, 6), (0, 0), (100, len(data)), (13, 14)]:
        assert csvread._count_byte(data, b"\n", start, end) == data.count(b"\n", start, end)
        assert csvread._count_byte(bytearray(data), b"\r", start, end) == data.count(b"\r", start, end)


def test_ragged_rows_of_a_large_unquoted_file_are_numbered_across_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    from sds_core.verification import csvread

    monkeypatch.setattr(csvread, "_COUNT_PIECE", 64)
    lines = [f"sec{i},stu{i}" for i in range(2_000)]
    lines[700], lines[1500] = "only-one-field", "a,b,c"
    parsed = parse_csv(("Section SIS ID,SIS ID\n" + "\n".join(lines) + "\n").encode())
    assert [r.row for r in parsed.ragged.first(5)] == [702, 1502]
