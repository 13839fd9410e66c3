"""One file of a sync as columns: the verifier's parser and header rules, US column names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sds_core.verification.csvread import parse_csv
from sds_core.verification.header import analyse_header
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec import FILES_BY_NAME

FileInput = bytes | bytearray | Iterable[Mapping[str, str]]


@dataclass(frozen=True)
class FileColumns:
    """A file's data rows: columns by US header name, and each row's number as a spreadsheet shows it."""

    columns: Mapping[str, pa.Array]
    row_numbers: np.ndarray

    @property
    def row_count(self) -> int:
        """Data rows read."""
        return len(self.row_numbers)

    def column(self, name: str) -> pa.Array:
        """A column's values (empty text where the file has no such column)."""
        found = self.columns.get(name)
        if found is None:
            return pa.nulls(self.row_count, pa.string()).fill_null("")
        return found


def file_columns(file_name: str, data: FileInput) -> FileColumns:
    """Read one verified file (bytes, or rows keyed by US names) into columns.

    Bytes are parsed as verification parsed them: blank lines and rows whose number of fields
    differs from the header's are left out, and the rows keep their spreadsheet numbers.
    """
    if isinstance(data, bytes | bytearray):
        return _from_bytes(file_name, data)
    return _from_rows(list(data))


def _from_bytes(file_name: str, data: bytes | bytearray) -> FileColumns:
    parsed = parse_csv(data)
    if parsed.problem or parsed.table is None:
        return empty_columns()
    layout = analyse_header(FILES_BY_NAME[file_name], parsed.header, VerifyOptions())
    table = parsed.table
    columns = {
        name: _whole(parsed.column(index))
        for name, index in layout.positions.items()
        if f"f{index}" in table.column_names
    }
    numbers = parsed.rows.of(np.arange(table.num_rows, dtype=np.int64))
    return FileColumns(columns, numbers)


def _from_rows(rows: list[Mapping[str, str]]) -> FileColumns:
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = {name: pa.array([row.get(name) or "" for row in rows], pa.string()) for name in names}
    return FileColumns(columns, np.arange(2, len(rows) + 2, dtype=np.int64))


def _whole(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def empty_columns() -> FileColumns:
    """A file that was not uploaded, or has no rows to read."""
    return FileColumns({}, np.empty(0, np.int64))
