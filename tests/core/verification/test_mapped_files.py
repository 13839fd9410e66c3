"""Files mapped from disk (the command line's large files) read exactly as their bytes do."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sds_core.verification import verify
from sds_core.verification.csvread import ParsedCsv, parse_csv
from tests.core.verification import test_golden as golden

ENROLLMENT = "Section SIS ID,SIS ID\r\n"
CONTENTS = {
    "plain": ENROLLMENT.encode() + b"S1,P1\r\nS1,P2\r\n",
    "bom and lf": b"\xef\xbb\xbfSection SIS ID,SIS ID\nS1,P1\n",
    "cr only": b"Section SIS ID,SIS ID\rS1,P1\rS2,P2\r",
    "leading and inner blank lines": b"\r\n\r\n" + ENROLLMENT.encode() + b"S1,P1\r\n\r\n,\r\nS2,P2\r\n",
    "quoted line break": ENROLLMENT.encode() + b'"S\r\n1",P1\r\n"S,2","P""2"\r\n',
    "quotes and a blank line": ENROLLMENT.encode() + b'"S1",P1\r\n\r\nS2,P2\r\n',
    "nul": ENROLLMENT.encode() + b"S\x001,P1\r\n",
    "ragged": ENROLLMENT.encode() + b"S1\r\nS1,P1,extra\r\nS2,P2\r\n",
    "ragged and quoted": ENROLLMENT.encode() + b'"S1"\r\nS1,"P,1",x\r\nS2,P2\r\n',
    "not utf-8 late": ENROLLMENT.encode() + b"S1,P1\r\nS2,P\xff2\r\n",
    "not utf-8 in the header": b"Section SIS ID,SIS \xc3(ID\r\nS1,P1\r\n",
    "non-ascii": ENROLLMENT.encode() + "S1,Zoë\r\nS2,名前\r\n".encode(),
    "whitespace only": b" \r\n\t\r\n",
    "bom only": b"\xef\xbb\xbf",
    "header only": ENROLLMENT.encode(),
}


def mapped(path: Path, content: bytes) -> mmap.mmap:
    """`content`, written to `path` and mapped read-only."""
    path.write_bytes(content)
    with path.open("rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def facts(parsed: ParsedCsv) -> dict[str, object]:
    """Everything a parse tells the checks."""
    return {
        "problem": parsed.problem,
        "invalid_line": parsed.invalid_line,
        "header": parsed.header,
        "table": None if parsed.table is None else parsed.table.to_pydict(),
        "first_data_row": parsed.rows.first_data_row,
        "skipped": parsed.rows.skipped.tolist(),
        "ragged": [(r.row, r.fields) for r in parsed.ragged],
        "flags": (parsed.has_quotes, parsed.has_nul, parsed.line_breaks_possible),
    }


@pytest.mark.parametrize("content", list(CONTENTS.values()), ids=list(CONTENTS))
def test_a_mapped_file_parses_as_its_bytes(tmp_path: Path, content: bytes) -> None:
    assert facts(parse_csv(mapped(tmp_path / "f.csv", content))) == facts(parse_csv(content))


FIELDS = st.sampled_from(["a", "", " ", '"q"', '"x,\r\ny"', "é", "\x00", "\r", "\n"])
RECORDS = st.lists(st.lists(FIELDS, max_size=4), min_size=1, max_size=8)


@given(st.one_of(
    st.binary(min_size=1, max_size=200),
    RECORDS.map(lambda rows: "\r\n".join(",".join(r) for r in rows).encode()).filter(bool),
))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_mapped_content_parses_as_its_bytes(tmp_path: Path, content: bytes) -> None:
    assert facts(parse_csv(mapped(tmp_path / "f.csv", content))) == facts(parse_csv(content))


@pytest.mark.skipif(os.name != "posix", reason="files are read, not mapped, on Windows")
def test_large_files_are_mapped_and_small_or_empty_ones_read(tmp_path: Path) -> None:
    large, small, empty = tmp_path / "large.csv", tmp_path / "small.csv", tmp_path / "empty.csv"
    large.write_bytes(ENROLLMENT.encode() + b"S1,P1\r\n" * (verify.MAP_MIN_BYTES // 7))
    small.write_bytes(ENROLLMENT.encode())
    empty.write_bytes(b"")
    assert isinstance(verify._load(large), mmap.mmap)
    assert verify._load(small) == ENROLLMENT.encode()
    assert verify._load(empty) == b""


@pytest.mark.parametrize("case", golden.CASES)
def test_golden_cases_give_the_same_answer_mapped(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "MAP_MIN_BYTES", 1)  # every file but an empty one is mapped
    golden.test_golden_case(case)


@pytest.mark.parametrize("refusal", [OSError(19, "No such device"), ValueError("cannot mmap an empty file")])
def test_a_file_that_cannot_be_mapped_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              refusal: Exception) -> None:
    class Refused(mmap.mmap):
        def __new__(cls, *args: object, **kwargs: object) -> mmap.mmap:
            raise refusal

    large = tmp_path / "large.csv"
    large.write_bytes(ENROLLMENT.encode() + b"S1,P1\r\n" * (verify.MAP_MIN_BYTES // 7))
    monkeypatch.setattr(mmap, "mmap", Refused)
    assert verify._load(large) == large.read_bytes()


def test_files_are_read_where_mapping_could_break_a_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    large = tmp_path / "large.csv"
    large.write_bytes(ENROLLMENT.encode() + b"S1,P1\r\n" * (verify.MAP_MIN_BYTES // 7))
    monkeypatch.setattr(verify.os, "name", "nt")
    assert verify._load(large) == large.read_bytes()
