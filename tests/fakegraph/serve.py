"""Serve the fake Industry Data API in its own process: `python -m tests.fakegraph.serve`.

Prints the endpoint on the first line of stdout, the connector's ids on the second, the Gen2
stand-in's host:port (for SDS_UPLOAD_HOSTS) on the third, and serves until stdin closes (for
benchmarks, whose measured process must not hold the fake's memory).
"""

from __future__ import annotations

import json
import sys

from tests.fakegraph.server import FakeIndustryData, ValidationOutcome


def main() -> int:
    """Serve until stdin closes; one connector set up, its ids on the second line."""
    fake = FakeIndustryData()
    fake.validations.extend(ValidationOutcome(running_polls=0) for _ in range(100))
    print(fake.start(), flush=True)
    print(json.dumps(fake.connector_setup("bench connector")), flush=True)
    print(fake.gen2.host, flush=True)
    sys.stdin.read()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
