"""Concurrent requests on one profile: ETag/If-Match read-modify-write loses no update."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from azure.storage.queue import TextBase64DecodePolicy

from sds_app.blueprints import profiles as api
from sds_app.settings import SYNC_QUEUE
from sds_app.storage.profiles import ProfileStore
from sds_core.models import status as run_status
from tests.app.fixtures import AppEnv
from tests.app.helpers import ROOT, call, request

ENTITIES = ("school", "section", "student", "teacher", "studentEnrollment", "teacherRoster")
UNSET = "0001-01-01T00:00:00Z"


def _changes() -> list[tuple[str, str, Any]]:
    """20 distinct leaves of the customizations: (entity, property, new value)."""
    leaves: list[tuple[str, str, Any]] = []
    for entity in ENTITIES:
        leaves.append((entity, "isSyncDeferred", True))
        leaves.append((entity, "allowDisplayNameUpdate", True))
    for entity in ENTITIES:
        leaves.append((entity, "optionalPropertiesToSync", [f"{entity} column"]))
    for entity in ENTITIES[4:]:
        leaves.append((entity, "synchronizationStartDate", "2031-01-01T00:00:00Z"))
    assert len(leaves) == 20
    return leaves


def test_twenty_parallel_patches_lose_none_of_their_changes(app_env: AppEnv) -> None:
    body = {
        "displayName": "Busy",
        "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
    }
    profile_id = call(
        api.create_profile, request("POST", ROOT, body=body, token=app_env.token())
    ).json["id"]
    token = app_env.token()
    changes = _changes()

    def patch(change: tuple[str, str, Any]) -> int:
        entity, name, value = change
        body = {"dataProvider": {"customizations": {entity: {name: value}}}}
        req = request(
            "PATCH", f"{ROOT}/{profile_id}", route={"id": profile_id}, body=body, token=token
        )
        return call(api.update_profile, req).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(patch, changes))
    assert statuses == [202] * 20

    expected = {
        e: {
            "optionalPropertiesToSync": None,
            "synchronizationStartDate": UNSET,
            "isSyncDeferred": False,
            "allowDisplayNameUpdate": False,
        }
        for e in ENTITIES
    }
    for entity, name, value in changes:
        expected[entity][name] = value
    got = call(
        api.get_profile,
        request("GET", f"{ROOT}/{profile_id}", route={"id": profile_id}, token=token),
    )
    assert got.json["dataProvider"]["customizations"] == expected


def test_parallel_resumes_queue_exactly_one_run(private_env: AppEnv) -> None:
    env = private_env
    body = {
        "displayName": "Paused",
        "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
    }
    profile_id = call(api.create_profile, request("POST", ROOT, body=body, token=env.token())).json[
        "id"
    ]

    def paused_run(record: Any) -> Any:
        now = datetime.now(UTC)
        started = run_status.start(record.status, record.run, "run-7", {}, now)
        held = run_status.pause(started.status, started.run, now)
        return record.model_copy(update={"status": held.status, "run": held.run})

    ProfileStore(env.account).update(profile_id, paused_run)
    token = env.token()

    def resume(_: int) -> int:
        req = request("POST", f"{ROOT}/{profile_id}/resume", route={"id": profile_id}, token=token)
        return call(api.resume_profile, req).status

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(resume, range(10)))
    assert statuses == [200] + [409] * 9
    queue = env.account.queues.get_queue_client(
        SYNC_QUEUE, message_decode_policy=TextBase64DecodePolicy()
    )
    messages = [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]
    assert messages == [
        {
            "schemaVersion": 1,
            "profileId": profile_id,
            "runId": "run-7",
            "reason": "resume",
            "snapshots": {},
        }
    ]
