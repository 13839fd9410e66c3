"""Fixtures of the app tests: settings pointed at Azurite and at a local JWKS, caches reset."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sds_app.auth import clear_key_sets
from sds_app.settings import SYNC_QUEUE, get_settings
from sds_app.storage.account import StorageAccount
from sds_app.storage.clients import get_account
from sds_app.storage.directory import TableDirectory
from sds_app.storage.profiles import ProfileStore
from sds_app.storage.provisioning import ensure_storage, forget_storage
from sds_app.storage.purge import purge
from tests.app import tokens
from tests.azurite import Azurite, AzuriteProcess


def reset_caches() -> None:
    """Forget settings, clients, provisioning and keys cached by earlier tests."""
    get_settings.cache_clear()
    get_account.cache_clear()
    forget_storage()
    clear_key_sets()


@dataclass
class AppEnv:
    """What a test needs: a signer the app trusts, tokens, and the storage account."""

    signer: tokens.Signer
    jwks_path: Path

    def token(self, **overrides: object) -> str:
        """A valid token (ReadWrite) unless overrides say otherwise."""
        return self.signer.sign(tokens.claims(**overrides))

    @property
    def account(self) -> StorageAccount:
        """The app's storage account (Azurite)."""
        return get_account()


@pytest.fixture(scope="session")
def signer() -> tokens.Signer:
    """One key pair for the session (generating RSA keys is slow)."""
    return tokens.Signer.generate()


@pytest.fixture
def app_env(
    storage_env: str, signer: tokens.Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AppEnv]:
    """Entra mode with the test tenant, audience and file:// JWKS; storage on Azurite."""
    jwks = tmp_path / "jwks.json"
    monkeypatch.setenv("SDS_AUTH_MODE", "entra")
    monkeypatch.setenv("SDS_TENANT_ID", tokens.TENANT)
    monkeypatch.setenv("SDS_AUDIENCE", tokens.APP_ID_URI)
    monkeypatch.setenv("SDS_JWKS_URI", tokens.write_jwks(jwks, signer))
    monkeypatch.delenv("SDS_UPLOAD_URL_TTL_MINUTES", raising=False)
    reset_caches()
    yield AppEnv(signer, jwks)
    reset_caches()


_private: list[AzuriteProcess] = []


@pytest.fixture(scope="session")
def private_azurite() -> Azurite:
    """An Azurite of our own, for assertions on whole collections (every profile, the sync queue).

    One per process: test modules import this fixture, and each import would otherwise be a
    separate session fixture with its own Azurite.
    """
    if not _private:
        _private.append(AzuriteProcess())
        atexit.register(_private[0].stop)
    return _private[0].azurite


@pytest.fixture
def private_env(
    app_env: AppEnv, private_azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> AppEnv:
    """app_env on the private Azurite, emptied of profiles and queued runs."""
    monkeypatch.setenv("AzureWebJobsStorage", private_azurite.connection_string)
    reset_caches()
    account = get_account()
    ensure_storage(account)
    for profile_id in ProfileStore(account).ids():
        purge(account, profile_id)
    directory = TableDirectory(account)
    for profile_id in directory.profiles():  # rows other tests synced without a record
        directory.purge(profile_id)
    account.queues.get_queue_client(SYNC_QUEUE).clear_messages()
    return app_env
