"""Azurite for the tests: a private instance on free ports, never one somebody else started."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "devstoreaccount1"
# Azurite's published well-known development key (not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Azurite:
    """Endpoints of a running Azurite."""

    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        """Connection string with explicit endpoints for all three services."""
        host = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={host}:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint={host}:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint={host}:{self.table_port}/{ACCOUNT};"
        )


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AzuriteProcess:
    """Starts Azurite from node_modules in a temporary folder and stops it.

    `in_memory` keeps tables in memory only and `heap_mib` raises node's heap: at the L bench scale,
    Azurite's periodic save of its table database outgrows what V8 allows. `oauth_tls` (certificate
    and key files) serves HTTPS and accepts bearer tokens (`--oauth basic`), as Azure does for
    identity-based connections.
    """

    def __init__(
        self, in_memory: bool = False, heap_mib: int | None = None, oauth_tls: tuple[str, str] | None = None
    ) -> None:
        self.folder = tempfile.mkdtemp(prefix="azurite-")
        self.azurite = Azurite(_free_port(), _free_port(), _free_port())
        binary = REPO / "node_modules" / ".bin" / "azurite"
        if not binary.exists():
            raise RuntimeError("Azurite is not installed: run `npm ci` in the repository first")
        self.process = subprocess.Popen(
            [
                str(binary), "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", str(self.azurite.blob_port),
                "--queuePort", str(self.azurite.queue_port),
                "--tablePort", str(self.azurite.table_port),
                *(["--inMemoryPersistence"] if in_memory else ["--location", self.folder]),
                *(["--oauth", "basic", "--cert", oauth_tls[0], "--key", oauth_tls[1]] if oauth_tls else []),
            ],
            env={**os.environ, **({"NODE_OPTIONS": f"--max-old-space-size={heap_mib}"} if heap_mib else {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        ports = (self.azurite.blob_port, self.azurite.queue_port, self.azurite.table_port)
        while not all(_answers(p) for p in ports):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("Azurite did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the process and remove its data."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
