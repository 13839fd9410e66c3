"""The default sync target: the synced directory in Azure Table storage, and the sync's own state blobs.

Layout (table `sdsdirectory`): one row per entity, PartitionKey = profileId, RowKey =
`{kind}-{id}` (kind: school, class, user). A row holds the Graph resource as compact JSON (`doc`,
nulls left out), `key` (the source key) and `active`; its links (class members and teachers,
school users and classes, user schools and classes) are embedded as newline-joined source keys,
split over `l_{part}_{i}` properties with the count in `l_{part}_n`, so 4M memberships cost no
extra rows. Writes are MERGE upserts in 100-entity transactions, run a few at a time.
Row `~profiles/{profileId}` registers each profile that has rows, so an item can be found by id.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from sds_app.storage.account import StorageAccount
from sds_core.sync import LINK_KINDS, PARTS, PROPERTIES, DirectoryChange, SyncIssue, entity_id

DIRECTORY_TABLE = "sdsdirectory"
STATE_CONTAINER = "sds-state"
REGISTRY = "~profiles"
KINDS = ("school", "class", "user")
CHUNK = 15_000  # characters per string property: under the 64 KiB (UTF-16) limit for any text
MAX_LINK_CHUNKS = 30  # with the doc, keeps a row under the 1 MiB entity limit
TRANSACTION = 100  # entities per transaction, the service's limit
TRANSACTION_BYTES = 3_000_000  # under the 4 MiB payload limit
WORKERS = 4


def _range(kind: str) -> str:
    # '-' + 1 == '.', so [kind-, kind.) is every row of the kind.
    return f"RowKey ge '{kind}-' and RowKey lt '{kind}.'"


def _quote(value: str) -> str:
    return value.replace("'", "''")


@dataclass(frozen=True)
class Row:
    """A stored entity: its profile, kind, id, source key, active flag and raw properties."""

    profile_id: str
    kind: str
    id: str
    key: str
    active: bool
    props: dict[str, Any]

    def resource(self) -> dict[str, Any]:
        """The Graph v1.0 resource, every property present (null when unset)."""
        doc = json.loads(self.props.get("doc") or "{}")
        doc["id"] = self.id
        if self.kind == "user":
            doc["accountEnabled"] = self.active
        return {name: doc.get(name) for name in PROPERTIES[self.kind]}

    def links(self, part: str) -> list[str]:
        """The source keys of a link part (class members, school users...)."""
        count = int(self.props.get(f"l_{part}_n") or 0)
        text = "".join(self.props.get(f"l_{part}_{i}", "") for i in range(count))
        return text.split("\n") if text else []

    def linked_ids(self, part: str) -> list[str]:
        """The ids of the entities a link part points at."""
        kind = LINK_KINDS[part]
        return [entity_id(self.profile_id, kind, key) for key in self.links(part)]


def _row(entity: dict[str, Any]) -> Row:
    kind, _, ident = entity["RowKey"].partition("-")
    return Row(entity["PartitionKey"], kind, ident, entity.get("key", ""), bool(entity.get("active", True)), dict(entity))


def _link_props(part: str, keys: Sequence[str]) -> dict[str, Any]:
    text = "\n".join(keys)
    chunks = [text[i: i + CHUNK] for i in range(0, len(text), CHUNK)]
    props: dict[str, Any] = {f"l_{part}_n": len(chunks)}
    props.update({f"l_{part}_{i}": c for i, c in enumerate(chunks)})
    return props


def _entity(profile_id: str, change: DirectoryChange) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": profile_id, "RowKey": f"{change.kind}-{change.id}", "key": change.key}
    entity["active"] = change.op != "deactivate"
    if change.resource is not None:
        doc = {k: v for k, v in change.resource.items() if v is not None and k not in ("id", "accountEnabled")}
        entity["doc"] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    for part, keys in change.links.items():
        entity.update(_link_props(part, keys))
    return entity


def _size(entity: dict[str, Any]) -> int:
    return sum(len(k) + (len(v) * 2 if isinstance(v, str) else 8) for k, v in entity.items())


class TableDirectory:
    """DirectoryTarget writing to, and reader of, the directory table."""

    def __init__(self, account: StorageAccount, table_name: str = DIRECTORY_TABLE, workers: int = WORKERS) -> None:
        self.account = account
        self.table_name = table_name
        self.workers = workers

    @property
    def table(self) -> TableClient:
        """The directory table's client."""
        return self.account.tables.get_table_client(self.table_name)

    # -- DirectoryTarget --------------------------------------------------------------------

    def prepare(self, profile_id: str) -> None:
        """Create the table if needed and register the profile."""
        try:
            self.account.tables.create_table(self.table_name)
        except ResourceExistsError:
            pass
        self.table.upsert_entity({"PartitionKey": REGISTRY, "RowKey": profile_id})

    def apply(self, profile_id: str, changes: Sequence[DirectoryChange]) -> list[SyncIssue]:
        """Write a batch: MERGE upserts and deletes, in transactions run side by side."""
        issues: list[SyncIssue] = []
        operations: list[tuple[str, dict[str, Any]]] = []
        for change in changes:
            if change.op == "remove":
                operations.append(("delete", {"PartitionKey": profile_id, "RowKey": f"{change.kind}-{change.id}"}))
                continue
            entity = _entity(profile_id, change)
            chunks = sum(int(v) for k, v in entity.items() if k.endswith("_n"))
            if chunks > MAX_LINK_CHUNKS:
                issues.append(_too_large(change))
                continue
            operations.append(("upsert", entity))
        groups = list(_transactions(operations))
        if len(groups) <= 1 or self.workers <= 1:
            for group in groups:
                self._submit(group)
        else:
            with ThreadPoolExecutor(self.workers) as pool:
                list(pool.map(self._submit, groups))
        return issues

    def _submit(self, group: list[tuple[str, dict[str, Any]]]) -> None:
        table = self.table
        batch = [(op, e, {"mode": UpdateMode.MERGE}) if op == "upsert" else (op, e) for op, e in group]
        try:
            table.submit_transaction(batch)
        except TableTransactionError:
            # A delete of a row that is already gone (a redelivered batch) fails the whole
            # transaction; one by one, a missing row is simply done.
            for op, entity in group:
                if op == "upsert":
                    table.upsert_entity(entity, mode=UpdateMode.MERGE)
                else:
                    table.delete_entity(entity["PartitionKey"], entity["RowKey"])

    # -- reading ----------------------------------------------------------------------------

    def profiles(self) -> list[str]:
        """Profiles that have rows in the directory."""
        try:
            return [e["RowKey"] for e in self.table.query_entities(f"PartitionKey eq '{REGISTRY}'", select=["RowKey"])]
        except ResourceNotFoundError:
            return []

    def get(self, kind: str, ident: str, profiles: Iterable[str] | None = None) -> Row | None:
        """The row of an entity by id, whatever its profile."""
        for profile_id in self.profiles() if profiles is None else profiles:
            try:
                return _row(self.table.get_entity(profile_id, f"{kind}-{ident}"))
            except ResourceNotFoundError:
                continue
        return None

    def page(self, kind: str, top: int, after: tuple[str, str] | None = None) -> tuple[list[Row], tuple[str, str] | None]:
        """Up to `top` rows of a kind over all profiles, in key order, after the (PK, RK) `after`."""
        query = f"PartitionKey ne '{REGISTRY}' and {_range(kind)}"
        if after is not None:
            pk, rk = (_quote(a) for a in after)
            query += f" and (PartitionKey gt '{pk}' or (PartitionKey eq '{pk}' and RowKey gt '{rk}'))"
        rows: list[Row] = []
        try:
            for entity in self.table.query_entities(query, results_per_page=min(max(top, 1), 1000)):
                rows.append(_row(entity))
                if len(rows) > top:
                    break
        except ResourceNotFoundError:
            return [], None
        more = len(rows) > top
        rows = rows[:top]
        return rows, ((rows[-1].profile_id, f"{rows[-1].kind}-{rows[-1].id}") if more else None)

    def rows(self, profile_id: str, kind: str, ids: Sequence[str]) -> list[Row]:
        """The rows of `ids` (one profile, one kind) in the order given; missing ones left out."""
        found: dict[str, Row] = {}
        # The service allows at most 15 comparisons in a filter: the partition and 14 rows.
        groups = [ids[i: i + 14] for i in range(0, len(ids), 14)]

        def fetch(group: Sequence[str]) -> list[Row]:
            keys = " or ".join(f"RowKey eq '{kind}-{_quote(i)}'" for i in group)
            query = f"PartitionKey eq '{_quote(profile_id)}' and ({keys})"
            return [_row(e) for e in self.table.query_entities(query)]

        with ThreadPoolExecutor(min(self.workers, max(len(groups), 1))) as pool:
            for batch in pool.map(fetch, groups):
                found.update((r.id, r) for r in batch)
        return [found[i] for i in ids if i in found]

    def count(self, profile_id: str, kind: str) -> int:
        """Rows of a kind in one profile (active or not)."""
        query = f"PartitionKey eq '{_quote(profile_id)}' and {_range(kind)}"
        return sum(1 for _ in self.table.query_entities(query, select=["RowKey"]))

    def scan(self, profile_id: str, kind: str) -> Iterator[Row]:
        """Every row of a kind in one profile."""
        query = f"PartitionKey eq '{_quote(profile_id)}' and {_range(kind)}"
        return (_row(e) for e in self.table.query_entities(query))

    # -- purge ------------------------------------------------------------------------------

    def purge(self, profile_id: str) -> None:
        """Delete every row of the profile and its registration."""
        try:
            keys = [
                ("delete", {"PartitionKey": e["PartitionKey"], "RowKey": e["RowKey"]})
                for e in self.table.query_entities(
                    f"PartitionKey eq '{_quote(profile_id)}'", select=["PartitionKey", "RowKey"]
                )
            ]
        except ResourceNotFoundError:
            return
        for group in _transactions(keys):
            self._submit(group)
        try:
            self.table.delete_entity(REGISTRY, profile_id)
        except ResourceNotFoundError:
            pass


def _transactions(operations: list[tuple[str, dict[str, Any]]]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    group: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for op in operations:
        n = _size(op[1])
        if group and (len(group) == TRANSACTION or size + n > TRANSACTION_BYTES):
            yield group
            group, size = [], 0
        group.append(op)
        size += n
    if group:
        yield group


def _too_large(change: DirectoryChange) -> SyncIssue:
    entry = {"school": "School", "class": "Section"}.get(change.kind) or change.key.partition(":")[0].title()
    return SyncIssue(
        entry_type=entry,
        error_code="ObjectTooLarge",
        error_message="The record has more memberships than the directory can store in one entity.",
        joining_value=change.key.partition(":")[2] or change.key,
        reportable_identifier=change.key,
    )


class SyncStateStore:
    """The sync's own blobs in `sds-state`: each profile's delta baseline and run checkpoint."""

    def __init__(self, account: StorageAccount, container: str = STATE_CONTAINER) -> None:
        self.account = account
        self.container = container

    def _blob(self, profile_id: str, name: str):  # noqa: ANN202 - BlobClient
        return self.account.blobs.get_blob_client(self.container, f"directory/{profile_id}/{name}")

    def _write(self, profile_id: str, name: str, data: bytes) -> None:
        blob = self._blob(profile_id, name)
        try:
            blob.upload_blob(data, overwrite=True)
        except ResourceNotFoundError:
            try:
                self.account.blobs.create_container(self.container)
            except ResourceExistsError:
                pass
            blob.upload_blob(data, overwrite=True)

    def _read(self, profile_id: str, name: str) -> bytes | None:
        try:
            return self._blob(profile_id, name).download_blob().readall()
        except ResourceNotFoundError:
            return None

    def load_baseline(self, profile_id: str) -> bytes | None:
        """The baseline of the last successful sync (as dump_baseline wrote it), or None."""
        data = self._read(profile_id, "baseline.json.gz")
        return gzip.decompress(data) if data else None

    def save_baseline(self, profile_id: str, data: bytes) -> None:
        """Keep the baseline of a successful sync."""
        self._write(profile_id, "baseline.json.gz", gzip.compress(data, compresslevel=1))

    def load_checkpoint(self, profile_id: str) -> dict[str, Any] | None:
        """The progress of the profile's current run, or None."""
        data = self._read(profile_id, "checkpoint.json")
        return json.loads(data) if data else None

    def save_checkpoint(self, profile_id: str, checkpoint: dict[str, Any]) -> None:
        """Record the progress of the profile's current run."""
        self._write(profile_id, "checkpoint.json", json.dumps({"schemaVersion": 1, **checkpoint}).encode())

    def purge(self, profile_id: str) -> None:
        """Drop the baseline and the checkpoint (profile deleted, or reset)."""
        for name in ("baseline.json.gz", "checkpoint.json"):
            try:
                self._blob(profile_id, name).delete_blob()
            except ResourceNotFoundError:
                pass
