"""Profiles whose uploads are an SDS v2.1 set: verified with the v2.1 rules, forwarded as v2.1.

The new School Data Sync takes v2.1 files through a connector of fileFormat schoolDataSyncV2Rev1
(Graph industrydata-fileformatreferencevalue). The app's own tables take the classic six only, so
a deployment that syncs to them refuses a v2.1 set at `start`.
"""

from __future__ import annotations

from typing import Any

import pytest

from sds_app.blueprints import profiles as api
from sds_app.settings import get_settings
from sds_app.start import V21_NOT_SYNCED
from sds_app.storage.profiles import ProfileStore
from tests.app.flow import CSV_PROFILE, create_profile, start, upload_and_verify
from tests.app.helpers import BASE, ROOT, call, request
from tests.app.test_forwarding import FROZEN, GOOD, _step, sds  # noqa: F401
from tests.core.builders import SAMPLES, sample_files
from tests.fakegraph.server import RunOutcome, ValidationOutcome

V21 = sample_files(SAMPLES / "sds-v2.1")
COLLECTION = f"{BASE}/$metadata#education/Collection(microsoft.graph.verificationMessage)"


def _ids(env: Any, pid: str) -> dict[str, Any]:
    found = ProfileStore(env.account).get(pid)
    assert found is not None
    return found[0].model_dump(mode="json")["industryData"]


def _run_to_the_end(sds: dict[str, Any], pid: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for _ in range(8):
        seen = _step(sds, pid)
        if seen["status"] != "inProgress":
            break
    return seen


def test_a_v21_set_is_verified_and_forwarded_to_a_v21_connector(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(RunOutcome(running_polls=0))
    pid = create_profile(env)
    before = _ids(env, pid)
    assert fake.objects["dataConnectors"][before["connectorId"]]["fileFormat"]["code"] == "schoolDataSyncV1"
    upload_and_verify(env, pid, V21)
    answer = start(env, pid)
    assert (answer.status, answer.json) == (200, {"@odata.context": COLLECTION, "value": []})
    seen = _run_to_the_end(sds, pid)
    assert seen["status"] == "success", seen
    after = _ids(env, pid)
    connector = after["connectorId"]
    assert connector != before["connectorId"] and after["fileFormat"] == "schoolDataSyncV2Rev1"
    assert list(fake.objects["dataConnectors"]) == [connector]  # the v1 connector is gone
    assert fake.objects["dataConnectors"][connector]["fileFormat"]["code"] == "schoolDataSyncV2Rev1"
    (flow,) = fake.objects["inboundFlows"].values()
    assert flow["dataConnectorId"] == connector and flow["yearId"] == before["yearId"]
    (run,) = fake.runs.values()
    assert run["files"] == {connector: V21}  # every file, its exact name, byte for byte
    assert after["sourceSystemId"] == before["sourceSystemId"]
    assert fake.violations == []


def test_a_v21_set_with_errors_is_refused_with_the_v21_messages(sds: dict[str, Any]) -> None:
    env = sds["env"]
    pid = create_profile(env)
    files = {name: data for name, data in V21.items() if name != "roles.csv"}
    upload_and_verify(env, pid, files)
    answer = start(env, pid)
    assert answer.status == 400
    (message,) = [m for m in answer.json["value"] if m["type"] == "Error"]
    assert message["fileName"] == "roles.csv"
    assert "RequiredFileNotFound" in message["description"]
    assert sds["fake"].session_requests == []


def test_a_bound_v1_connector_takes_no_v21_files(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    setup = fake.connector_setup("the tenant's v1 connector")
    answer = call(api.create_profile, request(
        "POST", ROOT, body={**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]},
        token=env.token()))
    pid = answer.json["id"]
    upload_and_verify(env, pid, V21)
    assert start(env, pid).status == 200
    seen = _step(sds, pid)
    assert (seen["status"], seen["statusMessage"]) == (
        "error",
        f"The dataConnector {setup['connectorId']} takes fileFormat 'schoolDataSyncV1', and these files are "
        "SDS v2.1: upload files of the connector's format, or use a profile bound to a connector of "
        "fileFormat 'schoolDataSyncV2Rev1'.",
    )
    assert fake.session_requests == [] and fake.objects["dataConnectors"][setup["connectorId"]]


def test_a_bound_v21_connector_takes_the_v21_files(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.append(ValidationOutcome(running_polls=0))
    fake.runs_script.append(RunOutcome(running_polls=0))
    setup = fake.connector_setup("the tenant's v2.1 connector")
    fake.objects["dataConnectors"][setup["connectorId"]]["fileFormat"] = {"code": "schoolDataSyncV2Rev1"}
    answer = call(api.create_profile, request(
        "POST", ROOT, body={**CSV_PROFILE, "industryDataConnectorId": setup["connectorId"]},
        token=env.token()))
    pid = answer.json["id"]
    assert call(api.get_profile, request("GET", f"{ROOT}/{pid}", route={"id": pid},
                                         token=env.token())).json["state"] == "provisioned"
    assert _ids(env, pid)["fileFormat"] == "schoolDataSyncV2Rev1"  # read from the connector
    upload_and_verify(env, pid, V21)
    assert start(env, pid).status == 200
    assert _run_to_the_end(sds, pid)["status"] == "success"
    (run,) = fake.runs.values()
    assert run["files"] == {setup["connectorId"]: V21}
    assert fake.violations == []


def test_a_profile_back_to_the_classic_six_gets_a_v1_connector_again(sds: dict[str, Any]) -> None:
    env, fake = sds["env"], sds["fake"]
    fake.validations.extend([ValidationOutcome(running_polls=0), ValidationOutcome(running_polls=0)])
    fake.runs_script.extend([RunOutcome(running_polls=0), RunOutcome(running_polls=0)])
    pid = create_profile(env)
    upload_and_verify(env, pid, V21)
    assert start(env, pid).status == 200
    assert _run_to_the_end(sds, pid)["status"] == "success"
    container = env.account.blobs.get_container_client("sds-uploads")
    for name in V21:
        container.delete_blob(f"{pid}/{name}", delete_snapshots="include")
    upload_and_verify(env, pid, GOOD)
    assert start(env, pid).status == 200
    assert _run_to_the_end(sds, pid)["status"] == "success"
    after = _ids(env, pid)
    assert after["fileFormat"] == "schoolDataSyncV1"
    last = list(fake.runs.values())[-1]
    assert last["files"] == {after["connectorId"]: FROZEN}
    assert fake.violations == []


@pytest.mark.parametrize("target", ["directory", "directory,schoolDataSync"])
def test_a_deployment_syncing_to_its_tables_refuses_a_v21_set_at_start(
    private_env: Any, monkeypatch: pytest.MonkeyPatch, fake_graph: Any, target: str
) -> None:
    monkeypatch.setenv("SDS_SYNC_TARGET", target)
    get_settings.cache_clear()
    pid = create_profile(private_env)
    upload_and_verify(private_env, pid, V21)
    answer = start(private_env, pid)
    assert (answer.status, answer.json) == (400, {"@odata.context": COLLECTION, "value": [
        {"type": "Error", "fileName": "orgs.csv", "description": V21_NOT_SYNCED}]})
    status = call(api.get_profile_status, request(
        "GET", f"{ROOT}/{pid}/profileStatus", route={"id": pid}, token=private_env.token())).json
    assert status["status"] == "validationError"
