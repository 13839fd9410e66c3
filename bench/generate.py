"""Seeded generator of realistic SDS classic (v1) data with injected defects of known counts.

Usage: python bench/generate.py --scale S|M|L|2L [--order section|student|shuffled] [--seed N] [--out DIR]

Row orders: `section` (the membership files grouped by Section SIS ID), `student` (grouped by the
person's SIS ID) and `shuffled` (every file's data rows in a seeded random order). The messages do
not depend on the order: every count is of a set property (how many rows, how many repeats).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.defects import UNKNOWN_COLUMN, expected_messages
from bench.district import section_id, student_id, teacher_id
from bench.inject import COPY_PREVIOUS, Injector
from bench.layout import (
    COLUMNS,
    ENROLLMENT,
    FILES,
    ROSTER,
    SCALES,
    SCHOOL,
    SECTION,
    STUDENT,
    TEACHER,
    Scale,
)

DEFAULT_SEED = 20240831
DATA_DIR = Path(__file__).resolve().parent / "data"
CRLF = "\r\n"
LF = "\n"
CRLF_FILE = STUDENT  # exported from Windows: the other files end their lines with LF
ORDERS = ("section", "student", "shuffled")
CHUNK_ROWS = 65_536


def write_csv(path: Path, header: Iterable[str], rows: Iterable[str], newline: str = CRLF) -> int:
    """Write the header and the already-joined rows; returns the data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + newline)
        chunk: list[str] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                out.write(newline.join(chunk) + newline)
                count += len(chunk)
                chunk = []
        if chunk:
            out.write(newline.join(chunk) + newline)
            count += len(chunk)
    return count


def _ordered(rows: Iterator[str], file: str, order: str, seed: int) -> Iterable[str]:
    """The rows of a file in the requested order (entity files keep theirs unless shuffled)."""
    relation = file in (ENROLLMENT, ROSTER)
    if order == "shuffled":
        listed = list(rows)
        random.Random(f"{seed}:order:{file}").shuffle(listed)
        return listed
    if not relation:
        return rows
    column = 0 if order == "section" else 1
    # A stable sort on one field: repeated pairs stay together, ragged rows sort by what they have.
    return sorted(rows, key=lambda row: (row.split(",", 2) + [""])[column])


def generate(
    out: Path, scale: Scale, seed: int = DEFAULT_SEED, order: str = "section"
) -> list[dict[str, str]]:
    """Write the six files in `order` and expected.json into `out`; returns the expected messages."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    out.mkdir(parents=True, exist_ok=True)
    injector = Injector(scale, seed)
    district = injector.district
    entity_rows = {
        SCHOOL: district.school_rows, SECTION: district.section_rows,
        STUDENT: district.student_rows, TEACHER: district.teacher_rows,
    }
    for file, rows in entity_rows.items():
        header = COLUMNS[file] + ((UNKNOWN_COLUMN,) if file == TEACHER else ())
        written = (injector.entity_row(file, i, fields) for i, fields in enumerate(rows()))
        write_csv(out / file, header, _ordered(written, file, order, seed), _newline(file))
    pairs = {ENROLLMENT: district.enrollment_pairs, ROSTER: district.roster_pairs}
    for file, make_pairs in pairs.items():
        damaged = injector.relation_rows(file)
        right_key = student_id if file == ENROLLMENT else teacher_id
        clean = (f"{section_id(a)},{right_key(b)}"
                 for a, b in make_pairs(scale.rows[file] - len(damaged)))
        merged = _merge(clean, damaged, scale.rows[file])
        write_csv(out / file, COLUMNS[file], _ordered(merged, file, order, seed), _newline(file))
    expected = expected_messages(scale.defects)
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    return expected


def _newline(file: str) -> str:
    return CRLF if file == CRLF_FILE else LF


def _merge(clean: Iterator[str], damaged: dict[int, str], total: int) -> Iterator[str]:
    """Clean rows with the damaged ones at their positions; a copy repeats the last clean row."""
    previous = ""
    for position in range(total):
        row = damaged.get(position)
        if row is None:
            previous = next(clean)
            yield previous
        elif row == COPY_PREVIOUS:
            yield previous
        else:
            yield row


def arguments(argv: list[str] | None, description: str, suffix: str = "") -> tuple[argparse.Namespace, Path]:
    """A generator's command line: scale, order, seed, and the folder to write (made from them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--order", choices=ORDERS, default="section")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help=f"default: bench/data/<scale>-<order>{suffix}")
    args = parser.parse_args(argv)
    return args, args.out or DATA_DIR / f"{args.scale}-{args.order}{suffix}"


def main(argv: list[str] | None = None) -> int:
    """Command line: generate one scale."""
    args, out = arguments(argv, __doc__.splitlines()[0])
    started = time.perf_counter()
    generate(out, SCALES[args.scale], args.seed, args.order)
    size = sum((out / f).stat().st_size for f in FILES)
    print(f"{args.scale} {args.order}: {SCALES[args.scale].total_rows:,} rows, {size / 2**20:.1f} MiB in {out} "
          f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
