"""Where the tests' committed data lives."""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "golden"
GOLDEN_V21 = DATA / "golden-v21"
SAMPLES = DATA / "samples"
