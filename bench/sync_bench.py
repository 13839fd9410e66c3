"""Sync throughput on Azurite: a first sync, a re-sync with 1% of the rows changed, then the same again (no-op).

Usage: python bench/sync_bench.py --scale S|M|L [--data DIR] [--batch 2000] [--workers 4]

Each phase runs in its own process so its peak RSS is its own; Azurite is started once (private
ports, temporary folder) and its own peak memory is reported too. Records/s counts the data rows
of the six files per second of the whole phase (read, plan, write, baseline saved).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `sds_core`, `sds_app` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.layout import SCALES
from bench.peak import peak_kib, peak_rss_mib
from sds_app.storage.account import StorageAccount, StorageConfig
from sds_app.storage.directory import SyncStateStore, TableDirectory
from sds_core.sync import (
    SyncOptions,
    apply_plan,
    dump_baseline,
    load_baseline,
    plan_sync,
    read_source,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
PROFILE_ID = "bench-profile"
PROFILE = {
    "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
        "userDomains": [
            {"appliesTo": "student", "name": "students.example.edu"},
            {"appliesTo": "teacher", "name": "example.edu"},
        ],
    },
}
CHANGED_COLUMN = {
    "school.csv": "Name",
    "section.csv": "Section Name",
    "student.csv": "Last Name",
    "teacher.csv": "Last Name",
}


def file_bytes(path: Path, changed: bool) -> bytes:
    """The file as uploaded; with `changed`, every 100th row differs (a name, or a roster's section)."""
    if not changed:
        return path.read_bytes()
    column = CHANGED_COLUMN.get(path.name.lower(), "Section SIS ID")
    out = io.StringIO(newline="")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        writer = csv.writer(out, lineterminator="\r\n")
        header = next(reader)
        writer.writerow(header)
        at = header.index(column)
        first = ""
        for i, row in enumerate(reader):
            if i == 0 and column == "Section SIS ID":
                first = row[at]
            if i % 100 == 50 and at < len(row):
                # A name gets a suffix; a roster row moves to the first row's section.
                row[at] = first if column == "Section SIS ID" else row[at] + " Changed"
            writer.writerow(row)
    return out.getvalue().encode()


def phase(data: Path, connection: str, changed: bool, batch: int, workers: int) -> dict:
    """One sync of the files (as given, or with 1% changed) against the stored baseline."""
    files = {p.name.lower(): file_bytes(p, changed) for p in sorted(data.glob("*.csv"))}
    started = time.perf_counter()
    account = StorageAccount(StorageConfig(connection))
    state, target = SyncStateStore(account), TableDirectory(account, workers=workers)
    options = SyncOptions.from_profile(PROFILE)
    source = read_source(files, options)
    del files  # as the worker does: the bytes go once they are read
    read_s = time.perf_counter() - started
    plan = plan_sync(PROFILE_ID, source, options, load_baseline(state.load_baseline(PROFILE_ID)))
    plan_s = time.perf_counter() - started - read_s
    apply_plan(plan, target, 0, batch, lambda b: True)
    write_s = time.perf_counter() - started - read_s - plan_s
    state.save_baseline(PROFILE_ID, dump_baseline(plan.baseline))
    total = time.perf_counter() - started
    records = sum(source.rows.values())
    return {
        "records": records,
        "entities": len(source.schools) + len(source.classes) + len(source.users),
        "memberships": source.memberships,
        "changes": plan.counts(),
        "issues": len(plan.issues),
        "seconds": {
            "read": round(read_s, 1),
            "plan": round(plan_s, 1),
            "write": round(write_s, 1),
            "total": round(total, 1),
        },
        "records_per_second": round(records / total),
        "peak_rss_mib": round(peak_rss_mib()),
        "cpu_seconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
    }


def reads(connection: str) -> dict:
    """Milliseconds of the directory reads the API makes, at this size: pages, items, navigations."""
    target = TableDirectory(StorageAccount(StorageConfig(connection)))
    timings: dict[str, float] = {}

    def timed(name: str, call):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        result = call()
        timings[name] = round((time.perf_counter() - started) * 1000)
        return result

    users, after = timed("first page of 100 users", lambda: target.page("user", 100))
    for _ in range(9):
        users, after = target.page("user", 100, after)
    timed("11th page of 100 users (skiptoken)", lambda: target.page("user", 100, after))
    timed("first page of 100 classes", lambda: target.page("class", 100))
    klass = timed("one class by id", lambda: target.get("class", target.page("class", 1)[0][0].id))
    timed(
        "its members (one page)",
        lambda: target.rows(PROFILE_ID, "user", klass.linked_ids("members")[:100]),
    )
    school = target.page("school", 1)[0][0]
    timed(
        "100 users of a school",
        lambda: target.rows(PROFILE_ID, "user", school.linked_ids("users")[:100]),
    )
    return timings


def memory_azurite():  # noqa: ANN201 - tests.azurite.AzuriteProcess, imported late
    """Azurite on free ports, tables in memory only, with a larger heap (its disk save dies at L)."""
    from tests.azurite import AzuriteProcess

    return AzuriteProcess(in_memory=True, heap_mib=12288)


def _peak_kib(pid: int) -> int:
    """Peak RSS of a process and its children (Azurite's node), from /proc."""
    total = peak_kib(pid)
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            total += _peak_kib(int(child))
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--phase", choices=("first", "changed", "same"), help=argparse.SUPPRESS)
    parser.add_argument("--connection", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = args.data or DATA_DIR / args.scale
    if args.phase:
        result = phase(data, args.connection, args.phase != "first", args.batch, args.workers)
        print(json.dumps(result))
        return 0
    if not any(data.glob("*.csv")):
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("generate.py")),
                "--scale",
                args.scale,
                "--out",
                str(data),
            ],
            check=True,
        )
    azurite = memory_azurite()
    results = {"scale": args.scale, "batch": args.batch, "workers": args.workers}
    try:
        for name in ("first", "changed", "same"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--phase",
                    name,
                    "--connection",
                    azurite.azurite.connection_string,
                    "--data",
                    str(data),
                    "--batch",
                    str(args.batch),
                    "--workers",
                    str(args.workers),
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                raise SystemExit(f"phase {name} failed:\n{out.stderr[-3000:]}")
            results[name] = json.loads(out.stdout)
            print(name, out.stdout.strip(), flush=True)
        results["reads_ms"] = reads(azurite.azurite.connection_string)
        print("reads", json.dumps(results["reads_ms"]), flush=True)
        results["azurite_peak_rss_mib"] = round(_peak_kib(azurite.process.pid) / 1024)
    finally:
        azurite.stop()
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
