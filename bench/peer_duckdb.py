"""The SDS checks as a plain DuckDB script: a peer for the verifier in bench/run.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from bench import peer_rules as r


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _valid(c: str, kind: str) -> str:
    if kind == "sis_id":
        return f"regexp_full_match({c}, {_s(r.SIS_ID[1:-1])})"
    if kind == "username":
        prefix = f"length(split_part({c}, '@', 1))"
        return f"(regexp_full_match({c}, {_s(r.USERNAME[1:-1])}) and {prefix} <= {r.USERNAME_PREFIX_MAX})"
    if kind == "email":
        return f"regexp_full_match({c}, {_s(r.EMAIL[1:-1])})"
    if kind == "year":
        return f"regexp_full_match({c}, {_s(r.YEAR[1:-1])})"
    limit = r.NAME_LIMIT[kind]
    return f"(length({c}) <= {limit} and not regexp_matches({c}, {_s(r.CONTROL)}))"


def _load(con: duckdb.DuckDBPyConnection, file: str, path: Path, table: str) -> tuple[list[str], list[list[str]]]:
    """Read one file into `table` (empty fields as ''); returns its header and its ragged rows."""
    header = r.header_of(path)
    columns = "{" + ", ".join(f"{_s(n)}: 'VARCHAR'" for n in header) + "}"
    rejects = f"{table}_rejects"
    select = ", ".join(f"coalesce({_q(n)}, '') as {_q(n)}" for n in header)
    con.execute(
        f"create table {table} as select {select} from read_csv({_s(str(path))}, header = true, "
        f"auto_detect = false, columns = {columns}, delim = ',', quote = '\"', escape = '\"', "
        f"ignore_errors = true, store_rejects = true, rejects_table = {_s(rejects)}, "
        f"rejects_scan = {_s(rejects + '_scan')})")
    lines = con.execute(
        f"select distinct line, csv_line from {rejects} "
        "where error_type in ('MISSING COLUMNS', 'TOO MANY COLUMNS') order by line").fetchall()
    ragged = [next(csv.reader(io.StringIO(text.strip("\r\n"), newline="")), []) for _, text in lines]
    return header, ragged


def validate(folder: Path) -> r.Counts:
    """Counts of every message kind over the six files of a folder."""
    con = duckdb.connect()
    counts: r.Counts = {}
    tables = {file: f"t{i}" for i, file in enumerate(r.FILES)}
    headers: dict[str, list[str]] = {}
    for file, table in tables.items():
        header, ragged = _load(con, file, folder / file, table)
        headers[file] = header
        counts[file, "ragged", ""] = len(ragged)
        if "SIS ID" in header and file not in r.PAIR_FILES:
            # Keys on ragged rows count as present for the references into the file.
            position = header.index("SIS ID")
            extra = [(row[position],) for row in ragged if len(row) > position]
            con.execute(f"create table {table}_keys as select distinct {_q('SIS ID')} as k from {table}")
            if extra:
                con.executemany(f"insert into {table}_keys values (?)", extra)
    con.execute(f"create table teacher_usernames as select distinct lower({_q('Username')}) as u "
                f"from {tables[r.TEACHER]} where trim({_q('Username')}) <> ''")
    for file, table in tables.items():
        header = headers[file]
        for name in header:
            if name not in r.COLUMNS[file]:
                counts[file, "unknown_column", name] = 1
        references = dict(r.targets().get(file, []))
        exprs: list[tuple[str, str, str]] = []
        for name in header:
            if name not in r.COLUMNS[file]:
                continue
            c = _q(name)
            missing = f"(regexp_full_match({c}, '\\s*'))"
            broken = f"regexp_matches({c}, {_s(r.LINE_BREAK)})"
            unusable = f"({missing} or {broken})"
            exprs.append(("linebreak", name, f"count(*) filter ({broken})"))
            if name in r.REQUIRED[file]:
                exprs.append(("missing", name, f"count(*) filter ({missing})"))
            kind = r.kind_of(name)
            valid = None
            if kind == "date":
                distinct = [v for (v,) in con.execute(f"select distinct {c} from {table}").fetchall()]
                dates = [v for v in distinct if r.is_date(v)]
                dates_table = f"{table}_dates{header.index(name)}"
                con.execute(f"create temp table {dates_table} as select unnest(?::varchar[]) as d", [dates])
                valid = f"{c} in (select d from {dates_table})"
            elif kind is not None:
                valid = _valid(c, kind)
            if valid is not None:
                invalid = f"(not ({valid}) and not {unusable})"
                exprs.append(("invalid", name, f"count(*) filter ({invalid})"))
                unusable = f"({unusable} or {invalid})"
            if name in references:
                keys = f"{tables[references[name]]}_keys"
                exprs.append(("dangling", name,
                              f"count(*) filter (not ({c} in (select k from {keys})) and not {unusable})"))
            if name in r.UNIQUE.get(file, ()):
                compared = f"lower({c})" if name == "Username" else c
                exprs.append(("duplicate", name, f"count({compared}) filter (not {missing}) - "
                                                 f"count(distinct {compared}) filter (not {missing})"))
        if file in r.PAIR_FILES:
            a, b = _q("Section SIS ID"), _q("SIS ID")
            both = f"trim({a}) <> '' and trim({b}) <> ''"
            exprs.append(("pair_duplicate", "", f"count(*) filter ({both}) - "
                                                f"count(distinct ({a}, {b})) filter ({both})"))
        if file == r.STUDENT:
            c = _q("Username")
            exprs.append(("teacher_username", "Username",
                          f"count(*) filter (trim({c}) <> '' and lower({c}) in (select u from teacher_usernames))"))
        if exprs:
            row = con.execute(f"select {', '.join(e for _, _, e in exprs)} from {table}").fetchone()
            for (kind, name, _), n in zip(exprs, row):
                counts[file, kind, name] = counts.get((file, kind, name), 0) + int(n or 0)
    con.close()
    return counts
