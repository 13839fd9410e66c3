"""Identity-based storage, as the Azure deployment runs it (no account key): Azurite over HTTPS with
bearer tokens. The upload URL is then a user delegation SAS (production's only signer: the template
turns account keys off), and strays are removed exactly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError

from sds_app.settings import UPLOAD_CONTAINER
from sds_app.storage.account import StorageAccount, StorageConfig
from sds_app.storage.deadlines import BACKGROUND
from sds_app.storage.sas import UserDelegationSigner, signer_for, upload_url
from sds_app.storage.strays import remove_exactly
from tests.azurite import ACCOUNT, AzuriteProcess
from tests.tls import loopback_certificate

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


class EmulatorCredential:
    """A token Azurite's basic OAuth accepts (it checks issuer, audience and lifetime, not signature)."""

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com", "iss": f"https://sts.windows.net/{TENANT}/",
            "tid": TENANT, "oid": str(uuid.uuid4()), "iat": now, "nbf": now - 60, "exp": now + 3600,
        }
        return AccessToken(jwt.encode(claims, "not-checked-by-the-emulator-32-bytes", algorithm="HS256"), now + 3600)

    def get_token_info(self, *scopes: str, **_: object) -> AccessToken:
        return self.get_token(*scopes)


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AzuriteProcess, Path]]:
    cert, key = loopback_certificate(tmp_path_factory.mktemp("tls"))
    process = AzuriteProcess(oauth_tls=(str(cert), str(key)))
    try:
        yield process, cert
    finally:
        process.stop()


@pytest.fixture
def identity_account(
    oauth_azurite: tuple[AzuriteProcess, Path], monkeypatch: pytest.MonkeyPatch
) -> StorageAccount:
    process, cert = oauth_azurite
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # trust the emulator's certificate
    env = {
        "AzureWebJobsStorage__blobServiceUri": f"https://127.0.0.1:{process.azurite.blob_port}/{ACCOUNT}",
        "AzureWebJobsStorage__queueServiceUri": f"https://127.0.0.1:{process.azurite.queue_port}/{ACCOUNT}",
        "AzureWebJobsStorage__tableServiceUri": f"https://127.0.0.1:{process.azurite.table_port}/{ACCOUNT}",
    }
    account = StorageAccount(StorageConfig.from_env(env))
    account.__dict__["credential"] = EmulatorCredential()  # in Azure: the managed identity
    try:
        account.blobs.create_container(UPLOAD_CONTAINER)
    except HttpResponseError as exists:
        assert exists.status_code == 409
    return account


def _documented_string_to_sign(query: dict[str, str], resource: str) -> str:
    """The user delegation SAS string-to-sign for the SAS's version (2026-10-06: the fields of
    Microsoft's "Create a user delegation SAS" in order, each on its line, absent ones empty; the
    order as azure-storage-blob 12.31 writes it, which Azurite cannot check for this version)."""
    fields = [
        "sp", "st", "se", resource, "skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid",
        "scid", "skdutid", "sduoid", "sip", "spr", "sv", "sr", "snapshot", "ses", "srh", "srq",
        "rscc", "rscd", "rsce", "rscl", "rsct",
    ]
    return "\n".join(f if f == resource else query.get(f, "") for f in fields)


def test_the_upload_url_is_a_user_delegation_sas_for_create_and_write_only(
    identity_account: StorageAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Azurite 3.35 (the last for Node 20) hands out user delegation keys over OAuth but predates
    # the string-to-sign of the SDK's SAS version (srh, srq): it refuses the SAS itself. So the
    # signature is checked here against the documented format with the key Azurite issued.
    assert isinstance(signer_for(identity_account), UserDelegationSigner)
    issued: list[Any] = []
    blobs = identity_account.blobs
    original = blobs.get_user_delegation_key

    def spy(*args: Any, **kwargs: Any) -> Any:
        issued.append(original(*args, **kwargs))
        return issued[-1]

    monkeypatch.setattr(blobs, "get_user_delegation_key", spy)
    now = datetime.now(UTC).replace(microsecond=0)
    profile_id = str(uuid.uuid4())
    url = upload_url(identity_account, profile_id, 60, now)
    split = urlsplit(url)
    assert split.path == f"/{ACCOUNT}/{UPLOAD_CONTAINER}/{profile_id}"
    query = {k: v[0] for k, v in parse_qs(split.query).items()}
    (key,) = issued
    assert {k: query[k] for k in ("sp", "sr", "spr", "skoid", "sktid", "sks", "skt", "ske")} == {
        "sp": "cw", "sr": "c", "spr": "https", "skoid": key.signed_oid, "sktid": TENANT,
        "sks": "b", "skt": key.signed_start, "ske": key.signed_expiry,
    }
    assert (query["st"], query["se"]) == (key.signed_start, key.signed_expiry)  # the key lives as long
    assert datetime.fromisoformat(query["se"]) - datetime.fromisoformat(query["st"]) == timedelta(minutes=65)
    resource = f"/blob/{ACCOUNT}/{UPLOAD_CONTAINER}"
    expected = hmac.new(
        base64.b64decode(key.value), _documented_string_to_sign(query, resource).encode(), hashlib.sha256
    ).digest()
    assert query["sig"] == base64.b64encode(expected).decode()


def test_a_stray_is_removed_by_its_exact_name_and_nothing_else_goes(
    identity_account: StorageAccount,
) -> None:
    uploads = identity_account.blobs.get_container_client(UPLOAD_CONTAINER)
    victim = f"{uuid.uuid4()}/school.csv"
    uploads.upload_blob(victim, b"victim")
    attacker = str(uuid.uuid4())
    stray = f"{attacker}/../{victim}"
    # `\` reaches the service unresolved and is stored as `/`: the name a stray has.
    uploads.upload_blob(stray.replace("/", "\\"), b"stray")
    listed = {b.name: b.etag for b in uploads.list_blobs(name_starts_with=attacker)}
    assert list(listed) == [stray]
    assert remove_exactly(identity_account, UPLOAD_CONTAINER, stray, listed[stray])
    assert list(uploads.list_blob_names(name_starts_with=attacker)) == []
    assert uploads.get_blob_client(victim).download_blob().readall() == b"victim"


def test_an_etag_that_is_not_the_strays_removes_nothing(identity_account: StorageAccount) -> None:
    uploads = identity_account.blobs.get_container_client(UPLOAD_CONTAINER)
    attacker = str(uuid.uuid4())
    stray = f"{attacker}/../x.csv"
    uploads.upload_blob(stray.replace("/", "\\"), b"stray")
    assert not remove_exactly(identity_account, UPLOAD_CONTAINER, stray, '"0x0"')
    assert list(uploads.list_blob_names(name_starts_with=attacker)) == [stray]
    assert BACKGROUND.retry_timeouts is False  # a refused removal is reported, never retried forever
