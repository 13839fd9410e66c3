"""Hostile Graph answers against a build's IndustryDataClient: outcome, seconds, peak memory.

Usage: python bench/graph_hostile.py [--client DIR] [--bound SECONDS] [CASE ...]

The hostile server of tests/graph/hostile_server.py runs in this process; each case's call
runs in a fresh child process that imports `sds_app` from DIR (default: this checkout; give a
checkout of another build to compare), builds the client with that build's defaults, and
reports the call's outcome, its seconds and the growth of its peak RSS during the call (VmHWM
reset through /proc/self/clear_refs just before it). A call still running after `--bound`
seconds is killed and reported so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.graph.hostile_server import (  # noqa: E402
    Answer,
    HostileServer,
    MiB,
    bomb,
    deep_json,
    full,
    head,
    huge_string,
    raw,
    silence,
    trickled_body,
    trickled_head,
)

THROTTLED = b'{"error": {"code": "TooManyRequests", "message": "Slow down."}}'
CONNECTOR = b'{"id": "c1", "displayName": "CSV connector"}'
LIE = {"Content-Type": "application/json", "Content-Length": "1000"}


def _imf(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _throttled(value: str) -> list[Answer]:
    return [full(429, THROTTLED, {"Retry-After": value}), full(200, CONNECTOR)]


CASES: dict[str, Callable[[], list[Answer]]] = {
    "retry-after-date-2h": lambda: _throttled(_imf(7200)),
    "retry-after-date-10s": lambda: _throttled(_imf(10)),
    "retry-after-inf": lambda: _throttled("inf"),
    "retry-after-1e400": lambda: _throttled("1e400"),
    "retry-after-20-digits": lambda: _throttled("9" * 20),
    "retry-after-5000-chars": lambda: _throttled("5" * 5000),
    "retry-after-plus-5": lambda: _throttled("+5"),
    "retry-after-0x10": lambda: _throttled("0x10"),
    "retry-after-31-feb": lambda: _throttled("Tue, 31 Feb 2026 07:28:00 GMT"),
    "gzip-bomb-200": lambda: [bomb(200)],
    "gzip-bomb-400": lambda: [bomb(400)],
    "content-length-longer-closed": lambda: [raw(head(200, LIE) + CONNECTOR)],
    "content-length-longer-held": lambda: [raw(head(200, LIE) + CONNECTOR, then="hold")],
    "content-length-shorter": lambda: [
        raw(head(200, {"Content-Length": "11"}) + CONNECTOR, then="keep")
    ],
    "body-1-byte-per-s": lambda: [trickled_body(200, b'{"id": "' + b"x" * 200 + b'"}')],
    "headers-1-byte-per-s": lambda: [trickled_head(200, CONNECTOR)],
    "never-answers": lambda: [silence()],
    "deep-json-100k": lambda: [full(200, deep_json(100_000))],
    "huge-string-64MiB": lambda: [huge_string(64 * MiB)],
    "not-json-200": lambda: [full(200, b"<html>\x1b[2J proxy says no" + b" x" * 5000)],
}

CHILD = r"""
import json, re, sys, time
from pathlib import Path
from sds_app.graph import IndustryDataClient

def kib(field):
    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)[1])

client = IndustryDataClient(sys.argv[1])
Path("/proc/self/clear_refs").write_text("5")
before = kib("VmRSS")
started = time.monotonic()
try:
    value = client.get_connector("c1")
    outcome = "returned " + json.dumps(value)[:60]
except Exception as error:
    code = getattr(error, "code", None)
    status = getattr(error, "status", None)
    text = getattr(error, "graph_message", None) or str(error).replace(chr(10), " ")
    outcome = (f"GraphError {status} {code}" if code else type(error).__name__) + ": " + text[:80]
seconds = time.monotonic() - started
print(json.dumps({"outcome": outcome, "seconds": round(seconds, 2),
                  "peak_mib": round((kib("VmHWM") - before) / 1024, 1)}))
"""


def run_case(name: str, client_root: Path, bound: float) -> dict[str, object]:
    """One case in a fresh child against a fresh server."""
    server = HostileServer(script=CASES[name]()).start()
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, server.endpoint],
            cwd=client_root,
            env={"PYTHONPATH": str(client_root), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=bound,
        )
    except subprocess.TimeoutExpired:
        return {
            "case": name,
            "outcome": f"still running at {bound:g} s (killed)",
            "seconds": bound,
            "peak_mib": None,
        }
    finally:
        server.stop()
    if child.returncode != 0 or not child.stdout.strip():
        return {
            "case": name,
            "outcome": f"child failed: {child.stderr.strip()[-200:]}",
            "seconds": None,
            "peak_mib": None,
        }
    return {"case": name, **json.loads(child.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", type=Path, default=ROOT, help="checkout whose sds_app to call")
    parser.add_argument(
        "--bound", type=float, default=120.0, help="seconds before a call is killed"
    )
    parser.add_argument("cases", nargs="*", choices=[*CASES, []], help="default: every case")
    args = parser.parse_args(argv)
    for name in args.cases or list(CASES):
        print(json.dumps(run_case(name, args.client.resolve(), args.bound)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
