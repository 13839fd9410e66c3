"""Small uploads, huge answers: the hostile files of issue 10 item 4, each verified in a fresh process.

Usage: python bench/hostile.py [CASE ...]   (default: every case; see CASES)

Each case writes one valid sample set with one file made hostile and runs `python -m sds_core
verify DIR` on it in a fresh process: seconds, peak RSS, the size of the input and of `start`'s body
(stdout); then once more with `--details --report` for the size of the details and whether a
Password value shows in them. Runs on any build of the verifier.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "samples" / "sds-v1_25-users"


def _wide(columns: int) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        path = folder / "Student.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        extra = ",".join(f"x{i}" for i in range(columns))
        fill = "," * columns
        path.write_text("\n".join([lines[0] + "," + extra] + [line + fill for line in lines[1:]]) + "\n",
                        encoding="utf-8")

    return make


def _long_name(length: int) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        path = folder / "Student.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        name = "n" * length
        path.write_text("\n".join([lines[0] + "," + name] + [line + "," for line in lines[1:]]) + "\n",
                        encoding="utf-8")

    return make


def _long_header(size: int) -> Callable[[Path], None]:
    """A header line of `size` bytes made of unknown columns, the rows as wide (empty fields)."""
    def make(folder: Path) -> None:
        path = folder / "Student.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        columns = size // 9
        with path.open("w", encoding="utf-8", newline="\n") as out:
            out.write(lines[0])
            for start in range(0, columns, 1_000_000):
                out.write("".join(f",x{i:07d}" for i in range(start, min(columns, start + 1_000_000))))
            out.write("\n")
            for line in lines[1:3]:
                out.write(line + "," * columns + "\n")

    return make


def _ragged(rows: int) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        path = folder / "Student.csv"
        with path.open("a", encoding="utf-8", newline="\n") as out:
            out.writelines(f"r{i},{i},x\n" for i in range(rows))

    return make


def _ragged_password(folder: Path) -> None:
    """Student rows with one field too many: the Password (Secret-n) sits where the header has it."""
    path = folder / "Student.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    password = lines[0].split(",").index("Password")
    bad = []
    for i, line in enumerate(lines[1:4]):
        fields = line.split(",")
        fields[password] = f"Secret-{i}"
        bad.append(",".join(fields + ["extra"]))
    path.write_text("\n".join(lines + bad) + "\n", encoding="utf-8")


CASES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "wide": ("student.csv with 1,000,000 unknown columns", _wide(1_000_000)),
    "wide-app": ("student.csv with 100,000 unknown columns", _wide(100_000)),
    "long-name": ("one column name of 20,000,000 characters", _long_name(20_000_000)),
    "header-200mb-name": ("a 200 MB header line: one column name", _long_name(200_000_000)),
    "header-200mb-columns": ("a 200 MB header line: 22M unknown columns", _long_header(200_000_000)),
    "ragged": ("3,000,000 ragged rows in student.csv", _ragged(3_000_000)),
    "ragged-password": ("3 rows with one field too many, a Password in each", _ragged_password),
}


def run_case(name: str) -> dict[str, object]:
    """Build one case, verify it in a fresh process, measure."""
    label, make = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "set"
        shutil.copytree(SAMPLE, folder)
        make(folder)
        size = sum(p.stat().st_size for p in folder.iterdir())
        report = Path(tmp) / "report.csv"
        plain = _verify(folder)
        detailed = _verify(folder, "--details", "--report", str(report))
        report_bytes = report.read_bytes() if report.exists() else b""
    leaked = b"Secret-" in detailed["stdout"] or b"Secret-" in report_bytes
    return {
        "case": name, "what": label, "exit": plain["exit"], "seconds": plain["seconds"],
        "peak_mib": plain["peak_mib"], "input_mib": round(size / 2**20, 1),
        "start_body_kib": round(len(plain["stdout"]) / 1024, 1),
        "details_kib": round(len(detailed["stdout"]) / 1024, 1), "password_shown": leaked,
    }


_RUN = (
    "import runpy, sys\n"
    "from bench.peak import peak_kib\n"
    "sys.argv = ['sds_core'] + sys.argv[1:]\n"
    "try:\n    runpy.run_module('sds_core', run_name='__main__')\n"
    "finally:\n"
    "    print(peak_kib(), file=sys.stderr)\n"
)


def _verify(folder: Path, *options: str) -> dict[str, object]:
    """`python -m sds_core verify` in a fresh process: exit status, seconds, peak RSS, stdout."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _RUN, "verify", str(folder), *options],
                          cwd=ROOT, capture_output=True)
    seconds = time.perf_counter() - started
    peak_kib = int(done.stderr.decode().strip().splitlines()[-1])
    return {"exit": done.returncode, "seconds": round(seconds, 2), "peak_mib": round(peak_kib / 1024),
            "stdout": done.stdout}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=", ".join(CASES))
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    print("| case | input MiB | exit | seconds | peak RSS MiB | start body KiB | details KiB | password shown |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.cases or CASES:
        r = run_case(name)
        print(f"| {r['what']} | {r['input_mib']} | {r['exit']} | {r['seconds']} | {r['peak_mib']} | "
              f"{r['start_body_kib']} | {r['details_kib']} | {'yes' if r['password_shown'] else 'no'} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
