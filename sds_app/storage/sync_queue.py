"""Enqueueing sync runs on sds-sync: JSON messages, Base64-encoded as the queue trigger expects."""

from __future__ import annotations

import uuid

from azure.storage.queue import TextBase64EncodePolicy

from sds_app.settings import SYNC_QUEUE
from sds_app.storage.account import StorageAccount
from sds_core.models.status import SyncMessage


def enqueue_purge(account: StorageAccount, profile_id: str) -> None:
    """Have the worker purge a profile being deleted."""
    enqueue_run(account, SyncMessage.for_purge(profile_id, str(uuid.uuid4())))


def enqueue_run(account: StorageAccount, message: SyncMessage) -> None:
    """Send one run message; the host's queue trigger (messageEncoding base64) decodes it."""
    queue = account.queues.get_queue_client(
        SYNC_QUEUE, message_encode_policy=TextBase64EncodePolicy()
    )
    queue.send_message(message.model_dump_json(by_alias=True))
