"""The delta baseline: what the last successful sync of a profile wrote, one row per entity, as columns.

Per entity (`kind/key`): the digest of its synced source values, the digests of its parts (in
PARTS order; 0: never written), its display name, user principal name and whether it is active.
The fingerprints say, per kind, which profile options the digests were made under.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

SCHEMA_VERSION = "2"
_SCHEMA = pa.schema(
    [
        ("ekey", pa.string()),
        ("row", pa.uint64()),
        ("resource", pa.uint64()),
        ("link1", pa.uint64()),
        ("link2", pa.uint64()),
        ("display", pa.string()),
        ("upn", pa.string()),
        ("active", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class Baseline:
    """Entities of the last successful sync, in columns."""

    ekeys: pa.Array
    row_digests: np.ndarray
    digests: np.ndarray  # shape (n, 3)
    display: pa.Array
    upns: pa.Array
    active: np.ndarray
    fingerprints: dict[str, list[str]] = field(default_factory=dict)  # kind -> [shape, decisions]

    def __len__(self) -> int:
        return len(self.ekeys)

    @classmethod
    def empty(cls) -> Baseline:
        """No successful sync yet."""
        return cls(
            pa.array([], pa.string()),
            np.zeros(0, np.uint64),
            np.zeros((0, 3), np.uint64),
            pa.array([], pa.string()),
            pa.array([], pa.string()),
            np.zeros(0, bool),
        )

    def starting(self, prefix: str) -> np.ndarray:
        """Whether each entry's `kind/key` starts with `prefix`."""
        if not len(self):
            return np.zeros(0, bool)
        return pc.starts_with(self.ekeys, prefix).to_numpy(zero_copy_only=False)

    def of_kind(self, kind: str) -> np.ndarray:
        """Whether each entry is of `kind`."""
        return self.starting(f"{kind}/")

    def sizes(self, kinds: tuple[str, ...]) -> dict[str, int]:
        """Entries per kind."""
        return {kind: int(np.count_nonzero(self.of_kind(kind))) for kind in kinds}

    def to_table(self) -> pa.Table:
        """The baseline as one Arrow table."""
        return pa.Table.from_arrays(
            [
                self.ekeys,
                pa.array(self.row_digests, pa.uint64()),
                *(pa.array(self.digests[:, i], pa.uint64()) for i in range(3)),
                self.display,
                self.upns,
                pa.array(self.active, pa.bool_()),
            ],
            schema=_SCHEMA,
        )


def dump_baseline(baseline: Baseline) -> bytes:
    """The baseline as a compressed Arrow IPC stream."""
    table = baseline.to_table().replace_schema_metadata(
        {"schemaVersion": SCHEMA_VERSION, "fingerprints": json.dumps(baseline.fingerprints)}
    )
    sink = pa.BufferOutputStream()
    options = ipc.IpcWriteOptions(compression="zstd")
    with ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def load_baseline(data: bytes | None) -> Baseline:
    """Read what dump_baseline wrote; nothing (no successful sync yet) is an empty baseline."""
    if not data:
        return Baseline.empty()
    try:
        table = ipc.open_stream(pa.py_buffer(data)).read_all()
    except pa.ArrowInvalid:
        return Baseline.empty()  # an older or unreadable baseline only costs a full rewrite
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if meta.get("schemaVersion") != SCHEMA_VERSION or table.schema.remove_metadata() != _SCHEMA:
        return Baseline.empty()

    def column(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    def numbers(name: str) -> np.ndarray:
        return column(name).to_numpy(zero_copy_only=False).astype(np.uint64)

    return Baseline(
        ekeys=column("ekey"),
        row_digests=numbers("row"),
        digests=np.stack([numbers("resource"), numbers("link1"), numbers("link2")], axis=1),
        display=column("display"),
        upns=column("upn"),
        active=column("active").to_numpy(zero_copy_only=False).astype(bool),
        fingerprints=json.loads(meta.get("fingerprints") or "{}"),
    )
