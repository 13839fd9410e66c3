"""test.http walks the whole API: every request names a real route, every route is walked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sds_app.settings import UPLOAD_CONTAINER
from sds_core.models.profiles import Invalid, parse_settings
from tests.infra.functions import http_routes

REPO = Path(__file__).resolve().parent.parent
HTTP_FILE = REPO / "test.http"
HOST = "http://localhost:7071"
PLACEHOLDER = "x1"


@dataclass
class Request:
    """One request of the file, variables resolved."""

    title: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def path(self) -> str:
        """The URL's path."""
        return urlsplit(self.url).path


def parse(source: str) -> tuple[list[Request], set[str]]:
    """The requests of an .http file and the names given with `# @name`."""
    variables: dict[str, str] = {}
    names: set[str] = set()
    requests: list[Request] = []

    def resolve(value: str) -> str:
        for _ in range(10):
            value = re.sub(
                r"\{\{([\w.$\[\]]+)\}\}",
                lambda m: PLACEHOLDER if "." in m.group(1) else variables[m.group(1)],
                value,
            )
        return value

    for chunk in re.split(r"^###", source, flags=re.MULTILINE):
        title, _, rest = chunk.partition("\n")
        current: Request | None = None
        in_body = False
        for line in rest.splitlines():
            if current is None:
                if found := re.match(r"^# @name (\w+)$", line):
                    names.add(found.group(1))
                elif found := re.match(r"^@(\w+) = (.*)$", line):
                    variables[found.group(1)] = found.group(2)
                elif line.strip() and not line.startswith("#"):
                    method, url = line.split()[:2]
                    current = Request(title.strip(), method, resolve(url))
                    requests.append(current)
            elif not in_body and line.strip():
                header, _, value = line.partition(":")
                current.headers[header.strip().lower()] = resolve(value.strip())
            elif not in_body:
                in_body = True
            elif found := re.match(r"^@(\w+) = (.*)$", line):
                variables[found.group(1)] = found.group(2)
            else:
                current.body += resolve(line) + "\n"
    return requests, names


REQUESTS, NAMES = parse(HTTP_FILE.read_text())
API = [r for r in REQUESTS if r.url.startswith(HOST + "/")]
UPLOADS = [r for r in REQUESTS if not r.url.startswith(HOST + "/")]


def template(route: str) -> re.Pattern[str]:
    """A route template (`beta/x/{id}`) as a pattern for paths."""
    parts = re.split(r"(\{\w+\})", route)
    return re.compile(
        "^/" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


ROUTES = {name: (method, template(route)) for name, (method, route) in http_routes().items()}


def functions_of(request: Request) -> set[str]:
    """The HTTP functions the host would route the request to."""
    return {
        name
        for name, (method, pattern) in ROUTES.items()
        if method == request.method and pattern.match(request.path)
    }


def test_the_file_has_requests_and_every_reference_names_a_request() -> None:
    assert len(API) > 20 and UPLOADS
    references = set(re.findall(r"\{\{(\w+)\.response\.", HTTP_FILE.read_text()))
    assert references <= NAMES, references - NAMES


@pytest.mark.parametrize("request_", API, ids=lambda r: f"{r.method} {r.path}")
def test_each_request_reaches_exactly_one_function(request_: Request) -> None:
    assert len(functions_of(request_)) == 1, functions_of(request_)


def test_every_http_function_is_walked() -> None:
    walked = set().union(*(functions_of(r) for r in API))
    assert walked == set(ROUTES), set(ROUTES) - walked


def test_uploads_are_block_blob_puts_through_the_sas_into_the_profiles_folder() -> None:
    for upload in UPLOADS:
        assert upload.method == "PUT"
        assert upload.headers["x-ms-blob-type"] == "BlockBlob"
        parts = urlsplit(upload.url)
        container, profile, name = parts.path.rsplit("/", 3)[1:]
        assert (container, profile) == (UPLOAD_CONTAINER, PLACEHOLDER)
        assert parts.query, "the SAS goes in the query"
    names = {urlsplit(u.url).path.rsplit("/", 1)[1].lower() for u in UPLOADS}
    required = {
        "school.csv",
        "section.csv",
        "student.csv",
        "teacher.csv",
        "studentenrollment.csv",
        "teacherroster.csv",
    }
    assert required <= names


def test_uploaded_files_exist() -> None:
    files = [u.body.strip()[2:] for u in UPLOADS if u.body.startswith("< ")]
    assert len(files) == 6
    for name in files:
        assert (HTTP_FILE.parent / name).is_file(), name


def test_the_bodies_of_creates_and_replaces_are_valid_profiles() -> None:
    bodies = [r for r in API if r.method in ("POST", "PUT") and r.body.strip()]
    assert len(bodies) == 2
    for request_ in bodies:
        assert request_.headers["content-type"] == "application/json"
        assert not isinstance(parse_settings(json.loads(request_.body)), Invalid), request_.title
    patch = next(r for r in API if r.method == "PATCH")
    assert json.loads(patch.body) == {"displayName": "Contoso district (renamed)"}
