"""A profile the app provisioned, across school years and deletes, forwarding to the stand-in.

A flow belongs to one school year ("expirationDateTime must not exceed the year end date",
Microsoft's ADF READMEs): the first run after its year has ended makes the next year and flow.
A profile deleted after its files were validated has its upload session reset, so no run of the
tenant takes them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sds_app import sync_run
from sds_app.blueprints import profiles as api
from sds_app.storage.profiles import ProfileStore
from tests.app.flow import CSV_PROFILE, create_profile, deliver, start, upload_and_verify
from tests.app.helpers import ROOT, call, request
from tests.app.test_forwarding import FROZEN, GOOD, _expected, _step, sds  # noqa: F401
from tests.fakegraph.server import RunOutcome, ValidationOutcome


def _ids(sds: dict[str, Any], pid: str) -> dict[str, Any]:
    found = ProfileStore(sds["env"].account).get(pid)
    assert found is not None
    return found[0].model_dump(mode="json")["industryData"]


def test_the_first_run_after_the_year_ended_makes_the_next_years_flow(
    sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(RunOutcome(running_polls=0))
    pid = create_profile(env, {**CSV_PROFILE, "expirationDate": "2099-06-30"})
    before = _ids(sds, pid)
    year_end = datetime.fromisoformat(before["yearEnd"] + "T00:00:00+00:00")
    upload_and_verify(env, pid, GOOD)
    assert start(env, pid).status == 200
    after_the_year = year_end + timedelta(hours=1)
    monkeypatch.setattr(sync_run, "_now", lambda: after_the_year)
    assert _step(sds, pid)["statusMessage"] == "School Data Sync is validating the files"
    now = _ids(sds, pid)
    next_end = f"{year_end.year + 1}-07-31"
    assert now == {**before, "yearId": now["yearId"], "inboundFlowId": now["inboundFlowId"],
                   "yearEnd": next_end,
                   "created": ["sourceSystem", "connector", "year", "inboundFlow"]}
    assert now["yearId"] != before["yearId"] and now["inboundFlowId"] != before["inboundFlowId"]
    assert list(fake.objects["years"]) == [now["yearId"]]  # the old year and flow are gone
    assert list(fake.objects["inboundFlows"]) == [now["inboundFlowId"]]
    (year_body,) = [r.body for r in fake.calls("POST", r"/years$")][1:]
    assert year_body["startDate"] == f"{year_end.year}-08-01" and year_body["endDate"] == next_end
    (flow_body,) = [r.body for r in fake.calls("POST", r"/inboundFlows$")][1:]
    assert flow_body["expirationDateTime"] == f"{next_end}T00:00:00Z"
    assert flow_body["effectiveDateTime"].startswith(after_the_year.strftime("%Y-%m-%dT%H"))
    _step(sds, pid)
    seen = _step(sds, pid)
    assert seen["status"] == "success", seen
    assert fake.violations == []


def test_a_run_within_the_year_keeps_the_flow(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    pid = create_profile(env)
    before = _ids(sds, pid)
    upload_and_verify(env, pid, GOOD)
    assert start(env, pid).status == 200
    _step(sds, pid)
    assert _ids(sds, pid) == before and len(fake.calls("POST", r"/inboundFlows$")) == 1


def test_an_expired_profile_runs_no_more(sds: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    env = sds["env"]
    pid = create_profile(env, {**CSV_PROFILE, "expirationDate": "2099-06-30"})
    upload_and_verify(env, pid, GOOD)
    assert start(env, pid).status == 200
    monkeypatch.setattr(sync_run, "_now", lambda: datetime(2099, 7, 1, tzinfo=UTC))
    seen = _step(sds, pid)
    assert seen == _expected(
        pid, "error",
        "The profile's expirationDate 2099-06-30 has passed: School Data Sync takes no more files for it.",
    )
    assert sds["fake"].session_requests == []


def test_a_profile_deleted_between_validate_and_its_run_has_its_files_never_run(
    sds: dict[str, Any],
) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.extend([ValidationOutcome(running_polls=0), ValidationOutcome(running_polls=0)])
    fake.runs_script.append(RunOutcome(running_polls=0))
    # A bound profile (the tenant's own connector and flow stay after the delete) and another one.
    setup = fake.connector_setup("the tenant's connector")
    answer = call(api.create_profile, request(
        "POST", ROOT, body={**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]},
        token=env.token()))
    doomed = answer.json["id"]
    other = create_profile(env)
    for pid in (doomed, other):
        upload_and_verify(env, pid, GOOD)
        assert start(env, pid).status == 200
    _step(sds, doomed)
    _step(sds, other)
    waits = _step(sds, doomed)  # validated: waits for the other profile's validation
    assert waits["statusMessage"].startswith("Validated; waiting for School Data Sync")
    assert fake.validated[setup["connectorId"]] == FROZEN
    deleted = call(api.delete_profile, request("DELETE", f"{ROOT}/{doomed}", route={"id": doomed},
                                               token=env.token()))
    assert deleted.status == 202
    while deliver(env, doomed):
        pass
    assert ProfileStore(env.account).get(doomed) is None
    assert (setup["connectorId"], "true") == fake.session_requests[-1]  # reset by the purge
    other_connector = _ids(sds, other)["connectorId"]
    seen = _step(sds, other)  # nobody else validating now: asks for the run
    (run_id,) = fake.runs
    assert seen["statusMessage"] == f"School Data Sync run {run_id}: running"
    assert fake.runs[run_id]["files"] == {other_connector: FROZEN}  # the deleted profile's: not run
    assert setup["connectorId"] in fake.objects["dataConnectors"]  # the tenant's own: kept
    assert fake.violations == []
