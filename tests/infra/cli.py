"""Running a deployment script with the fake az, azd and curl first on PATH."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).with_name("fake_cli.py")


@dataclass
class Run:
    """A finished script run and the calls it made."""

    returncode: int
    output: str
    calls: list[dict[str, Any]]

    def called(self, key: str) -> list[dict[str, Any]]:
        """The calls of one command, e.g. `az rest PATCH`."""
        return [c for c in self.calls if c["key"] == key]


def run_script(
    tmp: Path,
    script: str,
    replies: dict[str, list[dict[str, Any]]],
    env: dict[str, str],
    *args: str,
) -> Run:
    """Run scripts/<script> with fakes for az, azd and curl and only `env` (plus PATH) set."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for cli in ("az", "azd", "curl"):
        wrapper = bin_dir / cli
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {cli} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    log = tmp / "calls.jsonl"
    done = subprocess.run(
        [str(REPO / "scripts" / script), *args],
        env={
            "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(tmp),
            "FAKE_CLI_LOG": str(log),
            "FAKE_CLI_REPLIES": json.dumps(replies),
            **env,
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return Run(done.returncode, done.stdout + done.stderr, calls)
