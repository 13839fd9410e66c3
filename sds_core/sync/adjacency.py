"""Links between entities as index arrays: for each owner, its linked targets in ascending order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sds_core.sync.digests import set_digests


@dataclass(frozen=True)
class Adjacency:
    """Owner i links to targets[starts[i]:starts[i+1]] (distinct, ascending)."""

    starts: np.ndarray
    targets: np.ndarray

    def of(self, owner: int) -> np.ndarray:
        """The targets of one owner."""
        return self.targets[self.starts[owner] : self.starts[owner + 1]]

    def digests(self, element: np.ndarray) -> np.ndarray:
        """Each owner's set digest, from the targets' own digests."""
        return set_digests(self.starts, self.targets, element)


def adjacency(owners: np.ndarray, targets: np.ndarray, n_owners: int, n_targets: int) -> Adjacency:
    """Group (owner, target) pairs by owner; repeated pairs count once."""
    codes = owners.astype(np.int64) * max(n_targets, 1) + targets.astype(np.int64)
    codes.sort()  # np.unique hashes first: 10x slower on millions of pairs
    if len(codes):
        codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    by_owner, target = np.divmod(codes, max(n_targets, 1))
    starts = np.searchsorted(by_owner, np.arange(n_owners + 1))
    return Adjacency(starts, target)


def kept_pairs(
    owners: np.ndarray, targets: np.ndarray, owner_ok: np.ndarray, target_ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose owner and target are both known (>= 0) and allowed by the masks."""
    known = (owners >= 0) & (targets >= 0)
    owners, targets = owners[known], targets[known]
    keep = owner_ok[owners] & target_ok[targets]
    return owners[keep], targets[keep]
