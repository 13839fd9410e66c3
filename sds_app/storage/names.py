"""Every storage name built from a profile id, in one place.

Isolation by construction: an id is canonical (sds_core.models.ids) before it reaches a name,
and each profile's names sit under a prefix that ends with a separator no id contains, so no
other id can share or cover it (`a/` never covers `a.b/`). Profile records and per-profile data
live under different roots of the state container, so no id can make its data look like a record.
"""

from __future__ import annotations

from sds_core.models.ids import canonical_profile_id, is_canonical

RECORDS_ROOT = "profiles/"  # sds-state: one `{id}.json` per profile
DATA_ROOT = "data/"  # sds-state: `{id}/...`, everything else the app keeps for a profile
_RECORD_SUFFIX = ".json"


def _checked(profile_id: str) -> str:
    if not is_canonical(profile_id):
        raise ValueError(f"not a canonical profile id: {profile_id!r}")
    return profile_id


def record_blob(profile_id: str) -> str:
    """The state-container blob of a profile's record."""
    return f"{RECORDS_ROOT}{_checked(profile_id)}{_RECORD_SUFFIX}"


def record_id(blob_name: str) -> str | None:
    """The profile id of a record blob's name; None for anything that is not exactly a record."""
    if not blob_name.startswith(RECORDS_ROOT) or not blob_name.endswith(_RECORD_SUFFIX):
        return None
    candidate = blob_name[len(RECORDS_ROOT) : -len(_RECORD_SUFFIX)]
    return candidate if canonical_profile_id(candidate) == candidate else None


def data_prefix(profile_id: str) -> str:
    """The state-container prefix of everything kept for a profile besides its record."""
    return f"{DATA_ROOT}{_checked(profile_id)}/"


def data_blob(profile_id: str, *parts: str) -> str:
    """A state-container blob of a profile: `data/{id}/{parts...}` (parts are the app's own)."""
    return data_prefix(profile_id) + "/".join(parts)


def upload_prefix(profile_id: str) -> str:
    """The profile's folder in sds-uploads (`{profileId}/`, fixed by the upload contract)."""
    return f"{_checked(profile_id)}/"


MAX_FILE_NAME = 255
_UNSAFE_CHARS = frozenset("/\\") | {chr(c) for c in range(32)} | {"\x7f"}


def is_plain_file_name(name: str) -> bool:
    """A file name that addresses one blob as written: no path, no dot segment, no control character.

    Names outside this are never read, verified or deleted by name: the storage client resolves
    `..` segments (and the service turns `\\` into `/`), so such a name could address another blob.
    """
    return (
        0 < len(name) <= MAX_FILE_NAME
        and name not in (".", "..")
        and not any(c in _UNSAFE_CHARS for c in name)
        and name == name.strip()
    )


def upload_blob(profile_id: str, file_name: str) -> str:
    """The sds-uploads blob of one of a profile's files."""
    if not is_plain_file_name(file_name):
        raise ValueError(f"not a plain file name: {file_name!r}")
    return upload_prefix(profile_id) + file_name


def split_upload_blob(blob_name: str) -> tuple[str, str] | None:
    """(profile id, file name) of an sds-uploads blob named as the app names them; else None."""
    profile_id, slash, file_name = blob_name.partition("/")
    if not slash or canonical_profile_id(profile_id) != profile_id:
        return None
    return (profile_id, file_name) if is_plain_file_name(file_name) else None
