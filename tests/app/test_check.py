"""`POST /beta/schoolDataSync/check` against the stand-in Industry Data API: every step, the verdict."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from sds_app import check as tenant_check
from sds_app.blueprints import check as api
from sds_app.settings import get_settings
from sds_app.storage.tenant_codes import TENANT_CODES
from sds_app.storage.profiles import ProfileStore
from sds_app.storage.uploads import UploadFolder
from sds_app.verification import current_folder, options_for
from sds_core.schooldatasync.check import sample_files
from sds_core.verification.fingerprint import fingerprint as folder_fingerprint
from tests.app.fixtures import AppEnv
from tests.app.flow import create_profile, start, upload_and_verify
from tests.core.builders import csv_bytes
from tests.core.builders import sample_files as core_samples
from tests.app.helpers import BASE, Answer, call, envelope, request
from tests.fakegraph.server import FakeIndustryData, Fault, ValidationOutcome, public_error

URL = f"{BASE}/schoolDataSync/check"
CONTEXT = f"{BASE}/$metadata#schoolDataSync/check/$entity"
APP_ID = "5f0c8a47-7d2e-4b8e-9a51-2f7a0c3d9e11"
OBJECT_ID = "0b6a3c1d-2e4f-4a5b-8c7d-9e0f1a2b3c4d"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
NEEDED = [
    "IndustryData-SourceSystem.ReadWrite.All",
    "IndustryData-DataConnector.ReadWrite.All",
    "IndustryData-TimePeriod.ReadWrite.All",
    "IndustryData-InboundFlow.ReadWrite.All",
    "IndustryData.ReadBasic.All",
    "IndustryData-Run.Read.All",
    "IndustryData-Run.Start",
]
DEFAULT_GRADES = ["IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "UG",
                  "Other"]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")
_NAME = re.compile(r"SDS classic API check \d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class FakeClock:
    """The check's clock: each sleep is recorded and moves time on at once (no test waits)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class TokenCredential:
    """The app's identity, as DefaultAzureCredential hands out its token (claims of our choice)."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.token = jwt.encode(claims, "the-signature-is-not-checked-here-32b", algorithm="HS256")
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(tenant_check, "CLOCK", fake)
    return fake


@pytest.fixture
def tenant(app_env: AppEnv, fake_graph: FakeIndustryData, clock: FakeClock) -> Iterator[FakeIndustryData]:
    """The stand-in tenant, with no code lists stored from an earlier check."""
    state = app_env.account.blobs.get_container_client("sds-state")
    forget = lambda: state.get_blob_client(TENANT_CODES).exists() and state.delete_blob(TENANT_CODES)  # noqa: E731
    forget()
    yield fake_graph
    forget()
    assert fake_graph.violations == []


def with_identity(monkeypatch: pytest.MonkeyPatch, fake: FakeIndustryData, roles: list[str]) -> TokenCredential:
    """SDS_GRAPH_AUTH=default, DefaultAzureCredential giving an app-only token with `roles`."""
    credential = TokenCredential({"aud": "https://graph.microsoft.com", "appid": APP_ID,
                                  "oid": OBJECT_ID, "tid": TENANT_ID, "idtyp": "app",
                                  "roles": roles, "upn": "never-shown"})
    fake.token = credential.token
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda: credential)
    monkeypatch.setenv("SDS_GRAPH_AUTH", "default")
    get_settings.cache_clear()
    return credential


def forwarding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDS_SYNC_TARGET", "directory,schoolDataSync")
    get_settings.cache_clear()


def check(env: AppEnv, body: Any = None, query: str = "", token: bool = True,
          headers: dict[str, str] | None = None) -> Answer:
    return call(api.check_tenant, request("POST", URL + query, body=body, headers=headers,
                                          token=env.token() if token else None))


def ids(fake: FakeIndustryData) -> dict[str, str]:
    """The ids the dry upload made, by name, from what the stand-in received."""
    found = {}
    for collection, label in (("sourceSystems", "sourceSystem"), ("dataConnectors", "connector")):
        deleted = fake.calls("DELETE", collection)
        if deleted:
            found[label] = deleted[0].path.rsplit("/", 1)[1]
    if fake.uploads:
        found["operation"] = fake.uploads[-1]["operation"]
    return found


def normalised(fake: FakeIndustryData, body: dict[str, Any]) -> dict[str, Any]:
    """The answer with the made ids, dates, the check's name and its seconds as placeholders."""
    assert isinstance(body["seconds"], (int, float)) and 0 <= body["seconds"] < 60
    text = json.dumps({**body, "seconds": 0}).replace(fake.endpoint, "{endpoint}")
    for label, value in ids(fake).items():
        text = text.replace(value, "{" + label + "}")
    text = _NAME.sub("{name}", _DATE.sub("{date}", text))
    return json.loads(text)


def permission(name: str, status: str, detail: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"permission": name, "status": status, "detail": detail}
    if error:
        entry["graphError"] = error
    return entry


def codes(grades: list[str] = DEFAULT_GRADES, disabled: list[str] | None = None) -> dict[str, Any]:
    return {
        "identifierTypes": {"enabled": ["username", "email", "activeDirectory"], "disabled": []},
        "matchTargets": {"enabled": ["userPrincipalName", "mail"], "disabled": []},
        "gradeLevels": {"enabled": grades, "disabled": disabled or []},
    }


def codes_step(grades: list[str] = DEFAULT_GRADES, disabled: list[str] | None = None) -> dict[str, Any]:
    return {"name": "referenceCodes", "status": "ok",
            "detail": f"Read 3 identifier type(s), 2 match target(s), {len(grades)} grade level(s); "
                      f"start checks student.csv Grade against its {len(grades)} grade level(s).",
            "codes": codes(grades, disabled)}


IDENTITY = {
    "name": "identity", "status": "ok",
    "detail": f"The app calls Microsoft Graph as app {APP_ID} (object {OBJECT_ID}, tenant {TENANT_ID}), "
              "with 7 application permission(s).",
    "identity": {"graphAuth": "default", "endpoint": "{endpoint}", "appId": APP_ID, "objectId": OBJECT_ID,
                 "tenantId": TENANT_ID, "identityType": "app", "roles": sorted(NEEDED)},
}
NO_TOKEN = {
    "name": "identity", "status": "skipped",
    "detail": "SDS_GRAPH_AUTH=none: the app sends Microsoft Graph no token (for a local emulator only); "
              "the token's permissions are not known.",
    "identity": {"graphAuth": "none", "endpoint": "{endpoint}"},
}
READS = {"IndustryData-SourceSystem.ReadWrite.All": "sourceSystems", "IndustryData-DataConnector.ReadWrite.All":
         "dataConnectors", "IndustryData-TimePeriod.ReadWrite.All": "years",
         "IndustryData-InboundFlow.ReadWrite.All": "inboundFlows", "IndustryData.ReadBasic.All": "referenceDefinitions",
         "IndustryData-Run.Read.All": "runs"}
WARNINGS = [{"file": name, "code": "OptionalFileNotFound",
             "message": f"When trying to validate file {name} encountered OptionalFileNotFound error."}
            for name in ("section.csv", "studentenrollment.csv", "teacherroster.csv")]
MADE = [
    {"name": "createSourceSystem", "status": "ok", "detail": "Made the source system {sourceSystem}."},
    {"name": "createConnector", "status": "ok",
     "detail": "Made the connector {connector} (fileFormat schoolDataSyncV1), with no year and no flow."},
]
SESSION = {"name": "uploadSession", "status": "ok",
           "detail": "Got a new upload session (resetSession=true), open until {date}."}
UPLOADED = [
    SESSION,
    {"name": "upload", "status": "ok",
     "detail": "Uploaded school.csv, student.csv, teacher.csv (one school, student and teacher)."},
    {"name": "validate", "status": "ok", "detail": "validate accepted the files: operation {operation}."},
]
DELETED = [
    {"name": "deleteConnector", "status": "ok", "detail": "Deleted the connector {connector}."},
    {"name": "deleteSourceSystem", "status": "ok", "detail": "Deleted the source system {sourceSystem}."},
]
NOT_ASKED = {"name": "dryUpload", "status": "skipped",
             "detail": 'Not asked: send {"dryUpload": true} (scripts/check.sh --dry-upload).'}


def answer_of(steps: list[dict[str, Any]], first_fix: str | None = None, enabled: bool = True) -> dict[str, Any]:
    return {
        "@odata.context": CONTEXT, "checkedDateTime": "{date}", "seconds": 0,
        "forwarding": {"enabled": enabled,
                       "syncTarget": "directory,schoolDataSync" if enabled else "directory"},
        "ready": first_fix is None, "verdict": "ready" if first_fix is None else "notReady",
        "firstFix": first_fix, "steps": steps,
    }


def all_present(reads: dict[str, str] = READS) -> dict[str, Any]:
    return {"name": "permissions", "status": "ok", "detail": "7 of 7 present.", "permissions": [
        permission(p, "ok", f"The token carries it; GET {reads[p]}?$top=1 answered." if p in reads
                   else "The token carries it.") for p in NEEDED]}


def assert_nothing_left_and_no_run(fake: FakeIndustryData) -> None:
    assert fake.left_over() == {"sourceSystems": [], "dataConnectors": [], "years": [], "inboundFlows": []}
    assert (fake.runs, fake.started_runs, fake.calls("POST", "runs")) == ({}, [], [])


def test_a_ready_tenant_with_a_dry_upload(app_env: AppEnv, tenant: FakeIndustryData, clock: FakeClock,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    credential = with_identity(monkeypatch, tenant, NEEDED)
    forwarding(monkeypatch)

    answer = check(app_env, {"dryUpload": True})

    assert answer.status == 200, answer.raw
    assert normalised(tenant, answer.json) == answer_of([IDENTITY, all_present(), codes_step(), {
        "name": "dryUpload", "status": "ok",
        "detail": "School Data Sync validated the check's files with 3 warning(s); everything the check made "
                  "is deleted.",
        "displayName": "{name}",
        "actions": [*MADE, *UPLOADED,
                    {"name": "operation", "status": "ok", "detail": "Validated (status succeeded, 3 warning(s))."},
                    *DELETED],
        "validation": {"operationId": "{operation}", "status": "succeeded", "errors": [], "warnings": WARNINGS},
    }])
    assert credential.token not in answer.raw.decode()
    assert answer.headers["Cache-Control"] == "no-store"
    assert_nothing_left_and_no_run(tenant)
    (upload,) = tenant.uploads  # the three files reached the session byte for byte
    assert upload["files"] == sample_files()
    assert clock.sleeps == [5.0, 5.0]  # validate's operation: no more often than every 5 s
    made = tenant.calls("POST", "sourceSystems$")[0].body
    assert _NAME.fullmatch(made["displayName"]) and made["userMatchingSettings"][0]["priorityOrder"] == 0
    assert tenant.calls("POST", "dataConnectors$")[0].body["fileFormat"]["code"] == "schoolDataSyncV1"
    assert [r.query for r in tenant.calls("GET", "^/beta/external/industryData/runs$")] == [{"$top": ["1"]}]


DENIED = {"status": 403, "code": "Authorization_RequestDenied",
          "message": "Insufficient privileges to complete the operation.", "requestId": "{requestId}"}


def request_ids(body: dict[str, Any]) -> dict[str, Any]:
    """The answer with each graphError's request id (a fresh uuid from the stand-in) as a placeholder."""
    text = json.dumps(body)
    for found in set(re.findall(r'"requestId": "([^"]+)"', text)):
        assert _UUID.fullmatch(found), found
        text = text.replace(found, "{requestId}")
    return json.loads(text)


def consent(names: str, principal: str = "") -> str:
    return ("An administrator (Privileged Role Administrator or Global Administrator) grants the Microsoft Graph "
            f"application permission(s) {names} to the app's identity{principal}: run "
            "scripts/graph-permissions.sh (or .ps1), which grants them or prints the commands to run.")


def test_a_permission_refused_by_its_read_is_named_and_is_the_first_fix(
    app_env: AppEnv, tenant: FakeIndustryData
) -> None:
    tenant.denied = {"IndustryData-Run.Read.All"}

    answer = check(app_env)

    assert answer.status == 200, answer.raw
    fix = consent("IndustryData-Run.Read.All")
    assert request_ids(normalised(tenant, answer.json)) == answer_of([NO_TOKEN, {
        "name": "permissions", "status": "missing", "detail": "1 of 7 missing: IndustryData-Run.Read.All.",
        "fix": fix,
        "permissions": [
            permission("IndustryData-SourceSystem.ReadWrite.All", "ok",
                       "GET sourceSystems?$top=1 answered (writes are not tried)."),
            permission("IndustryData-DataConnector.ReadWrite.All", "skipped",
                       "GET dataConnectors?$top=1 answered, but there is no harmless call for connectors, "
                       "upload sessions and validate, and the token's roles are not known."),
            permission("IndustryData-TimePeriod.ReadWrite.All", "ok",
                       "GET years?$top=1 answered (writes are not tried)."),
            permission("IndustryData-InboundFlow.ReadWrite.All", "ok",
                       "GET inboundFlows?$top=1 answered (writes are not tried)."),
            permission("IndustryData.ReadBasic.All", "ok",
                       "GET referenceDefinitions?$top=1 answered (writes are not tried)."),
            permission("IndustryData-Run.Read.All", "missing",
                       "GET runs?$top=1 was refused (403 Authorization_RequestDenied).", DENIED),
            permission("IndustryData-Run.Start", "skipped",
                       "there is no harmless call for starting runs, and the token's roles are not known."),
        ],
    }, codes_step(), NOT_ASKED], fix, enabled=False)
    assert [r.path.rsplit("/", 1)[1] for r in tenant.requests] == [
        "sourceSystems", "dataConnectors", "years", "inboundFlows", "referenceDefinitions", "runs",
        "referenceDefinitions"]
    assert_nothing_left_and_no_run(tenant)


def test_a_role_the_token_lacks_is_named_in_the_short_text(
    app_env: AppEnv, tenant: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_identity(monkeypatch, tenant, [p for p in NEEDED if p != "IndustryData-Run.Start"])
    tenant.denied = {"IndustryData-Run.Start"}
    forwarding(monkeypatch)

    response = api.check_tenant(request("POST", URL + "?$format=text", token=app_env.token()))
    answer = Answer(response.status_code, dict(response.headers), response.get_body())

    assert (answer.status, response.mimetype, response.charset) == (200, "text/plain", "utf-8")
    text = _DATE.sub("{date}", answer.raw.decode()).replace(tenant.endpoint, "{endpoint}")
    assert text == (
        "School Data Sync check, {date}: forwarding to School Data Sync is on "
        "(SDS_SYNC_TARGET=directory,schoolDataSync).\n"
        f"ok       identity: The app calls Microsoft Graph as app {APP_ID} (object {OBJECT_ID}, tenant "
        f"{TENANT_ID}), with 6 application permission(s).\n"
        "missing  permissions: 1 of 7 missing: IndustryData-Run.Start.\n"
        "  missing  IndustryData-Run.Start: The token's roles do not carry it.\n"
        "ok       referenceCodes: Read 3 identifier type(s), 2 match target(s), 21 grade level(s); start checks "
        "student.csv Grade against its 21 grade level(s).\n"
        "  identifier types: username, email, activeDirectory; match targets: userPrincipalName, mail; grade "
        "levels: IT, PR, PK, TK, KG, 01, 02, 03, 04, 05, 06, 07 +9 more\n"
        'skipped  dryUpload: Not asked: send {"dryUpload": true} (scripts/check.sh --dry-upload).\n'
        "Missing permissions: IndustryData-Run.Start. An administrator grants them (admin consent): "
        "scripts/graph-permissions.sh, or .ps1.\n"
        f"Verdict: not ready. First fix: {consent('IndustryData-Run.Start', ' ' + OBJECT_ID)}\n"
    )
    assert answer.headers["Cache-Control"] == "no-store"
    assert_nothing_left_and_no_run(tenant)
    as_json = check(app_env, headers={"Accept": "text/plain"})  # the Accept header asks the same
    assert _DATE.sub("{date}", as_json.raw.decode()).replace(tenant.endpoint, "{endpoint}") == text


def test_a_write_refused_in_the_dry_upload_is_named_and_what_was_made_is_deleted(
    app_env: AppEnv, tenant: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.denied = {"IndustryData-DataConnector.ReadWrite.All"}  # Read.All still lists connectors
    forwarding(monkeypatch)

    answer = check(app_env, {"dryUpload": True})

    body = request_ids(normalised(tenant, answer.json))
    refused = ("Microsoft Graph refused POST /beta/external/industryData/dataConnectors (403 "
               "Authorization_RequestDenied): Insufficient privileges to complete the operation. The app's "
               "identity needs the Microsoft Graph application permission IndustryData-DataConnector.ReadWrite.All.")
    fix = consent("IndustryData-DataConnector.ReadWrite.All")
    assert body == answer_of([NO_TOKEN, {
        "name": "permissions", "status": "missing",
        "detail": "1 of 7 missing: IndustryData-DataConnector.ReadWrite.All.", "fix": fix,
        "permissions": [
            permission("IndustryData-SourceSystem.ReadWrite.All", "ok",
                       "The dry upload used it (createSourceSystem)."),
            permission("IndustryData-DataConnector.ReadWrite.All", "missing",
                       "POST dataConnectors was refused (403 Authorization_RequestDenied).", DENIED),
            permission("IndustryData-TimePeriod.ReadWrite.All", "ok",
                       "GET years?$top=1 answered (writes are not tried)."),
            permission("IndustryData-InboundFlow.ReadWrite.All", "ok",
                       "GET inboundFlows?$top=1 answered (writes are not tried)."),
            permission("IndustryData.ReadBasic.All", "ok",
                       "GET referenceDefinitions?$top=1 answered (writes are not tried)."),
            permission("IndustryData-Run.Read.All", "ok", "GET runs?$top=1 answered (writes are not tried)."),
            permission("IndustryData-Run.Start", "skipped",
                       "there is no harmless call for starting runs, and the token's roles are not known."),
        ],
    }, codes_step(), {
        "name": "dryUpload", "status": "failed", "detail": f"createConnector: {refused}", "fix": refused,
        "graphError": DENIED, "displayName": "{name}",
        "actions": [MADE[0], {"name": "createConnector", "status": "failed", "detail": refused,
                              "graphError": DENIED}, DELETED[1]],
        "validation": None,
    }], fix)
    assert_nothing_left_and_no_run(tenant)


def test_files_school_data_sync_refuses_are_reported_and_everything_is_deleted(
    app_env: AppEnv, tenant: FakeIndustryData, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_identity(monkeypatch, tenant, NEEDED)
    forwarding(monkeypatch)
    error = public_error("InvalidOrMissingReferenceCode", "The value 6 in GradeLevelCode for 3110_10 isn't "
                         "found in RefGradeLevel. Correct source system.", "student.csv")
    tenant.validations.append(ValidationOutcome(status="failed", errors=[error], warnings=[]))

    answer = check(app_env, {"dryUpload": True})

    refused = ("School Data Sync refused the files: 1 validation error(s), 0 warning(s) (see errors). First: "
               "student.csv: "
               "InvalidOrMissingReferenceCode: The value 6 in GradeLevelCode for 3110_10 isn't found in "
               "RefGradeLevel. Correct source system.")
    body = normalised(tenant, answer.json)
    assert body == answer_of([IDENTITY, all_present(), codes_step(), {
        "name": "dryUpload", "status": "failed", "detail": f"operation: {refused}", "fix": refused,
        "displayName": "{name}",
        "actions": [*MADE, *UPLOADED, {"name": "operation", "status": "failed", "detail": refused}, *DELETED],
        "validation": {"operationId": "{operation}", "status": "failed", "errors": [
            {"file": "student.csv", "code": "InvalidOrMissingReferenceCode", "message": error["message"]}],
            "warnings": []},
    }], refused)
    assert_nothing_left_and_no_run(tenant)


def test_a_validation_that_outlasts_the_check_is_left_and_everything_is_deleted(
    app_env: AppEnv, tenant: FakeIndustryData, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_identity(monkeypatch, tenant, NEEDED)
    forwarding(monkeypatch)
    tenant.validations.append(ValidationOutcome(running_polls=1000))

    answer = check(app_env, {"dryUpload": True})

    late = ("School Data Sync did not finish validating within the check's time (operation {operation}): run "
            "the check again later.")
    body = normalised(tenant, {**answer.json, "seconds": 0})
    assert body == answer_of([IDENTITY, all_present(), codes_step(), {
        "name": "dryUpload", "status": "failed", "detail": f"operation: {late}", "fix": late,
        "displayName": "{name}",
        "actions": [*MADE, *UPLOADED, {"name": "operation", "status": "failed", "detail": late}, *DELETED],
        "validation": {"operationId": "{operation}", "status": None, "errors": [], "warnings": []},
    }], late)
    assert sum(clock.sleeps) <= tenant_check.CHECK_SECONDS - tenant_check.CLEANUP_SECONDS
    assert set(clock.sleeps) == {tenant_check.POLL_SECONDS}
    assert_nothing_left_and_no_run(tenant)


def test_callers_without_the_write_permission_are_refused_before_any_graph_call(
    app_env: AppEnv, tenant: FakeIndustryData
) -> None:
    missing = call(api.check_tenant, request("POST", URL, body={"dryUpload": True}))
    reader = call(api.check_tenant, request("POST", URL, body={"dryUpload": True},
                                            token=app_env.token(scp="EduAdministration.Read")))

    assert (missing.status, missing.json) == (401, envelope(missing, "InvalidAuthenticationToken",
                                                            "Access token is empty."))
    assert (reader.status, reader.json) == (403, envelope(reader, "accessDenied", (
        "Insufficient privileges: the token needs EduAdministration.ReadWrite or EduAdministration.ReadWrite.All.")))
    assert tenant.requests == []


@pytest.mark.parametrize(("query", "body", "message"), [
    ("?$format=xml", None, "$format must be json or text."),
    ("", {"dryUpload": "yes"}, "dryUpload must be true or false."),
    ("", {"dry": True}, 'Unknown member(s) in the request body: dry. The body is {"dryUpload": true} or '
                        '{"dryUpload": false}.'),
])
def test_a_request_the_check_does_not_take_is_400(app_env: AppEnv, tenant: FakeIndustryData, query: str,
                                                  body: Any, message: str) -> None:
    answer = check(app_env, body, query)
    assert (answer.status, answer.json) == (400, envelope(answer, "badRequest", message))
    assert tenant.requests == []


START_CONTEXT = f"{BASE}/$metadata#education/Collection(microsoft.graph.verificationMessage)"
NOT_LISTED = "1 row(s) have a value that is not in the School Data Sync list of values for the field - Grade"


def graded(grade: str) -> dict[str, bytes]:
    """The users-only Min-Required files, the first student in `grade` and the others in 09."""
    files = {k: v for k, v in core_samples().items() if k in ("School.csv", "Student.csv", "Teacher.csv")}
    header, *students = [line.split(",") for line in files["Student.csv"].decode().splitlines()]
    files["Student.csv"] = csv_bytes(header + ["Grade"], [row + [grade if i == 0 else "09"]
                                                          for i, row in enumerate(students)])
    return files


def test_start_checks_grades_against_the_grade_levels_the_check_stored(
    private_env: AppEnv, tenant: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> None:
    forwarding(monkeypatch)
    before = create_profile(private_env)
    upload_and_verify(private_env, before, graded("Y7"))
    tenant.add_reference("RefGradeLevel", "Y7", 65)  # a code the tenant added (referencedefinition-post)
    tenant.add_reference("RefGradeLevel", "09", 140, disabled=True)  # and one it turned off

    warned = start(private_env, before)  # no check yet: the default list, without Y7
    assert check(private_env).json["steps"][2] == codes_step(
        [*DEFAULT_GRADES[:5], *DEFAULT_GRADES[5:6], "Y7", *[g for g in DEFAULT_GRADES[6:] if g != "09"]], ["09"])
    after = create_profile(private_env)
    upload_and_verify(private_env, after, graded("Y7"))
    checked = start(private_env, after)

    assert (warned.status, warned.json) == (200, {"@odata.context": START_CONTEXT, "value": [
        {"type": "Warning", "fileName": "student.csv", "description": NOT_LISTED}]})
    # Y7 is the tenant's now; 09, which it turned off, is not (every other row of the file).
    assert (checked.status, checked.json) == (200, {"@odata.context": START_CONTEXT, "value": [
        {"type": "Warning", "fileName": "student.csv",
         "description": NOT_LISTED.replace("1 row(s)", f"{len(graded('Y7')['Student.csv'].splitlines()) - 2} row(s)")}]})


def test_the_stored_codes_change_the_fingerprint_only_once_stored(
    private_env: AppEnv, tenant: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> None:
    forwarding(monkeypatch)
    profile_id = create_profile(private_env)
    upload_and_verify(private_env, profile_id, graded("09"))
    record = ProfileStore(private_env.account).get(profile_id)[0]
    settings = get_settings()

    def fingerprint() -> str:
        return current_folder(private_env.account, record, settings).fingerprint

    without = fingerprint()
    uploads = UploadFolder(private_env.account, profile_id).list()
    expected = folder_fingerprint(((u.name, u.etag) for u in uploads),
                                  options_for(record, settings, [u.name for u in uploads]).version())
    check(private_env)
    stored = fingerprint()
    check(private_env)  # the same lists read again
    again = fingerprint()
    tenant.add_reference("RefGradeLevel", "Y7", 65)
    check(private_env)

    assert without == expected  # no stored lists: the fingerprint of the options without them
    assert stored != without and again == stored
    assert fingerprint() not in (without, stored)


class NoCredential:
    """DefaultAzureCredential where no source of a token is configured."""

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                        "credentials.\nAttempted credentials: ...")


def test_no_token_for_graph_fails_the_identity_and_nothing_is_called(
    app_env: AppEnv, tenant: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", NoCredential)
    monkeypatch.setenv("SDS_GRAPH_AUTH", "default")
    get_settings.cache_clear()

    answer = check(app_env, {"dryUpload": True})

    why = ("The app could not get a token for Microsoft Graph to call GET /beta/external/industryData: "
           "DefaultAzureCredential failed to retrieve a token from the included credentials. With "
           "SDS_GRAPH_AUTH=default the token comes from azure-identity's DefaultAzureCredential: the app's "
           "managed identity in Azure, AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET elsewhere "
           "(SDS_GRAPH_AUTH=none only for a local emulator).")
    skipped = "The app has no token for Microsoft Graph (see identity)."
    assert normalised(tenant, answer.json) == answer_of([
        {"name": "identity", "status": "failed", "detail": why, "fix": why,
         "graphError": {"status": 401, "code": "authenticationFailed", "requestId": None,
                        "message": "DefaultAzureCredential failed to retrieve a token from the included "
                                   "credentials."},
         "identity": {"graphAuth": "default", "endpoint": "{endpoint}"}},
        {"name": "permissions", "status": "skipped", "detail": skipped},
        {"name": "referenceCodes", "status": "skipped", "detail": skipped},
        {"name": "dryUpload", "status": "skipped", "detail": skipped},
    ], why, enabled=False)
    assert tenant.requests == []
