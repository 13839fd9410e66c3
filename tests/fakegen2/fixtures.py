"""The Gen2 stand-in as a pytest fixture (import it into a test module or conftest to use it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakegen2.server import FakeGen2


@pytest.fixture
def fake_gen2() -> Iterator[FakeGen2]:
    """A Data Lake Gen2 endpoint on loopback; `fake_gen2.host` is its SDS_UPLOAD_HOSTS entry.

    Tests assert `fake_gen2.violations == []` at the end (or the violation they provoke).
    """
    fake = FakeGen2()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
