"""Which format a set of uploaded names is in, the names and codes the app forwards with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sds_core.verification.fileformats import (
    CONNECTOR_FORMAT_CODES,
    V1_FILE_NAMES,
    V21_FILE_NAMES,
    detect_format,
    format_of,
)
from sds_core.verification.options import VerifyOptions


def test_the_v21_names_are_microsofts_exact_ones() -> None:
    assert V21_FILE_NAMES == (
        "orgs.csv", "academicSessions.csv", "courses.csv", "users.csv", "classes.csv", "roles.csv",
        "enrollments.csv", "demographics.csv", "userFlags.csv", "relationships.csv",
    )
    assert CONNECTOR_FORMAT_CODES == {"v1": "schoolDataSyncV1", "v2.1": "schoolDataSyncV2Rev1"}


@pytest.mark.parametrize(("names", "expected"), [
    ([], "v1"),
    (["notes.txt", "export.csv"], "v1"),
    (["School.csv", "Student.csv", "Teacher.csv"], "v1"),
    (["orgs.csv", "users.csv", "roles.csv"], "v2.1"),
    (["Orgs.CSV"], "v2.1"),  # any case: the verification then reports the name
    (["orgs.csv", "school.csv"], "v1"),  # a tie
    (["orgs.csv", "users.csv", "school.csv"], "v2.1"),
    (["orgs.csv", "ORGS.csv", "school.csv"], "v1"),  # one name counts once, whatever its spellings
])
def test_the_names_say_the_format(names: list[str], expected: str) -> None:
    assert detect_format(names) == expected


@given(st.lists(st.sampled_from([*V1_FILE_NAMES, *V21_FILE_NAMES, "notes.csv", "readme.md"]), max_size=12),
       st.randoms())
def test_the_format_depends_on_the_set_of_names_only(names: list[str], rng) -> None:  # noqa: ANN001
    shuffled = [n.upper() if rng.random() < 0.5 else n for n in names]
    rng.shuffle(shuffled)
    assert detect_format(shuffled) == detect_format(names) == detect_format(iter(names))
    v21 = len({n.lower() for n in names} & {n.lower() for n in V21_FILE_NAMES})
    v1 = len({n.lower() for n in names} & set(V1_FILE_NAMES))
    assert detect_format(names) == ("v2.1" if v21 > v1 else "v1")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SDS CSV format 'v2'"):
        format_of("v2")
    with pytest.raises(ValueError, match="unknown SDS CSV format"):
        VerifyOptions(format="V2.1")


def test_a_v1_fingerprint_is_unchanged_and_v21_has_its_own() -> None:
    # The hash of the default options before v2.1 existed: a v1 set's verification is not redone.
    assert VerifyOptions().version() == VerifyOptions(format="v1").version() == "22039328e1b392e9"
    assert VerifyOptions(format="v2.1").version() != VerifyOptions().version()
    assert VerifyOptions.from_profile(None, format="v2.1") == VerifyOptions(format="v2.1")
