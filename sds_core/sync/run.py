"""Applying a plan in batches: a checkpoint after each batch, so a run can pause, resume or be redelivered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sds_core.sync.model import SyncIssue
from sds_core.sync.plan import Step, SyncPlan
from sds_core.sync.target import DirectoryTarget

STAGES = {
    "school": "Processing schools",
    "user": "Processing students and teachers",
    "class": "Processing sections and adding students and teachers into sections",
}
REMOVAL_STAGE = "Removing records that are no longer in the files"


def stage_of(step: Step) -> str:
    """The statusMessage stage a step belongs to (the original's stage names)."""
    if step.op in ("deactivate", "remove"):
        return REMOVAL_STAGE
    return STAGES[step.ekey.partition("/")[0]]


@dataclass(frozen=True)
class Batch:
    """What one applied batch reports to the checkpoint."""

    done: int
    total: int
    stage: str
    issues: Sequence[SyncIssue]


def apply_plan(
    plan: SyncPlan,
    target: DirectoryTarget,
    start: int,
    batch_size: int,
    checkpoint: Callable[[Batch], bool],
) -> int:
    """Apply steps from `start`; after each batch call `checkpoint`, stopping when it says False.

    Returns the number of steps done. Steps are idempotent, so starting again from an older
    checkpoint (a crash between a batch and its checkpoint) ends in the same directory.
    """
    steps, done = plan.steps, start
    target.prepare(plan.profile_id, plan.sizes())
    while done < len(steps):
        batch = steps[done : done + batch_size]
        issues = target.apply(plan.profile_id, plan.changes(batch))
        done += len(batch)
        if not checkpoint(Batch(done, len(steps), stage_of(batch[-1]), issues)):
            break
    return done
