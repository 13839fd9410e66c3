"""Our answers read by the models of msgraph-beta-sdk 1.18.0: typed subclasses, no leftovers."""

from __future__ import annotations

from typing import Any

from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph_beta.generated.education.synchronization_profiles.item.upload_url.upload_url_get_response import (  # noqa: E501
    UploadUrlGetResponse,
)
from msgraph_beta.generated.models.education_csv_data_provider import EducationCsvDataProvider
from msgraph_beta.generated.models.education_identity_creation_configuration import (
    EducationIdentityCreationConfiguration,
)
from msgraph_beta.generated.models.education_synchronization_error_collection_response import (
    EducationSynchronizationErrorCollectionResponse,
)
from msgraph_beta.generated.models.education_synchronization_profile import (
    EducationSynchronizationProfile,
)
from msgraph_beta.generated.models.education_synchronization_profile_state import (
    EducationSynchronizationProfileState,
)
from msgraph_beta.generated.models.education_synchronization_profile_status import (
    EducationSynchronizationProfileStatus,
)
from msgraph_beta.generated.models.education_synchronization_status import (
    EducationSynchronizationStatus,
)
from msgraph_beta.generated.models.education_user_role import EducationUserRole

from sds_app.blueprints import profiles as api
from sds_app.storage.sync_errors import SyncErrorStore
from sds_core.models.status import SyncErrorEntry
from tests.app.fixtures import AppEnv
from tests.app.helpers import ROOT, Answer, call, request

BODY = {
    "displayName": "SDK",
    "dataProvider": {
        "@odata.type": "#microsoft.graph.educationCsvDataProvider",
        "customizations": {"student": {"optionalPropertiesToSync": ["State ID"]}},
    },
    "identitySynchronizationConfiguration": {
        "@odata.type": "#microsoft.graph.educationIdentityCreationConfiguration",
        "userDomains": [{"appliesTo": "student", "name": "example.edu"}],
    },
    "licensesToAssign": [{"appliesTo": "teacher", "skuIds": ["sku-1"]}],
}


def parse(answer: Answer, model: Any) -> Any:
    """What the SDK makes of a body."""
    node = JsonParseNodeFactory().get_root_parse_node("application/json", answer.raw)
    return node.get_object_value(model)


def get(env: AppEnv, handler: Any, profile_id: str, tail: str) -> Answer:
    """GET a route under /{id}."""
    url = f"{ROOT}/{profile_id}{tail}"
    return call(handler, request("GET", url, route={"id": profile_id}, token=env.token()))


def test_the_sdk_reads_profiles_statuses_errors_and_upload_urls(app_env: AppEnv) -> None:
    created = call(api.create_profile, request("POST", ROOT, body=BODY, token=app_env.token()))
    profile_id = created.json["id"]
    SyncErrorStore(app_env.account).add_many(profile_id, [SyncErrorEntry(id="e1", error_code="X")])

    profile = parse(get(app_env, api.get_profile, profile_id, ""), EducationSynchronizationProfile)
    assert isinstance(profile.data_provider, EducationCsvDataProvider)
    assert isinstance(
        profile.identity_synchronization_configuration, EducationIdentityCreationConfiguration
    )
    assert profile.data_provider.customizations.student.optional_properties_to_sync == ["State ID"]
    assert profile.state == EducationSynchronizationProfileState.Provisioned
    assert profile.licenses_to_assign[0].applies_to == EducationUserRole.Teacher
    assert profile.data_provider.additional_data == {}

    status = parse(
        get(app_env, api.get_profile_status, profile_id, "/profileStatus"),
        EducationSynchronizationProfileStatus,
    )
    assert (status.status, status.error_count) == (EducationSynchronizationStatus.Paused, 1)

    errors = parse(
        get(app_env, api.list_errors, profile_id, "/errors"),
        EducationSynchronizationErrorCollectionResponse,
    )
    assert [(e.id, e.error_code) for e in errors.value] == [("e1", "X")]

    url = parse(
        get(app_env, api.get_upload_url_call, profile_id, "/uploadUrl()"), UploadUrlGetResponse
    )
    assert url.value.split("?")[0].endswith(f"/sds-uploads/{profile_id}")
