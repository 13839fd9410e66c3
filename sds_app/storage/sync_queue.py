"""Enqueueing sync runs on sds-sync: JSON messages, Base64-encoded as the queue trigger expects."""

from __future__ import annotations

import uuid

from azure.storage.queue import TextBase64EncodePolicy

from sds_app.settings import SYNC_QUEUE
from sds_app.storage.account import StorageAccount
from sds_core.models.status import SyncMessage

MAX_DELAY = 7 * 24 * 3600 - 1  # the queue service's limit on a message's initial invisibility


def enqueue_purge(account: StorageAccount, profile_id: str) -> None:
    """Have the worker purge a profile being deleted."""
    enqueue_run(account, SyncMessage.for_purge(profile_id, str(uuid.uuid4())))


def enqueue_run(account: StorageAccount, message: SyncMessage, delay_seconds: int = 0) -> None:
    """Send one run message, visible after `delay_seconds`; the queue trigger decodes Base64."""
    queue = account.queues.get_queue_client(
        SYNC_QUEUE, message_encode_policy=TextBase64EncodePolicy()
    )
    queue.send_message(
        message.model_dump_json(by_alias=True, exclude_none=True),
        visibility_timeout=max(0, min(int(delay_seconds), MAX_DELAY)) or None,
    )
