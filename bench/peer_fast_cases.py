"""The fast peers on the hand-written golden cases and Microsoft's samples, beside the verifier.

Usage: python bench/peer_fast_cases.py

The generated sets of bench/run.py test the peers at scale; these small folders test their
readings of the rules one message at a time. For each golden case (tests/data/golden/*, its
`expected.json` written by hand from decisions.md) and each sample set (tests/data/samples/*, no
expected messages: the verifier's are the reference), and for each probe (PROBES: the minimal
sample with one edit where the rules are terse, against the verifier's messages), prints PASS or
the differences of each fast peer (`- expected, not given; + given, not expected`). The peers know
no profile, so a case that asks for one is reported as skipped. Exit 1 when any peer differs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import peer_duckdb_fast, peer_polars_fast
from bench.measure import compare

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
SAMPLES = ROOT / "tests" / "data" / "samples"
PEERS = {"polars-fast": peer_polars_fast.validate, "duckdb-fast": peer_duckdb_fast.validate}


def _verifier_messages(folder: Path) -> list[dict[str, str]]:
    from sds_core.verification.verify import verify_folder
    return verify_folder(folder).graph_messages()


def cases() -> list[tuple[str, Path, list[dict[str, str]] | None, int]]:
    """(name, folder, expected messages or None when a profile is needed, row limit)."""
    found = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        options = expected.get("options", {})
        messages = None if options.get("profile") else expected["response"]["value"]
        found.append((f"golden/{folder.name}", folder, messages, int(options.get("maxRows", 0))))
    for folder in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        found.append((f"samples/{folder.name}", folder, _verifier_messages(folder), 0))
    return found


# Readings where the rules are terse: each probe appends rows to (or rewrites) one file of the
# minimal sample set, and the fast peers are compared with the verifier. Lines end with CRLF, as
# in the sample.
PROBE_BASE = SAMPLES / "sds-v1_min-required"
PROBES: dict[str, dict[str, str]] = {
    "ragged row referenced": {"Student.csv": "+13901,10001,ragged1,extra",
                              "StudentEnrollment.csv": "+11001,13901"},
    "whitespace-only required name": {"Section.csv": "+11901,10001,   "},
    "line break in a referencing value": {"StudentEnrollment.csv": '+"119\n01",13001'},
    "header with a leading space": {"School.csv": "= SIS ID,Name\n10001,Contoso\n10002,Fabrikam"},
    "header in another case": {"Student.csv": "=SIS ID,School SIS ID,username\n13001,10001,OKlein"},
    "Username in another case in teacher.csv": {"Teacher.csv": "+14901,10001,oklein"},
    "ill-formed duplicates": {"Student.csv": "+13 9,10001,dup1\n13 9,10001,dup2"},
    "Usernames equal but for case": {
        "Student.csv": "+13902,10001,Same.Name\n13903,10001,same.name"},
    "blank line inside": {"Section.csv": "+\n11902,10001,Art"},
    "NUL in a name": {"School.csv": "+10009,Bad\x00Name"},
    "value with a trailing space": {"Student.csv": "+13904 ,10001,trail1"},
    "pair repeated, one part missing": {"TeacherRoster.csv": "+11001,\n11001,\n,14001\n,14001"},
}


def probe(name: str, target: Path) -> Path:
    """The minimal sample set with one probe's edits, written under target."""
    folder = target / name.replace(" ", "-")
    shutil.copytree(PROBE_BASE, folder)
    for file, edit in PROBES[name].items():
        path = folder / file
        rows = edit[1:].replace("\n", "\r\n") + "\r\n"
        if edit.startswith("+"):
            path.write_bytes(path.read_bytes() + rows.encode("utf-8"))
        else:
            path.write_bytes(rows.encode("utf-8"))
    return folder


def main() -> int:
    """Command line: every case, every fast peer."""
    differ = False
    for name, folder, expected, limit in cases():
        if expected is None:
            print(f"{name}: skipped (needs a profile)")
            continue
        if limit:
            os.environ["SDS_MAX_ROWS_PER_FILE"] = str(limit)
        else:
            os.environ.pop("SDS_MAX_ROWS_PER_FILE", None)
        for peer, validate in PEERS.items():
            try:
                diff = compare(validate(folder), expected)
            except Exception as error:  # a bug of the peer: report it, go on with the others
                diff = [f"! {type(error).__name__}: {str(error).splitlines()[0]}"]
            differ = differ or bool(diff)
            print(f"{name} {peer}: {'FAIL' if diff else 'PASS'}")
            for line in diff:
                print(f"    {line}")
    with tempfile.TemporaryDirectory() as target:
        for name in PROBES:
            folder = probe(name, Path(target))
            expected = _verifier_messages(folder)
            for peer, validate in PEERS.items():
                try:
                    diff = compare(validate(folder), expected)
                except Exception as error:
                    diff = [f"! {type(error).__name__}: {str(error).splitlines()[0]}"]
                differ = differ or bool(diff)
                print(f"probe {name} {peer}: {'FAIL' if diff else 'PASS'}")
                for line in diff:
                    print(f"    {line}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
