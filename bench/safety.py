"""Measure how the app answers the hostile and careless cases of its safety issue, on Azurite.

    python bench/safety.py [--json]

Each case is driven through the real handlers (as the host calls them) on a private Azurite and
reported as status, seconds and bytes answered. The script uses only what every build of the app
has (the handlers, the storage account, the test helpers), so the same command measures an
earlier build checked out beside this one: that is how the before/after table was made.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from azure.storage.blob import ContainerClient, ContentSettings  # noqa: E402

from sds_app.blueprints import directory, verification  # noqa: E402
from sds_app.blueprints import profiles as api  # noqa: E402
from tests.app import tokens  # noqa: E402
from tests.app.fixtures import reset_caches  # noqa: E402
from tests.app.helpers import BASE, ROOT, Answer, call, request  # noqa: E402
from tests.azurite import AzuriteProcess  # noqa: E402
from tests.paths import SAMPLES  # noqa: E402

CSV = {"displayName": "Safety", "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"}}
Result = dict[str, Any]
WAIT_SECONDS = 120  # a route stuck longer than this is reported as unanswered


class App:
    """The app's settings pointed at one Azurite, with a token it trusts."""

    def __init__(self, azurite: AzuriteProcess, folder: Path) -> None:
        signer = tokens.Signer.generate()
        os.environ.update({
            "AzureWebJobsStorage": azurite.azurite.connection_string,
            "SDS_AUTH_MODE": "entra", "SDS_TENANT_ID": tokens.TENANT, "SDS_AUDIENCE": tokens.APP_ID_URI,
            "SDS_JWKS_URI": tokens.write_jwks(folder / "jwks.json", signer),
        })
        reset_caches()
        self.token = signer.sign(tokens.claims())
        self.azurite = azurite

    def on(self, handler: Any, method: str, url: str, body: Any = None, **route: str) -> Answer:
        return call(handler, request(method, url, route=route, body=body, token=self.token))

    def create(self) -> str:
        return self.on(api.create_profile, "POST", ROOT, CSV).json["id"]

    def upload(self, profile_id: str, files: dict[str, bytes], **settings: Any) -> None:
        url = self.on(api.get_upload_url, "GET", f"{ROOT}/{profile_id}/uploadUrl", id=profile_id).json["value"]
        container = ContainerClient.from_container_url(url)
        for name, data in files.items():
            container.upload_blob(name, data, overwrite=True, **settings)

    def trigger(self, blob_name: str) -> str:
        """Fire the blob trigger; 'ok' or the exception's name."""
        from sds_app.storage.clients import get_account

        try:
            verification.verify_upload(get_account().blobs.get_blob_client("sds-uploads", blob_name))
        except Exception as failure:  # noqa: BLE001 - the outcome is what is measured
            return type(failure).__name__
        return "ok"


def sample() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (SAMPLES / "sds-v1_min-required").glob("*.csv")}


def answer(run: Callable[[], Answer]) -> Result:
    began = time.monotonic()
    got = run()
    code = ""
    if got.status >= 400 and got.raw.startswith(b"{\"error\""):
        code = json.loads(got.raw)["error"]["code"]
    return {"status": got.status, "code": code, "seconds": round(time.monotonic() - began, 2), "bytes": len(got.raw)}


def case_ids(app: App) -> Result:
    """1. A profile with id `profiles`, verified: can profiles still be listed?"""
    app.on(api.replace_profile, "PUT", f"{ROOT}/profiles", CSV, id="profiles")
    app.upload("profiles", sample())
    for name in sample():
        app.trigger(f"profiles/{name}")
    return answer(lambda: app.on(api.list_profiles, "GET", ROOT))


def drain(app: App, profile_id: str) -> None:
    """Deliver the profile's queued messages to the worker (a build that purges from the queue)."""
    import base64

    import azure.functions as func

    from sds_app.blueprints import sync_worker
    from sds_app.storage.clients import get_account

    queue = get_account().queues.get_queue_client("sds-sync")
    for m in list(queue.receive_messages(max_messages=32, visibility_timeout=5)):
        body = base64.b64decode(m.content)
        if json.loads(body)["profileId"] == profile_id:
            queue.delete_message(m)
            try:
                sync_worker.run_sync(func.queue.QueueMessage(id=m.id, body=body, dequeue_count=5))
            except Exception:  # noqa: BLE001, S110 - the profile's state says how it ended
                pass


def case_stray(app: App) -> Result:
    """3. A stray `{A}\\..\\..\\sds-state\\x.csv` through A's SAS, then DELETE of A."""
    attacker = app.create()
    app.upload(attacker, sample())
    app.upload(attacker, {"..\\..\\sds-state\\x.csv": b"SIS ID,Name\r\n"})
    first = app.trigger(f"{attacker}/../../sds-state/x.csv")
    deleted = app.on(api.delete_profile, "DELETE", f"{ROOT}/{attacker}", id=attacker).status
    drain(app, attacker)
    after = app.on(api.get_profile, "GET", f"{ROOT}/{attacker}", id=attacker)
    state = after.json.get("state") if after.status == 200 else after.status
    again = app.trigger(f"{attacker}/../../sds-state/x.csv")
    return {"trigger": first, "DELETE": deleted, "then GET": state, "trigger after delete": again}


def case_gzip(app: App) -> Result:
    """5. A valid file uploaded with Content-Encoding: gzip: the trigger and start."""
    profile_id = app.create()
    files = sample()
    school = files.pop("School.csv") + b"".join(b"%d,School %d\r\n" % (n, n) for n in range(3, 3000))
    app.upload(profile_id, files)
    app.upload(profile_id, {"School.csv": gzip.compress(school)},
               content_settings=ContentSettings(content_encoding="gzip"))
    outcome = app.trigger(f"{profile_id}/School.csv")
    started = answer(lambda: app.on(verification.start_profile, "POST", f"{ROOT}/{profile_id}/start", id=profile_id))
    return {"trigger": outcome, **started}


def case_bad_numbers(app: App) -> dict[str, Result]:
    """9. Paging and bodies out of range."""
    deep = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return {
        "$top=²": answer(lambda: app.on(api.list_profiles, "GET", f"{ROOT}?$top=²")),
        "5,000-digit number": answer(
            lambda: app.on(api.create_profile, "POST", ROOT, b'{"displayName": ' + b"9" * 5000 + b"}")
        ),
        "deep body": answer(lambda: app.on(api.create_profile, "POST", ROOT, deep)),
        "100k $skiptoken": answer(
            lambda: app.on(directory.list_users, "GET", f"{BASE}/education/users?$skiptoken=" + "A" * 100_000)
        ),
        "$skip=10^20": answer(
            lambda: app.on(directory.list_users, "GET", f"{BASE}/education/users?$skip=" + "1" + "0" * 20)
        ),
    }


def case_storage(app: App) -> dict[str, Result]:
    """6. Storage frozen (SIGSTOP), then down: the slowest of a dozen routes called at once."""
    profile_id = app.create()
    item = f"{ROOT}/{profile_id}"
    calls = {
        "list": lambda: app.on(api.list_profiles, "GET", ROOT),
        "create": lambda: app.on(api.create_profile, "POST", ROOT, CSV),
        "get": lambda: app.on(api.get_profile, "GET", item, id=profile_id),
        "start": lambda: app.on(verification.start_profile, "POST", f"{item}/start", id=profile_id),
        "uploadUrl": lambda: app.on(api.get_upload_url, "GET", f"{item}/uploadUrl", id=profile_id),
        "status": lambda: app.on(api.get_profile_status, "GET", f"{item}/profileStatus", id=profile_id),
        "users": lambda: app.on(directory.list_users, "GET", f"{BASE}/education/users"),
    }

    def slowest() -> Result:
        pool = ThreadPoolExecutor(len(calls))
        futures = [pool.submit(answer, run) for run in calls.values()]
        done, waiting = wait(futures, timeout=WAIT_SECONDS)
        pool.shutdown(wait=False, cancel_futures=True)
        results = [f.result() for f in done]
        statuses = sorted({f"{r['status']} {r['code']}" for r in results})
        if waiting:
            statuses.append(f"{len(waiting)} of {len(futures)} unanswered after {WAIT_SECONDS} s")
        worst = max((r["seconds"] for r in results), default=None) if not waiting else f">{WAIT_SECONDS}"
        return {"statuses": statuses, "slowest seconds": worst}

    pid = app.azurite.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen = slowest()
    finally:
        os.kill(pid, signal.SIGCONT)
    app.azurite.stop()
    return {"frozen": frozen, "down": slowest()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    cases = {
        "1 id 'profiles', then list": case_ids, "3 stray name": case_stray, "5 gzip upload": case_gzip,
        "9 out of range": case_bad_numbers, "6 storage": case_storage,
    }
    with tempfile.TemporaryDirectory() as folder:
        azurite = AzuriteProcess()
        try:
            app = App(azurite, Path(folder))
            for name, case in cases.items():
                results[name] = case(app)
                if not args.json:
                    print(f"{name}: {json.dumps(results[name], ensure_ascii=False)}", flush=True)
        finally:
            if azurite.process.poll() is None:
                os.kill(azurite.process.pid, signal.SIGCONT)
                azurite.stop()
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    os._exit(0)  # calls of an older build may still hang on stopped storage: do not wait for them


if __name__ == "__main__":
    main()
