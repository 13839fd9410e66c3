"""What a sync plan hands to a target, and the per-record problems it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The parts of each kind of entity, written separately so deferred parts can stay as they were.
PARTS: dict[str, tuple[str, ...]] = {
    "school": ("resource", "users", "classes"),
    "class": ("resource", "members", "teachers"),
    "user": ("resource", "schools", "classes"),
}
# The kind of entity a link part points at.
LINK_KINDS = {
    "users": "user",
    "members": "user",
    "teachers": "user",
    "classes": "class",
    "schools": "school",
}


@dataclass(frozen=True, slots=True)
class DirectoryChange:
    """One entity to write: `add`, `update` (parts given), `deactivate` (users) or `remove`."""

    kind: str
    key: str
    id: str
    op: str
    resource: dict[str, Any] | None = None
    links: dict[str, tuple[str, ...]] = field(default_factory=dict)  # part -> linked keys
    # Only on add (a target that creates accounts needs it); kept out of repr, so no log shows it.
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SyncIssue:
    """A record that could not be synced: the data of an educationSynchronizationError."""

    entry_type: str
    error_code: str
    error_message: str
    joining_value: str
    reportable_identifier: str

    def to_graph(self, error_id: str, recorded: str) -> dict[str, str]:
        """The educationSynchronizationError resource, with an id and recordedDateTime."""
        return {
            "id": error_id,
            "entryType": self.entry_type,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "joiningValue": self.joining_value,
            "recordedDateTime": recorded,
            "reportableIdentifier": self.reportable_identifier,
        }
