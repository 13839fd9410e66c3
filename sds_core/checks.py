"""Row checks of one parsed file: missing data, formats, uniqueness, references, shared usernames."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sds_core import formats
from sds_core.csvread import ParsedCsv
from sds_core.header import Layout, required
from sds_core.messages import Code, Message, Row, Severity, render
from sds_core.options import VerifyOptions
from sds_core.spec import Column, FileSpec, Kind

MAX_VALUE_CHARS = 200
MASK = "***"


@dataclass
class KeyIndex:
    """Key values of files already read, for references; a file absent here is not checkable."""

    keys: dict[tuple[str, str], pa.Array] = field(default_factory=dict)

    def add(self, file_name: str, column: str, values: pa.Array) -> None:
        """Remember every value of a key column (any format: found means the exact string)."""
        self.keys[(file_name, column)] = values

    def get(self, file_name: str, column: str) -> pa.Array | None:
        """The key values, or None when references into that column cannot be checked."""
        return self.keys.get((file_name, column))


@dataclass
class ColumnState:
    """Masks of one checked column, shared by the checks that cascade."""

    column: Column
    header: str
    values: pa.Array
    missing: pa.BooleanArray
    unusable: pa.BooleanArray  # missing, malformed or broken by a line break: never a dangling reference


class FileChecker:
    """Checks the rows of one file and reports them as messages with row-level detail."""

    def __init__(self, spec: FileSpec, parsed: ParsedCsv, layout: Layout, options: VerifyOptions):
        self.spec = spec
        self.parsed = parsed
        self.layout = layout
        self.options = options
        self.table = parsed.table
        self.messages: list[Message] = []
        self.states: dict[str, ColumnState] = {}

    # Reporting

    def report(
        self,
        code: Code,
        mask: pa.BooleanArray | np.ndarray,
        column: Column | None,
        order: tuple,
        severity: Severity | None = None,
        values: pa.Array | None = None,
        field_text: str | None = None,
        note: Callable[[np.ndarray], list[str | None]] | None = None,
    ) -> None:
        """Add a message for the rows where `mask` is true (nothing when there are none)."""
        indices = np.flatnonzero(mask.to_numpy(zero_copy_only=False) if isinstance(mask, pa.Array) else mask)
        if len(indices) == 0:
            return
        text = field_text if field_text is not None else self.layout.header(column)
        kept = indices[: self.options.detail_rows_per_message]
        rows = self.parsed.rows.of(kept)
        shown = self.values_for_detail(values if values is not None else self.column_values(column), kept, column)
        notes = note(kept) if note else [None] * len(kept)
        self.messages.append(
            Message(
                code=code,
                file_name=self.spec.name,
                description=render(code, n=len(indices), field=text),
                field=text,
                severity=severity,
                total=len(indices),
                rows=[Row(int(r), text, v, n) for r, v, n in zip(rows, shown, notes)],
                order=order,
            )
        )

    def values_for_detail(self, values: pa.Array, kept: np.ndarray, column: Column | None) -> list[str]:
        """Offending values as shown in detail: passwords masked, huge values shortened."""
        if column is not None and column.kind is Kind.PASSWORD:
            return [MASK] * len(kept)
        return [shorten(v) for v in values.take(pa.array(kept)).to_pylist()]

    def column_values(self, column: Column) -> pa.Array:
        """The column's values as one array."""
        return self.table.column(self.layout.positions[column.name]).combine_chunks()

    # Checks

    def checked_columns(self) -> list[Column]:
        """Present columns whose values are checked: required ones and the optional ones synced."""
        out = []
        for column in self.spec.columns:
            if column.name not in self.layout.positions:
                continue
            if required(self.spec, column, self.options) or self.options.checks_optional(
                self.spec.customization, self.layout.header(column)
            ):
                out.append(column)
        return out

    def line_breaks(self) -> None:
        """Message 12, per field; those values are not checked further."""
        if not self.parsed.has_quotes:
            return
        for column in self.checked_columns():
            mask = formats.line_break(self.column_values(column))
            self.report(Code.LINE_BREAK, mask, column, (Code.LINE_BREAK.rank, self.spec.position(column.name)))

    def values(self) -> None:
        """Messages 14, 15 and 18 for every checked column, in specification order."""
        for column in self.checked_columns():
            values = self.column_values(column)
            position = self.spec.position(column.name)
            missing = formats.missing(values)
            if required(self.spec, column, self.options):
                self.report(Code.MISSING_DATA, missing, column, (100, position, Code.MISSING_DATA.rank))
            unusable = missing
            if self.parsed.has_quotes:
                unusable = pc.or_(unusable, formats.line_break(values))
            ok = formats.well_formed(values, column.kind, self.parsed.has_nul)
            if ok is not None:
                bad = pc.and_(pc.invert(ok), pc.invert(unusable))
                fixable = self.fixable(column, values, bad)
                if fixable is not None:
                    bad = pc.and_(bad, pc.invert(fixable))
                self.report(Code.INVALID_FORMAT, bad, column, (100, position, Code.INVALID_FORMAT.rank))
                if fixable is not None:
                    self.report(
                        Code.SPECIAL_CHARACTERS, fixable, column, (100, position, Code.SPECIAL_CHARACTERS.rank)
                    )
                unusable = pc.or_(unusable, bad)
            self.states[column.name] = ColumnState(column, self.layout.header(column), values, missing, unusable)

    def fixable(self, column: Column, values: pa.Array, bad: pa.BooleanArray) -> pa.BooleanArray | None:
        """Among malformed values, those the special-character option would repair."""
        if not (self.options.replace_special_characters and column.name in self.spec.special_character_columns):
            return None
        candidates = np.flatnonzero(bad.to_numpy(zero_copy_only=False))
        mask = np.zeros(len(values), dtype=bool)
        if len(candidates):
            repaired = formats.fixable(values.take(pa.array(candidates)), column.kind)
            mask[candidates[repaired.to_numpy(zero_copy_only=False)]] = True
        return pa.array(mask)

    def duplicates(self) -> None:
        """Message 16 for the unique columns, then for the unique pair."""
        severity = Severity.ERROR if self.spec.unique_is_error else Severity.WARNING
        for name in self.spec.unique:
            state = self.states.get(name)
            if state is None:
                continue
            compared = pc.utf8_lower(state.values) if state.column.kind is Kind.USERNAME else state.values
            present = np.flatnonzero(~state.missing.to_numpy(zero_copy_only=False))
            codes = _codes(compared.take(pa.array(present)))
            self.report_duplicates(codes, present, state.column, state.header, state.values, severity,
                                   (100, self.spec.position(name), Code.DUPLICATE_VALUES.rank))
        if self.spec.unique_pair:
            first, second = (self.states.get(n) for n in self.spec.unique_pair)
            if first is None or second is None:
                return
            both = ~(first.missing.to_numpy(zero_copy_only=False) | second.missing.to_numpy(zero_copy_only=False))
            present = np.flatnonzero(both)
            take = pa.array(present)
            a, b = _codes(first.values.take(take)), _codes(second.values.take(take))
            codes = _codes(pa.array(a.astype(np.int64) * (int(b.max(initial=0)) + 1) + b))
            text = f"{first.header} + {second.header}"
            pair_values = pc.binary_join_element_wise(first.values, second.values, " + ")
            self.report_duplicates(codes, present, None, text, pair_values, Severity.WARNING, (200,))

    def report_duplicates(self, codes: np.ndarray, present: np.ndarray, column: Column | None, text: str,
                          values: pa.Array, severity: Severity, order: tuple) -> None:
        """Report the second and later occurrences, each with the row of the first."""
        if len(codes) == 0:
            return
        # Codes are numbered in order of first appearance: a row repeats a value iff its code is
        # not above every code seen before it.
        seen_max = np.maximum.accumulate(codes)
        repeat = np.zeros(len(codes), dtype=bool)
        repeat[1:] = codes[1:] <= seen_max[:-1]
        if not repeat.any():
            return
        first_at = present[np.flatnonzero(~repeat)]
        mask = np.zeros(self.table.num_rows, dtype=bool)
        mask[present[repeat]] = True
        first_of = dict(zip(present[repeat].tolist(), first_at[codes[repeat]].tolist()))

        def note(kept: np.ndarray) -> list[str | None]:
            firsts = self.parsed.rows.of(np.array([first_of[int(k)] for k in kept], dtype=np.int64))
            return [f"same value as row {int(r)}" for r in firsts]

        self.report(Code.DUPLICATE_VALUES, mask, column, order, severity=severity, values=values,
                    field_text=text, note=note)

    def references(self, keys: KeyIndex) -> None:
        """Message 17: values that do not appear in the referenced file's key column."""
        for reference in self.spec.references:
            state = self.states.get(reference.column)
            target = keys.get(reference.target_file, reference.target_column)
            if state is None or target is None:
                continue
            found = pc.is_in(state.values, value_set=target)
            dangling = pc.and_(pc.invert(found), pc.invert(state.unusable))
            self.report(Code.REFERENCE_NOT_FOUND, dangling, state.column,
                        (100, self.spec.position(reference.column), Code.REFERENCE_NOT_FOUND.rank))

    def shared_usernames(self, teacher_usernames: pa.Array | None) -> None:
        """Message 19: student Usernames also used in teacher.csv (case-insensitive)."""
        state = self.states.get("Username")
        if state is None or teacher_usernames is None:
            return
        shared = pc.and_(pc.is_in(pc.utf8_lower(state.values), value_set=teacher_usernames),
                         pc.invert(state.missing))
        self.report(Code.USERNAME_ALSO_TEACHER, shared, state.column, (300,))

    def key_values(self, name: str) -> pa.Array | None:
        """All values of a column, ragged rows included (where the row reaches that column)."""
        position = self.layout.positions.get(name)
        if position is None:
            return None
        extra = [r.fields[position] for r in self.parsed.ragged if len(r.fields) > position]
        column = self.table.column(position).combine_chunks()
        return pa.concat_arrays([column, pa.array(extra, pa.string())]) if extra else column


def _codes(values: pa.Array) -> np.ndarray:
    """Dense codes numbered in order of first appearance."""
    encoded = pc.dictionary_encode(values)
    return encoded.indices.to_numpy(zero_copy_only=False)


def shorten(value: str | None) -> str | None:
    """A value short enough for a report line."""
    if value is None or len(value) <= MAX_VALUE_CHARS:
        return value
    return f"{value[:MAX_VALUE_CHARS]}… ({len(value)} characters)"
