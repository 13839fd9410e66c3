"""Removing everything the app keeps for a deleted profile: a list of small steps, record last."""

from __future__ import annotations

from collections.abc import Callable

from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount
from sds_app.storage.directory import purge_directory
from sds_app.storage.names import data_prefix, upload_prefix
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore
from sds_app.storage.sync_errors import delete_partition

PurgeStep = Callable[[StorageAccount, str], None]
# The app's own tables are recognised by name: every later table store follows it.
TABLE_PREFIX = "sds"


def purge_profile_blobs(account: StorageAccount, profile_id: str) -> None:
    """The profile's uploads (snapshots too) and its data in the state container."""
    for container, prefix in (
        (UPLOAD_CONTAINER, upload_prefix(profile_id)),
        (STATE_CONTAINER, data_prefix(profile_id)),
    ):
        client = account.blobs.get_container_client(container)
        for name in list(client.list_blob_names(name_starts_with=prefix)):
            client.delete_blob(name, delete_snapshots="include")


def purge_profile_partitions(account: StorageAccount, profile_id: str) -> None:
    """Entities with PartitionKey = profileId in every sds* table (sync errors included)."""
    for table in account.tables.list_tables():
        if table.name.lower().startswith(TABLE_PREFIX):
            delete_partition(account.tables.get_table_client(table.name), profile_id)


# Later issues append their steps (e.g. synced directory entries kept under other keys).
PURGE_STEPS: list[PurgeStep] = [purge_profile_blobs, purge_profile_partitions, purge_directory]


def purge(account: StorageAccount, profile_id: str, steps: list[PurgeStep] | None = None) -> None:
    """Run every step, then remove the record; a failure leaves the record for a retried DELETE."""
    for step in PURGE_STEPS if steps is None else steps:
        step(account, profile_id)
    ProfileStore(account).delete(profile_id)
