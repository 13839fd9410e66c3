"""The sync worker's triggers: sds-sync runs one sync (or purge), sds-sync-poison ends a failed one.

The work is in sds_app/sync_run.py; these functions only bind the queues to it.
"""

from __future__ import annotations

import azure.functions as func

from sds_app import telemetry
from sds_app.settings import STORAGE_CONNECTION, SYNC_POISON_QUEUE, SYNC_QUEUE
from sds_app.storage.clients import get_account
from sds_app.sync_run import handle_poison, handle_sync

sync_triggers = func.Blueprint()


@sync_triggers.queue_trigger(arg_name="msg", queue_name=SYNC_QUEUE, connection=STORAGE_CONNECTION)
def run_sync(msg: func.QueueMessage) -> None:
    """sds-sync: one sync run."""
    with telemetry.operation("run_sync"):
        handle_sync(msg, get_account())


@sync_triggers.queue_trigger(arg_name="msg", queue_name=SYNC_POISON_QUEUE, connection=STORAGE_CONNECTION)
def sync_poisoned(msg: func.QueueMessage) -> None:
    """sds-sync-poison: the run failed repeatedly."""
    with telemetry.operation("sync_poisoned"):
        handle_poison(msg, get_account())
