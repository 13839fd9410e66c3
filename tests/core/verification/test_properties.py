"""Property-based tests: never raises, row order does not matter, counts match a plain oracle."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_files
from tests.core.builders import HEADERS, csv_bytes
from tests.core.oracle import expected_messages

FILE_NAMES = list(HEADERS)
IDS = st.sampled_from(["1", "2", "3", "a-b", "Z.9", "x y", "", " ", "é", 'q"t', "1,2", "-"])
USERNAMES = st.sampled_from(["ann", "Ann", "bob", "b b", "", ".x", "c.d", "e@f.org", "g@h", "ANN", "x..y"])
NAMES = st.sampled_from(["Name", "Other", "", "Tab\there", "N" * 300, "Zoë"])
KINDS = {
    "School.csv": (IDS, NAMES),
    "Section.csv": (IDS, IDS, NAMES),
    "Student.csv": (IDS, IDS, USERNAMES),
    "Teacher.csv": (IDS, IDS, USERNAMES),
    "StudentEnrollment.csv": (IDS, IDS),
    "TeacherRoster.csv": (IDS, IDS),
}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tables() -> st.SearchStrategy[dict[str, list[list[str]]]]:
    """Random small tables for the six files, drawn from values that collide and break rules."""
    return st.fixed_dictionaries(
        {name: st.lists(st.tuples(*kinds).map(list), min_size=1, max_size=12) for name, kinds in KINDS.items()}
    )


def encode(data: dict[str, list[list[str]]]) -> dict[str, bytes]:
    return {name: csv_bytes(HEADERS[name], rows) for name, rows in data.items()}


@SETTINGS
@given(tables())
def test_counts_equal_a_brute_force_oracle(data: dict[str, list[list[str]]]) -> None:
    result = verify_files(encode(data))
    actual = sorted((m["type"], m["fileName"], m["description"]) for m in result.graph_messages())
    assert actual == expected_messages({name.lower(): rows for name, rows in data.items()})


@SETTINGS
@given(tables(), st.randoms(use_true_random=False))
def test_shuffling_rows_does_not_change_the_messages(data: dict[str, list[list[str]]], rng: random.Random) -> None:
    shuffled = {name: rng.sample(rows, len(rows)) for name, rows in data.items()}
    assert verify_files(encode(shuffled)).graph_messages() == verify_files(encode(data)).graph_messages()


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(FILE_NAMES + ["school.csv", "SCHOOL.CSV", "extra.csv", "notes.txt"]),
        st.one_of(
            st.binary(max_size=300),
            st.lists(st.lists(st.text(max_size=8), max_size=5), max_size=6).map(
                lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
            ),
        ),
        max_size=8,
    ),
    st.booleans(),
)
def test_verification_never_raises(files: dict[str, bytes], special: bool) -> None:
    options = VerifyOptions(replace_special_characters=special, max_rows_per_file=3, detail_rows_per_message=2)
    result = verify_files(files, options)
    for message in result.details():
        assert message["type"] in ("Error", "Warning", "Information")
        assert len(message["rows"]) <= 2
