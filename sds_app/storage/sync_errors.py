"""Sync errors (educationSynchronizationError) in Azure Table storage, one partition per profile."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from azure.data.tables import TableClient, UpdateMode

from sds_app.storage.account import StorageAccount
from sds_core.models.status import SCHEMA_VERSION, SyncErrorEntry

SYNC_ERRORS_TABLE = "sdsSyncErrors"
BATCH = 100  # the most operations in one table transaction
_FIELDS = (
    "entryType",
    "errorCode",
    "errorMessage",
    "joiningValue",
    "recordedDateTime",
    "reportableIdentifier",
)
_BAD_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


def check_key(value: str) -> str:
    """A PartitionKey or RowKey value, refused when Table storage would."""
    if not value or len(value) > 512 or _BAD_KEY.search(value):
        raise ValueError(f"Not usable as a table key: {value!r}")
    return value


def _entity(profile_id: str, error: SyncErrorEntry) -> dict[str, Any]:
    wire = error.model_dump(by_alias=True)
    entity = {"PartitionKey": check_key(profile_id), "RowKey": check_key(error.id)}
    entity["schemaVersion"] = SCHEMA_VERSION
    entity.update({k: wire[k] for k in _FIELDS if wire[k] is not None})
    return entity


def _error(entity: dict[str, Any]) -> SyncErrorEntry:
    return SyncErrorEntry(id=entity["RowKey"], **{k: entity.get(k) for k in _FIELDS})


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class SyncErrorStore:
    """list/count/add_many/clear of one profile's sync errors, ordered by error id."""

    def __init__(self, account: StorageAccount) -> None:
        self.table: TableClient = account.table(SYNC_ERRORS_TABLE)

    def _query(self, profile_id: str, select: list[str] | None = None) -> Iterator[dict[str, Any]]:
        return self.table.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": check_key(profile_id)},
            select=select,
            results_per_page=1000,
        )

    def list(self, profile_id: str, skip: int, top: int) -> list[SyncErrorEntry]:
        """Errors skip .. skip+top-1 of the profile."""
        found: list[SyncErrorEntry] = []
        for index, entity in enumerate(self._query(profile_id, ["RowKey", *_FIELDS])):
            if index >= skip + top:
                break
            if index >= skip:
                found.append(_error(entity))
        return found

    def count(self, profile_id: str) -> int:
        """How many errors the profile has."""
        return sum(1 for _ in self._query(profile_id, ["RowKey"]))

    def add_many(self, profile_id: str, errors: Iterable[SyncErrorEntry]) -> int:
        """Upsert errors by id in transactions of 100; how many were written."""
        written = 0
        for chunk in _chunks((_entity(profile_id, e) for e in errors), BATCH):
            self.table.submit_transaction(
                [("upsert", e, {"mode": UpdateMode.REPLACE}) for e in chunk]
            )
            written += len(chunk)
        return written

    def clear(self, profile_id: str) -> int:
        """Delete every error of the profile; how many there were."""
        return delete_partition(self.table, profile_id)


def delete_partition(table: TableClient, partition_key: str) -> int:
    """Delete every entity with this PartitionKey from a table; how many there were."""
    keys = table.query_entities(
        "PartitionKey eq @pk",
        parameters={"pk": check_key(partition_key)},
        select=["PartitionKey", "RowKey"],
    )
    deleted = 0
    for chunk in _chunks(list(keys), BATCH):
        table.submit_transaction([("delete", e) for e in chunk])
        deleted += len(chunk)
    return deleted
