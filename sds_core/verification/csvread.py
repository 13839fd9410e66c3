"""Turn the bytes of one CSV file into a header, an Arrow table of strings and row numbers.

Bad input is described, never raised: an empty file, bytes that are not UTF-8, ragged rows and
blank lines all come back as data. pyarrow parses (multi-threaded, columnar); the standard library
csv module is the fallback for inputs pyarrow refuses, so no input is lost.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import re
import sys
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from sds_core.verification import sniff
from sds_core.verification.spec import FILES
from sds_core.verification.spec_v21 import FILES as V21_FILES

# A file's bytes: in memory, or mapped from disk (the command line maps large files: no copy).
Content = bytes | bytearray | mmap.mmap
BOM = codecs.BOM_UTF8
_NON_SPACE = re.compile(rb"[^ \t\r\n\x0b\x0c]")
_BLANK_LINE = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?=[\r\n])")
_BLOCK_SIZE = 4 << 20
_MAX_LINES_LOCATED = 32
_RAGGED_CHUNK = 1 << 16
# pyarrow hands each invalid row to Python (about 10 us each, twice when the rows need numbers):
# beyond this many the csv module reads the file faster.
_MAX_ARROW_RAGGED = 10_000
# A spreadsheet's width. pyarrow's tokenizer needs memory per column (1M columns: 3.5 GB), so a
# wider file is read by the csv module keeping only the columns the SDS format names.
MAX_PARSED_COLUMNS = 16_384
# SDS headers are a few hundred bytes. A longer first record is not read at all, so a header line
# of hundreds of megabytes costs what reading its first 16 MiB costs.
MAX_HEADER_BYTES = 16 << 20
_SDS_HEADERS = frozenset(c.header(uk).strip().casefold() for f in FILES + V21_FILES for c in f.columns
                         for uk in (False, True))

# A field may legitimately be huge (a 10 MB value is reported, not fatal); csv's default cap is 128 KiB.
csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class RaggedRow:
    """A data row whose number of fields differs from the header's."""

    row: int
    fields: list[str]


class RaggedRows:
    """The ragged rows of a file, kept compactly (row numbers and raw texts) however many there are."""

    def __init__(self, rows: np.ndarray, texts: pa.ChunkedArray, quotes: bool) -> None:
        self.rows = rows
        self.texts = texts
        self.quotes = quotes

    @classmethod
    def none(cls) -> RaggedRows:
        """No ragged rows."""
        return cls(np.empty(0, np.int64), pa.chunked_array([], pa.string()), False)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.first(len(self)))

    def first(self, count: int) -> list[RaggedRow]:
        """The first rows, split into fields."""
        texts = self.texts.slice(0, count).to_pylist()
        return [RaggedRow(int(row), _split_record(text)) for row, text in zip(self.rows[:count], texts)]

    def fields_at(self, position: int) -> pa.Array:
        """The values at a field position of the rows that reach it."""
        if self.quotes:
            values = [f[position] for f in map(_split_record, self.texts.to_pylist()) if len(f) > position]
            return pa.array(values, pa.string())
        split = pc.split_pattern(self.texts, ",")
        reaching = pc.greater(pc.list_value_length(split), position)
        return pc.list_element(split.filter(reaching), position).combine_chunks()


class _RaggedCollector:
    """pyarrow's invalid-row handler: skips the row, keeps its number and text in compact chunks."""

    def __init__(self) -> None:
        self.numbers: list[int | None] = []
        self.texts = _Chunked()

    def __call__(self, row: pa_csv.InvalidRow) -> str:
        if len(self.numbers) == _MAX_ARROW_RAGGED:
            return "error"  # read by the csv module instead (see parse_csv)
        self.numbers.append(row.number)
        self.texts.append(row.text)
        return "skip"

    def unnumbered(self) -> bool:
        return None in self.numbers


@dataclass
class RowNumbers:
    """Maps a data row's index in the table to its row number as a spreadsheet shows it."""

    first_data_row: int = 2
    skipped: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """Rows not in the table (ragged rows, blank lines), ascending."""

    def of(self, indices: np.ndarray) -> np.ndarray:
        """Spreadsheet row numbers (header = 1, blank lines counted) of table indices."""
        indices = np.asarray(indices, dtype=np.int64)
        kept_before = self.skipped - self.first_data_row - np.arange(len(self.skipped))
        return self.first_data_row + indices + np.searchsorted(kept_before, indices, side="right")


@dataclass
class ParsedCsv:
    """One file, parsed: `problem` is set when the content could not be read as CSV at all."""

    problem: str | None = None
    invalid_line: int | None = None
    invalid_byte: int | None = None
    looks_like: sniff.Encoding | None = None
    """What the bytes seem to be when they are not UTF-8, or hold NULs as UTF-16 does."""
    header: list[str] = field(default_factory=list)
    table: pa.Table | None = None
    rows: RowNumbers = field(default_factory=RowNumbers)
    ragged: RaggedRows = field(default_factory=RaggedRows.none)
    has_quotes: bool = False
    has_nul: bool = False
    line_breaks_possible: bool = False

    def column(self, position: int) -> pa.ChunkedArray:
        """The values of the header's column at a position."""
        return self.table.column(f"f{position}")

    @property
    def row_count(self) -> int:
        """Data rows (ragged rows included)."""
        return (self.table.num_rows if self.table is not None else 0) + len(self.ragged)


def parse_csv(data: Content) -> ParsedCsv:
    """Parse one file's bytes; never raises on bad content."""
    start = len(BOM) if data[:len(BOM)] == BOM else 0
    if not _NON_SPACE.search(data, start):
        return ParsedCsv(problem="empty")
    start, leading = _skip_blank_lines(data, start)
    body = memoryview(data)[start:]
    try:
        header = _read_header(body)
        if header is None:
            return ParsedCsv(problem="headerTooLong")
        parsed = ParsedCsv(header=header, has_quotes=data.find(b'"') >= 0, has_nul=data.find(b"\x00") >= 0)
        if len(header) > MAX_PARSED_COLUMNS:
            table, ragged = _parse_wide(body, header, parsed.has_quotes)
        else:
            table, ragged = _parse_with_arrow(body, len(header), parsed.has_quotes, not _is_ascii(data))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        # pyarrow refuses bytes that are not UTF-8 and a few malformed layouts: tell them apart.
        invalid = _first_invalid_utf8(data)
        if invalid is not None:
            return ParsedCsv(problem="notUtf8", invalid_line=_count_byte(data, b"\n", 0, invalid) + 1,
                             invalid_byte=data[invalid], looks_like=sniff.encoding(data, invalid))
        table, ragged = _parse_with_stdlib(body, len(header), data.find(b'"') >= 0)
    records = table.num_rows + len(ragged)
    if parsed.has_quotes:
        parsed.line_breaks_possible = max(_count_byte(data, b"\n", start), _count_byte(data, b"\r", start)) > records
    table, blank = _drop_blank_lines(table.slice(1), data, start, ragged.rows, parsed.has_quotes)
    parsed.table = table
    parsed.ragged = RaggedRows(ragged.rows + leading, ragged.texts, ragged.quotes)
    skipped = np.sort(np.concatenate([parsed.ragged.rows, np.array(blank, dtype=np.int64) + leading]))
    parsed.rows = RowNumbers(first_data_row=leading + 2, skipped=skipped)
    if parsed.has_nul:
        parsed.looks_like = sniff.encoding(data)
    return parsed


def _skip_blank_lines(data: Content, start: int) -> tuple[int, int]:
    """Offset of the first non-blank line, and how many blank lines came before it."""
    lines = 0
    while start < len(data) and data[start] in b"\r\n":
        start += 2 if data[start:start + 2] == b"\r\n" else 1
        lines += 1
    return start, lines


def _drop_blank_lines(
    table: pa.Table, data: Content, start: int, ragged: np.ndarray, quotes: bool
) -> tuple[pa.Table, list[int]]:
    """Remove the rows that were blank lines; return their row numbers (header = 1)."""
    if table.num_rows == 0:
        return table, []
    empty = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        empty &= pc.binary_length(column).to_numpy() == 0
        if not empty.any():
            return table, []
    # An all-empty row is a blank line or a row of empty fields (",,"): only the bytes can tell.
    candidates = np.flatnonzero(empty)
    records = RowNumbers(2, ragged).of(candidates)
    is_blank = np.isin(records, _blank_records(data, start, quotes))
    if not is_blank.any():
        return table, []
    keep = np.ones(table.num_rows, dtype=bool)
    keep[candidates[is_blank]] = False
    return table.filter(pa.array(keep)), records[is_blank].tolist()


def _blank_records(data: Content, start: int, quotes: bool) -> np.ndarray:
    """Record numbers (header = 1) of the blank lines, found in the raw bytes."""
    if quotes:
        # Quoted values may hold line breaks: only a CSV reader knows where records end.
        text = str(memoryview(data)[start:], "utf-8")
        records = csv.reader(io.StringIO(text, newline=""), strict=False)
        return np.array([n for n, fields in enumerate(records, 1) if not fields], dtype=np.int64)
    newline = b"\n" if data.find(b"\n", start) >= 0 else b"\r"
    blank, line, last = [], 1, start
    for match in _BLANK_LINE.finditer(data, start):
        line += _count_byte(data, newline, last, match.start())
        last = match.start()
        blank.append(line + 1)
    return np.array(blank, dtype=np.int64)


def _first_invalid_utf8(data: Content) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None."""
    if _is_ascii(data):
        return None
    try:
        str(data, "utf-8")
    except UnicodeDecodeError as err:
        return err.start
    return None


def _read_header(body: memoryview) -> list[str] | None:
    """The first record's fields; None when it is longer than MAX_HEADER_BYTES."""
    size = 1 << 16
    while True:
        size = min(size, MAX_HEADER_BYTES + 1)
        complete = size >= len(body)
        text = codecs.getincrementaldecoder("utf-8")().decode(bytes(body[:size]), final=complete)
        records = csv.reader(io.StringIO(text, newline=""), strict=False)
        record = next(records, [])
        # A record is known to be whole once another one follows it, or at the end of the file.
        if complete or next(records, None) is not None:
            return record
        if size == MAX_HEADER_BYTES + 1:
            return None
        size *= 4


def _arrow_options(columns: int, newlines_in_values: bool, check_utf8: bool, threads: bool, block_size: int,
                   on_invalid_row: _RaggedCollector) -> dict:
    names = [f"f{i}" for i in range(columns)]
    return dict(
        read_options=pa_csv.ReadOptions(
            use_threads=threads, block_size=block_size, autogenerate_column_names=True
        ),
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=newlines_in_values,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid_row,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=check_utf8,
        ),
    )


def _parse_with_arrow(body: memoryview, columns: int, quotes: bool, check_utf8: bool) -> tuple[pa.Table, RaggedRows]:
    """Parse with pyarrow; rows with a wrong field count come back separately, numbered."""
    block_size = _BLOCK_SIZE
    threads = True
    while True:
        invalid = _RaggedCollector()
        options = _arrow_options(columns, quotes, check_utf8, threads, block_size, invalid)
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
        texts = invalid.texts.array()
        numbers = invalid.numbers
        if invalid.unnumbered():
            few = not quotes and len(texts) <= _MAX_LINES_LOCATED
            numbers = _locate_lines(body, texts.to_pylist()) if few else None
        if numbers is None:
            threads = False  # only a serial parse numbers the invalid rows
            continue
        rows = np.array(numbers, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        if len(rows) and not np.all(order == np.arange(len(rows))):
            rows, texts = rows[order], pa.chunked_array([texts.take(pa.array(order))])
        return table, RaggedRows(rows, texts, quotes)


def _locate_lines(body: memoryview, texts: list[str]) -> list[int] | None:
    """Line numbers (first line = 1) of whole lines with these texts; None if that is not cheap or sure.

    A parallel parse does not number the rows it rejects; without quotes a record is a line, so a
    few of them are found faster in the bytes than by parsing the file again on one thread.
    """
    if len(texts) > _MAX_LINES_LOCATED:
        return None
    raw = body.obj if isinstance(body.obj, (bytes, bytearray, mmap.mmap)) else bytes(body)
    begin = len(raw) - len(body)
    newline = b"\n" if raw.find(b"\n", begin) >= 0 else b"\r"
    positions: dict[str, list[int]] = {}
    for text in set(texts):
        needle, found, at = newline + text.encode("utf-8"), [], begin
        while (at := raw.find(needle, at)) >= 0:
            end = at + len(needle)
            if end == len(raw) or raw[end] in b"\r\n":
                found.append(at + 1)
            at += 1
        if len(found) != texts.count(text):
            return None
        positions[text] = found
    ordered = sorted(p for found in positions.values() for p in found)
    lines, line, last = {}, 1, begin
    for at in ordered:
        line += _count_byte(raw, newline, last, at)
        last = at
        lines[at] = line
    taken = {text: iter(found) for text, found in positions.items()}
    return [lines[next(taken[text])] for text in texts]


def _count_byte(data: Content, byte: bytes, start: int = 0, end: int | None = None) -> int:
    """How often one byte occurs in data[start:end]: numpy in pieces, 3-4x `bytes.count` (and it
    lets the other threads run)."""
    view = np.frombuffer(data, np.uint8)
    end = len(view) if end is None else end
    value = byte[0]
    return sum(int(np.count_nonzero(view[at:min(end, at + _COUNT_PIECE)] == value))
               for at in range(start, end, _COUNT_PIECE))


_COUNT_PIECE = 1 << 20


def _is_ascii(data: Content) -> bool:
    """Whether every byte is below 0x80 (a mapped file has no `isascii`: numpy, in pieces)."""
    if not isinstance(data, mmap.mmap):
        return data.isascii()
    view = np.frombuffer(data, np.uint8)
    return all(int(view[at:at + _COUNT_PIECE].max(initial=0)) < 0x80 for at in range(0, len(view), _COUNT_PIECE))


def _parse_with_stdlib(body: memoryview, columns: int, quotes: bool) -> tuple[pa.Table, RaggedRows]:
    """Parse with the csv module: slower, but accepts whatever pyarrow refuses."""
    return _parse_with_csv_module(body, columns, list(range(columns)), quotes)


def _parse_wide(body: memoryview, header: list[str], quotes: bool) -> tuple[pa.Table, RaggedRows]:
    """A file wider than a spreadsheet: the csv module, keeping the SDS columns only."""
    kept = [i for i, name in enumerate(header) if name.strip().casefold() in _SDS_HEADERS]
    return _parse_with_csv_module(body, len(header), kept, quotes)


class _Chunked:
    """A growing column of strings, moved into Arrow every so many values to stay compact."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.chunks: list[pa.Array] = []

    def append(self, value: str) -> None:
        self.values.append(value)
        if len(self.values) == _RAGGED_CHUNK:
            self.flush()

    def flush(self) -> None:
        self.chunks.append(pa.array(self.values, pa.string()))
        self.values = []

    def array(self) -> pa.ChunkedArray:
        self.flush()
        return pa.chunked_array(self.chunks, pa.string())


def _parse_with_csv_module(
    body: memoryview, columns: int, kept: list[int], quotes: bool
) -> tuple[pa.Table, RaggedRows]:
    """The header row and the data rows' values of the kept columns; ragged rows kept as texts.

    Without quotes in the file a ragged row's text is its line, and splits at commas.
    """
    text = bytes(body).decode("utf-8")
    values = [_Chunked() for _ in kept]
    ragged_rows: list[int] = []
    ragged_texts = _Chunked()
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="")
    rows = 0
    for record, fields in enumerate(csv.reader(io.StringIO(text, newline=""), strict=False), 1):
        if not fields:
            fields = [""] * columns  # a blank line, as pyarrow reads it
        if len(fields) != columns:
            ragged_rows.append(record)
            if quotes:
                line.seek(0)
                line.truncate()
                writer.writerow(fields[:MAX_PARSED_COLUMNS])
                ragged_texts.append(line.getvalue())
            else:
                ragged_texts.append(",".join(fields[:MAX_PARSED_COLUMNS]))
            continue
        rows += 1
        for column, position in zip(values, kept):
            column.append(fields[position])
    del text
    ragged = RaggedRows(np.array(ragged_rows, dtype=np.int64), ragged_texts.array(), quotes)
    if not kept:  # the table still needs its rows: an empty column stands for them
        return pa.table({"rows": pa.array([""] * rows, pa.string())}), ragged
    return pa.table({f"f{i}": v.array() for i, v in zip(kept, values)}), ragged


def _split_record(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")), [])

