"""Removing everything the app keeps for a deleted profile: a list of small steps, record last."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from sds_app.industry_data import purge_industry_data
from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount
from sds_app.storage.directory import purge_directory
from sds_app.storage.names import data_prefix, is_plain_file_name, upload_prefix
from sds_app.storage.profiles import STATE_CONTAINER, ProfileStore
from sds_app.storage.strays import remove_exactly
from sds_app.storage.sync_errors import delete_partition

PurgeStep = Callable[[StorageAccount, str], None]
T = TypeVar("T")
# The app's own tables are recognised by name: every later table store follows it.
TABLE_PREFIX = "sds"


def purge_profile_blobs(account: StorageAccount, profile_id: str) -> None:
    """The profile's uploads (snapshots too) and its data in the state container.

    Uploads whose names are not plain files are removed exactly or left and reported
    (sds_app.storage.strays): such a name never reaches a delete as written.
    """
    uploads = account.blobs.get_container_client(UPLOAD_CONTAINER)
    prefix = upload_prefix(profile_id)
    for blob in _listed(lambda: list(uploads.list_blobs(name_starts_with=prefix))):
        if is_plain_file_name(blob.name[len(prefix):]):
            _delete(uploads, blob.name)
        else:
            remove_exactly(account, UPLOAD_CONTAINER, blob.name, blob.etag)
    state = account.blobs.get_container_client(STATE_CONTAINER)
    for name in _listed(lambda: list(state.list_blob_names(name_starts_with=data_prefix(profile_id)))):
        _delete(state, name)  # the app's own names


def _listed(listing: Callable[[], list[T]]) -> list[T]:
    """The listing, or nothing when the container does not exist (a fresh account)."""
    try:
        return listing()
    except ResourceNotFoundError:
        return []


def _delete(container: ContainerClient, name: str) -> None:
    try:
        container.delete_blob(name, delete_snapshots="include")
    except ResourceNotFoundError:
        pass  # removed meanwhile (two purges of one profile)


def purge_profile_partitions(account: StorageAccount, profile_id: str) -> None:
    """Entities with PartitionKey = profileId in every sds* table (sync errors included)."""
    for table in account.tables.list_tables():
        if table.name.lower().startswith(TABLE_PREFIX):
            delete_partition(account.table(table.name), profile_id)


# Later issues append their steps (e.g. synced directory entries kept under other keys).
# The Industry Data objects go first: their ids are in the record, which goes last.
PURGE_STEPS: list[PurgeStep] = [
    purge_industry_data, purge_profile_blobs, purge_profile_partitions, purge_directory,
]


def purge_data(account: StorageAccount, profile_id: str) -> None:
    """Every purge step: all the app keeps for the profile except its record."""
    for step in PURGE_STEPS:
        step(account, profile_id)


def purge(account: StorageAccount, profile_id: str) -> None:
    """Run every step, then remove the record; a failure leaves the record for a retried DELETE."""
    purge_data(account, profile_id)
    ProfileStore(account).delete(profile_id)


def purge_deleted(account: StorageAccount, profile_id: str) -> bool:
    """The worker's purge of a profile being deleted; False when it is not (recreated since)."""
    found = ProfileStore(account).get(profile_id)
    if found is None:
        purge_data(account, profile_id)  # what a writer may have left after the record went
        return True
    if not found[0].is_gone:
        return False
    purge(account, profile_id)
    return True
