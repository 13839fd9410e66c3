"""The default sync target: the synced directory in Azure Table storage, and the sync's own state blobs.

Layout: one row per entity in table `sdsdirectory{kind}{digit}` (kind: school, class, user;
digit: the id's first hex digit), PartitionKey = `{kind}:{profileId}:{bucket}` (bucket: the id's
first hex digits, as many as the profile's size needs, fixed at its first sync and kept in its
registry row), RowKey = id. Both spreads are for Azurite, which keeps a table in one in-memory
collection: measured, a write slows down with the size of its partition (650 rows/s into an empty
partition, under 100/s at 8,000 rows) and an update with the size of its table (L, one table:
1,676 inserts/s but 254 updates/s). The plan writes in id order so a batch fills whole
transactions; a profile's rows of one kind are a PartitionKey range in each table (purge). The
separator `:` appears in no profile id, so the range of one profile never covers another's (`a`
and `a.b` are `[school:a:, school:a;)` and `[school:a.b:, school:a.b;)`).

A row holds the Graph resource as compact JSON (`doc`, nulls left out), `key` (the source key)
and `active`; its links (class members and teachers, school users and classes, user schools and
classes) are embedded as newline-joined source keys, split over `l_{part}_{i}` properties with
the count in `l_{part}_n`, so 4M memberships cost no extra rows. Writes are MERGE upserts in
100-entity transactions, run a few at a time. Row `~profiles/{profileId}` of `sdsdirectory`
registers each profile that has rows, so an item can be found by id.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from sds_app.storage.account import StorageAccount
from sds_app.storage.names import data_blob
from sds_core.models.ids import is_canonical
from sds_app.storage.profiles import STATE_CONTAINER
from sds_core.sync import LINK_KINDS, PROPERTIES, DirectoryChange, SyncIssue, entity_id

DIRECTORY_TABLE = "sdsdirectory"
REGISTRY = "~profiles"
BASELINE = "baseline.arrow"  # dump_baseline's bytes: compressed already
KINDS = ("school", "class", "user")
PARTITION_ROWS = 500  # aimed rows per partition
SHARDS = "0123456789abcdef"  # first hex digit of the id: one table per kind and digit
CHUNK = 15_000  # characters per string property: under the 64 KiB (UTF-16) limit for any text
MAX_LINK_CHUNKS = 30  # with the doc, keeps a row under the 1 MiB entity limit
TRANSACTION = 100  # entities per transaction, the service's limit
TRANSACTION_BYTES = 3_000_000  # under the 4 MiB payload limit
WORKERS = 4
READ_WORKERS = 16
_CREATED: set[tuple[str, str]] = set()  # (account, table) known to exist in this process


def _quote(value: str) -> str:
    return value.replace("'", "''")


SEPARATOR = ":"  # in no profile id (sds_core.models.ids), so a profile's range is its own


def partition(kind: str, profile_id: str, ident: str, digits: int) -> str:
    """The PartitionKey of an entity's row."""
    return f"{kind}{SEPARATOR}{_checked(profile_id)}{SEPARATOR}{ident[:digits]}"


def _checked(profile_id: str) -> str:
    if not is_canonical(profile_id):
        raise ValueError(f"not a canonical profile id: {profile_id!r}")
    return profile_id


def bucket_digits(rows: int) -> int:
    """Hex digits of the id that spread `rows` over partitions of about PARTITION_ROWS."""
    return 0 if rows <= PARTITION_ROWS else min(4, round(math.log(rows / PARTITION_ROWS, 16)))


def _range(kind: str, profile_id: str | None = None) -> str:
    # ':' + 1 == ';': [prefix:, prefix;) is every partition under the prefix, and only those.
    prefix = _quote(kind if profile_id is None else f"{kind}{SEPARATOR}{_checked(profile_id)}")
    return f"PartitionKey ge '{prefix}{SEPARATOR}' and PartitionKey lt '{prefix};'"


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
    kind, _, rest = entity["PartitionKey"].partition(SEPARATOR)
    profile_id = rest.rpartition(SEPARATOR)[0]
    return Row(
        profile_id,
        kind,
        entity["RowKey"],
        entity.get("key", ""),
        bool(entity.get("active", True)),
        dict(entity),
    )


def _link_props(part: str, keys: Sequence[str]) -> dict[str, Any]:
    text = "\n".join(keys)
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    props: dict[str, Any] = {f"l_{part}_n": len(chunks)}
    props.update({f"l_{part}_{i}": c for i, c in enumerate(chunks)})
    return props


def _entity(profile_id: str, change: DirectoryChange, digits: int) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": partition(change.kind, profile_id, change.id, digits),
        "RowKey": change.id,
        "key": change.key,
    }
    entity["active"] = change.op != "deactivate"
    if change.resource is not None:
        doc = {
            k: v
            for k, v in change.resource.items()
            if v is not None and k not in ("id", "accountEnabled")
        }
        entity["doc"] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    for part, keys in change.links.items():
        entity.update(_link_props(part, keys))
    return entity


def _size(entity: dict[str, Any]) -> int:
    return sum(len(k) + (len(v) * 2 if isinstance(v, str) else 8) for k, v in entity.items())


class TableDirectory:
    """DirectoryTarget writing to, and reader of, the directory table."""

    def __init__(
        self, account: StorageAccount, table_name: str = DIRECTORY_TABLE, workers: int = WORKERS
    ) -> None:
        self.account = account
        self.table_name = table_name
        self.workers = workers
        self._layout: dict[str, dict[str, int]] = {}  # profile -> kind -> bucket digits

    @property
    def table(self) -> TableClient:
        """The registry table's client (the profiles and their layouts)."""
        return self.account.table(self.table_name)

    def shard(self, kind: str, digit: str) -> TableClient:
        """The client of the table holding the rows of `kind` whose id starts with `digit`."""
        return self.account.table(f"{self.table_name}{kind}{digit}")

    def _shard_of(self, entity: Mapping[str, Any]) -> TableClient:
        return self.shard(entity["PartitionKey"].partition(SEPARATOR)[0], entity["RowKey"][0])

    # -- DirectoryTarget --------------------------------------------------------------------

    def prepare(self, profile_id: str, sizes: Mapping[str, int]) -> None:
        """Create the table if needed and register the profile with its partition layout."""
        names = [self.table_name] + [f"{self.table_name}{k}{d}" for k in KINDS for d in SHARDS]
        for name in names:
            if (self.account.tables.url, name) in _CREATED:
                continue
            try:
                self.account.tables.create_table(name)
            except ResourceExistsError:
                pass
            _CREATED.add((self.account.tables.url, name))
        layout = self.profiles().get(profile_id)
        if layout is None:
            # Fixed at the first sync: the rows must stay where readers look for them.
            layout = {kind: bucket_digits(sizes.get(kind, 0)) for kind in KINDS}
            self.table.upsert_entity(
                {"PartitionKey": REGISTRY, "RowKey": profile_id, "layout": json.dumps(layout)}
            )
        self._layout[profile_id] = layout

    def _digits(self, profile_id: str) -> dict[str, int]:
        if profile_id not in self._layout:
            self._layout[profile_id] = self.profiles().get(profile_id) or dict.fromkeys(KINDS, 0)
        return self._layout[profile_id]

    def apply(self, profile_id: str, changes: Sequence[DirectoryChange]) -> list[SyncIssue]:
        """Write a batch: MERGE upserts and deletes, in transactions run side by side."""
        issues: list[SyncIssue] = []
        operations: list[tuple[str, dict[str, Any]]] = []
        digits = self._digits(profile_id)
        for change in changes:
            if change.op == "remove":
                pk = partition(change.kind, profile_id, change.id, digits[change.kind])
                operations.append(("delete", {"PartitionKey": pk, "RowKey": change.id}))
                continue
            entity = _entity(profile_id, change, digits[change.kind])
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
        table = self._shard_of(group[0][1])
        try:
            _send_transaction(table, group)
        except TableTransactionError:
            # A delete of a row that is already gone (a redelivered batch) fails the whole
            # transaction; one by one, a missing row is simply done.
            for op, entity in group:
                if op == "upsert":
                    table.upsert_entity(entity, mode=UpdateMode.MERGE)
                else:
                    table.delete_entity(entity["PartitionKey"], entity["RowKey"])

    # -- reading ----------------------------------------------------------------------------

    def profiles(self) -> dict[str, dict[str, int]]:
        """Profiles that have rows in the directory, with their partition layout."""
        try:
            found = self.table.query_entities(
                f"PartitionKey eq '{REGISTRY}'", select=["RowKey", "layout"]
            )
            return {e["RowKey"]: json.loads(e.get("layout") or "{}") for e in found}
        except ResourceNotFoundError:
            return {}

    def get(self, kind: str, ident: str) -> Row | None:
        """The row of an entity by id, whatever its profile."""
        if ident[:1] not in SHARDS:
            return None  # not an id of ours
        for profile_id, layout in self.profiles().items():
            self._layout[profile_id] = layout
            pk = partition(kind, profile_id, ident, layout.get(kind, 0))
            try:
                return _row(self.shard(kind, ident[:1]).get_entity(pk, ident))
            except ResourceNotFoundError:
                continue
        return None

    def page(
        self, kind: str, top: int, after: tuple[str, str] | None = None
    ) -> tuple[list[Row], tuple[str, str] | None]:
        """Up to `top` rows of a kind over all profiles, in key order, after the (PK, RK) `after`.

        The order is shard (first digit of the id), then PartitionKey, then RowKey.
        """
        first = SHARDS.index(after[1][:1]) if after and after[1][:1] in SHARDS else 0
        rows: list[Row] = []
        for digit in SHARDS[first:]:
            query = _range(kind)
            if after is not None and digit == SHARDS[first]:
                pk, rk = (_quote(a) for a in after)
                query += f" and (PartitionKey gt '{pk}' or (PartitionKey eq '{pk}' and RowKey gt '{rk}'))"
            try:
                found = self.shard(kind, digit).query_entities(
                    query, results_per_page=min(max(top + 1 - len(rows), 1), 1000)
                )
                for entity in found:
                    rows.append(_row(entity))
                    if len(rows) > top:
                        break
            except ResourceNotFoundError:
                continue
            if len(rows) > top:
                break
        more = len(rows) > top
        rows = rows[:top]
        last = rows[-1] if rows else None
        return rows, ((last.props["PartitionKey"], last.id) if more and last else None)

    def rows(self, profile_id: str, kind: str, ids: Sequence[str]) -> list[Row]:
        """The rows of `ids` (one profile, one kind) in the order given; missing ones left out."""
        found: dict[str, Row] = {}
        # The service allows at most 15 comparisons in a filter: the partition and 14 rows.
        by_partition: dict[tuple[str, str], list[str]] = {}
        digits = self._digits(profile_id)[kind]
        for i in ids:
            key = (i[:1], partition(kind, profile_id, i, digits))
            by_partition.setdefault(key, []).append(i)
        groups = [
            (key, g[i : i + 14]) for key, g in by_partition.items() for i in range(0, len(g), 14)
        ]

        def fetch(group: tuple[tuple[str, str], Sequence[str]]) -> list[Row]:
            (digit, pk), members = group
            keys = " or ".join(f"RowKey eq '{_quote(i)}'" for i in members)
            query = f"PartitionKey eq '{_quote(pk)}' and ({keys})"
            return [_row(e) for e in self.shard(kind, digit).query_entities(query)]

        # Reads wait on the service, not the CPU: more of them in flight than writes.
        with ThreadPoolExecutor(min(READ_WORKERS, max(len(groups), 1))) as pool:
            for batch in pool.map(fetch, groups):
                found.update((r.id, r) for r in batch)
        return [found[i] for i in ids if i in found]

    def count(self, profile_id: str, kind: str) -> int:
        """Rows of a kind in one profile (active or not)."""
        return sum(1 for _ in self._select(kind, profile_id, ["RowKey"]))

    def scan(self, profile_id: str, kind: str) -> Iterator[Row]:
        """Every row of a kind in one profile."""
        return (_row(e) for e in self._select(kind, profile_id, None))

    def _select(self, kind: str, profile_id: str, select: list[str] | None) -> Iterator[dict]:
        for digit in SHARDS:
            try:
                yield from self.shard(kind, digit).query_entities(
                    _range(kind, profile_id), select=select
                )
            except ResourceNotFoundError:
                continue

    # -- purge ------------------------------------------------------------------------------

    def purge(self, profile_id: str) -> None:
        """Delete every row of the profile and its registration."""
        keys = [
            ("delete", {"PartitionKey": e["PartitionKey"], "RowKey": e["RowKey"]})
            for kind in KINDS
            for e in self._select(kind, profile_id, ["PartitionKey", "RowKey"])
        ]
        for group in _transactions(keys):
            self._submit(group)
        try:
            self.table.delete_entity(REGISTRY, profile_id)
        except ResourceNotFoundError:
            pass
        self._layout.pop(profile_id, None)


def _send_transaction(table: TableClient, group: list[tuple[str, dict[str, Any]]]) -> None:
    """One entity group transaction (MERGE upserts, deletes) through the SDK's pipeline.

    The body is written here rather than by submit_transaction: the SDK builds and parses the
    multipart bodies with the email package, 2.5 ms of CPU per entity, which made the client,
    not Azurite, the limit (measured: 650 entities/s with the SDK, 5,000/s with this body).
    """
    base = table.url.split("?")[0].rstrip("/")  # the account endpoint
    batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    parts = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"]
    for op, entity in group:
        pk, rk = (quote(entity[k].replace("'", "''"), safe="") for k in ("PartitionKey", "RowKey"))
        url = f"{base}/{table.table_name}(PartitionKey='{pk}',RowKey='{rk}')"
        parts.append(
            f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        )
        if op == "delete":
            parts.append(
                f"DELETE {url} HTTP/1.1\r\nAccept: application/json;odata=nometadata\r\n"
                "If-Match: *\r\nDataServiceVersion: 3.0\r\n\r\n"
            )
        else:
            # ASCII only (\u escapes): Azurite misreads sub-requests with multi-byte characters.
            body = json.dumps(entity, separators=(",", ":"))
            parts.append(
                f"MERGE {url} HTTP/1.1\r\nContent-Type: application/json\r\n"
                f"Accept: application/json;odata=nometadata\r\nDataServiceVersion: 3.0\r\n\r\n{body}\r\n"
            )
    parts.append(f"--{changeset}--\r\n--{batch}--\r\n")
    request = HttpRequest(
        "POST",
        f"{base}/$batch",
        content="".join(parts).encode(),
        headers={
            "x-ms-version": table.api_version,
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "Content-Type": f"multipart/mixed; boundary={batch}",
            "Accept": "application/json",
        },
    )
    response = table._client.send_request(request, stream=True)  # noqa: SLF001 - the SDK's own pipeline
    text = response.read().decode("utf-8", "replace")
    if response.status_code != 202 or _FAILED_PART.search(text):
        failed = _FAILED_PART.search(text)
        detail = text[failed.start() : failed.start() + 300] if failed else text[:300]
        raise TableTransactionError(
            message=f"transaction refused ({response.status_code}): {detail}", response=response
        )


_FAILED_PART = re.compile(r"^HTTP/1\.1 [45]\d\d", re.MULTILINE)


def _transactions(
    operations: list[tuple[str, dict[str, Any]]],
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    by_partition: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for op in operations:
        # A transaction stays in one partition of one table (the shard: the id's first digit).
        by_partition.setdefault((op[1]["RowKey"][:1], op[1]["PartitionKey"]), []).append(op)
    for ops in by_partition.values():
        group: list[tuple[str, dict[str, Any]]] = []
        size = 0
        for op in ops:
            n = _size(op[1])
            if group and (len(group) == TRANSACTION or size + n > TRANSACTION_BYTES):
                yield group
                group, size = [], 0
            group.append(op)
            size += n
        if group:
            yield group


def _too_large(change: DirectoryChange) -> SyncIssue:
    entry = {"school": "School", "class": "Section"}.get(change.kind) or change.key.partition(":")[
        0
    ].title()
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
        # Under the profile's data prefix, which the profile purge empties.
        return self.account.blobs.get_blob_client(self.container, data_blob(profile_id, "sync", name))

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
        return self._read(profile_id, BASELINE)

    def save_baseline(self, profile_id: str, data: bytes) -> None:
        """Keep the baseline of a successful sync."""
        self._write(profile_id, BASELINE, data)

    def load_checkpoint(self, profile_id: str) -> dict[str, Any] | None:
        """The progress of the profile's current run, or None."""
        data = self._read(profile_id, "checkpoint.json")
        return json.loads(data) if data else None

    def save_checkpoint(self, profile_id: str, checkpoint: dict[str, Any]) -> None:
        """Record the progress of the profile's current run."""
        self._write(
            profile_id, "checkpoint.json", json.dumps({"schemaVersion": 1, **checkpoint}).encode()
        )

    def drop_baseline(self, profile_id: str) -> None:
        """Forget the last successful sync (reset): the next run writes everything again."""
        self._delete(profile_id, BASELINE)

    def purge(self, profile_id: str) -> None:
        """Drop the baseline and the checkpoint (profile deleted)."""
        for name in (BASELINE, "checkpoint.json"):
            self._delete(profile_id, name)

    def _delete(self, profile_id: str, *names: str) -> None:
        for name in names:
            try:
                self._blob(profile_id, name).delete_blob()
            except ResourceNotFoundError:
                pass


def purge_directory(account: StorageAccount, profile_id: str) -> None:
    """Purge step of a deleted profile: its directory rows (its state blobs go with `{id}/`)."""
    TableDirectory(account).purge(profile_id)
