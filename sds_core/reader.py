"""Rows of a verified file for the sync, keyed by US header names (UK headers mapped)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator

from sds_core.header import analyse_header
from sds_core.options import VerifyOptions
from sds_core.spec import FILES_BY_NAME


def iter_rows(file_name: str, data: bytes | bytearray) -> Iterator[dict[str, str]]:
    """Each data row as {US column name: value}, for the specified columns the header has.

    The header is read with the verifier's rules (variant, exact spelling); blank lines and rows
    whose number of fields differs from the header's are skipped, as verification reported them.
    """
    spec = FILES_BY_NAME[file_name]
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    records = csv.reader(text)
    header = next(records, [])
    if header and header[0].startswith(codecs.BOM_UTF8.decode()):
        header[0] = header[0][1:]
    positions = analyse_header(spec, header, VerifyOptions()).positions
    width = len(header)
    for record in records:
        if len(record) == width:
            yield {name: record[index] for name, index in positions.items()}
