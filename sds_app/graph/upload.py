"""Uploads to a connector's upload session: Data Lake Storage Gen2 create, append, flush, streamed.

The connector is an `azureDataLakeConnector`, and every client Microsoft publishes writes the files
with the Gen2 path API at the session's folder: its Postman collection (OfficeDev/O365-EDU-Tools,
"EDU Graph - industryData - SDS", "File Upload Flow": PUT `?resource=file`, PATCH
`?position=0&action=append`, PATCH `?position={length}&action=flush`) and its Data Factory
templates (`CustomSolutions/SDS_ADF_ETL_Integrations/`: an `AzureBlobFS` linked service on the
session's SAS URI, file system = tenant id, folder = `{dataConnectorId}/{containerId}`); an
exporter that sent Put Blob got `400 InvalidHeaderValue` (Essella/Somtoday2MicrosoftSDS). So the
`sessionUrl` path is `/{fileSystem}/{folder...}`, and each file goes to `{folder}/{name}` through
azure-storage-file-datalake (create_file, append_data per chunk, flush_data), the way its own
`upload_data` does it (create, appends, flush with If-Match on the create's ETag, close=true).
A session on a blob endpoint (`*.blob.core.*`) gets Put Blob / Put Block List instead.

Nothing unchecked leaves the process: the URL must be https on an Azure Storage host of the
configured cloud or a `host:port` listed in SDS_UPLOAD_HOSTS (plain http on loopback only), carry
a SAS and nothing else (no userinfo, no fragment); file names are plain. Refused before any byte.
Each file is read from its source one chunk at a time (never more than one chunk of it in
memory); the bytes appended must add up to the declared size before anything is flushed. Every
call has connect/read timeouts, the whole upload has a deadline (a watchdog shuts the sockets
down: a trickling answer stops there, not per socket read), retries are few (5xx and timeouts,
never another 4xx), an answer's body is read up to a bound. Failures are one exception,
UploadError (a GraphError), whose text never holds the SAS signature (nor does the SDK's log:
its logging policies redact `sig`). The adapter never sees a Graph token.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree

import requests
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from sds_app.graph.answers import escaped
from sds_app.graph.errors import GraphError
from sds_app.settings import UploadHost

MiB = 1 << 20
EXCEL_CSV = "application/vnd.ms-excel"  # the content type Microsoft's clients give the files
API_VERSION = "2023-11-03"  # the Gen2 REST version Essella/Somtoday2MicrosoftSDS sends the service
MAX_MESSAGE = 300  # characters of the storage's error message kept in an UploadError
# Storage hosts of each cloud (the account's DNS suffix), and the cloud of each Graph endpoint:
# https://learn.microsoft.com/graph/deployments (national clouds).
STORAGE_SUFFIXES = {
    "public": "core.windows.net",
    "usgov": "core.usgovcloudapi.net",
    "china": "core.chinacloudapi.cn",
}
GRAPH_CLOUDS = {
    "graph.microsoft.com": "public",
    "graph.microsoft.us": "usgov",
    "dod-graph.microsoft.us": "usgov",
    "microsoftgraph.chinacloudapi.cn": "china",
}
# The query parameters of a SAS (azure-storage's QueryStringConstants): a session URL's query
# holds these and no other, so it passes to the SDK verbatim, as a SAS credential.
SAS_PARAMETERS = frozenset(
    "sv ss srt sp se st sip spr sr sig si sdd ses skoid sktid skt ske sks skv saoid suoid scid "
    "sduoid skdutid srh srq rscc rscd rsce rscl rsct spk srk epk erk".split()
)
# Path - Create: "filesystem" regex pattern (the file system is the tenant's id).
_FILE_SYSTEM = re.compile(r"[$a-z0-9](?!.*--)[-a-z0-9]{1,61}[a-z0-9]")
_ACCOUNT_HOST = r"[a-z0-9]{3,24}\.(dfs|blob)\."
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_SIG = re.compile(r"(sig=)[^&\s'\"]+", re.IGNORECASE)
# Storage answers these codes to a SAS that no longer (or never did) authorize the call.
EXPIRED_CODES = ("AuthenticationFailed", "AuthorizationFailure")


@dataclass(frozen=True)
class UploadFile:
    """One file: its exact name, its size, and a callable opening its bytes as chunks."""

    name: str
    size: int
    chunks: Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class UploadLimits:
    """Chunking, timeouts, the whole upload's deadline, retries and bounds of one upload."""

    chunk_bytes: int = 4 * MiB
    connect_seconds: float = 5.0
    read_seconds: float = 30.0
    deadline_seconds: float = 240.0  # all files; below the 5-minute default function timeout
    retries: int = 3  # of one call, on 5xx (not 501/505), 408 and timeouts only
    retry_backoff_seconds: float = 1.0
    max_answer_bytes: int = 64 * 1024  # of any answer's body; storage's answers are tiny


class UploadError(GraphError):
    """An upload failed: HTTP status (None before any answer), storage's code, and the file.

    A GraphError, so the forwarder judges it as any other refusal of the run's calls (transient:
    the delivery is tried again; else the run ends with the message).
    """

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        file: str | None = None,
        *,
        where: str = "",
        transient: bool = False,
    ) -> None:
        self.storage_message = escaped(_redact(message)[:MAX_MESSAGE])[:MAX_MESSAGE]
        self.file = file
        self.where = where
        self._transient = transient
        super().__init__(status, code, self.storage_message, path=file or "")

    @property
    def transient(self) -> bool:
        """5xx (not 501/505), 408, 429, no answer, the deadline, the source's own failure."""
        return self._transient

    @property
    def expired(self) -> bool:
        """403 AuthenticationFailed/AuthorizationFailure: the session's SAS expired (or was bad)."""
        return self.status == 403 and self.code in EXPIRED_CODES

    @property
    def message(self) -> str:
        """One sentence for a status message: where, which file, status and code, storage's text."""
        status = f"{self.status} {self.code}" if self.status else self.code
        what = f"the upload of {self.file}" if self.file else "the upload"
        where = f" to {self.where}" if self.where else ""
        text = f"{what[0].upper()}{what[1:]}{where} failed ({status})"
        if self.storage_message:
            text += f": {self.storage_message.rstrip('.')}"
        if self.expired:  # the words of the Put Blob client before it (client._blob_error)
            text += "; the upload session refused the file (expired or invalid SAS)"
        return text + "."


class SessionUrlRefused(UploadError):
    """The session URL is not one the app sends files to; nothing was sent."""

    def __init__(self, origin: str, why: str) -> None:
        super().__init__(
            None, "untrustedSessionUrl", f"{why}; no file was sent", where=origin, transient=False
        )

    @property
    def message(self) -> str:
        """What was refused and why, naming only the scheme and host."""
        return f"The upload session URL {self.where} was refused: {self.storage_message}."


@dataclass(frozen=True)
class SessionFolder:
    """Where a session's files go: endpoint, file system, folder, SAS, and which protocol."""

    scheme: str
    netloc: str
    file_system: str
    folder: str
    sas: str
    blob: bool  # a blob endpoint (*.blob.core.*): Put Blob; else the Gen2 path API

    @property
    def origin(self) -> str:
        """scheme://host[:port], for messages (never the SAS)."""
        return f"{self.scheme}://{self.netloc}"

    def path_of(self, name: str) -> str:
        """The file's path inside the file system."""
        return f"{self.folder}/{name}" if self.folder else name


@dataclass(frozen=True)
class UploadHosts:
    """Where upload sessions may be: the cloud's Azure Storage hosts, and SDS_UPLOAD_HOSTS."""

    suffix: str = STORAGE_SUFFIXES["public"]
    listed: tuple[UploadHost, ...] = ()

    @classmethod
    def for_graph(cls, graph_endpoint: str, listed: Sequence[UploadHost] = ()) -> UploadHosts:
        """The storage hosts of the Graph endpoint's cloud (any other endpoint: public)."""
        host = (urlsplit(graph_endpoint).hostname or "").lower()
        return cls(STORAGE_SUFFIXES[GRAPH_CLOUDS.get(host, "public")], tuple(listed))

    def check(self, session_url: str) -> SessionFolder:
        """The session's folder, or SessionUrlRefused naming the URL's scheme and host."""
        if not isinstance(session_url, str):
            raise SessionUrlRefused("(not a string)", "the session URL is not a string")
        try:
            parts = urlsplit(session_url)
            port = parts.port
        except ValueError:
            raise SessionUrlRefused(_origin_of(session_url), "it is not a URL") from None
        scheme, host = parts.scheme.lower(), _normal_host(parts.hostname or "")
        origin = _CONTROL.sub("?", f"{scheme}://{parts.netloc.rpartition('@')[2]}")[:200]
        if len(session_url) > 8192 or _CONTROL.search(session_url):
            raise SessionUrlRefused(origin, "it holds spaces or control characters")
        if "@" in parts.netloc:
            raise SessionUrlRefused(origin, "it carries user information")
        if "#" in session_url:
            raise SessionUrlRefused(origin, "it has a fragment")
        blob = self._host_kind(scheme, host, port, origin)
        sas = self._sas(parts.query, origin)
        file_system, folder = _folder(parts.path, origin)
        return SessionFolder(scheme, parts.netloc.lower(), file_system, folder, sas, blob)

    def _host_kind(self, scheme: str, host: str, port: int | None, origin: str) -> bool:
        """True for a blob endpoint, False for Gen2; SessionUrlRefused for any other host."""
        effective = port or {"https": 443, "http": 80}.get(scheme)
        for entry in self.listed:
            if (entry.host, entry.port) == (host, effective):
                if scheme == "https" or (scheme == "http" and entry.loopback):
                    return False
                raise SessionUrlRefused(origin, f"{entry} takes https only (http on loopback)")
        match = re.fullmatch(_ACCOUNT_HOST + re.escape(self.suffix), host)
        if match is None:
            raise SessionUrlRefused(
                origin,
                f"it is not on an Azure Storage host of this cloud (*.dfs.{self.suffix}, "
                f"*.blob.{self.suffix}) nor on a host:port listed in SDS_UPLOAD_HOSTS",
            )
        if scheme != "https" or port not in (None, 443):
            raise SessionUrlRefused(origin, "Azure Storage is reached over https on port 443")
        return match.group(1) == "blob"

    @staticmethod
    def _sas(query: str, origin: str) -> str:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            pairs = []
        names = {name for name, _ in pairs}
        if not pairs or "sig" not in names or not names <= SAS_PARAMETERS:
            raise SessionUrlRefused(origin, "its query is not a shared access signature")
        return query


def _normal_host(host: str) -> str:
    """The host in lower case, an IP address in its normal form (as SDS_UPLOAD_HOSTS has it)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return _CONTROL.sub("?", f"{scheme[:10]}://{host[:100]}") if rest else "(not a URL)"


def _folder(path: str, origin: str) -> tuple[str, str]:
    """(file system, folder) of the session URL's path `/{fileSystem}/{folder...}`."""
    segments = [unquote(s) for s in path.split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash
    if not path.startswith("/") or not segments or not all(map(_plain_segment, segments)):
        raise SessionUrlRefused(origin, "its path is not /{fileSystem}/{folder}")
    if not _FILE_SYSTEM.fullmatch(segments[0]):
        raise SessionUrlRefused(origin, "its first path segment is not a file system name")
    return segments[0], "/".join(segments[1:])


def _plain_segment(segment: str) -> bool:
    return (
        bool(segment)
        and len(segment) <= 255
        and ".." not in segment
        and segment != "."
        and not any(c in segment for c in "/\\")
        and not _CONTROL.search(segment.replace(" ", "x"))
    )


def plain_file_name(name: object) -> bool:
    """A file name that is one path segment: no /, \\, .., control characters; 1-255 chars."""
    return isinstance(name, str) and _plain_segment(name) and name.strip() == name


def _redact(text: str) -> str:
    """The text with any SAS signature (`sig=...`) replaced."""
    return _SIG.sub(r"\1REDACTED", text)


class _RedactSas(logging.Filter):
    """`sig=` redacted in urllib3's log: at DEBUG it writes each request line, query included."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        text = record.getMessage()
        if "sig=" in text.lower():
            record.msg, record.args = _redact(text), ()
        return True


def _redact_urllib3_log() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactSas) for f in logger.filters):
        logger.addFilter(_RedactSas())


_redact_urllib3_log()  # azure-core's own request log redacts every query parameter already


# -- deadlines -----------------------------------------------------------------------------------


class _DeadlinePassed(Exception):
    """The whole upload's deadline passed (not an AzureError: no policy retries it)."""


class _AnswerTooLarge(Exception):
    """An answer's body was longer than the bound (not an AzureError: never retried)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Watch:
    """The whole upload's deadline: at it, every socket the upload opened is shut down."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.passed = False
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        """Seconds left; _DeadlinePassed when none."""
        left = self.deadline - time.monotonic()
        if self.passed or left <= 0:
            self.passed = True
            raise _DeadlinePassed()
        return left

    def register(self, sock: socket.socket) -> None:
        """Watch a new connection's socket (shut down at the deadline)."""
        with self._lock:
            self._sockets.add(sock)
        if self.passed:
            self._expire()

    def _expire(self) -> None:
        self.passed = True
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed
                pass

    def cancel(self) -> None:
        """The upload ended: stop the timer."""
        self._timer.cancel()


class _BoundedAdapter(HTTPAdapter):
    """requests' adapter with watched sockets, timeouts within the deadline, bounded answers."""

    def __init__(self, watch: _Watch, max_answer: int) -> None:
        self.watch = watch
        self.max_answer = max_answer
        super().__init__(max_retries=0)  # retries are the pipeline's, counted and bounded

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._watched_pools()

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:  # noqa: D102 - HTTP(S)_PROXY
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has pool classes of its own
            manager.pool_classes_by_scheme = self._watched_pools()
        return manager

    def _watched_pools(self) -> dict[str, type]:
        """urllib3 pool classes whose connections register their socket with the watch."""
        watch = self.watch

        def watched(base: type) -> type:
            def connect(conn: Any) -> None:
                base.connect(conn)
                watch.register(conn.sock)

            return type(f"Watched{base.__name__}", (base,), {"connect": connect})

        return {
            "http": type(
                "WatchedPool", (HTTPConnectionPool,), {"ConnectionCls": watched(HTTPConnection)}
            ),
            "https": type(
                "WatchedSPool", (HTTPSConnectionPool,), {"ConnectionCls": watched(HTTPSConnection)}
            ),
        }

    def send(  # noqa: D102
        self, request: Any, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> Any:
        left = self.watch.remaining()
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        timeout = (min(connect or left, left), min(read or left, left))
        try:
            response = super().send(request, stream=True, timeout=timeout, **kwargs)
            try:
                body = response.raw.read(self.max_answer + 1, decode_content=True)
            except ReadTimeoutError as slow:  # as requests reports them: azure-core retries these
                raise requests.exceptions.ReadTimeout(slow, request=request) from None
            except (HTTPError, OSError) as broken:
                raise requests.exceptions.ConnectionError(ProtocolError(broken)) from None
        except Exception:
            if self.watch.passed:
                raise _DeadlinePassed() from None
            raise
        if len(body) > self.max_answer:
            response.close()
            raise _AnswerTooLarge(response.status_code)
        response._content = body  # what requests' .content gives: read, and bounded
        response._content_consumed = True
        response.raw.release_conn()
        return response


class _Transport(RequestsTransport):
    """azure-core's requests transport on the bounded adapter; retry sleeps end at the deadline."""

    def __init__(self, watch: _Watch, limits: UploadLimits) -> None:
        session = requests.Session()
        adapter = _BoundedAdapter(watch, limits.max_answer_bytes)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        super().__init__(
            session=session,
            session_owner=True,
            connection_timeout=limits.connect_seconds,
            read_timeout=limits.read_seconds,
        )
        self.watch = watch

    def sleep(self, duration: float) -> None:  # noqa: D102 - a retry's backoff
        time.sleep(min(duration, self.watch.remaining()))
        self.watch.remaining()


def _client_options(transport: _Transport, limits: UploadLimits, retry: type) -> dict[str, Any]:
    """Options of a storage client: the bounded transport, few short retries, no redirects."""
    return {
        "transport": transport,
        "retry_policy": retry(
            backoff=limits.retry_backoff_seconds,
            retry_total=limits.retries,
            random_jitter_range=limits.retry_backoff_seconds / 2,
        ),
        "permit_redirects": False,  # a redirect would take the SAS and the files elsewhere
        "api_version": API_VERSION,
    }


# -- uploads -------------------------------------------------------------------------------------


def upload_files(
    session_url: str,
    files: Sequence[UploadFile],
    hosts: UploadHosts,
    limits: UploadLimits = UploadLimits(),
) -> None:
    """Upload each file to the session's folder under its exact name; UploadError on failure.

    Everything is checked before the first byte leaves: the URL (SessionUrlRefused), the names
    (plain, distinct) and the sizes. Files go one after the other, each committed (flushed)
    only when its bytes add up to its size; the deadline covers all of them.
    """
    upload_to(hosts.check(session_url), files, limits)


def upload_to(
    session: SessionFolder, files: Sequence[UploadFile], limits: UploadLimits = UploadLimits()
) -> None:
    """upload_files to a folder already checked (UploadHosts.check)."""
    names = [f.name for f in files]
    for f in files:
        if not plain_file_name(f.name):
            raise UploadError(None, "invalidFileName", f"not a plain file name: {f.name!r}"[:200])
        if not isinstance(f.size, int) or isinstance(f.size, bool) or f.size < 0:
            raise UploadError(None, "invalidSize", f"not a size: {f.size!r}"[:100], f.name)
    if len(set(names)) != len(names):
        raise UploadError(None, "duplicateFileName", "a file name appears twice")
    if not 0 < limits.chunk_bytes <= 100 * MiB:
        raise ValueError("chunk_bytes must be between 1 byte and 100 MiB (upload_data's own chunk)")
    watch = _Watch(limits.deadline_seconds)
    transport = _Transport(watch, limits)
    try:
        for f in files:
            _upload_one(session, f, transport, limits, watch)
    finally:
        watch.cancel()
        transport.close()


def _upload_one(
    session: SessionFolder,
    f: UploadFile,
    transport: _Transport,
    limits: UploadLimits,
    watch: _Watch,
) -> None:
    try:
        if session.blob:
            _put_blob(session, f, transport, limits, watch)
        else:
            _gen2(session, f, transport, limits, watch)
    except UploadError:
        raise
    except _DeadlinePassed:
        raise UploadError(
            None,
            "deadlineExceeded",
            f"the upload did not finish within {limits.deadline_seconds:g} s",
            f.name,
            where=session.origin,
            transient=True,
        ) from None
    except _AnswerTooLarge as too_large:
        raise UploadError(
            too_large.status,
            "answerTooLarge",
            f"the answer's body exceeded {limits.max_answer_bytes} bytes",
            f.name,
            where=session.origin,
        ) from None
    except HttpResponseError as refused:
        raise _refusal(refused, f.name, session.origin) from None
    except AzureError as failure:  # no answer (its text holds the URL: not repeated)
        raise _no_answer(failure, f.name, session.origin, limits) from None


def _gen2(
    session: SessionFolder,
    f: UploadFile,
    transport: _Transport,
    limits: UploadLimits,
    watch: _Watch,
) -> None:
    """Path - Create, Path - Update append per chunk, flush at the size (If-Match the create)."""
    from azure.storage.filedatalake import ContentSettings, DataLakeFileClient, LinearRetry

    client = DataLakeFileClient(
        # scheme://host[:port] alone: given a path, the SDK takes it as part of the host for
        # IP-style and other non-Azure hosts and drops it for *.core.* hosts; this way both
        # kinds of URL address /{fileSystem}/{folder}/{name} alike.
        f"{session.scheme}://{session.netloc}",
        session.file_system,
        session.path_of(f.name),
        credential=session.sas,
        **_client_options(transport, limits, LinearRetry),
    )
    created = client.create_file()
    position = 0
    chunks = _chunks(f, limits.chunk_bytes, watch)
    while (chunk := next(chunks, None)) is not None:
        client.append_data(chunk, offset=position, length=len(chunk))
        position += len(chunk)
        del chunk  # before the next one is read
    watch.remaining()
    client.flush_data(
        position,
        content_settings=ContentSettings(content_type=EXCEL_CSV),
        close=True,
        etag=created["etag"],
        match_condition=MatchConditions.IfNotModified,
    )


def _put_blob(
    session: SessionFolder,
    f: UploadFile,
    transport: _Transport,
    limits: UploadLimits,
    watch: _Watch,
) -> None:
    """A block blob: one Put Blob up to a chunk, else Put Block per chunk and Put Block List."""
    from azure.storage.blob import BlobClient, BlobType, ContentSettings, LinearRetry

    client = BlobClient(
        f"{session.scheme}://{session.netloc}",
        session.file_system,
        session.path_of(f.name),
        credential=session.sas,
        **_client_options(transport, limits, LinearRetry),
    )
    content = ContentSettings(content_type=EXCEL_CSV)
    if f.size <= limits.chunk_bytes:
        data = b"".join(_chunks(f, limits.chunk_bytes, watch))
        client.upload_blob(
            data,
            length=len(data),
            blob_type=BlobType.BLOCKBLOB,
            overwrite=True,
            content_settings=content,
        )
        return
    blocks: list[str] = []
    chunks = _chunks(f, limits.chunk_bytes, watch)
    while (chunk := next(chunks, None)) is not None:
        block_id = base64.b64encode(f"{len(blocks):08d}".encode()).decode()
        client.stage_block(block_id, chunk, length=len(chunk))
        blocks.append(block_id)
        del chunk
    watch.remaining()
    client.commit_block_list(blocks, content_settings=content)


def _chunks(f: UploadFile, chunk_bytes: int, watch: _Watch) -> Iterator[bytes]:
    """The file's bytes in chunks of `chunk_bytes` (the last shorter); UploadError on a size
    mismatch, raised before the excess is sent or, when short, before the flush."""
    pending = bytearray()
    total = 0
    for piece in _source(f):
        watch.remaining()
        if not isinstance(piece, bytes | bytearray | memoryview):
            raise UploadError(None, "invalidChunk", f"a chunk is {type(piece).__name__}", f.name)
        total += len(piece)
        if total > f.size:
            raise _size_mismatch(f, f"more than {f.size} bytes")
        if not pending and len(piece) == chunk_bytes:
            yield bytes(piece)
            continue
        pending += piece
        while len(pending) >= chunk_bytes:
            if len(pending) == chunk_bytes:
                chunk, pending = bytes(pending), bytearray()
            else:
                with memoryview(pending) as view:
                    chunk = bytes(view[:chunk_bytes])  # one copy, not two
                del pending[:chunk_bytes]
            yield chunk
            del chunk  # the consumer holds the only reference: one chunk in memory, not two
    if total != f.size:
        raise _size_mismatch(f, f"{total} bytes, not {f.size}")
    if pending:
        yield bytes(pending)


def _source(f: UploadFile) -> Iterator[Any]:
    """The caller's chunks; its own failures (reading the snapshot) as UploadError sourceFailed."""
    try:
        source = iter(f.chunks())
    except Exception as failure:  # noqa: BLE001 - any failure of the source ends this upload
        raise _source_failed(f, failure) from None
    while True:
        try:
            piece = next(source)
        except StopIteration:
            return
        except Exception as failure:  # noqa: BLE001
            raise _source_failed(f, failure) from None
        yield piece


def _source_failed(f: UploadFile, failure: Exception) -> UploadError:
    return UploadError(
        None,
        "sourceFailed",
        f"reading the file failed: {type(failure).__name__}: {failure}",
        f.name,
        transient=True,
    )


def _size_mismatch(f: UploadFile, detail: str) -> UploadError:
    return UploadError(None, "sizeMismatch", f"the source gave {detail}; nothing flushed", f.name)


def _no_answer(failure: AzureError, name: str, origin: str, limits: UploadLimits) -> UploadError:
    """UploadError of a call that got no answer, after its retries: timeout or unreachable."""
    if isinstance(failure, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        what = f"no answer within {limits.read_seconds:g} s ({limits.retries} retries)"
        return UploadError(None, "timeout", what, name, where=origin, transient=True)
    if isinstance(failure, ServiceResponseError):
        what = f"the connection broke before the answer ({limits.retries} retries)"
    elif isinstance(failure, ServiceRequestError):
        what = f"no connection could be made ({limits.retries} retries)"
    else:
        what = f"the answer could not be read ({type(failure).__name__})"
    return UploadError(None, "unreachable", what, name, where=origin, transient=True)


def _refusal(error: HttpResponseError, name: str, origin: str) -> UploadError:
    """UploadError of a storage answer: status, x-ms-error-code, the message (JSON or XML body)."""
    response = error.response
    status = getattr(error, "status_code", None) or (response.status_code if response else None)
    headers = response.headers if response is not None else {}
    code = str(headers.get("x-ms-error-code") or getattr(error, "error_code", None) or "")
    try:
        body = bytes(response.content) if response is not None else b""
    except Exception:  # noqa: BLE001 - an answer without a readable body
        body = b""
    message, body_code = _storage_message(body)
    code = (code or body_code or f"HTTP{status}")[:100]
    transient = status is not None and (
        status in (408, 429) or (status >= 500 and status not in (501, 505))
    )
    return UploadError(status, code, message, name, where=origin, transient=transient)


def _storage_message(body: bytes) -> tuple[str, str]:
    """(first line of the message, code) of a Gen2 JSON or a Blob XML error body."""
    text = body.decode("utf-8", "replace").strip()
    message, code = "", ""
    if text.startswith("{"):
        try:
            error = json.loads(text).get("error") or {}
            message, code = str(error.get("message") or ""), str(error.get("code") or "")
        except (ValueError, AttributeError):
            message = text
    elif text.startswith("<"):
        try:
            root = ElementTree.fromstring(text)
            message, code = root.findtext("Message") or "", root.findtext("Code") or ""
        except ElementTree.ParseError:
            message = text
    else:
        message = text
    return message.strip().splitlines()[0] if message.strip() else "", code
