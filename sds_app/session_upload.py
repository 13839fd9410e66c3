"""The files of one upload session: what the forwarder and the tenant check send, one way.

Every upload to a School Data Sync connector goes through `upload_session_files`, so that the
protocol, the hosts accepted and the deadlines are decided in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sds_app.graph import IndustryDataClient


@dataclass(frozen=True)
class SessionFile:
    """One file for the session: its exact name, its size, and its bytes as chunks (streamed)."""

    name: str
    size: int
    chunks: Callable[[], Iterator[bytes]]


def upload_session_files(graph: IndustryDataClient, session_url: str,
                         files: Iterable[SessionFile]) -> None:
    """Upload every file into the session's folder (an error of the first refused file raises)."""
    for file in files:
        graph.upload_file(session_url, file.name, b"".join(file.chunks()))


def in_memory(name: str, data: bytes) -> SessionFile:
    """A small file already in memory (the tenant check's sample files)."""
    return SessionFile(name, len(data), lambda: iter((data,)))
