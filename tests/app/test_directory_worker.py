"""The sync worker end to end on Azurite: frozen files in, status, errors and directory out."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.storage.queue import TextBase64DecodePolicy

from sds_app import sync_run
from sds_app.blueprints import profiles as api
from sds_app.blueprints import sync_worker, verification
from sds_app.blueprints.directory import get_user, list_users
from sds_app.settings import SYNC_QUEUE, UPLOAD_CONTAINER
from sds_app.storage.directory import SyncStateStore, TableDirectory
from sds_app.storage.profiles import ProfileStore
from sds_core.models import status as run_status
from sds_core.models.status import FrozenFile
from sds_core.sync import entity_id
from tests.app.fixtures import AppEnv
from tests.app.flow import deliver
from tests.app.helpers import BASE, ROOT, call, request
from tests.core.sync.test_data import SAMPLES, SETS, expected_counts, sample

PROFILE = {
    "displayName": "Worker test",
    "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
    "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
        "userDomains": [
            {"appliesTo": "student", "name": "students.example.edu"},
            {"appliesTo": "teacher", "name": "example.edu"},
        ],
    },
}


def sample_bytes(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (SAMPLES / folder).glob("*.csv")}


MATCHING = {
    **PROFILE,
    "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
        "matchingOptions": [
            {
                "appliesTo": role,
                "sourcePropertyName": "Username",
                "targetPropertyName": "userPrincipalName",
                "targetDomain": "example.edu",
            }
            for role in ("student", "teacher")
        ],
    },
}


def create(env: AppEnv, body: dict[str, Any] = PROFILE) -> str:
    answer = call(api.create_profile, request("POST", ROOT, body=body, token=env.token()))
    assert answer.status == 202, answer.raw
    profile_id = answer.json["id"]
    assert (
        call(
            api.get_profile,
            request("GET", f"{ROOT}/{profile_id}", route={"id": profile_id}, token=env.token()),
        ).json["state"]
        == "provisioned"
    )
    return profile_id


def start(env: AppEnv, profile_id: str, files: dict[str, bytes]) -> str:
    """What `start` does after a clean verification: upload, freeze snapshots, queue a run."""
    container = env.account.blobs.get_container_client(UPLOAD_CONTAINER)
    frozen = {}
    for name, data in files.items():
        blob = container.get_blob_client(f"{profile_id}/{name}")
        blob.upload_blob(data, overwrite=True)
        snap = blob.create_snapshot()
        frozen[name.lower()] = FrozenFile(
            blob=blob.blob_name, snapshot=snap["snapshot"], etag=snap["etag"]
        )
    run_id = str(uuid.uuid4())

    def begin(record: Any) -> Any:
        moved = run_status.start(record.status, record.run, run_id, frozen, datetime.now(UTC))
        return record.model_copy(update={"status": moved.status, "run": moved.run})

    ProfileStore(env.account).update(profile_id, begin)
    return run_id


def message(
    profile_id: str, run_id: str, reason: str = "start", dequeue_count: int = 1
) -> func.QueueMessage:
    body = json.dumps(
        {"schemaVersion": 1, "profileId": profile_id, "runId": run_id, "reason": reason}
    )
    return func.queue.QueueMessage(
        id=str(uuid.uuid4()), body=body.encode(), dequeue_count=dequeue_count
    )


def queued(env: AppEnv, profile_id: str) -> func.queue.QueueMessage:
    """Take this profile's message off sds-sync, as the host would deliver it."""
    queue = env.account.queues.get_queue_client(
        SYNC_QUEUE, message_decode_policy=TextBase64DecodePolicy()
    )
    for m in queue.receive_messages(max_messages=32, visibility_timeout=1):
        if json.loads(m.content)["profileId"] == profile_id:
            queue.delete_message(m)
            return func.queue.QueueMessage(
                id=m.id, body=m.content.encode(), dequeue_count=m.dequeue_count
            )
    raise AssertionError("no message queued")


def status(env: AppEnv, profile_id: str) -> dict[str, Any]:
    return call(
        api.get_profile_status,
        request(
            "GET", f"{ROOT}/{profile_id}/profileStatus", route={"id": profile_id}, token=env.token()
        ),
    ).json


def post(env: AppEnv, handler: Any, profile_id: str, action: str) -> int:
    return call(
        handler,
        request(
            "POST", f"{ROOT}/{profile_id}/{action}", route={"id": profile_id}, token=env.token()
        ),
    ).status


def errors(env: AppEnv, profile_id: str) -> list[dict[str, Any]]:
    return call(
        api.list_errors,
        request("GET", f"{ROOT}/{profile_id}/errors", route={"id": profile_id}, token=env.token()),
    ).json["value"]


def directory_state(env: AppEnv, profile_id: str) -> dict[str, Any]:
    """Every row of the profile, ids made relative so two profiles compare."""
    out = {}
    for kind in ("school", "class", "user"):
        for row in TableDirectory(env.account).scan(profile_id, kind):
            doc = row.resource()
            doc.pop("id")
            out[f"{kind}/{row.key}"] = (
                row.active,
                doc,
                {p: row.links(p) for p in ("members", "teachers", "users", "classes", "schools")},
            )
    return out


def test_a_run_syncs_the_frozen_files_and_ends_in_success(app_env: AppEnv) -> None:
    pid = create(app_env)
    run_id = start(app_env, pid, sample_bytes("sds-v1_min-required"))
    sync_worker.run_sync(message(pid, run_id))
    got = status(app_env, pid)
    assert (got["status"], got["statusMessage"], got["errorCount"]) == (
        "success",
        "Synchronized: 28 added, 0 updated, 0 deactivated, 0 removed, 0 not synced (see errors).",
        0,
    )
    assert got["lastSynchronizationDateTime"] == got["lastActivityDateTime"]
    user = entity_id(pid, "user", "student:13001")
    answer = call(
        get_user,
        request("GET", f"{BASE}/education/users/{user}", route={"id": user}, token=app_env.token()),
    )
    assert answer.json["userPrincipalName"] == "OKlein@students.example.edu"
    # A duplicate delivery of the same message finds the run ended and changes nothing.
    before = directory_state(app_env, pid)
    sync_worker.run_sync(message(pid, run_id))
    assert status(app_env, pid) == got and directory_state(app_env, pid) == before


def test_a_second_start_with_changed_files_applies_the_delta_and_records_errors(
    app_env: AppEnv,
) -> None:
    pid = create(app_env)
    files = sample_bytes("sds-v1_min-required")
    sync_worker.run_sync(message(pid, start(app_env, pid, files)))
    # OKlein leaves; a new student takes another student's name: an error, the rest syncs.
    files["Student.csv"] = files["Student.csv"].replace(
        b"13001,10001,OKlein\r\n", b"13999,10001,BMcMillan\r\n"
    )
    run_id = start(app_env, pid, files)
    sync_worker.run_sync(message(pid, run_id))
    got = status(app_env, pid)
    assert (got["status"], got["statusMessage"], got["errorCount"]) == (
        "success",
        "Synchronized: 0 added, 3 updated, 1 deactivated, 0 removed, 1 not synced (see errors).",
        1,
    )
    [error] = errors(app_env, pid)
    assert error == {
        "id": error["id"],
        "entryType": "Student",
        "errorCode": "UserPrincipalNameConflict",
        "errorMessage": "The user principal name BMcMillan@students.example.edu is already used by another user "
        "(student SIS ID 13002). (student.csv row 2)",
        "joiningValue": "13999",
        "recordedDateTime": error["recordedDateTime"],
        "reportableIdentifier": "BMcMillan",
    }


def test_the_teacher_domain_differs_so_the_same_username_in_two_roles_is_no_conflict(
    app_env: AppEnv,
) -> None:
    pid = create(app_env)
    files = sample_bytes("sds-v1_min-required")
    files["Student.csv"] = files["Student.csv"].replace(
        b"13001,10001,OKlein", b"13001,10001,CBeane"
    )
    sync_worker.run_sync(message(pid, start(app_env, pid, files)))
    assert status(app_env, pid)["errorCount"] == 0


class Interrupting(TableDirectory):
    """The directory, with something happening right after its first batch."""

    after_first: Any = None
    calls = 0

    def apply(self, profile_id, changes):  # noqa: ANN001, ANN201
        issues = super().apply(profile_id, changes)
        type(self).calls += 1
        if type(self).calls == 1 and type(self).after_first:
            type(self).after_first()
        return issues


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> type[Interrupting]:
    monkeypatch.setattr(sync_run, "BATCH_STEPS", 10)
    monkeypatch.setattr(sync_run, "TableDirectory", Interrupting)
    Interrupting.calls = 0
    Interrupting.after_first = None
    return Interrupting


def clean_run(env: AppEnv, files: dict[str, bytes]) -> dict[str, Any]:
    pid = create(env)
    sync_worker.run_sync(message(pid, start(env, pid, files)))
    return directory_state(env, pid)


def test_pause_stops_at_the_next_batch_and_resume_continues_where_it_stopped(
    app_env: AppEnv, small_batches: type[Interrupting]
) -> None:
    files = sample_bytes("sds-v1_25-users")
    pid = create(app_env)
    run_id = start(app_env, pid, files)
    small_batches.after_first = lambda: post(app_env, api.pause_profile, pid, "pause")
    sync_worker.run_sync(message(pid, run_id))
    got = status(app_env, pid)
    assert (got["status"], got["statusMessage"]) == ("paused", "Paused")
    assert SyncStateStore(app_env.account).load_checkpoint(pid)["done"] == 10
    assert len(directory_state(app_env, pid)) == 10
    assert post(app_env, api.resume_profile, pid, "resume") == 200
    small_batches.after_first = None
    sync_worker.run_sync(queued(app_env, pid))
    assert small_batches.calls == 3  # 10 more, then the last 8: nothing done twice
    assert status(app_env, pid)["status"] == "success"
    small_batches.calls = 99
    assert directory_state(app_env, pid) == clean_run(app_env, files)


def test_a_worker_killed_mid_run_and_redelivered_ends_like_a_clean_run(
    app_env: AppEnv, small_batches: type[Interrupting]
) -> None:
    files = sample_bytes("sds-v1_25-users")
    pid = create(app_env)
    run_id = start(app_env, pid, files)

    def crash() -> None:
        raise RuntimeError("worker killed")

    small_batches.after_first = crash
    with pytest.raises(RuntimeError):
        sync_worker.run_sync(message(pid, run_id))
    assert status(app_env, pid)["status"] == "inProgress"
    small_batches.after_first = None
    sync_worker.run_sync(message(pid, run_id, dequeue_count=2))
    assert status(app_env, pid)["status"] == "success"
    small_batches.calls = 99
    assert directory_state(app_env, pid) == clean_run(app_env, files)


def test_reset_clears_errors_and_baseline_and_syncs_the_last_frozen_files_again(
    app_env: AppEnv,
) -> None:
    pid = create(app_env)
    files = sample_bytes("sds-v1_min-required")
    files["Student.csv"] = files["Student.csv"].replace(
        b"13001,10001,OKlein", b"13001,10001,O Klein"
    )
    old_run = start(app_env, pid, files)
    sync_worker.run_sync(message(pid, old_run))
    assert status(app_env, pid)["errorCount"] == 1
    assert post(app_env, api.reset_profile, pid, "reset") == 200
    assert (errors(app_env, pid), status(app_env, pid)["status"]) == ([], "inProgress")
    reset_message = queued(app_env, pid)
    # The old run's message, delivered late, is stale: dropped without touching the status.
    sync_worker.run_sync(message(pid, old_run))
    assert status(app_env, pid)["status"] == "inProgress"
    sync_worker.run_sync(reset_message)
    got = status(app_env, pid)
    assert (got["status"], got["statusMessage"], got["errorCount"]) == (
        "success",
        "Synchronized: 27 added, 0 updated, 0 deactivated, 0 removed, 1 not synced (see errors).",
        1,
    )


def test_a_reset_paused_before_it_ran_and_resumed_still_writes_everything_again(
    app_env: AppEnv,
) -> None:
    pid = create(app_env)
    run_id = start(app_env, pid, sample_bytes("sds-v1_min-required"))
    sync_worker.run_sync(message(pid, run_id))
    assert post(app_env, api.reset_profile, pid, "reset") == 200
    assert SyncStateStore(app_env.account).load_baseline(pid) is None
    assert post(app_env, api.pause_profile, pid, "pause") == 200
    assert post(app_env, api.resume_profile, pid, "resume") == 200
    reset_message, resume_message = queued(app_env, pid), queued(app_env, pid)
    assert [json.loads(m.get_body())["reason"] for m in (reset_message, resume_message)] == ["reset", "resume"]
    sync_worker.run_sync(resume_message)
    got = status(app_env, pid)
    assert (got["status"], got["statusMessage"]) == (
        "success",
        "Synchronized: 28 added, 0 updated, 0 deactivated, 0 removed, 0 not synced (see errors).",
    )


def test_the_last_delivery_of_a_failing_run_and_the_poison_queue_set_error(
    app_env: AppEnv, small_batches: type[Interrupting]
) -> None:
    pid = create(app_env)
    run_id = start(app_env, pid, sample_bytes("sds-v1_min-required"))

    def crash() -> None:
        raise RuntimeError("storage kept failing")

    small_batches.after_first = crash
    with pytest.raises(RuntimeError):
        sync_worker.run_sync(message(pid, run_id, dequeue_count=4))
    assert status(app_env, pid)["status"] == "inProgress"
    small_batches.calls = 0
    with pytest.raises(RuntimeError):
        sync_worker.run_sync(message(pid, run_id, dequeue_count=5))
    expected = (
        "error",
        "The synchronization failed repeatedly and was stopped; call reset to try again.",
    )
    got = status(app_env, pid)
    assert (got["status"], got["statusMessage"]) == expected
    pid2 = create(app_env)
    run2 = start(app_env, pid2, sample_bytes("sds-v1_min-required"))
    sync_worker.sync_poisoned(message(pid2, run2, dequeue_count=1))
    got = status(app_env, pid2)
    assert (got["status"], got["statusMessage"]) == expected


def test_messages_that_are_not_runs_or_for_gone_profiles_are_dropped(app_env: AppEnv) -> None:
    sync_worker.run_sync(func.queue.QueueMessage(id="1", body=b"not json", dequeue_count=1))
    sync_worker.run_sync(message("no-such-profile", "run-x"))
    sync_worker.sync_poisoned(message("no-such-profile", "run-x"))


def test_deleting_the_profile_removes_its_directory_and_sync_state(app_env: AppEnv) -> None:
    pid = create(app_env)
    sync_worker.run_sync(message(pid, start(app_env, pid, sample_bytes("sds-v1_min-required"))))
    assert len(directory_state(app_env, pid)) == 28
    answer = call(
        api.delete_profile,
        request("DELETE", f"{ROOT}/{pid}", route={"id": pid}, token=app_env.token()),
    )
    assert answer.status == 202
    assert deliver(app_env, pid) == 1
    state = SyncStateStore(app_env.account)
    assert (
        directory_state(app_env, pid),
        pid in TableDirectory(app_env.account).profiles(),
        state.load_baseline(pid),
        state.load_checkpoint(pid),
    ) == ({}, False, None, None)


def upload_and_start(env: AppEnv, profile_id: str, files: dict[str, bytes]) -> Any:
    """Upload as a client does, then POST start (verification inline); the start answer."""
    container = env.account.blobs.get_container_client(UPLOAD_CONTAINER)
    for name, data in files.items():
        container.upload_blob(f"{profile_id}/{name}", data, overwrite=True)
    return call(
        verification.start_profile,
        request("POST", f"{ROOT}/{profile_id}/start", route={"id": profile_id}, token=env.token()),
    )


@pytest.mark.parametrize("folder", SETS)
def test_each_sample_set_uploaded_started_and_synced_matches_its_files(
    app_env: AppEnv, folder: str
) -> None:
    # Without names and passwords, the minimal sets can only match existing accounts.
    pid = create(app_env, MATCHING if "min-required" in folder else PROFILE)
    started = upload_and_start(app_env, pid, sample_bytes(folder))
    assert started.status == 200, started.json
    sync_worker.run_sync(queued(app_env, pid))
    assert status(app_env, pid)["status"] == "success"
    expected = expected_counts(sample(folder))
    rows = {
        kind: list(TableDirectory(app_env.account).scan(pid, kind))
        for kind in ("school", "class", "user")
    }
    got = {
        "schools": len(rows["school"]),
        "classes": len(rows["class"]),
        "users": len(rows["user"]),
        "members": sum(len(r.links("members")) for r in rows["class"]),
        "teachers": sum(len(r.links("teachers")) for r in rows["class"]),
        "school_users": sum(len(r.links("users")) for r in rows["school"]),
    }
    assert got == expected
    users = call(
        list_users, request("GET", f"{BASE}/education/users?$top=999", token=app_env.token())
    )
    assert {u["id"] for u in users.json["value"]} >= {r.id for r in rows["user"]}
