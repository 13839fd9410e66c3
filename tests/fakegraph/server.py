"""A local Industry Data API (Graph beta) over real HTTP on loopback, for the forwarding tests.

It answers what industry-data.md documents, checks every request against the documented shapes
(paths in both documented spellings, bodies, `@odata.bind`, `fileFormat` codes, no body where
none is sent) and answers anything else with 400 and a recorded violation: tests assert
`violations == []`. Upload sessions are folders on a Data Lake Gen2 stand-in (tests/fakegen2,
`gen2`), `{endpoint}/{tenantId}/{connectorId}/{containerId}?{SAS}` as Microsoft's Postman
collection and Data Factory templates address them (OfficeDev/O365-EDU-Tools; Put Blob refused
there, as the real service refused it; its violations are this server's); at `validate` the
server reads the files the stand-in committed to the folder, and a run records the bytes of
every connector's last validated upload. Outcomes are scripted: `validations`, `runs` (queues of
outcomes) and `faults` (answers given instead of the documented one, e.g. 429 with Retry-After).
`references` are the tenant's code lists (GET referenceDefinitions), and `denied` withdraws
application permissions: a call that none of its permissions still allows answers 403 (the fake's
own table, PERMISSIONS).
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakegen2.server import FakeGen2


ROOT = "/beta/external/industryData"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # the session folders' file system
NS = "microsoft.graph.industryData."
FILE_FORMATS = ("schoolDataSyncV1", "schoolDataSyncV2Rev1")
ROLE_GROUPS = ("staff", "students")
REQUIRED_V1 = ("school.csv", "student.csv", "teacher.csv")
OPTIONAL_V1 = ("section.csv", "studentenrollment.csv", "teacherroster.csv")
# "SDS V2.1 CSV File Format": orgs, users and roles required; the others optional.
REQUIRED_V21 = ("orgs.csv", "users.csv", "roles.csv")
OPTIONAL_V21 = ("academicSessions.csv", "classes.csv", "courses.csv", "demographics.csv",
                "enrollments.csv", "relationships.csv", "userFlags.csv")
FILE_SETS = {"schoolDataSyncV1": (REQUIRED_V1, OPTIONAL_V1),
             "schoolDataSyncV2Rev1": (REQUIRED_V21, OPTIONAL_V21)}
_ID = r"(?:([A-Za-z0-9._~-]+)|\('([A-Za-z0-9._~-]+)'\))"  # /{id} or ('{id}') after a collection
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COLLECTIONS = ("sourceSystems", "dataConnectors", "years", "inboundFlows")
MAX_NAME = 100
SOURCE_IDENTIFIERS = ("username", "email", "activeDirectory")
MATCH_TARGETS = ("userPrincipalName", "mail")
# Which application permissions allow each call: industry-data.md "Permissions" (least
# privileged), with the higher ones each page lists. Lists: a collection's Read and ReadWrite;
# referenceDefinitions: IndustryData.ReadBasic.All, higher ReferenceDefinition.ReadWrite.All
# (api-reference/beta/includes/permissions/industrydata-referencedefinition-list-permissions.md).
# Kept here on purpose, not imported from the app: the stand-in must not agree by construction.
PERMISSIONS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("GET", r"runs/[^/]+/(?:microsoft\.graph\.industryData\.)?getStatistics",
     frozenset({"IndustryData-Run.Read.All"})),
    ("POST", r"runs/(?:microsoft\.graph\.industryData\.)?start", frozenset({"IndustryData-Run.Start"})),
    ("GET", r"runs", frozenset({"IndustryData-Run.Read.All"})),
    ("GET", r"operations", frozenset({"IndustryData.ReadBasic.All"})),
    ("GET", r"referenceDefinitions$", frozenset({"IndustryData.ReadBasic.All",
                                                 "IndustryData-ReferenceDefinition.ReadWrite.All"})),
    ("*", r"dataConnectors.*/(?:.*\.)?(?:[gG]etUploadSession|validate)",
     frozenset({"IndustryData-DataConnector.ReadWrite.All"})),
    ("GET", r"dataConnectors", frozenset({"IndustryData-DataConnector.Read.All",
                                          "IndustryData-DataConnector.ReadWrite.All"})),
    ("*", r"dataConnectors", frozenset({"IndustryData-DataConnector.ReadWrite.All"})),
    ("GET", r"sourceSystems", frozenset({"IndustryData-SourceSystem.Read.All",
                                         "IndustryData-SourceSystem.ReadWrite.All"})),
    ("*", r"sourceSystems", frozenset({"IndustryData-SourceSystem.ReadWrite.All"})),
    ("GET", r"years", frozenset({"IndustryData-TimePeriod.Read.All",
                                 "IndustryData-TimePeriod.ReadWrite.All"})),
    ("*", r"years", frozenset({"IndustryData-TimePeriod.ReadWrite.All"})),
    ("GET", r"inboundFlows", frozenset({"IndustryData-InboundFlow.Read.All",
                                        "IndustryData-InboundFlow.ReadWrite.All"})),
    ("*", r"inboundFlows", frozenset({"IndustryData-InboundFlow.ReadWrite.All"})),
)
LISTED = ("sourceSystems", "dataConnectors", "years", "inboundFlows", "referenceDefinitions")
_PATCHABLE = {
    "sourceSystems": frozenset({"userMatchingSettings", "vendor"}),
    "dataConnectors": frozenset({"displayName"}),
    "inboundFlows": frozenset({"displayName", "effectiveDateTime", "expirationDateTime"}),
}


@dataclass
class ValidationOutcome:
    """What a validate operation ends with (None errors: the server checks the v1 file set)."""

    status: str = "succeeded"
    errors: list[dict[str, Any]] | None = None
    warnings: list[dict[str, Any]] | None = None
    running_polls: int = 1  # GETs answered `running` before the end


@dataclass
class RunOutcome:
    """What a run ends with."""

    status: str = "completed"
    running_polls: int = 1
    blocking_error: dict[str, Any] | None = None
    errors: int = 0
    warnings: int = 0


@dataclass
class Fault:
    """An answer given instead of the documented one, `times` times, to requests that match."""

    method: str
    path: str  # regex searched in the request path
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    times: int = 1


def public_error(code: str, message: str, target: str) -> dict[str, Any]:
    """A publicError as the operation documents them."""
    return {"code": code, "details": [], "innerError": None, "message": message, "target": target}


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


class FakeIndustryData:
    """State and behaviour of the fake; `start()` serves it, `stop()` ends it."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token  # when set, requests must carry `Authorization: Bearer {token}`
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        self.sessions: dict[str, dict[str, Any]] = {}  # connector id -> current session
        self.session_requests: list[tuple[str, str]] = []  # (connector id, resetSession)
        self.validations: deque[ValidationOutcome] = deque()
        self.runs_script: deque[RunOutcome] = deque()
        self.faults: list[Fault] = []
        self.operations: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.validated: dict[
            str, dict[str, bytes]
        ] = {}  # connector id -> files of its last good upload
        self.uploads: list[
            dict[str, Any]
        ] = []  # every validated upload: connector, files, operation
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        # Where upload sessions are (started and stopped with this server, its violations ours).
        self.gen2 = FakeGen2(violations=self.violations)
        self.expire_sessions = False  # hand out sessions whose SAS has already expired
        self.location_style = "external"  # validate's Location: external | resourceLocation | id
        self.page_size = 100
        self.start_style = "operation"  # runs/start: operation | unnamed | none | failed
        self.start_running_polls = 1  # GETs of a start operation answered `running` first
        self.start_resource_location: str | None = None  # a start operation's answer instead
        self.graph_host_locations = False  # Locations on graph.microsoft.com, as Microsoft's are
        self.start_operations: dict[str, dict[str, Any]] = {}
        self.slow: dict[str, float] = {}  # "METHOD path" regex -> seconds before answering
        self.started_runs: list[str | None] = []  # each runs/start accepted: its run (or None)
        self.references: list[dict[str, Any]] = default_references()  # GET referenceDefinitions
        self.denied: set[str] = set()  # application permissions the app's identity lacks
        self.server: ThreadingHTTPServer | None = None

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

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        self.gen2.start()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.endpoint

    @property
    def endpoint(self) -> str:
        """http://127.0.0.1:{port}."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving (the Gen2 stand-in too)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.gen2.stop()

    # -- helpers for tests -----------------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        """Requests with this method whose path matches `pattern`."""
        with self.lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def add(self, collection: str, obj: dict[str, Any]) -> str:
        """Put an object in place as if created earlier (a tenant set up in the portal)."""
        object_id = obj.get("id") or str(uuid.uuid4())
        with self.lock:
            self.objects[collection][object_id] = {**obj, "id": object_id}
        return object_id

    def connector_setup(self, name: str = "CSV connector") -> dict[str, str]:
        """Source system, connector, year and flow as a portal would leave them; their ids."""
        source = self.add(
            "sourceSystems", {"displayName": f"{name} source", "userMatchingSettings": []}
        )
        connector = self.add(
            "dataConnectors",
            {
                "@odata.type": f"#{NS}azureDataLakeConnector",
                "displayName": name,
                "sourceSystemId": source,
                "fileFormat": {"code": "schoolDataSyncV1"},
            },
        )
        year = self.add(
            "years",
            {
                "displayName": "School year",
                "startDate": "2026-08-01",
                "endDate": "2027-07-31",
                "year": {"code": "2026"},
            },
        )
        flow = self.add(
            "inboundFlows",
            {
                "@odata.type": f"#{NS}inboundFileFlow",
                "displayName": name,
                "dataConnectorId": connector,
                "yearId": year,
                "dataDomain": "educationRostering",
                "readinessStatus": "ready",
            },
        )
        return {
            "connectorId": connector,
            "sourceSystemId": source,
            "yearId": year,
            "inboundFlowId": flow,
        }

    def add_reference(self, reference_type: str, code: str, sort_index: int,
                      disabled: bool = False, source: str = "Contoso") -> None:
        """A code the tenant added to one of its lists (or `disabled`: one it turned off)."""
        with self.lock:
            self.references = [r for r in self.references if r["id"] != f"{reference_type}-{code}"]
            self.references.append(reference(reference_type, code, sort_index, disabled, source))

    def left_over(self) -> dict[str, list[str]]:
        """The ids of every object in the tenant, by collection (empty lists when none)."""
        with self.lock:
            return {c: sorted(objects) for c, objects in self.objects.items()}

    # -- one request -----------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        """Answer one request."""
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        record = Recorded(
            h.command,
            parts.path,
            parse_qs(parts.query),
            body if raw else None,
            h.headers.get("Authorization"),
        )
        with self.lock:
            self.requests.append(record)
            status, headers, answer = self._answer(h, record, raw, bad_json)
        data = json.dumps(answer).encode() if answer is not None else b""
        h.send_response(status)
        h.send_header("request-id", str(uuid.uuid4()))
        for name, value in headers.items():
            h.send_header(name, value)
        if answer is not None:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _violation(self, record: Recorded, why: str) -> tuple[int, dict[str, str], Any]:
        self.violations.append(f"{record.method} {record.path}: {why}")
        return 400, {}, {"error": {"code": "BadRequest", "message": why}}

    def _answer(
        self, h: BaseHTTPRequestHandler, record: Recorded, raw: bytes, bad_json: bool
    ) -> tuple[int, dict[str, str], Any]:
        if self.token is not None and record.authorization != f"Bearer {self.token}":
            return (
                401,
                {},
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token is empty or invalid.",
                    }
                },
            )
        for pattern, seconds in self.slow.items():
            if re.search(pattern, f"{record.method} {record.path}"):
                self.lock.release()  # others are answered meanwhile
                try:
                    time.sleep(seconds)
                finally:
                    self.lock.acquire()
        for fault in self.faults:
            if (
                fault.times > 0
                and fault.method == record.method
                and re.search(fault.path, record.path)
            ):
                fault.times -= 1
                return fault.status, dict(fault.headers), fault.body
        if bad_json:
            return self._violation(record, "the body is not JSON")
        if not record.path.startswith(ROOT + "/"):
            return self._violation(record, f"not under {ROOT}")
        rest = record.path[len(ROOT) + 1 :]
        if self.denied and not self._allowed(record.method, rest):
            # Graph's answer to a token without the permission a call needs.
            return 403, {}, {"error": {"code": "Authorization_RequestDenied",
                                       "message": "Insufficient privileges to complete the operation."}}
        for pattern, method, action in self._routes():
            match = re.fullmatch(pattern, rest)
            if match and method == record.method:
                ids = [
                    a or b for a, b in zip(match.groups()[::2], match.groups()[1::2], strict=True)
                ]
                return action(record, raw, *ids)
        return self._violation(record, "no documented call has this method and path")

    def _allowed(self, method: str, rest: str) -> bool:
        """Whether a permission not denied allows the call (the first row of PERMISSIONS it fits)."""
        for verb, pattern, allowing in PERMISSIONS:
            if verb in ("*", method) and re.match(pattern, rest):
                return bool(allowing - self.denied)
        return True

    def _routes(self) -> list[tuple[str, str, Any]]:
        def one(c: str) -> str:
            return c + _ID.replace("(?:(", "(?:/(", 1)

        routes: list[tuple[str, str, Any]] = []
        for c in COLLECTIONS:
            routes += [
                (c, "POST", lambda r, raw, c=c: self._create(c, r)),
                (one(c), "GET", lambda r, raw, i, c=c: self._get(c, r, raw, i)),
                (one(c), "PATCH", lambda r, raw, i, c=c: self._patch(c, r, i)),
                (one(c), "DELETE", lambda r, raw, i, c=c: self._delete(c, r, raw, i)),
            ]
        routes += [(c, "GET", lambda r, raw, c=c: self._list(c, r, raw)) for c in LISTED]
        routes += [
            (
                one("dataConnectors")
                + rf"/{re.escape(NS)}azureDataLakeConnector/(?:get|Get)UploadSession(?:\(\))?",
                "GET",
                self._upload_session,
            ),
            (one("dataConnectors") + rf"/(?:{re.escape(NS)})?validate", "POST", self._validate),
            (one("operations"), "GET", self._operation),
            ("runs", "GET", self._list_runs),
            (rf"runs/(?:{re.escape(NS)})?start", "POST", self._start),
            (one("runs"), "GET", self._run),
            (
                one("runs") + rf"/(?:{re.escape(NS)})?getStatistics(?:\(\))?",
                "GET",
                self._statistics,
            ),
        ]
        return routes

    # -- setup objects ---------------------------------------------------------------------------

    def _bound(self, record: Recorded, value: Any, collection: str) -> str | None:
        """The id an `@odata.bind` value names, when it is a URL of an existing object."""
        if not isinstance(value, str):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or parts.netloc not in (
            "graph.microsoft.com",
            urlsplit(self.endpoint).netloc,
        ):
            return None
        match = re.fullmatch(
            rf"{ROOT}/{collection}(?:/([A-Za-z0-9._~-]+)|\('([A-Za-z0-9._~-]+)'\))", parts.path
        )
        if not match:
            return None
        found = match.group(1) or match.group(2)
        if collection == "roleGroups":
            return found if found in ROLE_GROUPS else None
        return found if found in self.objects[collection] else None

    def _check(
        self, collection: str, record: Recorded, partial: bool, object_id: str | None = None
    ) -> str | None:
        """Why a create (or, `partial`, a PATCH) body is not as documented; None when it is."""
        body = record.body
        if not isinstance(body, dict):
            return "a JSON object body is required"
        checks = _CHECKS[collection]
        unknown = sorted(set(body) - set(checks))
        if unknown:
            return f"properties not documented for {collection}: {unknown}"
        if partial and collection in _PATCHABLE:
            # The update pages: sourceSystem PATCH updates userMatchingSettings and vendor only,
            # a connector its displayName, a flow displayName and its two dates.
            fixed = sorted(set(body) - _PATCHABLE[collection])
            if fixed:
                return f"{collection} PATCH does not update {fixed}"
        name = body.get("displayName")
        if isinstance(name, str) and len(name.encode("utf-16-le")) // 2 > MAX_NAME:
            # Each resource page: "Maximum supported length is 100 characters."
            return f"displayName is longer than {MAX_NAME} characters"
        for name, (required, check) in checks.items():
            if name not in body:
                if required and not partial:
                    return f"{name} is required"
                continue
            why = check(self, record, body[name])
            if why:
                return f"{name}: {why}"
        if collection == "years" and not partial and body["endDate"] < body["startDate"]:
            return "endDate is before startDate"
        if collection == "inboundFlows":
            current = self.objects["inboundFlows"].get(object_id or "", {})
            effective = body.get("effectiveDateTime") or current.get("effectiveDateTime")
            expiration = body.get("expirationDateTime", current.get("expirationDateTime"))
            if expiration and effective and _parse_dt(expiration) <= _parse_dt(effective):
                return "expirationDateTime is not after effectiveDateTime"
            year_id = (
                self._bound_id(body["year@odata.bind"], "years")
                if "year@odata.bind" in body
                else current.get("yearId")
            )
            year = self.objects["years"].get(year_id or "")
            if expiration and year is not None and _parse_dt(expiration) > _midnight(year["endDate"]):
                # Microsoft's ADF READMEs: expirationDateTime "must not exceed the year end date".
                return f"expirationDateTime {expiration} exceeds the year end date {year['endDate']}"
        return None

    def _create(self, collection: str, record: Recorded) -> tuple[int, dict[str, str], Any]:
        why = self._check(collection, record, partial=False)
        if why:
            return self._violation(record, why)
        obj = self._stored(collection, dict(record.body))
        obj["id"] = str(uuid.uuid4())
        if collection == "inboundFlows":
            obj["readinessStatus"] = "ready"
        self.objects[collection][obj["id"]] = obj
        return 201, {}, self._shown(collection, obj)

    def _stored(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = {k: v for k, v in body.items() if not k.endswith("@odata.bind")}
        for key, value in body.items():
            if key.endswith("@odata.bind") and not key.startswith("roleGroup"):
                target = {
                    "sourceSystem": "sourceSystems",
                    "dataConnector": "dataConnectors",
                    "year": "years",
                }[key.split("@")[0]]
                obj[key.split("@")[0] + "Id"] = self._bound_id(value, target)
        if collection == "sourceSystems":
            obj.setdefault("vendor", None)
            obj["userMatchingSettings"] = [
                {k: v for k, v in s.items() if not k.endswith("@odata.bind")}
                for s in obj.get("userMatchingSettings") or []
            ]
        return obj

    def _bound_id(self, value: str, collection: str) -> str:
        match = re.search(
            rf"{collection}(?:/([A-Za-z0-9._~-]+)|\('([A-Za-z0-9._~-]+)'\))$", urlsplit(value).path
        )
        assert match
        return match.group(1) or match.group(2)

    def _shown(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in obj.items() if not k.endswith("Id") or k == "id"}
        return {
            "@odata.context": f"{self.endpoint}/beta/$metadata#external/industryData/{collection}/$entity",
            **shown,
        }

    def _no_body(self, record: Recorded, raw: bytes) -> tuple[int, dict[str, str], Any] | None:
        return self._violation(record, "this call takes no body") if raw else None

    def _get(
        self, collection: str, record: Recorded, raw: bytes, object_id: str
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        obj = self.objects[collection].get(object_id)
        if obj is None:
            return _not_found()
        return 200, {}, self._shown(collection, obj)

    def _patch(
        self, collection: str, record: Recorded, object_id: str
    ) -> tuple[int, dict[str, str], Any]:
        why = self._check(collection, record, partial=True, object_id=object_id)
        if why:
            return self._violation(record, why)
        obj = self.objects[collection].get(object_id)
        if obj is None:
            return _not_found()
        obj.update(
            self._stored(collection, dict(record.body))
            if collection != "sourceSystems"
            else {
                k: v
                for k, v in self._stored(collection, dict(record.body)).items()
                if k in record.body
            }
        )
        return 204, {}, None

    def _delete(
        self, collection: str, record: Recorded, raw: bytes, object_id: str
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        if self.objects[collection].pop(object_id, None) is None:
            return _not_found()
        return 204, {}, None

    def _paging(self, record: Recorded, total: int) -> tuple[int, int] | str:
        """(skip, size) of a listing's page from `$skiptoken` and `$top`; why not, as a string.

        $top is OData's page size (query-parameters page); the service pages on its own beyond it.
        """
        unknown = sorted(set(record.query) - {"$skiptoken", "$top"})
        if unknown:
            return f"query parameters not used by the app: {unknown}"
        top = (record.query.get("$top") or [str(self.page_size)])[0]
        if not top.isdigit() or int(top) < 1:
            return f"$top {top!r} is not a positive integer"
        size = min(int(top), self.page_size)
        token = (record.query.get("$skiptoken") or ["0"])[0]
        skip = int(token) if token.isdigit() else -1
        if skip < 0 or (skip and skip >= total):
            return f"$skiptoken {token!r} was not handed out"
        return skip, size

    def _list(self, collection: str, record: Recorded, raw: bytes) -> tuple[int, dict[str, str], Any]:
        """GET of a collection, paged like dataConnectors (`page_size` a page, or `$top`).

        referenceDefinitions: the tenant's code lists, each as the List referenceDefinitions page
        shows them (api-reference/beta/api/industrydata-referencedefinition-list.md).
        """
        refused = self._no_body(record, raw)
        if refused:
            return refused
        if collection == "referenceDefinitions":
            items = list(self.references)
        else:
            items = [self._shown(collection, o) for o in self.objects[collection].values()]
        paging = self._paging(record, len(items))
        if isinstance(paging, str):
            return self._violation(record, paging)
        skip, size = paging
        page = [{k: v for k, v in item.items() if k != "@odata.context"}
                for item in items[skip : skip + size]]
        answer: dict[str, Any] = {
            "@odata.context": f"{self.endpoint}/beta/$metadata#external/industryData/{collection}",
            "value": page,
        }
        if skip + size < len(items):
            top = f"&$top={record.query['$top'][0]}" if "$top" in record.query else ""
            answer["@odata.nextLink"] = (
                f"{self.endpoint}{ROOT}/{collection}?$skiptoken={skip + size}{top}"
            )
        return 200, {}, answer

    # -- one upload ------------------------------------------------------------------------------

    def _upload_session(
        self, record: Recorded, raw: bytes, connector_id: str
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        reset = record.query.get("resetSession")
        if reset is not None and reset != ["true"] and reset != ["false"]:
            return self._violation(record, "resetSession must be true or false")
        if connector_id not in self.objects["dataConnectors"]:
            return _not_found()
        self.session_requests.append((connector_id, (reset or ["false"])[0]))
        if reset == ["true"]:
            # "resetSession=true returns a new session with an empty container": what was uploaded
            # or validated before is not run (inferred; the app relies on it when a profile goes).
            self.validated.pop(connector_id, None)
        current = self.sessions.get(connector_id)
        if current is None or reset == ["true"] or current["closed"]:
            container_id = str(uuid.uuid4())
            ttl = timedelta(minutes=-5) if self.expire_sessions else timedelta(hours=1)
            current = {
                "closed": False,
                "url": self.gen2.new_session(TENANT_ID, connector_id, container_id, ttl=ttl),
                "expires": datetime.now(UTC).replace(microsecond=0) + ttl,
                "id": container_id,
            }
            self.sessions[connector_id] = current
        return (
            200,
            {},
            {
                "@odata.context": f"{self.endpoint}/beta/$metadata#microsoft.graph.industryData.fileUploadSession",
                "containerExpirationDateTime": _iso(current["expires"] + timedelta(days=1)),
                "containerId": current["id"],
                "sessionExpirationDateTime": _iso(current["expires"]),
                "sessionUrl": current["url"],
            },
        )

    def _validate(
        self, record: Recorded, raw: bytes, connector_id: str
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        if connector_id not in self.objects["dataConnectors"]:
            return _not_found()
        session = self.sessions.get(connector_id)
        files: dict[str, bytes] = {}
        if session is not None and not session["closed"]:
            files = self.gen2.files(session["url"])
            session["closed"] = True  # validation closes the session; the files move inside
        outcome = self.validations.popleft() if self.validations else ValidationOutcome()
        errors = outcome.errors
        warnings = outcome.warnings
        code = (self.objects["dataConnectors"][connector_id].get("fileFormat") or {}).get("code")
        required, optional = FILE_SETS.get(code, FILE_SETS["schoolDataSyncV1"])
        if errors is None:
            errors = [
                public_error(
                    "RequiredFileNotFound",
                    f"When trying to validate required file {n} encountered RequiredFileNotFound error.",
                    n,
                )
                for n in required
                if n not in files
            ]
        if warnings is None:
            warnings = [
                public_error(
                    "OptionalFileNotFound",
                    f"When trying to validate file {n} encountered OptionalFileNotFound error.",
                    n,
                )
                for n in optional
                if n not in files
            ]
        op_id = str(uuid.uuid4())
        self.operations[op_id] = {
            "connector": connector_id,
            "outcome": outcome,
            "polls": 0,
            "errors": errors,
            "warnings": warnings,
            "files": files,
            "created": datetime.now(UTC),
        }
        self.uploads.append({"connector": connector_id, "files": files, "operation": op_id})
        location = {
            "external": f"{self.endpoint}{ROOT}/operations/{op_id}",
            "resourceLocation": f"{self.endpoint}/beta/industryData/operations/{op_id}",
            "id": op_id,
        }[self.location_style]
        return 202, {"Location": location}, None

    def _operation(
        self, record: Recorded, raw: bytes, op_id: str
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        if op_id in self.start_operations:
            return 200, {}, self._start_operation(op_id)
        op = self.operations.get(op_id)
        if op is None:
            return _not_found()
        outcome: ValidationOutcome = op["outcome"]
        op["polls"] += 1
        done = op["polls"] > outcome.running_polls
        if done and outcome.status == "succeeded" and not op["errors"]:
            self.validated[op["connector"]] = op["files"]
        return (
            200,
            {},
            {
                "@odata.context": f"{self.endpoint}/beta/$metadata#external/industryData/operations/$entity",
                "@odata.type": f"#{NS}fileValidateOperation",
                "createdDateTime": _iso(op["created"]),
                "errors": op["errors"] if done else [],
                "id": op_id,
                "lastActionDateTime": _iso(datetime.now(UTC)),
                "resourceLocation": f"https://graph.microsoft.com/beta/industryData/dataConnectors/{op['connector']}",
                "status": outcome.status if done else "running",
                "statusDetail": None,
                "validatedFiles": sorted(op["files"]) if done else [],
                "warnings": op["warnings"] if done else [],
            },
        )

    # -- runs ------------------------------------------------------------------------------------

    def _start(self, record: Recorded, raw: bytes) -> tuple[int, dict[str, str], Any]:
        """POST runs/start, no body: 202 with a Location naming a longRunningOperation.

        api-reference/beta/api/industrydata-industrydatarun-start.md (ms.date 2025-01-01): "The
        response also contains a Location header, which contains the location of the
        longRunningOperation." With `start_style` "none": 202 alone, as an older version of the
        same page says. "unnamed": the operation succeeds without naming the run (its
        resourceLocation is null): the client finds the run in GET runs. "failed": the operation
        fails and no run starts.
        """
        refused = self._no_body(record, raw)
        if refused:
            return refused
        run_id = None
        if self.start_style != "failed":
            run_id = str(uuid.uuid4())
            outcome = self.runs_script.popleft() if self.runs_script else RunOutcome()
            self.runs[run_id] = {
                "outcome": outcome,
                "polls": 0,
                "started": datetime.now(UTC),
                "files": self._run_files(),
            }
        self.started_runs.append(run_id)
        if self.start_style == "none":
            return 202, {}, None
        op_id = str(uuid.uuid4())
        self.start_operations[op_id] = {"run": run_id, "polls": 0, "created": datetime.now(UTC)}
        return 202, {"Location": f"https://graph.microsoft.com{ROOT}/operations/{op_id}"
                     if self.graph_host_locations else f"{self.endpoint}{ROOT}/operations/{op_id}"}, None

    def _start_operation(self, op_id: str) -> dict[str, Any]:
        """The longRunningOperation of a runs/start (msgraph-beta-sdk models/long_running_operation.py:
        id, createdDateTime, lastActionDateTime, resourceLocation, status, statusDetail)."""
        op = self.start_operations[op_id]
        op["polls"] += 1
        done = op["polls"] > self.start_running_polls
        status = "running" if not done else ("failed" if op["run"] is None else "succeeded")
        location = None
        if done and op["run"] is not None and self.start_style == "operation":
            location = f"https://graph.microsoft.com{ROOT}/runs/{op['run']}"
        if done and self.start_resource_location is not None:
            location = self.start_resource_location
        return {
            "@odata.context": f"{self.endpoint}/beta/$metadata#external/industryData/operations/$entity",
            "@odata.type": "#microsoft.graph.longRunningOperation",
            "createdDateTime": _iso(op["created"]),
            "id": op_id,
            "lastActionDateTime": _iso(datetime.now(UTC)),
            "resourceLocation": location,
            "status": status,
            "statusDetail": "The run could not be started." if status == "failed" else None,
        }

    def _run_files(self) -> dict[str, dict[str, bytes]]:
        """What a run takes: the last validated files of every connector with a flow active now.

        industry-data.md, runs/start: "A run covers every flow active when it starts."
        """
        now = datetime.now(UTC)
        active = {
            flow.get("dataConnectorId")
            for flow in self.objects["inboundFlows"].values()
            if not flow.get("expirationDateTime") or _parse_dt(flow["expirationDateTime"]) > now
        }
        return {
            c: dict(files)
            for c, files in self.validated.items()
            if c in active and c in self.objects["dataConnectors"]
        }

    def add_run(self, started: datetime, outcome: RunOutcome | None = None) -> str:
        """A run of the tenant not asked for by this app (a scheduled one, or another client's)."""
        run_id = str(uuid.uuid4())
        with self.lock:
            self.runs[run_id] = {
                "outcome": outcome or RunOutcome(),
                "polls": 0,
                "started": started,
                "files": self._run_files(),
            }
        return run_id

    def _list_runs(self, record: Recorded, raw: bytes) -> tuple[int, dict[str, str], Any]:
        """GET runs: industryDataRuns newest first (as the docs' example), page_size a page."""
        refused = self._no_body(record, raw)
        if refused:
            return refused
        paging = self._paging(record, len(self.runs))
        if isinstance(paging, str):
            return self._violation(record, paging)
        skip, size = paging
        ordered = sorted(self.runs, key=lambda r: self.runs[r]["started"], reverse=True)
        page = [self._run_view(r, count=False) for r in ordered[skip : skip + size]]
        answer: dict[str, Any] = {
            "@odata.context": f"{self.endpoint}/beta/$metadata#external/industryData/runs",
            "value": page,
        }
        if skip + size < len(ordered):
            top = f"&$top={record.query['$top'][0]}" if "$top" in record.query else ""
            answer["@odata.nextLink"] = f"{self.endpoint}{ROOT}/runs?$skiptoken={skip + size}{top}"
        return 200, {}, answer

    def _run(self, record: Recorded, raw: bytes, run_id: str) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        if run_id not in self.runs:
            return _not_found()
        return 200, {}, {
            "@odata.context": f"{self.endpoint}/beta/$metadata#external/industryData/runs/$entity",
            **self._run_view(run_id, count=True),
        }

    def _run_view(self, run_id: str, count: bool) -> dict[str, Any]:
        """An industryDataRun; a GET of the run (`count`) moves it on, a listing does not."""
        run = self.runs[run_id]
        if count:
            run["polls"] += 1
        outcome: RunOutcome = run["outcome"]
        done = run["polls"] > outcome.running_polls
        answer = {
            "@odata.type": f"#{NS}industryDataRun",
            "displayName": f"Run {run['started']:%Y-%m-%d %H:%M} UTC",
            "endDateTime": _iso(datetime.now(UTC)) if done else None,
            "id": run_id,
            "startDateTime": _iso(run["started"]),
            "status": outcome.status if done else "running",
        }
        if done and outcome.blocking_error is not None:
            answer["blockingError"] = outcome.blocking_error
        return answer

    def _statistics(
        self, record: Recorded, raw: bytes, run_id: str
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._no_body(record, raw)
        if refused:
            return refused
        run = self.runs.get(run_id)
        if run is None:
            return _not_found()
        outcome: RunOutcome = run["outcome"]
        people = {"student": 0, "teacher": 0}
        for files in run["files"].values():
            for role in people:
                data = files.get(f"{role}.csv", b"")
                people[role] += max(0, len([ln for ln in data.splitlines() if ln.strip()]) - 1)
            if "roles.csv" in files:  # v2.1: one role record per user and org
                rows = csv.DictReader(io.StringIO(files["roles.csv"].decode("utf-8-sig")))
                for row in rows:
                    role = (row.get("role") or "").lower()
                    if role in people:
                        people[role] += 1
        by_role = [{"count": n, "role": r} for r, n in people.items()]
        return (
            200,
            {},
            {
                "@odata.context": f"{self.endpoint}/beta/$metadata#microsoft.graph.industryData.industryDataRunStatistics",
                "@odata.type": f"#{NS}industryDataRunStatistics",
                "activityStatistics": by_role,
                "inboundTotals": {
                    "errors": outcome.errors,
                    "groups": 0,
                    "matchedPeopleByRole": by_role,
                    "memberships": 0,
                    "organizations": 0,
                    "people": sum(people.values()),
                    "unmatchedPeopleByRole": [],
                    "warnings": outcome.warnings,
                },
                "runId": run_id,
                "status": outcome.status,
            },
        )


def reference(reference_type: str, code: str, sort_index: int, disabled: bool = False,
              source: str = "CEDS") -> dict[str, Any]:
    """A referenceDefinition as the resource page shows it, id `{referenceType}-{code}`
    (api-reference/beta/resources/industrydata-referencedefinition.md; the list page's example
    dates are 0001-01-01 for Microsoft's own codes)."""
    moment = "0001-01-01T00:00:00Z" if source == "CEDS" else "2026-09-01T08:00:00Z"
    return {
        "@odata.type": f"#{NS}referenceDefinition",
        "id": f"{reference_type}-{code}",
        "code": code,
        "displayName": code,
        "isDisabled": disabled,
        "referenceType": reference_type,
        "sortIndex": sort_index,
        "source": source,
        "createdDateTime": moment,
        "lastModifiedDateTime": moment,
    }


DEFAULT_GRADES = ("IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "UG",
                  "Other")


def default_references() -> list[dict[str, Any]]:
    """A tenant's lists before it changes them: identifier types and match targets as the ADF
    READMEs name them, and the grade levels of docs/new-sds-rules.md ("The grade codes")."""
    return [
        *(reference("RefIdentifierType", c, 10 * i) for i, c in
          enumerate(("username", "email", "activeDirectory"), 1)),
        *(reference("userMatchTarget", c, 10 * i) for i, c in
          enumerate(("userPrincipalName", "mail"), 1)),
        *(reference("RefGradeLevel", c, 10 * i) for i, c in enumerate(DEFAULT_GRADES, 1)),
        reference("RefEmailAddressType", "home", 10),
    ]


def _not_found() -> tuple[int, dict[str, str], Any]:
    return (
        404,
        {},
        {"error": {"code": "ResourceNotFound", "message": "The resource was not found."}},
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _midnight(day: str) -> datetime:
    """A date compared with a time: the start of that day, UTC."""
    return datetime.fromisoformat(f"{day}T00:00:00+00:00")


# -- body checks: (required, check) per property; a check returns why a value is wrong ----------


def _text(_: FakeIndustryData, __: Recorded, value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string is required"


def _type(expected: str):  # noqa: ANN202
    def check(_: FakeIndustryData, __: Recorded, value: Any) -> str | None:
        return None if value == f"#{NS}{expected}" else f"must be #{NS}{expected}"

    return check


def _bind(collection: str):  # noqa: ANN202
    def check(fake: FakeIndustryData, record: Recorded, value: Any) -> str | None:
        found = fake._bound(record, value, collection)
        return None if found else f"not the URL of an existing {collection} object: {value!r}"

    return check


def _code(*allowed: str, type_name: str | None = None):  # noqa: ANN202
    def check(_: FakeIndustryData, __: Recorded, value: Any) -> str | None:
        if not isinstance(value, dict) or not isinstance(value.get("code"), str):
            return 'a reference value {"code": ...} is required'
        extra = set(value) - {"code", "@odata.type"}
        if extra:
            return f"unexpected properties {sorted(extra)}"
        if (
            "@odata.type" in value
            and type_name
            and value["@odata.type"].lstrip("#") != f"{NS}{type_name}"
        ):
            return f"@odata.type must be {NS}{type_name}"
        if allowed and value["code"] not in allowed:
            return f"code {value['code']!r} is not one of {list(allowed)}"
        return None

    return check


def _date(_: FakeIndustryData, __: Recorded, value: Any) -> str | None:
    if not isinstance(value, str) or not _DATE.match(value):
        return "a YYYY-MM-DD date is required"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "not a calendar date"
    return None


def _datetime(optional: bool):  # noqa: ANN202
    def check(_: FakeIndustryData, __: Recorded, value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or "T" not in value:
            return "an ISO 8601 date and time is required"
        try:
            moment = _parse_dt(value)
        except ValueError:
            return "not an ISO 8601 date and time"
        return None if moment.tzinfo is not None else "the offset is missing"

    return check


def _domain(_: FakeIndustryData, __: Recorded, value: Any) -> str | None:
    return None if value == "educationRostering" else "only educationRostering is documented"


def _matching(fake: FakeIndustryData, record: Recorded, value: Any) -> str | None:
    if not isinstance(value, list):
        return "a collection is required"
    for item in value:
        if not isinstance(item, dict):
            return "each setting is an object"
        extra = set(item) - {
            "matchTarget",
            "priorityOrder",
            "roleGroup@odata.bind",
            "sourceIdentifier",
            "domainName",  # sent by the ADF templates and the Postman collection
            "@odata.type",
        }
        if extra:
            return f"unexpected properties {sorted(extra)}"
        # Microsoft's ADF READMEs: "Valid values are username, email, or activeDirectory" and
        # "userPrincipalName or mail".
        for name, allowed in (("matchTarget", MATCH_TARGETS), ("sourceIdentifier", SOURCE_IDENTIFIERS)):
            why = _code(*allowed)(fake, record, item.get(name))
            if why:
                return f"{name}: {why}"
        if not isinstance(item.get("priorityOrder"), int) or isinstance(
            item.get("priorityOrder"), bool
        ):
            return "priorityOrder: an integer is required"
        if "domainName" in item and not (
            isinstance(item["domainName"], str) and item["domainName"].strip()
        ):
            return "domainName: a non-empty string is required"
        if fake._bound(record, item.get("roleGroup@odata.bind"), "roleGroups") is None:
            return f"roleGroup@odata.bind: not a role group URL ({list(ROLE_GROUPS)})"
    orders = [item["priorityOrder"] for item in value]
    if len(set(orders)) != len(orders):
        # Every Microsoft example numbers all settings in one sequence (staff 0, students 1).
        return f"priorityOrder repeats across settings: {orders}"
    return None


_CHECKS: dict[str, dict[str, tuple[bool, Any]]] = {
    "sourceSystems": {
        "displayName": (True, _text),
        "userMatchingSettings": (False, _matching),
        "vendor": (False, _text),
    },
    "dataConnectors": {
        "@odata.type": (True, _type("azureDataLakeConnector")),
        "displayName": (True, _text),
        "sourceSystem@odata.bind": (True, _bind("sourceSystems")),
        "fileFormat": (True, _code(*FILE_FORMATS, type_name="fileFormatReferenceValue")),
    },
    "years": {
        "displayName": (True, _text),
        "startDate": (True, _date),
        "endDate": (True, _date),
        "year": (True, _code(type_name="yearReferenceValue")),
    },
    "inboundFlows": {
        "@odata.type": (True, _type("inboundFileFlow")),
        "dataConnector@odata.bind": (True, _bind("dataConnectors")),
        "year@odata.bind": (True, _bind("years")),
        "dataDomain": (True, _domain),
        "displayName": (True, _text),
        "effectiveDateTime": (True, _datetime(optional=False)),
        "expirationDateTime": (False, _datetime(optional=True)),
    },
}
