"""The numpy key table answers exactly what pyarrow's `index_in` answers, for any bytes."""

from __future__ import annotations

import random
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sds_core.verification import checks, csvread, keytable
from sds_core.verification.csvread import parse_csv
from sds_core.verification.keytable import KeyTable
from sds_core.verification.verify import verify_files
from tests.core.builders import HEADERS, csv_bytes


def an_id(rng: random.Random) -> str:
    """A SIS ID in one of the styles districts export, or an awkward value."""
    style = rng.randrange(9)
    if style == 0:
        return str(rng.randrange(10**9))
    if style == 1:
        return f"ST{rng.randrange(10**7):07d}X"
    if style == 2:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if style == 3:
        return str(uuid.UUID(int=rng.getrandbits(128))).upper().join("{}")
    if style == 4:
        return "".join(rng.choice("éüñ漢字🙂a") for _ in range(rng.randrange(1, 12)))
    if style == 5:
        return "x" * rng.randrange(60, 70) + str(rng.randrange(50))  # past the words read
    if style == 6:
        return rng.choice(["", " ", "\x00", "a\x00", "a", "0", "00"])
    if style == 7:
        return str(rng.randrange(10**6)).rjust(rng.randrange(8, 20), "0")
    return "".join(rng.choice("abcXYZ-_.0123456789") for _ in range(rng.randrange(1, 40)))


def near_miss(rng: random.Random, value: str) -> str:
    """A value that differs from `value` by a byte, a length or a trailing NUL."""
    change = rng.randrange(4)
    if change == 0 or not value:
        return value + rng.choice(["\x00", "0", "é"])
    if change == 1:
        return value[:-1]
    if change == 2:
        at = rng.randrange(len(value))
        return value[:at] + chr(ord(value[at]) ^ 1) + value[at + 1:]
    return value.upper() if value.upper() != value else value.lower()


def lookups(seed: int, keys: int = 3_000, values: int = 20_000) -> tuple[list[str], list[str]]:
    """Keys (some repeated) and values (keys, near misses of keys and strangers), shuffled."""
    rng = random.Random(seed)
    key_list = [an_id(rng) for _ in range(keys)]
    key_list += rng.sample(key_list, keys // 20)  # duplicate keys: the first one is the answer
    rng.shuffle(key_list)
    value_list = [rng.choice([rng.choice(key_list), near_miss(rng, rng.choice(key_list)), an_id(rng)])
                  for _ in range(values)]
    return key_list, value_list


def expected(values: pa.Array, keys: pa.Array) -> np.ndarray:
    return pc.index_in(values, value_set=keys).fill_null(-1).to_numpy(zero_copy_only=False)


@pytest.mark.parametrize("seed", range(6))
def test_find_is_index_in_for_every_id_style(seed: int) -> None:
    key_list, value_list = lookups(seed)
    keys, values = pa.array(key_list, pa.string()), pa.array(value_list, pa.string())
    table = KeyTable.build(keys)
    assert table is not None
    assert len(table.levels) > 1  # keys that share a slot were placed further down
    found = table.find(values)
    assert found.tolist() == expected(values, keys).tolist()
    assert (found >= 0).sum() > len(values) // 3


def test_find_reads_sliced_arrays_and_parsed_chunks() -> None:
    key_list, value_list = lookups(7)
    keys = pa.array(key_list, pa.string())
    table = KeyTable.build(keys.slice(5))
    values = pa.array(value_list, pa.string())
    for start, stop in [(0, 1), (3, 17), (101, 9_000), (19_990, 20_000)]:
        part = values.slice(start, stop - start)
        assert table.find(part).tolist() == expected(part, keys.slice(5)).tolist()
    body = csv_bytes(["SIS ID"], [[v] for v in value_list if "\x00" not in v])
    column = parse_csv(body).column(0)
    for chunk in column.chunks:
        assert table.find(chunk).tolist() == expected(chunk, keys.slice(5)).tolist()


def test_find_all_answers_each_chunk_with_the_long_values_of_all_in_one_lookup() -> None:
    key_list, value_list = lookups(8)
    keys = pa.array(key_list, pa.string())
    table = KeyTable.build(keys)
    values = pa.array(value_list, pa.string())
    chunks = [values.slice(start, 1_000) for start in range(0, len(values), 1_000)]
    chunks.insert(3, pa.array([None, "a"]))  # a chunk it cannot read comes back as None
    found = table.find_all(chunks)
    assert found[3] is None
    del chunks[3], found[3]
    assert [at.tolist() for at in found] == [expected(chunk, keys).tolist() for chunk in chunks]
    answers = np.concatenate(found)
    long_found = [i for i, v in enumerate(value_list) if len(v.encode()) > 64 and answers[i] >= 0]
    assert len(long_found) > 10  # long values were looked up, across chunks, and found


def test_empty_and_degenerate_columns() -> None:
    assert KeyTable.build(pa.array([], pa.string())) is None
    assert KeyTable.build(pa.array(["a", None])) is None  # nulls: pyarrow decides
    table = KeyTable.build(pa.array(["", "", "b"]))
    assert table is not None
    assert table.find(pa.array([], pa.string())).tolist() == []
    assert table.find(pa.array(["", "", ""])).tolist() == [0, 0, 0]  # values without a byte of data
    assert table.find(pa.array(["b", "c", None])) is None
    assert table.find(pa.array([1, 2])) is None


def test_a_hash_shared_by_different_keys_leaves_the_lookup_to_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    words_of = keytable.words_of

    def colliding(array: pa.Array) -> keytable.Words:
        words = words_of(array)
        words.hash[:] = 42
        return words

    monkeypatch.setattr(keytable, "words_of", colliding)
    assert KeyTable.build(pa.array(["a", "b"])) is None
    assert KeyTable.build(pa.array(["a", "a"])) is not None  # equal keys are one value


def district(seed: int) -> dict[str, bytes]:
    """A shuffled district with every id style, dangling references and repeated pairs."""
    rng = random.Random(seed)
    schools = [[f"S{i}", f"School {i}"] for i in range(5)]
    sections = [[an_id(rng), "S1", f"Section {i}"] for i in range(400)]
    students = [[an_id(rng), "S2", f"student{i}"] for i in range(1_500)]
    students += rng.sample(students, 20)
    teachers = [[f"T{i}", "S3", f"teacher{i}"] for i in range(40)]
    enrollments = []
    for _ in range(8_000):
        section = rng.choice(sections)[0]
        student = rng.choice(students)[0]
        if rng.random() < 0.02:
            student = near_miss(rng, student)
        enrollments.append([section, student])
    enrollments += rng.sample(enrollments, 300)
    rng.shuffle(enrollments)
    rosters = [[rng.choice(sections)[0], rng.choice(teachers)[0]] for _ in range(500)]
    rows = {"School.csv": schools, "Section.csv": sections, "Student.csv": students,
            "Teacher.csv": teachers, "StudentEnrollment.csv": enrollments, "TeacherRoster.csv": rosters}
    return {name: csv_bytes(HEADERS[name], [[v.replace("\x00", "") for v in row] for row in table])
            for name, table in rows.items()}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("grouped", [False, True])
def test_the_verifier_answers_the_same_with_or_without_key_tables(
    seed: int, grouped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = district(seed)
    if grouped:  # runs of equal students: their lookups go through the run search
        body = files["StudentEnrollment.csv"].decode().splitlines()
        files["StudentEnrollment.csv"] = "\n".join([body[0], *sorted(body[1:], key=lambda r: r.split(",")[-1])]).encode()
    monkeypatch.setattr(checks, "KEY_TABLE_MIN_KEYS", 10**9)
    without = verify_files(files)
    assert any(m.code.name == "REFERENCE_NOT_FOUND" and m.total for m in without.messages)
    monkeypatch.setattr(checks, "KEY_TABLE_MIN_KEYS", 1)
    monkeypatch.setattr(checks, "KEY_TABLE_MIN_ROWS", 1)
    monkeypatch.setattr(csvread, "_BLOCK_SIZE", 4096)  # many chunks
    monkeypatch.setattr(checks, "LOOKUP_PART_ROWS", 500)
    built = []
    monkeypatch.setattr(checks, "_built", lambda keys: built.append(len(keys)) or KeyTable.build(keys))
    assert verify_files(files).details() == without.details()
    assert built  # the tables were used
