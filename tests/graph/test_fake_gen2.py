"""The Gen2 stand-in itself: it answers as the ADLS Gen2 reference says and refuses what it must."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient

from tests.fakegen2.server import FakeGen2

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
VERSION = {"x-ms-version": "2023-11-03"}


def _file_url(session: str, name: str, query: str = "") -> str:
    base, _, sas = session.partition("?")
    return f"{base}/{name}?{sas}{query}".replace("?&", "?")


def _call(method: str, url: str, data: bytes = b"", **headers: str) -> requests.Response:
    return requests.request(
        method, url, data=data, headers=VERSION | headers, timeout=5, allow_redirects=False
    )


def _code(response: requests.Response) -> tuple[int, str]:
    assert response.json()["error"]["code"] == response.headers["x-ms-error-code"]
    return response.status_code, response.headers["x-ms-error-code"]


def test_create_append_flush_and_read_back(fake_gen2: FakeGen2) -> None:
    """201, 202, 202, 200; the flushed bytes are read back by GET and described by HEAD."""
    session = fake_gen2.new_session(TENANT, "c1", "k1")
    url = _file_url(session, "School.csv")
    created = _call("PUT", url + "&resource=file")
    assert (created.status_code, created.content) == (201, b"")
    assert _call("PATCH", url + "&action=append&position=0", b"abc").status_code == 202
    assert _call("PATCH", url + "&action=append&position=3", b"de").status_code == 202
    assert fake_gen2.files(session) == {"School.csv": b""}  # appended is not yet committed
    flushed = _call(
        "PATCH",
        url + "&action=flush&position=5",
        **{"If-Match": created.headers["ETag"], "x-ms-content-type": "application/vnd.ms-excel"},
    )
    assert flushed.status_code == 200
    assert fake_gen2.files(session) == {"School.csv": b"abcde"}
    read = _call("GET", url)
    assert (read.status_code, read.content) == (200, b"abcde")
    head = _call("HEAD", url)
    assert (head.headers["Content-Length"], head.headers["Content-Type"]) == (
        "5",
        "application/vnd.ms-excel",
    )
    assert fake_gen2.violations == []


def test_create_overwrites_unless_if_none_match(fake_gen2: FakeGen2) -> None:
    """Path - Create overwrites by default; If-None-Match: * makes it 409 PathAlreadyExists."""
    session = fake_gen2.new_session(TENANT, "c1", "k1")
    url = _file_url(session, "School.csv")
    _call("PUT", url + "&resource=file")
    _call("PATCH", url + "&action=append&position=0", b"abc")
    _call("PATCH", url + "&action=flush&position=3")
    assert _code(_call("PUT", url + "&resource=file", **{"If-None-Match": "*"})) == (
        409,
        "PathAlreadyExists",
    )
    assert fake_gen2.files(session) == {"School.csv": b"abc"}
    assert _call("PUT", url + "&resource=file").status_code == 201
    assert fake_gen2.files(session) == {"School.csv": b""}


def test_positions_must_continue_the_file(fake_gen2: FakeGen2) -> None:
    """Append at the end of the appended data, flush at the total: else 400 InvalidFlushPosition."""
    session = fake_gen2.new_session(TENANT, "c1", "k1")
    url = _file_url(session, "School.csv")
    _call("PUT", url + "&resource=file")
    _call("PATCH", url + "&action=append&position=0", b"abc")
    assert _code(_call("PATCH", url + "&action=append&position=5", b"x")) == (
        400,
        "InvalidFlushPosition",
    )
    assert _code(_call("PATCH", url + "&action=flush&position=2")) == (400, "InvalidFlushPosition")
    assert _code(_call("PATCH", url + "&action=flush&position=3", b"x")) == (
        400,
        "ContentLengthMustBeZero",
    )
    assert _code(_call("PATCH", url + "&action=append", b"x")) == (
        400,
        "MissingRequiredQueryParameter",
    )
    chunked = _call("PATCH", url + "&action=append&position=3", iter([b"x"]))  # type: ignore[arg-type]
    assert _code(chunked) == (400, "MissingRequiredHeader")
    assert _code(
        _call("PATCH", _file_url(session, "Other.csv", "&action=append&position=0"), b"x")
    ) == (
        404,
        "PathNotFound",
    )
    assert len(fake_gen2.violations) == 6
    assert fake_gen2.files(session) == {"School.csv": b""}


def test_put_blob_is_refused(fake_gen2: FakeGen2) -> None:
    """Put Blob, as azure-storage-blob sends it, is answered 400 InvalidHeaderValue (Essella)."""
    session = fake_gen2.new_session(TENANT, "c1", "k1")
    parts = urlsplit(session)
    blob = BlobClient(
        f"{parts.scheme}://{parts.netloc}", TENANT, "c1/k1/School.csv", credential=parts.query
    )
    with pytest.raises(HttpResponseError) as refused:
        blob.upload_blob(b"SIS ID,Name\n1,A\n")
    assert (refused.value.status_code, refused.value.error_code) == (400, "InvalidHeaderValue")
    assert _code(_call("PUT", _file_url(session, "School.csv"), b"x")) == (
        400,
        "InvalidHeaderValue",
    )
    assert [v.split(": ", 1)[1] for v in fake_gen2.violations] == ["Put Blob (not Gen2)"] * 2
    assert fake_gen2.files(session) == {}


def test_the_sas_is_checked(fake_gen2: FakeGen2) -> None:
    """403 for an expired, tampered or foreign-folder SAS; a missing permission is a mismatch."""
    session = fake_gen2.new_session(TENANT, "c1", "k1")
    expired = fake_gen2.new_session(TENANT, "c1", "k2", ttl=timedelta(seconds=-1))
    reader = fake_gen2.new_session(TENANT, "c1", "k3", permissions="r")
    tampered = re.sub(r"sp=[^&]+", "sp=rcwdl", session)
    forged = re.sub(r"sig=[^&]+", "sig=AAAA", session)
    elsewhere = session.replace("/c1/k1", "/c1/k2")  # k1's SAS on k2's folder
    for url, detail in [
        (expired, "Signature not valid in the specified time frame"),
        (tampered, "Signature did not match"),
        (forged, "Signature did not match"),
        (elsewhere, "Signature did not match"),
        (session.split("?")[0], "no SAS"),
    ]:
        answer = _call("PUT", _file_url(url, "School.csv", "&resource=file"))
        assert _code(answer) == (403, "AuthenticationFailed")
        assert detail in answer.json()["error"]["message"]
    assert _code(_call("PUT", _file_url(reader, "School.csv", "&resource=file"))) == (
        403,
        "AuthorizationPermissionMismatch",
    )
    deeper = _call("PUT", _file_url(session, "sub/School.csv", "&resource=file"))
    assert deeper.status_code == 201  # a directory SAS covers what is below its folder
    assert fake_gen2.violations == []


def test_every_request_names_its_version_and_carries_no_token(fake_gen2: FakeGen2) -> None:
    """No x-ms-version: 400 MissingRequiredHeader; an Authorization header: refused, recorded."""
    session = fake_gen2.new_session(TENANT, "c1", "k1")
    url = _file_url(session, "School.csv", "&resource=file")
    unversioned = requests.put(url, timeout=5)
    assert _code(unversioned) == (400, "MissingRequiredHeader")
    assert _code(_call("PUT", url, Authorization="Bearer eyJ0")) == (
        400,
        "InvalidAuthenticationInfo",
    )
    assert [v.split(": ", 1)[1] for v in fake_gen2.violations] == [
        "no x-ms-version",
        "an Authorization header was sent to storage",
    ]
    assert all("eyJ0" not in str(r.headers) for r in fake_gen2.requests)
