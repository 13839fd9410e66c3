"""The files of one upload session: what the forwarder and the tenant check send, one way.

Every upload to a School Data Sync connector goes through `upload_session_files`, so that the
protocol, the hosts accepted and the deadlines are decided in one place: Data Lake Storage Gen2
create, appends and flush, each file streamed (sds_app/graph/upload.py), to a session URL that
is on an Azure Storage host of the Graph endpoint's cloud or on a host listed in SDS_UPLOAD_HOSTS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from sds_app.graph import IndustryDataClient
from sds_app.graph.upload import UploadFile, UploadHosts, upload_files
from sds_app.settings import get_settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

READ_BYTES = 4 << 20  # one ranged read of a stored file, and one append: the adapter's chunk


def upload_session_files(graph: IndustryDataClient, session_url: str,
                         files: Iterable[UploadFile]) -> None:
    """Upload every file into the session's folder; UploadError (a GraphError) when one fails.

    The URL is checked before any byte is sent (SessionUrlRefused names its scheme and host).
    """
    hosts = UploadHosts.for_graph(graph.endpoint, get_settings().upload_hosts)
    upload_files(session_url, list(files), hosts)


def in_memory(name: str, data: bytes) -> UploadFile:
    """A small file already in memory (the tenant check's sample files)."""
    return UploadFile(name, len(data), lambda: iter((data,)))


def from_blob(name: str, blob: BlobClient, chunk_bytes: int = READ_BYTES) -> UploadFile:
    """A stored blob (a run's frozen snapshot) read in ranges of `chunk_bytes` while it is sent.

    A whole download would hold the SDK's first GET (32 MiB by default) in memory; ranges of
    one chunk keep a 141 MB file to a chunk at a time. The stored bytes, as verified (no gzip
    decoding). Each read goes through the account's client, under its deadlines.
    """
    size = blob.get_blob_properties().size

    def chunks() -> Iterator[bytes]:
        offset = 0
        while offset < size:
            part = blob.download_blob(
                offset=offset, length=min(chunk_bytes, size - offset), decompress=False
            )
            start = offset
            for piece in part.chunks():
                offset += len(piece)
                yield piece
            if offset == start:  # an empty range: the size check of the upload names it
                return

    return UploadFile(name, size, chunks)
