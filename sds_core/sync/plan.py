"""The delta: compare the desired directory (from the files) with the baseline and plan the writes.

An entity whose synced values are unchanged since the last run keeps that run's decisions (display
name, principal name, resource digest) without being looked at again; only new and changed rows
are judged one by one. Links are compared as set digests computed for all entities at once. So a
re-sync costs a pass over the columns plus the work of what changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sds_core.sync.adjacency import Adjacency, adjacency, kept_pairs
from sds_core.sync.baseline import Baseline
from sds_core.sync.digests import EMPTY_SET, text_digest
from sds_core.sync.identity import Problem, display_name_problem, principal_name
from sds_core.sync.model import LINK_KINDS, PARTS, DirectoryChange, SyncIssue
from sds_core.sync.options import SyncOptions
from sds_core.sync.resources import (
    SHAPE_VERSION,
    class_resource,
    entity_id,
    mail_nickname,
    person_display_name,
    school_resource,
    user_resource,
)
from sds_core.sync.source import ROLE_FILES, ROLES, Entities, Record, Source

KINDS = tuple(PARTS)
ROSTERS = {"student": "studentEnrollment", "teacher": "teacherRoster"}
ENTRY_TYPES = {"school": "School", "class": "Section", "student": "Student", "teacher": "Teacher"}
CUSTOMIZATIONS = {"school": "school", "class": "section"}
MAX_MAIL_NICKNAME = 64
CHUNK = 20_000  # records judged at a time: bounds the Python objects alive at once
WRITE_ORDER = {"school": 0, "user": 1, "class": 2}
# Which customizations (files) each part is made from: a deferred one freezes the part.
_DEPENDS = {
    ("school", "resource"): ("school",),
    ("school", "users"): ("school", "student", "teacher"),
    ("school", "classes"): ("school", "section"),
    ("class", "resource"): ("section",),
    ("class", "members"): ("section", "student", "studentEnrollment"),
    ("class", "teachers"): ("section", "teacher", "teacherRoster"),
}


def _depends(kind: str, part: str, role: str | None) -> tuple[str, ...]:
    if kind != "user":
        return _DEPENDS[(kind, part)]
    return {
        "resource": (role,),
        "schools": (role, "school"),
        "classes": (role, "section", ROSTERS[role]),
    }[part]


def fingerprints(options: SyncOptions) -> dict[str, tuple[str, str]]:
    """Per kind: the options its resources are made under, and those plus what decides its names.

    A kind's resources are all rewritten when the first changes; its records are all judged again
    when the second does. Options of one kind leave the others alone.
    """

    def optional(name: str) -> list[str] | None:
        props = options.customization(name).optional_properties
        return None if props is None else sorted(props)

    def renames(*names: str) -> list[bool]:
        return [options.customization(n).allow_display_name_update for n in names]

    identity = {
        "creates": options.creates_users,
        "domains": sorted(options.user_domains.items()),
        "matching": sorted(
            (r, m.source_property, m.target_property, m.target_domain)
            for r, m in options.matching.items()
        ),
    }
    special = options.replace_special_characters
    shapes = {
        "school": ({"school": optional("school")}, renames("school")),
        "class": ({"section": optional("section"), "special": special}, renames("section")),
        "user": (
            {r: optional(r) for r in ROLES} | {"identity": identity, "special": special},
            renames(*ROLES),
        ),
    }
    out = {}
    for kind, (shape, names) in shapes.items():
        text = json.dumps({"version": SHAPE_VERSION, **shape}, sort_keys=True)
        out[kind] = (text, json.dumps([text, names]))
    return out


@dataclass(frozen=True, slots=True)
class Step:
    """One planned write: the entity (`kind/key`), the operation and the parts to write."""

    ekey: str
    op: str
    parts: tuple[str, ...] = ()
    index: int = -1  # among its kind's source entities; -1 when it is not in the files


@dataclass
class Decisions:
    """One kind's entities this run writes: which, their names and their part digests."""

    mask: np.ndarray
    display: np.ndarray  # object: str or None
    upns: np.ndarray  # object: str or None
    digests: np.ndarray  # (n, 3) uint64


@dataclass
class SyncPlan:
    """Everything one run writes, in a fixed order, and the baseline to keep when it succeeds."""

    profile_id: str
    source: Source
    options: SyncOptions
    steps: list[Step] = field(default_factory=list)
    issues: list[SyncIssue] = field(default_factory=list)
    baseline: Baseline = field(default_factory=Baseline.empty)
    decisions: dict[str, Decisions] = field(default_factory=dict)
    links: dict[tuple[str, str], Adjacency] = field(default_factory=dict)  # (kind, part)

    def counts(self) -> dict[str, int]:
        """Planned operations by name (add, update, deactivate, remove)."""
        out = {"add": 0, "update": 0, "deactivate": 0, "remove": 0}
        for step in self.steps:
            out[step.op] += 1
        return out

    def sizes(self) -> dict[str, int]:
        """Entities per kind after the run (active or not): what a target sizes its storage for."""
        return self.baseline.sizes(KINDS)

    def entities(self, kind: str) -> Entities:
        """The source entities of a kind."""
        return {
            "school": self.source.schools,
            "class": self.source.classes,
            "user": self.source.users,
        }[kind]

    def changes(self, steps: Sequence[Step]) -> list[DirectoryChange]:
        """The writes of `steps`, with their Graph resources and linked keys."""
        # Only a resource or a new account needs the row's values; links come from the indices.
        records: dict[str, dict[int, Record]] = {}
        for kind in KINDS:
            wanted = sorted(
                {
                    s.index
                    for s in steps
                    if s.ekey.startswith(kind + "/") and (s.op == "add" or "resource" in s.parts)
                }
            )
            records[kind] = dict(zip(wanted, self.entities(kind).records(wanted), strict=True))
        return [self._change(step, records) for step in steps]

    def _change(self, step: Step, records: dict[str, dict[int, Record]]) -> DirectoryChange:
        kind, _, key = step.ekey.partition("/")
        ident = entity_id(self.profile_id, kind, key)
        if step.op == "remove":
            return DirectoryChange(kind, key, ident, "remove")
        if step.op == "deactivate":
            return DirectoryChange(
                kind, key, ident, "deactivate", links={"schools": (), "classes": ()}
            )
        i, record = step.index, records[kind].get(step.index)
        links = {p: self._linked(kind, p, i) for p in step.parts if p != "resource"}
        decided = self.decisions[kind]
        resource = None
        if record is not None and "resource" in step.parts:
            resource = self._resource(kind, record, decided.display[i], decided.upns[i])
        password = None
        if record is not None and kind == "user" and step.op == "add":
            password = record.values.get("Password")
        return DirectoryChange(kind, key, ident, step.op, resource, links, password)

    def _linked(self, kind: str, part: str, index: int) -> tuple[str, ...]:
        keys = self.entities(LINK_KINDS[part]).key_list
        return tuple(keys[t] for t in self.links[(kind, part)].of(index).tolist())

    def _resource(self, kind: str, record: Record, display: str, upn: str | None) -> dict:
        if kind == "school":
            return school_resource(self.profile_id, record, display)
        if kind == "class":
            return class_resource(self.profile_id, record, display, self.options)
        role = record.key.partition(":")[0]
        return user_resource(self.profile_id, role, record, display, upn)


def plan_sync(
    profile_id: str, source: Source, options: SyncOptions, baseline: Baseline | None = None
) -> SyncPlan:
    """Plan the run that brings the directory from `baseline` to what `source` describes."""
    plan = SyncPlan(profile_id, source, options)
    return _Planner(plan, baseline if baseline is not None else Baseline.empty()).run()


@dataclass
class _Kind:
    """The planner's view of one kind: source entities against the baseline."""

    name: str
    entities: Entities
    ekeys: pa.Array
    base: np.ndarray  # baseline row of each entity, -1 if new
    base_active: np.ndarray
    resource_frozen: np.ndarray


class _Planner:
    def __init__(self, plan: SyncPlan, old: Baseline) -> None:
        self.plan, self.old = plan, old
        self.source, self.options = plan.source, plan.options
        self.fingerprints = fingerprints(self.options)
        self.shape = {kind: shape for kind, (shape, _) in self.fingerprints.items()}
        self.same_decisions = {
            kind: len(old) > 0 and old.fingerprints.get(kind) == list(pair)
            for kind, pair in self.fingerprints.items()
        }
        self.kinds = {kind: self._view(kind) for kind in KINDS}

    def frozen(self, kind: str, part: str, role: str | None = None) -> bool:
        return any(self.options.deferred(n) for n in _depends(kind, part, role))

    def _view(self, kind: str) -> _Kind:
        entities = self.plan.entities(kind)
        ekeys = pc.binary_join_element_wise(kind, entities.keys, "/")
        base = np.full(len(entities), -1, np.int64)
        if len(self.old) and len(entities):
            base = (
                pc.index_in(ekeys, value_set=self.old.ekeys)
                .fill_null(-1)
                .to_numpy(zero_copy_only=False)
            )
            base = base.astype(np.int64)
        known = base >= 0
        active = np.zeros(len(entities), bool)
        active[known] = self.old.active[base[known]]
        if kind == "user":
            frozen = np.array([self.frozen(kind, "resource", r) for r in ROLES])[entities.roles]
        else:
            frozen = np.full(len(entities), self.frozen(kind, "resource"))
        return _Kind(kind, entities, ekeys, base, active, frozen)

    def issue(
        self, kind: str, record: Record, problem: Problem, name: str = "", role: str = ""
    ) -> None:
        file = ROLE_FILES.get(role) or f"{'school' if kind == 'school' else 'section'}.csv"
        sis_id = record.key.partition(":")[2] if kind == "user" else record.key
        self.plan.issues.append(
            SyncIssue(
                entry_type=ENTRY_TYPES[role or kind],
                error_code=problem.code,
                error_message=f"{problem.message} ({file} row {record.row})",
                joining_value=sis_id,
                reportable_identifier=name or sis_id,
            )
        )

    def run(self) -> SyncPlan:
        for kind in KINDS:
            self.plan.decisions[kind] = self.keep_unchanged(self.kinds[kind])
        self.decide_orgs("school")
        self.decide_orgs("class")
        self.decide_users()
        self.link()
        self.compare()
        return self.plan

    # -- decisions --------------------------------------------------------------------------

    def keep_unchanged(self, view: _Kind) -> Decisions:
        """Entities whose synced values did not change keep the last run's decisions as they are."""
        n = len(view.entities)
        fast = np.zeros(n, bool)
        if self.same_decisions[view.name]:
            known = view.base >= 0
            same = np.zeros(n, bool)
            same[known] = self.old.row_digests[view.base[known]] == view.entities.row_digests[known]
            fast = known & view.base_active & same & ~view.resource_frozen
        decided = Decisions(
            fast, np.full(n, None, object), np.full(n, None, object), np.zeros((n, 3), np.uint64)
        )
        rows = view.base[fast]
        if len(rows):
            decided.display[fast] = self.old.display.take(rows).to_numpy(zero_copy_only=False)
            decided.upns[fast] = self.old.upns.take(rows).to_numpy(zero_copy_only=False)
            decided.digests[fast, 0] = self.old.digests[rows, 0]
        return decided

    def to_judge(self, view: _Kind, first: np.ndarray | None = None) -> np.ndarray:
        """Entities to judge one by one (new or changed), by `first` then in file order."""
        pending = np.flatnonzero(~self.plan.decisions[view.name].mask & ~view.resource_frozen)
        rows = view.entities.row_numbers[pending]
        order = np.lexsort((rows,) if first is None else (rows, first[pending]))
        return pending[order]

    def display(self, view: _Kind, i: int, new: str, customization: str) -> str:
        base = int(view.base[i])
        if (
            base < 0
            or not view.base_active[i]
            or self.options.customization(customization).allow_display_name_update
        ):
            return new
        return self.old.display[base].as_py()

    def decide(self, view: _Kind, i: int, display: str, upn: str | None) -> None:
        decided = self.plan.decisions[view.name]
        row = int(view.entities.row_digests[i])
        decided.mask[i] = True
        decided.display[i] = display
        decided.upns[i] = upn
        decided.digests[i, 0] = text_digest(
            f"{self.shape[view.name]}\x1e{row:x}\x1e{display}\x1e{upn or ''}"
        )

    def decide_orgs(self, kind: str) -> None:
        view = self.kinds[kind]
        pending = self.to_judge(view)
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start : start + CHUNK]
            for i, record in zip(chunk.tolist(), view.entities.records(chunk), strict=True):
                name = record.values.get("Name" if kind == "school" else "Section Name", "")
                problem = display_name_problem(name, kind)
                if problem is None and kind == "class":
                    nickname = mail_nickname(record.key, self.options)
                    if len(nickname) > MAX_MAIL_NICKNAME:
                        problem = Problem(
                            "AzureActiveDirectoryInvalidPropertyValue",
                            f"The class mailNickname {nickname!r} is longer than {MAX_MAIL_NICKNAME} characters.",
                        )
                if problem:
                    self.issue(kind, record, problem, name)
                    continue
                self.decide(view, i, self.display(view, i, name, CUSTOMIZATIONS[kind]), None)

    def owners(self) -> dict[str, str]:
        """Principal names (lower case) held by users of the baseline, active or not."""
        users = self.old.of_kind("user")
        if not users.any():
            return {}
        ekeys = self.old.ekeys.filter(users).to_pylist()
        upns = self.old.upns.filter(users).to_pylist()
        return {upn.lower(): ekey for ekey, upn in zip(ekeys, upns, strict=True) if upn}

    def decide_users(self) -> None:
        view = self.kinds["user"]
        teachers_first = (view.entities.roles == 0).astype(
            np.int8
        )  # staff accounts win a contested name
        pending = self.to_judge(view, teachers_first)
        if not len(pending):
            return
        owners = self.owners()
        wanted: list[tuple[int, Record, str | None, str]] = []
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start : start + CHUNK]
            for i, record in zip(chunk.tolist(), view.entities.records(chunk), strict=True):
                role = ROLES[view.entities.roles[i]]
                upn = principal_name(role, record.values, self.options)
                name = person_display_name(record)
                problem = upn if isinstance(upn, Problem) else display_name_problem(name, role)
                if problem:
                    self.issue("user", record, problem, record.values.get("Username", ""), role)
                    continue
                base = int(view.base[i])
                old_upn = self.old.upns[base].as_py() if base >= 0 else None
                ekey = f"user/{record.key}"
                if old_upn and old_upn != upn and owners.get(old_upn.lower()) == ekey:
                    del owners[old_upn.lower()]  # renamed: the old name is free again
                wanted.append((i, record, upn, name))
        for i, record, upn, name in wanted:
            role = ROLES[view.entities.roles[i]]
            if upn is not None:
                owner = owners.setdefault(upn.lower(), f"user/{record.key}")
                if owner != f"user/{record.key}":
                    self.issue(
                        "user",
                        record,
                        Problem(
                            "UserPrincipalNameConflict",
                            f"The user principal name {upn} is already used by another user ({_who(owner)}).",
                        ),
                        record.values.get("Username", ""),
                        role,
                    )
                    continue
            self.decide(view, i, self.display(view, i, name, role), upn)

    # -- links ------------------------------------------------------------------------------

    def present(self, kind: str) -> np.ndarray:
        """Entities that exist after the run: written now, or kept active as they were."""
        view, decided = self.kinds[kind], self.plan.decisions[kind]
        return decided.mask | ((view.base >= 0) & view.base_active)

    def link(self) -> None:
        src, links = self.source, self.plan.links
        n = {kind: len(self.kinds[kind].entities) for kind in KINDS}
        school, klass, user = (self.present(k) for k in KINDS)
        members = kept_pairs(*src.members, klass, user)
        teachers = kept_pairs(*src.teachers, klass, user)
        links[("class", "members")] = adjacency(*members, n["class"], n["user"])
        links[("class", "teachers")] = adjacency(*teachers, n["class"], n["user"])
        links[("user", "classes")] = adjacency(
            np.concatenate([members[1], teachers[1]]),
            np.concatenate([members[0], teachers[0]]),
            n["user"],
            n["class"],
        )
        user_schools = kept_pairs(*src.user_schools, user, school)
        links[("user", "schools")] = adjacency(*user_schools, n["user"], n["school"])
        links[("school", "users")] = adjacency(
            user_schools[1], user_schools[0], n["school"], n["user"]
        )
        classes = np.flatnonzero(klass & (src.class_school >= 0))
        of_school = src.class_school[classes]
        keep = school[of_school] if len(of_school) else np.zeros(0, bool)
        links[("school", "classes")] = adjacency(
            of_school[keep], classes[keep], n["school"], n["class"]
        )

    # -- comparing --------------------------------------------------------------------------

    def compare(self) -> None:
        """Digest the links, plan the writes in order, and make the baseline this run leaves."""
        plan = self.plan
        steps: list[Step] = []
        kept = np.zeros(len(self.old), bool)  # baseline rows that stay as they are
        for kind in KINDS:
            view, decided = self.kinds[kind], plan.decisions[kind]
            for p, part in enumerate(PARTS[kind][1:], start=1):
                target = self.kinds[LINK_KINDS[part]].entities
                decided.digests[:, p] = plan.links[(kind, part)].digests(target.key_digests)
            steps.extend(self.changed(view, decided))
            carried = (view.base >= 0) & ~decided.mask
            kept[view.base[carried]] = True
            kept |= self.frozen_in_baseline(kind)
        in_files = np.zeros(len(self.old), bool)
        for view in self.kinds.values():
            in_files[view.base[view.base >= 0]] = True
        gone = ~kept & ~in_files
        pid = plan.profile_id

        def place(step: Step) -> tuple[int, str]:
            # By kind, then by id: neighbouring writes share a storage partition in the target.
            kind, _, key = step.ekey.partition("/")
            return WRITE_ORDER[kind], entity_id(pid, kind, key)

        steps.sort(key=place)
        later, inactive = self.retire(gone)
        later.sort(key=lambda s: (s.op != "deactivate", s.ekey.startswith("school/"), place(s)))
        plan.steps = steps + later
        plan.baseline = self.new_baseline(kept, inactive)

    def frozen_in_baseline(self, kind: str) -> np.ndarray:
        """Baseline rows of a kind (and role) whose file is deferred: they stay as they are."""
        if kind != "user":
            return self.old.of_kind(kind) & self.frozen(kind, "resource")
        out = np.zeros(len(self.old), bool)
        for role in ROLES:
            if self.frozen(kind, "resource", role):
                out |= self.old.starting(f"user/{role}:")
        return out

    def part_frozen(self, view: _Kind) -> np.ndarray:
        """(n, 3): whether each part of each entity is deferred."""
        kind = view.name
        if kind != "user":
            row = np.array([self.frozen(kind, part) for part in PARTS[kind]])
            return np.broadcast_to(row, (len(view.entities), 3))
        table = np.array(
            [[self.frozen(kind, part, role) for part in PARTS[kind]] for role in ROLES]
        )
        return table[view.entities.roles]

    def changed(self, view: _Kind, decided: Decisions) -> list[Step]:
        """The adds and updates of one kind; frozen parts keep the baseline's digests."""
        n = len(view.entities)
        known = view.base >= 0
        base = np.zeros((n, 3), np.uint64)
        base[known] = self.old.digests[view.base[known]]
        frozen = self.part_frozen(view)
        decided.digests[:] = np.where(frozen, base, decided.digests)
        fresh = (~known | ~view.base_active)[:, None]
        differs = decided.mask[:, None] & ~frozen & (fresh | (decided.digests != base))
        needed = decided.mask & (~known | ~view.base_active | differs.any(axis=1))
        names = PARTS[view.name]
        keys = view.entities.key_list
        steps = []
        for i in np.flatnonzero(needed).tolist():
            parts = tuple(names[p] for p in range(3) if differs[i, p])
            steps.append(Step(f"{view.name}/{keys[i]}", "update" if known[i] else "add", parts, i))
        return steps

    def retire(self, gone: np.ndarray) -> tuple[list[Step], np.ndarray]:
        """Baseline entities no longer in the files: users deactivated, schools and classes removed."""
        rows = np.flatnonzero(gone)
        if not len(rows):
            return [], rows
        ekeys = self.old.ekeys.take(rows).to_pylist()
        active = self.old.active[rows]
        later = []
        users = []
        for row, ekey, on in zip(rows.tolist(), ekeys, active.tolist(), strict=True):
            if ekey.startswith("user/"):
                users.append(row)
                if on:
                    later.append(Step(ekey, "deactivate"))
            else:
                later.append(Step(ekey, "remove"))
        return later, np.array(users, np.int64)

    def new_baseline(self, kept: np.ndarray, inactive: np.ndarray) -> Baseline:
        """Decided entities, baseline rows kept as they were, and users now inactive."""
        old, parts = self.old, []
        for kind in KINDS:
            view, decided = self.kinds[kind], self.plan.decisions[kind]
            mask = decided.mask
            parts.append(
                (
                    view.ekeys.filter(mask),
                    view.entities.row_digests[mask],
                    decided.digests[mask],
                    pa.array(decided.display[mask], pa.string()),
                    pa.array(decided.upns[mask], pa.string()),
                    np.ones(int(mask.sum()), bool),
                )
            )
        keep = np.flatnonzero(kept)
        parts.append(
            (
                old.ekeys.take(keep),
                old.row_digests[keep],
                old.digests[keep],
                old.display.take(keep),
                old.upns.take(keep),
                old.active[keep],
            )
        )
        emptied = old.digests[inactive].copy()
        emptied[:, 1:] = EMPTY_SET
        parts.append(
            (
                old.ekeys.take(inactive),
                old.row_digests[inactive],
                emptied,
                old.display.take(inactive),
                old.upns.take(inactive),
                np.zeros(len(inactive), bool),
            )
        )
        return Baseline(
            ekeys=pa.concat_arrays([p[0] for p in parts]),
            row_digests=np.concatenate([p[1] for p in parts]),
            digests=np.concatenate([p[2] for p in parts]),
            display=pa.concat_arrays([p[3] for p in parts]),
            upns=pa.concat_arrays([p[4] for p in parts]),
            active=np.concatenate([p[5] for p in parts]),
            fingerprints={kind: list(pair) for kind, pair in self.fingerprints.items()},
        )


def _who(ekey: str) -> str:
    role, _, sis_id = ekey.partition("/")[2].partition(":")
    return f"{role} SIS ID {sis_id}"
