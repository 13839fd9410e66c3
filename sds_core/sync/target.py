"""The port a sync writes through: the app's own directory today, Microsoft Graph v1.0 next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sds_core.sync.model import DirectoryChange, SyncIssue


class DirectoryTarget(Protocol):
    """Where a profile's synced directory lives. Every method is idempotent: a retry is harmless."""

    def prepare(self, profile_id: str, sizes: Mapping[str, int]) -> None:
        """Make the target ready for the profile's writes; `sizes`: entities per kind in the plan."""

    def apply(self, profile_id: str, changes: Sequence[DirectoryChange]) -> list[SyncIssue]:
        """Write one batch of changes; return the records the target itself refused."""
