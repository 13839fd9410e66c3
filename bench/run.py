"""Benchmark the verifier against a parse-only pass and frictionless, in one sitting.

Usage: python bench/run.py [--scales S,M,L] [--tools verifier,parse,frictionless,cli] [--repeat N]

Every measurement runs in a fresh process on the same generated files (generated first when
absent or stale). Prints a table and writes it as markdown to bench/out/latest.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import DATA_DIR, DEFAULT_SEED, generate
from bench.layout import FILES, SCALES

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out" / "latest.md"
GENERATOR_SOURCES = ("layout.py", "values.py", "district.py", "defects.py", "inject.py",
                     "generate.py")
TOOLS = ("parse", "verifier", "frictionless", "cli")
FRICTIONLESS_SCALES = ("S", "M")  # L takes minutes and M is enough for the comparison
CLI_SCALES = ("S",)
RSS_LIMIT_MIB = 700e6 / 2**20  # 700 MB


@dataclass
class Runs:
    """The repeated measurements of one tool on one scale."""

    scale: str
    tool: str
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    failure: str = ""

    @property
    def median(self) -> float | None:
        """Median seconds, or None when no run succeeded."""
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def peak(self) -> float | None:
        """Highest peak RSS over the runs, MiB."""
        return max(self.rss_mib) if self.rss_mib else None

    @property
    def check(self) -> str:
        """PASS, FAIL or empty (no check for this tool)."""
        if self.failure:
            return "ERROR"
        return "FAIL" if "FAIL" in self.checks else ("PASS" if self.checks else "")


def ensure_data(scale: str, seed: int) -> Path:
    """The folder of a scale's files, generated when absent or made by another generator version."""
    folder = DATA_DIR / scale
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join((here / f).read_bytes() for f in GENERATOR_SOURCES))
    stamp = {"seed": seed, "generator": digest.hexdigest()[:16]}
    stamp_file = folder / "generator.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp and all(
            (folder / f).exists() for f in FILES):
        return folder
    started = time.perf_counter()
    # Written aside and swapped in, so that a reader of the old files is not cut short.
    fresh = folder.with_name(f".{scale}.new-{os.getpid()}")
    generate(fresh, SCALES[scale], seed)
    (fresh / "generator.json").write_text(json.dumps(stamp) + "\n")
    if folder.exists():
        stale = folder.with_name(f".{scale}.old-{os.getpid()}")
        folder.rename(stale)
        shutil.rmtree(stale)
    fresh.rename(folder)
    print(f"generated {scale} in {time.perf_counter() - started:.1f} s: {folder}", flush=True)
    return folder


def run_child(tool: str, folder: Path, timeout: float) -> dict[str, object]:
    """Measure one tool in a fresh interpreter; the CLI is timed from outside, start-up included."""
    if tool == "cli":
        command = [sys.executable, "-m", "sds_core", "verify", str(folder)]
    else:
        command = [sys.executable, "-m", "bench.measure", tool, str(folder)]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=stdout, stderr=stderr, text=True)
        killer = threading.Timer(timeout, child.kill)
        killer.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        killer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if wall >= timeout:
        return {"error": f"timed out after {timeout:.0f} s"}
    last_error = (err.strip().splitlines() or [f"exit {child.returncode}"])[-1]
    if tool == "cli":
        # The CLI exits non-zero when the files have Errors, which these files do: a crash or a
        # missing command shows as a traceback or as no output at all.
        if "Traceback" in err or not out.strip():
            return {"error": last_error}
        return {"seconds": wall, "rss_mib": usage.ru_maxrss / 1024}
    if child.returncode != 0:
        return {"error": last_error}
    return json.loads(out.strip().splitlines()[-1])


def plan(scales: list[str], tools: list[str]) -> list[tuple[str, str]]:
    """(scale, tool) pairs to measure, in table order."""
    pairs = []
    for scale in scales:
        for tool in TOOLS:
            if tool not in tools:
                continue
            if tool == "frictionless" and scale not in FRICTIONLESS_SCALES:
                continue
            if tool == "cli" and scale not in CLI_SCALES:
                continue
            pairs.append((scale, tool))
    return pairs


def measure_all(
    pairs: list[tuple[str, str]], repeat: int, seed: int
) -> dict[tuple[str, str], Runs]:
    """Every measurement, repeats interleaved so that drift in the machine's load spreads evenly."""
    folders = {scale: ensure_data(scale, seed) for scale in dict.fromkeys(s for s, _ in pairs)}
    results = {pair: Runs(*pair) for pair in pairs}
    for round_ in range(repeat):
        for scale, tool in pairs:
            runs = results[(scale, tool)]
            if runs.failure:
                continue
            timeout = 1800 if tool == "frictionless" else 600
            outcome = run_child(tool, folders[scale], timeout)
            if "error" in outcome:
                runs.failure = str(outcome["error"])
                print(f"  {scale} {tool}: ERROR {runs.failure}", flush=True)
                continue
            runs.seconds.append(float(outcome["seconds"]))  # type: ignore[arg-type]
            if outcome.get("rss_mib") is not None:
                runs.rss_mib.append(float(outcome["rss_mib"]))  # type: ignore[arg-type]
            if "check" in outcome:
                runs.checks.append(str(outcome["check"]))
                runs.diff = list(outcome.get("diff", []))  # type: ignore[arg-type]
            print(f"  round {round_ + 1}: {scale} {tool} {outcome['seconds']:.3f} s"
                  f"{' ' + str(outcome['check']) if 'check' in outcome else ''}", flush=True)
    return results


def targets(results: dict[tuple[str, str], Runs]) -> list[tuple[str, str, str]]:
    """(target, figure, met / not met / not measured) for the issue's three targets."""
    def get(scale: str, tool: str) -> Runs | None:
        return results.get((scale, tool))

    rows = []
    verifier, parse = get("L", "verifier"), get("L", "parse")
    if verifier and parse and verifier.median and parse.median and verifier.peak:
        ratio = verifier.median / parse.median
        rows.append(("L verified in <= 3x the parse-only time", f"{ratio:.2f}x", _met(ratio <= 3)))
        rows.append(("L verifier peak RSS <= 700 MB", f"{verifier.peak * 2**20 / 1e6:.0f} MB",
                     _met(verifier.peak <= RSS_LIMIT_MIB)))
    else:
        rows.append(("L verified in <= 3x the parse-only time", "-", "not measured"))
        rows.append(("L verifier peak RSS <= 700 MB", "-", "not measured"))
    verifier, friction = get("M", "verifier"), get("M", "frictionless")
    if verifier and friction and verifier.median and friction.median:
        speedup = friction.median / verifier.median
        rows.append(("M: >= 50x faster than frictionless", f"{speedup:.0f}x", _met(speedup >= 50)))
    else:
        rows.append(("M: >= 50x faster than frictionless", "-", "not measured"))
    cli = get("S", "cli")
    if cli and cli.median:
        rows.append(("S verified by the CLI in < 1 s wall", f"{cli.median:.2f} s",
                     _met(cli.median < 1)))
    else:
        rows.append(("S verified by the CLI in < 1 s wall", "-", "not measured"))
    return rows


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def table(results: dict[tuple[str, str], Runs]) -> list[list[str]]:
    """Rows of the results table, header first."""
    rows = [["scale", "rows", "tool", "seconds", "peak RSS MiB", "x parse", "check"]]
    for (scale, tool), runs in results.items():
        parse = results.get((scale, "parse"))
        ratio = ""
        if runs.median and parse and parse.median and tool != "cli":
            ratio = f"{runs.median / parse.median:.1f}"
        rows.append([
            scale, f"{SCALES[scale].total_rows:,}", tool,
            f"{runs.median:.3f}" if runs.median is not None else "-",
            f"{runs.peak:.0f}" if runs.peak is not None else "-", ratio,
            runs.check or "",
        ])
    return rows


def render_text(rows: list[list[str]]) -> str:
    """Aligned plain-text table."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i in (1, 3, 4, 5) else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def render_markdown(rows: list[list[str]]) -> str:
    """Markdown table."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def machine() -> str:
    """One line about where the figures come from."""
    import pyarrow
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, pyarrow {pyarrow.__version__}")


def main(argv: list[str] | None = None) -> int:
    """Command line: measure, print the table and the targets, write bench/out/latest.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="S,M,L")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    scales = [s.strip().upper() for s in args.scales.split(",") if s.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [s for s in scales if s not in SCALES] + [t for t in tools if t not in TOOLS]
    if unknown:
        parser.error(f"unknown scale or tool: {', '.join(unknown)}")
    results = measure_all(plan(scales, tools), args.repeat, args.seed)
    rows = table(results)
    goals = targets(results)
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print()
    print(render_text(rows))
    print()
    print(render_text([["target", "figure", "status"], *map(list, goals)]))
    for runs in results.values():
        if runs.diff:
            print(f"\n{runs.scale} {runs.tool} messages differ from expected.json "
                  "(- expected, not given; + given, not expected):")
            print("\n".join(runs.diff))
        if runs.failure:
            print(f"\n{runs.scale} {runs.tool} failed: {runs.failure}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        f"Measured {datetime.date.today().isoformat()} on {machine()}, median of {args.repeat}, "
        f"with `{command.strip()}`.\n\n{render_markdown(rows)}\n\n"
        f"{render_markdown([['target', 'figure', 'status'], *map(list, goals)])}\n",
        encoding="utf-8")
    print(f"\nwritten: {OUT.relative_to(ROOT)}")
    return 1 if any(r.check in ("FAIL", "ERROR") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
