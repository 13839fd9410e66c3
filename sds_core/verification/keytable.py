"""Exact lookups of key values by their bytes, in numpy, at the same speed in any row order.

pyarrow's `index_in` probes a hash table that, for the 500,000 students of a large district,
no longer fits in cache: on rows in no particular order every probe waits on memory. Here each
value's bytes are read as 64-bit words (aligned loads, no copies of the strings), hashed, and
looked up in small slot tables with numpy gathers, whose loads the processor overlaps. Equality
is decided on the words and lengths, never on the hash, so the answer is exactly `index_in`'s:
the position of the first equal key, or -1.

Values longer than MAX_WORDS words (rare: a defect, not an id style) are looked up with pyarrow
among the keys as long; a key column with a true 64-bit hash collision between different keys
gets no table, and its lookups stay with pyarrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_WORDS = 8  # values of up to 64 bytes: every SIS ID style seen (a GUID is 36)
MAX_LEVELS = 24
_MIX = np.uint64(0x9E3779B97F4A7C15)
_LENGTH_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_LOW_BYTES = np.array([0] + [(1 << (8 * i)) - 1 for i in range(1, 8)] + [2**64 - 1], dtype=np.uint64)
_EMPTY, _CROWDED = -1, -2


@dataclass
class Words:
    """The bytes of a string array as 64-bit words: word k of the values longer than 8k bytes."""

    length: np.ndarray  # bytes per value
    words: list[tuple[np.ndarray | None, np.ndarray]]  # (values having word k, None: all; the words)
    hash: np.ndarray
    long: np.ndarray  # values longer than the words read: their words and hash are not theirs

    def full(self) -> list[np.ndarray]:
        """Word k of every value (zero past its end)."""
        full = []
        for rows, word in self.words:
            if rows is not None:
                word, spread = np.zeros(len(self.length), np.uint64), word
                word[rows] = spread
            full.append(word)
        return full


def words_of(array: pa.Array) -> Words:
    """Words and hash of every value of a string array without nulls (up to MAX_WORDS words)."""
    n = len(array)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, count=n + 1, offset=array.offset * 4)
    base, end = int(offsets[0]), int(offsets[-1])
    length = np.diff(offsets)
    longest = min(int(length.max(initial=0)), 8 * MAX_WORDS)
    # Two spare words: a value's last word may straddle into the next, read and then masked off.
    aligned = np.zeros((end - base) // 8 + 2, np.uint64)
    if end > base:
        aligned.view(np.uint8)[: end - base] = np.frombuffer(buffers[2], np.uint8, count=end - base, offset=base)
    start = offsets[:-1] - base
    digest = length.astype(np.uint64)
    digest *= _LENGTH_MIX
    words: list[tuple[np.ndarray | None, np.ndarray]] = []
    for k in range((longest + 7) // 8 or 1):
        rows = None if k == 0 else np.flatnonzero(length > 8 * k)
        word = _word(aligned, start if rows is None else start[rows], length if rows is None else length[rows], k)
        words.append((rows, word))
        if rows is None:
            digest ^= word
            digest *= _MIX
        else:
            digest[rows] = (digest[rows] ^ (word * _LENGTH_MIX)) * _MIX
    digest ^= digest >> np.uint64(29)
    digest *= _LENGTH_MIX
    digest ^= digest >> np.uint64(32)
    return Words(length, words, digest, np.flatnonzero(length > 8 * MAX_WORDS))


def _word(aligned: np.ndarray, start: np.ndarray, length: np.ndarray, k: int) -> np.ndarray:
    """Word k of each value (bytes past its end cleared), from two aligned loads."""
    at = start.astype(np.int64)
    at += 8 * k
    shift = ((at & 7) << 3).astype(np.uint64)
    at >>= 3
    word = aligned[at] >> shift
    at += 1
    word |= aligned[at] << (np.uint64(64) - shift)  # numpy shifts by 64 give 0: an aligned value
    word &= _LOW_BYTES[np.clip(length - 8 * k, 0, 8)]
    return word


class KeyTable:
    """Where each value sits in a key column (the first equal key), or -1."""

    def __init__(self, keys: pa.Array, words: Words, full_words: list[np.ndarray],
                 levels: list[tuple[int, int, np.ndarray]]):
        self.length = words.length
        self.words = full_words
        self.levels = levels
        self.long_at = words.long.astype(np.int32)
        self.long_keys = keys.take(pa.array(words.long))

    @classmethod
    def build(cls, keys: pa.Array | pa.ChunkedArray) -> KeyTable | None:
        """The table of a key column; None when it cannot be exact (lookups then stay with pyarrow)."""
        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        if keys.null_count or keys.type != pa.string() or not len(keys):
            return None
        words = words_of(keys)
        full_words = words.full()
        firsts = _first_of_each_value(words, full_words)
        if firsts is None:
            return None
        levels = _levels(words.hash, firsts)
        return None if levels is None else cls(keys, words, full_words, levels)

    def find(self, values: pa.Array) -> np.ndarray | None:
        """Position of each value among the keys, -1 where absent; None for values it cannot read."""
        return self.find_all([values])[0]

    def find_all(self, chunks: list[pa.Array]) -> list[np.ndarray | None]:
        """`find` of each chunk; the long values of them all go to pyarrow in one call (each call
        builds its own hash table of the long keys)."""
        found: list[np.ndarray | None] = []
        long_values, long_of = [], []
        for chunk in chunks:
            at, long = self._find_short(chunk)
            found.append(at)
            if at is not None and len(long):
                long_values.append(chunk.take(pa.array(long)))
                long_of.append((at, long))
        if long_values:
            positions = self._find_long(pa.chunked_array(long_values, pa.string()))
            ends = np.cumsum([len(long) for _, long in long_of])
            for (at, long), part in zip(long_of, np.split(positions, ends[:-1])):
                at[long] = part
        return found

    def _find_short(self, values: pa.Array) -> tuple[np.ndarray | None, np.ndarray]:
        """Positions of the values up to MAX_WORDS words (-1 for the others), and where the others are."""
        if values.null_count or values.type != pa.string():
            return None, np.empty(0, np.int64)
        if not len(values):
            return np.empty(0, np.int32), np.empty(0, np.int64)
        words = words_of(values)
        found: np.ndarray | None = None  # set by the first level, which every row goes through
        rows: np.ndarray | None = None  # the rows still looked for; None: every row
        digest = words.hash
        for bits, rotation, table in self.levels:
            held = table[_slots(digest, bits, rotation)]
            if found is None:
                found = np.maximum(held, _EMPTY)
            else:
                found[rows] = np.maximum(held, _EMPTY)
            crowded = np.flatnonzero(held == _CROWDED)
            if not len(crowded):
                break
            rows = crowded if rows is None else rows[crowded]
            digest = digest[crowded]
        return self._confirmed(found, words), words.long

    def _find_long(self, values: pa.ChunkedArray) -> np.ndarray:
        """Positions of long values, found among the long keys by pyarrow."""
        at = pc.index_in(values, value_set=self.long_keys).fill_null(-1).to_numpy()
        return np.where(at >= 0, self.long_at[np.maximum(at, 0)], _EMPTY)

    def _confirmed(self, found: np.ndarray, words: Words) -> np.ndarray:
        """`found`, with -1 where the key there is not byte for byte the value."""
        candidate = np.maximum(found, 0)
        same = found >= 0
        same &= self.length[candidate] == words.length
        # Equal lengths mean equally many words: the words both have are all there is to compare.
        for (rows, word), key_words in zip(words.words, self.words):
            if rows is None:
                same &= key_words[candidate] == word
            else:
                same[rows] &= key_words[candidate[rows]] == word
        found[~same] = _EMPTY
        return found


def _first_of_each_value(words: Words, full_words: list[np.ndarray]) -> np.ndarray | None:
    """Positions of the first key of each distinct value (long keys left out); None if two
    different keys share a hash."""
    short = np.arange(len(words.length))
    if len(words.long):
        short = np.setdiff1d(short, words.long, assume_unique=True)
    order = short[np.argsort(words.hash[short], kind="stable")]
    ordered = words.hash[order]
    repeat = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    if len(repeat):
        first = order[np.searchsorted(ordered, ordered[repeat], side="left")]
        later = order[repeat]
        if np.any(words.length[later] != words.length[first]):
            return None
        if any(np.any(word[later] != word[first]) for word in full_words):
            return None  # a 64-bit collision: astronomically rare, and still answered exactly
    keep = np.ones(len(order), dtype=bool)
    keep[repeat] = False
    return np.sort(order[keep])


def _levels(digest: np.ndarray, keys: np.ndarray) -> list[tuple[int, int, np.ndarray]] | None:
    """Slot tables: a key sits at the first level where no other key shares its slot.

    A table four times the keys it holds leaves about a fifth of them sharing a slot; those move
    to the next level, under other bits of the hash, so each level is a fifth of the one before.
    """
    levels = []
    rotation = 0
    keys = keys.astype(np.int32)
    while len(keys):
        if len(levels) == MAX_LEVELS:
            return None
        bits = max(10, (4 * len(keys) - 1).bit_length())
        slot = _slots(digest[keys], bits, rotation)
        table = np.full(1 << bits, _EMPTY, np.int32)
        table[slot] = keys
        alone = table[slot] == keys
        table[slot[~alone]] = _CROWDED
        alone &= table[slot] != _CROWDED
        levels.append((bits, rotation, table))
        keys = keys[~alone]
        rotation = (rotation + 13) % 64
    return levels


def _slots(digest: np.ndarray, bits: int, rotation: int) -> np.ndarray:
    """The top `bits` of the hash rotated left by `rotation`."""
    if rotation:
        digest = (digest << np.uint64(rotation)) | (digest >> np.uint64(64 - rotation))
    return (digest >> np.uint64(64 - bits)).astype(np.intp)
