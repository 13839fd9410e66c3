"""`start` latency and upload-to-result time on Azurite, through the function handlers.

Usage: python bench/start_bench.py [--scale L] [--calls 200]

1. Uploads the scale's six files into a new profile's folder on a private Azurite.
2. Runs the blob trigger handler once, in a fresh process (its peak RSS is its own): the time from
   the upload's trigger to the stored result, for the whole set.
3. Calls `start` `--calls` times while the stored result is current. The generated data has Errors,
   so each call answers 400 with the messages and changes nothing: every call takes the same path.
Prints the figures as a table and writes them to bench/out/start.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `sds_app`, `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peak import peak_rss_mib  # noqa: E402 - after the path is set

OUT = Path(__file__).resolve().parent / "out"


def _env(connection: str) -> None:
    os.environ["AzureWebJobsStorage"] = connection
    os.environ["SDS_AUTH_MODE"] = "none"


def trigger_phase(connection: str, profile_id: str, blob: str) -> dict:
    """One run of the blob trigger handler, as the host would run it."""
    _env(connection)
    from sds_app.blueprints.verification import verify_upload
    from sds_app.settings import UPLOAD_CONTAINER
    from sds_app.storage.clients import get_account

    client = get_account().blobs.get_blob_client(UPLOAD_CONTAINER, f"{profile_id}/{blob}")
    started = time.perf_counter()
    verify_upload(client)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mib()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="L")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--phase", choices=["trigger"], help=argparse.SUPPRESS)
    parser.add_argument("--connection", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    parser.add_argument("--blob", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "trigger":
        print(json.dumps(trigger_phase(args.connection, args.profile, args.blob)))
        return 0

    from bench.run import ensure_data
    from tests.azurite import AzuriteProcess

    data = ensure_data(args.scale, 20240831)
    azurite = AzuriteProcess()
    try:
        connection = azurite.azurite.connection_string
        _env(connection)
        from sds_app.blueprints import profiles, verification
        from sds_app.settings import UPLOAD_CONTAINER
        from sds_app.storage.clients import get_account
        from tests.app.helpers import ROOT, call, request

        created = call(profiles.create_profile, request("POST", ROOT, body={
            "displayName": "bench",
            "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
        }))
        profile_id = created.json["id"]
        container = get_account().blobs.get_container_client(UPLOAD_CONTAINER)
        files = sorted(data.glob("*.csv"))
        for path in files:
            with path.open("rb") as handle:
                container.upload_blob(f"{profile_id}/{path.name}", handle, overwrite=True, max_concurrency=4)
        size = sum(p.stat().st_size for p in files)

        done = subprocess.run(
            [sys.executable, __file__, "--phase", "trigger", "--connection", connection,
             "--profile", profile_id, "--blob", files[-1].name],
            capture_output=True, text=True, check=True,
        )
        trigger = json.loads(done.stdout.strip().splitlines()[-1])

        start_request = request("POST", f"{ROOT}/{profile_id}/start", route={"id": profile_id})
        latencies, statuses = [], set()
        for _ in range(args.calls):
            began = time.perf_counter()
            answer = call(verification.start_profile, start_request)
            latencies.append((time.perf_counter() - began) * 1000)
            statuses.add(answer.status)
    finally:
        azurite.stop()

    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    rows = [
        ("upload to result (blob trigger, whole set)", f"{trigger['seconds']:.2f} s",
         f"{size / 2**20:.0f} MiB in 6 files; peak RSS {trigger['peak_rss_mib']:.0f} MiB"),
        ("start, stored result current: median", f"{statistics.median(latencies):.1f} ms",
         f"{args.calls} calls, status {sorted(statuses)}"),
        ("start, stored result current: p99", f"{p99:.1f} ms", "target: under 50 ms"),
    ]
    table = [f"Scale {args.scale}, Azurite on this machine", "", "| measure | figure | note |", "|---|---|---|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    print("\n".join(table))
    OUT.mkdir(exist_ok=True)
    (OUT / "start.md").write_text("\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
