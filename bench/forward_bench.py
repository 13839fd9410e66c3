"""Overhead of the School Data Sync forwarder: worker pick-up to the last byte uploaded, peak memory.

Usage: python bench/forward_bench.py [--data DIR]   (DIR: a generated set, default bench/data/L;
`python bench/generate.py --scale L` makes it)

Azurite (private ports) holds the frozen files; the fake Industry Data server of the tests runs
in its own process, with its Data Lake Gen2 stand-in, where the upload session is. The setup
(profile, uploads, snapshots, a queued run) runs in one process, the measured delivery in a fresh
one, so its peak RSS is the forwarder's own: the first delivery of the run (upload session, the
six files streamed from their snapshots by Gen2 create, appends and flush, validate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peak import peak_kib  # noqa: E402 - after the path is set
from sds_core.sync.source import FILE_NAMES  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FILES = FILE_NAMES  # the six canonical names, in the sync's order


def _path(data: Path, name: str) -> Path:
    """The generated file of a canonical name (the generator writes `School.csv`)."""
    return next(p for p in data.iterdir() if p.name.lower() == name)


def setup(data: Path, ids: dict[str, str]) -> dict[str, str]:
    """A profile bound to the fake's connector, its files frozen and a run queued: the message."""
    import azure.functions as func

    from sds_app.blueprints import profiles as api
    from sds_app.settings import UPLOAD_CONTAINER
    from sds_app.storage.clients import get_account
    from sds_app.storage.profiles import ProfileStore
    from sds_core.models import status as run_status

    body = json.dumps(
        {
            "displayName": "bench",
            "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
        }
    ).encode()
    answer = api.create_profile(
        func.HttpRequest(
            "POST",
            "http://localhost/beta/education/synchronizationProfiles",
            headers={"Content-Type": "application/json"},
            body=body,
        )
    )
    pid = json.loads(answer.get_body())["id"]
    account = get_account()
    container = account.blobs.get_container_client(UPLOAD_CONTAINER)
    frozen = {}
    for name in FILES:
        blob = container.get_blob_client(f"{pid}/{name}")
        with _path(data, name).open("rb") as stream:
            blob.upload_blob(stream, overwrite=True, max_concurrency=4)
        snap = blob.create_snapshot()
        frozen[name] = run_status.FrozenFile(
            blob=blob.blob_name, snapshot=snap["snapshot"], etag=snap["etag"]
        )
    run_id = str(uuid.uuid4())

    def begin(record):  # noqa: ANN001, ANN202
        moved = run_status.start(record.status, record.run, run_id, frozen, datetime.now(UTC))
        return record.model_copy(
            update={"status": moved.status, "run": moved.run, "industryData": ids}
        )

    ProfileStore(account).update(pid, begin)
    return {"schemaVersion": 1, "profileId": pid, "runId": run_id, "reason": "start"}


def measured(message: dict[str, str]) -> dict[str, float]:
    """One delivery of the run's message; seconds to the last byte uploaded, peak RSS."""
    import azure.functions as func

    from sds_app.blueprints import sync_worker
    from sds_app.graph.client import IndustryDataClient
    from sds_app.storage.clients import get_account

    get_account()  # the clients, built before the clock starts as in a warm host
    before = peak_kib()
    marks: dict[str, float] = {}
    real_validate = IndustryDataClient.validate

    def validate(self, connector_id):  # noqa: ANN001, ANN202
        marks["uploaded"] = time.perf_counter()
        return real_validate(self, connector_id)

    IndustryDataClient.validate = validate  # type: ignore[method-assign]
    sync_worker._delay = lambda seconds: seconds  # noqa: SLF001 - the re-check stays queued
    started = time.perf_counter()
    sync_worker.handle_sync(
        func.queue.QueueMessage(id="bench", body=json.dumps(message).encode(), dequeue_count=1),
        get_account(),
    )
    done = time.perf_counter()
    peak = peak_kib()
    return {
        "to_last_byte_s": marks["uploaded"] - started,
        "delivery_s": done - started,
        "peak_rss_mib": peak / 1024,
        "rss_before_mib": before / 1024,
    }


def _run(command: list[str], env: dict[str, str], given: str | None = None) -> str:
    done = subprocess.run(
        command, env=env, input=given, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{command[-1]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    """Start Azurite and the fake, set up, measure one delivery in a fresh process, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "L")
    parser.add_argument("--phase", choices=("setup", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "setup":
        print(json.dumps(setup(args.data, json.loads(os.environ["BENCH_IDS"]))))
        return 0
    if args.phase == "measure":
        print(json.dumps(measured(json.loads(sys.stdin.read()))))
        return 0

    from tests.azurite import AzuriteProcess

    azurite = AzuriteProcess()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakegraph.serve"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        endpoint = fake.stdout.readline().strip()
        ids = fake.stdout.readline().strip()
        upload_host = fake.stdout.readline().strip()
        env = {
            **os.environ,
            "AzureWebJobsStorage": azurite.azurite.connection_string,
            "SDS_AUTH_MODE": "none",
            "SDS_SYNC_TARGET": "schoolDataSync",
            "SDS_GRAPH_ENDPOINT": endpoint,
            "SDS_GRAPH_AUTH": "none",
            "SDS_UPLOAD_HOSTS": upload_host,
            "BENCH_IDS": ids,
        }
        me = [sys.executable, str(Path(__file__).resolve()), "--data", str(args.data)]
        message = _run([*me, "--phase", "setup"], env)
        result = _run([*me, "--phase", "measure"], env, message)
        figures = json.loads(result)
        figures["bytes"] = sum(_path(args.data, f).stat().st_size for f in FILES)
        figures["largest_file_bytes"] = max(_path(args.data, f).stat().st_size for f in FILES)
        print(json.dumps(figures, indent=2))
    finally:
        if fake.stdin:
            fake.stdin.close()
        fake.wait(timeout=30)
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
