"""Convert the CSV files of one folder into another folder (the command line's `convert`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sds_core.conversion.v1_to_v21 import convert_v1_to_v21


def read_csv_files(folder: Path) -> dict[str, bytes]:
    """The `*.csv` files of a folder (any letter case), by name; other files are left out."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and p.name.lower().endswith(".csv")}


def write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write each file whole or not at all: a temporary file beside it, then renamed over it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def convert_folder(source: str | Path, target: str | Path,
                   domains: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Convert the classic files of `source` into v2.1 files in `target` (made when absent); the files."""
    converted = convert_v1_to_v21(read_csv_files(Path(source)), domains)
    write_files(Path(target), converted)
    return converted
