"""What the app needs in storage: containers, queues and tables, made at first use in each process.

A fresh account (a new deployment before its first write, an empty Azurite) has none of them:
every HTTP request (sds_app.http.handler) and the blob trigger ensure them before use, so the
first call of any route answers as documented. Creating is idempotent: an instance that loses a
race to another gets ResourceExistsError, which is success. Queue triggers need nothing more: a
message reaches a queue only after a request made it, and with it everything else.
The directory's shard tables are made by TableDirectory.prepare before the first sync writes.
"""

from __future__ import annotations

import threading

from azure.core.exceptions import ResourceExistsError

from sds_app.settings import SYNC_POISON_QUEUE, SYNC_QUEUE, UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount
from sds_app.storage.profiles import STATE_CONTAINER
from sds_app.storage.directory import DIRECTORY_TABLE
from sds_app.storage.sync_errors import SYNC_ERRORS_TABLE

CONTAINERS = (UPLOAD_CONTAINER, STATE_CONTAINER)
QUEUES = (SYNC_QUEUE, SYNC_POISON_QUEUE)
TABLES = (SYNC_ERRORS_TABLE, DIRECTORY_TABLE)

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
