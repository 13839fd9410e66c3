"""The two CSV formats a set may be in, told apart by its file names, and their connector codes."""

from __future__ import annotations

from collections.abc import Iterable

from sds_core.verification.spec import FILES as V1_FILES
from sds_core.verification.spec import V1, Format
from sds_core.verification.spec_v21 import FILE_NAMES as V21_FILE_NAMES  # exact, case-sensitive
from sds_core.verification.spec_v21 import V21

V1_NAME, V21_NAME = "v1", "v2.1"
FORMAT_NAMES: tuple[str, ...] = (V1_NAME, V21_NAME)
FORMATS: dict[str, Format] = {V1_NAME: V1, V21_NAME: V21}
# The Industry Data connector's fileFormat code per format (Graph industrydata-fileformatreferencevalue;
# docs/sds-v2.1-rules.md says why not the Postman collection's "schoolDataSyncV2.1").
CONNECTOR_FORMAT_CODES: dict[str, str] = {V1_NAME: "schoolDataSyncV1", V21_NAME: "schoolDataSyncV2Rev1"}
V1_FILE_NAMES: tuple[str, ...] = tuple(f.name for f in V1_FILES)
"""The classic six, lower-case (names match in any case); V21_FILE_NAMES: the ten v2.1 files as the
new SDS expects them."""

_V1 = frozenset(V1_FILE_NAMES)
_V21 = frozenset(name.lower() for name in V21_FILE_NAMES)


def detect_format(names: Iterable[str]) -> str:
    """"v2.1" when more of the uploaded names are v2.1 file names than classic ones, else "v1".

    Names compare in any letter case (a `Users.csv` still says v2.1; its verification then reports
    the case); other names count for neither. An empty set, a tie and a set of unknown names are v1.
    """
    counts = {V1_NAME: 0, V21_NAME: 0}
    for name in {n.lower() for n in names}:
        if name in _V1:
            counts[V1_NAME] += 1
        elif name in _V21:
            counts[V21_NAME] += 1
    return V21_NAME if counts[V21_NAME] > counts[V1_NAME] else V1_NAME


def names_of(format_name: str, names: Iterable[str]) -> list[str]:
    """The names among `names` that are file names of the format `format_name` (any letter case),
    sorted as the format lists its files."""
    wanted = _V1 if format_name == V1_NAME else _V21
    order = {n.lower(): i for i, n in enumerate(V1_FILE_NAMES if format_name == V1_NAME else V21_FILE_NAMES)}
    return sorted((n for n in set(names) if n.lower() in wanted), key=lambda n: (order[n.lower()], n))


def format_of(name: str) -> Format:
    """The format called `name` ("v1" or "v2.1"); ValueError for any other."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown SDS CSV format {name!r}: expected one of {', '.join(FORMAT_NAMES)}") from None
