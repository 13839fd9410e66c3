"""Peak resident memory of a process: the high-water mark of the program it runs, not its parent's."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_kib(pid: int | str = "self") -> int:
    """VmHWM of a process in KiB (0 for one that is gone); ru_maxrss for this one where /proc is absent."""
    # ru_maxrss is not a program's own: Linux carries the parent's peak across fork and exec, so a
    # child of a bench that had generated data in-process reported the generator's 1.6 GiB.
    # VmHWM is the high-water mark of the address space exec gave the program.
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if pid == "self" else 0


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return peak_kib() / 1024
