"""Benchmark the verifier against a parse-only pass and frictionless, in one sitting.

Usage: python bench/run.py [--scales S,M,L,2L] [--orders section,student,shuffled]
                           [--tools parse,verifier,v2.1,polars,duckdb,polars-fast,duckdb-fast,
                                    frictionless,cli]
                           [--repeat N] [--profile]

Every measurement runs in a fresh process on the same generated files (generated first when
absent or stale), each scale in every row order. `v2.1` is the verifier on the v2.1 set of the
same district (bench/generate_v21.py), set beside the v1 set's figures. Prints a table and the
targets, and writes them as markdown to bench/out/latest.md. `--profile` also prints the verifier's serial CPU per phase.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import DATA_DIR, DEFAULT_SEED, ORDERS
from bench.generate_v21 import FILES as V21_FILES
from bench.layout import FILES, SCALES

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out" / "latest.md"
GENERATOR_SOURCES = ("layout.py", "values.py", "district.py", "defects.py", "inject.py",
                     "generate.py")
TOOLS = ("parse", "verifier", "v2.1", "cli", "polars", "duckdb", "polars-fast", "duckdb-fast",
         "frictionless")
# The plain peers, and the fast ones written from the rules only (bench/peer_*_fast.py).
PEERS = ("polars", "duckdb", "polars-fast", "duckdb-fast")
FRICTIONLESS_SCALES = ("S", "M")  # L takes minutes and M is enough for the comparison
CLI_SCALES = ("S", "L")
PEER_SCALES = ("S", "M", "L")  # 2L is there for the verifier's growth only
CHECKED = ("verifier", "v2.1", *PEERS)  # tools whose messages are compared with expected.json


@dataclass
class Runs:
    """The repeated measurements of one tool on one scale."""

    scale: str
    order: str
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


def ensure_data(scale: str, seed: int, order: str = "section", v21: bool = False) -> Path:
    """The folder of a scale's files in one row order (v1, or the v2.1 set of the same district),
    generated when absent or made by another generator version."""
    folder = DATA_DIR / f"{scale}-{order}{'-v2.1' if v21 else ''}"
    here = Path(__file__).resolve().parent
    sources = GENERATOR_SOURCES + (("generate_v21.py",) if v21 else ())
    digest = hashlib.sha256(b"".join((here / f).read_bytes() for f in sources))
    stamp = {"seed": seed, "order": order, "generator": digest.hexdigest()[:16]}
    stamp_file = folder / "generator.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp and all(
            (folder / f).exists() for f in (V21_FILES if v21 else FILES)):
        return folder
    started = time.perf_counter()
    # Written aside and swapped in, so that a reader of the old files is not cut short.
    fresh = folder.with_name(f".{folder.name}.new-{os.getpid()}")
    # In a child: generating L takes 1.6 GiB, and the peak of this process would be inherited by
    # every child measured after it (the CLI's peak is this process's wait4 figure).
    subprocess.run([sys.executable, "-m", "bench.generate_v21" if v21 else "bench.generate", "--scale", scale,
                    "--order", order, "--seed", str(seed), "--out", str(fresh)], cwd=ROOT, check=True)
    (fresh / "generator.json").write_text(json.dumps(stamp) + "\n")
    if folder.exists():
        stale = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        folder.rename(stale)
        shutil.rmtree(stale)
    fresh.rename(folder)
    print(f"generated {scale} {order} in {time.perf_counter() - started:.1f} s: {folder}", flush=True)
    return folder


def run_child(tool: str, folder: Path, timeout: float) -> dict[str, object]:
    """Measure one tool in a fresh interpreter; the CLI is timed from outside, start-up included."""
    if tool == "cli":
        command = [sys.executable, "-m", "sds_core", "verify", str(folder)]
    else:
        command = [sys.executable, "-m", "bench.measure", "verifier-v2.1" if tool == "v2.1" else tool, str(folder)]
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


Key = tuple[str, str, str]  # scale, order, tool


def plan(scales: list[str], orders: list[str], tools: list[str]) -> list[Key]:
    """(scale, order, tool) triples to measure, in table order."""
    triples = []
    for scale in scales:
        for order in orders:
            for tool in TOOLS:
                if tool not in tools:
                    continue
                if tool == "frictionless" and scale not in FRICTIONLESS_SCALES:
                    continue
                if tool == "cli" and scale not in CLI_SCALES:
                    continue
                if tool in PEERS and scale not in PEER_SCALES:
                    continue
                triples.append((scale, order, tool))
    return triples


def measure_all(triples: list[Key], repeat: int, seed: int) -> dict[Key, Runs]:
    """Every measurement, repeats interleaved so that drift in the machine's load spreads evenly."""
    folders = {(s, o): ensure_data(s, seed, o) for s, o in dict.fromkeys((s, o) for s, o, _ in triples)}
    v21_folders = {(s, o): ensure_data(s, seed, o, v21=True)
                   for s, o in dict.fromkeys((s, o) for s, o, t in triples if t == "v2.1")}
    results = {key: Runs(*key) for key in triples}
    for round_ in range(repeat):
        for scale, order, tool in triples:
            runs = results[(scale, order, tool)]
            if runs.failure:
                continue
            timeout = 1800 if tool == "frictionless" else 600
            folder = v21_folders[(scale, order)] if tool == "v2.1" else folders[(scale, order)]
            outcome = run_child(tool, folder, timeout)
            if "error" in outcome:
                runs.failure = str(outcome["error"])
                print(f"  {scale} {order} {tool}: ERROR {runs.failure}", flush=True)
                continue
            runs.seconds.append(float(outcome["seconds"]))  # type: ignore[arg-type]
            if outcome.get("rss_mib") is not None:
                runs.rss_mib.append(float(outcome["rss_mib"]))  # type: ignore[arg-type]
            if "check" in outcome:
                runs.checks.append(str(outcome["check"]))
                runs.diff = list(outcome.get("diff", []))  # type: ignore[arg-type]
            print(f"  round {round_ + 1}: {scale} {order} {tool} {outcome['seconds']:.3f} s"
                  f"{' ' + str(outcome['check']) if 'check' in outcome else ''}", flush=True)
    return results


def targets(results: dict[Key, Runs], orders: list[str]) -> list[tuple[str, str, str]]:
    """(target, figure, met / NOT MET / not measured) for the issue's targets, order by order."""
    def median(scale: str, order: str, tool: str) -> float | None:
        runs = results.get((scale, order, tool))
        return runs.median if runs else None

    def peak(scale: str, order: str, tool: str) -> float | None:
        runs = results.get((scale, order, tool))
        return runs.peak if runs else None

    rows: list[tuple[str, str, str]] = []

    def add(target: str, figure: float | None, ok: Callable[[float], bool], fmt: str) -> None:
        if figure is None:
            rows.append((target, "-", "not measured"))
        else:
            rows.append((target, fmt.format(figure), _met(ok(figure))))

    def ratio(x: float | None, y: float | None) -> float | None:
        return x / y if x is not None and y else None

    for order in orders:
        parse = median("L", order, "parse")
        verifier = median("L", order, "verifier")
        add(f"{order}: L verified <= 3x parse (in process)", ratio(verifier, parse),
            lambda x: x <= 3, "{:.2f}x")
        add(f"{order}: L verified <= 3x parse (whole CLI process)",
            ratio(median("L", order, "cli"), parse), lambda x: x <= 3, "{:.2f}x")
        rss = peak("L", order, "verifier")
        add(f"{order}: L verifier peak RSS <= 700 MB", None if rss is None else rss * 2**20 / 1e6,
            lambda x: x <= 700, "{:.0f} MB")
        peers = [t for t in (median("L", order, peer) for peer in PEERS) if t]
        add(f"{order}: L >= 2x faster than the faster peer",
            ratio(min(peers), verifier) if peers else None, lambda x: x >= 2, "{:.1f}x")
        add(f"{order}: M >= 50x faster than frictionless",
            ratio(median("M", order, "frictionless"), median("M", order, "verifier")),
            lambda x: x >= 50, "{:.0f}x")
        add(f"{order}: S through the CLI < 0.5 s wall", median("S", order, "cli"),
            lambda x: x < 0.5, "{:.2f} s")
        add(f"{order}: 2L time <= 2.1x L", ratio(median("2L", order, "verifier"), verifier),
            lambda x: x <= 2.1, "{:.2f}x")
        add(f"{order}: 2L peak RSS <= 1.3x L", ratio(peak("2L", order, "verifier"), rss),
            lambda x: x <= 1.3, "{:.2f}x")
    return rows


def v21_beside_v1(results: dict[Key, Runs]) -> list[list[str]]:
    """Rows of the v2.1 table: the verifier on each v2.1 set beside the v1 set of the same district."""
    rows = [["scale", "order", "v1 rows", "v2.1 rows", "v1 s", "v2.1 s", "v2.1/v1", "v1 peak MiB",
             "v2.1 peak MiB"]]
    for (scale, order, tool), runs in results.items():
        v1 = results.get((scale, order, "verifier"))
        if tool != "v2.1" or v1 is None or runs.median is None or v1.median is None:
            continue
        v21_rows = sum(_data_rows(DATA_DIR / f"{scale}-{order}-v2.1" / f) for f in V21_FILES)
        rows.append([scale, order, f"{SCALES[scale].total_rows:,}", f"{v21_rows:,}", f"{v1.median:.3f}",
                     f"{runs.median:.3f}", f"{runs.median / v1.median:.2f}x", f"{v1.peak:.0f}", f"{runs.peak:.0f}"])
    return rows


def _data_rows(path: Path) -> int:
    """Lines after the header (the generated v2.1 files hold no line break inside a value)."""
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1


PHASES = ("parse", "formats", "uniqueness", "references", "pairs", "glue")


def profiles(scale: str, orders: list[str], repeat: int, seed: int) -> list[list[str]]:
    """Rows of the profile table: the verifier's serial CPU seconds per phase, per order (the
    lowest of `repeat` runs, the one least disturbed by other load), header first."""
    rows = [["scale", "order", *PHASES, "total"]]
    for order in orders:
        folder = ensure_data(scale, seed, order)
        best: dict[str, float] = {}
        for _ in range(repeat):
            outcome = run_child("profile", folder, 600)
            if "error" in outcome:
                print(f"  profile {scale} {order}: ERROR {outcome['error']}", flush=True)
                break
            phases = outcome["phases"]  # type: ignore[index]
            for name in PHASES:
                best[name] = min(best.get(name, float("inf")), float(phases[name]))
        if best:
            rows.append([scale, order, *(f"{best[n]:.2f}" for n in PHASES), f"{sum(best.values()):.2f}"])
    return rows


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def table(results: dict[Key, Runs]) -> list[list[str]]:
    """Rows of the results table, header first."""
    rows = [["scale", "order", "rows", "tool", "seconds", "range", "peak RSS MiB", "x parse",
             "check"]]
    for (scale, order, tool), runs in results.items():
        parse = results.get((scale, order, "parse"))
        ratio = ""
        if runs.median and parse and parse.median and tool != "v2.1":  # v2.1 files are not those parsed
            ratio = f"{runs.median / parse.median:.1f}"
        spread = f"{min(runs.seconds):.2f}-{max(runs.seconds):.2f}" if runs.seconds else "-"
        rows.append([
            scale, order, f"{SCALES[scale].total_rows:,}", tool,
            f"{runs.median:.3f}" if runs.median is not None else "-", spread,
            f"{runs.peak:.0f}" if runs.peak is not None else "-", ratio,
            runs.check or "",
        ])
    return rows


TABLE_RIGHT = (2, 4, 5, 6, 7)


def peer_ratios(results: dict[Key, Runs]) -> list[list[str]]:
    """Rows of the peers table, header first: each peer's seconds over the verifier's, of the
    medians, round by round (the runs of one round are neighbours in time, so a ratio within a
    round is less exposed to the host's drift than the seconds are) and of the lowest of each
    (the runs least disturbed by other load)."""
    rows = [["scale", "order", "peer", "peer / verifier (medians)", "per round",
             "lowest / lowest", "peak RSS / verifier"]]
    for (scale, order, tool), runs in results.items():
        verifier = results.get((scale, order, "verifier"))
        if tool not in PEERS or not verifier or not verifier.median or not runs.median:
            continue
        paired = [p / v for p, v in zip(runs.seconds, verifier.seconds)]
        rows.append([scale, order, tool, f"{runs.median / verifier.median:.2f}x",
                     f"{min(paired):.2f}-{max(paired):.2f}x",
                     f"{min(runs.seconds) / min(verifier.seconds):.2f}x",
                     f"{runs.peak / verifier.peak:.2f}x" if runs.peak and verifier.peak else "-"])
    return rows


def render_text(rows: list[list[str]], right: tuple[int, ...] = (2, 4, 5, 6)) -> str:
    """Aligned plain-text table; the columns in `right` are right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i in right else c.ljust(w)
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
    parser.add_argument("--scales", default="S,M,L,2L")
    parser.add_argument("--orders", default=",".join(ORDERS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--profile", action="store_true",
                        help="also print the verifier's serial CPU per phase on L")
    args = parser.parse_args(argv)
    scales = [s.strip().upper() for s in args.scales.split(",") if s.strip()]
    orders = [o.strip() for o in args.orders.split(",") if o.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = ([s for s in scales if s not in SCALES] + [o for o in orders if o not in ORDERS]
               + [t for t in tools if t not in TOOLS])
    if unknown:
        parser.error(f"unknown scale, order or tool: {', '.join(unknown)}")
    results = measure_all(plan(scales, orders, tools), args.repeat, args.seed)
    rows = table(results)
    goals = targets(results, orders)
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    ratios = peer_ratios(results)
    print()
    print(render_text(rows, TABLE_RIGHT))
    if len(ratios) > 1:
        print()
        print(render_text(ratios, (3, 4, 5, 6)))
    print()
    print(render_text([["target", "figure", "status"], *map(list, goals)]))
    beside = v21_beside_v1(results)
    if len(beside) > 1:
        print("\nv2.1 set beside the v1 set of the same district (verifier in process, median):")
        print(render_text(beside))
    for runs in results.values():
        if runs.diff:
            print(f"\n{runs.scale} {runs.order} {runs.tool} messages differ from expected.json "
                  "(- expected, not given; + given, not expected):")
            print("\n".join(runs.diff))
        if runs.failure:
            print(f"\n{runs.scale} {runs.order} {runs.tool} failed: {runs.failure}")
    profile_md = ""
    if args.profile:
        # L, where the targets are set (the largest scale measured when L is not).
        chosen = "L" if "L" in scales else max(scales, key=lambda s: SCALES[s].total_rows)
        profile_rows = profiles(chosen, orders, args.repeat, args.seed)
        print(f"\nserial CPU seconds per phase (one thread, lowest of {args.repeat}):")
        print(render_text(profile_rows))
        profile_md = (f"\nSerial CPU seconds per phase (one thread, lowest of {args.repeat}):\n\n"
                      f"{render_markdown(profile_rows)}\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        f"Measured {datetime.date.today().isoformat()} on {machine()}, median of {args.repeat}, "
        f"with `{command.strip()}`.\n\n{render_markdown(rows)}\n\n"
        f"{render_markdown(ratios) + chr(10) * 2 if len(ratios) > 1 else ''}"
        f"{render_markdown([['target', 'figure', 'status'], *map(list, goals)])}\n"
        f"{chr(10) + render_markdown(beside) + chr(10) if len(beside) > 1 else ''}{profile_md}",
        encoding="utf-8")
    print(f"\nwritten: {OUT.relative_to(ROOT)}")
    return 1 if any(r.check in ("FAIL", "ERROR") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
