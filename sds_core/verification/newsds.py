"""What the new School Data Sync checks in v1 files beyond the classic rules (docs/new-sds-rules.md).

Applied only with `VerifyOptions.new_sds`, for profiles whose runs go on to the tenant's new SDS.
The classic checks already cover what the two share: case-sensitive headers (message 7), no line
breaks in checked values (12), school, student and teacher required (1).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sds_core.verification import formats
from sds_core.verification.checks import FileChecker, shorten
from sds_core.verification.header import MAX_UNKNOWN_COLUMN_MESSAGES, echoed
from sds_core.verification.messages import Code, Message, Row, render
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec_v21 import GRADE_LEVELS

CLASS_FILES = ("section.csv", "studentenrollment.csv", "teacherroster.csv")
"""Needed only when classes are managed, and then all three."""

# Columns the v1 page marks "data not supported" for the new SDS (US names; see the doc for sources).
NOT_SUPPORTED: dict[str, tuple[str, ...]] = {
    "school.csv": ("Grade Low", "Grade High", "Principal SIS ID", "Principal Name",
                   "Principal Secondary Email", "Zone"),
    "section.csv": ("Periods", "Status"),
    "student.csv": ("Status",),
    "teacher.csv": ("Status", "Title", "Qualification"),
}

# Grade codes of the default list of values (compared without regard to case, as enums are).
GRADES = frozenset(code.casefold() for code in GRADE_LEVELS)
LISTS_OF_VALUES: dict[tuple[str, str], frozenset[str]] = {("student.csv", "Grade"): GRADES}


def check_file(checker: FileChecker) -> None:
    """Add the new SDS's messages about one file to the checker's."""
    _uk_headers(checker)
    line_breaks_elsewhere(checker)
    _lists_of_values(checker)
    _not_supported(checker)


def without_class_files(messages: list[Message], uploaded: Iterable[str]) -> list[Message]:
    """Users only (no class file at all) is a complete set for the new SDS: drop message 1 for them."""
    if any(name.lower() in CLASS_FILES for name in uploaded):
        return messages
    return [m for m in messages if not (m.code is Code.MISSING_FILE and m.file_name in CLASS_FILES)]


def dropped_class_files(earlier: Iterable[str], uploaded: Iterable[str]) -> list[Message]:
    """Message 23 for each class file the last run had and the uploads lack (its records go inactive)."""
    now = {name.lower() for name in uploaded}
    had = {name.lower() for name in earlier}
    return [
        Message(code=Code.CLASS_FILES_DROPPED, file_name=name, description=render(Code.CLASS_FILES_DROPPED),
                order=(Code.CLASS_FILES_DROPPED.rank,))
        for name in CLASS_FILES
        if name in had and name not in now
    ]


def _uk_headers(checker: FileChecker) -> None:
    """The new SDS reads the v1 (US) header names only."""
    if not checker.layout.uk:
        return
    spec = checker.spec
    for column in spec.columns:
        if column.uk and column.name in checker.layout.positions:
            checker.messages.append(
                Message(
                    code=Code.UK_HEADER_FIELD,
                    file_name=spec.name,
                    description=render(Code.UK_HEADER_FIELD, given=column.uk, field=column.name),
                    field=column.uk,
                    total=1,
                    rows=[Row(row=1, column=column.uk, value=column.uk)],
                    order=(Code.UK_HEADER_FIELD.rank, spec.position(column.name)),
                )
            )


def line_breaks_elsewhere(checker: FileChecker) -> None:
    """Message 12 for the columns the classic rules do not read: the new SDS takes the whole file.

    Unknown columns are the uploader's: the first MAX_UNKNOWN_COLUMN_MESSAGES with line breaks get a
    message each, the rest one together. A file wider than a spreadsheet keeps only its SDS columns
    (csvread), so its unknown columns are not looked at.
    """
    parsed = checker.parsed
    if not parsed.line_breaks_possible:
        return
    checked = {checker.layout.positions[c.name] for c in checker.checked_columns()}
    by_position = {index: name for name, index in checker.layout.positions.items()}
    present = set(parsed.table.column_names)
    unknown = 0
    rest = np.zeros(checker.rows, dtype=bool)
    rest_columns = 0
    for index, header in enumerate(parsed.header):
        if index in checked or f"f{index}" not in present:
            continue
        values = parsed.column(index)
        mask = formats.line_break(values)
        if index in by_position:
            column = checker.spec.column(by_position[index])
            order = (Code.LINE_BREAK.rank, checker.spec.position(column.name))
            checker.report(Code.LINE_BREAK, mask, header, order, checker.shown(column))
        elif not mask.any():
            continue
        elif unknown < MAX_UNKNOWN_COLUMN_MESSAGES:  # after the specified ones, in the uploaded order
            unknown += 1
            order = (Code.LINE_BREAK.rank, len(checker.spec.columns) + index)
            checker.report(Code.LINE_BREAK, mask, echoed(header), order, _shown(values))
        else:
            rest |= mask
            rest_columns += 1
    if rest_columns:
        order = (Code.LINE_BREAK.rank, len(checker.spec.columns) + len(parsed.header))
        checker.report(Code.LINE_BREAK, rest, f"and {rest_columns:,} more columns", order,
                       lambda kept: [None] * len(kept))


def lists_of_values(options: VerifyOptions) -> dict[tuple[str, str], frozenset[str]]:
    """The lists of values checked: the tenant's grade codes, when the options carry them.

    teacher.csv has no Grade column in the v1 specification (spec.py), so only student.csv's is
    checked, although the default list of values names both as sources of RefGradeLevel.
    """
    if options.grade_levels is None:
        return LISTS_OF_VALUES
    return {**LISTS_OF_VALUES, ("student.csv", "Grade"): options.grade_levels}


def _lists_of_values(checker: FileChecker) -> None:
    """Values outside the list of values: the tenant can extend the list, so a Warning."""
    for (file_name, name), allowed in lists_of_values(checker.options).items():
        if file_name != checker.spec.name or name not in checker.layout.positions:
            continue
        column = checker.spec.column(name)
        values = checker.values_of(column)
        lowered = pc.utf8_lower(values)
        value_set = pa.array(sorted(allowed), type=pa.string())
        known = formats.to_numpy(pc.is_in(lowered, value_set=value_set))
        mask = _filled(values) & ~known & ~formats.line_break(values)
        checker.report(Code.NOT_IN_LIST_OF_VALUES, mask, checker.layout.header(column),
                       checker.field_order(column, Code.NOT_IN_LIST_OF_VALUES), checker.shown(column))


def _not_supported(checker: FileChecker) -> None:
    """Filled values of columns the new SDS does not take (only those the profile syncs)."""
    spec = checker.spec
    for name in NOT_SUPPORTED.get(spec.name, ()):
        if name not in checker.layout.positions:
            continue
        column = spec.column(name)
        header = checker.layout.header(column)
        if not checker.options.checks_optional(spec.customization, header):
            continue
        values = checker.values_of(column)
        mask = _filled(values) & ~formats.line_break(values)
        checker.report(Code.DATA_NOT_SUPPORTED, mask, header,
                       checker.field_order(column, Code.DATA_NOT_SUPPORTED), checker.shown(column))


def _filled(values: pa.ChunkedArray) -> np.ndarray:
    """Values with something other than whitespace."""
    return ~formats.missing(values)


def _shown(values: pa.ChunkedArray):  # noqa: ANN202 - the detail callback of FileChecker.report
    def show(kept: np.ndarray) -> list[str | None]:
        return [shorten(v) for v in formats.take(values, kept).to_pylist()]

    return show
