"""Row checks of one parsed file: missing data, formats, uniqueness, references, shared usernames.

Masks are numpy booleans over the file's data rows. A column that references another file is
looked up once (`index_in`, or a `KeyTable` when the keys are too many for pyarrow's hash table
to stay in cache); the lookup also gives its format verdicts (a found value has the verdict of
the identical key) and the codes for the duplicate-pair check, so the largest files
(enrollments) cost little more than two hash probes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sds_core.verification import formats, hints, profile
from sds_core.verification.csvread import ParsedCsv
from sds_core.verification.formats import Values
from sds_core.verification.header import Layout, required
from sds_core.verification.keytable import KeyTable
from sds_core.verification.memory import release_unused
from sds_core.verification.messages import Code, Message, Row, Severity, render
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec import V1, Column, FileSpec, Format, Kind

MAX_VALUE_CHARS = 200
MASK = "***"
# What a valid value of each v2.1 kind is, as its invalid-format message says it.
KIND_TEXTS: dict[Kind, str] = {
    Kind.UNIQUE_ID: "unique ID (no control character, no space at either end)",
    Kind.UPN: "username with its domain (name@domain)",
    Kind.EMAIL: "email address",
    Kind.ISO_DATE: "ISO 8601 date (YYYY-MM-DD)",
    Kind.BOOLEAN: "boolean (true or false)",
    Kind.YEAR: "four-digit year",
    Kind.SCHOOL_NAME: "name (at most 256 characters, no control character)",
    Kind.PERSON_NAME: "name (at most 64 characters, no control character)",
}


_np = formats.to_numpy


@dataclass
class Keys:
    """Every value of one key column, with each value's format verdict."""

    values: Values
    well_formed: np.ndarray
    building: Future | None = None  # the KeyTable of a large key column, built on a worker
    header: str = "SIS ID"  # the key column's header as its file writes it (US or UK)

    @property
    def table(self) -> KeyTable | None:
        """The numpy lookup table of these keys, None when pyarrow looks them up."""
        return None if self.building is None else self.building.result()


@dataclass
class KeyIndex:
    """Key columns of files already read; a file absent here cannot be referenced-checked."""

    keys: dict[tuple[str, str], Keys] = field(default_factory=dict)

    def add(self, file_name: str, column: str, keys: Keys) -> None:
        """Remember a key column, as one array: a lookup into a chunked one costs a third more."""
        if isinstance(keys.values, pa.ChunkedArray):
            keys = Keys(keys.values.combine_chunks(), keys.well_formed, header=keys.header)
        self.keys[(file_name, column)] = keys

    def get(self, file_name: str, column: str) -> Keys | None:
        """The key column, or None when references into it are not checked."""
        return self.keys.get((file_name, column))


@dataclass
class ColumnState:
    """What the checks of one column found, shared by the checks that cascade."""

    column: Column
    header: str
    values: Values
    missing: np.ndarray
    unusable: np.ndarray  # missing, malformed or broken by a line break: never a dangling reference
    well_formed: np.ndarray | None = None
    found_at: np.ndarray | None = None  # index of the value in the referenced keys, -1 if absent


class FileChecker:
    """Checks the rows of one file and reports them as messages with row-level detail."""

    def __init__(self, spec: FileSpec, parsed: ParsedCsv, layout: Layout, options: VerifyOptions,
                 fmt: Format = V1):
        self.spec = spec
        self.fmt = fmt
        self.parsed = parsed
        self.layout = layout
        self.options = options
        self.rows = parsed.table.num_rows
        self.messages: list[Message] = []
        self.states: dict[str, ColumnState] = {}

    # Reporting

    def report(
        self,
        code: Code,
        mask: np.ndarray,
        text: str,
        order: tuple,
        detail: Callable[[np.ndarray], list[str | None]],
        severity: Severity | None = None,
        note: Callable[[np.ndarray], list[str | None]] | None = None,
        quoted: dict[str, str] | None = None,
    ) -> None:
        """Add a message for the rows where `mask` is true (nothing when there are none)."""
        indices = np.flatnonzero(mask)
        if len(indices) == 0:
            return
        kept = indices[: self.options.detail_rows_per_message]
        rows = self.parsed.rows.of(kept)
        notes = note(kept) if note else [None] * len(kept)
        self.messages.append(
            Message(
                code=code,
                file_name=self.spec.name,
                description=render(code, self.fmt.templates, n=len(indices), field=text, file=self.spec.name,
                                   **(quoted or {})),
                field=text,
                severity=severity,
                total=len(indices),
                rows=[Row(int(r), text, v, n) for r, v, n in zip(rows, detail(kept), notes)],
                order=order,
            )
        )

    def shown(self, column: Column) -> Callable[[np.ndarray], list[str | None]]:
        """Offending values of a column as detail shows them: passwords masked, huge values cut."""
        def show(kept: np.ndarray) -> list[str | None]:
            if column.kind is Kind.PASSWORD:
                return [MASK] * len(kept)
            return [shorten(v) for v in formats.take(self.values_of(column), kept).to_pylist()]

        return show

    def values_of(self, column: Column) -> pa.ChunkedArray:
        """The column's values (chunked as parsed: combining them would copy the column)."""
        return self.parsed.column(self.layout.positions[column.name])

    def field_order(self, column: Column, code: Code) -> tuple:
        """Sort key of a field message: field position in the specification, then kind."""
        return (100, self.spec.position(column.name), code.rank)

    # Checks

    def checked_columns(self) -> list[Column]:
        """Present columns whose values are checked: required ones and the optional ones synced."""
        return [
            column
            for column in self.spec.columns
            if column.name in self.layout.positions
            and (
                required(self.spec, column, self.options)
                or self.options.checks_optional(self.spec.customization, self.layout.header(column))
            )
        ]

    def optional_severity(self, column: Column) -> Severity | None:
        """The severity of an invalid or dangling value: a Warning in an optional v2.1 column."""
        if self.fmt.optional_is_warning and not required(self.spec, column, self.options):
            return Severity.WARNING
        return None

    def line_breaks(self, column: Column) -> np.ndarray | None:
        """Message 12 for one field (None when the file cannot have any); those values are not checked further."""
        if not self.parsed.line_breaks_possible:
            return None
        mask = formats.line_break(self.values_of(column))
        self.report(Code.LINE_BREAK, mask, self.layout.header(column),
                    (Code.LINE_BREAK.rank, self.spec.position(column.name)), self.shown(column),
                    note=same_note(hints.LINE_BREAK_NOTE))
        return mask

    def check_values(self, keys: KeyIndex, workers: Executor | None = None, parts: int = 1) -> None:
        """Messages 12, 14, 15, 16, 17 and 18, column by column (in parallel when given workers).

        A long column's reference lookup is split into `parts` tasks queued ahead of the column
        checks, so that the largest file's two lookups keep every worker busy.
        """
        targets = {r.column: keys.get(r.target_file, r.target_column) for r in self.spec.references}
        columns = self.checked_columns()
        self.build_key_tables(targets, workers)
        if workers is None:
            for column in columns:
                self.check_column(column, targets.get(column.name))
        else:
            lookups = {
                column.name: [workers.submit(_lookup, part, target)
                              for part in _parts(self.values_of(column), parts)]
                for column in columns
                if (target := targets.get(column.name)) is not None
            }
            # pyarrow and numpy kernels release the GIL: columns are checked side by side. The
            # lookups were queued first, so a column waiting for its own never waits behind itself.
            tasks = [workers.submit(self.check_column, c, targets.get(c.name), lookups.get(c.name))
                     for c in columns]
            for done in tasks:
                done.result()
        if self.spec.unique_pair:
            release_unused()  # the column checks' temporaries are gone: start the pair search low
            with profile.phase("pairs"):
                self.duplicate_pairs(workers)

    def build_key_tables(self, targets: dict[str, Keys | None], workers: Executor | None) -> None:
        """A KeyTable for each large key column that this file looks up at length.

        Built when first needed, not when the keys are read: then it is queued ahead of the
        lookups, and it never meets the bytes of the file being parsed in memory.
        """
        for name, target in targets.items():
            if (target is None or target.building is not None or len(target.values) < KEY_TABLE_MIN_KEYS
                    or self.rows < KEY_TABLE_MIN_ROWS or name not in self.layout.positions):
                continue
            if workers is None:
                target.building = Future()
                target.building.set_result(_built(target.values))
            else:
                target.building = workers.submit(_built, target.values)

    def check_column(self, column: Column, target: Keys | None,
                     lookup: list[Future] | None = None) -> None:
        """Every check of one column; its state is kept for the checks that combine columns."""
        values = self.values_of(column)
        text = self.layout.header(column)
        with profile.phase("formats"):
            broken = self.line_breaks(column)
            missing = formats.missing(values)
            if required(self.spec, column, self.options):
                self.report(Code.MISSING_DATA, missing, text, self.field_order(column, Code.MISSING_DATA),
                            self.shown(column))
            unusable = missing if broken is None else missing | broken
        state = ColumnState(column, text, values, missing, unusable)
        if target is not None:
            with profile.phase("references"):
                if lookup is None:
                    state.found_at = _index_in(values, target)
                else:
                    found = [part.result() for part in lookup]
                    state.found_at = found[0] if len(found) == 1 else np.concatenate(found)
        with profile.phase("formats"):
            state.well_formed = self.well_formed(column, values, state.found_at, target)
            if column.multiple and target is not None:
                _several(values, target, state, self.parsed.has_nul)
            if state.well_formed is not None:
                self.report_formats(state)
            if column.values is not None:
                self.report_list(state)
        if target is not None:
            with profile.phase("references"):
                dangling = (state.found_at < 0) & ~state.unusable
                where = next(r.target_file for r in self.spec.references if r.column == column.name)
                self.report(Code.REFERENCE_NOT_FOUND, dangling, text,
                            self.field_order(column, Code.REFERENCE_NOT_FOUND), self.shown(column),
                            severity=self.optional_severity(column), quoted={"target": self.target_text(column)},
                            note=same_note(hints.reference_note(where, target.header)))
        if column.name in self.spec.unique:
            with profile.phase("uniqueness"):
                self.duplicates(state)
        self.states[column.name] = state

    def well_formed(self, column: Column, values: Values, found_at: np.ndarray | None,
                    target: Keys | None) -> np.ndarray | None:
        """Format verdict per row; values found in a key column take that key's verdict."""
        if found_at is None or target is None:
            return formats.well_formed(values, column.kind, self.parsed.has_nul)
        # One gather: a value not found (-1) reads the False appended last, and is judged below.
        ok = np.append(target.well_formed, False)[found_at]
        rest = np.flatnonzero(found_at < 0)
        if len(rest):
            ok[rest] = formats.well_formed(formats.take(values, rest), column.kind, self.parsed.has_nul)
        return ok

    def report_formats(self, state: ColumnState) -> None:
        """Messages 15 and 18: malformed values, and those the special-character option repairs."""
        bad = ~state.well_formed & ~state.unusable
        fixable = np.zeros(len(bad), dtype=bool)
        if self.options.replace_special_characters and state.column.name in self.spec.special_character_columns:
            candidates = np.flatnonzero(bad)
            if len(candidates):
                repaired = formats.fixable(formats.take(state.values, candidates), state.column.kind)
                fixable[candidates[repaired]] = True
        column = state.column
        self.report(Code.INVALID_FORMAT, bad & ~fixable, state.header,
                    self.field_order(column, Code.INVALID_FORMAT), self.shown(column),
                    severity=self.optional_severity(column), quoted={"kind": KIND_TEXTS.get(column.kind, "value")},
                    note=self.why_invalid(column))
        self.report(Code.SPECIAL_CHARACTERS, fixable, state.header,
                    self.field_order(column, Code.SPECIAL_CHARACTERS), self.shown(column),
                    note=self.replaced(column))
        state.unusable = state.unusable | (bad & ~fixable)

    def why_invalid(self, column: Column) -> Callable[[np.ndarray], list[str | None]]:
        """Notes saying which part of the column's rule each listed value breaks."""
        def note(kept: np.ndarray) -> list[str | None]:
            values = formats.take(self.values_of(column), kept).to_pylist()
            return [formats.why_invalid(v, column.kind) for v in values]

        return note

    def replaced(self, column: Column) -> Callable[[np.ndarray], list[str | None]]:
        """Notes naming the characters of each listed value that become `_`."""
        def note(kept: np.ndarray) -> list[str | None]:
            values = formats.take(self.values_of(column), kept).to_pylist()
            return [hints.replaced_note(v, formats.replaceable(v, column.kind)) for v in values]

        return note

    def report_list(self, state: ColumnState) -> None:
        """Values outside the column's list of values, compared without regard to case (v2.1 enums)."""
        column = state.column
        known = _np(pc.is_in(pc.utf8_lower(state.values), value_set=pa.array(sorted(column.values))))
        outside = ~known & ~state.unusable
        self.report(Code.NOT_IN_LIST_OF_VALUES, outside, state.header,
                    self.field_order(column, Code.NOT_IN_LIST_OF_VALUES), self.shown(column),
                    severity=Severity.ERROR if column.list_is_error else Severity.WARNING,
                    quoted={"list": column.list_name})
        state.unusable = state.unusable | outside

    def target_text(self, column: Column) -> str:
        """The referenced file and column, as a reference message names them."""
        reference = next(r for r in self.spec.references if r.column == column.name)
        return f"{reference.target_file} {reference.target_column}"

    def duplicates(self, state: ColumnState) -> None:
        """Message 16 for a unique column: extra occurrences among the values present."""
        severity = Severity.ERROR if self.spec.unique_is_error else Severity.WARNING
        compared = pc.utf8_lower(state.values) if state.column.kind in (Kind.USERNAME, Kind.UPN) else state.values
        present = np.flatnonzero(~state.missing)
        # Encoding every value, missing ones included, avoids copying the column; missing values
        # have codes of their own, which are then left out.
        codes = _codes(compared)[present]
        repeats, first_of = _repeats(codes, present, self.rows)
        self.report(Code.DUPLICATE_VALUES, repeats, state.header,
                    self.field_order(state.column, Code.DUPLICATE_VALUES), self.shown(state.column),
                    severity=severity, note=self.same_as(first_of))

    def duplicate_pairs(self, workers: Executor | None = None) -> None:
        """Message 16 for the (Section SIS ID, SIS ID) pair of a membership file."""
        first, second = (self.states.get(n) for n in self.spec.unique_pair)
        if first is None or second is None:
            return
        absent = first.missing | second.missing
        present = _positions(~absent) if absent.any() else None  # None: every row
        del absent
        a, b = _key_codes(first, present), _key_codes(second, present)
        for state in (first, second):  # the last check to read them: the pair search starts lower
            state.found_at = state.well_formed = None
        if present is None:
            present = np.arange(self.rows, dtype=np.int32 if self.rows < 2**31 else np.int64)
        pairs = a.astype(np.int64)
        pairs *= int(b.max(initial=0)) + 1
        pairs += b
        del a, b
        repeat_at, first_at = _repeated_in_parts(pairs, workers)
        del pairs
        repeat_rows, first_rows = present[repeat_at], present[first_at]
        mask = np.zeros(self.rows, dtype=bool)
        mask[repeat_rows] = True
        first_of = (repeat_rows, first_rows)
        text = f"{first.header} + {second.header}"

        def show(kept: np.ndarray) -> list[str | None]:
            pairs_shown = zip(formats.take(first.values, kept).to_pylist(),
                              formats.take(second.values, kept).to_pylist())
            return [shorten(f"{x} + {y}") for x, y in pairs_shown]

        self.report(Code.DUPLICATE_VALUES, mask, text, (200,), show, severity=Severity.WARNING,
                    note=self.same_as(first_of))

    def same_as(self, first_of: tuple[np.ndarray, np.ndarray]) -> Callable[[np.ndarray], list[str]]:
        """Notes naming the row where each repeated value first appeared."""
        repeat_rows, first_rows = first_of

        def note(kept: np.ndarray) -> list[str]:
            firsts = self.parsed.rows.of(first_rows[np.searchsorted(repeat_rows, kept)])
            return [f"same value as row {int(r)}" for r in firsts]

        return note

    def shared_usernames(self, teacher_usernames: pa.Array | None) -> None:
        """Message 19: student Usernames also used in teacher.csv (case-insensitive)."""
        state = self.states.get("Username")
        if state is None or teacher_usernames is None:
            return
        with profile.phase("references"):
            self._shared_usernames(state, teacher_usernames)

    def _shared_usernames(self, state: ColumnState, teacher_usernames: pa.Array) -> None:
        shared = _np(pc.is_in(pc.utf8_lower(state.values), value_set=teacher_usernames)) & ~state.missing
        self.report(Code.USERNAME_ALSO_TEACHER, shared, state.header, (300,), self.shown(state.column),
                    note=same_note(hints.SHARED_USERNAME_NOTE))

    def usernames(self) -> pa.Array | None:
        """Lower-cased non-missing Usernames (teacher.csv, for message 19)."""
        state = self.states.get("Username")
        if state is None:
            return None
        return pc.utf8_lower(state.values.filter(pa.array(~state.missing))).combine_chunks()

    def keys(self, name: str) -> Keys | None:
        """All values of a key column with their verdicts, ragged rows included where they reach it."""
        position = self.layout.positions.get(name)
        if position is None:
            return None
        column = self.spec.column(name)
        state = self.states.get(name)
        values = self.values_of(column)
        if state is not None and state.well_formed is not None:
            verdicts = state.well_formed
        else:
            verdicts = formats.well_formed(values, column.kind, self.parsed.has_nul)
        header = self.layout.header(column)
        if not len(self.parsed.ragged):
            return Keys(values, verdicts, header=header)
        extra_values = self.parsed.ragged.fields_at(position)
        if not len(extra_values):
            return Keys(values, verdicts, header=header)
        extra_verdicts = formats.well_formed(extra_values, column.kind, self.parsed.has_nul)
        chunks = [*values.chunks, extra_values]
        return Keys(pa.chunked_array(chunks, pa.string()), np.concatenate([verdicts, extra_verdicts]),
                    header=header)


def same_note(text: str) -> Callable[[np.ndarray], list[str]]:
    """The same note for every listed row."""
    return lambda kept: [text] * len(kept)


def _several(values: Values, keys: Keys, state: ColumnState, check_nul: bool) -> None:
    """A field of comma-separated references is found when each of its ids is (and well-formed)."""
    listed = np.flatnonzero(_np(pc.match_substring(values, ",")) & ~state.unusable)
    if not len(listed):
        return
    split = pc.split_pattern(formats.take(values, listed), ",")
    ids = pc.list_flatten(split)
    owner = _np(pc.list_parent_indices(split))
    ok = formats.well_formed(ids, Kind.UNIQUE_ID, check_nul)
    found = _index_in(ids, keys) >= 0
    missing_any = np.zeros(len(listed), dtype=bool)
    np.logical_or.at(missing_any, owner, ~found)
    bad_any = np.zeros(len(listed), dtype=bool)
    np.logical_or.at(bad_any, owner, ~ok)
    state.well_formed[listed] = ~bad_any
    state.found_at = state.found_at.copy()
    state.found_at[listed] = np.where(missing_any | bad_any, -1, 0)


def _codes(values: Values) -> np.ndarray:
    """Dense codes numbered in order of first appearance."""
    if isinstance(values, pa.ChunkedArray):
        # Encoding chunk by chunk re-emits the growing dictionary with every chunk: combine first.
        values = values.combine_chunks()
    return _np(pc.dictionary_encode(values).indices)


def _index_in(values: Values, keys: Keys) -> np.ndarray:
    """Position of each value in `keys`, -1 where absent (one lookup per run of equal values)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    sample = next((c for c in chunks if len(c) > 1), None)
    if sample is not None:
        head = sample.slice(0, _RUN_SAMPLE)
        if _np(pc.not_equal(head[1:], head[:-1])).mean() > 0.5:  # no runs to speak of: skip the search
            return _find(chunks, keys)
    starts, offset = [], 0
    for chunk in chunks:
        if len(chunk):
            changed = _np(pc.not_equal(chunk[1:], chunk[:-1])) if len(chunk) > 1 else np.empty(0, bool)
            starts.append(offset + np.concatenate([[0], np.flatnonzero(changed) + 1]))
        offset += len(chunk)
    run_starts = np.concatenate(starts) if starts else np.empty(0, np.int64)
    # Files are often sorted by one column; when they are, look each run up once.
    if len(run_starts) < offset // 2:
        found = _find([formats.take(values, run_starts)], keys)
        return np.repeat(found, np.diff(np.append(run_starts, offset)))
    return _find(chunks, keys)


def _find(chunks: list[pa.Array], keys: Keys) -> np.ndarray:
    """Position of each value of the chunks in `keys`, -1 where absent."""
    if not chunks:
        return np.empty(0, np.int32)
    table = keys.table
    found = [None] * len(chunks) if table is None else table.find_all(chunks)
    rest = [chunk for chunk, at in zip(chunks, found) if at is None]
    if rest:
        # One call for them all: each call builds its own hash table of the keys.
        at = _np(pc.index_in(pa.chunked_array(rest, keys.values.type), value_set=keys.values).fill_null(-1))
        ends = np.cumsum([len(chunk) for chunk in rest])
        parts = iter(np.split(at, ends[:-1]))
        found = [next(parts) if part is None else part for part in found]
    return found[0] if len(found) == 1 else np.concatenate(found)


def _built(keys: pa.Array) -> KeyTable | None:
    """`KeyTable.build`, counted as references when profiled."""
    with profile.phase("references"):
        return KeyTable.build(keys)


def _lookup(values: Values, keys: Keys) -> np.ndarray:
    """`_index_in` as a task of its own, counted as references when profiled."""
    with profile.phase("references"):
        return _index_in(values, keys)


def _parts(values: Values, parts: int) -> list[Values]:
    """A column cut at chunk boundaries into up to `parts` runs of about equal length."""
    if parts < 2 or len(values) < LOOKUP_PART_ROWS or not isinstance(values, pa.ChunkedArray):
        return [values]
    target = len(values) / min(parts, len(values) // LOOKUP_PART_ROWS)
    groups: list[list[pa.Array]] = [[]]
    filled = 0
    for chunk in values.chunks:
        if filled >= target * len(groups):
            groups.append([])
        groups[-1].append(chunk)
        filled += len(chunk)
    return [pa.chunked_array(group, values.type) for group in groups]


def _repeated_in_parts(keys: np.ndarray, workers: Executor | None) -> tuple[np.ndarray, np.ndarray]:
    """`_repeated`, with the keys split by their lowest bits into parts searched side by side.

    Equal keys have equal low bits, so each part's repeats are repeats of the whole, never across
    parts. Eight parts on two workers keep two small hash tables in memory at a time (and in cache).
    """
    if workers is None or len(keys) < LOOKUP_PART_ROWS:
        return _repeated(keys)
    found = [done.result() for done in [workers.submit(_repeated_part, keys, part) for part in range(PAIR_PARTS)]]
    repeat = np.concatenate([repeats for repeats, _ in found])
    first = np.concatenate([firsts for _, firsts in found])
    order = np.argsort(repeat, kind="stable")
    return repeat[order], first[order]


def _repeated_part(keys: np.ndarray, part: int) -> tuple[np.ndarray, np.ndarray]:
    """`_repeated` on the keys whose lowest bits are `part`, as positions in all the keys."""
    at = np.flatnonzero((keys & (PAIR_PARTS - 1)) == part)
    repeat_at, first_at = _repeated(keys[at])
    return at[repeat_at], at[first_at]


def _positions(mask: np.ndarray) -> np.ndarray:
    """Where `mask` is true, as int32 when the positions fit (half the memory of numpy's int64)."""
    at = np.flatnonzero(mask)
    return at.astype(np.int32) if len(mask) < 2**31 else at


PAIR_PARTS = 8  # a power of two: parts are chosen by the lowest bits
# From about this many keys pyarrow's hash table outgrows the cache and a KeyTable is faster
# (numeric ids, rows in no order: 200k keys 1.7x, 800k keys 3.5x; 100k GUID-like keys: slower).
KEY_TABLE_MIN_KEYS = 200_000
KEY_TABLE_MIN_ROWS = 1_000_000  # and only for files this long: building one costs ~0.2 s per 500k keys
# Below this a column is looked up (or its pairs searched) in one piece. At 200k the M set's 400k
# enrollments use both workers: 1.5-5% faster by median over 8-10 alternating runs, 3-4 MiB lower.
LOOKUP_PART_ROWS = 200_000
_RUN_SAMPLE = 4096
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads any run of keys over the slots


def _repeated(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (ascending) of the keys equal to an earlier key, and the position of its first.

    Hashing, not sorting the whole column: each key goes to a slot of a table four times its
    length, and only keys that share a slot (about a fifth, whatever the row order) are sorted
    to tell equal keys from collisions. A stable sort keeps equal keys in file order.
    """
    n = len(keys)
    none = (np.empty(0, np.int64), np.empty(0, np.int64))
    if n < 2:
        return none
    if np.all(keys[1:] >= keys[:-1]):  # already in order: equal keys are neighbours
        repeats = np.flatnonzero(keys[1:] == keys[:-1]) + 1
        return repeats, np.searchsorted(keys, keys[repeats], side="left")
    bits = max(8, (4 * n - 1).bit_length())
    slot = keys.view(np.uint64) * _GOLDEN
    slot >>= np.uint64(64 - bits)
    slot = slot.view(np.int64)
    position = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    last = np.empty(1 << bits, dtype=position.dtype)
    last[slot] = position  # where several keys share a slot, one of them is left there
    shared = last[slot] != position
    del last, position
    crowded = np.zeros(1 << bits, dtype=bool)
    crowded[slot[shared]] = True
    del shared
    candidates = np.flatnonzero(crowded[slot])
    del crowded, slot
    values = keys[candidates]
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    repeat_at = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    if len(repeat_at) == 0:
        return none
    run_start = np.searchsorted(ordered, ordered[repeat_at], side="left")
    repeats, firsts = candidates[order[repeat_at]], candidates[order[run_start]]
    by_position = np.argsort(repeats, kind="stable")
    return repeats[by_position], firsts[by_position]


def _key_codes(state: ColumnState, present: np.ndarray | None) -> np.ndarray:
    """Codes of a column's values at `present` (None: every row); reuses the reference lookup."""
    if state.found_at is None:
        return _codes(state.values if present is None else formats.take(state.values, present))
    codes = state.found_at if present is None else state.found_at[present]
    absent = np.flatnonzero(codes < 0)
    if len(absent):
        # Values missing from the referenced file still need codes of their own, past the found ones.
        if present is None:
            codes = codes.copy()
        rows = absent if present is None else present[absent]
        local = _codes(formats.take(state.values, rows))
        codes[absent] = int(state.found_at.max(initial=-1)) + 1 + local
    return codes


def _repeats(codes: np.ndarray, present: np.ndarray, rows: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Mask of rows repeating an earlier value; the repeating rows (ascending) and their first rows.

    `codes` increase in order of first appearance (gaps allowed): a row repeats a value iff its
    code is not above every code seen before it.
    """
    mask = np.zeros(rows, dtype=bool)
    none = (np.empty(0, np.int64), np.empty(0, np.int64))
    if len(codes) == 0:
        return mask, none
    seen_max = np.maximum.accumulate(codes)
    repeat = np.zeros(len(codes), dtype=bool)
    repeat[1:] = codes[1:] <= seen_max[:-1]
    if not repeat.any():
        return mask, none
    first_row_of = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    first_row_of[codes[~repeat]] = present[~repeat]
    mask[present[repeat]] = True
    return mask, (present[repeat], first_row_of[codes[repeat]])


def shorten(value: str | None) -> str | None:
    """A value short enough for a report line."""
    if value is None or len(value) <= MAX_VALUE_CHARS:
        return value
    return f"{value[:MAX_VALUE_CHARS]}… ({len(value)} characters)"
