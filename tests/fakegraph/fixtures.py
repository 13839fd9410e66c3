"""The fake Industry Data server as a pytest fixture, with the app's settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sds_app.graph import get_graph
from sds_app.settings import get_settings
from tests.fakegraph.server import FakeIndustryData


@pytest.fixture
def fake_graph(storage_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndustryData]:
    """A fake Industry Data API on loopback; SDS_GRAPH_ENDPOINT points at it, SDS_GRAPH_AUTH=none.

    Its upload sessions are SAS URLs on the test's Azurite (AzureWebJobsStorage when the fixture
    starts). Tests assert `fake_graph.violations == []` at the end.
    """
    fake = FakeIndustryData(storage_env)
    endpoint = fake.start()
    monkeypatch.setenv("SDS_GRAPH_ENDPOINT", endpoint)
    monkeypatch.setenv("SDS_GRAPH_AUTH", "none")
    get_settings.cache_clear()
    get_graph.cache_clear()
    try:
        yield fake
    finally:
        fake.stop()
        get_graph.cache_clear()
