"""Storage frozen (SIGSTOP of this test's own Azurite) or down: every route answers 503 within 10 s,
and the triggers fail within their deadline so the host retries.

The bound is the product's promise (sds_app/storage/deadlines.py), so the answers are timed: a
route stuck on storage would take the SDK's defaults, minutes, not a few seconds more.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sds_app.blueprints import directory, sync_worker, verification
from sds_app.blueprints import profiles as api
from sds_app.settings import UPLOAD_CONTAINER
from tests.app.fixtures import AppEnv, reset_caches
from tests.app.flow import create_profile, upload_and_verify
from tests.app.helpers import BASE, ROOT, Answer, call, request
from tests.app.test_directory_worker import message, sample_bytes
from tests.azurite import AzuriteProcess

BOUND_SECONDS = 10


@pytest.fixture
def own_storage(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppEnv, AzuriteProcess]]:
    """app_env on an Azurite of this test alone, which it may freeze or stop."""
    process = AzuriteProcess()
    monkeypatch.setenv("AzureWebJobsStorage", process.azurite.connection_string)
    reset_caches()
    try:
        yield app_env, process
    finally:
        if process.process.poll() is None:
            os.kill(process.process.pid, signal.SIGCONT)
        process.stop()
        reset_caches()


def routes(env: AppEnv, profile_id: str) -> dict[str, Callable[[], Answer]]:
    """One call of every HTTP route that touches storage."""
    item = f"{ROOT}/{profile_id}"

    def on(handler: Any, method: str, url: str, body: Any = None, **route: str) -> Callable[[], Answer]:
        return lambda: call(
            handler,
            request(method, url, route={"id": profile_id, **route}, body=body, token=env.token()),
        )

    body = {"displayName": "x", "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"}}
    return {
        "list": lambda: call(api.list_profiles, request("GET", ROOT, token=env.token())),
        "create": lambda: call(api.create_profile, request("POST", ROOT, body=body, token=env.token())),
        "get": on(api.get_profile, "GET", item),
        "put": on(api.replace_profile, "PUT", item, body),
        "patch": on(api.update_profile, "PATCH", item, {"displayName": "y"}),
        "delete": on(api.delete_profile, "DELETE", item),
        "uploadUrl": on(api.get_upload_url, "GET", f"{item}/uploadUrl"),
        "uploads": on(api.list_uploads, "GET", f"{item}/uploads"),
        "deleteUpload": on(api.delete_upload, "DELETE", f"{item}/uploads/x.csv", fileName="x.csv"),
        "start": on(verification.start_profile, "POST", f"{item}/start"),
        "report": on(verification.verification_report, "GET", f"{item}/verificationReport"),
        "status": on(api.get_profile_status, "GET", f"{item}/profileStatus"),
        "errors": on(api.list_errors, "GET", f"{item}/errors"),
        "pause": on(api.pause_profile, "POST", f"{item}/pause"),
        "reset": on(api.reset_profile, "POST", f"{item}/reset"),
        "users": lambda: call(directory.list_users, request("GET", f"{BASE}/education/users", token=env.token())),
        "schools": lambda: call(directory.list_schools, request("GET", f"{BASE}/education/schools", token=env.token())),
    }


def timed(calls: dict[str, Callable[[], Answer]]) -> dict[str, tuple[int, str, str | None, float]]:
    """Every call at once: (status, error code, Retry-After, seconds) of each."""

    def one(run: Callable[[], Answer]) -> tuple[int, str, str | None, float]:
        began = time.monotonic()
        answer = run()
        seconds = time.monotonic() - began
        code = answer.json["error"]["code"] if answer.status >= 400 else ""
        return answer.status, code, answer.headers.get("Retry-After"), seconds

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(one, run) for name, run in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def unavailable_in_time(results: dict[str, tuple[int, str, str | None, float]]) -> dict[str, Any]:
    """The calls that did not answer 503 serviceNotAvailable with Retry-After within the bound."""
    return {
        name: result
        for name, result in results.items()
        if result[:2] != (503, "serviceNotAvailable") or not result[2] or result[3] >= BOUND_SECONDS
    }


def test_every_route_answers_503_within_10_s_when_storage_freezes_or_goes_down(
    own_storage: tuple[AppEnv, AzuriteProcess],
) -> None:
    env, process = own_storage
    profile_id = create_profile(env)
    upload_and_verify(env, profile_id, sample_bytes("sds-v1_min-required"))
    calls = routes(env, profile_id)
    os.kill(process.process.pid, signal.SIGSTOP)
    assert unavailable_in_time(timed(calls)) == {}
    os.kill(process.process.pid, signal.SIGCONT)
    process.stop()
    assert unavailable_in_time(timed(calls)) == {}


def test_the_triggers_fail_within_their_deadline_when_storage_freezes(
    own_storage: tuple[AppEnv, AzuriteProcess],
) -> None:
    env, process = own_storage
    profile_id = create_profile(env)
    upload_and_verify(env, profile_id, sample_bytes("sds-v1_min-required"))
    blob = env.account.blobs.get_blob_client(UPLOAD_CONTAINER, f"{profile_id}/School.csv")
    os.kill(process.process.pid, signal.SIGSTOP)
    for name, run in {
        "verify_upload": lambda: verification.verify_upload(blob),
        "run_sync": lambda: sync_worker.run_sync(message(profile_id, "run-1")),
    }.items():
        began = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure hands the message back
            run()
        assert time.monotonic() - began < 30, name
