"""Every route and trigger of the app, invoked as Azure invokes them: through the worker's library.

One district's day in order (create, upload, verify, start, sync, read, pause, reset, delete),
each call routed, mapped and answered by the stand-in host (host.py). The last test checks that
every function of the binding table was invoked at least once.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from sds_app.settings import SYNC_QUEUE
from sds_app.storage.profiles import ProfileStore
from tests.app.bindings_table import FUNCTIONS
from tests.app.fixtures import AppEnv
from tests.app.flow import CSV_PROFILE
from tests.core.builders import sample_files
from tests.paths import SAMPLES
from tests.runtime.host import FunctionsHost, HttpAnswer, Invocation

ORIGIN = "http://localhost:7071"
ROOT = "/beta/education/synchronizationProfiles"
FILES = sample_files(SAMPLES / "sds-v1_25-users")
FAILED_REPEATEDLY = "The synchronization failed repeatedly and was stopped; call reset to try again."
state: dict[str, Any] = {}  # what one step leaves the next (the tests run in order)


def call(host: FunctionsHost, env: AppEnv, method: str, path: str, *, body: Any = None,
         headers: dict[str, str] | None = None) -> HttpAnswer:
    """A district script's request, with a valid token, through the host."""
    sent = {"Authorization": f"Bearer {env.token()}", **(headers or {})}
    raw = b""
    if body is not None:
        raw = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    return host.http(method, ORIGIN + path, headers=sent, body=raw)


def deliver(host: FunctionsHost, env: AppEnv, *, dequeue_count: int = 1, function: str = "run_sync") -> list[Invocation]:
    """Hand what waits on sds-sync to a queue trigger, decoded as the host decodes it (Base64)."""
    queue = env.account.queues.get_queue_client(SYNC_QUEUE)
    invocations = []
    for message in queue.receive_messages(max_messages=32, visibility_timeout=5):
        queue.delete_message(message)
        body = base64.b64decode(message.content).decode()
        invocations.append(host.queue(function, body, dequeue_count=dequeue_count, message_id=message.id,
                                      inserted=message.inserted_on))
    return invocations


def status(host: FunctionsHost, env: AppEnv, profile_id: str) -> dict[str, Any]:
    answer = call(host, env, "GET", f"{ROOT}/{profile_id}/profileStatus")
    assert answer.status == 200, answer.body
    return {k: answer.json[k] for k in ("status", "statusMessage")}


def test_a_profile_is_created_read_replaced_and_patched(host: FunctionsHost, runtime_env: AppEnv) -> None:
    created = call(host, runtime_env, "POST", ROOT, body=CSV_PROFILE)
    assert created.status == 202, created.body
    profile_id = state["id"] = created.json["id"]
    assert created.headers["location"] == f"{ORIGIN}/beta/education/synchronizationProfiles/{profile_id}"
    assert call(host, runtime_env, "GET", f"{ROOT}/{profile_id}").json["state"] == "provisioned"
    assert call(host, runtime_env, "PUT", f"{ROOT}/runtime-profile-2", body=CSV_PROFILE).status == 202
    patched = call(host, runtime_env, "PATCH", f"{ROOT}/{profile_id}", body={"displayName": "Renamed"})
    assert (patched.status, patched.json["displayName"]) == (202, "Renamed")


def test_the_collection_reads_its_options_as_sent(host: FunctionsHost, runtime_env: AppEnv) -> None:
    page = call(host, runtime_env, "GET", f"{ROOT}?$top=1&$count=true")
    assert (page.status, page.json["@odata.count"], len(page.json["value"])) == (200, 2, 1)
    # The host drops `$top=` and joins `$top=1&$top=2` into "1,2": the app reads the URL instead.
    empty = call(host, runtime_env, "GET", f"{ROOT}?$top=")
    assert (empty.status, empty.json["error"]["message"]) == (
        400, "Invalid value for $top: '' is not a non-negative integer.")
    twice = call(host, runtime_env, "GET", f"{ROOT}?$top=1&$top=2")
    assert (twice.status, twice.json["error"]["message"]) == (
        400, "Query option $top was specified more than once, it must be specified at most once.")


def test_uploads_are_verified_by_the_blob_trigger_with_an_sdk_client(
    host: FunctionsHost, runtime_env: AppEnv
) -> None:
    profile_id = state["id"]
    for route in ("uploadUrl", "uploadUrl()"):
        answer = call(host, runtime_env, "GET", f"{ROOT}/{profile_id}/{route}")
        assert answer.status == 200, answer.body
    container = ContainerClient.from_container_url(answer.json["value"])
    for name, data in {**FILES, "notes.txt": b"not a file of the set"}.items():
        container.upload_blob(name, data, overwrite=True)
    listed = call(host, runtime_env, "GET", f"{ROOT}/{profile_id}/uploads")
    assert sorted(u["name"] for u in listed.json["value"]) == sorted([*FILES, "notes.txt"])
    assert call(host, runtime_env, "DELETE", f"{ROOT}/{profile_id}/uploads/notes.txt").status == 204
    for name in FILES:
        invocation = host.blob("verify_upload", "sds-uploads", f"{profile_id}/{name}",
                               {"profileId": profile_id, "name": name})
        assert invocation.succeeded, invocation.response.result.exception.message
    report = call(host, runtime_env, "GET", f"{ROOT}/{profile_id}/verificationReport")
    assert (report.status, report.json["state"], report.json["hasErrors"]) == (200, "done", False)
    csv = call(host, runtime_env, "GET", f"{ROOT}/{profile_id}/verificationReport?$format=csv")
    assert (csv.status, csv.headers["content-type"].split(";")[0]) == (200, "text/csv")
    page = call(host, runtime_env, "GET", f"{ROOT}/{profile_id}/verificationReport",
                headers={"Accept": "text/html"})
    assert (page.status, page.body.startswith(b"<!DOCTYPE html>")) == (200, True)


def test_start_queues_a_run_that_the_queue_trigger_syncs(host: FunctionsHost, runtime_env: AppEnv) -> None:
    profile_id = state["id"]
    started = call(host, runtime_env, "POST", f"{ROOT}/{profile_id}/start")
    assert (started.status, started.json["value"]) == (200, [])
    (invocation,) = deliver(host, runtime_env)
    assert invocation.succeeded, invocation.response.result.exception.message
    # The queue message's metadata reached the handler: the delivery number is logged.
    assert any("delivery 1" in log.message for log in invocation.logs)
    assert status(host, runtime_env, profile_id) == {
        "status": "success",
        "statusMessage": "Synchronized: 28 added, 0 updated, 0 deactivated, 0 removed, 0 not synced (see errors).",
    }
    errors = call(host, runtime_env, "GET", f"{ROOT}/{profile_id}/errors?$count=true")
    assert (errors.status, errors.json["@odata.count"]) == (200, 0)


def test_the_synced_directory_is_served(host: FunctionsHost, runtime_env: AppEnv) -> None:
    for plural, navigation in (("schools", "users"), ("classes", "members"), ("users", "classes")):
        listed = call(host, runtime_env, "GET", f"/beta/education/{plural}?$top=5")
        assert listed.status == 200 and listed.json["value"], listed.body
        ident = listed.json["value"][0]["id"]
        assert call(host, runtime_env, "GET", f"/beta/education/{plural}/{ident}").json["id"] == ident
        nav = call(host, runtime_env, "GET", f"/beta/education/{plural}/{ident}/{navigation}")
        assert nav.status == 200, nav.body


def test_pause_resume_and_reset_answer_as_the_status_table_says(host: FunctionsHost, runtime_env: AppEnv) -> None:
    profile_id = state["id"]
    for verb in ("pause", "resume"):
        answer = call(host, runtime_env, "POST", f"{ROOT}/{profile_id}/{verb}")
        assert (answer.status, answer.json["error"]["code"]) == (409, "conflict")
    assert call(host, runtime_env, "POST", f"{ROOT}/{profile_id}/reset").status == 200
    state["reset_messages"] = deliver(host, runtime_env, function="sync_poisoned")
    assert [i.succeeded for i in state["reset_messages"]] == [True]
    assert status(host, runtime_env, profile_id) == {"status": "error", "statusMessage": FAILED_REPEATEDLY}


def test_a_failing_delivery_is_retried_until_its_dequeue_count_says_it_is_the_last(
    host: FunctionsHost, runtime_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = state["id"]
    # The worker module Azure loaded (host.py imports the app afresh, as a new process does).
    worker = sys.modules["sds_app.sync_run"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the planner broke")

    monkeypatch.setattr(worker, "plan_sync", broken)
    for delivery in (1, 5):
        assert call(host, runtime_env, "POST", f"{ROOT}/{profile_id}/reset").status == 200
        (invocation,) = deliver(host, runtime_env, dequeue_count=delivery)
        assert not invocation.succeeded  # the exception goes back to the host, which retries
        assert "the planner broke" in invocation.response.result.exception.message
        expected = "inProgress" if delivery == 1 else "error"
        assert status(host, runtime_env, profile_id)["status"] == expected


def test_an_unexpected_exception_becomes_the_500_envelope(
    host: FunctionsHost, runtime_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: ProfileStore, skip: int, top: int) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ProfileStore, "list", broken)
    answer = call(host, runtime_env, "GET", ROOT, headers={"client-request-id": "c-1"})
    inner = answer.json["error"]["innerError"]
    assert (answer.status, answer.headers["content-type"].split(";")[0]) == (500, "application/json")
    assert answer.json == {"error": {
        "code": "generalException",
        "message": "The request could not be processed; see the request-id in the logs.",
        "innerError": {"request-id": answer.headers["request-id"], "date": inner["date"],
                       "client-request-id": "c-1"},
    }}


def test_delete_is_purged_by_the_queue_trigger(host: FunctionsHost, runtime_env: AppEnv) -> None:
    profile_id = state["id"]
    assert call(host, runtime_env, "DELETE", f"{ROOT}/{profile_id}").status == 202
    assert [i.succeeded for i in deliver(host, runtime_env)] == [True]
    assert call(host, runtime_env, "GET", f"{ROOT}/{profile_id}").status == 404
    assert ProfileStore(runtime_env.account).get(profile_id) is None


def test_health_answers_without_a_token(host: FunctionsHost, runtime_env: AppEnv) -> None:
    answer = host.http("GET", ORIGIN + "/beta/health")
    assert (answer.status, answer.json) == (
        200, {"status": "healthy", "checks": {"blob": "ok", "queue": "ok", "table": "ok"}})


def test_the_tenant_check_is_routed_and_refuses_before_any_graph_call(
    host: FunctionsHost, runtime_env: AppEnv
) -> None:
    """Through the host: a read-only token is 403; a format the check does not take is 400 (neither
    reaches Microsoft Graph; tests/app/test_check.py runs the check against the stand-in)."""
    path = ORIGIN + "/beta/schoolDataSync/check"
    reader = host.http("POST", path, headers={"Authorization": f"Bearer {runtime_env.token(scp='EduAdministration.Read')}"})
    assert (reader.status, reader.json["error"]["code"]) == (403, "accessDenied")
    answer = call(host, runtime_env, "POST", "/beta/schoolDataSync/check?$format=xml", body={"dryUpload": True})
    assert (answer.status, answer.json["error"]["message"]) == (400, "$format must be json or text.")


def test_every_function_of_the_table_was_invoked(host: FunctionsHost) -> None:
    assert set(FUNCTIONS) - set(host.invoked) == set()

