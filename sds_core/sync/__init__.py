"""Sync planning: from verified rows and a profile to the writes that bring a directory up to date."""

from __future__ import annotations

from sds_core.sync.baseline import Baseline, dump_baseline, load_baseline
from sds_core.sync.model import LINK_KINDS, PARTS, DirectoryChange, SyncIssue
from sds_core.sync.options import SyncOptions
from sds_core.sync.plan import Step, SyncPlan, plan_sync
from sds_core.sync.resources import PROPERTIES, entity_id
from sds_core.sync.run import Batch, apply_plan, stage_of
from sds_core.sync.source import Source, read_source
from sds_core.sync.target import DirectoryTarget

__all__ = [
    "LINK_KINDS",
    "PARTS",
    "PROPERTIES",
    "Batch",
    "Baseline",
    "DirectoryChange",
    "DirectoryTarget",
    "Source",
    "Step",
    "SyncIssue",
    "SyncOptions",
    "SyncPlan",
    "apply_plan",
    "dump_baseline",
    "entity_id",
    "load_baseline",
    "plan_sync",
    "read_source",
    "stage_of",
]
