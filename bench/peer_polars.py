"""The SDS checks as a plain polars script: a peer for the verifier in bench/run.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from bench import peer_rules as r


def _valid(column: pl.Expr, kind: str) -> pl.Expr:
    if kind == "sis_id":
        return column.str.contains(r.SIS_ID)
    if kind == "username":
        prefix = column.str.split("@").list.first()
        return column.str.contains(r.USERNAME) & (prefix.str.len_chars() <= r.USERNAME_PREFIX_MAX)
    if kind == "email":
        return column.str.contains(r.EMAIL)
    if kind == "year":
        return column.str.contains(r.YEAR)
    limit = r.NAME_LIMIT[kind]
    return (column.str.len_chars() <= limit) & ~column.str.contains(r.CONTROL)


def _read(path: Path) -> tuple[list[str], pl.DataFrame, np.ndarray]:
    """Header, every record as strings (ragged ones padded or cut), and the ragged mask."""
    header = r.header_of(path)
    width = len(header)
    names = [f"c{i}" for i in range(width + 1)]
    frame = pl.read_csv(path, has_header=False, skip_rows=1, schema={n: pl.String for n in names},
                        missing_columns="insert", truncate_ragged_lines=True,
                        empty_string_is_null=False)
    frame = frame.with_columns(pl.col(n).fill_null("") for n in names)
    ragged = r.fields_per_record(path.read_bytes()) != width
    return header, frame.rename(dict(zip(names, [*header, "_extra"]))), ragged


def validate(folder: Path) -> r.Counts:
    """Counts of every message kind over the six files of a folder."""
    counts: r.Counts = {}
    tables: dict[str, tuple[list[str], pl.DataFrame, np.ndarray]] = {
        file: _read(folder / file) for file in r.FILES}
    keys = {file: frame.get_column("SIS ID") for file, (_, frame, _) in tables.items()
            if "SIS ID" in frame.columns and file not in r.PAIR_FILES}
    teacher_usernames: pl.Series | None = None
    for file in (r.TEACHER, *[f for f in r.FILES if f != r.TEACHER]):
        header, every, ragged = tables[file]
        for name in header:
            if name not in r.COLUMNS[file]:
                counts[file, "unknown_column", name] = 1
        counts[file, "ragged", ""] = int(ragged.sum())
        frame = every.filter(pl.Series(~ragged))
        references = dict(r.targets().get(file, []))
        exprs: list[pl.Expr] = []
        for name in header:
            if name not in r.COLUMNS[file]:
                continue
            c = pl.col(name)
            missing = c.str.strip_chars() == ""
            broken = c.str.contains(r.LINE_BREAK)
            unusable = missing | broken
            exprs.append(broken.sum().alias(f"linebreak|{name}"))
            if name in r.REQUIRED[file]:
                exprs.append(missing.sum().alias(f"missing|{name}"))
            kind = r.kind_of(name)
            if kind == "date":
                distinct = frame.get_column(name).unique().to_list()
                valid = c.is_in([v for v in distinct if r.is_date(v)])
            elif kind is not None:
                valid = _valid(c, kind)
            else:
                valid = None
            if valid is not None:
                invalid = ~valid & ~unusable
                exprs.append(invalid.sum().alias(f"invalid|{name}"))
                unusable = unusable | invalid
            if name in references:
                exprs.append((~c.is_in(keys[references[name]].implode()) & ~unusable).sum()
                             .alias(f"dangling|{name}"))
            if name in r.UNIQUE.get(file, ()):
                compared = c.str.to_lowercase() if name == "Username" else c
                exprs.append((pl.len() - missing.sum() - compared.filter(~missing).n_unique())
                             .alias(f"duplicate|{name}"))
        if file in r.PAIR_FILES:
            a, b = pl.col("Section SIS ID"), pl.col("SIS ID")
            both = (a.str.strip_chars() != "") & (b.str.strip_chars() != "")
            exprs.append((both.sum() - pl.struct(a, b).filter(both).n_unique()).alias("pair_duplicate|"))
        if file == r.STUDENT and teacher_usernames is not None:
            c = pl.col("Username")
            exprs.append(((c.str.strip_chars() != "") & c.str.to_lowercase().is_in(
                teacher_usernames.implode())).sum().alias("teacher_username|Username"))
        for label, n in frame.select(exprs).row(0, named=True).items():
            kind, name = label.split("|")
            counts[file, kind, name] = counts.get((file, kind, name), 0) + int(n)
        if file == r.TEACHER:
            present = frame.get_column("Username")
            teacher_usernames = present.filter(present.str.strip_chars() != "").str.to_lowercase()
    return counts
