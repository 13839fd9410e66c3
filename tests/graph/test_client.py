"""The Industry Data client against the fake server: every call, both spellings, errors as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sds_app.graph import GraphError, IndustryDataClient
from sds_app.graph.client import RunStart
from sds_app.graph.errors import permission_for, retry_after_seconds
from sds_app.session_upload import in_memory, upload_session_files
from tests.fakegraph.server import (
    FakeIndustryData,
    Fault,
    RunOutcome,
    ValidationOutcome,
    public_error,
)

SIX = {
    "school.csv": b"SIS ID,Name\n1,A\n",
    "section.csv": b"SIS ID,School SIS ID,Section Name\ns1,1,Math\n",
    "student.csv": b"SIS ID,School SIS ID,Username\nst1,1,st1\nst2,1,st2\n",
    "teacher.csv": b"SIS ID,School SIS ID,Username\nt1,1,t1\n",
    "studentenrollment.csv": b"Section SIS ID,SIS ID\ns1,st1\n",
    "teacherroster.csv": b"Section SIS ID,SIS ID\ns1,t1\n",
}


@pytest.fixture
def client(fake_graph: FakeIndustryData) -> IndustryDataClient:
    return IndustryDataClient(fake_graph.endpoint)


def _started_run(client: IndustryDataClient) -> str:
    """runs/start, then its operation followed until it names the run (the documented answer)."""
    started = client.start_run()
    assert started.run_id is None and started.operation is not None
    for _ in range(5):
        run_id = client.run_of_operation(client.get_operation(started.operation))
        if run_id is not None:
            return run_id
    raise AssertionError("the operation never named a run")


@pytest.mark.parametrize("graph_host", [False, True])
def test_runs_start_answers_202_with_the_operation_that_names_the_run(
    client: IndustryDataClient, fake_graph: FakeIndustryData, graph_host: bool
) -> None:
    fake_graph.graph_host_locations = graph_host
    started = client.start_run()
    (run_id,) = fake_graph.started_runs
    (op_id,) = fake_graph.start_operations
    assert started == RunStart(operation=op_id)
    running = client.get_operation(started.operation or "")
    assert running == {
        "@odata.context": f"{fake_graph.endpoint}/beta/$metadata#external/industryData/operations/$entity",
        "@odata.type": "#microsoft.graph.longRunningOperation",
        "createdDateTime": running["createdDateTime"],
        "id": op_id,
        "lastActionDateTime": running["lastActionDateTime"],
        "resourceLocation": None,
        "status": "running",
        "statusDetail": None,
    }
    assert client.run_of_operation(running) is None
    done = client.get_operation(op_id)
    assert done["resourceLocation"] == f"https://graph.microsoft.com/beta/external/industryData/runs/{run_id}"
    assert client.run_of_operation(done) == run_id
    assert fake_graph.violations == []


def test_runs_start_as_the_older_page_says_answers_202_alone(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.start_style = "none"
    assert client.start_run() == RunStart()
    assert len(fake_graph.started_runs) == 1 and fake_graph.violations == []


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example/beta/external/industryData/runs/1",
        "https://graph.microsoft.com/beta/external/industryData/runs/a%2Fb/x",
        "https://graph.microsoft.com/beta/external/industryData/runs/..",
        "https://graph.microsoft.com/beta/external/industryData/runs",
        "https://graph.microsoft.com/v1.0/users/1",
        "file:///etc/passwd",
        "a/b",
        "x" * 3000,
        "run\nid",
        12,
        ["runs/1"],
    ],
)
def test_a_resource_location_that_is_no_run_url_is_an_error_naming_it(
    client: IndustryDataClient, value: object
) -> None:
    with pytest.raises(GraphError) as wrong:
        client.run_of_operation({"resourceLocation": value, "status": "succeeded"})
    assert wrong.value.code == "invalidResponse"
    assert "resourceLocation is not what Graph documents" in wrong.value.message
    assert "\n" not in wrong.value.message and len(wrong.value.message) < 400


def test_a_resource_location_naming_another_resource_names_no_run(client: IndustryDataClient) -> None:
    other = "https://graph.microsoft.com/beta/industryData/dataConnectors/022da4a0-c239-4b07"
    assert client.run_of_operation({"resourceLocation": other}) is None
    assert client.run_of_operation({"resourceLocation": None}) is None
    assert client.run_of_operation({}) is None
    quoted = "https://graph.microsoft.com/beta/industryData/runs('918d4a8f-599b')"
    assert client.run_of_operation({"resourceLocation": quoted}) == "918d4a8f-599b"


@pytest.mark.parametrize(
    ("collection", "answer"),
    [("sourceSystems", {"id": "a/b"}), ("years", {"id": ".."}), ("dataConnectors", {"id": 7}),
     ("inboundFlows", {"displayName": "no id"})],
)
def test_a_created_object_with_an_id_that_cannot_be_one_is_an_error(
    client: IndustryDataClient, fake_graph: FakeIndustryData, collection: str, answer: dict
) -> None:
    fake_graph.faults.append(Fault("POST", rf"/{collection}$", 201, {}, answer))
    with pytest.raises(GraphError) as wrong:
        client._create(collection, {"displayName": "x"})
    assert wrong.value.code == "invalidResponse"


@pytest.mark.parametrize("location", ["https://evil.example/beta/external/industryData/operations/1",
                                      "https://graph.microsoft.com/beta/external/industryData/runs/1",
                                      "../../x"])
def test_a_validate_location_that_is_no_operation_is_an_error(
    client: IndustryDataClient, fake_graph: FakeIndustryData, location: str
) -> None:
    ids = fake_graph.connector_setup()
    fake_graph.faults.append(Fault("POST", r"/validate$", 202, {"Location": location}, None))
    with pytest.raises(GraphError) as wrong:
        client.validate(ids["connectorId"])
    assert wrong.value.code == "invalidResponse" and "validate: Location" in wrong.value.message


def _setup(client: IndustryDataClient) -> dict[str, str]:
    source = client.create_source_system(
        {
            "displayName": "Rostering source",
            "userMatchingSettings": [
                {
                    "matchTarget": {"code": "userPrincipalName"},
                    "priorityOrder": 0,
                    "roleGroup@odata.bind": client.bind("roleGroups", "staff"),
                    "sourceIdentifier": {"code": "username"},
                },
                {
                    "matchTarget": {"code": "userPrincipalName"},
                    "priorityOrder": 1,
                    "roleGroup@odata.bind": client.url("roleGroups('students')"),
                    "sourceIdentifier": {"code": "username"},
                },
            ],
        }
    )
    connector = client.create_connector(
        {
            "@odata.type": "#microsoft.graph.industryData.azureDataLakeConnector",
            "displayName": "CSV connector",
            "sourceSystem@odata.bind": client.url(f"sourceSystems('{source['id']}')"),
            "fileFormat": {
                "@odata.type": "microsoft.graph.industryData.fileFormatReferenceValue",
                "code": "schoolDataSyncV1",
            },
        }
    )
    year = client.create_year(
        {
            "displayName": "Fiscal Year 2026",
            "endDate": "2027-06-15",
            "startDate": "2026-09-01",
            "year": {"code": "2026"},
        }
    )
    flow = client.create_inbound_flow(
        {
            "@odata.type": "#microsoft.graph.industryData.inboundFileFlow",
            "dataConnector@odata.bind": client.bind("dataConnectors", connector["id"]),
            "dataDomain": "educationRostering",
            "displayName": "Inbound rostering flow",
            "effectiveDateTime": "2026-09-01T00:00:00Z",
            "expirationDateTime": None,
            "year@odata.bind": client.bind("years", year["id"]),
        }
    )
    return {
        "sourceSystemId": source["id"],
        "connectorId": connector["id"],
        "yearId": year["id"],
        "inboundFlowId": flow["id"],
    }


def test_setup_objects_created_read_updated_deleted(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    ids = _setup(client)
    source = client.get_source_system(ids["sourceSystemId"])
    assert source == {
        "@odata.context": f"{fake_graph.endpoint}/beta/$metadata#external/industryData/sourceSystems/$entity",
        "id": ids["sourceSystemId"],
        "displayName": "Rostering source",
        "vendor": None,
        "userMatchingSettings": [
            {
                "matchTarget": {"code": "userPrincipalName"},
                "priorityOrder": 0,
                "sourceIdentifier": {"code": "username"},
            },
            {
                "matchTarget": {"code": "userPrincipalName"},
                "priorityOrder": 1,
                "sourceIdentifier": {"code": "username"},
            },
        ],
    }
    assert client.get_inbound_flow(ids["inboundFlowId"])["readinessStatus"] == "ready"
    client.update_connector(ids["connectorId"], {"displayName": "Renamed"})
    assert client.get_connector(ids["connectorId"])["displayName"] == "Renamed"
    client.update_year(ids["yearId"], {"displayName": "FY"})
    client.update_inbound_flow(ids["inboundFlowId"], {"expirationDateTime": "2027-06-15T00:00:00Z"})
    client.update_source_system(ids["sourceSystemId"], {"userMatchingSettings": []})
    assert [c["id"] for c in client.list_connectors()] == [ids["connectorId"]]
    assert client.delete_inbound_flow(ids["inboundFlowId"]) is True
    assert client.delete_inbound_flow(ids["inboundFlowId"]) is False  # already gone
    assert client.delete_year(ids["yearId"]) and client.delete_connector(ids["connectorId"])
    assert client.delete_source_system(ids["sourceSystemId"])
    assert fake_graph.violations == []


@pytest.mark.parametrize(
    ("method", "collection", "body", "why"),
    [
        ("POST", "sourceSystems", {"displayName": "x" * 101}, "displayName is longer than 100"),
        ("PATCH", "sourceSystems", {"displayName": "S"}, "does not update ['displayName']"),
        ("PATCH", "dataConnectors", {"fileFormat": {"code": "schoolDataSyncV1"}},
         "does not update ['fileFormat']"),
        ("PATCH", "inboundFlows", {"expirationDateTime": "2027-06-15T00:00:01Z"},
         "exceeds the year end date 2027-06-15"),
        ("PATCH", "sourceSystems", {"userMatchingSettings": [
            {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
             "roleGroup@odata.bind": "R:staff", "sourceIdentifier": {"code": "username"}},
            {"matchTarget": {"code": "userPrincipalName"}, "priorityOrder": 0,
             "roleGroup@odata.bind": "R:students", "sourceIdentifier": {"code": "username"}}]},
         "priorityOrder repeats across settings: [0, 0]"),
        ("PATCH", "sourceSystems", {"userMatchingSettings": [
            {"matchTarget": {"code": "employeeId"}, "priorityOrder": 0,
             "roleGroup@odata.bind": "R:staff", "sourceIdentifier": {"code": "username"}}]},
         "matchTarget: code 'employeeId' is not one of"),
        ("PATCH", "sourceSystems", {"userMatchingSettings": [
            {"matchTarget": {"code": "mail"}, "priorityOrder": 0,
             "roleGroup@odata.bind": "R:staff", "sourceIdentifier": {"code": "sisId"}}]},
         "sourceIdentifier: code 'sisId' is not one of"),
    ],
)
def test_the_stand_in_refuses_what_the_service_refuses(
    client: IndustryDataClient, fake_graph: FakeIndustryData, method: str, collection: str,
    body: dict, why: str,
) -> None:
    ids = _setup(client)
    for setting in body.get("userMatchingSettings", []):
        setting["roleGroup@odata.bind"] = client.bind("roleGroups", setting["roleGroup@odata.bind"][2:])
    key = {"sourceSystems": "sourceSystemId", "dataConnectors": "connectorId",
           "inboundFlows": "inboundFlowId"}[collection]
    with pytest.raises(GraphError) as refused:
        if method == "POST":
            client._create(collection, body)
        else:
            client._update(collection, ids[key], body)
    assert refused.value.status == 400 and why in refused.value.graph_message
    assert len(fake_graph.violations) == 1 and why in fake_graph.violations[0]


def test_list_connectors_follows_next_link(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.page_size = 2
    made = [fake_graph.connector_setup(f"c{i}")["connectorId"] for i in range(5)]
    assert [c["id"] for c in client.list_connectors()] == made
    assert len(fake_graph.calls("GET", r"/dataConnectors$")) == 3
    assert fake_graph.violations == []


def test_list_runs_follows_next_link_newest_first(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.page_size = 2
    base = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    made = [fake_graph.add_run(base + timedelta(hours=i)) for i in range(5)]
    runs = client.list_runs()
    assert [r["id"] for r in runs] == made[::-1]
    assert runs[0] == {
        "@odata.type": "#microsoft.graph.industryData.industryDataRun",
        "displayName": "Run 2026-12-02 10:00 UTC",
        "endDateTime": None,
        "id": made[4],
        "startDateTime": "2026-12-02T10:00:00Z",
        "status": "running",
    }
    assert len(fake_graph.calls("GET", r"/runs$")) == 3
    assert [r.query for r in fake_graph.calls("GET", r"/runs$")] == [
        {},
        {"$skiptoken": ["2"]},
        {"$skiptoken": ["4"]},
    ]
    assert [r["id"] for r in client.list_runs(max_pages=1)] == made[:2:-1]  # bounded
    assert client.get_run(made[4])["status"] == "running"  # a listing does not move a run on
    assert fake_graph.violations == []


def test_list_runs_of_a_tenant_without_runs(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    assert client.list_runs() == []
    assert fake_graph.violations == []


def test_an_undocumented_body_is_a_violation(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    source = fake_graph.add("sourceSystems", {"displayName": "s"})
    with pytest.raises(GraphError) as refused:
        client.create_connector(
            {
                "@odata.type": "#microsoft.graph.industryData.azureDataLakeConnector",
                "displayName": "c",
                "sourceSystem@odata.bind": client.bind("sourceSystems", source),
                "fileFormat": {"code": "csvV1"},
            }
        )
    assert refused.value.status == 400
    assert fake_graph.violations == [
        "POST /beta/external/industryData/dataConnectors: fileFormat: code 'csvV1' is not one of "
        "['schoolDataSyncV1', 'schoolDataSyncV2Rev1']"
    ]


@pytest.mark.parametrize("style", ["external", "resourceLocation", "id"])
def test_one_upload_validated_and_run(
    client: IndustryDataClient, fake_graph: FakeIndustryData, style: str
) -> None:
    fake_graph.location_style = style
    ids = fake_graph.connector_setup()
    session = client.get_upload_session(ids["connectorId"], reset=True)
    assert session.session_expiration and session.container_id
    for name, data in SIX.items():
        upload_session_files(client, session.session_url, [in_memory(name, data)])
    location = client.validate(ids["connectorId"])
    assert client.get_operation(location)["status"] == "running"
    done = client.get_operation(location)
    assert (done["status"], done["errors"], done["warnings"]) == ("succeeded", [], [])
    run_id = _started_run(client)
    assert client.get_run(run_id)["status"] == "running"
    run = client.get_run(run_id)
    assert run["status"] == "completed" and run["id"] == run_id
    stats = client.get_statistics(run_id)
    assert stats["inboundTotals"]["people"] == 3 and stats["runId"] == run_id
    assert fake_graph.runs[run_id]["files"] == {ids["connectorId"]: SIX}
    assert fake_graph.session_requests == [(ids["connectorId"], "true")]
    assert fake_graph.violations == []


def test_validation_errors_and_warnings(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    ids = fake_graph.connector_setup()
    session = client.get_upload_session(ids["connectorId"])
    school = in_memory("school.csv", SIX["school.csv"])
    upload_session_files(client, session.session_url, [school])
    operation = client.get_operation(client.validate(ids["connectorId"]))
    operation = client.get_operation(operation["id"])
    assert operation["status"] == "succeeded"  # judged by errors, not status
    assert [e["target"] for e in operation["errors"]] == ["student.csv", "teacher.csv"]
    assert [w["code"] for w in operation["warnings"]] == ["OptionalFileNotFound"] * 3
    fake_graph.validations.append(
        ValidationOutcome(
            status="failed", errors=[public_error("X", "bad", "school.csv")], running_polls=0
        )
    )
    assert client.get_operation(client.validate(ids["connectorId"]))["errors"][0]["code"] == "X"
    assert fake_graph.violations == []


def test_run_failed_with_blocking_error(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.runs_script.append(
        RunOutcome(
            status="failed",
            running_polls=0,
            blocking_error=public_error("E", "The run failed.", ""),
        )
    )
    run = client.get_run(_started_run(client))
    assert run["status"] == "failed" and run["blockingError"]["message"] == "The run failed."


def test_throttling_with_retry_after_is_retried(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    ids = fake_graph.connector_setup()
    fake_graph.faults.append(
        Fault(
            "GET",
            r"/dataConnectors/",
            429,
            {"Retry-After": "1"},
            {"error": {"code": "TooManyRequests", "message": "slow down"}},
            times=2,
        )
    )
    assert client.get_connector(ids["connectorId"])["id"] == ids["connectorId"]
    assert len(fake_graph.calls("GET", r"/dataConnectors/")) == 3
    fake_graph.faults.append(
        Fault("GET", r"/dataConnectors/", 503, {"Retry-After": "0"}, None, times=1)
    )
    assert client.get_connector(ids["connectorId"])["id"] == ids["connectorId"]


def test_a_long_retry_after_is_returned_not_slept(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.faults.append(
        Fault(
            "POST",
            r"/runs/start",
            429,
            {"Retry-After": "3600"},
            {"error": {"code": "TooManyRequests", "message": "Run limit reached."}},
        )
    )
    with pytest.raises(GraphError) as throttled:
        client.start_run()
    error = throttled.value
    assert (error.status, error.code, error.retry_after, error.throttled) == (
        429,
        "TooManyRequests",
        3600,
        True,
    )
    assert len(fake_graph.calls("POST", r"/runs/start")) == 1


def test_403_names_the_missing_permission(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.faults.append(
        Fault(
            "POST",
            r"/runs/start",
            403,
            {},
            {
                "error": {
                    "code": "Authorization_RequestDenied",
                    "message": "Insufficient privileges to complete the operation.",
                }
            },
        )
    )
    with pytest.raises(GraphError) as denied:
        client.start_run()
    assert denied.value.message == (
        "Microsoft Graph refused POST /beta/external/industryData/runs/start (403 "
        "Authorization_RequestDenied): Insufficient privileges to complete the operation. The app's "
        "identity needs the Microsoft Graph application permission IndustryData-Run.Start."
    )


def test_401_and_expired_session(client: IndustryDataClient, fake_graph: FakeIndustryData) -> None:
    ids = fake_graph.connector_setup()
    fake_graph.expire_sessions = True
    session = client.get_upload_session(ids["connectorId"])
    with pytest.raises(GraphError) as expired:
        upload_session_files(client, session.session_url, [in_memory("school.csv", b"x")])
    assert expired.value.status == 403
    assert "expired" in expired.value.message
    fake_graph.token = "secret"
    with pytest.raises(GraphError) as unauthenticated:
        client.get_connector(ids["connectorId"])
    assert (unauthenticated.value.status, unauthenticated.value.code) == (
        401,
        "InvalidAuthenticationToken",
    )


def test_permission_table() -> None:
    assert permission_for("GET", "/beta/external/industryData/runs") == "IndustryData-Run.Read.All"
    assert (
        permission_for("GET", "/beta/external/industryData/runs/1/getStatistics")
        == "IndustryData-Run.Read.All"
    )
    assert (
        permission_for(
            "GET",
            "/beta/external/industryData/dataConnectors/1/microsoft.graph.industryData."
            "azureDataLakeConnector/getUploadSession",
        )
        == "IndustryData-DataConnector.ReadWrite.All"
    )
    assert permission_for("POST", "/beta/external/industryData/dataConnectors/1/validate") == (
        "IndustryData-DataConnector.ReadWrite.All"
    )
    assert (
        permission_for("GET", "/beta/external/industryData/dataConnectors")
        == "IndustryData-DataConnector.Read.All"
    )
    assert (
        permission_for("POST", "/beta/external/industryData/years")
        == "IndustryData-TimePeriod.ReadWrite.All"
    )
    assert (
        permission_for("GET", "/beta/external/industryData/operations/1")
        == "IndustryData.ReadBasic.All"
    )


class _Credential:
    """A TokenCredential that hands out one fixed token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object):  # noqa: ANN201
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, 4_102_444_800)


def test_tokens_for_the_endpoint_scope(fake_graph: FakeIndustryData) -> None:
    fake_graph.token = "t0ken"
    credential = _Credential("t0ken")
    client = IndustryDataClient(fake_graph.endpoint, credential)
    ids = fake_graph.connector_setup()
    assert client.get_connector(ids["connectorId"])["id"] == ids["connectorId"]
    assert credential.scopes == [(f"{fake_graph.endpoint}/.default",)]
    session = client.get_upload_session(ids["connectorId"])
    upload_session_files(  # no token to the SAS (the Gen2 stand-in refuses one)
        client, session.session_url, [in_memory("school.csv", b"SIS ID,Name\n1,A\n")]
    )
    assert fake_graph.violations == []


def test_no_authorization_header_without_credential(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    ids = fake_graph.connector_setup()
    client.get_connector(ids["connectorId"])
    assert [r.authorization for r in fake_graph.requests] == [None]


def test_client_for_the_settings() -> None:
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy

    from sds_app.graph import client_for
    from sds_app.settings import Settings

    def policy_types(client: IndustryDataClient) -> list[type]:
        pipeline = client._graph._pipeline  # noqa: SLF001 - azure-core keeps the policies here
        return [type(getattr(p, "_policy", p)) for p in pipeline._impl_policies]  # noqa: SLF001

    assert BearerTokenCredentialPolicy not in policy_types(
        client_for(Settings(graph_auth="none", graph_endpoint="http://127.0.0.1:9"))
    )
    default = client_for(Settings())
    assert default.scope == "https://graph.microsoft.com/.default"
    assert BearerTokenCredentialPolicy in policy_types(default)


class _NoCredential:
    """A TokenCredential that finds no identity, as DefaultAzureCredential does with none set up."""

    def get_token(self, *scopes: str, **kwargs: object):  # noqa: ANN201
        from azure.identity import CredentialUnavailableError

        raise CredentialUnavailableError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials: ..."
        )


def test_no_token_is_a_graph_error(fake_graph: FakeIndustryData) -> None:
    client = IndustryDataClient(fake_graph.endpoint, _NoCredential())
    with pytest.raises(GraphError) as failed:
        client.start_run()
    error = failed.value
    assert (error.status, error.code, error.throttled) == (401, "authenticationFailed", False)
    assert error.message == (
        "The app could not get a token for Microsoft Graph to call POST "
        "/beta/external/industryData/runs/start: DefaultAzureCredential failed to retrieve a "
        "token from the included credentials. With SDS_GRAPH_AUTH=default the token comes from "
        "azure-identity's DefaultAzureCredential: the app's managed identity in Azure, "
        "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET elsewhere (SDS_GRAPH_AUTH=none "
        "only for a local emulator)."
    )
    assert fake_graph.requests == []  # nothing was sent without a token


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (" 2.5 ", 2.5), ("0", 0.0), ("999999999999", 7 * 24 * 3600.0),
     ("inf", None), ("nan", None), ("1e400", None), ("-5", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
     ("", None), (None, None)],
)
def test_retry_after_is_read_as_digits_and_bounded(header: str | None, seconds: float | None) -> None:
    # An HTTP date is read too (RFC 9110 10.2.3): one in the past is no wait at all.
    assert retry_after_seconds(header) == seconds


@pytest.mark.parametrize("object_id", ["..", ".", "a/b", "x?y", ""])
def test_an_id_that_would_leave_its_collection_is_refused_before_any_call(object_id: str) -> None:
    client = IndustryDataClient("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="not an Industry Data id"):
        client.get_connector(object_id)


class _Tokens:
    """A credential handing out one fixed token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **_: object) -> object:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, 2**31)


def test_token_claims_tell_only_the_listed_claims_and_refuse_what_is_no_usual_token() -> None:
    import jwt

    claims = {"appid": "a", "oid": "o", "tid": "t", "idtyp": "app", "roles": ["r"], "upn": "u"}
    token = jwt.encode(claims, "a-key-long-enough-for-hs256-32bytes!", algorithm="HS256")
    assert IndustryDataClient("http://127.0.0.1:1", _Tokens(token)).token_claims() == {
        "appid": "a", "oid": "o", "tid": "t", "idtyp": "app", "roles": ["r"]}
    assert IndustryDataClient("http://127.0.0.1:1").token_claims() is None  # no credential
    for bad in ("not-a-jwt", token + "x" * 16_384):
        with pytest.raises(GraphError) as refused:
            IndustryDataClient("http://127.0.0.1:1", _Tokens(bad)).token_claims()
        assert (refused.value.code, refused.value.graph_message) == (
            "invalidToken", "the credential's token is not a JWT")


def test_first_page_reads_one_item_of_a_collection_and_nothing_else(
    client: IndustryDataClient, fake_graph: FakeIndustryData
) -> None:
    fake_graph.connector_setup()
    fake_graph.connector_setup("Second")
    assert [c["displayName"] for c in client.first_page("dataConnectors")] == ["CSV connector"]
    assert [r.query for r in fake_graph.calls("GET", "dataConnectors$")] == [{"$top": ["1"]}]
    with pytest.raises(ValueError):
        client.first_page("../education/users")
    fake_graph.page_size = 7  # the code lists come in pages, each followed
    assert client.list_reference_definitions() == [
        {k: v for k, v in r.items() if k != "@odata.context"} for r in fake_graph.references]
    assert len(fake_graph.calls("GET", "referenceDefinitions$")) == -(-len(fake_graph.references) // 7) > 1
    assert fake_graph.violations == []
