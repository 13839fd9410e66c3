"""The upload URL on Azurite: uploads land in the profile's folder, nothing else is possible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, ContainerClient

from sds_app.blueprints import profiles as api
from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount, StorageConfig
from sds_app.storage.profiles import ProfileStore
from sds_app.storage.sas import AccountKeySigner, UserDelegationSigner, signer_for
from sds_core.models import status as run_status
from sds_core.models.status import FrozenFile
from tests.app.fixtures import AppEnv
from tests.app.helpers import BASE, ROOT, Answer, call, envelope, request

CSV = {
    "displayName": "Uploads",
    "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
}
SCHOOL = b"SIS ID,Name\r\n1,Alpha\r\n"


def create(env: AppEnv, body: dict[str, Any] = CSV) -> str:
    """A provisioned profile's id."""
    return call(api.create_profile, request("POST", ROOT, body=body, token=env.token())).json["id"]


def get_url(env: AppEnv, profile_id: str, tail: str = "/uploadUrl") -> Answer:
    """GET uploadUrl (or uploadUrl())."""
    handler = api.get_upload_url if tail == "/uploadUrl" else api.get_upload_url_call
    return call(
        handler,
        request("GET", f"{ROOT}/{profile_id}{tail}", route={"id": profile_id}, token=env.token()),
    )


def uploads(env: AppEnv) -> ContainerClient:
    """sds-uploads with the account key, to check what really landed."""
    return env.account.blobs.get_container_client(UPLOAD_CONTAINER)


def set_run(
    env: AppEnv,
    profile_id: str,
    state: run_status.RunState,
    frozen: dict[str, FrozenFile] | None = None,
) -> None:
    """Give the profile a run in `state` (what start and the worker will do)."""

    def mutate(record: Any) -> Any:
        record.run = run_status.Run(
            run_id="r1", state=state, snapshots=frozen or {}, enqueued_date_time=datetime.now(UTC)
        )
        return record

    ProfileStore(env.account).update(profile_id, mutate)


@pytest.mark.parametrize("tail", ["/uploadUrl", "/uploadUrl()"])
def test_upload_url_is_a_create_write_container_sas_on_the_profile_folder(
    app_env: AppEnv, tail: str
) -> None:
    profile_id = create(app_env)
    before = datetime.now(UTC).replace(microsecond=0)
    answer = get_url(app_env, profile_id, tail)
    url = answer.json["value"]
    assert (answer.status, answer.json) == (
        200,
        {"@odata.context": f"{BASE}/$metadata#String", "value": url},
    )
    parts = urlsplit(url)
    endpoint = app_env.account.blobs.url.rstrip("/")
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        == f"{endpoint}/{UPLOAD_CONTAINER}/{profile_id}"
    )
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (query["sp"], query["sr"]) == ("cw", "c")
    expiry = datetime.fromisoformat(query["se"])
    assert before + timedelta(minutes=60) <= expiry <= datetime.now(UTC) + timedelta(minutes=60)
    assert datetime.fromisoformat(query["st"]) <= before


def test_the_lifetime_comes_from_the_setting(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDS_UPLOAD_URL_TTL_MINUTES", "15")
    from sds_app.settings import get_settings

    get_settings.cache_clear()
    profile_id = create(app_env)
    query = parse_qs(urlsplit(get_url(app_env, profile_id).json["value"]).query)
    expiry = datetime.fromisoformat(query["se"][0])
    assert timedelta(minutes=14) < expiry - datetime.now(UTC) <= timedelta(minutes=15)


def test_uploads_through_the_url_land_in_the_profile_folder(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    url = get_url(app_env, profile_id).json["value"]
    ContainerClient.from_container_url(url).upload_blob("school.csv", SCHOOL)
    path, query = url.split("?", 1)
    BlobClient.from_blob_url(f"{path}/Student.csv?{query}").upload_blob(b"SIS ID\r\n")
    landed = {
        b.name: b.size for b in uploads(app_env).list_blobs(name_starts_with=f"{profile_id}/")
    }
    assert landed == {f"{profile_id}/school.csv": len(SCHOOL), f"{profile_id}/Student.csv": 8}
    assert uploads(app_env).download_blob(f"{profile_id}/school.csv").readall() == SCHOOL


def test_the_sas_cannot_read_list_or_delete(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    uploads(app_env).upload_blob(f"{profile_id}/school.csv", SCHOOL)
    url = get_url(app_env, profile_id).json["value"]
    container = ContainerClient.from_container_url(url)
    path, query = url.split("?", 1)
    blob = BlobClient.from_blob_url(f"{path}/school.csv?{query}")
    attempts = {
        "read": lambda: blob.download_blob().readall(),
        "properties": blob.get_blob_properties,
        "list": lambda: list(container.list_blobs()),
        "delete": blob.delete_blob,
    }
    refused = {}
    for name, attempt in attempts.items():
        with pytest.raises(HttpResponseError) as error:
            attempt()
        refused[name] = error.value.status_code
    assert refused == {"read": 403, "properties": 403, "list": 403, "delete": 403}
    assert uploads(app_env).download_blob(f"{profile_id}/school.csv").readall() == SCHOOL


def test_other_providers_get_not_supported(app_env: AppEnv) -> None:
    body = {
        "displayName": "PS",
        "dataProvider": {"@odata.type": "#microsoft.graph.educationPowerSchoolDataProvider"},
    }
    answer = get_url(app_env, create(app_env, body))
    assert (answer.status, answer.json) == (
        400,
        envelope(
            answer, "notSupported", "Only profiles with an educationCsvDataProvider take uploads."
        ),
    )


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (run_status.RunState.QUEUED, 409),
        (run_status.RunState.IN_PROGRESS, 409),
        (run_status.RunState.PAUSED, 200),
        (run_status.RunState.SUCCESS, 200),
        (run_status.RunState.ERROR, 200),
    ],
)
def test_upload_url_conflicts_while_a_run_is_queued_or_in_progress(
    app_env: AppEnv, state: run_status.RunState, status: int
) -> None:
    profile_id = create(app_env)
    set_run(app_env, profile_id, state)
    answer = get_url(app_env, profile_id)
    assert answer.status == status
    if status == 409:
        message = "Uploads are blocked while a synchronization is queued or in progress."
        assert answer.json == envelope(answer, "conflict", message)


def test_uploads_lists_the_current_files(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    for name, data in (("teacher.csv", b"SIS ID\r\n"), ("school.csv", SCHOOL)):
        uploads(app_env).upload_blob(f"{profile_id}/{name}", data)
    answer = call(
        api.list_uploads,
        request(
            "GET", f"{ROOT}/{profile_id}/uploads", route={"id": profile_id}, token=app_env.token()
        ),
    )
    props = {
        n: uploads(app_env).get_blob_client(f"{profile_id}/{n}").get_blob_properties()
        for n in ("school.csv", "teacher.csv")
    }
    assert (answer.status, answer.json) == (
        200,
        {
            "value": [
                {
                    "name": name,
                    "size": props[name].size,
                    "eTag": props[name].etag.strip('"'),
                    "lastModifiedDateTime": props[name]
                    .last_modified.astimezone(UTC)
                    .isoformat()
                    .replace("+00:00", "Z"),
                }
                for name in ("school.csv", "teacher.csv")
            ]
        },
    )


def delete_upload(env: AppEnv, profile_id: str, name: str) -> Answer:
    """DELETE .../uploads/{fileName}."""
    return call(
        api.delete_upload,
        request(
            "DELETE",
            f"{ROOT}/{profile_id}/uploads/{name}",
            route={"id": profile_id, "fileName": name},
            token=env.token(),
        ),
    )


def test_a_stray_upload_can_be_deleted(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    uploads(app_env).upload_blob(f"{profile_id}/School.CSV", SCHOOL)
    uploads(app_env).upload_blob(f"{profile_id}/school.csv", SCHOOL)
    answer = delete_upload(app_env, profile_id, "School.CSV")
    assert (answer.status, answer.raw) == (204, b"")
    assert list(uploads(app_env).list_blob_names(name_starts_with=f"{profile_id}/")) == [
        f"{profile_id}/school.csv"
    ]
    again = delete_upload(app_env, profile_id, "School.CSV")
    assert (again.status, again.json) == (
        404,
        envelope(again, "itemNotFound", "No upload named 'School.CSV'."),
    )


def test_files_frozen_for_the_last_run_cannot_be_deleted(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    uploads(app_env).upload_blob(f"{profile_id}/school.csv", SCHOOL)
    frozen = {"school.csv": FrozenFile(blob=f"{profile_id}/school.csv", snapshot="s", etag="e")}
    set_run(app_env, profile_id, run_status.RunState.SUCCESS, frozen)
    answer = delete_upload(app_env, profile_id, "school.csv")
    message = "The file is frozen for the last synchronization, which reset syncs again."
    assert (answer.status, answer.json) == (409, envelope(answer, "conflict", message))
    set_run(app_env, profile_id, run_status.RunState.IN_PROGRESS)
    busy = delete_upload(app_env, profile_id, "school.csv")
    assert busy.json == envelope(
        busy, "conflict", "Uploads are blocked while a synchronization is queued or in progress."
    )


def test_the_signer_follows_the_connection() -> None:
    keyed = StorageAccount(
        StorageConfig.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    )
    identity = StorageAccount(
        StorageConfig.from_env({"AzureWebJobsStorage__accountName": "sdsprod"})
    )
    assert type(signer_for(keyed)) is AccountKeySigner
    assert type(signer_for(identity)) is UserDelegationSigner


def test_known_exposure_a_leaked_url_can_write_into_another_profile_folder(app_env: AppEnv) -> None:
    # decisions.md: a flat-namespace container SAS cannot be limited to one folder (README says so).
    mine, theirs = create(app_env), create(app_env)
    url = get_url(app_env, mine).json["value"]
    path, query = url.split("?", 1)
    container_url = path[: -len(mine) - 1]
    BlobClient.from_blob_url(f"{container_url}/{theirs}/school.csv?{query}").upload_blob(SCHOOL)
    assert uploads(app_env).download_blob(f"{theirs}/school.csv").readall() == SCHOOL
