"""A profile's upload folder (`sds-uploads/{profileId}/`): list, read pinned to an ETag, freeze."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobProperties

from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount
from sds_app.storage.names import is_plain_file_name, upload_prefix

RUN_ID_METADATA = "sdsrunid"


class UploadChanged(Exception):
    """A file changed (or vanished) after it was listed: the fingerprint has moved."""


@dataclass(frozen=True)
class Upload:
    """One blob of the folder."""

    name: str
    etag: str
    size: int
    last_modified: datetime

    def to_json(self) -> dict[str, object]:
        """As `GET .../uploads` and the verification report show it."""
        modified = self.last_modified.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"name": self.name, "size": self.size, "eTag": self.etag, "lastModifiedDateTime": modified}


class _Sink:
    """A writable stream over one preallocated buffer: the download is copied once, not twice."""

    def __init__(self, size: int) -> None:
        self.buffer = bytearray(size)
        self.view = memoryview(self.buffer)
        self.at = 0

    def write(self, data: bytes) -> int:
        self.view[self.at:self.at + len(data)] = data
        self.at += len(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # parallel downloads seek to each chunk's offset (under the SDK's lock)

    def seek(self, offset: int, whence: int = 0) -> int:
        self.at = offset if whence == 0 else (self.at + offset if whence == 1 else len(self.buffer) + offset)
        return self.at

    def tell(self) -> int:
        return self.at


class UploadFolder:
    """The uploads of one profile."""

    def __init__(self, account: StorageAccount, profile_id: str) -> None:
        self.container = account.blobs.get_container_client(UPLOAD_CONTAINER)
        self.prefix = upload_prefix(profile_id)

    def scan(self) -> tuple[list[Upload], list[Upload]]:
        """Current files (not snapshots) by name, and the strays: names that are not plain files.

        Strays (a path, a dot segment, a control character after `{profileId}/`) are never read,
        verified or listed as uploads: their names could address another blob (sds_app.storage.strays).
        """
        uploads: list[Upload] = []
        strays: list[Upload] = []
        for b in self.container.list_blobs(name_starts_with=self.prefix):
            upload = Upload(b.name[len(self.prefix):], b.etag, b.size, b.last_modified)
            (uploads if is_plain_file_name(upload.name) else strays).append(upload)
        return sorted(uploads, key=lambda u: u.name), sorted(strays, key=lambda u: u.name)

    def list(self) -> list[Upload]:
        """Current files (not snapshots), by name; strays left out."""
        return self.scan()[0]

    def reader(self, upload: Upload) -> Callable[[], bytearray]:
        """Reads the file as listed, streamed into one buffer; UploadChanged if it was replaced."""

        def read() -> bytearray:
            client = self.container.get_blob_client(self.prefix + upload.name)
            try:
                # The stored bytes, whatever Content-Encoding the uploader set: the SDK would
                # otherwise inflate gzip into a buffer sized for the stored length.
                stream = client.download_blob(
                    etag=upload.etag, match_condition=MatchConditions.IfNotModified,
                    max_concurrency=2, decompress=False,
                )
                sink = _Sink(stream.size)
                stream.readinto(sink)
            except (ResourceModifiedError, ResourceNotFoundError) as changed:
                raise UploadChanged(upload.name) from changed
            return sink.buffer

        return read

    def freeze(self, upload: Upload, run_id: str) -> str:
        """Snapshot the file if it still has the listed ETag; the snapshot id."""
        client = self.container.get_blob_client(self.prefix + upload.name)
        try:
            snapshot = client.create_snapshot(
                metadata={RUN_ID_METADATA: run_id}, etag=upload.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as changed:
            raise UploadChanged(upload.name) from changed
        return snapshot["snapshot"]

    def blob_name(self, upload: Upload) -> str:
        """The blob's full name in the container."""
        return self.prefix + upload.name

    def drop_run(self, run_id: str) -> None:
        """Delete the snapshots taken for a run that was not queued."""
        for blob in self._snapshots():
            if (blob.metadata or {}).get(RUN_ID_METADATA) == run_id:
                self._delete_snapshot(blob.name, blob.snapshot)

    def prune_snapshots(self, current_run: str, keep_runs: int) -> int:
        """Keep the current run's snapshots and those of the runs before it, `keep_runs` in all.

        Snapshots newer than the current run's belong to concurrent starts that lost: they go too.
        """
        runs: dict[str, str] = {}
        snapshots = []
        for blob in self._snapshots():
            run_id = (blob.metadata or {}).get(RUN_ID_METADATA, "")
            runs[run_id] = max(runs.get(run_id, ""), blob.snapshot)
            snapshots.append((blob.name, blob.snapshot, run_id))
        newest = runs.get(current_run, "")
        earlier = sorted((r for r in runs if r != current_run and runs[r] < newest), key=runs.__getitem__)
        kept = {current_run, *earlier[len(earlier) - (keep_runs - 1):]} if keep_runs > 1 else {current_run}
        deleted = 0
        for name, snapshot, run_id in snapshots:
            if run_id not in kept:
                deleted += self._delete_snapshot(name, snapshot)
        return deleted

    def _snapshots(self) -> Iterator[BlobProperties]:
        """Snapshots of the folder's plain files (strays' names are never addressed)."""
        for blob in self.container.list_blobs(name_starts_with=self.prefix, include=["snapshots", "metadata"]):
            if blob.snapshot and is_plain_file_name(blob.name[len(self.prefix):]):
                yield blob

    def _delete_snapshot(self, name: str, snapshot: str) -> int:
        try:
            self.container.get_blob_client(name, snapshot=snapshot).delete_blob()
        except ResourceNotFoundError:
            return 0  # a concurrent start or prune removed it first
        return 1
