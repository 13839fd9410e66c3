"""Verify one profile's set of uploaded files: the entry point of the engine."""

from __future__ import annotations

import math
import mmap
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from sds_core.verification import hints, newsds, profile, sniff
from sds_core.verification.checks import MASK, FileChecker, KeyIndex, Keys, shorten
from sds_core.verification.csvread import MAX_HEADER_BYTES, Content, ParsedCsv, parse_csv
from sds_core.verification.fileformats import V1_NAME, V21_NAME, format_of, names_of
from sds_core.verification.folder import FolderAdvice, advise
from sds_core.verification.header import analyse_header
from sds_core.verification.memory import release_unused, use_lean_allocator
from sds_core.verification.messages import Code, Message, Row, Severity, render
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec import FileSpec, Format

READ_AHEAD = 1
AHEAD_BYTES = 32 << 20  # files read further ahead while all those ahead are this small (M set: all)
WORKERS = 2  # column checks side by side: the 2 vCPUs of a Flex Consumption instance
FileData = Content | Callable[[], Content]
# Files from this size on are mapped, not read: no copy, and pyarrow's threads fault the pages in
# as they parse (L enrollments: 0.31-0.36 s against 0.52-0.77 s read and parsed).
MAP_MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class FileSummary:
    """What was read of one file."""

    uploaded_name: str
    size: int
    rows: int
    variant: str | None

    def to_json(self) -> dict[str, object]:
        """JSON object."""
        return {"uploadedName": self.uploaded_name, "size": self.size, "rows": self.rows, "variant": self.variant}


@dataclass
class VerificationResult:
    """The Graph messages, in Graph's order, each with the rows behind it."""

    messages: list[Message]
    files: dict[str, FileSummary] = field(default_factory=dict)
    seconds: float = 0.0
    advice: FolderAdvice | None = None
    """What is wrong with a folder on disk that holds none of the six files (verify_folder only)."""
    note: str | None = None
    """What is wrong with the set as a whole: it holds files of the other format (v1 or v2.1)."""

    @property
    def has_errors(self) -> bool:
        """Whether a sync may not start."""
        return any(m.severity is Severity.ERROR for m in self.messages)

    def graph_messages(self) -> list[dict[str, str]]:
        """The `value` of `start`'s response."""
        return [m.graph() for m in self.messages]

    def details(self) -> list[dict[str, object]]:
        """Every message with its code, field, total and rows."""
        return [m.to_json() for m in self.messages]


Progress = Callable[[str, int], None]


def verify_files(
    files: Mapping[str, FileData], options: VerifyOptions | None = None, progress: Progress | None = None
) -> VerificationResult:
    """Verify uploaded files, given by name (as uploaded) with their bytes or a loader of them.

    The format (`options.format`: "v1", the default, or "v2.1") chooses the files and their rules.
    """
    started = time.perf_counter()
    use_lean_allocator()
    options = options or VerifyOptions()
    fmt = format_of(options.format)
    uploads: dict[str, list[str]] = {}
    for name in files:
        if name.lower().endswith(".csv"):
            uploads.setdefault(name.lower(), []).append(name)
    messages, readable = _choose_files(fmt, uploads, list(files))
    # The largest file (the enrollments) last: it is then read ahead while the small roster is
    # checked, not while the students are, which keeps the two largest tables from meeting in memory.
    readable.sort(key=lambda item: item[0].name == fmt.largest)
    keys = KeyIndex()
    for spec in fmt.files:  # an optional file not uploaded has no keys: every reference to it dangles
        if spec.name.lower() not in uploads and spec.name not in fmt.required_files | fmt.together:
            for target, column in fmt.referenced:
                if target == spec.name:
                    keys.add(target, column, Keys(pa.array([], pa.string()), np.zeros(0, dtype=bool), header=column))
    summaries: dict[str, FileSummary] = {}
    teacher_usernames: pa.Array | None = None
    # The next file is read and parsed ahead while the current one is checked: parsing and
    # loading release the GIL, so they overlap with the checks on a 2-core machine.
    with ExitStack() as stack:
        if profile.recording():  # one thread, so that each phase's CPU time is its own
            reader = workers = _Inline()
        else:
            reader = stack.enter_context(ThreadPoolExecutor(max_workers=1))
            workers = stack.enter_context(ThreadPoolExecutor(max_workers=WORKERS))
        ahead: dict[int, Future] = {}
        for index, (spec, name) in enumerate(readable):
            for following in _read_ahead(readable, files, index, len(ahead) + index):
                ahead[following] = reader.submit(_read, readable[following][1], files[readable[following][1]],
                                                 progress)
            parsed, size = ahead.pop(index).result()
            file_messages, summaries[spec.name], usernames = _check_file(
                spec, name, parsed, size, options, keys, teacher_usernames, workers, fmt
            )
            del parsed
            release_unused()
            messages.extend(file_messages)
            if spec.name == "teacher.csv":
                teacher_usernames = usernames
    if options.new_sds and fmt.variants:
        messages = newsds.without_class_files(messages, uploads)
    messages.sort(key=lambda m: (m.file_name, m.order))
    note = _other_format_note(fmt, list(files))
    hints.attach((m for m in messages if m.code in (Code.MISSING_FILE, Code.UNKNOWN_FILE)), note)
    return VerificationResult(messages, summaries, time.perf_counter() - started, note=note)


def _other_format_note(fmt: Format, names: list[str]) -> str | None:
    """The set's note when some of its files are of the other format (a v2.1 set verified as v1)."""
    other = V21_NAME if fmt.name == V1_NAME else V1_NAME
    found = names_of(other, names)
    return hints.other_format_note(other, found, mixed=bool(names_of(fmt.name, names))) if found else None


def _choose_files(fmt: Format, uploads: dict[str, list[str]],
                  names: list[str]) -> tuple[list[Message], list[tuple[FileSpec, str]]]:
    """Messages about the set of names (missing, unknown, miswritten files) and the files to read.

    `uploads` holds the uploaded names by their lower-case form, `names` every name (also those not
    ending in .csv: a workbook may be the file that is missing). v1 names match in any case; v2.1
    names are exact, and a name differing only in case is reported instead of read.
    """
    style = fmt.templates
    messages: list[Message] = []
    by_lower = {spec.name.lower(): spec for spec in fmt.files}
    for lower in sorted(uploads):
        if lower not in by_lower:
            close = next((spec for spec in fmt.files if sniff.same_file(spec, [lower])), None)
            for name in sorted(uploads[lower]) if fmt.exact_names else [lower]:
                message = _file_message(Code.UNKNOWN_FILE, name if fmt.exact_names else lower, style)
                message.note = hints.unknown_file_note(close) if close else None
                messages.append(message)
    others = [name for name in names if name.lower() not in by_lower]
    managed = fmt.together if any(name.lower() in uploads for name in fmt.together) else frozenset()
    readable: list[tuple[FileSpec, str]] = []
    for spec in fmt.files:
        given = uploads.get(spec.name.lower(), [])
        if fmt.exact_names:
            miswritten = sorted(n for n in given if n != spec.name)
            if miswritten:
                messages.append(_file_message(Code.FILE_NAME_CASE, spec.name, style, n=len(miswritten),
                                              names=", ".join(miswritten)))
            if spec.name in given:
                readable.append((spec, spec.name))
            elif not given and spec.name in fmt.required_files | managed:
                messages.append(_missing_file(spec, style, others))
        elif not given:
            messages.append(_missing_file(spec, style, others))
        elif len(given) > 1:
            listed = ", ".join(sorted(given))
            message = _file_message(Code.FILE_NAME_CASE, spec.name, style, n=len(given), names=listed)
            message.note = hints.name_case_note()
            messages.append(message)
        else:
            readable.append((spec, given[0]))
    return messages, readable


def _missing_file(spec: FileSpec, style: str, others: list[str]) -> Message:
    """Message 1, its note naming a file that seems to be this one (a workbook, another name)."""
    message = _file_message(Code.MISSING_FILE, spec.name, style)
    message.note = hints.missing_file_note(spec, sniff.same_file(spec, others))
    return message


def _read_ahead(readable: list[tuple[FileSpec, str]], files: Mapping[str, FileData], index: int,
                submitted: int) -> range:
    """Files to start reading before file `index` is checked (those before `submitted` are started).

    The next READ_AHEAD files always; further ones while all those ahead fit in AHEAD_BYTES, so
    that small sets keep the reader busy and large files still never meet in memory.
    """
    end = max(submitted, min(index + 1 + READ_AHEAD, len(readable)))
    ahead = sum(_size(files[name]) for _, name in readable[index + 1:end])
    while end < len(readable) and ahead + _size(files[readable[end][1]]) <= AHEAD_BYTES:
        ahead += _size(files[readable[end][1]])
        end += 1
    return range(submitted, end)


def _size(data: FileData) -> float:
    """Bytes of a file, infinite when its loader does not say."""
    if isinstance(data, (bytes, bytearray, mmap.mmap)):
        return len(data)
    size = getattr(data, "size", None)
    return math.inf if size is None else size


@dataclass(frozen=True)
class Loader:
    """A file's bytes, loaded when called; its `size` lets small files be read further ahead."""

    load: Callable[[], Content]
    size: int | None = None

    def __call__(self) -> Content:
        """The file's bytes."""
        return self.load()


def verify_folder(
    path: str | Path, options: VerifyOptions | None = None, progress: Progress | None = None
) -> VerificationResult:
    """Verify the `*.csv` files of a folder. Other files are not read: their names only let the
    messages say what they seem to be (a workbook of the same name, the files in a sub-folder)."""
    folder = Path(path)
    files = {p.name: Loader(partial(_load, p), p.stat().st_size if p.name.lower().endswith(".csv") else None)
             for p in sorted(folder.iterdir()) if p.is_file()}
    result = verify_files(files, options, progress)
    result.advice = advise(folder)
    if result.advice is not None:
        hints.attach((m for m in result.messages if m.code is Code.MISSING_FILE), result.advice.note)
    return result


def _load(path: Path) -> Content:
    """A file's bytes: mapped read-only when large, read otherwise (an empty file cannot be mapped).

    The mapping is dropped with the bytes once the file is parsed; pyarrow copies every value
    out of it. A file cut short by another program while it is parsed ends the process (SIGBUS),
    as it would `grep`'s: the price of not copying the file first, for the command line only
    (the app verifies blobs downloaded into memory). Not on Windows, where a mapped file cannot
    be truncated: an export job rewriting it meanwhile would fail instead.
    """
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size >= max(MAP_MIN_BYTES, 1) and os.name == "posix":
            try:
                return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file system that cannot map, or a file emptied since
                pass
        return file.read()


class _Inline(Executor):
    """An executor that runs each task at once on the calling thread (used while profiling)."""

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> Future:
        """Run `fn` now; its result (or exception) in a completed future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


def _file_message(code: Code, file_name: str, style: str = "v1", **values: object) -> Message:
    return Message(code=code, file_name=file_name, description=render(code, style, file=file_name, **values),
                   order=(code.rank,))


def _read(uploaded_name: str, data: FileData, progress: Progress | None) -> tuple[ParsedCsv, int]:
    """Load and parse one file; the bytes are dropped once the table holds the data."""
    with profile.phase("parse"):
        content = data() if callable(data) else data
        if progress:
            progress(uploaded_name, len(content))
        return parse_csv(content), len(content)


def _check_file(
    spec: FileSpec,
    uploaded_name: str,
    parsed: ParsedCsv,
    size: int,
    options: VerifyOptions,
    keys: KeyIndex,
    teacher_usernames: pa.Array | None,
    workers: Executor,
    fmt: Format,
) -> tuple[list[Message], FileSummary, pa.Array | None]:
    """Messages of one file; its key column goes into `keys`; teacher.csv also returns its Usernames."""
    style = fmt.templates
    if parsed.problem == "empty":
        return [_file_message(Code.EMPTY_FILE, spec.name, style)], FileSummary(uploaded_name, size, 0, None), None
    if parsed.problem == "headerTooLong":
        message = _file_message(Code.HEADER_TOO_LONG, spec.name, style, limit=f"{MAX_HEADER_BYTES:,}")
        return [message], FileSummary(uploaded_name, size, 0, None), None
    if parsed.problem == "notUtf8":
        message = _file_message(Code.NOT_UTF8, spec.name, style, line=parsed.invalid_line)
        message.note = hints.encoding_note(parsed.looks_like, parsed.invalid_byte, parsed.invalid_line)
        return [message], FileSummary(uploaded_name, size, 0, None), None
    layout = analyse_header(spec, parsed.header, options, fmt)
    checker = FileChecker(spec, parsed, layout, options, fmt)
    messages = list(layout.messages)
    variant = ("UK" if layout.uk else "US") if fmt.variants else fmt.name
    summary = FileSummary(uploaded_name, size, parsed.row_count, variant)
    if parsed.row_count == 0:
        messages.append(_file_message(Code.NO_DATA_ROWS, spec.name, style))
    if parsed.ragged:
        messages.append(_ragged_message(spec, parsed, options, style))
    if options.max_rows_per_file and parsed.row_count > options.max_rows_per_file:
        messages.append(_too_many_rows(spec, parsed, options, style))
    referenced = [column for target, column in fmt.referenced if target == spec.name]
    if any(r.target_file == spec.name for r in spec.references):  # orgs.csv's parents are orgs
        _add_keys(checker, keys, referenced)
    checker.check_values(keys, workers, WORKERS)
    if spec.name == "student.csv":
        checker.shared_usernames(teacher_usernames)
    _add_keys(checker, keys, referenced)
    if not fmt.variants:  # the new SDS takes the whole file: line breaks anywhere are refused
        newsds.line_breaks_elsewhere(checker)
    elif options.new_sds:
        newsds.check_file(checker)
    messages.extend(checker.messages)
    hints.attach(messages, _file_note(spec, parsed))
    return messages, summary, checker.usernames() if spec.name == "teacher.csv" else None


def _file_note(spec: FileSpec, parsed: ParsedCsv) -> str | None:
    """A note for every message of a file read as CSV: UTF-16 text, or another separator than commas."""
    if parsed.looks_like in (sniff.Encoding.UTF16, sniff.Encoding.UTF32):
        return hints.encoding_note(parsed.looks_like)
    found = sniff.separator(spec, parsed.header)
    return hints.separator_note(found) if found else None


def _add_keys(checker: FileChecker, keys: KeyIndex, columns: list[str]) -> None:
    """Remember the file's key columns that other files reference."""
    for column in columns:
        key_column = checker.keys(column)
        if key_column is not None:
            keys.add(checker.spec.name, column, key_column)


def _ragged_message(spec: FileSpec, parsed: ParsedCsv, options: VerifyOptions, style: str) -> Message:
    width = len(parsed.header)
    passwords = [i for i, text in enumerate(parsed.header) if text.strip().casefold() == "password"]
    rows = [
        Row(r.row, None, shorten(",".join(_masked(r.fields, passwords, width))),
            f"{len(r.fields)} fields, the header has {width}")
        for r in parsed.ragged.first(options.detail_rows_per_message)
    ]
    total = len(parsed.ragged)
    return Message(code=Code.RAGGED_ROWS, file_name=spec.name,
                   description=render(Code.RAGGED_ROWS, style, n=total, file=spec.name),
                   total=total, rows=rows, order=(Code.RAGGED_ROWS.rank,))


def _masked(fields: list[str], passwords: list[int], width: int) -> list[str]:
    """A ragged row's fields with every one that may be a Password masked.

    Fields missing or added before the Password column shift it by up to the difference in
    counts, so every position it may have moved to is masked.
    """
    shift = abs(len(fields) - width)
    hidden = {p + d for p in passwords for d in range(-shift, shift + 1)}
    return [MASK if i in hidden and value else value for i, value in enumerate(fields)]


def _too_many_rows(spec: FileSpec, parsed: ParsedCsv, options: VerifyOptions, style: str) -> Message:
    limit = options.max_rows_per_file
    table_rows = parsed.rows.of(np.arange(parsed.table.num_rows))
    every = np.sort(np.concatenate([table_rows, parsed.ragged.rows]))
    beyond = every[limit:]
    return Message(
        code=Code.TOO_MANY_ROWS,
        file_name=spec.name,
        description=render(Code.TOO_MANY_ROWS, style, n=len(beyond), limit=limit),
        total=len(beyond),
        rows=[Row(int(r), None, None) for r in beyond[: options.detail_rows_per_message]],
        order=(Code.TOO_MANY_ROWS.rank,),
    )
