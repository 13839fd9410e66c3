"""A fast DuckDB peer: the SDS classic checks as an expert DuckDB script, from the rules only.

Checks (decisions.md "Verification messages" and "The rules verified"; tables and texts in
bench/peer_fast_spec.py): the six required files (any letter case, unknown `*.csv`), empty and
non-UTF-8 files, the header (missing, miswritten, repeated and unknown columns, header only), rows
with another number of fields, line breaks inside values, the row limit, missing values, formats
(SIS IDs, Usernames, emails, calendar dates, graduation years, names, NUL), uniqueness (Errors for
school and section SIS IDs, Warnings for student and teacher SIS IDs and Usernames, Usernames
without case), references between the files, the (Section SIS ID, SIS ID) pair duplicates and
student Usernames also used in teacher.csv. Every row of every file is read on every call (a new
in-memory database each time); nothing depends on how the benchmark generates its data.

Written without reading the verifier (sds_core/) or the older peers. How DuckDB is used: each file
read once by `read_csv` with every column declared VARCHAR and no sniffing; one column more than
the header, `null_padding` and a NULL string no field can be (`nullstr` = LF, quoted NULLs off), so
that a row with too many fields fills the extra column and a row with too few leaves NULL in the
last one (DuckDB's strict mode does not see a trailing empty field); one query per file of
`count(*) FILTER (...)` aggregates over a projection of one format mask per column
(`regexp_full_match`, RE2), where the rare values that fail are classified under the filter's
short-circuit; references as mark joins (`IN (SELECT ...)`) against the well-formed keys, which
also stand for the format check of the values found; duplicates with `count(DISTINCT ...)`;
calendar dates checked once per distinct value. DuckDB runs each query on all cores.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

if __package__ in (None, ""):  # run as a script: make `bench` importable
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import peer_fast_spec as spec

OK = "__ok"


def validate(folder: Path) -> list[dict[str, str]]:
    """Verify one folder; the messages the rules give, in their order."""
    upload = spec.scan_folder(Path(folder))
    headers, problems = spec.read_headers(upload)
    with duckdb.connect(":memory:") as con:
        for file in list(headers):
            try:
                _load(con, file, upload.paths[file], headers[file])
            except duckdb.InvalidInputException as error:
                line = spec.invalid_utf8_line(upload.paths[file])
                if "unicode" not in str(error).lower() or line is None:
                    raise
                problems[file] = spec.not_utf8(line)
                del headers[file]
        counts = _count(con, headers)
    return spec.messages(upload, problems, headers, counts)


def _table(file: str) -> str:
    return '"' + file.removesuffix(".csv") + '"'


def _q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A string literal."""
    return "'" + text.replace("'", "''") + "'"


def _load(con: duckdb.DuckDBPyConnection, file: str, path: Path, header: spec.Header) -> None:
    """One table per file: the SDS columns by their US names, and OK (as many fields as the
    header). Blank lines are not rows."""
    width = header.width
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + 1))
    options = (f"columns = {{{columns}}}, header = false, skip = {header.record_lines}, "
               "auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
               "null_padding = true, nullstr = '\n', allow_quoted_nulls = false, "
               "strict_mode = false")
    keep = ", ".join(f"c{i} AS {_q(c)}" for c, i in header.position.items())
    ok = f"(c{width} IS NULL AND c{width - 1} IS NOT NULL) AS {OK}"
    for parallel in ("true", "false"):
        try:
            con.execute(f"CREATE TABLE {_table(file)} AS SELECT {keep}{', ' if keep else ''}{ok} "
                        f"FROM read_csv({_lit(str(path))}, {options}, parallel = {parallel})")
            return
        except duckdb.Error as error:
            # The parallel reader does not pad rows of a file with quoted line breaks.
            if parallel == "false" or "parallel" not in str(error):
                raise


def _format(file: str, column: str, v: str) -> str | None:
    """SQL true where a non-empty value of a formatted column is well formed."""
    kind = spec.kind(file, column)
    if kind == "id":
        return f"regexp_full_match({v}, {_lit(spec.SIS_ID)})"
    if kind == "username":
        return (f"(regexp_full_match({v}, {_lit(spec.USERNAME)}) AND NOT "
                f"regexp_matches({v}, {_lit(spec.USERNAME_PREFIX_TOO_LONG)}))")
    if kind == "email":
        return f"regexp_full_match({v}, {_lit(spec.EMAIL)})"
    if kind == "year":
        return f"regexp_full_match({v}, {_lit(spec.YEAR)})"
    if kind == "date":
        return f"regexp_full_match({v}, {_lit(spec.DATE)})"  # the calendar: per distinct value
    if kind in spec.NAME_LIMIT:
        return (f"(NOT regexp_matches({v}, {_lit(spec.CONTROL)}) AND "
                f"length({v}) <= {spec.NAME_LIMIT[kind]})")
    return None


def _line_break(v: str) -> str:
    return f"(contains({v}, chr(10)) OR contains({v}, chr(13)))"


def _blank(v: str) -> str:
    return f"({v} = '' OR regexp_full_match({v}, {_lit(spec.BLANK)}))"


def _not_real(v: str) -> str:
    """SQL true where a value of date shape is not in the calendar. The parts are cut by
    position (the shape is already known, all ASCII digits), which is several times cheaper than
    extracting the regular expression's groups."""
    slash = f"contains({v}, '/')"
    parts = f"string_split({v}, '/')"
    y = f"CAST(CASE WHEN {slash} THEN {parts}[3] ELSE {v}[1:4] END AS INTEGER)"
    m = (f"CAST(CASE WHEN {slash} THEN {parts}[1] WHEN length({v}) = 10 THEN {v}[6:7] "
         f"ELSE {v}[5:6] END AS INTEGER)")
    d = (f"CAST(CASE WHEN {slash} THEN {parts}[2] WHEN length({v}) = 10 THEN {v}[9:10] "
         f"ELSE {v}[7:8] END AS INTEGER)")
    leap = f"({y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0))"
    days = (f"CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END "
            f"WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END")
    return f"NOT ({y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} >= 1 AND {d} <= {days})"


def _count(con: duckdb.DuckDBPyConnection,
           headers: dict[str, spec.Header]) -> dict[str, spec.Counts]:
    """The counts of every file."""
    refs = spec.checkable(headers)
    for target, column in sorted({spec.REFERENCES[s] for s in refs}):
        v = _q(column)
        con.execute(f"CREATE TABLE {_keys(target, column)} AS SELECT DISTINCT {v} AS k "
                    f"FROM {_table(target)} WHERE {v} IS NOT NULL AND "
                    f"regexp_full_match({v}, {_lit(spec.SIS_ID)})")
    cross = (spec.STUDENT in headers and spec.TEACHER in headers
             and headers[spec.STUDENT].present("Username")
             and headers[spec.TEACHER].present("Username"))
    if cross:
        con.execute('CREATE TABLE teacher_usernames AS SELECT DISTINCT lower("Username") AS u '
                    'FROM "teacher" WHERE "Username" IS NOT NULL')
    for file, header in headers.items():
        for column in header.position:
            if spec.kind(file, column) == "date":
                v = _q(column)
                # MATERIALIZED: the calendar check is for the distinct values; left to itself
                # the optimizer pushes it below the DISTINCT, onto every row.
                con.execute(f"CREATE TABLE {_bad_dates(file, column)} AS WITH d AS MATERIALIZED "
                            f"(SELECT DISTINCT {v} AS v FROM {_table(file)} WHERE "
                            f"regexp_full_match({v}, {_lit(spec.DATE)})) "
                            f"SELECT v FROM d WHERE {_not_real('v')}")
    counts: dict[str, spec.Counts] = {}
    for file, header in headers.items():
        masks, aggregates = [], [f"count(*) AS {_q('rows|')}",
                                 f"count(*) FILTER (WHERE NOT {OK}) AS {_q('ragged|')}"]
        for i, column in enumerate(header.position):
            mask, exprs = _column(file, column, refs, f"m{i}")
            masks.append(f"{mask} AS m{i}")
            aggregates.extend(exprs)
        if file == spec.STUDENT and cross:
            aggregates.append(
                f'count(*) FILTER (WHERE {OK} AND NOT {_blank(_q("Username"))} AND '
                f'lower("Username") IN (SELECT u FROM teacher_usernames)) AS '
                f'{_q("teacher_username|")}')
        projection = ", ".join(["*", *masks])
        query = f"SELECT {', '.join(aggregates)} FROM (SELECT {projection} FROM {_table(file)})"
        cursor = con.execute(query)
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
        counts[file] = {tuple(n.split("|", 1)): int(x or 0)  # type: ignore[misc]
                        for n, x in zip(names, row)}
        if file in spec.PAIRED and header.present("Section SIS ID") and header.present("SIS ID"):
            a, b = _q("Section SIS ID"), _q("SIS ID")
            counts[file]["pair", ""] = con.execute(
                f"SELECT count(*) - count(DISTINCT ({a}, {b})) FROM {_table(file)} "
                f"WHERE {OK} AND NOT {_blank(a)} AND NOT {_blank(b)}").fetchone()[0]
    return counts


def _keys(target: str, column: str) -> str:
    return _q(f"keys {target} {column}")


def _bad_dates(file: str, column: str) -> str:
    return _q(f"bad dates {file} {column}")


def _column(file: str, column: str, refs: set[tuple[str, str]], m: str) -> tuple[str, list[str]]:
    """The mask of one column (true where the value needs no second look) and its aggregates:
    line breaks, missing, invalid, duplicates, dangling."""
    v = _q(column)
    name = f"|{column}"
    required = column in spec.REQUIRED[file]
    ok = f"{OK} AND NOT {m}"  # the rows whose value needs a second look
    fmt = _format(file, column, v)
    exprs = [f"count(*) FILTER (WHERE {ok} AND {_line_break(v)}) AS {_q('linebreak' + name)}"]
    if (file, column) in refs:
        mask = f"coalesce({v} IN (SELECT k FROM {_keys(*spec.REFERENCES[file, column])}), false)"
        exprs.append(f"count(*) FILTER (WHERE {ok} AND {fmt}) AS {_q('dangling' + name)}")
        fmt_sql = f"NOT {fmt} AND "
    elif fmt is None:  # text: a NUL, CR or LF needs a second look; a NUL is invalid
        mask = f"NOT (contains({v}, chr(0)) OR {_line_break(v)})"
        fmt_sql = ""
    else:
        if spec.kind(file, column) == "date":
            fmt = f"({fmt} AND {v} NOT IN (SELECT v FROM {_bad_dates(file, column)}))"
        # an empty optional value is fine; a required one is missing
        mask = fmt if required else f"CASE WHEN {v} = '' THEN true ELSE {fmt} END"
        fmt_sql = ""
    mask = f"coalesce({mask}, true)"
    if fmt is None:
        exprs.append(f"count(*) FILTER (WHERE {ok} AND NOT {_line_break(v)} AND "
                     f"contains({v}, chr(0))) AS {_q('invalid' + name)}")
    else:
        exprs.append(f"count(*) FILTER (WHERE {ok} AND {fmt_sql}NOT {_line_break(v)} AND NOT "
                     f"{_blank(v)}) AS {_q('invalid' + name)}")
    if required:
        if fmt is None or spec.kind(file, column) in spec.NAME_LIMIT:
            where = f"{OK} AND {_blank(v)}"  # spaces only are a well-formed name
        else:
            where = ok
        exprs.append(f"count(*) FILTER (WHERE {where} AND NOT {_line_break(v)} AND {_blank(v)}) "
                     f"AS {_q('missing' + name)}")
    if column in spec.UNIQUE[file]:
        value = f"lower({v})" if spec.UNIQUE[file][column][1] else v
        present = f"{OK} AND NOT {_blank(v)}"
        exprs.append(f"count(*) FILTER (WHERE {present}) - count(DISTINCT {value}) FILTER "
                     f"(WHERE {present}) AS {_q('duplicate' + name)}")
    return mask, exprs


if __name__ == "__main__":
    import json
    import sys
    import time
    started = time.perf_counter()
    found = validate(Path(sys.argv[1]))
    print(json.dumps(found, indent=1))
    print(f"{time.perf_counter() - started:.3f} s", file=sys.stderr)
