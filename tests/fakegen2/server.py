"""A local Azure Data Lake Storage Gen2 endpoint over real HTTP on loopback: upload sessions.

Azurite has no Gen2 (dfs) endpoint, so this stand-in answers the three calls an upload makes, as
the ADLS Gen2 REST reference documents them, and fails every request that breaks them (a recorded
violation; tests assert `violations == []`):

- `PUT {fs}/{path}?resource=file` (Path - Create): 201, an empty file, overwriting one that
  exists unless `If-None-Match: *`.
- `PATCH {fs}/{path}?action=append&position=N` (Path - Update, Append Data): 202; the bytes are
  held uncommitted; N is where they go.
- `PATCH {fs}/{path}?action=flush&position=N` (Path - Update, Flush Data): 200; N is the file's
  length after every append; commits.
- `HEAD` and `GET` (Path - Get Properties, Path - Read) of committed files, for completeness.

Sources, cited as [name] below:
[Path-Create] https://learn.microsoft.com/rest/api/storageservices/datalakestoragegen2/path/create
[Path-Update] https://learn.microsoft.com/rest/api/storageservices/datalakestoragegen2/path/update
[Errors] the "Other Status Codes" list (DataLakeStorageError: status, code, message) of those pages
[SAS] https://learn.microsoft.com/rest/api/storageservices/create-service-sas (sr=d, sdd, sp, se)
[Postman] OfficeDev/O365-EDU-Tools, "EDU Graph - Postman/EDU Graph - industryData - SDS.postman_
  collection.json", "File Upload Flow": host and SAS from `sessionUrl`, then PUT `?{SAS}&resource=
  file`, PATCH `?{SAS}&position=0&action=append`, PATCH `?{SAS}&position={length}&action=flush`
  at `/{tenantId}/{dataConnectorId}/{containerId}/{file}`
[ADF] same repository, CustomSolutions/SDS_ADF_ETL_Integrations/*/..._template.json: an
  `AzureBlobFS` (Gen2) linked service on the session's SAS URI, file system = tenant id, folder
  = `{dataConnectorId}/{containerId}`
[Essella] Essella/Somtoday2MicrosoftSDS: Put Blob to the session answered `400
  InvalidHeaderValue` (commit baafb80, test FailedFileUploadStopsBeforeValidation), then the
  exporter switched to create/append/flush (commit a8eafdd, docs/contracts/PUBLICATION.md)

Sessions are `http://127.0.0.1:{port}/{tenant}/{connector}/{container}?{SAS}`, the shape of
[Postman] and [ADF] with the account's host replaced by this server (no account segment: the
adapter hands the SDK `scheme://host:port` and the path separately, see sds_app/graph/upload.py).
The SAS is this server's own, HMAC-signed, with the fields of a directory SAS [SAS]: `sv`, `sr=d`,
`sdd` (the folder's depth), `sp` (permissions), `se` (expiry), `spr`, `sig`. Tests script
failures with `faults` (5xx, 403, slow or trickling answers, oversized error bodies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

SAS_VERSION = "2023-11-03"
READ_PIECE = 1 << 20  # request bodies are read in pieces of 1 MiB, never whole
# [Path-Create] "filesystem" regex pattern
FILE_SYSTEM = re.compile(r"^[$a-z0-9](?!.*--)[-a-z0-9]{1,61}[a-z0-9]$")
SAS_KEYS = ("sv", "sr", "sdd", "sp", "se", "spr", "sig")
# Query parameters [Path-Create] and [Path-Update] document for the calls served here.
KNOWN_QUERY = {"resource", "action", "position", "close", "retainUncommittedData", "timeout"}
# [Errors]: the documented message of each code this server answers.
MESSAGES = {
    "AuthenticationFailed": "Server failed to authenticate the request. Make sure the value of "
    "Authorization header is formed correctly including the signature.",
    "AuthorizationFailure": "This request is not authorized to perform this operation.",
    "AuthorizationPermissionMismatch": "This request is not authorized to perform this operation "
    "using this permission.",
    "ConditionNotMet": "The condition specified using HTTP conditional header(s) is not met.",
    "ContentLengthMustBeZero": "The Content-Length request header must be zero.",
    "InternalError": "The server encountered an internal error. Please retry the request.",
    "InvalidAuthenticationInfo": "Authentication information is not given in the correct format. "
    "Check the value of Authorization header.",
    "InvalidFlushPosition": "The uploaded data is not contiguous or the position query parameter "
    "value is not equal to the length of the file after appending the uploaded data.",
    "InvalidHeaderValue": "The value for one of the HTTP headers is not in the correct format.",
    "InvalidQueryParameterValue": "Value for one of the query parameters specified in the "
    "request URI is invalid.",
    "InvalidResourceName": "The specified resource name contains invalid characters.",
    "MissingRequiredHeader": "An HTTP header that's mandatory for this request is not specified.",
    "MissingRequiredQueryParameter": "A query parameter that's mandatory for this request is not "
    "specified.",
    "PathAlreadyExists": "The specified path already exists.",
    "PathNotFound": "The specified path does not exist.",
    "ServerBusy": "The server is currently unable to receive requests. Please retry your request.",
    "UnsupportedHttpVerb": "The resource doesn't support the specified HTTP verb.",
    "UnsupportedQueryParameter": "One of the query parameters specified in the request URI is "
    "not supported.",
}
DEFAULT_CODES = {400: "InvalidInput", 403: "AuthenticationFailed", 404: "PathNotFound"}
DEFAULT_CODES |= {409: "PathAlreadyExists", 500: "InternalError", 503: "ServerBusy"}


@dataclass
class Fault:
    """An answer given instead of the documented one, `times` times, to requests that match.

    `action` is create, append, flush, read or `*`; `status` None keeps the documented answer
    (after `delay`). `trickle` > 0 sends the answer's body (`body_bytes`, default 1 MB) one byte
    per `trickle` seconds: every socket read gets a byte in time, so only a whole-call deadline
    ends it. `body_bytes` also pads an error body, for clients that must bound what they read.
    """

    action: str
    status: int | None = None
    code: str = ""
    delay: float = 0.0
    trickle: float = 0.0
    body_bytes: int = 0
    name: str | None = None
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)  # added to the answer (e.g. Location)


@dataclass
class Recorded:
    """One request the server received (the SAS signature left out)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_bytes: int
    status: int = 0
    code: str = ""


@dataclass
class _File:
    """A path's state: committed length and digest, appended bytes not yet flushed."""

    keep: bool
    etag: str = field(default_factory=lambda: f'"0x{secrets.token_hex(8).upper()}"')
    committed: bytearray = field(default_factory=bytearray)
    committed_length: int = 0
    committed_digest: str = hashlib.sha256().hexdigest()
    appended: bytearray = field(default_factory=bytearray)
    appended_length: int = 0
    running: Any = field(default_factory=hashlib.sha256)  # over committed + appended bytes
    content_type: str | None = None
    last_modified: str = field(default_factory=lambda: formatdate(usegmt=True))


@dataclass
class _Answer:
    status: int
    code: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pad: int = 0  # spaces written before the body's last `tail` bytes, in pieces
    tail: int = 0


class _Refusal(Exception):
    def __init__(self, status: int, code: str, detail: str = "", violation: str = "") -> None:
        super().__init__(code)
        self.status, self.code, self.detail, self.violation = status, code, detail, violation


class FakeGen2:
    """State and behaviour of the stand-in; `start()` serves it, `stop()` ends it."""

    def __init__(self, violations: list[str] | None = None) -> None:
        self.key = secrets.token_bytes(32)
        self.lock = threading.RLock()
        self.sessions: dict[str, bool] = {}  # folder "/fs/a/b" -> keep the bytes (else digests)
        self.paths: dict[str, _File] = {}  # "/fs/a/b/name" -> state
        self.requests: list[Recorded] = []
        self.violations = [] if violations is None else violations  # shared with fakegraph's
        self.faults: list[Fault] = []
        self.connections = 0  # TCP connections accepted: "no byte sent" means none
        self.received_bytes = 0  # request body bytes read
        self.server: ThreadingHTTPServer | None = None
        self.stopping = threading.Event()

    # -- serving ---------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free loopback port; the endpoint (scheme and authority)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                fake.handle(self)

            do_GET = do_HEAD = do_PUT = do_PATCH = do_POST = do_DELETE = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with fake.lock:
                    fake.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.endpoint

    @property
    def endpoint(self) -> str:
        """http://127.0.0.1:{port}."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def host(self) -> str:
        """127.0.0.1:{port}, as SDS_UPLOAD_HOSTS lists it."""
        return self.endpoint.removeprefix("http://")

    def stop(self) -> None:
        """Stop serving (trickling answers end too)."""
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- the Python API for tests ----------------------------------------------------------------

    def new_session(
        self,
        tenant: str,
        connector: str,
        container: str,
        ttl: timedelta = timedelta(hours=1),
        permissions: str = "rcwl",
        keep_bytes: bool = True,
    ) -> str:
        """A session URL as getUploadSession gives one: the folder and a SAS scoped to it.

        `keep_bytes=False` keeps only each file's length and SHA-256 (for uploads of hundreds of
        MB measured in the test's own process); `files()` then refuses, `digests()` answers.
        """
        segments = [tenant, connector, container]
        if not FILE_SYSTEM.match(tenant) or not all(segments):
            raise ValueError(f"not a session folder: {segments}")
        folder = "/" + "/".join(segments)
        expiry = (datetime.now(UTC) + ttl).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = {"sv": SAS_VERSION, "sr": "d", "sdd": str(len(segments) - 1), "sp": permissions}
        fields |= {"se": expiry, "spr": "https,http"}
        fields["sig"] = self._signature(fields, folder)
        with self.lock:
            self.sessions[folder] = keep_bytes
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
        return f"{self.endpoint}{quote(folder)}?{query}"

    def files(self, session_url: str) -> dict[str, bytes]:
        """The committed bytes of each file of a session's folder (a created file has b"" until
        a flush commits what was appended), by its path inside the folder."""
        folder = self._folder_of(session_url)
        with self.lock:
            if not self.sessions.get(folder, True):
                raise ValueError("this session keeps digests only: use digests()")
            return {
                path[len(folder) + 1 :]: bytes(f.committed)
                for path, f in self.paths.items()
                if path.startswith(folder + "/")
            }

    def digests(self, session_url: str) -> dict[str, tuple[int, str]]:
        """(length, SHA-256 hex) of each committed file of a session's folder."""
        folder = self._folder_of(session_url)
        with self.lock:
            return {
                path[len(folder) + 1 :]: (f.committed_length, f.committed_digest)
                for path, f in self.paths.items()
                if path.startswith(folder + "/")
            }

    def calls(self, action: str) -> list[Recorded]:
        """The requests of one action (create, append, flush, read, putBlob, other)."""
        with self.lock:
            return [r for r in self.requests if _action(r.method, r.query, r.headers) == action]

    @staticmethod
    def _folder_of(session_url: str) -> str:
        return unquote(urlsplit(session_url).path).rstrip("/")

    # -- one request -----------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        """Answer one request; its body is always read (in pieces) so the connection stays sound."""
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in h.headers.items()}
        record = Recorded(
            h.command,
            unquote(parts.path),
            {k: v for k, v in query.items() if k != "sig"},
            {k: v for k, v in headers.items() if k != "authorization"}
            | ({"authorization": "(present)"} if "authorization" in headers else {}),
            0,
        )
        with self.lock:
            self.requests.append(record)
        answer, trickle = self._answer(h, record, query, headers)
        record.status, record.code = answer.status, answer.code
        self._send(h, answer, trickle)

    def _answer(
        self,
        h: BaseHTTPRequestHandler,
        record: Recorded,
        query: dict[str, str],
        headers: dict[str, str],
    ) -> tuple[_Answer, Fault | None]:
        action = _action(record.method, query, headers)
        length = headers.get("content-length")
        try:
            file_path = self._check(record, query, headers, action, length)
            fault = self._fault(action, record.path)
            if fault is not None and fault.delay:
                self.stopping.wait(fault.delay)
            if fault is not None and fault.status is not None:
                self._drain(h, length, record)
                code = fault.code or DEFAULT_CODES.get(fault.status, f"HTTP{fault.status}")
                answer = self._error(fault.status, code, "", fault.body_bytes)
                answer.headers |= fault.headers
                if fault.trickle:
                    answer.body = b""
                return answer, (fault if fault.trickle else None)
            answer = self._operation(h, record, query, headers, action, length, file_path)
            return answer, fault if fault is not None and fault.trickle else None
        except _Refusal as refusal:
            self._drain(h, length, record)
            if refusal.violation:
                with self.lock:
                    self.violations.append(f"{record.method} {record.path}: {refusal.violation}")
            return self._error(refusal.status, refusal.code, refusal.detail), None

    def _check(
        self,
        record: Recorded,
        query: dict[str, str],
        headers: dict[str, str],
        action: str,
        length: str | None,
    ) -> str:
        """The request's file path once the protocol, the SAS and the path are in order."""
        if "x-ms-version" not in headers:
            # [Errors] 400 MissingRequiredHeader; every Gen2 request names its REST version.
            raise _Refusal(400, "MissingRequiredHeader", "x-ms-version", "no x-ms-version")
        if "authorization" in headers:
            # The session's SAS is the only credential: a token here was meant for someone else.
            raise _Refusal(
                400, "InvalidAuthenticationInfo", "", "an Authorization header was sent to storage"
            )
        if action == "putBlob":
            # [Essella]: Put Blob (x-ms-blob-type, or PUT without resource=file) to the session
            # is answered 400 InvalidHeaderValue. [Postman] also sends x-ms-blob-type with
            # resource=file; whether the service ignores it there is not known: refused here too.
            raise _Refusal(400, "InvalidHeaderValue", "x-ms-blob-type", "Put Blob (not Gen2)")
        unknown = sorted(set(query) - KNOWN_QUERY - set(SAS_KEYS))
        if unknown:
            raise _Refusal(400, "UnsupportedQueryParameter", unknown[0], f"query {unknown}")
        segments = record.path.split("/")[1:]
        if len(segments) < 2 or not all(segments) or any(s in (".", "..") for s in segments):
            raise _Refusal(400, "InvalidResourceName", "", f"not a file path: {record.path}")
        if not FILE_SYSTEM.match(segments[0]):
            raise _Refusal(400, "InvalidResourceName", "", f"not a file system: {segments[0]}")
        self._authorize(query, segments, action)
        if action == "other":
            raise _Refusal(405, "UnsupportedHttpVerb", "", f"not an upload call: {record.method}")
        if length is None and action in ("create", "append", "flush"):
            # [Path-Update] Content-Length: "Required for Append Data and Flush Data".
            raise _Refusal(400, "MissingRequiredHeader", "Content-Length", "no Content-Length")
        return record.path

    def _authorize(self, query: dict[str, str], segments: list[str], action: str) -> None:
        """[SAS] a directory SAS: signed for the folder of depth `sdd`, before `se`, with `sp`."""
        if any(k not in query for k in SAS_KEYS) or query.get("sr") != "d":
            raise _Refusal(403, "AuthenticationFailed", "no SAS of this server")
        depth = query["sdd"]
        if not depth.isdigit() or len(segments) < int(depth) + 2:
            raise _Refusal(403, "AuthenticationFailed", "the path is not inside the SAS's folder")
        folder = "/" + "/".join(segments[: int(depth) + 1])
        fields = {k: query[k] for k in SAS_KEYS if k != "sig"}
        if not hmac.compare_digest(self._signature(fields, folder), query["sig"]):
            # Outside the SAS's folder the signature does not match either: that is how a
            # directory SAS confines its holder [SAS].
            raise _Refusal(403, "AuthenticationFailed", "Signature did not match.")
        try:
            expiry = datetime.strptime(query["se"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _Refusal(403, "AuthenticationFailed", "se is not a date") from None
        if datetime.now(UTC) >= expiry:
            raise _Refusal(
                403,
                "AuthenticationFailed",
                f"Signature not valid in the specified time frame: Expiry [{query['se']}]",
            )
        # [SAS] permissions: create (c) or write (w) makes a file, add (a) or write appends,
        # write flushes, read (r) reads.
        needed = {"create": "cw", "append": "aw", "flush": "w", "read": "r"}.get(action, "")
        if needed and not set(needed) & set(query["sp"]):
            raise _Refusal(403, "AuthorizationPermissionMismatch")

    def _fault(self, action: str, path: str) -> Fault | None:
        name = path.rsplit("/", 1)[-1]
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.action in ("*", action) and fault.name in (None, name):
                    fault.times -= 1
                    return fault
        return None

    def _operation(
        self,
        h: BaseHTTPRequestHandler,
        record: Recorded,
        query: dict[str, str],
        headers: dict[str, str],
        action: str,
        length: str | None,
        path: str,
    ) -> _Answer:
        if action == "create":
            return self._create(record, query, headers, length, path)
        if action == "append":
            return self._append(h, record, query, length, path)
        if action == "flush":
            return self._flush(record, query, headers, length, path)
        return self._read(record, path)

    def _create(
        self,
        record: Recorded,
        query: dict[str, str],
        headers: dict[str, str],
        length: str | None,
        path: str,
    ) -> _Answer:
        """[Path-Create] 201; the destination is overwritten unless If-None-Match: "*"."""
        if query.get("resource") != "file":
            raise _Refusal(400, "InvalidQueryParameterValue", "resource", "resource is not file")
        if length != "0":
            raise _Refusal(400, "ContentLengthMustBeZero", "", "a body on Path - Create")
        with self.lock:
            if headers.get("if-none-match") == "*" and path in self.paths:
                raise _Refusal(409, "PathAlreadyExists")
            keep = self._keep(path)
            f = self.paths[path] = _File(keep=keep)
            f.content_type = headers.get("x-ms-content-type")
        return _Answer(201, headers=self._file_headers(f))

    def _keep(self, path: str) -> bool:
        for folder, keep in self.sessions.items():
            if path.startswith(folder + "/"):
                return keep
        return True

    def _position(self, query: dict[str, str]) -> int:
        position = query.get("position")
        if position is None:
            # [Path-Update] position "is required when uploading data to be appended to the file
            # and when flushing previously uploaded data to the file".
            raise _Refusal(400, "MissingRequiredQueryParameter", "position", "no position")
        if not position.isdigit():
            raise _Refusal(400, "InvalidQueryParameterValue", "position", "position not a number")
        return int(position)

    def _append(
        self,
        h: BaseHTTPRequestHandler,
        record: Recorded,
        query: dict[str, str],
        length: str | None,
        path: str,
    ) -> _Answer:
        """[Path-Update] Append Data: 202; the data must go where the appended data ends."""
        position = self._position(query)
        if length is None or not length.isdigit():
            raise _Refusal(400, "InvalidHeaderValue", "Content-Length", "Content-Length")
        with self.lock:
            f = self.paths.get(path)
            if f is None:
                raise _Refusal(404, "PathNotFound", "", "append before create")
            end = f.committed_length + f.appended_length
            if position != end:
                raise _Refusal(
                    400, "InvalidFlushPosition", "", f"append at {position}, data ends at {end}"
                )
        size = int(length)
        received = 0
        digest = f.running.copy()
        piece_store = bytearray() if f.keep else None
        while received < size:
            piece = h.rfile.read(min(READ_PIECE, size - received))
            if not piece:
                break
            received += len(piece)
            digest.update(piece)
            if piece_store is not None:
                piece_store += piece
        with self.lock:
            record.body_bytes = received
            self.received_bytes += received
            if received < size:  # the client went away: nothing appended
                h.close_connection = True
                return _Answer(400, "InvalidInput", "the body ended early")
            f.running = digest
            f.appended_length += received
            if piece_store is not None:
                f.appended += piece_store
        return _Answer(202, headers={"x-ms-request-server-encrypted": "true"})

    def _flush(
        self,
        record: Recorded,
        query: dict[str, str],
        headers: dict[str, str],
        length: str | None,
        path: str,
    ) -> _Answer:
        """[Path-Update] Flush Data: 200; position = the length after all appends, no body."""
        position = self._position(query)
        if length != "0":
            # [Path-Update] Content-Length "Must be 0 for Flush Data".
            raise _Refusal(400, "ContentLengthMustBeZero", "", "a body on Flush Data")
        with self.lock:
            f = self.paths.get(path)
            if f is None:
                raise _Refusal(404, "PathNotFound", "", "flush before create")
            if "if-match" in headers and headers["if-match"] != f.etag:
                raise _Refusal(412, "ConditionNotMet")
            end = f.committed_length + f.appended_length
            if position != end:
                raise _Refusal(
                    400, "InvalidFlushPosition", "", f"flush at {position}, data ends at {end}"
                )
            if f.keep:
                f.committed += f.appended
            f.appended = bytearray()
            f.committed_length, f.appended_length = end, 0
            f.committed_digest = f.running.hexdigest()
            f.content_type = headers.get("x-ms-content-type", f.content_type)
            f.etag = f'"0x{secrets.token_hex(8).upper()}"'
            f.last_modified = formatdate(usegmt=True)
            return _Answer(200, headers=self._file_headers(f))

    def _read(self, record: Recorded, path: str) -> _Answer:
        """Path - Get Properties (HEAD) and Path - Read (GET): a file's committed bytes."""
        with self.lock:
            f = self.paths.get(path)
            if f is None:
                raise _Refusal(404, "PathNotFound")
            headers = self._file_headers(f) | {"x-ms-resource-type": "file"}
            headers["Content-Type"] = f.content_type or "application/octet-stream"
            if record.method == "HEAD":
                return _Answer(200, headers=headers | {"Content-Length": str(f.committed_length)})
            if not f.keep:
                raise _Refusal(404, "PathNotFound", "", "this session keeps digests only")
            return _Answer(200, headers=headers, body=bytes(f.committed))

    @staticmethod
    def _file_headers(f: _File) -> dict[str, str]:
        return {"ETag": f.etag, "Last-Modified": f.last_modified}

    def _drain(self, h: BaseHTTPRequestHandler, length: str | None, record: Recorded) -> None:
        """Read and drop a refused request's body (up to 64 MiB, else the connection closes)."""
        size = int(length) if length and length.isdigit() else 0
        if size > 64 << 20:
            h.close_connection = True
            return
        left = size
        while left > 0:
            piece = h.rfile.read(min(READ_PIECE, left))
            if not piece:
                break
            left -= len(piece)
        with self.lock:
            record.body_bytes = size - left
            self.received_bytes += size - left

    def _error(self, status: int, code: str, detail: str = "", pad: int = 0) -> _Answer:
        """[Errors] DataLakeStorageError: {"error": {"code", "message"}}, x-ms-error-code."""
        message = MESSAGES.get(code, code)
        if detail:
            message += f" {detail}"
        message += f"\nRequestId:{uuid.uuid4()}\nTime:{datetime.now(UTC).isoformat()}"
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        headers = {"x-ms-error-code": code, "Content-Type": "application/json;charset=utf-8"}
        return _Answer(status, code, message, headers, body, pad=pad, tail=len(b'"}}'))

    def _send(self, h: BaseHTTPRequestHandler, answer: _Answer, trickle: Fault | None) -> None:
        body = b"" if h.command == "HEAD" else answer.body
        h.send_response(answer.status)
        h.send_header("x-ms-request-id", str(uuid.uuid4()))
        h.send_header("x-ms-version", SAS_VERSION)
        h.send_header("Date", formatdate(usegmt=True))
        for name, value in answer.headers.items():
            h.send_header(name, value)
        if trickle is not None:
            size = trickle.body_bytes or 1_000_000
            h.send_header("Content-Length", str(size))
            h.end_headers()
            self._trickle(h, size, trickle.trickle)
            return
        pad = answer.pad if body else 0
        if "Content-Length" not in answer.headers:
            h.send_header("Content-Length", str(len(body) + pad))
        h.end_headers()
        try:
            if pad:  # inside the message's string: the body stays JSON
                h.wfile.write(body[: -answer.tail])
                for sent in range(0, pad, 1 << 16):
                    h.wfile.write(b" " * min(1 << 16, pad - sent))
                h.wfile.write(body[-answer.tail :])
            else:
                h.wfile.write(body)
        except OSError:  # the client stopped reading (e.g. at its bound)
            h.close_connection = True

    def _trickle(self, h: BaseHTTPRequestHandler, size: int, interval: float) -> None:
        h.close_connection = True
        for _ in range(size):
            if self.stopping.is_set():
                return
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except OSError:  # the client gave up
                return
            time.sleep(interval)

    def _signature(self, fields: dict[str, str], folder: str) -> str:
        """HMAC-SHA256 over the SAS's fields and its folder: this server's own signing."""
        text = "\n".join([fields["sp"], fields["se"], folder, fields["sdd"], fields["sv"]])
        text += "\n" + fields["spr"] + "\n" + fields["sr"]
        return base64.b64encode(hmac.new(self.key, text.encode(), hashlib.sha256).digest()).decode()


def _action(method: str, query: dict[str, str], headers: dict[str, str]) -> str:
    """create, append, flush, read, putBlob or other: what a request asks for."""
    if method == "PUT":
        if "x-ms-blob-type" in headers or "resource" not in query:
            return "putBlob"
        return "create"
    if method == "PATCH":
        return {"append": "append", "flush": "flush"}.get(query.get("action", ""), "other")
    if method in ("GET", "HEAD"):
        return "read"
    return "other"
