"""Shared fixtures: Azurite and the app's settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.azurite import Azurite, AzuriteProcess


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A private Azurite for this session (free ports, a temporary data folder)."""
    process = AzuriteProcess()
    try:
        yield process.azurite
    finally:
        process.stop()


@pytest.fixture
def storage_env(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point AzureWebJobsStorage at Azurite for one test; returns the connection string."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    return azurite.connection_string


from tests.fakegraph.fixtures import fake_graph  # noqa: E402,F401 - the fake Industry Data API
from tests.fakegen2.fixtures import fake_gen2  # noqa: E402,F401 - the Gen2 stand-in
