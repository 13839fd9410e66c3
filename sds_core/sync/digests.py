"""64-bit digests: of texts (one per row or key), and of sets of linked entities, computed in bulk.

0 is never a digest: the baseline uses it for "nothing written yet".
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NONE = np.uint64(0)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def text_digest(text: str) -> int:
    """The digest of one text."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") or 1


def text_digests(texts: pa.Array) -> np.ndarray:
    """The digest of each text of an array (a missing value counts as empty text)."""
    blake2b = hashlib.blake2b
    joined = b"".join(
        blake2b((t or "").encode(), digest_size=8).digest() for t in texts.to_pylist()
    )
    out = np.frombuffer(joined, dtype="<u8").astype(np.uint64)
    out[out == NONE] = 1
    return out


def row_digests(columns: list[pa.Array]) -> np.ndarray:
    """The digest of each row of some text columns (values joined with a separator)."""
    if not columns:
        return np.ones(0, np.uint64)
    if len(columns) == 1:
        return text_digests(columns[0])
    return text_digests(pc.binary_join_element_wise(*columns, "\x1f"))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit moves every output bit."""
    z = values.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def set_digests(starts: np.ndarray, members: np.ndarray, element: np.ndarray) -> np.ndarray:
    """For each owner i, a digest of the set {element[m] for m in members[starts[i]:starts[i+1]]}.

    The members' digests are added (mod 2^64) with their count, then mixed: a set's digest does
    not depend on its order, and one member more, less or different changes it.
    """
    with np.errstate(over="ignore"):
        sums = np.zeros(len(members) + 1, np.uint64)
        np.cumsum(element[members], dtype=np.uint64, out=sums[1:])
        total = sums[starts[1:]] - sums[starts[:-1]]
        counts = (starts[1:] - starts[:-1]).astype(np.uint64)
        out = _mix(total + counts * _GOLDEN + _GOLDEN)
    out[out == NONE] = 1
    return out


def empty_set_digest() -> int:
    """The digest of an empty set, as set_digests gives it."""
    return int(set_digests(np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64))[0])


EMPTY_SET = empty_set_digest()
