"""Read a file's header against its specification: variant, column positions, header messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from sds_core.verification.messages import Code, Message, Row, render
from sds_core.verification.options import VerifyOptions
from sds_core.verification.spec import UK_MARKERS, US_MARKERS, Column, FileSpec


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


def is_uk(header: list[str]) -> bool:
    """A header with more UK-only than US-only names is the UK variant."""
    cells = {_loose(h) for h in header}
    uk = sum(_loose(m) in cells for m in UK_MARKERS)
    us = sum(_loose(m) in cells for m in US_MARKERS)
    return uk > us


def required(spec: FileSpec, column: Column, options: VerifyOptions) -> bool:
    """Whether a column must be present and filled, given the profile's identity configuration."""
    return column.required or (column.required_when_creating and spec.role in options.created_roles)


def analyse_header(spec: FileSpec, header: list[str], options: VerifyOptions) -> Layout:
    """Map the header onto the specification and describe what is wrong with it."""
    layout = Layout(uk=is_uk(header))
    by_exact = {layout.header(c): c for c in spec.columns}
    by_loose = {_loose(layout.header(c)): c for c in spec.columns}
    miswritten: list[tuple[Column, str, int]] = []
    repeated: dict[str, int] = {}
    unknown: list[tuple[str, int]] = []
    for index, text in enumerate(header):
        column = by_exact.get(text)
        if column is not None:
            if column.name in layout.positions:
                repeated.setdefault(column.name, index)
            else:
                layout.positions[column.name] = index
        elif _loose(text) in by_loose:
            miswritten.append((by_loose[_loose(text)], text, index))
        else:
            unknown.append((text, index))

    def message(code: Code, column: Column | None, text: str, index: int | None, **extra: str) -> None:
        position = spec.position(column.name) if column else index
        layout.messages.append(
            Message(
                code=code,
                file_name=spec.name,
                description=render(code, field=text, **extra),
                field=text,
                total=1,
                rows=[Row(row=1, column=text, value=extra.get("given", text))],
                order=(code.rank, position),
            )
        )

    miswritten_names = {c.name for c, _, _ in miswritten}
    for column in spec.columns:
        if column.name not in layout.positions and column.name not in miswritten_names:
            if required(spec, column, options):
                message(Code.MISSING_HEADER_FIELD, column, layout.header(column), None)
    for column, text, index in miswritten:
        message(Code.HEADER_FIELD_CASE, column, layout.header(column), index, given=text)
    for name in repeated:
        column = spec.column(name)
        message(Code.DUPLICATE_HEADER_FIELD, column, layout.header(column), None)
    for text, index in unknown:
        message(Code.UNKNOWN_COLUMN, None, text, index)
    return layout
