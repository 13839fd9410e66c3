"""The delta baseline: what the last successful sync of a profile wrote, one compact entry per entity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """Digests of an entity's parts (in PARTS order), its display name, UPN and whether it is active."""

    digests: tuple[str | None, ...]
    display_name: str
    upn: str | None = None
    active: bool = True


Baseline = dict[str, Entry]  # "school/<key>", "class/<key>", "user/<role>:<SIS ID>" -> Entry


def digest(value: Any) -> str:
    """A short stable digest of a JSON-able value."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def dump_baseline(baseline: Baseline) -> bytes:
    """The baseline as compact JSON bytes (a document with a schemaVersion)."""
    entries = {k: [*e.digests, e.display_name, e.upn, int(e.active)] for k, e in baseline.items()}
    return json.dumps(
        {"schemaVersion": SCHEMA_VERSION, "entries": entries}, separators=(",", ":")
    ).encode()


def load_baseline(data: bytes | None) -> Baseline:
    """Read what dump_baseline wrote; nothing (no successful sync yet) is an empty baseline."""
    if not data:
        return {}
    doc = json.loads(data)
    if doc.get("schemaVersion") != SCHEMA_VERSION:
        return {}  # an unknown baseline only costs a full rewrite
    return {k: Entry(tuple(v[:3]), v[3], v[4], bool(v[5])) for k, v in doc["entries"].items()}
