"""Where the verifier's memory goes: resident memory at each step of one verification.

Usage: python bench/rss_timeline.py FOLDER [FOLDER ...]

Each folder is verified in a fresh process that samples its own resident set every 2 ms and
marks the steps: each file read and parsed, each file checked, and the enrollments' pair search.
Prints, per step, the resident memory when it began and the highest seen during it (MiB), so
that two scales side by side show which parts grow with the rows and which stay put.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4 / 1024


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE_MIB


class Sampler:
    """The highest resident set seen during each step still open, sampled on a thread."""

    def __init__(self) -> None:
        self.open: dict[int, list[float]] = {}  # [highest so far] of each step under way
        self.steps: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.002):
            rss = _rss_mib()
            with self._lock:
                for high in self.open.values():
                    high[0] = max(high[0], rss)

    def step(self, name: str, work, *args, **kwargs):  # noqa: ANN001, ANN201 - wraps any call
        """Run `work`, recording the memory at its start, the highest during it, and Arrow's
        own allocations at its end (the rest is the interpreter, numpy and freed pages kept)."""
        import pyarrow as pa

        start = _rss_mib()
        high = [start]
        with self._lock:
            self.open[id(high)] = high
        try:
            return work(*args, **kwargs)
        finally:
            with self._lock:
                del self.open[id(high)]
            self.steps.append({"step": name, "start": round(start), "high": round(max(high[0], _rss_mib())),
                               "arrow_end": round(pa.total_allocated_bytes() / 2**20)})

    def stop(self) -> None:
        """Stop sampling."""
        self._done.set()
        self._thread.join()


def child(folder: str) -> None:
    """Verify one folder with the steps marked; print them as JSON."""
    from sds_core.verification import checks, verify

    sampler = Sampler()
    read, check_file, pairs = verify._read, verify._check_file, checks.FileChecker.duplicate_pairs
    # Reads run on the reader thread beside the checks: their marks say when, not what alone.
    verify._read = lambda name, *a: sampler.step(f"read {name}", read, name, *a)
    verify._check_file = lambda spec, *a: sampler.step(f"check {spec.name}", check_file, spec, *a)
    checks.FileChecker.duplicate_pairs = lambda self, *a: sampler.step("  pair search", pairs, self, *a)
    started = time.perf_counter()
    verify.verify_folder(folder)
    seconds = time.perf_counter() - started
    sampler.stop()
    print(json.dumps({"seconds": seconds, "steps": sampler.steps}))


def main(argv: list[str]) -> int:
    """Command line."""
    if not argv:
        print(__doc__)
        return 2
    for folder in argv:
        out = subprocess.run([sys.executable, __file__, "--child", folder], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out)
        print(f"{folder}: {result['seconds']:.2f} s")
        print(f"  {'step (in the order they ended)':<40} {'start MiB':>10} {'high MiB':>10} {'Arrow at end':>13}")
        for step in result["steps"]:
            print(f"  {step['step']:<40} {step['start']:>10} {step['high']:>10} {step['arrow_end']:>13}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, str(ROOT))
        child(sys.argv[2])
    else:
        raise SystemExit(main(sys.argv[1:]))
