"""Work split for the workers (lookups in parts, pairs by low bits, line breaks by chunk) answers
exactly what the unsplit work answers."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sds_core.verification import checks, csvread, formats
from sds_core.verification.spec import FILES
from sds_core.verification.verify import AHEAD_BYTES, Loader, _read_ahead, verify_files, verify_folder
from tests.core.builders import HEADERS, csv_bytes


def district(seed: int) -> dict[str, bytes]:
    """A shuffled district with dangling references, missing values and repeated pairs."""
    rng = random.Random(seed)
    schools = [[f"S{i}", f"School {i}"] for i in range(5)]
    sections = [[rng.choice(["", f"sec-{i}"]) if i % 97 == 0 else f"sec-{i}", "S1", f"Section {i}"]
                for i in range(300)]
    students = [[f"{i:07d}", "S2", f"student{i}"] for i in range(800)]
    teachers = [[f"T{i}", "S3", f"teacher{i}"] for i in range(40)]
    enrollments = []
    for _ in range(6_000):
        section = rng.choice(sections)[0] if rng.random() > 0.01 else f"gone-{rng.randrange(50)}"
        student = rng.choice(students)[0] if rng.random() > 0.01 else rng.choice(["", f"{rng.randrange(10**8):08d}"])
        enrollments.append([section, student])
    enrollments += rng.sample(enrollments, 300)  # repeated pairs, anywhere in the file
    rng.shuffle(enrollments)
    rosters = [[rng.choice(sections)[0], rng.choice(teachers)[0]] for _ in range(500)]
    rows = {"School.csv": schools, "Section.csv": sections, "Student.csv": students,
            "Teacher.csv": teachers, "StudentEnrollment.csv": enrollments, "TeacherRoster.csv": rosters}
    return {name: csv_bytes(HEADERS[name], table) for name, table in rows.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_split_lookups_and_pair_search_answer_as_the_whole(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    files = district(seed)
    whole = verify_files(files)
    assert any(m.code.name == "DUPLICATE_VALUES" and m.total for m in whole.messages)
    monkeypatch.setattr(csvread, "_BLOCK_SIZE", 4096)  # many chunks
    monkeypatch.setattr(checks, "LOOKUP_PART_ROWS", 500)  # every column of the membership files split
    split = verify_files(files)
    assert split.details() == whole.details()


def test_parts_cut_a_column_at_chunk_boundaries_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "LOOKUP_PART_ROWS", 10)
    column = pa.chunked_array([pa.array([str(i) for i in range(n, n + 7)]) for n in range(0, 70, 7)])
    parts = checks._parts(column, 2)
    assert len(parts) == 2
    assert [v for part in parts for v in part.to_pylist()] == column.to_pylist()
    assert checks._parts(column, 1) == [column]


def test_pairs_split_by_low_bits_find_the_repeats_of_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "LOOKUP_PART_ROWS", 100)
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 5_000, size=20_000).astype(np.int64) * 1_000_003
    with ThreadPoolExecutor(max_workers=2) as workers:
        split = checks._repeated_in_parts(keys, workers)
    whole = checks._repeated(keys)
    assert np.array_equal(split[0], whole[0]) and np.array_equal(split[1], whole[1])
    # Every repeat points at the first row holding its key.
    first_at = {}
    for position, key in enumerate(keys.tolist()):
        first_at.setdefault(key, position)
    assert [first_at[k] for k in keys[whole[0]].tolist()] == whole[1].tolist()


def test_line_breaks_are_found_in_any_chunk_and_slice() -> None:
    sliced = pa.array(["a\nb", "c", "d\re"]).slice(1)  # a line break before the slice is not its own
    column = pa.chunked_array([pa.array(["x", "y"]), sliced, pa.array([], pa.string()), pa.array(["", "z\n"])])
    assert formats.line_break(column).tolist() == [False, False, False, True, False, True]
    assert formats.line_break(pa.array(["plain", "text"])).tolist() == [False, False]
    assert formats.line_break(pa.array(["", ""])).tolist() == [False, False]


def test_small_files_are_read_further_ahead_and_large_ones_one_at_a_time() -> None:
    readable = [(spec, spec.name) for spec in FILES]
    small = {spec.name: Loader(bytes, AHEAD_BYTES // 10) for spec in FILES}
    assert list(_read_ahead(readable, small, 0, 0)) == list(range(len(FILES)))
    large = {spec.name: Loader(bytes, AHEAD_BYTES) for spec in FILES}
    assert list(_read_ahead(readable, large, 0, 0)) == [0, 1]  # the file checked, and the next
    assert list(_read_ahead(readable, large, 1, 2)) == [2]
    unknown = {spec.name: bytes for spec in FILES}  # a loader that does not say its size
    assert list(_read_ahead(readable, unknown, 3, 4)) == [4]
    in_memory = {spec.name: b"x" * 10 for spec in FILES}
    assert list(_read_ahead(readable, in_memory, 0, 0)) == list(range(len(FILES)))


def test_a_folder_verifies_as_its_bytes_do(tmp_path: Path) -> None:
    files = district(4)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert verify_folder(tmp_path).details() == verify_files(files).details()
