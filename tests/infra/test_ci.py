"""CI and the tests leave a developer's own Azurite alone, and CI scans the template."""

from __future__ import annotations

import re
from pathlib import Path

from tests.azurite import AzuriteProcess

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PORTS = {10000, 10001, 10002}


def _commands(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_ci_neither_deletes_nor_starts_an_azurite_of_its_own() -> None:
    # `npm run azurite` keeps its data in .azurite/ on the default ports: a developer's, not CI's.
    commands = "\n".join(_commands((REPO / ".ci" / "run").read_text()))
    assert ".azurite" not in commands
    assert not re.search(r"\bazurite\b", commands.replace("node_modules", ""))
    assert "SDS_TEST_AZURITE" not in commands


def test_ci_scans_the_template_and_fails_on_what_it_cannot_parse() -> None:
    commands = "\n".join(_commands((REPO / ".ci" / "run").read_text()))
    assert "checkov -d infra --framework bicep --skip-download" in commands
    assert 'grep -q "Parsing errors"' in commands


def test_the_tests_azurite_is_private() -> None:
    process = AzuriteProcess()
    try:
        ports = {process.azurite.blob_port, process.azurite.queue_port, process.azurite.table_port}
        assert not ports & DEFAULT_PORTS
        assert ".azurite" not in Path(process.folder).parts and not Path(process.folder).is_relative_to(REPO)
    finally:
        process.stop()
