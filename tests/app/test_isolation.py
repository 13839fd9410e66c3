"""No profile touches another: ids that look like the app's own names, prefixes of each other, any
spelling of a GUID; and a delete that nothing outlives, whatever runs for the profile meanwhile."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sds_app import sync_run
from sds_app.blueprints import profiles as api
from sds_app.blueprints.directory import list_users
from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage import directory as directory_module
from sds_app.storage.directory import SyncStateStore, TableDirectory
from sds_app.storage.names import data_prefix
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore
from sds_app.storage.sync_errors import SyncErrorStore
from tests.app.fixtures import AppEnv
from tests.app.flow import deliver, start, status, upload_and_verify
from tests.app.helpers import BASE, ROOT, Answer, call, request
from tests.app.test_directory_worker import PROFILE, directory_state, sample_bytes

SAMPLE = "sds-v1_25-users"  # 28 entities: 2 schools, 2 sections, 24 users


def put(env: AppEnv, profile_id: str, body: dict[str, Any] = PROFILE) -> Answer:
    return call(
        api.replace_profile,
        request("PUT", f"{ROOT}/{profile_id}", route={"id": profile_id}, body=body, token=env.token()),
    )


def get(env: AppEnv, profile_id: str) -> Answer:
    return call(
        api.get_profile,
        request("GET", f"{ROOT}/{profile_id}", route={"id": profile_id}, token=env.token()),
    )


def delete(env: AppEnv, profile_id: str) -> int:
    return call(
        api.delete_profile,
        request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id}, token=env.token()),
    ).status


def listed_ids(env: AppEnv) -> list[str]:
    answer = call(api.list_profiles, request("GET", ROOT, token=env.token()))
    assert answer.status == 200, answer.raw
    return sorted(p["id"] for p in answer.json["value"])


def synced(env: AppEnv, profile_id: str) -> None:
    """Upload the sample, verify, start, and let the worker sync it."""
    assert put(env, profile_id).status == 202
    upload_and_verify(env, profile_id, sample_bytes(SAMPLE))
    assert start(env, profile_id).status == 200
    assert deliver(env, profile_id) == 1
    assert status(env, profile_id)["status"] == "success"


def user_count(env: AppEnv) -> int:
    answer = call(
        list_users,
        request("GET", f"{BASE}/education/users?$count=true&$top=1", token=env.token()),
    )
    return answer.json["@odata.count"]


def leftovers(env: AppEnv, profile_id: str) -> dict[str, Any]:
    """Everything the app could still hold for a profile."""
    account = env.account
    uploads = account.blobs.get_container_client(UPLOAD_CONTAINER)
    state = account.blobs.get_container_client(STATE_CONTAINER)
    return {
        "record": ProfileStore(account).get(profile_id) is not None,
        "uploads": [
            b.name for b in uploads.list_blobs(name_starts_with=f"{profile_id}/", include=["snapshots"])
        ],
        "data": list(state.list_blob_names(name_starts_with=data_prefix(profile_id))),
        "errors": SyncErrorStore(account).count(profile_id),
        "directory": len(directory_state(env, profile_id)),
        "registered": profile_id in TableDirectory(account).profiles(),
        "checkpoint": SyncStateStore(account).load_checkpoint(profile_id),
    }


NOTHING = {
    "record": False, "uploads": [], "data": [], "errors": 0, "directory": 0, "registered": False,
    "checkpoint": None,
}


def test_ids_named_like_the_apps_storage_or_prefixing_each_other_stay_apart(
    private_env: AppEnv,
) -> None:
    env = private_env
    for profile_id in ("profiles", "verification", "data", "a", "a.b"):
        synced(env, profile_id)
    assert listed_ids(env) == ["a", "a.b", "data", "profiles", "verification"]
    assert user_count(env) == 5 * 24
    before = directory_state(env, "a.b")
    assert len(before) == 28

    assert delete(env, "a") == 202 and deliver(env, "a") == 1
    assert delete(env, "profiles") == 202 and deliver(env, "profiles") == 1
    assert leftovers(env, "a") == NOTHING
    assert leftovers(env, "profiles") == NOTHING
    assert listed_ids(env) == ["a.b", "data", "verification"]
    assert directory_state(env, "a.b") == before
    assert status(env, "a.b")["status"] == "success"
    assert user_count(env) == 3 * 24


@pytest.mark.parametrize("spelling", [str.upper, lambda g: "{" + g + "}", lambda g: "{" + g.upper() + "}"])
def test_a_guid_in_any_case_or_braces_is_the_same_profile(app_env: AppEnv, spelling: Any) -> None:
    created = call(api.create_profile, request("POST", ROOT, body=PROFILE, token=app_env.token()))
    profile_id = created.json["id"]
    assert profile_id == profile_id.lower()
    answer = get(app_env, spelling(profile_id))
    assert (answer.status, answer.json["id"]) == (200, profile_id)
    guid = str(uuid.uuid4())
    assert put(app_env, spelling(guid)).json["id"] == guid
    assert get(app_env, guid).status == 200


def test_a_delete_during_a_sync_leaves_nothing_and_the_worker_stops(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, doomed = str(uuid.uuid4()), str(uuid.uuid4())
    synced(app_env, kept)
    kept_before = directory_state(app_env, kept)
    assert put(app_env, doomed).status == 202
    upload_and_verify(app_env, doomed, sample_bytes("sds-v1_100-users"))
    assert start(app_env, doomed).status == 200
    monkeypatch.setattr(sync_run, "BATCH_STEPS", 10)
    apply = directory_module.TableDirectory.apply
    batches: list[int] = []

    def apply_and_delete(self: Any, profile_id: str, changes: Any) -> Any:
        issues = apply(self, profile_id, changes)
        batches.append(len(changes))
        if len(batches) == 3:
            # DELETE answers and its purge runs between two batches of the running sync.
            assert delete(app_env, doomed) == 202
            assert deliver(app_env, doomed) == 1
        return issues

    monkeypatch.setattr(directory_module.TableDirectory, "apply", apply_and_delete)
    assert deliver(app_env, doomed) == 1  # the sync run
    assert len(batches) == 3  # it stopped at the batch after the purge
    assert leftovers(app_env, doomed) == NOTHING
    assert get(app_env, doomed).status == 404
    assert directory_state(app_env, kept) == kept_before
