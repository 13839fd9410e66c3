"""A fast polars peer: the SDS classic checks as an expert polars script, from the rules only.

Checks (decisions.md "Verification messages" and "The rules verified"; tables and texts in
bench/peer_fast_spec.py): the six required files (any letter case, unknown `*.csv`), empty and
non-UTF-8 files, the header (missing, miswritten, repeated and unknown columns, header only), rows
with another number of fields, line breaks inside values, the row limit, missing values, formats
(SIS IDs, Usernames, emails, calendar dates, graduation years, names, NUL), uniqueness (Errors for
school and section SIS IDs, Warnings for student and teacher SIS IDs and Usernames, Usernames
without case), references between the files, the (Section SIS ID, SIS ID) pair duplicates and
student Usernames also used in teacher.csv. Every row of every file is read on every call; nothing
is cached between calls and nothing depends on how the benchmark generates its data.

Written without reading the verifier (sds_core/) or the older peers. How polars is used: every
column read as String by the multi-threaded `read_csv`; the number of fields of a row from its line
(`scan_lines`: a line without quotes has `length - sum(field lengths) + 1` fields, a quoted
record is counted outside its quotes); one regular expression per formatted column decides the
common case and the rare failing values are classified on their own; calendar dates checked once
per distinct value; references with `is_in`; duplicates (single columns and pairs) through 64-bit
hashes, exact because the rows of any repeated hash are compared as strings. The queries of all
files run together (`collect_all`), so polars spreads the columns over the cores.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import polars as pl

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import peer_fast_spec as spec

OK = "__ok"  # a row with as many fields as the header
SEED = 20240905


def validate(folder: Path) -> list[dict[str, str]]:
    """Verify one folder; the messages the rules give, in their order."""
    upload = spec.scan_folder(Path(folder))
    headers, problems = spec.read_headers(upload)
    frames = _read(upload.paths, headers, problems)
    return spec.messages(upload, problems, headers, _count(frames, headers))


# Reading

ROW = "__row"  # a record that is not a blank line
LENGTH, QUOTES, OUTSIDE, PARSED = "__length", "__quotes", "__outside", "__parsed"


def _read(paths: dict[str, Path], headers: dict[str, spec.Header],
          problems: dict[str, str]) -> dict[str, pl.DataFrame]:
    """Every file's records, read together; a file that is not UTF-8 moves to `problems`."""
    while True:
        plans = {file: _records(paths[file], header) for file, header in headers.items()}
        try:
            frames = dict(zip(plans, pl.collect_all(plans.values())))
            break
        except pl.exceptions.ComputeError as error:
            if "utf8" not in str(error).lower().replace("-", ""):  # "invalid utf8"
                raise
            bad = {f: spec.invalid_utf8_line(paths[f]) for f in headers}
            if not any(bad.values()):
                raise
            for file, line in bad.items():
                if line is not None:
                    problems[file] = spec.not_utf8(line)
                    del headers[file]
    for file, frame in frames.items():
        if frame[PARSED].null_count() or frame[LENGTH].null_count():
            raise RuntimeError(f"{file}: the records by lines and by the CSV reader differ")
    return {f: frame.drop(PARSED, LENGTH) for f, frame in frames.items()}


def _records(path: Path, header: spec.Header) -> pl.LazyFrame:
    """The records of a file: the SDS columns by their US names, ROW, and OK (a row with as
    many fields as the header)."""
    names = [f"_{i}" for i in range(header.width)]
    parsed = pl.scan_csv(path, has_header=True, infer_schema=False, truncate_ragged_lines=True,
                         with_column_names=lambda found: names if len(found) == len(names)
                         else found).with_columns(pl.lit(True).alias(PARSED))
    together = pl.concat([parsed, _lines(path, header)], how="horizontal")
    value_bytes = pl.sum_horizontal(pl.col(c).str.len_bytes().fill_null(0).cast(pl.Int64)
                                    for c in names)
    # A record without quotes has its length less its values' lengths plus one fields; a quoted
    # one, its commas outside the quotes plus one.
    fields = (pl.when(pl.col(QUOTES) > 0).then(pl.col(OUTSIDE) + 1)
              .otherwise(pl.col(LENGTH) - value_bytes + 1))
    row = (pl.col(QUOTES) > 0) | (pl.col(LENGTH) > 0)
    return together.select(*(pl.col(f"_{i}").alias(c) for c, i in header.position.items()),
                           row.alias(ROW), (row & (fields == header.width)).alias(OK),
                           PARSED, LENGTH)


def _lines(path: Path, header: spec.Header) -> pl.LazyFrame:
    """Per record after the header: LENGTH of its first line, QUOTES in it, and OUTSIDE, the
    commas outside its quoted parts (quoted records only)."""
    lines = pl.scan_lines(path).slice(header.record_lines)
    length = pl.col("line").str.len_bytes().cast(pl.Int64)
    if not _has_quote(path):
        return lines.select(length.alias(LENGTH), pl.lit(0, pl.Int64).alias(QUOTES),
                            pl.lit(None, pl.Int64).alias(OUTSIDE))
    # A record goes on while an odd number of quotes is open.
    q = pl.col("line").str.count_matches('"', literal=True).cast(pl.Int64)
    return (lines.with_columns(q.alias(QUOTES))
            .with_columns(((pl.col(QUOTES) % 2).cum_sum() - pl.col(QUOTES) % 2).alias("open"))
            .with_columns((pl.col("open") % 2 == 0).cum_sum().alias("record"))
            .group_by("record", maintain_order=True)
            .agg(length.first().alias(LENGTH), pl.col(QUOTES).sum(),
                 pl.col("line").str.join("\n").str.replace_all(r'"[^"]*"', "")
                 .str.count_matches(",", literal=True).cast(pl.Int64).alias(OUTSIDE))
            .drop("record"))


def _has_quote(path: Path) -> bool:
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        return view.find(b'"') >= 0


# Counting


def _good(file: str, column: str) -> pl.Expr | None:
    """True where a value of a formatted column is well formed (None for text columns)."""
    v = pl.col(column)
    kind = spec.kind(file, column)
    if kind == "id":
        return v.str.contains(spec.SIS_ID)
    if kind == "username":
        return v.str.contains(spec.USERNAME) & ~v.str.contains(spec.USERNAME_PREFIX_TOO_LONG)
    if kind == "email":
        return v.str.contains(spec.EMAIL)
    if kind == "year":
        return v.str.contains(spec.YEAR)
    if kind == "date":
        return v.str.contains(spec.DATE)  # the shape; the calendar is checked per value
    if kind in spec.NAME_LIMIT:
        return ~v.str.contains(spec.CONTROL) & (v.str.len_chars() <= spec.NAME_LIMIT[kind])
    return None


def _mask(column: str) -> str:
    return f"__good {column}"


def _blank(v: pl.Expr) -> pl.Expr:
    return v.is_null() | v.str.contains(spec.BLANK)


def _not_real_dates(values: pl.Series) -> pl.Series:
    """The values of a date shape that are not calendar dates."""
    parts = values.str.extract_groups(spec.DATE).struct.unnest()
    g = [parts[str(i)].cast(pl.Int32) for i in range(1, 10)]
    frame = pl.DataFrame({"v": values, "y": pl.coalesce(g[0], g[3], g[8], eager=True),
                          "m": pl.coalesce(g[1], g[4], g[6], eager=True),
                          "d": pl.coalesce(g[2], g[5], g[7], eager=True)})
    y, m, d = pl.col("y"), pl.col("m"), pl.col("d")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days = (pl.when(m == 2).then(28 + leap.cast(pl.Int32))
            .when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31))
    real = (y >= 1) & m.is_between(1, 12) & (d >= 1) & (d <= days)
    return frame.filter(~real)["v"]


def _count(frames: dict[str, pl.DataFrame],
           headers: dict[str, spec.Header]) -> dict[str, spec.Counts]:
    """The counts of every file, in rounds of queries that run together."""
    refs = spec.checkable(headers)
    # Round 0: the well-formed keys of the referenced columns, teacher Usernames, and the distinct
    # values of date shape.
    side: dict[tuple[str, str, str], pl.LazyFrame] = {}
    for source in sorted(refs):
        target, column = spec.REFERENCES[source]
        side["keys", target, column] = (frames[target].lazy()
                                        .select(pl.col(column).drop_nulls().unique())
                                        .filter(pl.col(column).str.contains(spec.SIS_ID)))
    if _cross_usernames(headers):
        side["teachers", spec.TEACHER, "Username"] = frames[spec.TEACHER].lazy().select(
            pl.col("Username").drop_nulls().str.to_lowercase().unique())
    dates = [(f, c) for f in frames for c in headers[f].position if spec.kind(f, c) == "date"]
    for file, column in dates:
        v = pl.col(column)
        side["dates", file, column] = frames[file].lazy().select(
            v.filter(v.str.contains(spec.DATE)).unique())
    found = {k: v.to_series() for k, v in zip(side, pl.collect_all(side.values()))}
    bad_dates = {(f, c): _not_real_dates(found["dates", f, c]) for f, c in dates}

    # Round 1: per column a mask, true where a value needs no second look: empty, or well formed
    # (in a referencing column: one of the well-formed keys); for text columns, where it has no
    # NUL, CR or LF. Hashes of the values that must be unique.
    marked: dict[str, pl.LazyFrame] = {}
    for file, frame in frames.items():
        header = headers[file]
        columns = []
        for column in header.position:
            v = pl.col(column)
            if (file, column) in refs:
                keys = found["keys", *spec.REFERENCES[file, column]]
                good = v.is_in(keys.implode())
            else:
                good = _good(file, column)
                if good is None:
                    good = ~v.str.contains(r"[\x00\r\n]")
                elif (file, column) in bad_dates and len(bad_dates[file, column]):
                    good = good & ~v.is_in(bad_dates[file, column].implode())
            columns.append(good.fill_null(True).alias(_mask(column)))
        for column, (_, caseless) in spec.UNIQUE[file].items():
            if header.present(column):
                value = pl.col(column).str.to_lowercase() if caseless else pl.col(column)
                columns.append(value.hash(SEED).alias(_hash(column)))
        if _cross_usernames(headers) and file == spec.STUDENT:
            columns.append(pl.col("Username").str.to_lowercase().alias(LOWER))
        if _paired(file, header):
            columns.append((pl.col("Section SIS ID").hash(SEED) ^ pl.col("SIS ID").hash(SEED + 1))
                           .alias(_hash(PAIR)))
        marked[file] = frame.lazy().with_columns(columns)
    marked_frames = dict(zip(marked, pl.collect_all(marked.values())))

    # Round 2: every count; the hashes that repeat; the pairs with a part not well formed.
    ok = pl.col(OK)
    queries: dict[tuple[str, str], pl.LazyFrame] = {}
    for file, frame in marked_frames.items():
        header = headers[file]
        exprs: list[pl.Expr] = [pl.col(ROW).sum().alias("rows|"),
                                (pl.col(ROW) & ~ok).sum().alias("ragged|")]
        for column in header.position:
            exprs.extend(_column_counts(file, column, refs))
        if file == spec.STUDENT and _cross_usernames(headers):
            teachers = found["teachers", spec.TEACHER, "Username"]
            exprs.append((ok & ~_blank(pl.col("Username"))
                          & pl.col(LOWER).is_in(teachers.implode())).sum()
                         .alias("teacher_username|"))
        queries[file, "counts"] = frame.lazy().select(exprs)
        for column in _unique_keys(file, header):
            # Sorted, equal hashes are neighbours: the runs longer than one are the repeats.
            runs = pl.col(_hash(column)).filter(_present(column)).sort().rle()
            queries[file, column] = (frame.lazy().select(runs).unnest(_hash(column))
                                     .filter(pl.col("len") > 1).select("value"))
        if _paired(file, header):
            a, b = pl.col("Section SIS ID"), pl.col("SIS ID")
            both = pl.col(_mask("Section SIS ID")) & pl.col(_mask("SIS ID"))
            queries[file, "pair_rare"] = frame.lazy().filter(
                ok & (~both | a.is_null() | b.is_null())).select(a, b)
    results = dict(zip(queries, pl.collect_all(queries.values())))

    # Round 3: the values whose hash repeats, compared as strings.
    exact: dict[tuple[str, str], pl.LazyFrame] = {}
    for file, frame in marked_frames.items():
        for column in _unique_keys(file, headers[file]):
            repeated = results[file, column].to_series()
            if len(repeated):
                exact[file, column] = frame.lazy().filter(
                    _present(column) & pl.col(_hash(column)).is_in(repeated.implode())
                ).select(pl.len() - pl.struct(_values(file, column)).n_unique())
    repeats = {k: int(v.item()) for k, v in zip(exact, pl.collect_all(exact.values()))}

    counts: dict[str, spec.Counts] = {}
    for file, frame in marked_frames.items():
        row = results[file, "counts"].row(0, named=True)
        n = {tuple(k.split("|", 1)): int(v or 0) for k, v in row.items()}
        for column in _unique_keys(file, headers[file]):
            key = ("pair", "") if column == PAIR else ("duplicate", column)
            n[key] = repeats.get((file, column), 0)  # type: ignore[index]
        if (file, "pair_rare") in results:
            # The repeats above count every pair; take away those of pairs with an empty part.
            rare = results[file, "pair_rare"].filter(
                _blank(pl.col("Section SIS ID")) | _blank(pl.col("SIS ID")))
            n["pair", ""] -= rare.height - rare.n_unique()  # type: ignore[index]
        counts[file] = n  # type: ignore[assignment]
    return counts


PAIR = "Section SIS ID + SIS ID"
LOWER = "__lower Username"


def _hash(column: str) -> str:
    return f"__hash {column}"


def _unique_keys(file: str, header: spec.Header) -> list[str]:
    """The columns (and the pair) whose values must be unique."""
    keys = [c for c in spec.UNIQUE[file] if header.present(c)]
    return keys + [PAIR] if _paired(file, header) else keys


def _present(column: str) -> pl.Expr:
    """Rows that take part in the uniqueness of a column: all rows for the pair (the pairs with
    an empty part are taken away afterwards), the non-empty values otherwise."""
    if column == PAIR:
        return pl.col(OK)
    return pl.col(OK) & ~_blank(pl.col(column))


def _values(file: str, column: str) -> list[pl.Expr]:
    if column == PAIR:
        return [pl.col("Section SIS ID"), pl.col("SIS ID")]
    return [pl.col(column).str.to_lowercase() if spec.UNIQUE[file][column][1] else pl.col(column)]


def _column_counts(file: str, column: str, refs: set[tuple[str, str]]) -> list[pl.Expr]:
    """The aggregates of one column: line breaks, missing, invalid, dangling."""
    ok, v = pl.col(OK), pl.col(column)
    name = f"|{column}"
    required = column in spec.REQUIRED[file]
    # The few values that need a second look: a line break, missing, invalid, or (well formed but
    # not among the keys) dangling.
    odd = v.filter(ok & ~pl.col(_mask(column)))
    breaks = odd.str.contains(spec.LINE_BREAK)
    exprs = [breaks.sum().alias("linebreak" + name)]
    if _good(file, column) is None:  # text: a NUL is invalid
        exprs.append((~breaks & odd.str.contains("\x00", literal=True)).sum()
                     .alias("invalid" + name))
        if required:
            exprs.append(_missing(v).alias("missing" + name))
        return exprs
    blank = odd.str.contains(spec.BLANK)
    if (file, column) in refs:
        formed = odd.str.contains(spec.SIS_ID)
        exprs.append(formed.sum().alias("dangling" + name))
        exprs.append((~formed & ~breaks & ~blank).sum().alias("invalid" + name))
    else:
        exprs.append((~breaks & ~blank).sum().alias("invalid" + name))
    if required and spec.kind(file, column) in spec.NAME_LIMIT:
        exprs.append(_missing(v).alias("missing" + name))  # spaces only are a well-formed name
    elif required:
        exprs.append(((ok & v.is_null()).sum() + (~breaks & blank).sum()).alias("missing" + name))
    return exprs


def _missing(v: pl.Expr) -> pl.Expr:
    """Rows whose value is empty or whitespace, without a line break."""
    return (pl.col(OK) & _blank(v) & ~v.str.contains(spec.LINE_BREAK).fill_null(False)).sum()


def _paired(file: str, header: spec.Header) -> bool:
    return file in spec.PAIRED and header.present("Section SIS ID") and header.present("SIS ID")


def _cross_usernames(headers: dict[str, spec.Header]) -> bool:
    """Whether message 19 can be counted: both files read, both with Username."""
    return (spec.STUDENT in headers and spec.TEACHER in headers
            and headers[spec.STUDENT].present("Username")
            and headers[spec.TEACHER].present("Username"))


if __name__ == "__main__":
    import json
    import sys
    import time
    started = time.perf_counter()
    found = validate(Path(sys.argv[1]))
    print(json.dumps(found, indent=1))
    print(f"{time.perf_counter() - started:.3f} s", file=sys.stderr)
