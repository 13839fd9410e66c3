"""Forwarding to School Data Sync end to end: handlers, the queue trigger, Azurite and the fake Graph."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from sds_app import forwarder
from sds_app import sync_run
from sds_app.blueprints import profiles as api
from sds_app.blueprints import sync_worker
from sds_app.forwarder import NO_CONNECTOR
from sds_app.settings import SYNC_QUEUE, get_settings
from sds_app.storage.directory import TableDirectory
from sds_app.storage.forwarding import TENANT_RUN, TenantRunStore
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore
from sds_core.models.profiles import ProfileRecord
from sds_core.schooldatasync import forwarding as fw
from tests.app.fixtures import AppEnv
from tests.app.flow import create_profile, deliver, queued, start, status, upload_and_verify
from tests.app.helpers import ROOT, call, request
from tests.core.builders import SAMPLES, sample_files
from tests.fakegraph.server import (
    FakeIndustryData,
    Fault,
    RunOutcome,
    ValidationOutcome,
    public_error,
)

GOOD = sample_files(SAMPLES / "sds-v1_25-users")
FROZEN = {name.lower(): data for name, data in GOOD.items()}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def sds(
    private_env: AppEnv, fake_graph: FakeIndustryData, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """SDS_SYNC_TARGET=schoolDataSync, no tenant run yet, re-check delays recorded and not waited."""
    monkeypatch.setenv("SDS_SYNC_TARGET", "schoolDataSync")
    get_settings.cache_clear()
    container = private_env.account.blobs.get_container_client(STATE_CONTAINER)
    try:
        container.delete_blob(TENANT_RUN)
    except Exception:  # noqa: BLE001 - not there
        pass
    delays: list[int] = []
    monkeypatch.setattr(sync_run, "_delay", lambda seconds: delays.append(seconds) or 0)
    # runs/start's operation names the run at its first look (tests of the look itself set 1+).
    fake_graph.start_running_polls = 0
    return {"env": private_env, "fake": fake_graph, "delays": delays}


def _profile(sds: dict[str, Any], files: dict[str, bytes] = GOOD) -> tuple[str, dict[str, str]]:
    """A started profile bound to a connector of the fake (the field Task B's provisioning writes)."""
    env, fake = sds["env"], sds["fake"]
    pid = create_profile(env)
    ids = fake.connector_setup(f"connector of {pid}")

    def bind(record: ProfileRecord) -> ProfileRecord:
        return record.model_copy(update={"industryData": ids})

    ProfileStore(env.account).update(pid, bind)
    upload_and_verify(env, pid, files)
    answer = start(env, pid)
    assert answer.status == 200, answer.raw
    return pid, ids


def _errors(env: AppEnv, pid: str) -> list[dict[str, Any]]:
    answer = call(
        api.list_errors,
        request("GET", f"{ROOT}/{pid}/errors", route={"id": pid}, token=env.token()),
    )
    assert answer.status == 200, answer.raw
    values = answer.json["value"]
    for value in values:
        assert _DATE.match(value.pop("recordedDateTime")), value
        value.pop("id")
    return values


def _view(env: AppEnv, pid: str) -> dict[str, Any]:
    seen = status(env, pid)
    for key in ("lastActivityDateTime", "lastSynchronizationDateTime"):
        if seen.get(key) is not None:
            assert _DATE.match(seen[key]), seen
            seen[key] = "<date>"
    return seen


def _step(sds: dict[str, Any], pid: str, dequeue_count: int = 1) -> dict[str, Any]:
    assert deliver(sds["env"], pid, dequeue_count) == 1
    return _view(sds["env"], pid)


def _expected(
    pid: str, status_: str, message: str, errors: int = 0, synced: bool = False
) -> dict[str, Any]:
    return {
        "@odata.context": f"http://localhost:7071/beta/$metadata#education/synchronizationProfiles('{pid}')/profileStatus/$entity",
        "id": pid,
        "status": status_,
        "statusMessage": message,
        "errorCount": errors,
        "lastActivityDateTime": "<date>",
        "lastSynchronizationDateTime": "<date>" if synced else None,
    }


def _run_ids(fake: FakeIndustryData) -> list[str]:
    return list(fake.runs)


def test_a_run_goes_through_every_stage_to_success(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.start_running_polls = 1  # as Microsoft documents it: the operation first, then its run
    pid, ids = _profile(sds)
    people = sum(FROZEN[f"{role}.csv"].strip().count(b"\n") for role in ("student", "teacher"))

    def expect(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return _expected(pid, *args, **kwargs)

    assert _step(sds, pid) == expect("inProgress", "School Data Sync is validating the files")
    assert _step(sds, pid) == expect("inProgress", "School Data Sync is validating the files")
    seen = _step(sds, pid)  # validated: runs/start in the same delivery, its operation running
    requested = TenantRunStore(env.account).get().requested_date_time  # type: ignore[union-attr]
    assert seen == expect(
        "inProgress",
        f"School Data Sync accepted a run request at {requested:%Y-%m-%d %H:%M} UTC; waiting for "
        "it to name the run",
    )
    seen = _step(sds, pid)  # the operation names the run
    run_id = _run_ids(fake)[0]
    assert seen == expect("inProgress", f"School Data Sync run {run_id}: running")
    assert _step(sds, pid) == expect("inProgress", f"School Data Sync run {run_id}: running")
    assert _step(sds, pid) == expect(
        "success",
        f"School Data Sync run {run_id}: completed. {people} people, 0 groups, 0 memberships, 0 organizations; "
        "0 record(s) left out, 0 warning(s) (per-record logs are in the School Data Sync portal).",
        synced=True,
    )
    assert queued(env) == []
    assert fake.runs[run_id]["files"] == {
        ids["connectorId"]: FROZEN
    }  # the bytes received: the frozen files
    assert fake.session_requests == [(ids["connectorId"], "true")]
    assert (
        len(fake.calls("POST", r"/validate$")) == 1
        and len(fake.calls("POST", r"/runs/start$")) == 1
    )
    # validation re-checked after 5 s, the start's operation after 5 s, the run after 30 s, 60 s
    assert sds["delays"] == [5, 5, 5, 30, 60]
    assert len(fake.calls("GET", r"/operations/")) == 4 and fake.calls("GET", r"/runs$") == []
    assert _errors(env, pid) == []
    assert fake.violations == []


def test_validation_errors_end_in_error_with_the_messages_in_errors(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(
        ValidationOutcome(
            status="succeeded",
            running_polls=0,
            errors=[
                public_error(
                    "InvalidValue",
                    "Row 3: the value of Grade is not in the list of values.",
                    "student.csv",
                )
            ],
            warnings=[
                public_error(
                    "ColumnNotSupported",
                    "The column Mailing Address is not supported.",
                    "school.csv",
                )
            ],
        )
    )
    pid, _ = _profile(sds)
    _step(sds, pid)
    seen = _step(sds, pid)
    assert seen == _expected(
        pid,
        "error",
        "School Data Sync refused the files: 1 validation error(s), 1 warning(s) (see errors).",
        errors=2,
    )
    assert sorted(_errors(env, pid), key=lambda e: e["errorCode"]) == [
        {
            "entryType": "School",
            "errorCode": "ColumnNotSupported",
            "errorMessage": "Warning: The column Mailing Address is not supported.",
            "joiningValue": "school.csv",
            "reportableIdentifier": "school.csv",
        },
        {
            "entryType": "Student",
            "errorCode": "InvalidValue",
            "errorMessage": "Row 3: the value of Grade is not in the list of values.",
            "joiningValue": "student.csv",
            "reportableIdentifier": "student.csv",
        },
    ]
    assert fake.runs == {} and queued(env) == []
    assert fake.violations == []


def test_a_missing_required_file_is_a_refusal_even_when_succeeded(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(
        ValidationOutcome(
            status="succeeded",
            running_polls=0,
            errors=[
                public_error(
                    "RequiredFileNotFound",
                    "When trying to validate required file teacher.csv encountered RequiredFileNotFound error.",
                    "teacher.csv",
                )
            ],
            warnings=[],
        )
    )
    pid, _ = _profile(sds)
    _step(sds, pid)
    seen = _step(sds, pid)
    assert seen["status"] == "error"
    assert [(e["entryType"], e["errorCode"]) for e in _errors(env, pid)] == [
        ("Teacher", "RequiredFileNotFound")
    ]


def test_a_failed_run_ends_in_error_with_its_blocking_error(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(
        RunOutcome(
            status="failed",
            running_polls=0,
            blocking_error=public_error(
                "InboundFlowNotReady", "The inbound flow is not ready.", ""
            ),
        )
    )
    pid, _ = _profile(sds)
    _step(sds, pid)
    _step(sds, pid)  # validated, run started
    run_id = _run_ids(fake)[0]
    seen = _step(sds, pid)
    assert seen == _expected(
        pid,
        "error",
        f"School Data Sync run {run_id} failed: The inbound flow is not ready.",
        errors=1,
    )
    assert _errors(env, pid) == [
        {
            "entryType": "File",
            "errorCode": "InboundFlowNotReady",
            "errorMessage": "The inbound flow is not ready.",
            "joiningValue": None,
            "reportableIdentifier": None,
        }
    ]


def test_completed_with_errors_is_success_with_the_counts(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(
        RunOutcome(status="completedWithErrors", running_polls=0, errors=4, warnings=2)
    )
    pid, _ = _profile(sds)
    _step(sds, pid)
    _step(sds, pid)
    seen = _step(sds, pid)
    assert seen["status"] == "success" and "completedWithErrors" in seen["statusMessage"]
    assert "4 record(s) left out, 2 warning(s)" in seen["statusMessage"]


def test_two_profiles_started_together_share_the_tenants_run(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.validations.extend(
        [ValidationOutcome(running_polls=0), ValidationOutcome(running_polls=0)]
    )
    fake.runs_script.append(RunOutcome(running_polls=0))
    first, a = _profile(sds)
    second, b = _profile(sds)
    _step(sds, first)  # uploaded, validating
    _step(sds, second)  # uploaded, validating
    waits = _step(sds, first)  # validated; the second profile's validation is under way
    assert waits["statusMessage"] == (
        "Validated; waiting for School Data Sync to validate the files of 1 other profile(s), "
        "so that one run takes them all"
    )
    assert fake.runs == {}
    two = _step(sds, second)  # validated, nobody else validating: asks for the run
    one = _step(sds, first)  # the run was asked for after its validation: joins it
    assert len(fake.runs) == 1
    run_id = _run_ids(fake)[0]
    assert one["statusMessage"] == two["statusMessage"] == f"School Data Sync run {run_id}: running"
    assert fake.runs[run_id]["files"] == {a["connectorId"]: FROZEN, b["connectorId"]: FROZEN}
    assert _step(sds, first)["status"] == "success"
    assert _step(sds, second)["status"] == "success"
    assert len(fake.calls("POST", r"/runs/start$")) == 1
    assert fake.violations == []


def test_a_profile_validated_after_the_run_began_waits_for_the_next(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.validations.extend(
        [ValidationOutcome(running_polls=0), ValidationOutcome(running_polls=0)]
    )
    fake.runs_script.extend([RunOutcome(running_polls=2), RunOutcome(running_polls=0)])
    first, _ = _profile(sds)
    second, _ = _profile(sds)
    _step(sds, first)
    _step(sds, first)  # run 1 asked for
    _step(sds, second)
    waiting = _step(sds, second)  # validated after run 1 was asked for
    run_1 = _run_ids(fake)[0]
    assert waiting["statusMessage"] == (
        f"School Data Sync run {run_1} started before these files were validated: a new run starts when it ends"
    )
    assert _step(sds, first)["status"] == "inProgress"  # run 1 still running
    assert _step(sds, first)["status"] == "success"  # run 1 ended
    started = _step(sds, second)  # sees run 1 ended: asks for run 2
    run_2 = _run_ids(fake)[1]
    assert started["statusMessage"] == f"School Data Sync run {run_2}: running"
    assert _step(sds, second)["status"] == "success"


def test_a_redelivered_message_neither_uploads_twice_nor_starts_a_second_run(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    pid, _ = _profile(sds)
    queue = env.account.queues.get_queue_client(SYNC_QUEUE)

    def take() -> list[bytes]:
        mine = [
            m
            for m in queue.receive_messages(max_messages=32, visibility_timeout=5)
            if json.loads(base64.b64decode(m.content))["profileId"] == pid
        ]
        for m in mine:
            queue.delete_message(m)
        return [base64.b64decode(m.content) for m in mine]

    (first,) = take()
    sync_worker.run_sync(func.queue.QueueMessage(id="1", body=first, dequeue_count=1))  # uploaded
    # The host delivers the same message again (its completion was lost): nothing is uploaded,
    # the re-check it may not have sent is sent again.
    sync_worker.run_sync(func.queue.QueueMessage(id="1", body=first, dequeue_count=2))
    assert len(fake.session_requests) == 1 and len(fake.calls("POST", r"/validate$")) == 1
    second, duplicate = take()
    assert json.loads(second) == json.loads(duplicate) and json.loads(second)["check"] == 1
    # The duplicate works on check 1 too; whichever records first wins, the other is dropped.
    sync_worker.run_sync(func.queue.QueueMessage(id="3", body=duplicate, dequeue_count=1))
    (second,) = take()

    # The worker crashes after runs/start was recorded, before it sent its re-check.
    real = forwarder.enqueue_run

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the worker stopped")

    monkeypatch.setattr(forwarder, "enqueue_run", crash)
    with pytest.raises(RuntimeError):
        sync_worker.run_sync(func.queue.QueueMessage(id="2", body=second, dequeue_count=1))
    monkeypatch.setattr(forwarder, "enqueue_run", real)
    assert len(fake.runs) == 1
    sync_worker.run_sync(
        func.queue.QueueMessage(id="2", body=second, dequeue_count=2)
    )  # redelivered
    for _ in range(4):
        if status(env, pid)["status"] == "success":
            break
        deliver(env, pid)
    assert status(env, pid)["status"] == "success"
    assert len(fake.runs) == 1 and len(fake.calls("POST", r"/runs/start$")) == 1
    assert len(fake.session_requests) == 1
    assert fake.violations == []


def _take(env: AppEnv, pid: str) -> list[bytes]:
    """This profile's messages on sds-sync, taken off the queue (as the host would receive them)."""
    queue = env.account.queues.get_queue_client(SYNC_QUEUE)
    mine = []
    for m in queue.receive_messages(max_messages=32, visibility_timeout=5):
        body = base64.b64decode(m.content)
        if json.loads(body)["profileId"] != pid:
            queue.update_message(m, visibility_timeout=0)  # another test's: back at once
            continue
        queue.delete_message(m)
        mine.append(body)
    return mine


def test_a_worker_stopped_after_runs_start_leaves_a_run_the_next_one_adopts(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(RunOutcome(running_polls=0))
    # A run of the tenant from the morning (a scheduled one): started before any claim, never ours.
    morning = fake.add_run(datetime.now(UTC) - timedelta(hours=6))
    pid, ids = _profile(sds)
    people = sum(FROZEN[f"{role}.csv"].strip().count(b"\n") for role in ("student", "teacher"))
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    (recheck,) = _take(env, pid)

    # Validated: the worker claims, Graph answers runs/start with 202, and the worker stops
    # before the run id is written to the tenant's document.
    real_update = TenantRunStore.update

    def stopped(store: TenantRunStore, mutate: Any) -> Any:
        if fake.calls("POST", r"/runs/start$"):
            raise RuntimeError("the worker stopped")
        return real_update(store, mutate)

    monkeypatch.setattr(TenantRunStore, "update", stopped)
    with pytest.raises(RuntimeError):
        sync_worker.run_sync(func.queue.QueueMessage(id="r", body=recheck, dequeue_count=1))
    monkeypatch.setattr(TenantRunStore, "update", real_update)
    (started,) = set(fake.runs) - {morning}
    tenant = TenantRunStore(env.account).get()
    assert tenant is not None and tenant.claim_id and tenant.claim_date_time and not tenant.run_id

    # The host delivers the message again: the claim is fresh, so the worker waits for its holder.
    sync_worker.run_sync(func.queue.QueueMessage(id="r", body=recheck, dequeue_count=2))
    assert _step(sds, pid) == _expected(pid, "inProgress", "Starting a School Data Sync run")
    assert fake.calls("GET", r"/runs$") == []

    # The claim expires: the next look lists the tenant's runs and adopts the one started after it.
    later = tenant.claim_date_time + fw.CLAIM_TTL + timedelta(seconds=1)
    monkeypatch.setattr(sync_run, "_now", lambda: later)
    assert _step(sds, pid) == _expected(
        pid, "inProgress", f"School Data Sync run {started}: running"
    )
    assert _step(sds, pid) == _expected(
        pid,
        "success",
        f"School Data Sync run {started}: completed. {people} people, 0 groups, 0 memberships, "
        "0 organizations; 0 record(s) left out, 0 warning(s) (per-record logs are in the School "
        "Data Sync portal).",
        synced=True,
    )
    assert queued(env) == []
    assert len(fake.calls("POST", r"/runs/start$")) == 1
    assert len(fake.calls("GET", r"/runs$")) == 1
    assert fake.runs[started]["files"] == {ids["connectorId"]: FROZEN}
    after = TenantRunStore(env.account).get()
    assert after is not None
    assert (after.run_id, after.requested_date_time, after.ended, after.claim_id) == (
        started,
        tenant.claim_date_time,
        True,
        None,
    )
    assert fake.violations == []


def test_an_expired_claim_without_a_run_is_claimed_anew(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    pid, _ = _profile(sds)
    _step(sds, pid)
    (recheck,) = _take(env, pid)

    # The worker stops after its claim, before runs/start.
    real_start = forwarder.IndustryDataClient.start_run

    def stopped(client: Any) -> str:
        raise RuntimeError("the worker stopped")

    monkeypatch.setattr(forwarder.IndustryDataClient, "start_run", stopped)
    with pytest.raises(RuntimeError):
        sync_worker.run_sync(func.queue.QueueMessage(id="r", body=recheck, dequeue_count=1))
    monkeypatch.setattr(forwarder.IndustryDataClient, "start_run", real_start)
    tenant = TenantRunStore(env.account).get()
    assert tenant is not None and tenant.claim_date_time is not None and fake.runs == {}
    later = tenant.claim_date_time + fw.CLAIM_TTL + timedelta(seconds=1)
    monkeypatch.setattr(sync_run, "_now", lambda: later)
    sync_worker.run_sync(func.queue.QueueMessage(id="r", body=recheck, dequeue_count=2))
    seen = _step(sds, pid)  # no run started after the claim: this worker asks for one
    (run_id,) = fake.runs
    assert seen == _expected(pid, "inProgress", f"School Data Sync run {run_id}: running")
    assert len(fake.calls("GET", r"/runs$")) == 1
    assert len(fake.calls("POST", r"/runs/start$")) == 1
    assert fake.violations == []


def test_a_throttled_start_keeps_the_validated_upload_for_the_next_run(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.faults.append(
        Fault(
            "POST",
            r"/runs/start$",
            429,
            {"Retry-After": "7200"},
            {"error": {"code": "TooManyRequests", "message": "Run limit reached."}},
        )
    )
    pid, ids = _profile(sds)
    _step(sds, pid)
    seen = _step(sds, pid)
    tenant = TenantRunStore(sds["env"].account).get()
    assert tenant is not None and tenant.throttled_until is not None
    assert seen == _expected(
        pid,
        "inProgress",
        "School Data Sync allows no run now (at most 5 on-demand runs in 12 hours): the validated "
        f"files wait for the next run; the next try is at {tenant.throttled_until:%Y-%m-%d %H:%M} UTC",
    )
    assert 7200 <= sds["delays"][-1] <= 7202
    assert fake.validated[ids["connectorId"]] == FROZEN  # validated and kept for the next run
    assert fake.runs == {}
    # Nothing asks for a run before the time Graph named: an early check waits again.
    assert _step(sds, pid)["statusMessage"].startswith("School Data Sync allows no run now")
    assert len(fake.calls("POST", r"/runs/start$")) == 1
    # At that time the run starts, and takes the upload validated two hours before.
    later = tenant.throttled_until + timedelta(seconds=1)
    monkeypatch.setattr(sync_run, "_now", lambda: later)
    seen = _step(sds, pid)
    (run_id,) = fake.runs
    assert seen["statusMessage"] == f"School Data Sync run {run_id}: running"
    assert fake.runs[run_id]["files"] == {ids["connectorId"]: FROZEN}
    assert fake.violations == []


def test_graph_throttling_with_retry_after_is_retried_in_process(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.faults.append(
        Fault(
            "GET",
            r"/getUploadSession$",
            429,
            {"Retry-After": "1"},
            {"error": {"code": "TooManyRequests", "message": "slow down"}},
        )
    )
    fake.faults.append(Fault("GET", r"/operations/", 503, {"Retry-After": "1"}, None))
    pid, _ = _profile(sds)
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    assert _step(sds, pid)["statusMessage"].endswith(": running")
    assert len(fake.calls("GET", r"/getUploadSession$")) == 2
    assert fake.violations == []


def test_a_long_retry_after_on_a_poll_re_checks_later(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.faults.append(Fault("GET", r"/operations/", 429, {"Retry-After": "120"}, None))
    pid, _ = _profile(sds)
    _step(sds, pid)
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    assert sds["delays"][-1] == 121


def test_the_deadline_passed_ends_in_error_naming_what_it_waited_for(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=1000))
    pid, _ = _profile(sds)
    _step(sds, pid)
    _step(sds, pid)
    operation = next(iter(fake.operations))
    later = datetime.now(UTC) + timedelta(hours=2, minutes=1)
    monkeypatch.setattr(sync_run, "_now", lambda: later)
    seen = _step(sds, pid)
    assert (seen["status"], seen["statusMessage"]) == (
        "error",
        f"Stopped waiting: School Data Sync did not finish validating the files (operation {operation}) within 2 hours.",
    )
    assert queued(sds["env"]) == []


def test_a_403_ends_in_error_naming_the_permission(sds: dict[str, Any]) -> None:
    fake = sds["fake"]
    fake.faults.append(
        Fault(
            "GET",
            r"/getUploadSession$",
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
    pid, ids = _profile(sds)
    seen = _step(sds, pid)
    assert seen["status"] == "error"
    assert seen["statusMessage"] == (
        f"Microsoft Graph refused GET /beta/external/industryData/dataConnectors/{ids['connectorId']}/"
        "microsoft.graph.industryData.azureDataLakeConnector/getUploadSession (403 Authorization_RequestDenied): "
        "Insufficient privileges to complete the operation. The app's identity needs the Microsoft Graph "
        "application permission IndustryData-DataConnector.ReadWrite.All."
    )


def test_a_401_ends_in_error(sds: dict[str, Any]) -> None:
    pid, ids = _profile(sds)
    sds["fake"].token = "a token the app does not send"  # from now on: provisioning went through
    seen = _step(sds, pid)
    assert (seen["status"], seen["statusMessage"]) == (
        "error",
        f"Microsoft Graph refused GET /beta/external/industryData/dataConnectors/{ids['connectorId']}/"
        "microsoft.graph.industryData.azureDataLakeConnector/getUploadSession (401 InvalidAuthenticationToken): "
        "Access token is empty or invalid.",
    )


def test_an_expired_session_ends_in_error(sds: dict[str, Any]) -> None:
    sds["fake"].expire_sessions = True
    pid, _ = _profile(sds)
    seen = _step(sds, pid)
    assert seen["status"] == "error"
    assert "the upload session refused the file (expired or invalid SAS)" in seen["statusMessage"]


def test_a_profile_without_a_connector_ends_in_error(sds: dict[str, Any]) -> None:
    env = sds["env"]
    pid = create_profile(env)

    def unbound(record: ProfileRecord) -> ProfileRecord:
        # Provisioning gives every new profile a connector: this one was made before (directory target).
        (record.model_extra or {}).pop("industryData", None)
        return record

    ProfileStore(env.account).update(pid, unbound)
    upload_and_verify(env, pid, GOOD)
    assert start(env, pid).status == 200
    seen = _step(sds, pid)
    assert (seen["status"], seen["statusMessage"]) == ("error", NO_CONNECTOR)


def _post(env: AppEnv, pid: str, action: str) -> Any:
    handler = {
        "pause": api.pause_profile,
        "resume": api.resume_profile,
        "reset": api.reset_profile,
    }[action]
    return call(
        handler, request("POST", f"{ROOT}/{pid}/{action}", route={"id": pid}, token=env.token())
    )


def test_pause_before_forwarding_stops_and_resume_forwards(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    pid, _ = _profile(sds)
    assert _post(env, pid, "pause").status == 200
    deliver(env, pid)
    assert status(env, pid)["status"] == "paused" and fake.session_requests == []
    assert _post(env, pid, "resume").status == 200
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    record, _ = ProfileStore(env.account).get(pid)
    assert record.run is not None and record.run.state == "inProgress"
    # after forwarding: pause is refused (409), reset forwards the last frozen files again
    answer = _post(env, pid, "pause")
    assert answer.status == 409, answer.raw
    assert answer.json["error"]["message"] == (
        "The files were forwarded to School Data Sync, which cannot be paused: wait for its run to end, "
        "or call reset to forward the last frozen files again."
    )
    assert _post(env, pid, "reset").status == 200
    seen = []
    for _ in range(12):
        if status(env, pid)["status"] != "inProgress":
            break
        deliver(env, pid)
        seen.append(status(env, pid)["statusMessage"])
    assert status(env, pid)["status"] == "success", seen
    assert len(fake.session_requests) == 2 and len(fake.runs) == 1
    assert fake.violations == []


def test_both_targets_sync_the_directory_then_forward(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDS_SYNC_TARGET", "directory,schoolDataSync")
    get_settings.cache_clear()
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(RunOutcome(running_polls=0))
    pid, ids = _profile(sds)
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    assert pid in TableDirectory(env.account).profiles()
    _step(sds, pid)
    assert _step(sds, pid)["status"] == "success"
    assert next(iter(fake.runs.values()))["files"] == {ids["connectorId"]: FROZEN}


def test_the_next_run_clears_the_errors_of_a_refused_one(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.extend(
        [
            ValidationOutcome(
                running_polls=0, errors=[public_error("InvalidValue", "bad", "student.csv")]
            ),
            ValidationOutcome(running_polls=0),
        ]
    )
    fake.runs_script.append(RunOutcome(running_polls=0))
    pid, _ = _profile(sds)
    _step(sds, pid)
    assert _step(sds, pid)["errorCount"] == 1
    assert start(env, pid).status == 200
    _step(sds, pid)
    _step(sds, pid)
    seen = _step(sds, pid)
    assert (seen["status"], seen["errorCount"]) == ("success", 0)
    assert _errors(env, pid) == []


def test_a_profile_deleted_while_forwarding_is_purged_and_its_re_checks_dropped(
    sds: dict[str, Any],
) -> None:
    env, fake = sds["env"], sds["fake"]
    pid, _ = _profile(sds)
    _step(sds, pid)  # uploaded, validating
    answer = call(
        api.delete_profile, request("DELETE", f"{ROOT}/{pid}", route={"id": pid}, token=env.token())
    )
    assert answer.status == 202
    while deliver(env, pid):  # the purge and the re-check, in whatever order the queue gives them
        pass
    assert ProfileStore(env.account).get(pid) is None
    gone = call(
        api.get_profile_status,
        request("GET", f"{ROOT}/{pid}/profileStatus", route={"id": pid}, token=env.token()),
    )
    assert gone.status == 404
    assert fake.runs == {} and len(fake.calls("POST", r"/validate$")) == 1
    assert fake.violations == []
