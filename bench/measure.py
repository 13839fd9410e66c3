"""One measurement, run in a fresh process: time the work of one tool on one folder.

Usage: python -m bench.measure TOOL FOLDER
TOOL: verifier, parse, polars, duckdb, polars-fast, duckdb-fast or frictionless.
Prints one JSON object: seconds (the work only, not start-up or imports), peak RSS of this
process, and for the verifier and the peers whether their messages equal expected.json.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.layout import FILES
from bench.peak import peak_rss_mib


def compare(got: list[dict[str, str]], expected: list[dict[str, str]]) -> list[str]:
    """Differences between two message lists taken as multisets: `- missing`, `+ unexpected`."""
    key = lambda m: (m["fileName"], m["type"], m["description"])
    have, want = Counter(map(key, got)), Counter(map(key, expected))
    lines = [f"- {' | '.join(k)}" for k in sorted((want - have).elements())]
    lines += [f"+ {' | '.join(k)}" for k in sorted((have - want).elements())]
    return lines


def _verifier(folder: Path, fmt: str = "v1") -> tuple[Callable[[], object], Callable[[object], dict]]:
    from sds_core.verification.options import VerifyOptions
    from sds_core.verification.verify import verify_folder

    def check(result: object) -> dict:
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        diff = compare(result.graph_messages(), expected)  # type: ignore[attr-defined]
        return {"check": "FAIL" if diff else "PASS", "diff": diff}

    return lambda: verify_folder(folder, VerifyOptions(format=fmt)), check


def _profile(folder: Path) -> tuple[Callable[[], object], Callable[[object], dict]]:
    """The verifier on one thread, with its CPU seconds per phase (glue: what no phase holds)."""
    import pyarrow as pa

    from sds_core.verification import profile
    from sds_core.verification.verify import verify_folder

    def work() -> dict[str, float]:
        pa.set_cpu_count(1)
        pa.set_io_thread_count(1)
        started = time.process_time()
        profile.start()
        try:
            verify_folder(folder)
        finally:
            phases = profile.stop()
        phases["glue"] = time.process_time() - started - sum(phases.values())
        return phases

    return work, lambda phases: {"phases": phases}


def _parse(folder: Path) -> tuple[Callable[[], object], Callable[[object], dict]]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    def work() -> int:
        rows = 0
        for file in FILES:
            path = folder / file
            with path.open(encoding="utf-8", newline="") as f:
                names = f.readline().rstrip("\r\n").split(",")
            table = pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=lambda row: "skip"),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                    quoted_strings_can_be_null=False),
            )
            rows += table.num_rows
        return rows

    return work, lambda rows: {"rows": rows}


def _frictionless(folder: Path) -> tuple[Callable[[], object], Callable[[object], dict]]:
    from bench.frictionless_schema import validate

    def check(counts: object) -> dict:
        rows = counts.pop("rows")  # type: ignore[attr-defined]
        return {"rows": rows, "errors": sum(counts.values())}  # type: ignore[attr-defined]

    return lambda: validate(folder), check


def _peer(module: str) -> Callable[[Path], tuple[Callable[[], object], Callable[[object], dict]]]:
    def make(folder: Path) -> tuple[Callable[[], object], Callable[[object], dict]]:
        import importlib

        from bench.peer_rules import messages
        peer = importlib.import_module(f"bench.{module}")

        def check(counts: object) -> dict:
            expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
            diff = compare(messages(counts), expected)  # type: ignore[arg-type]
            return {"check": "FAIL" if diff else "PASS", "diff": diff}

        return lambda: peer.validate(folder), check

    return make


def _message_peer(
    module: str,
) -> Callable[[Path], tuple[Callable[[], object], Callable[[object], dict]]]:
    """A peer that gives the messages themselves (the fast peers, bench/peer_fast_spec.py)."""
    def make(folder: Path) -> tuple[Callable[[], object], Callable[[object], dict]]:
        import importlib
        peer = importlib.import_module(f"bench.{module}")

        def check(found: object) -> dict:
            expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
            diff = compare(found, expected)  # type: ignore[arg-type]
            return {"check": "FAIL" if diff else "PASS", "diff": diff}

        return lambda: peer.validate(folder), check

    return make


TOOLS = {"verifier": _verifier, "verifier-v2.1": lambda folder: _verifier(folder, "v2.1"),
         "profile": _profile, "parse": _parse, "frictionless": _frictionless,
         "polars": _peer("peer_polars"), "duckdb": _peer("peer_duckdb"),
         "polars-fast": _message_peer("peer_polars_fast"),
         "duckdb-fast": _message_peer("peer_duckdb_fast")}


def measure(tool: str, folder: Path) -> dict[str, object]:
    """Run one tool once on one folder and describe the run."""
    work, check = TOOLS[tool](folder)
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    return {"tool": tool, "seconds": seconds, "rss_mib": peak_rss_mib(), **check(result)}


def main(argv: list[str]) -> int:
    """Command line: measure one tool on one folder, print JSON."""
    tool, folder = argv
    print(json.dumps(measure(tool, Path(folder))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
