"""A small client of the Industry Data API (Graph beta), the API of the new School Data Sync.

Paths and shapes as industry-data.md records them. Where Microsoft's pages and SDKs disagree the
client sends the documented spelling and accepts both on the way back: the operation's URL from
`Location` may be a `resourceLocation`-style URL without `/external/`, or a bare id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
from azure.core import PipelineClient
from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest

from sds_app.graph.answers import AnswerRefused, parse_json, snippet
from sds_app.graph.errors import (
    GraphAnswerError,
    GraphAuthenticationError,
    GraphError,
    from_response,
)
from sds_app.graph.pipeline import (
    MAX_IN_PROCESS_WAIT,
    DeadlineTransport,
    GraphDeadline,
    graph_policies,
)
from sds_core.models import industry_data as model
from sds_core.text import inert

ROOT = "/beta/external/industryData"
CONNECTOR_TYPE = "microsoft.graph.industryData.azureDataLakeConnector"
_COLLECTIONS = ("sourceSystems", "dataConnectors", "years", "inboundFlows", "operations", "runs",
                "roleGroups", "referenceDefinitions")
_REFERENCE = re.compile(
    r"/beta(?:/external)?/industryData/(?P<collection>[A-Za-z]+)"
    r"(?:/(?P<plain>[^/()']+)|\('(?P<quoted>[^/()']+)'\))/?"
)
MAX_PAGES = 100  # a connector or run listing longer than this is not a tenant's SDS
TOKEN_CLAIMS = ("appid", "azp", "oid", "tid", "idtyp", "roles", "scp")  # what token_claims tells
MAX_TOKEN = 16_384  # characters: Entra's tokens are a few KB
DEFAULT_DEADLINE = GraphDeadline()


@dataclass(frozen=True)
class RunStart:
    """What runs/start answered: a run, the operation that starts one, or neither (look in runs)."""

    run_id: str | None = None
    operation: str | None = None


@dataclass(frozen=True)
class UploadSession:
    """A connector's upload session: where the files go and until when."""

    session_url: str
    session_expiration: str | None
    container_expiration: str | None
    container_id: str | None


def _id_segment(value: str) -> str:
    # "." and ".." are dot segments: a URL resolver would climb out of the collection.
    if not model.is_object_id(value):
        raise ValueError(f"not an Industry Data id: {value!r}")
    return quote(value, safe="-._~")


class IndustryDataClient:
    """Calls of the Industry Data API over one azure-core pipeline; GraphError on any refusal."""

    def __init__(
        self,
        endpoint: str = "https://graph.microsoft.com",
        credential: Any | None = None,
        *,
        deadline: GraphDeadline = DEFAULT_DEADLINE,
        max_wait: float = MAX_IN_PROCESS_WAIT,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.scope = f"{self.endpoint}/.default"
        self.deadline = deadline
        self._credential = credential
        # Tokens travel over TLS only; plain http is allowed to a loopback emulator (tests).
        https_only = urlsplit(self.endpoint).hostname not in ("127.0.0.1", "localhost", "::1")
        # (the option is the bearer policy's: without a credential nothing may pass it on)
        self._options = {"enforce_https": https_only} if credential is not None else {}
        self._graph = PipelineClient(
            self.endpoint,
            policies=graph_policies(credential, self.scope, max_wait, deadline.call_seconds),
            transport=DeadlineTransport(deadline.connect_seconds, deadline.read_seconds),
        )

    # -- plumbing --------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of a path under /beta/external/industryData."""
        return f"{self.endpoint}{ROOT}/{path.lstrip('/')}"

    def bind(self, collection: str, object_id: str) -> str:
        """An `@odata.bind` value: the object's URL, e.g. bind("sourceSystems", id)."""
        return self.url(f"{collection}/{_id_segment(object_id)}")

    def _send(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        expect: tuple[int, ...] = (200,),
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        """(status, headers, parsed JSON or None) of one call; GraphError unless status in `expect`."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = HttpRequest(
            method,
            url,
            params=params,
            headers=headers,
            content=json.dumps(body).encode() if body is not None else None,
        )
        path = urlsplit(url).path
        try:  # the transport reads the body within its bounds and the call's deadline
            response = self._graph.send_request(request, **self._options)
        except (ServiceRequestError, ServiceResponseError) as failure:
            raise GraphError(
                None, "unreachable", snippet(str(failure), 300), method=method, path=path
            ) from None
        except ClientAuthenticationError as failure:  # the credential gave no token
            detail = (str(failure).strip().splitlines() or [""])[0][:300]
            raise GraphAuthenticationError(method, path, detail) from None
        data = response.read()
        if response.status_code not in expect:
            raise from_response(method, path, response.status_code, response.headers, data)
        parsed = None
        if data:
            try:
                parsed = parse_json(data)
            except AnswerRefused as refused:
                raise GraphAnswerError(
                    response.status_code, refused.code, refused.reason, method=method, path=path
                ) from None
        return response.status_code, response.headers, parsed

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        _, _, data = self._send("GET", self.url(path), params=params)
        if not isinstance(data, dict):
            raise GraphError(
                200, "invalidResponse", "expected a JSON object", method="GET", path=path
            )
        return data

    def _create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        _, _, data = self._send("POST", self.url(collection), body, expect=(201,))
        if not isinstance(data, dict) or data.get("id") is None:
            raise GraphError(
                201,
                "invalidResponse",
                "the created object has no id",
                method="POST",
                path=collection,
            )
        self._checked_id(data["id"], f"the id of the created {collection} object")
        return data

    def _update(
        self, collection: str, object_id: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        _, _, data = self._send(
            "PATCH", self.url(f"{collection}/{_id_segment(object_id)}"), body, expect=(200, 204)
        )
        return data if isinstance(data, dict) else None

    def _delete(self, collection: str, object_id: str, missing_ok: bool = True) -> bool:
        """Delete; False when it was not there (and `missing_ok`)."""
        try:
            self._send(
                "DELETE", self.url(f"{collection}/{_id_segment(object_id)}"), expect=(204, 200)
            )
        except GraphError as error:
            if missing_ok and error.status == 404:
                return False
            raise
        return True

    # -- setup objects ---------------------------------------------------------------------------

    def create_source_system(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST sourceSystems (201): a sourceSystemDefinition."""
        return self._create("sourceSystems", body)

    def get_source_system(self, object_id: str) -> dict[str, Any]:
        """GET sourceSystems/{id}."""
        return self._get(f"sourceSystems/{_id_segment(object_id)}")

    def update_source_system(self, object_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PATCH sourceSystems/{id}."""
        return self._update("sourceSystems", object_id, body)

    def delete_source_system(self, object_id: str) -> bool:
        """DELETE sourceSystems/{id}; False when already gone."""
        return self._delete("sourceSystems", object_id)

    def create_connector(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST dataConnectors (201): an azureDataLakeConnector."""
        return self._create("dataConnectors", body)

    def get_connector(self, object_id: str) -> dict[str, Any]:
        """GET dataConnectors/{id}."""
        return self._get(f"dataConnectors/{_id_segment(object_id)}")

    def update_connector(self, object_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PATCH dataConnectors/{id}."""
        return self._update("dataConnectors", object_id, body)

    def delete_connector(self, object_id: str) -> bool:
        """DELETE dataConnectors/{id}; False when already gone."""
        return self._delete("dataConnectors", object_id)

    def list_connectors(self) -> list[dict[str, Any]]:
        """GET dataConnectors, every page."""
        return list(self._pages(self.url("dataConnectors")))

    def create_year(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST years (201): a yearTimePeriodDefinition."""
        return self._create("years", body)

    def get_year(self, object_id: str) -> dict[str, Any]:
        """GET years/{id}."""
        return self._get(f"years/{_id_segment(object_id)}")

    def update_year(self, object_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PATCH years/{id}."""
        return self._update("years", object_id, body)

    def delete_year(self, object_id: str) -> bool:
        """DELETE years/{id}; False when already gone."""
        return self._delete("years", object_id)

    def create_inbound_flow(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST inboundFlows (201): an inboundFileFlow."""
        return self._create("inboundFlows", body)

    def get_inbound_flow(self, object_id: str) -> dict[str, Any]:
        """GET inboundFlows/{id}."""
        return self._get(f"inboundFlows/{_id_segment(object_id)}")

    def update_inbound_flow(self, object_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PATCH inboundFlows/{id}."""
        return self._update("inboundFlows", object_id, body)

    def delete_inbound_flow(self, object_id: str) -> bool:
        """DELETE inboundFlows/{id}; False when already gone."""
        return self._delete("inboundFlows", object_id)

    def first_page(self, collection: str, top: int = 1) -> list[dict[str, Any]]:
        """GET {collection}?$top={top}: the first page only (a harmless read of the collection)."""
        if collection not in _COLLECTIONS:
            raise ValueError(f"not an Industry Data collection: {collection!r}")
        _, _, data = self._send("GET", self.url(collection), params={"$top": str(top)})
        values = data.get("value") if isinstance(data, dict) else None
        if not isinstance(values, list):
            raise GraphError(
                200, "invalidResponse", "a collection without value", method="GET", path=collection
            )
        return [v for v in values if isinstance(v, dict)]

    def list_reference_definitions(self, max_pages: int = MAX_PAGES) -> list[dict[str, Any]]:
        """GET referenceDefinitions: the tenant's code lists, every page up to `max_pages`."""
        return list(self._pages(self.url("referenceDefinitions"), max_pages))

    def token_claims(self) -> dict[str, Any] | None:
        """Claims of the token this client sends (TOKEN_CLAIMS only); None without a credential.

        The token is the app's own, from its own credential: read without verifying its signature
        (PyJWT), never logged or returned. GraphAuthenticationError when no token comes.
        """
        if self._credential is None:
            return None
        try:
            token = self._credential.get_token(self.scope).token
        except ClientAuthenticationError as failure:
            detail = (str(failure).strip().splitlines() or [""])[0][:300]
            raise GraphAuthenticationError("GET", ROOT, detail) from None
        try:
            if not isinstance(token, str) or len(token) > MAX_TOKEN:
                raise jwt.DecodeError("not a token of a usual size")
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise GraphError(None, "invalidToken", "the credential's token is not a JWT") from None
        return {name: claims[name] for name in TOKEN_CLAIMS if name in claims}

    def _pages(self, url: str, max_pages: int = MAX_PAGES) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        for _ in range(max_pages):
            if next_url is None:
                return
            _, _, data = self._send("GET", self._same_origin(next_url))
            values = data.get("value") if isinstance(data, dict) else None
            if not isinstance(values, list):
                raise GraphError(
                    200, "invalidResponse", "a collection without value", method="GET", path=url
                )
            yield from (v for v in values if isinstance(v, dict))
            link = data.get("@odata.nextLink")
            next_url = link if isinstance(link, str) else None

    def _same_origin(self, url: str) -> str:
        """`url` if it is on the endpoint (a nextLink or Location elsewhere is not followed)."""
        parts, base = urlsplit(url), urlsplit(self.endpoint)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise GraphError(
                None, "invalidResponse", f"a link outside {self.endpoint}: {url[:200]}"
            )
        return url

    # -- one upload ------------------------------------------------------------------------------

    def get_upload_session(self, connector_id: str, reset: bool = True) -> UploadSession:
        """GET .../getUploadSession?resetSession=...: a container SAS for the files."""
        data = self._get(
            f"dataConnectors/{_id_segment(connector_id)}/{CONNECTOR_TYPE}/getUploadSession",
            params={"resetSession": "true" if reset else "false"},
        )
        url = data.get("sessionUrl") or data.get("sessionUri")  # the docs' prose says sessionUri
        if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http"):
            raise GraphError(
                200,
                "invalidResponse",
                "the upload session has no sessionUrl",
                method="GET",
                path="getUploadSession",
            )
        return UploadSession(
            session_url=url,
            session_expiration=data.get("sessionExpirationDateTime"),
            container_expiration=data.get("containerExpirationDateTime"),
            container_id=data.get("containerId"),
        )

    def validate(self, connector_id: str) -> str:
        """POST dataConnectors/{id}/validate (202): the operation's URL from Location."""
        path = f"dataConnectors/{_id_segment(connector_id)}/validate"
        _, headers, _ = self._send("POST", self.url(path), expect=(202,))
        location = headers.get("Location") or headers.get("Operation-Location")
        if not location:
            raise GraphError(
                202,
                "invalidResponse",
                "validate answered without Location",
                method="POST",
                path=path,
            )
        self.reference(location, ("operations",), "validate: Location")
        return location

    def operation_path(self, url_or_id: str) -> str:
        """The operations/{id} path of a Location, resourceLocation-style URL or bare id."""
        _, found = self.reference(url_or_id, ("operations",), "the operation's location")
        return f"operations/{found}"

    def get_operation(self, url_or_id: str) -> dict[str, Any]:
        """GET operations/{id} (a fileValidateOperation, or the operation of runs/start)."""
        return self._get(self.operation_path(url_or_id))

    def start_run(self) -> RunStart:
        """POST runs/start (202): what the answer names, the operation in Location (documented),
        or nothing (an older version of the page: "202 Accepted" only)."""
        status, headers, data = self._send("POST", self.url("runs/start"), expect=(200, 201, 202))
        if isinstance(data, dict) and data.get("id") is not None:
            return RunStart(run_id=self._checked_id(data.get("id"), "runs/start: the run id"))
        location = headers.get("Location") or headers.get("Operation-Location")
        if not location:
            return RunStart()
        kind, found = self.reference(location, ("operations", "runs"), "runs/start: Location")
        return RunStart(run_id=found) if kind == "runs" else RunStart(operation=found)

    def run_of_operation(self, operation: dict[str, Any]) -> str | None:
        """The run id a runs/start operation's resourceLocation names; None when it names none.

        GraphError when resourceLocation is there but is no Industry Data URL, or names a run by
        an id that cannot be one.
        """
        value = operation.get("resourceLocation")
        if value is None:
            return None
        kind, found = self.reference(
            value, ("runs",), "the runs/start operation's resourceLocation", other_kinds=True
        )
        return found if kind == "runs" else None

    def reference(self, value: Any, kinds: tuple[str, ...], what: str,
                  other_kinds: bool = False) -> tuple[str, str]:
        """(collection, id) of an Industry Data URL or bare id in an answer; GraphError otherwise.

        Accepted: `https://<graph>/beta[/external]/industryData/{collection}/{id}` (or
        `{collection}('{id}')`; Microsoft's examples leave `/external` out of resourceLocation), on
        Microsoft Graph or this client's endpoint, and a bare id (the first of `kinds`).
        `other_kinds` also accepts another collection (answered with its name).
        """
        if not isinstance(value, str) or not 0 < len(value) <= 2048:
            raise self._not_reference(what, value)
        text = value.strip()
        if model.is_object_id(text):
            return kinds[0], text
        parts = urlsplit(text)
        hosts = {urlsplit(self.endpoint).netloc.lower(), "graph.microsoft.com"}
        if parts.scheme not in ("https", "http") or parts.netloc.lower() not in hosts:
            raise self._not_reference(what, value)
        match = _REFERENCE.fullmatch(parts.path)
        if not match:
            raise self._not_reference(what, value)
        collection = match["collection"]
        object_id = match["plain"] or match["quoted"]
        if collection not in kinds and not (other_kinds and collection in _COLLECTIONS):
            raise self._not_reference(what, value)
        if not model.is_object_id(object_id):
            raise self._not_reference(what, value)
        return collection, object_id

    @staticmethod
    def _not_reference(what: str, value: Any) -> GraphError:
        shown = inert(str(value), 200) if value is not None else "nothing"
        return GraphError(None, "invalidResponse", f"{what} is not what Graph documents: {shown}")

    @staticmethod
    def _checked_id(value: Any, what: str) -> str:
        if not model.is_object_id(value):
            shown = inert(str(value), 200)
            raise GraphError(None, "invalidResponse", f"{what} is not an Industry Data id: {shown}")
        return value

    def list_runs(self, max_pages: int = MAX_PAGES) -> list[dict[str, Any]]:
        """GET runs: the tenant's industryDataRuns, following @odata.nextLink up to `max_pages`."""
        return list(self._pages(self.url("runs"), max_pages))

    def get_run(self, run_id: str) -> dict[str, Any]:
        """GET runs/{id} (an industryDataRun)."""
        return self._get(f"runs/{_id_segment(run_id)}")

    def get_statistics(self, run_id: str) -> dict[str, Any]:
        """GET runs/{id}/getStatistics (industryDataRunStatistics)."""
        return self._get(f"runs/{_id_segment(run_id)}/getStatistics")
