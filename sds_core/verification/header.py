"""Read a file's header against its specification: variant, column positions, header messages."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from sds_core.verification.hints import closest_note, columns_note
from sds_core.verification.messages import Code, Message, Row, render
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec import ANY_ROLE, UK_MARKERS, US_MARKERS, V1, Column, FileSpec, Format

# A header is the uploader's text: its messages are bounded however wide or long it is.
MAX_UNKNOWN_COLUMN_MESSAGES = 50
MAX_ECHOED_CHARS = 100


@dataclass
class Layout:
    """Where each specified column sits in the uploaded header (exact spelling only)."""

    uk: bool
    positions: dict[str, int] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)

    def header(self, column: Column) -> str:
        """The column's header text in this file's variant."""
        return column.header(self.uk)


def _loose(text: str) -> str:
    return text.strip().casefold()


def echoed(text: str) -> str:
    """Header text as a message quotes it: cut, with its true length, when it is long."""
    if len(text) <= MAX_ECHOED_CHARS:
        return text
    return f"{text[:MAX_ECHOED_CHARS]}… ({len(text):,} characters)"


def is_uk(header: list[str]) -> bool:
    """A header with more UK-only than US-only names is the UK variant."""
    cells = {_loose(h) for h in header}
    uk = sum(_loose(m) in cells for m in UK_MARKERS)
    us = sum(_loose(m) in cells for m in US_MARKERS)
    return uk > us


def required(spec: FileSpec, column: Column, options: VerifyOptions) -> bool:
    """Whether a column must be present and filled, given the profile's identity configuration."""
    creates = spec.role in options.created_roles or (spec.role == ANY_ROLE and bool(options.created_roles))
    return column.required or (column.required_when_creating and creates)


def analyse_header(spec: FileSpec, header: list[str], options: VerifyOptions, fmt: Format = V1) -> Layout:
    """Map the header onto the specification and describe what is wrong with it."""
    layout = Layout(uk=fmt.variants and is_uk(header))
    by_exact = {layout.header(c): c for c in spec.columns}
    by_loose = {_loose(layout.header(c)): c for c in spec.columns}
    miswritten: dict[str, tuple[Column, str, int]] = {}
    repeated: dict[str, list[int]] = {}
    unknown: list[tuple[str, int]] = []
    for index, text in enumerate(header):
        column = by_exact.get(text)
        if column is not None:
            if column.name in layout.positions:
                repeated.setdefault(column.name, [layout.positions[column.name]]).append(index)
            else:
                layout.positions[column.name] = index
        elif _loose(text) in by_loose:
            column = by_loose[_loose(text)]
            miswritten.setdefault(column.name, (column, text, index))  # once per column
        else:
            unknown.append((text, index))

    def message(code: Code, column: Column | None, text: str, index: int | None, given: str | None = None,
                note: str | None = None) -> None:
        position = spec.position(column.name) if column else index
        quoted = {"given": echoed(given)} if given is not None else {}
        value = echoed(given if given is not None else text)
        layout.messages.append(
            Message(
                code=code,
                file_name=spec.name,
                description=render(code, fmt.templates, field=echoed(text), file=spec.name, **quoted),
                field=echoed(text),
                total=1,
                rows=[Row(row=1, column=echoed(text), value=value, note=note)],
                order=(code.rank, position),
            )
        )

    miswritten_names = set(miswritten)
    for column in spec.columns:
        if column.name not in layout.positions and column.name not in miswritten_names:
            if required(spec, column, options):
                near = closest(layout.header(column), unknown)
                message(Code.MISSING_HEADER_FIELD, column, layout.header(column), None,
                        note=closest_note(echoed(near[0]), near[1]) if near else None)
    for column, text, index in miswritten.values():
        message(Code.HEADER_FIELD_CASE, column, layout.header(column), index, given=text,
                note=columns_note([index]))
    for name, indices in repeated.items():
        column = spec.column(name)
        message(Code.DUPLICATE_HEADER_FIELD, column, layout.header(column), None, note=columns_note(indices))
    for text, index in unknown[:MAX_UNKNOWN_COLUMN_MESSAGES]:
        message(Code.UNKNOWN_COLUMN, None, text, index, note=columns_note([index]))
    if len(unknown) > MAX_UNKNOWN_COLUMN_MESSAGES:
        layout.messages.append(_more_unknown_columns(spec, unknown[MAX_UNKNOWN_COLUMN_MESSAGES:], options, fmt))
    return layout


def _squeezed(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def closest(name: str, unknown: list[tuple[str, int]]) -> tuple[str, int] | None:
    """The unknown header field most like a missing column's name (`SIS_ID`, `SISID`, `Sis-Id` for
    `SIS ID`), with its position; None when none is close. Only the first unknown fields are compared."""
    wanted = _squeezed(name)
    best: tuple[float, str, int] | None = None
    for text, index in unknown[:MAX_UNKNOWN_COLUMN_MESSAGES]:
        given = _squeezed(text[:MAX_ECHOED_CHARS])
        score = 1.0 if given == wanted else difflib.SequenceMatcher(None, wanted, given).ratio()
        if score >= 0.8 and (best is None or score > best[0]):
            best = (score, text, index)
    return (best[1], best[2]) if best else None


def _more_unknown_columns(spec: FileSpec, rest: list[tuple[str, int]], options: VerifyOptions,
                          fmt: Format) -> Message:
    """One Warning for the unknown columns beyond the first ones, naming them in its rows."""
    text = f"and {len(rest):,} more columns"
    return Message(
        code=Code.UNKNOWN_COLUMN,
        file_name=spec.name,
        description=render(Code.UNKNOWN_COLUMN, fmt.templates, field=text, file=spec.name),
        field=text,
        total=len(rest),
        rows=[Row(row=1, column=None, value=echoed(name), note=f"column {index + 1}")
              for name, index in rest[: options.detail_rows_per_message]],
        order=(Code.UNKNOWN_COLUMN.rank, rest[0][1]),
    )
