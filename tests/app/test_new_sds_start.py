"""`start` for a profile forwarded to the new School Data Sync: its rules, and message 23."""

from __future__ import annotations

import pytest

from sds_app.blueprints import profiles as api
from sds_app.settings import UPLOAD_CONTAINER, get_settings
from tests.app.fixtures import AppEnv
from tests.app.flow import create_profile, deliver, start, status, trigger, upload, upload_and_verify, upload_url
from tests.app.helpers import BASE, ROOT, call, request
from tests.core.builders import sample_files
from tests.fakegraph.server import FakeIndustryData

CONTEXT = f"{BASE}/$metadata#education/Collection(microsoft.graph.verificationMessage)"
CLASS_FILES = ("Section.csv", "StudentEnrollment.csv", "TeacherRoster.csv")
DROPPED = "The file was part of earlier runs and is missing now: School Data Sync will mark its records inactive."


def remove_upload(env: AppEnv, profile_id: str, name: str) -> None:
    """Delete an upload in storage, as an operator can (the API keeps the last run's files)."""
    container = env.account.blobs.get_container_client(UPLOAD_CONTAINER)
    container.delete_blob(f"{profile_id}/{name}", delete_snapshots="include")


def test_the_api_keeps_the_last_runs_files(private_env: AppEnv) -> None:
    profile_id = synced_once(private_env, sample_files())
    answer = call(api.delete_upload, request("DELETE", f"{ROOT}/{profile_id}/uploads/Section.csv",
                                             route={"id": profile_id, "fileName": "Section.csv"},
                                             token=private_env.token()))
    assert answer.status == 409


def forward_to_new_sds(monkeypatch: pytest.MonkeyPatch, fake_graph: FakeIndustryData) -> None:
    """Both targets; the profile's objects are made in the fake Industry Data API."""
    monkeypatch.setenv("SDS_SYNC_TARGET", "directory,schoolDataSync")
    get_settings.cache_clear()


def synced_once(env: AppEnv, files: dict[str, bytes]) -> str:
    """A profile whose first run (directory target) had these files and ended."""
    profile_id = create_profile(env)
    upload_and_verify(env, profile_id, files)
    assert start(env, profile_id).status == 200
    assert deliver(env, profile_id) == 1
    assert status(env, profile_id)["status"] == "success"
    return profile_id


def test_dropping_the_class_files_warns_at_start(private_env: AppEnv, monkeypatch: pytest.MonkeyPatch,
                                                 fake_graph: FakeIndustryData) -> None:
    profile_id = synced_once(private_env, sample_files())
    for name in CLASS_FILES:
        remove_upload(private_env, profile_id, name)
    forward_to_new_sds(monkeypatch, fake_graph)

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json) == (200, {
        "@odata.context": CONTEXT,
        "value": [{"type": "Warning", "fileName": name.lower(), "description": DROPPED} for name in CLASS_FILES],
    })


def test_the_directory_target_alone_refuses_the_same_files(private_env: AppEnv) -> None:
    profile_id = synced_once(private_env, sample_files())
    for name in CLASS_FILES:
        remove_upload(private_env, profile_id, name)

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json) == (400, {
        "@odata.context": CONTEXT,
        "value": [{"type": "Error", "fileName": name.lower(), "description": "The required file was not uploaded."}
                  for name in CLASS_FILES],
    })


def test_a_users_only_profile_gets_no_warning(private_env: AppEnv, monkeypatch: pytest.MonkeyPatch,
                                              fake_graph: FakeIndustryData) -> None:
    forward_to_new_sds(monkeypatch, fake_graph)
    users_only = {k: v for k, v in sample_files().items() if k not in CLASS_FILES}
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, users_only)

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json) == (200, {"@odata.context": CONTEXT, "value": []})


def test_new_sds_rules_apply_at_start(private_env: AppEnv, monkeypatch: pytest.MonkeyPatch,
                                      fake_graph: FakeIndustryData) -> None:
    forward_to_new_sds(monkeypatch, fake_graph)
    files = sample_files()
    files["School.csv"] = b"DfE Number,Name\r\n10001,Contoso\r\n10002,Fabrikam\r\n"
    profile_id = create_profile(private_env)
    upload(upload_url(private_env, profile_id), files)
    trigger(private_env, profile_id, "School.csv")

    answer = start(private_env, profile_id)

    assert (answer.status, answer.json) == (400, {"@odata.context": CONTEXT, "value": [{
        "type": "Error", "fileName": "school.csv",
        "description": 'The header field "DfE Number" is a UK name, which School Data Sync does not take: '
                       'write "SIS ID"',
    }]})
