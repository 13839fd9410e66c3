"""Serial CPU per phase of a verification, for the benchmark's `--profile` (off unless started).

While a profile is recorded the verification runs on one thread (no read-ahead, no column
workers, pyarrow on one CPU), so the process CPU time between two marks belongs to one phase.
Phases nest: time spent in an inner phase is not counted in the outer one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("parse", "formats", "uniqueness", "references", "pairs")

_lock = threading.Lock()
_totals: dict[str, float] | None = None
_stack: list[list] = []  # [phase, started] of the phases open, innermost last


def start() -> None:
    """Begin recording (the verification then runs serially)."""
    global _totals
    with _lock:
        _totals = dict.fromkeys(PHASES, 0.0)
        _stack.clear()


def stop() -> dict[str, float]:
    """Stop recording; CPU seconds per phase."""
    global _totals
    with _lock:
        totals, _totals = _totals or {}, None
        _stack.clear()
    return totals


def recording() -> bool:
    """Whether a profile is being recorded."""
    return _totals is not None


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Count the CPU time of the block to `name` (nothing unless recording)."""
    if _totals is None:
        yield
        return
    now = time.process_time()
    if _stack:
        outer = _stack[-1]
        _totals[outer[0]] += now - outer[1]
    _stack.append([name, now])
    try:
        yield
    finally:
        now = time.process_time()
        name_, started = _stack.pop()
        if _totals is not None:
            _totals[name_] += now - started
        if _stack:
            _stack[-1][1] = now
