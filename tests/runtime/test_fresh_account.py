"""A fresh storage account works: the first call of every route and trigger answers as documented.

Before each call the account is emptied (no container, queue or table: a new deployment before
its first write) and the process forgets what it made, as a new instance would.
"""

from __future__ import annotations

import json
import uuid

import pytest

from sds_app.storage.account import StorageAccount
from sds_app.storage.provisioning import forget_storage
from tests.app.bindings_table import FUNCTIONS
from tests.app.fixtures import AppEnv, reset_caches
from tests.app.flow import CSV_PROFILE
from tests.runtime.host import FunctionsHost

ORIGIN = "http://localhost:7071"
ENTITY = str(uuid.uuid4())
NAVIGATION = {"schools": "users", "classes": "members", "users": "classes"}
# The documented answer of each route's first call on an empty account (no profile "p-1").
FIRST_ANSWERS = {
    "list_profiles": 200, "create_profile": 202, "get_profile": 404, "replace_profile": 202,
    "update_profile": 404, "delete_profile": 404, "get_upload_url": 404, "get_upload_url_call": 404,
    "list_uploads": 404, "delete_upload": 404, "get_profile_status": 404, "list_errors": 404,
    "pause_profile": 404, "resume_profile": 404, "reset_profile": 404, "start_profile": 404,
    "verification_report": 404, "list_schools": 200, "get_school": 404, "school_navigation": 404,
    "list_classes": 200, "get_class": 404, "class_navigation": 404, "list_users": 200,
    "get_user": 404, "user_navigation": 404, "get_health": 200, "check_tenant": 200,
}


def empty(account: StorageAccount) -> None:
    """No container, queue or table left; the process forgets it made any."""
    for container in account.blobs.list_containers():
        account.blobs.delete_container(container.name)
    for queue in account.queues.list_queues():
        account.queues.delete_queue(queue.name)
    for table in account.tables.list_tables():
        account.tables.delete_table(table.name)
    forget_storage()
    reset_caches()


def path_of(route: str) -> str:
    """A concrete path for a route template."""
    plural = route.split("/")[2] if route.count("/") >= 2 else ""
    return "/" + (
        route.replace("synchronizationProfiles/{id}", "synchronizationProfiles/p-1")
        .replace("{id}", ENTITY)
        .replace("{fileName}", "school.csv")
        .replace("{nav}", NAVIGATION.get(plural, ""))
    )


HTTP = sorted(name for name, bindings in FUNCTIONS.items() if bindings[0]["type"] == "httpTrigger")


def test_every_http_function_has_a_documented_first_answer() -> None:
    assert sorted(FIRST_ANSWERS) == HTTP


@pytest.mark.parametrize("name", HTTP)
def test_the_first_call_of_each_route_on_an_empty_account(
    host: FunctionsHost, runtime_env: AppEnv, name: str, request: pytest.FixtureRequest
) -> None:
    # The tenant check calls Microsoft Graph: here the stand-in (tests/fakegraph), never Graph.
    graph = request.getfixturevalue("fake_graph") if name == "check_tenant" else None
    empty(runtime_env.account)
    trigger = FUNCTIONS[name][0]
    method = trigger["methods"][0]
    body = json.dumps(CSV_PROFILE).encode() if method in ("POST", "PUT", "PATCH") and "profile" in name else b""
    headers = {"Authorization": f"Bearer {runtime_env.token()}", "Content-Type": "application/json"}
    answer = host.http(method, ORIGIN + path_of(trigger["route"]), headers=headers, body=body)
    assert answer.status == FIRST_ANSWERS[name], answer.body
    if graph is not None:  # the check read the stand-in (and stored the codes on the empty account)
        assert (graph.violations, len(graph.requests)) == ([], 7)


def test_the_triggers_on_an_empty_account(host: FunctionsHost, runtime_env: AppEnv) -> None:
    empty(runtime_env.account)
    blob = host.blob("verify_upload", "sds-uploads", "p-1/school.csv", {"profileId": "p-1", "name": "school.csv"})
    assert blob.succeeded, blob.response.result.exception.message
    run = {"schemaVersion": 1, "profileId": "p-1", "runId": str(uuid.uuid4()), "reason": "start", "snapshots": {}}
    purge = {"schemaVersion": 1, "profileId": "p-1", "runId": str(uuid.uuid4()), "reason": "delete"}
    for function in ("run_sync", "sync_poisoned"):
        for message in (run, purge):
            empty(runtime_env.account)
            invocation = host.queue(function, json.dumps(message))
            assert invocation.succeeded, (function, message["reason"], invocation.response.result.exception.message)
