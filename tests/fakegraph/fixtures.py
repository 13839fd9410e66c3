"""The fake Industry Data server as a pytest fixture, with the app's settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sds_app.graph import get_graph
from sds_app.settings import get_settings
from tests.fakegraph.server import FakeIndustryData


@pytest.fixture
def fake_graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndustryData]:
    """A fake Industry Data API on loopback; SDS_GRAPH_ENDPOINT points at it, SDS_GRAPH_AUTH=none.

    Its upload sessions are folders on its Gen2 stand-in (`fake_graph.gen2`), whose host:port
    SDS_UPLOAD_HOSTS lists. Tests assert `fake_graph.violations == []` at the end.
    """
    fake = FakeIndustryData()
    endpoint = fake.start()
    monkeypatch.setenv("SDS_GRAPH_ENDPOINT", endpoint)
    monkeypatch.setenv("SDS_GRAPH_AUTH", "none")
    monkeypatch.setenv("SDS_UPLOAD_HOSTS", fake.gen2.host)
    get_settings.cache_clear()
    get_graph.cache_clear()
    try:
        yield fake
    finally:
        fake.stop()
        get_graph.cache_clear()
        get_settings.cache_clear()
