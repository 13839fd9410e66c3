"""A small set whose values try to break the reports: markup, formulas, control characters, a password."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.paths import SAMPLES

INJECTED_IMAGE = "<img src=x onerror=alert(1)>"
INJECTED_SCRIPT = "<script>window.__pwned=1</script>"


def hostile_set(folder: Path) -> Path:
    """The 25-user sample with hostile values in student.csv and studentenrollment.csv, and a stray file."""
    shutil.copytree(SAMPLES / "sds-v1_25-users", folder)
    (folder / "SOURCE.txt").unlink()
    student = (folder / "Student.csv").read_text(encoding="utf-8")
    for old, new in (
        ("13001,10001,Ora,Klein,OKlein,P@ssword", "13001,10001,Ora,Klein,=HYPERLINK(1),P\x00ssword"),
        ("13002,10001,Beulah,McMillan", "13002,10001,Beu\x01lah,McMillan"),
        ("13003,10001,Florence,Stark,FStark", f"13003,10001,Florence,Stark,{INJECTED_IMAGE}"),
    ):
        assert old in student
        student = student.replace(old, new)
    (folder / "Student.csv").write_text(student, encoding="utf-8", newline="")
    with (folder / "StudentEnrollment.csv").open("a", encoding="utf-8", newline="") as enrollment:
        enrollment.write(f"{INJECTED_SCRIPT},13001\r\n")
    (folder / "Notes.csv").write_text("anything\r\n", encoding="utf-8")
    return folder
