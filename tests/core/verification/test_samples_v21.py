"""Microsoft's v2.1 sample set (OfficeDev/O365-EDU-Tools, CSV Samples/SDS v2.1) under the v2.1 rules."""

from __future__ import annotations

from sds_core.verification.fileformats import detect_format
from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_folder
from tests.paths import SAMPLES

SAMPLE = SAMPLES / "sds-v2.1"


def test_the_sample_verifies_without_any_message() -> None:
    result = verify_folder(SAMPLE, VerifyOptions(format="v2.1"))
    assert result.graph_messages() == []
    assert {name: summary.rows for name, summary in result.files.items()} == {
        "orgs.csv": 4, "academicSessions.csv": 2, "courses.csv": 3, "users.csv": 8, "classes.csv": 2,
        "roles.csv": 7, "demographics.csv": 6, "userFlags.csv": 3, "relationships.csv": 3, "enrollments.csv": 6,
    }
    assert {summary.variant for summary in result.files.values()} == {"v2.1"}


def test_the_sample_is_told_v21_by_its_names() -> None:
    assert detect_format(p.name for p in SAMPLE.iterdir()) == "v2.1"


def test_the_sample_read_as_v1_is_six_missing_files_and_ten_unknown_ones() -> None:
    result = verify_folder(SAMPLE)
    codes = sorted((m.code.value, m.file_name) for m in result.messages)
    assert [c for c, _ in codes].count("missingFile") == 6
    assert [c for c, _ in codes].count("unknownFile") == 10
