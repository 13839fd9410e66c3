"""The upload → verify → start flow, driven through the handlers as the host would drive them."""

from __future__ import annotations

import base64
import json
from typing import Any

import azure.functions as func
from azure.storage.blob import ContainerClient

from sds_app.blueprints import profiles as api
from sds_app.blueprints import sync_worker, verification
from sds_app.settings import SYNC_QUEUE, UPLOAD_CONTAINER
from tests.app.fixtures import AppEnv
from tests.app.helpers import ROOT, Answer, call, request

CSV_PROFILE = {
    "displayName": "District CSV profile",
    "dataProvider": {"@odata.type": "#microsoft.graph.educationCsvDataProvider"},
}


def create_profile(env: AppEnv, body: dict[str, Any] = CSV_PROFILE) -> str:
    """A provisioned profile's id."""
    answer = call(api.create_profile, request("POST", ROOT, body=body, token=env.token()))
    assert answer.status == 202, answer.raw
    return answer.json["id"]


def upload_url(env: AppEnv, profile_id: str) -> str:
    """The SAS URL from uploadUrl()."""
    answer = call(
        api.get_upload_url_call,
        request("GET", f"{ROOT}/{profile_id}/uploadUrl()", route={"id": profile_id}, token=env.token()),
    )
    assert answer.status == 200, answer.raw
    return answer.json["value"]


def upload(url: str, files: dict[str, bytes]) -> None:
    """Upload through the SAS URL, as a district script does."""
    container = ContainerClient.from_container_url(url)
    for name, data in files.items():
        container.upload_blob(name, data, overwrite=True)


def trigger(env: AppEnv, profile_id: str, name: str) -> None:
    """Run the blob trigger for one upload, as the host would (an SDK BlobClient, never the bytes)."""
    blob = env.account.blobs.get_blob_client(UPLOAD_CONTAINER, f"{profile_id}/{name}")
    verification.verify_upload(blob)


def upload_and_verify(env: AppEnv, profile_id: str, files: dict[str, bytes]) -> None:
    """Upload every file, then fire the trigger for each, like the host after the uploads."""
    upload(upload_url(env, profile_id), files)
    for name in files:
        trigger(env, profile_id, name)


def start(env: AppEnv, profile_id: str) -> Answer:
    """POST .../start."""
    return call(
        verification.start_profile,
        request("POST", f"{ROOT}/{profile_id}/start", route={"id": profile_id}, token=env.token()),
    )


def report(env: AppEnv, profile_id: str, query: str = "", headers: dict[str, str] | None = None) -> Answer:
    """GET .../verificationReport."""
    return call(
        verification.verification_report,
        request("GET", f"{ROOT}/{profile_id}/verificationReport{query}", route={"id": profile_id},
                token=env.token(), headers=headers),
    )


def status(env: AppEnv, profile_id: str) -> dict[str, Any]:
    """GET .../profileStatus."""
    return call(
        api.get_profile_status,
        request("GET", f"{ROOT}/{profile_id}/profileStatus", route={"id": profile_id}, token=env.token()),
    ).json


def queued(env: AppEnv) -> list[dict[str, Any]]:
    """The run messages waiting on sds-sync, decoded from Base64 as the queue trigger does."""
    queue = env.account.queues.get_queue_client(SYNC_QUEUE)
    return [json.loads(base64.b64decode(m.content)) for m in queue.peek_messages(max_messages=32)]


def deliver(env: AppEnv, profile_id: str, dequeue_count: int = 1) -> int:
    """Hand this profile's messages on sds-sync to the worker, as the host would; how many."""
    queue = env.account.queues.get_queue_client(SYNC_QUEUE)
    delivered = 0
    for m in list(queue.receive_messages(max_messages=32, visibility_timeout=5)):
        body = base64.b64decode(m.content)
        if json.loads(body)["profileId"] != profile_id:
            queue.update_message(m, visibility_timeout=0)  # another test's: back at once
            continue
        queue.delete_message(m)
        sync_worker.run_sync(
            func.queue.QueueMessage(id=m.id, body=body, dequeue_count=dequeue_count)
        )
        delivered += 1
    return delivered
