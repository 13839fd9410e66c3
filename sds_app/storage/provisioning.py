"""What profiles need in storage: containers, queues and tables, created once per process."""

from __future__ import annotations

import threading

from azure.core.exceptions import ResourceExistsError

from sds_app.settings import SYNC_POISON_QUEUE, SYNC_QUEUE, UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount
from sds_app.storage.profiles import STATE_CONTAINER
from sds_app.storage.sync_errors import SYNC_ERRORS_TABLE

CONTAINERS = (UPLOAD_CONTAINER, STATE_CONTAINER)
QUEUES = (SYNC_QUEUE, SYNC_POISON_QUEUE)
TABLES = (SYNC_ERRORS_TABLE,)

_ready: set[str] = set()
_lock = threading.Lock()


def _created(create: object, *args: str) -> None:
    try:
        create(*args)  # type: ignore[operator]
    except ResourceExistsError:
        pass


def ensure_state_container(account: StorageAccount) -> None:
    """The container of profile records (needed before the first record is written)."""
    if account.blobs.url not in _ready:
        _created(account.blobs.create_container, STATE_CONTAINER)


def ensure_storage(account: StorageAccount) -> None:
    """Create what is missing; later calls in this process return at once."""
    with _lock:
        if account.blobs.url in _ready:
            return
        for container in CONTAINERS:
            _created(account.blobs.create_container, container)
        for queue in QUEUES:
            _created(account.queues.create_queue, queue)
        for table in TABLES:
            _created(account.tables.create_table, table)
        _ready.add(account.blobs.url)


def forget_storage() -> None:
    """Check again on the next call (tests with a fresh account)."""
    with _lock:
        _ready.clear()
