"""Turn the bytes of one CSV file into a header, an Arrow table of strings and row numbers.

Bad input is described, never raised: an empty file, bytes that are not UTF-8, ragged rows and
blank lines all come back as data. pyarrow parses (multi-threaded, columnar); the standard library
csv module is the fallback for inputs pyarrow refuses, so no input is lost.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

BOM = codecs.BOM_UTF8
_NON_SPACE = re.compile(rb"[^ \t\r\n\x0b\x0c]")
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")
_BLOCK_SIZE = 4 << 20

# A field may legitimately be huge (a 10 MB value is reported, not fatal); csv's default cap is 128 KiB.
csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class RaggedRow:
    """A data row whose number of fields differs from the header's."""

    row: int
    fields: list[str]


@dataclass
class RowNumbers:
    """Maps a data row's index in the table to its row number as a spreadsheet shows it."""

    header_row: int = 1
    ragged_records: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    blank_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def of(self, indices: np.ndarray) -> np.ndarray:
        """Spreadsheet row numbers (header = 1) of the given table indices."""
        indices = np.asarray(indices, dtype=np.int64)
        data_before = self.ragged_records - (self.header_record + 1) - np.arange(len(self.ragged_records))
        record = indices + self.header_record + 1 + np.searchsorted(data_before, indices, side="right")
        return self.physical(record)

    @property
    def header_record(self) -> int:
        """Record number of the header, counting non-blank records from 1."""
        return 1

    def physical(self, records: np.ndarray) -> np.ndarray:
        """Physical row number of non-blank record numbers (blank lines count as rows)."""
        non_blank_before = self.blank_rows - 1 - np.arange(len(self.blank_rows))
        return records + np.searchsorted(non_blank_before, records, side="left")


@dataclass
class ParsedCsv:
    """One file, parsed: `problem` is set when the content could not be read as CSV at all."""

    problem: str | None = None
    invalid_line: int | None = None
    header: list[str] = field(default_factory=list)
    table: pa.Table | None = None
    rows: RowNumbers = field(default_factory=RowNumbers)
    ragged: list[RaggedRow] = field(default_factory=list)
    has_quotes: bool = False
    has_nul: bool = False

    @property
    def row_count(self) -> int:
        """Data rows (ragged rows included)."""
        return (self.table.num_rows if self.table is not None else 0) + len(self.ragged)


def parse_csv(data: bytes) -> ParsedCsv:
    """Parse one file's bytes; never raises on bad content."""
    start = len(BOM) if data.startswith(BOM) else 0
    if not _NON_SPACE.search(data, start):
        return ParsedCsv(problem="empty")
    invalid = _first_invalid_utf8(data)
    if invalid is not None:
        return ParsedCsv(problem="notUtf8", invalid_line=data.count(b"\n", 0, invalid) + 1)
    body = memoryview(data)[start:]
    header, leading_blank_lines = _read_header(body)
    parsed = ParsedCsv(header=header, has_quotes=b'"' in data, has_nul=b"\x00" in data)
    try:
        table, ragged = _parse_with_arrow(body, len(header), parsed.has_quotes)
    except pa.ArrowInvalid:
        table, ragged = _parse_with_stdlib(body, len(header))
    parsed.table = table.slice(1)
    parsed.ragged = ragged
    parsed.rows = RowNumbers(
        ragged_records=np.array([r.row for r in ragged], dtype=np.int64),
        blank_rows=_blank_rows(data, start, parsed.has_quotes, leading_blank_lines),
    )
    parsed.ragged = [RaggedRow(int(parsed.rows.physical(np.array([r.row]))[0]), r.fields) for r in ragged]
    return parsed


def _first_invalid_utf8(data: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start
    return None


def _read_header(body: memoryview) -> tuple[list[str], int]:
    """The first non-blank record's fields, and how many blank lines came before it."""
    size = 1 << 16
    while True:
        complete = size >= len(body)
        text = codecs.getincrementaldecoder("utf-8")().decode(bytes(body[:size]), final=complete)
        records = csv.reader(io.StringIO(text, newline=""), strict=False)
        blank = 0
        for record in records:
            if not record:
                blank += 1
                continue
            # A record is known to be whole once another one follows it, or at the end of the file.
            if complete or next(records, None) is not None:
                return record, blank
            break
        else:
            if complete:
                return [], blank
        size *= 4


def _arrow_options(columns: int, newlines_in_values: bool, threads: bool, block_size: int, ragged: list):
    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"

    names = [f"f{i}" for i in range(columns)]
    return dict(
        read_options=pa_csv.ReadOptions(
            use_threads=threads, block_size=block_size, autogenerate_column_names=True
        ),
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=newlines_in_values,
            ignore_empty_lines=True,
            invalid_row_handler=on_invalid_row,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )


def _parse_with_arrow(body: memoryview, columns: int, quotes: bool) -> tuple[pa.Table, list[RaggedRow]]:
    """Parse with pyarrow; rows with a wrong field count come back separately, numbered."""
    block_size = _BLOCK_SIZE
    threads = True
    while True:
        invalid: list[pa_csv.InvalidRow] = []
        options = _arrow_options(columns, quotes, threads, block_size, invalid)
        try:
            table = pa_csv.read_csv(pa.BufferReader(pa.py_buffer(body)), **options)
        except pa.ArrowInvalid as err:
            if "straddl" in str(err) and block_size < len(body):
                # A row longer than a block (a huge field): one block holds the whole file.
                block_size = len(body) + 1
                continue
            raise
        if table.num_columns != columns or table.num_rows == 0:
            raise pa.ArrowInvalid("pyarrow and the csv module disagree on the header")
        if invalid and any(r.number is None for r in invalid):
            threads = False  # only a serial parse numbers the invalid rows
            continue
        ragged = [RaggedRow(r.number, _split_record(r.text)) for r in invalid]
        return table, sorted(ragged, key=lambda r: r.row)


def _parse_with_stdlib(body: memoryview, columns: int) -> tuple[pa.Table, list[RaggedRow]]:
    """Parse with the csv module: slower, but accepts whatever pyarrow refuses."""
    text = bytes(body).decode("utf-8")
    values: list[list[str]] = [[] for _ in range(columns)]
    ragged: list[RaggedRow] = []
    record = 0
    for fields in csv.reader(io.StringIO(text, newline=""), strict=False):
        if not fields:
            continue
        record += 1
        if len(fields) != columns:
            ragged.append(RaggedRow(record, fields))
            continue
        for column, value in zip(values, fields):
            column.append(value)
    names = [f"f{i}" for i in range(columns)]
    return pa.table({n: pa.array(v, pa.string()) for n, v in zip(names, values)}), ragged


def _split_record(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")), [])


def _blank_rows(data: bytes, start: int, quotes: bool, leading: int) -> np.ndarray:
    """Physical row numbers of blank lines before the last record (spreadsheets show them)."""
    end = len(data)
    while end > start and data[end - 1] in b" \t\r\n":
        end -= 1
    blank: list[int] = list(range(1, leading + 1))
    if _BLANK_LINE.search(data, start, end) is None:
        return np.array(blank, dtype=np.int64)
    if not quotes:
        line, last = 1, start
        for match in _BLANK_LINE.finditer(data, start, end):
            line += data.count(b"\n", last, match.end())
            last = match.end()
            blank.append(line)
        return np.array(sorted(set(blank)), dtype=np.int64)
    # Quoted values may hold line breaks: only a real CSV reader knows which lines are records.
    text = data[start:end].decode("utf-8")
    blank = [n for n, fields in enumerate(csv.reader(io.StringIO(text, newline=""), strict=False), 1) if not fields]
    return np.array(blank, dtype=np.int64)
