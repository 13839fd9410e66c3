"""Profile ids: which are accepted, and the one spelling each is stored under.

A GUID is accepted in any letter case, with or without braces, and stored lower-case without
them, so every spelling addresses the same profile. Other ids (for scripts that choose their own)
are 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or a digit; letter
case does not matter either (stored lower-case). No accepted id holds `/`, `\\`, `:` or a
control character, so an id never reaches a storage name as anything but itself.
"""

from __future__ import annotations

import re

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OTHER = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_LENGTH = 64


def canonical_profile_id(raw: object) -> str | None:
    """The stored spelling of a profile id, or None when `raw` cannot be one."""
    if not isinstance(raw, str) or not raw.isascii() or len(raw) > MAX_LENGTH + 2:
        return None
    lowered = raw.lower()
    if lowered.startswith("{") and lowered.endswith("}"):
        inner = lowered[1:-1]
        return inner if _GUID.fullmatch(inner) else None
    return lowered if _OTHER.fullmatch(lowered) else None


def is_canonical(profile_id: str) -> bool:
    """Whether `profile_id` is already in its stored spelling."""
    return canonical_profile_id(profile_id) == profile_id
