"""The synchronizationProfiles routes on Azurite: whole bodies as the specs say."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.storage.queue import TextBase64DecodePolicy

from sds_app.blueprints import profiles as api
from sds_app.settings import SYNC_QUEUE, UPLOAD_CONTAINER
from sds_app.storage import purge as purge_module
from sds_app.storage.names import data_blob, data_prefix
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore, record_name
from sds_app.storage.sync_errors import SyncErrorStore
from sds_core.models import status as run_status
from sds_core.models.profiles import ProfileState
from sds_core.models.status import FrozenFile, SyncErrorEntry, SyncStatus
from tests.app.fixtures import AppEnv
from tests.app.flow import deliver
from tests.app.helpers import BASE, ROOT, Answer, call, envelope, request

ENTITY = f"{BASE}/$metadata#education/synchronizationProfiles/$entity"
NO_CUSTOMIZATIONS = {
    k: None
    for k in ("school", "section", "student", "teacher", "studentEnrollment", "teacherRoster")
}
CSV = {
    "@odata.type": "#microsoft.graph.educationCsvDataProvider",
    "customizations": NO_CUSTOMIZATIONS,
}
NOT_STARTED = "Not started: upload the files, then call start."
OAUTH2 = "#microsoft.graph.educationSynchronizationOAuth2ClientCredentialsConnectionSettings"


def csv_body(name: str = "District CSV profile") -> dict[str, Any]:
    """The smallest valid create body."""
    return {
        "displayName": name,
        "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
    }


def profile(profile_id: str, state: str, **overrides: Any) -> dict[str, Any]:
    """A served profile with defaults for everything not overridden."""
    return {
        "id": profile_id,
        "displayName": "District CSV profile",
        "state": state,
        "dataProvider": CSV,
        "identitySynchronizationConfiguration": None,
        "licensesToAssign": [],
        "handleSpecialCharacterConstraint": False,
        "expirationDate": None,
        **overrides,
    }


def entity(body: dict[str, Any]) -> dict[str, Any]:
    """A single-entity answer."""
    return {"@odata.context": ENTITY, **body}


def item(
    env: AppEnv, handler: Any, method: str, profile_id: str, tail: str = "", **kw: Any
) -> Answer:
    """Call a route under /{id} with a ReadWrite token."""
    route = {"id": profile_id, **kw.pop("route", {})}
    token = kw.pop("token", None) or env.token()
    return call(
        handler, request(method, f"{ROOT}/{profile_id}{tail}", route=route, token=token, **kw)
    )


def create(env: AppEnv, body: dict[str, Any] | None = None) -> str:
    """Create a profile; its id."""
    answer = call(
        api.create_profile, request("POST", ROOT, body=body or csv_body(), token=env.token())
    )
    assert answer.status == 202, answer.raw
    return answer.json["id"]


def status_context(profile_id: str) -> str:
    """@odata.context of a profileStatus answer."""
    return (
        f"{BASE}/$metadata#education/synchronizationProfiles('{profile_id}')/profileStatus/$entity"
    )


def status_of(env: AppEnv, profile_id: str) -> dict[str, Any]:
    """GET profileStatus body."""
    answer = item(env, api.get_profile_status, "GET", profile_id, "/profileStatus")
    assert answer.status == 200
    return answer.json


def begin_run(env: AppEnv, profile_id: str) -> run_status.Run:
    """What the next issue's `start` does after a clean verification: a queued run."""
    frozen = {
        "school.csv": FrozenFile(
            blob=f"{profile_id}/school.csv", snapshot="2024-01-01T00:00:00.0000000Z", etag='"0x1"'
        )
    }
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    def start(record: Any) -> Any:
        moved = run_status.start(record.status, record.run, "run-1", frozen, now)
        return record.model_copy(update={"status": moved.status, "run": moved.run})

    return ProfileStore(env.account).update(profile_id, start).run


def queued(env: AppEnv, profile_id: str) -> list[dict[str, Any]]:
    """Decoded messages on sds-sync for this profile, oldest first."""
    queue = env.account.queues.get_queue_client(
        SYNC_QUEUE, message_decode_policy=TextBase64DecodePolicy()
    )
    return [
        m
        for m in (json.loads(p.content) for p in queue.peek_messages(max_messages=32))
        if m["profileId"] == profile_id
    ]


# --- create, get -----------------------------------------------------------------------------


def test_create_answers_202_provisioning_then_the_profile_is_provisioned(app_env: AppEnv) -> None:
    answer = call(api.create_profile, request("POST", ROOT, body=csv_body(), token=app_env.token()))
    profile_id = answer.json["id"]
    assert uuid.UUID(profile_id).version == 4
    assert answer.status == 202
    assert answer.json == entity(profile(profile_id, "provisioning"))
    assert answer.headers["Location"] == f"{ROOT}/{profile_id}"
    got = item(app_env, api.get_profile, "GET", profile_id)
    assert (got.status, got.json) == (200, entity(profile(profile_id, "provisioned")))


@pytest.mark.parametrize(
    ("provider_type", "identity_type"),
    [
        (
            "#microsoft.graph.educationCsvDataProvider",
            "#microsoft.graph.educationIdentityCreationConfiguration",
        ),
        (
            "microsoft.graph.educationCsvDataProvider",
            "microsoft.graph.educationIdentityCreationConfiguration",
        ),
        (
            "microsoft.graph.educationcsvdataprovider",
            "microsoft.graph.educationidentitycreationconfiguration",
        ),
        (
            "#Microsoft.Education.DataSync.educationCsvDataProvider",
            "#Microsoft.Education.DataSync.educationIdentityCreationConfiguration",
        ),
    ],
)
def test_every_odata_type_spelling_is_accepted_and_served_as_microsoft_graph(
    app_env: AppEnv, provider_type: str, identity_type: str
) -> None:
    body = {
        "displayName": "District CSV profile",
        "dataProvider": {
            "@odata.type": provider_type,
            "customizations": {
                "student": {"optionalPropertiesToSync": ["State ID", "Middle Name"]}
            },
        },
        "identitySynchronizationConfiguration": {
            "@odata.type": identity_type,
            "userDomains": [
                {"appliesTo": "student", "name": "example.edu"},
                {"appliesTo": "teacher", "name": "example.edu"},
            ],
        },
        "licensesToAssign": [
            {
                "@odata.type": "microsoft.graph.educationSynchronizationLicenseAssignment",
                "appliesTo": "teacher",
                "skuIds": ["sku-1"],
            },
            {"appliesTo": "student", "skuIds": ["sku-2"]},
        ],
    }
    profile_id = create(app_env, body)
    student = {
        "optionalPropertiesToSync": ["State ID", "Middle Name"],
        "synchronizationStartDate": "0001-01-01T00:00:00Z",
        "isSyncDeferred": False,
        "allowDisplayNameUpdate": False,
    }
    expected = profile(
        profile_id,
        "provisioned",
        dataProvider={**CSV, "customizations": {**NO_CUSTOMIZATIONS, "student": student}},
        identitySynchronizationConfiguration={
            "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
            "userDomains": [
                {"appliesTo": "student", "name": "example.edu"},
                {"appliesTo": "teacher", "name": "example.edu"},
            ],
        },
        licensesToAssign=[
            {
                "@odata.type": "#microsoft.graph.educationSynchronizationLicenseAssignment",
                "appliesTo": "teacher",
                "skuIds": ["sku-1"],
            },
            {
                "@odata.type": "#microsoft.graph.educationSynchronizationLicenseAssignment",
                "appliesTo": "student",
                "skuIds": ["sku-2"],
            },
        ],
    )
    assert item(app_env, api.get_profile, "GET", profile_id).json == entity(expected)


def test_matching_configuration_and_other_properties_round_trip(app_env: AppEnv) -> None:
    body = {
        **csv_body(),
        "identitySynchronizationConfiguration": {
            "@odata.type": "microsoft.graph.educationIdentityMatchingConfiguration",
            "matchingOptions": [
                {
                    "appliesTo": "teacher",
                    "sourcePropertyName": "Username",
                    "targetPropertyName": "userPrincipalName",
                    "targetDomain": "example.edu",
                }
            ],
        },
        "handleSpecialCharacterConstraint": True,
        "expirationDate": "2030-06-30",
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#education/synchronizationProfiles/$entity",
        "state": "provisioned",
    }
    profile_id = create(app_env, body)
    expected = profile(
        profile_id,
        "provisioned",
        identitySynchronizationConfiguration={
            "@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
            "matchingOptions": [
                {
                    "appliesTo": "teacher",
                    "sourcePropertyName": "Username",
                    "targetPropertyName": "userPrincipalName",
                    "targetDomain": "example.edu",
                }
            ],
        },
        handleSpecialCharacterConstraint=True,
        expirationDate="2030-06-30",
    )
    assert item(app_env, api.get_profile, "GET", profile_id).json == entity(expected)


def test_the_stored_record_carries_its_schema_version(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    blob = app_env.account.blobs.get_blob_client(STATE_CONTAINER, record_name(profile_id))
    stored = json.loads(blob.download_blob().readall())
    assert stored == {
        "schemaVersion": 1,
        "profile": {k: v for k, v in profile(profile_id, "provisioned").items()},
        "status": {
            "status": "paused",
            "statusMessage": NOT_STARTED,
            "lastActivityDateTime": None,
            "lastSynchronizationDateTime": None,
        },
        "run": None,
    }


def test_secrets_of_other_providers_are_neither_served_nor_stored(app_env: AppEnv) -> None:
    power_school = {
        "displayName": "PowerSchool",
        "dataProvider": {
            "@odata.type": "#microsoft.graph.educationPowerSchoolDataProvider",
            "connectionUrl": "https://ps.example.edu",
            "clientId": "ps-client",
            "clientSecret": "s3cret-power-school",
            "schoolsIds": ["1", "2"],
            "schoolYear": "2024",
        },
    }
    one_roster = {
        "displayName": "OneRoster",
        "dataProvider": {
            "@odata.type": "microsoft.graph.educationOneRosterApiDataProvider",
            "connectionUrl": "https://or.example.edu",
            "providerName": "Vendor",
            "connectionSettings": {
                "@odata.type": OAUTH2,
                "clientId": "or-client",
                "clientSecret": "s3cret-one-roster",
                "scope": "roster",
                "tokenUrl": "https://or.example.edu/token",
            },
        },
    }
    ps_id, or_id = create(app_env, power_school), create(app_env, one_roster)
    assert item(app_env, api.get_profile, "GET", ps_id).json == entity(
        profile(
            ps_id,
            "provisioned",
            displayName="PowerSchool",
            dataProvider={
                "@odata.type": "#microsoft.graph.educationPowerSchoolDataProvider",
                "customizations": NO_CUSTOMIZATIONS,
                "connectionUrl": "https://ps.example.edu",
                "clientId": "ps-client",
                "schoolsIds": ["1", "2"],
                "schoolYear": "2024",
                "allowTeachersInMultipleSchools": False,
            },
        )
    )
    assert item(app_env, api.get_profile, "GET", or_id).json == entity(
        profile(
            or_id,
            "provisioned",
            displayName="OneRoster",
            dataProvider={
                "@odata.type": "#microsoft.graph.educationOneRosterApiDataProvider",
                "customizations": NO_CUSTOMIZATIONS,
                "connectionUrl": "https://or.example.edu",
                "providerName": "Vendor",
                "schoolsIds": [],
                "termIds": [],
                "connectionSettings": {
                    "@odata.type": OAUTH2,
                    "clientId": "or-client",
                    "scope": "roster",
                    "tokenUrl": "https://or.example.edu/token",
                },
            },
        )
    )
    for profile_id in (ps_id, or_id):
        stored = (
            app_env.account.blobs.get_blob_client(STATE_CONTAINER, record_name(profile_id))
            .download_blob()
            .readall()
        )
        assert b"s3cret" not in stored


# --- invalid requests ------------------------------------------------------------------------

PROVIDERS = (
    "#microsoft.graph.educationCsvDataProvider, #microsoft.graph.educationPowerSchoolDataProvider, "
    "#microsoft.graph.educationOneRosterApiDataProvider"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "displayName": "x",
                "dataProvider": {"@odata.type": "#microsoft.graph.educationSftpDataProvider"},
            },
            f"Invalid profile. dataProvider: needs an @odata.type naming one of: {PROVIDERS}",
        ),
        (
            {"displayName": "x", "dataProvider": {}},
            f"Invalid profile. dataProvider: needs an @odata.type naming one of: {PROVIDERS}",
        ),
        (
            {"dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"}},
            "Invalid profile. displayName: Field required",
        ),
        (
            {**csv_body(), "displayName": 5},
            "Invalid profile. displayName: Input should be a valid string",
        ),
        (
            {**csv_body(), "displayName": "   "},
            "Invalid profile. displayName: Value error, must not be blank",
        ),
        (
            {**csv_body(), "handleSpecialCharacterConstraint": "often"},
            (
                "Invalid profile. handleSpecialCharacterConstraint:"
                " Input should be a valid boolean, unable to interpret input"
            ),
        ),
        (
            {**csv_body(), "displayname": "typo"},
            "Invalid profile. displayname: Extra inputs are not permitted",
        ),
        (
            {**csv_body(), "licensesToAssign": [{"appliesTo": "none", "skuIds": []}]},
            (
                "Invalid profile. licensesToAssign.0.appliesTo:"
                " Input should be 'student', 'teacher' or 'faculty'"
            ),
        ),
        (
            {
                **csv_body(),
                "identitySynchronizationConfiguration": {
                    "@odata.type": "#microsoft.graph.educationCsvDataProvider"
                },
            },
            (
                "Invalid profile. identitySynchronizationConfiguration: needs an @odata.type naming"
                " one of: #microsoft.graph.educationIdentityCreationConfiguration,"
                " #microsoft.graph.educationIdentityMatchingConfiguration"
            ),
        ),
        (
            {
                "displayName": "x",
                "dataProvider": {
                    "@odata.type": "#microsoft.graph.educationCsvDataProvider",
                    "customizations": {"@odata.type": "#microsoft.graph.user"},
                },
            },
            (
                "Invalid profile. dataProvider.customizations: Value error, @odata.type"
                " '#microsoft.graph.user' is not"
                " #microsoft.graph.educationSynchronizationCustomizations"
            ),
        ),
        (b'{"displayName": "x", ', "The request body is not valid JSON (JSONDecodeError)."),
        (b"\xff\xfe{}", "The request body is not valid JSON (UnicodeDecodeError)."),
        ([csv_body()], "The request body must be a JSON object."),
        (b"", "The request body is empty: a JSON object is required."),
    ],
)
def test_invalid_bodies_get_bad_request_in_the_envelope(
    app_env: AppEnv, body: Any, message: str
) -> None:
    answer = call(api.create_profile, request("POST", ROOT, body=body, token=app_env.token()))
    assert answer.status == 400
    assert answer.json == envelope(answer, "badRequest", message)


def test_bodies_over_one_megabyte_get_request_too_large(app_env: AppEnv) -> None:
    body = json.dumps({**csv_body(), "displayName": "x" * 1_048_576}).encode()
    answer = call(api.create_profile, request("POST", ROOT, body=body, token=app_env.token()))
    assert answer.status == 413
    assert answer.json == envelope(
        answer, "requestTooLarge", "The request body is over the limit of 1048576 bytes."
    )


@pytest.mark.parametrize(
    ("handler", "method", "tail"),
    [
        (api.get_profile, "GET", ""),
        (api.update_profile, "PATCH", ""),
        (api.delete_profile, "DELETE", ""),
        (api.get_upload_url, "GET", "/uploadUrl"),
        (api.get_upload_url_call, "GET", "/uploadUrl()"),
        (api.list_uploads, "GET", "/uploads"),
        (api.get_profile_status, "GET", "/profileStatus"),
        (api.list_errors, "GET", "/errors"),
        (api.pause_profile, "POST", "/pause"),
        (api.resume_profile, "POST", "/resume"),
        (api.reset_profile, "POST", "/reset"),
    ],
)
def test_unknown_profiles_are_item_not_found_on_every_route(
    app_env: AppEnv, handler: Any, method: str, tail: str
) -> None:
    missing = str(uuid.uuid4())
    answer = item(
        app_env,
        handler,
        method,
        missing,
        tail,
        body={"displayName": "x"} if method == "PATCH" else None,
    )
    assert answer.status == 404
    assert answer.json == envelope(
        answer, "itemNotFound", f"No synchronization profile has the id '{missing}'."
    )


def test_a_client_request_id_is_echoed(app_env: AppEnv) -> None:
    answer = call(
        api.get_profile,
        request(
            "GET",
            f"{ROOT}/nope",
            route={"id": "nope"},
            token=app_env.token(),
            headers={"client-request-id": "c-1"},
        ),
    )
    assert answer.headers["client-request-id"] == "c-1"
    assert answer.json["error"]["innerError"]["client-request-id"] == "c-1"


# --- PUT, PATCH ------------------------------------------------------------------------------


def test_put_creates_then_replaces_the_profile_with_that_id(app_env: AppEnv) -> None:
    profile_id = f"script-{uuid.uuid4()}"
    first = item(app_env, api.replace_profile, "PUT", profile_id, body=csv_body("First"))
    assert (first.status, first.json) == (
        202,
        entity(profile(profile_id, "provisioning", displayName="First")),
    )
    assert first.headers["Location"] == f"{ROOT}/{profile_id}"
    second = item(
        app_env,
        api.replace_profile,
        "PUT",
        profile_id,
        body={**csv_body("Second"), "id": profile_id},
    )
    assert (second.status, second.json) == (
        202,
        entity(profile(profile_id, "provisioned", displayName="Second")),
    )
    assert item(app_env, api.get_profile, "GET", profile_id).json == entity(
        profile(profile_id, "provisioned", displayName="Second")
    )


BAD_ID = (
    "A profile id is a GUID, or 1 to 64 letters, digits, '.', '_' or '-' "
    "starting with a letter or a digit."
)


@pytest.mark.parametrize(
    ("profile_id", "body", "message"),
    [
        ("has space", csv_body(), BAD_ID),
        ("a" * 65, csv_body(), BAD_ID),
        (
            "ok-id",
            {**csv_body(), "id": "other-id"},
            "The id in the body differs from the id in the URL.",
        ),
    ],
)
def test_put_refuses_bad_ids(
    app_env: AppEnv, profile_id: str, body: dict[str, Any], message: str
) -> None:
    answer = item(app_env, api.replace_profile, "PUT", profile_id, body=body)
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


def test_patch_merges_complex_values_and_replaces_the_rest(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    patch = {
        "displayName": "Renamed",
        "dataProvider": {"customizations": {"teacher": {"isSyncDeferred": True}}},
        "licensesToAssign": [{"appliesTo": "faculty", "skuIds": ["sku-9"]}],
    }
    answer = item(app_env, api.update_profile, "PATCH", profile_id, body=patch)
    teacher = {
        "optionalPropertiesToSync": None,
        "synchronizationStartDate": "0001-01-01T00:00:00Z",
        "isSyncDeferred": True,
        "allowDisplayNameUpdate": False,
    }
    expected = profile(
        profile_id,
        "provisioned",
        displayName="Renamed",
        dataProvider={**CSV, "customizations": {**NO_CUSTOMIZATIONS, "teacher": teacher}},
        licensesToAssign=[
            {
                "@odata.type": "#microsoft.graph.educationSynchronizationLicenseAssignment",
                "appliesTo": "faculty",
                "skuIds": ["sku-9"],
            }
        ],
    )
    assert (answer.status, answer.json) == (202, entity(expected))
    second = item(
        app_env,
        api.update_profile,
        "PATCH",
        profile_id,
        body={"dataProvider": {"customizations": {"teacher": {"allowDisplayNameUpdate": True}}}},
    )
    assert second.json["dataProvider"]["customizations"]["teacher"] == {
        **teacher,
        "allowDisplayNameUpdate": True,
    }


def test_an_invalid_patch_changes_nothing(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    answer = item(app_env, api.update_profile, "PATCH", profile_id, body={"displayName": None})
    assert (answer.status, answer.json) == (
        400,
        envelope(
            answer, "badRequest", "Invalid profile. displayName: Input should be a valid string"
        ),
    )
    assert item(app_env, api.get_profile, "GET", profile_id).json == entity(
        profile(profile_id, "provisioned")
    )


PROVIDER_FIXED = (
    "The data provider of a profile cannot change its type "
    "(#microsoft.graph.educationCsvDataProvider); create a new profile instead."
)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_the_data_provider_keeps_its_type(app_env: AppEnv, method: str) -> None:
    # Switching a CSV profile to PowerSchool would strand its uploads, runs and directory.
    profile_id = create(app_env)
    provider = {
        "@odata.type": "#microsoft.graph.educationPowerSchoolDataProvider",
        "clientId": "c",
        "clientSecret": "s3cret",
    }
    body = {"dataProvider": provider}
    if method == "PUT":
        body["displayName"] = "District CSV profile"
    handler = api.update_profile if method == "PATCH" else api.replace_profile
    answer = item(app_env, handler, method, profile_id, body=body)
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", PROVIDER_FIXED))
    assert item(app_env, api.get_profile, "GET", profile_id).json == entity(
        profile(profile_id, "provisioned")
    )


# --- DELETE ----------------------------------------------------------------------------------


def test_delete_is_202_deleting_then_everything_kept_for_the_profile_is_gone(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = app_env.account
    doomed, kept = create(app_env), create(app_env)
    uploads = account.blobs.get_container_client(UPLOAD_CONTAINER)
    state = account.blobs.get_container_client(STATE_CONTAINER)
    for profile_id in (doomed, kept):
        uploads.upload_blob(f"{profile_id}/school.csv", b"SIS ID,Name\n1,A\n")
        uploads.get_blob_client(f"{profile_id}/school.csv").create_snapshot()
        state.upload_blob(data_blob(profile_id, "results", "abc.json"), b"{}")
        SyncErrorStore(account).add_many(
            profile_id, [SyncErrorEntry(id="e1", errorCode="UnsynchronizableChange")]
        )
    other_table = account.tables.create_table_if_not_exists("sdsOtherState")
    other_table.upsert_entity({"PartitionKey": doomed, "RowKey": "x"})
    seen: list[dict[str, Any]] = []

    def observe(_account: Any, profile_id: str) -> None:
        seen.append(item(app_env, api.get_profile, "GET", profile_id).json)

    monkeypatch.setattr(purge_module, "PURGE_STEPS", [observe, *purge_module.PURGE_STEPS])
    answer = item(app_env, api.delete_profile, "DELETE", doomed)
    assert (answer.status, answer.raw) == (202, b"")
    assert item(app_env, api.get_profile, "GET", doomed).json == entity(profile(doomed, "deleting"))
    assert deliver(app_env, doomed) == 1  # the worker purges
    assert seen == [entity(profile(doomed, "deleting"))]
    assert item(app_env, api.get_profile, "GET", doomed).status == 404
    assert list(uploads.list_blobs(name_starts_with=f"{doomed}/", include=["snapshots"])) == []
    assert list(state.list_blob_names(name_starts_with=data_prefix(doomed))) == []
    assert not state.get_blob_client(record_name(doomed)).exists()
    assert SyncErrorStore(account).count(doomed) == 0
    assert list(other_table.query_entities("PartitionKey eq @pk", parameters={"pk": doomed})) == []
    assert len(list(uploads.list_blobs(name_starts_with=f"{kept}/", include=["snapshots"]))) == 2
    assert list(state.list_blob_names(name_starts_with=data_prefix(kept))) == [
        data_blob(kept, "results", "abc.json")
    ]
    assert SyncErrorStore(account).count(kept) == 1


def test_a_failed_purge_is_deletion_failed_and_a_new_delete_finishes_it(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = create(app_env)
    steps = purge_module.PURGE_STEPS

    def failing(_account: Any, _profile_id: str) -> None:
        raise RuntimeError("storage hiccup")

    monkeypatch.setattr(purge_module, "PURGE_STEPS", [failing])
    answer = item(app_env, api.delete_profile, "DELETE", profile_id)
    assert (answer.status, answer.raw) == (202, b"")
    with pytest.raises(RuntimeError):  # an early delivery fails: the host will retry
        deliver(app_env, profile_id, dequeue_count=1)
    got = item(app_env, api.get_profile, "GET", profile_id)
    assert got.json == entity(profile(profile_id, "deleting"))
    assert item(app_env, api.delete_profile, "DELETE", profile_id).status == 202
    with pytest.raises(RuntimeError):  # the last delivery fails: deletionFailed
        deliver(app_env, profile_id, dequeue_count=5)
    got = item(app_env, api.get_profile, "GET", profile_id)
    assert got.json == entity(profile(profile_id, "deletionFailed"))
    monkeypatch.setattr(purge_module, "PURGE_STEPS", steps)
    assert item(app_env, api.delete_profile, "DELETE", profile_id).status == 202
    assert deliver(app_env, profile_id) == 1
    assert item(app_env, api.get_profile, "GET", profile_id).status == 404


def test_writes_to_a_profile_being_deleted_conflict(app_env: AppEnv) -> None:
    profile_id = create(app_env)

    def deleting(record: Any) -> Any:
        record.profile.state = ProfileState.DELETING
        return record

    ProfileStore(app_env.account).update(profile_id, deleting)
    answer = item(app_env, api.update_profile, "PATCH", profile_id, body={"displayName": "x"})
    assert (answer.status, answer.json) == (
        409,
        envelope(answer, "conflict", "The profile is being deleted."),
    )
    assert item(app_env, api.delete_profile, "DELETE", profile_id).status == 202
    deliver(app_env, profile_id)
    assert item(app_env, api.get_profile, "GET", profile_id).status == 404


# --- profileStatus, errors -------------------------------------------------------------------


def test_profile_status_is_paused_not_started_until_a_first_run(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    assert status_of(app_env, profile_id) == {
        "@odata.context": status_context(profile_id),
        "id": profile_id,
        "status": "paused",
        "statusMessage": NOT_STARTED,
        "errorCount": 0,
        "lastActivityDateTime": None,
        "lastSynchronizationDateTime": None,
    }


def test_evolvable_statuses_need_the_prefer_header(app_env: AppEnv) -> None:
    profile_id = create(app_env)

    def validating(record: Any) -> Any:
        record.status.status = SyncStatus.VALIDATING
        return record

    ProfileStore(app_env.account).update(profile_id, validating)
    assert status_of(app_env, profile_id)["status"] == "unknownFutureValue"
    opted = item(
        app_env,
        api.get_profile_status,
        "GET",
        profile_id,
        "/profileStatus",
        headers={"Prefer": "include-unknown-enum-members"},
    )
    assert opted.json["status"] == "validating"


def _errors(n: int) -> list[SyncErrorEntry]:
    return [
        SyncErrorEntry(
            id=f"e{i:03d}",
            entry_type="Student",
            error_code="UnsynchronizableChange",
            error_message=f"Student {i} could not be updated.",
            joining_value=f"s{i}@example.edu",
            recorded_date_time=datetime(2024, 5, 1, 0, 52, 45, tzinfo=UTC),
            reportable_identifier=f"s{i}",
        )
        for i in range(n)
    ]


def _wire(error: SyncErrorEntry) -> dict[str, Any]:
    return error.model_dump(mode="json")


def test_errors_are_paged_with_count_and_next_link(app_env: AppEnv) -> None:
    profile_id = create(app_env)
    errors = _errors(5)
    SyncErrorStore(app_env.account).add_many(profile_id, errors)
    context = f"{BASE}/$metadata#education/synchronizationProfiles('{profile_id}')/errors"
    first = item(app_env, api.list_errors, "GET", profile_id, "/errors?$top=2&$count=true")
    assert first.json == {
        "@odata.context": context,
        "@odata.count": 5,
        "value": [_wire(e) for e in errors[:2]],
        "@odata.nextLink": f"{ROOT}/{profile_id}/errors?$skip=2&$top=2&$count=true",
    }
    assert first.json["value"][0] == {
        "id": "e000",
        "entryType": "Student",
        "errorCode": "UnsynchronizableChange",
        "errorMessage": "Student 0 could not be updated.",
        "joiningValue": "s0@example.edu",
        "recordedDateTime": "2024-05-01T00:52:45Z",
        "reportableIdentifier": "s0",
    }
    last = item(app_env, api.list_errors, "GET", profile_id, "/errors?$skip=4&$top=2")
    assert last.json == {"@odata.context": context, "value": [_wire(errors[4])]}
    assert status_of(app_env, profile_id)["errorCount"] == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("$top=-1", "Invalid value for $top: '-1' is not a non-negative integer."),
        ("$top=ten", "Invalid value for $top: 'ten' is not a non-negative integer."),
        ("$top=1000", "Invalid value for $top: the maximum is 999."),
        ("$skip=x", "Invalid value for $skip: 'x' is not a non-negative integer."),
        ("$count=yes", "Invalid value for $count: 'yes' is not true or false."),
        ("$filter=errorCode eq 'x'", "Query option $filter is not supported on this collection."),
    ],
)
def test_bad_query_options_are_bad_requests(app_env: AppEnv, query: str, message: str) -> None:
    profile_id = create(app_env)
    answer = item(app_env, api.list_errors, "GET", profile_id, f"/errors?{query}")
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))


# --- pause, resume, reset --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "tail", "message"),
    [
        (api.pause_profile, "/pause", "Only a synchronization in progress can be paused."),
        (api.resume_profile, "/resume", "Only a paused synchronization can be resumed."),
        (api.reset_profile, "/reset", "There is no synchronization to reset: call start first."),
    ],
)
def test_before_a_first_run_pause_resume_and_reset_conflict(
    app_env: AppEnv, handler: Any, tail: str, message: str
) -> None:
    profile_id = create(app_env)
    answer = item(app_env, handler, "POST", profile_id, tail, body={})
    assert (answer.status, answer.json) == (409, envelope(answer, "conflict", message))
    assert status_of(app_env, profile_id)["status"] == "paused"


def test_pause_resume_and_reset_follow_the_status_table(private_env: AppEnv) -> None:
    env = private_env
    profile_id = create(env)
    run = begin_run(env, profile_id)
    errors = SyncErrorStore(env.account)
    errors.add_many(profile_id, _errors(3))
    store = ProfileStore(env.account)

    paused = item(env, api.pause_profile, "POST", profile_id, "/pause")
    assert (paused.status, paused.raw) == (200, b"")
    record = store.get(profile_id)[0]
    assert (record.status.status, record.status.status_message, record.run.state) == (
        "paused",
        "Paused",
        "paused",
    )
    assert item(env, api.pause_profile, "POST", profile_id, "/pause").status == 409
    assert queued(env, profile_id) == []

    resumed = item(env, api.resume_profile, "POST", profile_id, "/resume")
    assert (resumed.status, resumed.raw) == (200, b"")
    record = store.get(profile_id)[0]
    assert (record.status.status, record.run.state, record.run.run_id) == (
        "inProgress",
        "queued",
        run.run_id,
    )
    frozen = {name: file.snapshot for name, file in run.snapshots.items()}
    assert queued(env, profile_id) == [
        {
            "schemaVersion": 1,
            "profileId": profile_id,
            "runId": run.run_id,
            "reason": "resume",
            "snapshots": frozen,
        }
    ]
    assert item(env, api.resume_profile, "POST", profile_id, "/resume").status == 409

    reset = item(env, api.reset_profile, "POST", profile_id, "/reset")
    assert (reset.status, reset.raw) == (200, b"")
    record = store.get(profile_id)[0]
    assert record.run.run_id != run.run_id
    assert (record.run.state, record.run.reason, record.run.snapshots) == (
        "queued",
        "reset",
        run.snapshots,
    )
    assert queued(env, profile_id)[-1] == {
        "schemaVersion": 1,
        "profileId": profile_id,
        "runId": record.run.run_id,
        "reason": "reset",
        "snapshots": frozen,
    }
    status = status_of(env, profile_id)
    assert status == {
        "@odata.context": status_context(profile_id),
        "id": profile_id,
        "status": "inProgress",
        "statusMessage": "Reset: errors cleared, the last frozen files are queued to sync again",
        "errorCount": 0,
        "lastActivityDateTime": status["lastActivityDateTime"],
        "lastSynchronizationDateTime": None,
    }
    assert datetime.fromisoformat(status["lastActivityDateTime"]) > run.enqueued_date_time
    assert errors.count(profile_id) == 0


def test_queue_messages_are_base64_json(private_env: AppEnv) -> None:
    profile_id = create(private_env)
    begin_run(private_env, profile_id)
    item(private_env, api.reset_profile, "POST", profile_id, "/reset")
    raw = (
        private_env.account.queues.get_queue_client(SYNC_QUEUE)
        .peek_messages(max_messages=1)[0]
        .content
    )
    decoded = json.loads(base64.b64decode(raw))
    run = ProfileStore(private_env.account).get(profile_id)[0].run
    assert decoded == {
        "schemaVersion": 1,
        "profileId": profile_id,
        "runId": run.run_id,
        "reason": "reset",
        "snapshots": {name: file.snapshot for name, file in run.snapshots.items()},
    }


def test_a_failed_enqueue_leaves_the_profile_as_it_was(private_env: AppEnv) -> None:
    profile_id = create(private_env)
    begin_run(private_env, profile_id)
    item(private_env, api.pause_profile, "POST", profile_id, "/pause")
    before = ProfileStore(private_env.account).get(profile_id)[0]
    private_env.account.queues.delete_queue(SYNC_QUEUE)
    try:
        answer = item(private_env, api.resume_profile, "POST", profile_id, "/resume")
    finally:
        private_env.account.queues.create_queue(SYNC_QUEUE)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json == envelope(
        answer, "serviceNotAvailable", "The synchronization could not be queued; try again."
    )
    assert ProfileStore(private_env.account).get(profile_id)[0] == before


# --- the collection --------------------------------------------------------------------------


def test_list_pages_with_top_skip_count_and_next_link(private_env: AppEnv) -> None:
    env = private_env
    ids = sorted(f"list-{i}-{uuid.uuid4()}" for i in range(3))
    for profile_id in ids:
        item(env, api.replace_profile, "PUT", profile_id, body=csv_body(profile_id))
    context = f"{BASE}/$metadata#education/synchronizationProfiles"
    served = [profile(i, "provisioned", displayName=i) for i in ids]

    first = call(api.list_profiles, request("GET", f"{ROOT}?$top=2&$count=true", token=env.token()))
    assert first.json == {
        "@odata.context": context,
        "@odata.count": 3,
        "value": served[:2],
        "@odata.nextLink": f"{ROOT}?$skip=2&$top=2&$count=true",
    }
    second = call(
        api.list_profiles, request("GET", first.json["@odata.nextLink"], token=env.token())
    )
    assert second.json == {"@odata.context": context, "@odata.count": 3, "value": served[2:]}
    everything = call(api.list_profiles, request("GET", ROOT, token=env.token()))
    assert (everything.status, everything.json) == (
        200,
        {"@odata.context": context, "value": served},
    )


def test_every_log_line_of_a_request_carries_its_request_id(
    app_env: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sds_app")
    answer = item(app_env, api.get_profile, "GET", "no-such-profile")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("sds_app")]
    assert lines
    assert all(line.startswith(f"[request-id {answer.headers['request-id']}] ") for line in lines)


def test_unexpected_failures_are_500_without_a_stack_trace(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    profile_id = create(app_env)

    def broken(self: Any, profile_id: str) -> Any:
        raise RuntimeError("boom at /srv/secret/path")

    monkeypatch.setattr(ProfileStore, "get", broken)
    answer = item(app_env, api.get_profile, "GET", profile_id)
    message = "The request could not be processed; see the request-id in the logs."
    assert (answer.status, answer.json) == (500, envelope(answer, "generalException", message))
    assert b"boom" not in answer.raw and b"Traceback" not in answer.raw
    assert "boom at /srv/secret/path" in caplog.text
