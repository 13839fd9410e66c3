"""The profile's sync options, read from its Graph JSON (plain data in, frozen data out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Customization name in the profile -> canonical file name it governs.
CUSTOMIZATION_FILES = {
    "school": "school.csv",
    "section": "section.csv",
    "student": "student.csv",
    "teacher": "teacher.csv",
    "studentEnrollment": "studentenrollment.csv",
    "teacherRoster": "teacherroster.csv",
}


@dataclass(frozen=True)
class Customization:
    """One entity's customization: which optional columns sync, deferral, display name updates."""

    optional_properties: frozenset[str] | None = None  # None: every optional column
    is_sync_deferred: bool = False
    allow_display_name_update: bool = False

    def allows(self, column: str) -> bool:
        """Whether the optional column `column` (CSV header name) is synced."""
        return self.optional_properties is None or column in self.optional_properties


@dataclass(frozen=True)
class MatchingOption:
    """How a source user is matched to an existing directory account."""

    source_property: str = "Username"
    target_property: str = "userPrincipalName"
    target_domain: str | None = None


@dataclass(frozen=True)
class SyncOptions:
    """Everything of the profile that changes what a sync writes."""

    customizations: Mapping[str, Customization] = field(default_factory=dict)
    creates_users: bool = True
    user_domains: Mapping[str, str] = field(default_factory=dict)  # role -> domain
    matching: Mapping[str, MatchingOption] = field(default_factory=dict)  # role -> option
    replace_special_characters: bool = False

    def customization(self, name: str) -> Customization:
        """The customization named as in the profile (`student`, `studentEnrollment`...)."""
        return self.customizations.get(name, Customization())

    def deferred(self, name: str) -> bool:
        """Whether the entity named `name` is not synced in this run."""
        return self.customization(name).is_sync_deferred

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any], now: datetime | None = None) -> SyncOptions:
        """Read the options from a profile resource as graph-api.md shows it."""
        provider = profile.get("dataProvider") or {}
        raw = provider.get("customizations") or {}
        customizations = {
            name: _customization(raw.get(name) or {}, now) for name in CUSTOMIZATION_FILES
        }
        identity = profile.get("identitySynchronizationConfiguration") or {}
        kind = _odata_type(identity.get("@odata.type", ""))
        matching = kind.endswith("educationidentitymatchingconfiguration")
        domains = {
            str(d.get("appliesTo", "")): str(d.get("name", "")).strip()
            for d in identity.get("userDomains") or []
            if d.get("name")
        }
        options = {
            str(o.get("appliesTo", "")): MatchingOption(
                source_property=o.get("sourcePropertyName") or "Username",
                target_property=o.get("targetPropertyName") or "userPrincipalName",
                target_domain=(o.get("targetDomain") or None),
            )
            for o in identity.get("matchingOptions") or []
        }
        return cls(
            customizations=customizations,
            creates_users=not matching,
            user_domains=domains,
            matching=options,
            replace_special_characters=bool(profile.get("handleSpecialCharacterConstraint")),
        )


def _odata_type(value: str) -> str:
    return value.lstrip("#").lower()


def _customization(raw: Mapping[str, Any], now: datetime | None) -> Customization:
    props = raw.get("optionalPropertiesToSync")
    deferred = bool(raw.get("isSyncDeferred"))
    start = raw.get("synchronizationStartDate")
    if start and now is not None and not str(start).startswith("0001-"):
        # A start date still in the future defers the entity, as the original's wizard did.
        when = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        deferred = deferred or when > now
    return Customization(
        optional_properties=None if props is None else frozenset(str(p) for p in props),
        is_sync_deferred=deferred,
        allow_display_name_update=bool(raw.get("allowDisplayNameUpdate")),
    )
