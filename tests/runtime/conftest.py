"""The runtime harness's fixtures: one started host per module, a fresh Azurite, the app's settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.fixtures import AppEnv, reset_caches, signer
from tests.app import tokens
from tests.azurite import Azurite, AzuriteProcess
from tests.runtime.host import FunctionsHost, running_host

REPO = Path(__file__).resolve().parents[2]

__all__ = ["fresh_azurite", "host", "runtime_env", "signer"]


@pytest.fixture(scope="module")
def fresh_azurite() -> Iterator[Azurite]:
    """An Azurite of this module's own, started empty: nothing is created before the app runs."""
    process = AzuriteProcess()
    try:
        yield process.azurite
    finally:
        process.stop()


@pytest.fixture(scope="module")
def host() -> Iterator[FunctionsHost]:
    """The app indexed and loaded by azure-functions-runtime, as a new worker process does."""
    with running_host(REPO) as started:
        yield started


@pytest.fixture
def runtime_env(
    host: FunctionsHost,
    fresh_azurite: Azurite,
    signer: tokens.Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AppEnv]:
    """Entra mode with the test tenant and a file:// JWKS; storage on the module's Azurite."""
    jwks = tmp_path / "jwks.json"
    monkeypatch.setenv("AzureWebJobsStorage", fresh_azurite.connection_string)
    monkeypatch.setenv("SDS_AUTH_MODE", "entra")
    monkeypatch.setenv("SDS_TENANT_ID", tokens.TENANT)
    monkeypatch.setenv("SDS_AUDIENCE", tokens.APP_ID_URI)
    monkeypatch.setenv("SDS_JWKS_URI", tokens.write_jwks(jwks, signer))
    for name in ("SDS_UPLOAD_URL_TTL_MINUTES", "SDS_SYNC_TARGET", "SDS_AZURE_SDK_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    reset_caches()
    yield AppEnv(signer, jwks)
    reset_caches()
