"""Microsoft's public sample sets verify without an Error."""

from __future__ import annotations

import pytest

from sds_core.verification.verify import verify_folder
from tests.core.builders import SAMPLES

SETS = sorted(p.name for p in SAMPLES.glob("sds-v1*"))
RETIRED_STUDENT_COLUMNS = [
    "Mailing Address", "Mailing City", "Mailing State", "Mailing Zip", "Mailing Latitude",
    "Mailing Longitude", "Mailing Country", "Residence Address", "Residence City", "Residence State",
    "Residence Zip", "Residence Latitude", "Residence Longitude", "Residence Country", "Gender",
    "ELL Status", "FederalRace",
]


def test_every_sample_set_is_here() -> None:
    assert len(SETS) == 8


@pytest.mark.parametrize("name", SETS)
def test_sample_set_has_no_error(name: str) -> None:
    result = verify_folder(SAMPLES / name)
    assert not result.has_errors
    if name in ("sds-v1-legacy-2017", "sds-v1-demo-small-2018"):
        # The 2017 schema's retired columns are reported, not refused.
        assert result.graph_messages() == [
            {
                "type": "Warning",
                "fileName": "student.csv",
                "description": f"The column is not part of the SDS format and was ignored - {column}",
            }
            for column in RETIRED_STUDENT_COLUMNS
        ]
    else:
        assert result.graph_messages() == []
    assert {s.variant for s in result.files.values()} == ({"UK"} if "-uk" in name else {"US"})
