"""What a folder on disk holds when none of the six files is in it: nothing, workbooks, or the files
one folder further down. Only names are read, and only so many of them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sds_core.verification.hints import CSV_UTF8, SIX_NAMES
from sds_core.verification.sniff import workbook_kind
from sds_core.verification.spec import FILES_BY_NAME

MAX_NAMES_LISTED = 5
MAX_FOLDERS_LOOKED_INTO = 200
_SYSTEM_FILES = frozenset({"desktop.ini", "thumbs.db", ".ds_store"})


@dataclass(frozen=True)
class FolderAdvice:
    """What is wrong with a folder, and a folder to verify instead when there is one."""

    text: str
    instead: Path | None = None

    @property
    def note(self) -> str:
        """The advice as a message's note."""
        return f"{self.text}: verify that folder instead." if self.instead else f"{self.text}."


def _visible_entries(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as entries:
        return sorted((e for e in entries if not _hidden(e.name)), key=lambda e: e.name.casefold())


def _hidden(name: str) -> bool:
    return name.startswith((".", "~$")) or name.casefold() in _SYSTEM_FILES


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES_LISTED])
    return shown + (f" and {len(names) - MAX_NAMES_LISTED:,} more" if len(names) > MAX_NAMES_LISTED else "")


def _sds_files(path: Path) -> int:
    """How many of the six file names a folder holds (in any letter case)."""
    try:
        return len({e.name.casefold() for e in _visible_entries(path) if e.is_file()} & FILES_BY_NAME.keys())
    except OSError:
        return 0


def _sub_folders_with_files(path: Path) -> list[tuple[Path, int]]:
    """Folders up to two levels below `path` holding some of the six files, the fullest first."""
    found: list[tuple[Path, int]] = []
    level, looked = [path], 0
    for _ in range(2):
        below: list[Path] = []
        for folder in level:
            try:
                below.extend(Path(e.path) for e in _visible_entries(folder) if e.is_dir())
            except OSError:
                continue
        for folder in below:
            if looked == MAX_FOLDERS_LOOKED_INTO:
                break
            looked += 1
            if count := _sds_files(folder):
                found.append((folder, count))
        if found:
            break
        level = below
    return sorted(found, key=lambda item: -item[1])


def advise(path: Path) -> FolderAdvice | None:
    """Advice for a folder without any of the six files; None when it holds one of them, or only
    other CSV files (their own messages speak of them)."""
    entries = _visible_entries(path)
    files = [e.name for e in entries if e.is_file()]
    if {name.casefold() for name in files} & FILES_BY_NAME.keys():
        return None
    if any(name.casefold().endswith(".csv") for name in files):
        return None
    found = _sub_folders_with_files(path)
    if found:
        best, count = found[0]
        where = best.relative_to(path).as_posix()
        also = [f.relative_to(path).as_posix() for f, _ in found[1:]]
        more = f" (also in {_listed(also)})" if also else ""
        share = "all six" if count == len(FILES_BY_NAME) else f"{count} of the six"
        return FolderAdvice(f"The CSV files are in the sub-folder {where} ({share}){more}", best)
    workbooks = [name for name in files if workbook_kind(name)]
    if workbooks:
        kinds = {workbook_kind(name) for name in workbooks}
        kind = kinds.pop() if len(kinds) == 1 else "spreadsheet"
        counted = f"{len(workbooks)} {kind}{'s' if len(workbooks) > 1 else ''}"
        return FolderAdvice(
            f"The folder holds no CSV file but {counted}: {_listed(workbooks)}. Save each sheet as {CSV_UTF8} "
            f"with the file names {SIX_NAMES} (Excel saves only the sheet on screen: once per sheet)")
    if not entries:
        return FolderAdvice(f"The folder is empty: put the six CSV files in it ({SIX_NAMES})")
    others = [e.name + ("/" if e.is_dir() else "") for e in entries]
    return FolderAdvice(f"The folder holds none of the six CSV files ({SIX_NAMES}), only {_listed(others)}")
