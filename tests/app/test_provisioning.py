"""Provisioning in the new School Data Sync: create, bind, PATCH, DELETE, against the fake Graph."""

from __future__ import annotations

from typing import Any

import pytest

from sds_app.blueprints import profiles as api
from sds_app.settings import get_settings
from sds_app.storage.profiles import ProfileStore
from tests.app.fixtures import AppEnv
from tests.app.flow import CSV_PROFILE, deliver
from tests.app.helpers import BASE, ROOT, Answer, call, envelope, request
from tests.fakegraph.server import FakeIndustryData, Fault

NS = "microsoft.graph.industryData."
ENTITY = f"{BASE}/$metadata#education/synchronizationProfiles/$entity"
DENIED = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}


@pytest.fixture
def sds(private_env: AppEnv, fake_graph: FakeIndustryData, monkeypatch: pytest.MonkeyPatch) -> FakeIndustryData:
    """The new SDS as the only target, Graph answered by the fake."""
    monkeypatch.setenv("SDS_SYNC_TARGET", "schoolDataSync")
    get_settings.cache_clear()
    return fake_graph


def create(env: AppEnv, body: dict[str, Any]) -> Answer:
    return call(api.create_profile, request("POST", ROOT, body=body, token=env.token()))


def get(env: AppEnv, profile_id: str) -> Answer:
    return call(api.get_profile, request("GET", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                         token=env.token()))


def patch(env: AppEnv, profile_id: str, body: dict[str, Any]) -> Answer:
    return call(api.update_profile, request("PATCH", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                            body=body, token=env.token()))


def profile_status(env: AppEnv, profile_id: str) -> dict[str, Any]:
    answer = call(api.get_profile_status, request("GET", f"{ROOT}/{profile_id}/profileStatus",
                                                  route={"id": profile_id}, token=env.token()))
    return {k: v for k, v in answer.json.items() if k in ("status", "statusMessage")}


def stored(env: AppEnv, profile_id: str) -> dict[str, Any] | None:
    found = ProfileStore(env.account).get(profile_id)
    return None if found is None else found[0].model_dump(mode="json").get("industryData")


def body_of(fake: FakeIndustryData, method: str, pattern: str) -> list[Any]:
    return [r.body for r in fake.calls(method, pattern)]


def bind(fake: FakeIndustryData, collection: str, object_id: str) -> str:
    return f"{fake.endpoint}/beta/external/industryData/{collection}/{object_id}"


def profile(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "displayName": "District CSV profile",
        "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider", "customizations": {
            name: None for name in ("school", "section", "student", "teacher", "studentEnrollment", "teacherRoster")
        }},
        "identitySynchronizationConfiguration": None,
        "licensesToAssign": [],
        "handleSpecialCharacterConstraint": False,
        "expirationDate": None,
        **extra,
        "state": state,
    }


def test_create_makes_the_four_objects_and_stores_their_ids(private_env: AppEnv, sds: FakeIndustryData) -> None:
    answer = create(private_env, {**CSV_PROFILE, "expirationDate": "2099-06-30"})
    assert answer.status == 202, answer.raw
    profile_id = answer.json["id"]
    assert answer.json == {"@odata.context": ENTITY, "id": profile_id,
                           **profile("provisioning", expirationDate="2099-06-30")}
    assert get(private_env, profile_id).json == {"@odata.context": ENTITY, "id": profile_id,
                                                 **profile("provisioned", expirationDate="2099-06-30")}
    ids = stored(private_env, profile_id)
    source, connector, year, flow = (ids["sourceSystemId"], ids["connectorId"], ids["yearId"], ids["inboundFlowId"])
    first = int(sds.objects["years"][year]["year"]["code"])
    assert ids == {"connectorId": connector, "sourceSystemId": source, "yearId": year, "inboundFlowId": flow,
                   "created": ["sourceSystem", "connector", "year", "inboundFlow"],
                   "yearEnd": f"{first + 1}-07-31", "fileFormat": "schoolDataSyncV1",
                   "leaseId": None, "leaseUntil": None}
    assert {c: list(o) for c, o in sds.objects.items()} == {
        "sourceSystems": [source], "dataConnectors": [connector], "years": [year], "inboundFlows": [flow],
    }
    assert body_of(sds, "POST", "/sourceSystems$") == [{
        "displayName": "District CSV profile",
        "userMatchingSettings": [
            {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
             "roleGroup@odata.bind": bind(sds, "roleGroups", "staff"), "sourceIdentifier": {"code": "username"}},
            {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 1,
             "roleGroup@odata.bind": bind(sds, "roleGroups", "students"), "sourceIdentifier": {"code": "username"}},
        ],
    }]
    assert body_of(sds, "POST", "/dataConnectors$") == [{
        "@odata.type": f"#{NS}azureDataLakeConnector",
        "displayName": "District CSV profile",
        "sourceSystem@odata.bind": bind(sds, "sourceSystems", source),
        "fileFormat": {"@odata.type": f"{NS}fileFormatReferenceValue", "code": "schoolDataSyncV1"},
    }]
    (year_body,) = body_of(sds, "POST", "/years$")
    assert year_body == {"displayName": f"School year {first}-{first + 1}", "startDate": f"{first}-08-01",
                         "endDate": f"{first + 1}-07-31",
                         "year": {"@odata.type": f"{NS}yearReferenceValue", "code": str(first)}}
    (flow_body,) = body_of(sds, "POST", "/inboundFlows$")
    assert flow_body == {
        "@odata.type": f"#{NS}inboundFileFlow",
        "dataConnector@odata.bind": bind(sds, "dataConnectors", connector),
        "dataDomain": "educationRostering",
        "displayName": "District CSV profile",
        "effectiveDateTime": flow_body["effectiveDateTime"],
        "expirationDateTime": f"{first + 1}-07-31T00:00:00Z",  # by its year's end, not 2099
        "year@odata.bind": bind(sds, "years", year),
    }
    assert flow_body["effectiveDateTime"].endswith("Z")
    assert profile_status(private_env, profile_id) == {
        "status": "paused", "statusMessage": "Not started: upload the files, then call start."}
    assert sds.violations == []


def test_user_matching_follows_the_matching_options(private_env: AppEnv, sds: FakeIndustryData) -> None:
    identity = {
        "@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
        "matchingOptions": [
            {"appliesTo": "student", "sourcePropertyName": "Username", "targetPropertyName": "userPrincipalName",
             "targetDomain": "contoso.edu"},
            {"appliesTo": "teacher", "sourcePropertyName": "Secondary Email", "targetPropertyName": "mail"},
            {"appliesTo": "faculty", "sourcePropertyName": "Username", "targetPropertyName": "userPrincipalName"},
        ],
    }
    answer = create(private_env, {**CSV_PROFILE, "identitySynchronizationConfiguration": identity})
    assert answer.status == 202
    assert body_of(sds, "POST", "/sourceSystems$")[0]["userMatchingSettings"] == [
        {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
         "roleGroup@odata.bind": bind(sds, "roleGroups", "students"), "sourceIdentifier": {"code": "username"},
         "domainName": "contoso.edu"},
        {"matchTarget": {"code": "mail"}, "priorityOrder": 1,
         "roleGroup@odata.bind": bind(sds, "roleGroups", "staff"), "sourceIdentifier": {"code": "email"}},
        {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 2,
         "roleGroup@odata.bind": bind(sds, "roleGroups", "staff"), "sourceIdentifier": {"code": "username"}},
    ]
    assert sds.violations == []


def test_a_matching_option_without_counterpart_is_refused_at_create_and_patch(
    private_env: AppEnv, sds: FakeIndustryData
) -> None:
    identity = {
        "@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
        "matchingOptions": [
            {"appliesTo": "student", "sourcePropertyName": "Username", "targetPropertyName": "userPrincipalName"},
            {"appliesTo": "teacher", "sourcePropertyName": "Teacher Number", "targetPropertyName": "employeeId"},
        ],
    }
    answer = create(private_env, {**CSV_PROFILE, "identitySynchronizationConfiguration": identity})
    refused = (
        "identitySynchronizationConfiguration.matchingOptions[1].sourcePropertyName 'Teacher Number' has "
        "no counterpart in School Data Sync, which matches users by Username, Secondary Email (email) or "
        "activeDirectory."
    )
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", refused))
    assert sds.requests == [] and ProfileStore(private_env.account).ids() == []
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    identity["matchingOptions"][1]["sourcePropertyName"] = "Secondary Email"
    answer = patch(private_env, profile_id, {"identitySynchronizationConfiguration": identity})
    refused = (
        "identitySynchronizationConfiguration.matchingOptions[1].targetPropertyName 'employeeId' has no "
        "counterpart in School Data Sync, which matches users by userPrincipalName or mail."
    )
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", refused))
    assert sds.calls("PATCH", "") == []
    assert get(private_env, profile_id).json["identitySynchronizationConfiguration"] is None
    assert sds.violations == []


def test_a_missing_permission_fails_provisioning_and_says_which(private_env: AppEnv, sds: FakeIndustryData) -> None:
    sds.faults.append(Fault("POST", r"/sourceSystems$", 403, body=DENIED))
    answer = create(private_env, CSV_PROFILE)
    profile_id = answer.json["id"]
    assert get(private_env, profile_id).json == {"@odata.context": ENTITY, "id": profile_id,
                                                 **profile("provisioningFailed")}
    assert profile_status(private_env, profile_id) == {
        "status": "error",
        "statusMessage": "Provisioning in School Data Sync failed: Microsoft Graph refused POST "
                         "/beta/external/industryData/sourceSystems (403 Authorization_RequestDenied): Insufficient "
                         "privileges to complete the operation. The app's identity needs the Microsoft Graph "
                         "application permission IndustryData-SourceSystem.ReadWrite.All.",
    }
    assert stored(private_env, profile_id) == {"connectorId": None, "sourceSystemId": None, "yearId": None,
                                               "inboundFlowId": None, "created": [], "yearEnd": None,
                                               "fileFormat": None, "leaseId": None, "leaseUntil": None}
    # Once the permission is granted, any PATCH provisions it.
    again = patch(private_env, profile_id, {})
    assert again.status == 202
    assert again.json == {"@odata.context": ENTITY, "id": profile_id, **profile("provisioned")}
    assert profile_status(private_env, profile_id) == {
        "status": "paused", "statusMessage": "Not started: upload the files, then call start."}
    assert stored(private_env, profile_id)["created"] == ["sourceSystem", "connector", "year", "inboundFlow"]
    assert sds.violations == []


def test_a_refusal_midway_keeps_what_was_made_and_goes_on_from_there(private_env: AppEnv,
                                                                     sds: FakeIndustryData) -> None:
    sds.faults.append(Fault("POST", r"/years$", 403, body=DENIED))
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    ids = stored(private_env, profile_id)
    assert ids["created"] == ["sourceSystem", "connector"] and ids["yearId"] is None
    assert "IndustryData-TimePeriod.ReadWrite.All" in profile_status(private_env, profile_id)["statusMessage"]
    patch(private_env, profile_id, {})
    assert len(sds.calls("POST", r"/sourceSystems$")) == 1  # not made twice
    assert stored(private_env, profile_id)["created"] == ["sourceSystem", "connector", "year", "inboundFlow"]
    assert sds.violations == []


def test_throttling_leaves_it_provisioning_and_a_read_tries_again(private_env: AppEnv,
                                                                  sds: FakeIndustryData) -> None:
    sds.faults.append(Fault("POST", r"/sourceSystems$", 429, headers={"Retry-After": "120"},
                            body={"error": {"code": "TooManyRequests", "message": "Slow down."}}))
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    found = ProfileStore(private_env.account).get(profile_id)[0]
    assert found.profile.state == "provisioning"
    assert found.status.status_message.startswith("Provisioning in School Data Sync is waiting: Microsoft Graph "
                                                  "refused POST /beta/external/industryData/sourceSystems (429")
    assert get(private_env, profile_id).json["state"] == "provisioned"
    assert sds.violations == []


def test_binding_to_a_connector_makes_nothing_and_deletes_nothing(private_env: AppEnv,
                                                                  sds: FakeIndustryData) -> None:
    setup = sds.connector_setup()
    answer = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]})
    assert answer.status == 202
    profile_id = answer.json["id"]
    assert answer.json == {"@odata.context": ENTITY, "id": profile_id, **profile("provisioning")}
    assert get(private_env, profile_id).json["state"] == "provisioned"
    assert stored(private_env, profile_id) == {"connectorId": setup["connectorId"], "sourceSystemId": None,
                                               "yearId": None, "inboundFlowId": None, "created": [],
                                               "yearEnd": None, "fileFormat": "schoolDataSyncV1",
                                               "leaseId": None, "leaseUntil": None}
    assert [r.method for r in sds.requests] == ["GET"]
    patch(private_env, profile_id, {"displayName": "Renamed"})
    assert [r.method for r in sds.requests] == ["GET", "GET"]
    assert call(api.delete_profile, request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                            token=private_env.token())).status == 202
    assert deliver(private_env, profile_id) == 1
    assert stored(private_env, profile_id) is None and ProfileStore(private_env.account).get(profile_id) is None
    assert [r.method for r in sds.requests] == ["GET", "GET"]
    assert all(len(objects) == 1 for objects in sds.objects.values())
    assert sds.violations == []


def test_binding_checks_the_connectors_file_format(private_env: AppEnv, sds: FakeIndustryData) -> None:
    setup = sds.connector_setup()
    sds.objects["dataConnectors"][setup["connectorId"]]["fileFormat"] = {"code": "oneRosterV1p1"}
    profile_id = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]}).json["id"]
    assert get(private_env, profile_id).json["state"] == "provisioningFailed"
    assert profile_status(private_env, profile_id) == {
        "status": "error",
        "statusMessage": f"Provisioning in School Data Sync failed: the dataConnector {setup['connectorId']} "
                         "takes fileFormat 'oneRosterV1p1', not 'schoolDataSyncV1' or 'schoolDataSyncV2Rev1'.",
    }


def test_an_unknown_connector_fails_provisioning(private_env: AppEnv, sds: FakeIndustryData) -> None:
    profile_id = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": "no-such-connector"}).json["id"]
    assert get(private_env, profile_id).json["state"] == "provisioningFailed"
    assert profile_status(private_env, profile_id)["statusMessage"].startswith(
        "Provisioning in School Data Sync failed: Microsoft Graph refused GET "
        "/beta/external/industryData/dataConnectors/no-such-connector (404")


@pytest.mark.parametrize("connector_id", ["a/b", "..", "."])
def test_a_connector_id_must_look_like_one(private_env: AppEnv, sds: FakeIndustryData, connector_id: str) -> None:
    answer = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": connector_id})
    assert (answer.status, answer.json) == (400, envelope(
        answer, "badRequest",
        "industryDataConnectorId is the id of a dataConnector: 1 to 128 letters, digits, '.', '_', '~' or '-'."))
    assert sds.requests == []


def test_the_connector_is_chosen_at_creation(private_env: AppEnv, sds: FakeIndustryData) -> None:
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    answer = patch(private_env, profile_id, {"industryDataConnectorId": "other"})
    assert (answer.status, answer.json) == (400, envelope(
        answer, "badRequest", "industryDataConnectorId is chosen when the profile is created."))


def test_patch_keeps_the_objects_in_step(private_env: AppEnv, sds: FakeIndustryData) -> None:
    profile_id = create(private_env, {**CSV_PROFILE, "expirationDate": "2099-06-30"}).json["id"]
    ids = stored(private_env, profile_id)
    identity = {"@odata.type": "#microsoft.graph.educationIdentityMatchingConfiguration",
                "matchingOptions": [{"appliesTo": "student", "sourcePropertyName": "Username",
                                     "targetPropertyName": "mail"}]}
    answer = patch(private_env, profile_id, {"displayName": "Renamed", "expirationDate": None,
                                             "identitySynchronizationConfiguration": identity})
    assert answer.status == 202
    served = {**identity, "matchingOptions": [{**identity["matchingOptions"][0], "targetDomain": None}]}
    assert answer.json == {"@odata.context": ENTITY, "id": profile_id,
                           **profile("provisioned", displayName="Renamed",
                                     identitySynchronizationConfiguration=served)}
    assert body_of(sds, "PATCH", "/sourceSystems/") == [{  # its update page takes no displayName
        "userMatchingSettings": [{"matchTarget": {"code": "mail"}, "priorityOrder": 0,
                                  "roleGroup@odata.bind": bind(sds, "roleGroups", "students"),
                                  "sourceIdentifier": {"code": "username"}}],
    }]
    assert body_of(sds, "PATCH", "/dataConnectors/") == [{"displayName": "Renamed"}]
    assert body_of(sds, "PATCH", "/inboundFlows/") == [{"displayName": "Renamed",
                                                        "expirationDateTime": f"{ids['yearEnd']}T00:00:00Z"}]
    assert [r.path.rsplit("/", 1)[1] for r in sds.calls("PATCH", "")] == [
        ids["sourceSystemId"], ids["connectorId"], ids["inboundFlowId"]]
    assert sds.objects["inboundFlows"][ids["inboundFlowId"]]["displayName"] == "Renamed"
    assert stored(private_env, profile_id) == ids
    assert sds.violations == []


def test_a_refused_patch_fails_provisioning_until_one_succeeds(private_env: AppEnv, sds: FakeIndustryData) -> None:
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    sds.faults.append(Fault("PATCH", r"/inboundFlows/", 403, body=DENIED))
    assert patch(private_env, profile_id, {"displayName": "Renamed"}).json["state"] == "provisioningFailed"
    assert "IndustryData-InboundFlow.ReadWrite.All" in profile_status(private_env, profile_id)["statusMessage"]
    assert patch(private_env, profile_id, {}).json["state"] == "provisioned"


def test_delete_removes_what_the_app_made(private_env: AppEnv, sds: FakeIndustryData) -> None:
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    ids = stored(private_env, profile_id)
    assert call(api.delete_profile, request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                            token=private_env.token())).status == 202
    assert deliver(private_env, profile_id) == 1
    assert ProfileStore(private_env.account).get(profile_id) is None
    assert [r.path.rsplit("/", 2)[1:] for r in sds.calls("DELETE", "")] == [
        ["inboundFlows", ids["inboundFlowId"]], ["years", ids["yearId"]],
        ["dataConnectors", ids["connectorId"]], ["sourceSystems", ids["sourceSystemId"]]]
    assert sds.objects == {"sourceSystems": {}, "dataConnectors": {}, "years": {}, "inboundFlows": {}}
    assert sds.violations == []


def test_a_refused_delete_keeps_the_profile_for_another_delete(private_env: AppEnv, sds: FakeIndustryData) -> None:
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    sds.faults.append(Fault("DELETE", r"/inboundFlows/", 403, body=DENIED, times=10))
    call(api.delete_profile, request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                     token=private_env.token()))
    with pytest.raises(Exception):
        deliver(private_env, profile_id)
    assert ProfileStore(private_env.account).get(profile_id) is not None
    assert len(sds.objects["inboundFlows"]) == 1
    sds.faults.clear()  # the permission granted: another DELETE completes
    call(api.delete_profile, request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                     token=private_env.token()))
    assert deliver(private_env, profile_id) == 1
    assert ProfileStore(private_env.account).get(profile_id) is None
    assert sds.objects == {"sourceSystems": {}, "dataConnectors": {}, "years": {}, "inboundFlows": {}}


def test_the_directory_target_makes_no_objects(private_env: AppEnv, fake_graph: FakeIndustryData) -> None:
    profile_id = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": "ignored"}).json["id"]
    assert get(private_env, profile_id).json["state"] == "provisioned"
    assert stored(private_env, profile_id) is None
    assert fake_graph.requests == []


def test_put_creates_bound_and_a_replace_keeps_the_connector(private_env: AppEnv, sds: FakeIndustryData) -> None:
    setup = sds.connector_setup()
    profile_id = "district-profile-1"
    body = {**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]}

    def put(payload: dict[str, Any]) -> Answer:
        return call(api.replace_profile, request("PUT", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                                 body=payload, token=private_env.token()))

    assert put(body).status == 202
    assert get(private_env, profile_id).json["state"] == "provisioned"
    assert stored(private_env, profile_id)["connectorId"] == setup["connectorId"]
    assert put({**body, "displayName": "Renamed"}).json["displayName"] == "Renamed"
    other = put({**CSV_PROFILE, "industryDataConnectorId": "another"})
    assert (other.status, other.json) == (400, envelope(
        other, "badRequest", "industryDataConnectorId is chosen when the profile is created."))
    assert [r.method for r in sds.requests] == ["GET", "GET"]  # checked twice, never changed
    assert sds.violations == []


def test_a_long_name_and_a_far_expiration_provision_and_stay_provisioned_after_patch(
    private_env: AppEnv, sds: FakeIndustryData
) -> None:
    name = "Springfield Unified School District - Secondary Schools Rostering Profile " * 3
    answer = create(private_env, {**CSV_PROFILE, "displayName": name.strip(), "expirationDate": "2099-12-31"})
    profile_id = answer.json["id"]
    assert answer.json["displayName"] == name.strip()  # the profile keeps its own name
    assert get(private_env, profile_id).json["state"] == "provisioned"
    fitted = {body["displayName"] for body in body_of(sds, "POST", "/(sourceSystems|dataConnectors|inboundFlows)$")}
    assert len(fitted) == 1 and len(fitted.pop()) == 100
    assert patch(private_env, profile_id, {"displayName": name.strip() + "!"}).json["state"] == "provisioned"
    assert patch(private_env, profile_id, {}).json["state"] == "provisioned"
    names = [b["displayName"] for b in body_of(sds, "PATCH", "/(dataConnectors|inboundFlows)/")]
    assert len(names) == 4 and len(set(names[:2])) == 1 and names[:2] == names[2:]
    assert profile_status(private_env, profile_id)["status"] == "paused"
    assert sds.violations == []


def test_a_read_while_another_request_provisions_makes_no_second_set(
    private_env: AppEnv, sds: FakeIndustryData
) -> None:
    sds.slow = {"POST .*/sourceSystems$": 1.5}  # the create request is slow to hear back
    results: dict[str, Any] = {}

    def creating() -> None:
        results["create"] = create(private_env, CSV_PROFILE)

    import threading

    thread = threading.Thread(target=creating)
    thread.start()
    for _ in range(100):  # the record exists, its lease taken, the first object on its way
        ids = ProfileStore(private_env.account).ids()
        if ids and sds.calls("POST", "/sourceSystems$"):
            break
        threading.Event().wait(0.02)
    (profile_id,) = ids
    readers = [threading.Thread(target=lambda: results.setdefault("gets", []).append(
        get(private_env, profile_id))) for _ in range(3)]
    for reader in readers:
        reader.start()
    patched = patch(private_env, profile_id, {"displayName": "Renamed meanwhile"})
    for reader in [thread, *readers]:
        reader.join()
    assert patched.status == 202
    assert all(g.status == 200 for g in results["gets"])
    assert {c: len(o) for c, o in sds.objects.items()} == {
        "sourceSystems": 1, "dataConnectors": 1, "years": 1, "inboundFlows": 1}
    assert len(sds.calls("POST", "/sourceSystems$")) == 1
    assert get(private_env, profile_id).json["state"] == "provisioned"
    assert stored(private_env, profile_id)["leaseId"] is None
    assert sds.violations == []


def test_a_stale_lease_is_taken_over(private_env: AppEnv, sds: FakeIndustryData) -> None:
    from datetime import UTC, datetime, timedelta

    sds.faults.append(Fault("POST", r"/sourceSystems$", 429, headers={"Retry-After": "120"},
                            body={"error": {"code": "TooManyRequests", "message": "Slow down."}}))
    profile_id = create(private_env, CSV_PROFILE).json["id"]  # stays provisioning (throttled)

    def leased(until: datetime) -> None:
        def write(record: Any) -> Any:
            record.industryData = {**record.industryData, "leaseId": "crashed", "leaseUntil": until.isoformat()}
            return record
        ProfileStore(private_env.account).update(profile_id, write)

    leased(datetime.now(UTC) + timedelta(minutes=4))
    before = len(sds.requests)
    assert get(private_env, profile_id).json["state"] == "provisioning"  # held: left alone
    assert len(sds.requests) == before
    leased(datetime.now(UTC) - timedelta(seconds=1))  # its holder stopped long ago
    assert get(private_env, profile_id).json["state"] == "provisioned"
    assert stored(private_env, profile_id)["leaseId"] is None


def test_a_connector_serves_one_profile_at_a_time(private_env: AppEnv, sds: FakeIndustryData) -> None:
    setup = sds.connector_setup()
    first = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]})
    assert first.status == 202
    second = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]})
    assert (second.status, second.json) == (409, envelope(
        second, "conflict",
        f"The dataConnector {setup['connectorId']} is already used by the synchronization profile "
        f"{first.json['id']}: each upload replaces a connector's whole data set, so a connector serves one "
        "profile. Delete that profile first, or use another connector."))
    assert len(ProfileStore(private_env.account).ids()) == 1
    call(api.delete_profile, request("DELETE", f"{ROOT}/{first.json['id']}", route={"id": first.json["id"]},
                                     token=private_env.token()))
    assert deliver(private_env, first.json["id"]) == 1
    third = create(private_env, {**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]})
    assert third.status == 202
    assert get(private_env, third.json["id"]).json["state"] == "provisioned"


@pytest.mark.parametrize("bad_id", ["a/b", "..", "x" * 200, "café"])
def test_an_id_from_graph_that_cannot_be_one_fails_provisioning_and_the_profile_stays_usable(
    private_env: AppEnv, sds: FakeIndustryData, bad_id: str
) -> None:
    sds.faults.append(Fault("POST", r"/dataConnectors$", 201, body={"id": bad_id, "displayName": "x"}))
    profile_id = create(private_env, CSV_PROFILE).json["id"]
    seen = get(private_env, profile_id)
    assert seen.status == 200 and seen.json["state"] == "provisioningFailed"
    message = profile_status(private_env, profile_id)["statusMessage"]
    assert message.startswith("Provisioning in School Data Sync failed: Microsoft Graph's answer is not "
                              "usable: the id of the created dataConnectors object is not an Industry Data id")
    assert stored(private_env, profile_id)["connectorId"] is None
    answer = call(api.delete_profile, request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                              token=private_env.token()))
    assert answer.status == 202
    assert deliver(private_env, profile_id) == 1
    assert ProfileStore(private_env.account).get(profile_id) is None
    assert sds.objects["sourceSystems"] == {}  # what it had made is gone too


def test_a_stored_id_of_an_earlier_version_does_not_block_reading_or_deleting(
    private_env: AppEnv, sds: FakeIndustryData
) -> None:
    profile_id = create(private_env, CSV_PROFILE).json["id"]

    def broken(record: Any) -> Any:
        record.industryData = {**record.industryData, "yearId": "a/b"}
        return record

    ProfileStore(private_env.account).update(profile_id, broken)
    assert get(private_env, profile_id).status == 200
    assert patch(private_env, profile_id, {}).status == 202
    call(api.delete_profile, request("DELETE", f"{ROOT}/{profile_id}", route={"id": profile_id},
                                     token=private_env.token()))
    assert deliver(private_env, profile_id) == 1
    assert ProfileStore(private_env.account).get(profile_id) is None
    assert list(sds.objects["years"]) != [] and sds.objects["inboundFlows"] == {}
