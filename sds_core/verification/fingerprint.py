"""The fingerprint of a verification: which files, in which version, under which rules."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def fingerprint(files: Iterable[tuple[str, str]], options_version: str) -> str:
    """Hash of the folder's (blob name, ETag) pairs and the options' version; order does not matter."""
    digest = hashlib.sha256(options_version.encode())
    for name, etag in sorted(files):
        digest.update(b"\0" + name.encode() + b"\0" + etag.strip('"').encode())
    return digest.hexdigest()[:32]
