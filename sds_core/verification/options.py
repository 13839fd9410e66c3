"""The profile-dependent rules of verification, as plain data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class VerifyOptions:
    """Everything that changes which rules apply; the default is "no profile"."""

    created_roles: frozenset[str] = frozenset()
    """Roles whose accounts the profile creates: First Name, Last Name and Password become required."""
    optional_properties: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    """Per customization (school, section, ...): optional columns checked; absent or None = all."""
    replace_special_characters: bool = False
    """handleSpecialCharacterConstraint: fixable characters give an Information, not an Error."""
    max_rows_per_file: int = 0
    """The original's 500,000 rows per file limit; 0 = no limit."""
    detail_rows_per_message: int = 1000
    """Rows kept behind each message (the total is always counted)."""
    new_sds: bool = False
    """The files go on to the new School Data Sync: its own rules apply too (newsds.py)."""
    grade_levels: frozenset[str] | None = None
    """The tenant's grade codes (RefGradeLevel, not disabled, lower-cased) for message 22; None:
    the default list of values (newsds.GRADES)."""
    format: str = "v1"
    """The CSV format of the set: "v1" (the classic six) or "v2.1" (fileformats.detect_format tells)."""

    def __post_init__(self) -> None:
        if self.format not in ("v1", "v2.1"):
            raise ValueError(f"unknown SDS CSV format {self.format!r}: expected v1 or v2.1")

    @classmethod
    def from_profile(
        cls,
        profile: Mapping[str, Any] | None,
        new_sds: bool = False,
        format: str = "v1",
        grade_levels: frozenset[str] | None = None,
        **limits: int,
    ) -> VerifyOptions:
        """Options for a profile as the API stores it (Graph JSON); None means no profile."""
        if not profile:
            return cls(new_sds=new_sds, format=format, grade_levels=grade_levels, **limits)
        identity = profile.get("identitySynchronizationConfiguration") or {}
        created: frozenset[str] = frozenset()
        if "creation" in str(identity.get("@odata.type", "")).lower():
            created = frozenset(
                str(d.get("appliesTo", "")).lower() for d in identity.get("userDomains") or []
            )
        customizations = (profile.get("dataProvider") or {}).get("customizations") or {}
        optional = {
            name: None if c.get("optionalPropertiesToSync") is None
            else frozenset(c["optionalPropertiesToSync"])
            for name, c in customizations.items()
            if isinstance(c, Mapping)
        }
        return cls(
            created_roles=created,
            optional_properties=optional,
            replace_special_characters=bool(profile.get("handleSpecialCharacterConstraint")),
            new_sds=new_sds,
            grade_levels=grade_levels,
            format=format,
            **limits,
        )

    def checks_optional(self, customization: str, column: str) -> bool:
        """Whether an optional column of a file is checked."""
        allowed = self.optional_properties.get(customization)
        return allowed is None or column in allowed

    def version(self) -> str:
        """A stable hash of the options, part of a verification's fingerprint."""
        payload = {
            "created": sorted(self.created_roles),
            "optional": {k: None if v is None else sorted(v) for k, v in sorted(self.optional_properties.items())},
            "special": self.replace_special_characters,
            "maxRows": self.max_rows_per_file,
            "detailRows": self.detail_rows_per_message,
        }
        if self.new_sds:  # only when set, so that the fingerprints of other profiles stay as they were
            payload["newSds"] = True
        if self.grade_levels is not None:  # likewise: only a tenant's own list changes them
            payload["gradeLevels"] = sorted(self.grade_levels)
        if self.format != "v1":  # likewise: a v1 set's fingerprint is unchanged
            payload["format"] = self.format
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
