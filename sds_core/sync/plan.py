"""The delta: compare the desired directory (from the files) with the baseline and plan the writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sds_core.sync.baseline import Baseline, Entry, digest
from sds_core.sync.identity import Problem, display_name_problem, principal_name
from sds_core.sync.model import PARTS, DirectoryChange, SyncIssue
from sds_core.sync.options import SyncOptions
from sds_core.sync.resources import (
    class_resource,
    entity_id,
    mail_nickname,
    person_display_name,
    school_resource,
    user_resource,
)
from sds_core.sync.source import ROLE_FILES, Record, Source

ROSTERS = {"student": "studentEnrollment", "teacher": "teacherRoster"}
ENTRY_TYPES = {"school": "School", "class": "Section", "student": "Student", "teacher": "Teacher"}
MAX_MAIL_NICKNAME = 64
# Which customizations (files) each part is made from: a deferred one freezes the part.
_DEPENDS = {
    ("school", "resource"): ("school",),
    ("school", "users"): ("school", "student", "teacher"),
    ("school", "classes"): ("school", "section"),
    ("class", "resource"): ("section",),
    ("class", "members"): ("section", "student", "studentEnrollment"),
    ("class", "teachers"): ("section", "teacher", "teacherRoster"),
}
_EMPTY = digest([])


def _depends(kind: str, part: str, role: str | None) -> tuple[str, ...]:
    if kind != "user":
        return _DEPENDS[(kind, part)]
    return {
        "resource": (role,),
        "schools": (role, "school"),
        "classes": (role, "section", ROSTERS[role]),
    }[part]


@dataclass(frozen=True, slots=True)
class Step:
    """One planned write: the entity (`kind/key`), the operation and the parts to write."""

    ekey: str
    op: str
    parts: tuple[str, ...] = ()


@dataclass
class SyncPlan:
    """Everything one run writes, in a fixed order, and the baseline to keep when it succeeds."""

    profile_id: str
    source: Source
    options: SyncOptions
    steps: list[Step] = field(default_factory=list)
    issues: list[SyncIssue] = field(default_factory=list)
    baseline: Baseline = field(default_factory=dict)
    links: dict[str, dict[str, tuple[str, ...]]] = field(
        default_factory=dict
    )  # ekey -> part -> keys

    def counts(self) -> dict[str, int]:
        """Planned operations by name (add, update, deactivate, remove)."""
        out = {"add": 0, "update": 0, "deactivate": 0, "remove": 0}
        for step in self.steps:
            out[step.op] += 1
        return out

    def sizes(self) -> dict[str, int]:
        """Entities per kind after the run (active or not): what a target sizes its storage for."""
        out = dict.fromkeys(PARTS, 0)
        for ekey in self.baseline:
            out[ekey.partition("/")[0]] += 1
        return out

    def changes(self, steps: Sequence[Step]) -> list[DirectoryChange]:
        """The writes of `steps`, with their Graph resources and linked keys."""
        return [self._change(step) for step in steps]

    def _change(self, step: Step) -> DirectoryChange:
        kind, _, key = step.ekey.partition("/")
        ident = entity_id(self.profile_id, kind, key)
        if step.op == "remove":
            return DirectoryChange(kind, key, ident, "remove")
        if step.op == "deactivate":
            return DirectoryChange(
                kind, key, ident, "deactivate", links={"schools": (), "classes": ()}
            )
        links = {p: self.links[step.ekey][p] for p in step.parts if p != "resource"}
        resource = self._resource(kind, key) if "resource" in step.parts else None
        password = None
        if kind == "user" and step.op == "add":
            password = self.source.users[key].values.get("Password")
        return DirectoryChange(kind, key, ident, step.op, resource, links, password)

    def _resource(self, kind: str, key: str) -> dict:
        entry = self.baseline[f"{kind}/{key}"]
        if kind == "school":
            return school_resource(self.profile_id, self.source.schools[key], entry.display_name)
        if kind == "class":
            return class_resource(
                self.profile_id, self.source.classes[key], entry.display_name, self.options
            )
        role = key.partition(":")[0]
        return user_resource(
            self.profile_id, role, self.source.users[key], entry.display_name, entry.upn
        )


def plan_sync(
    profile_id: str, source: Source, options: SyncOptions, baseline: Baseline
) -> SyncPlan:
    """Plan the run that brings the directory from `baseline` to what `source` describes."""
    return _Planner(SyncPlan(profile_id, source, options), baseline).run()


class _Planner:
    def __init__(self, plan: SyncPlan, old: Baseline) -> None:
        self.plan, self.old = plan, old
        self.source, self.options = plan.source, plan.options
        self.decided: dict[
            str, tuple[str, Record, str | None]
        ] = {}  # ekey -> (display, record, upn)
        self.role: dict[str, str | None] = {}
        self._frozen: dict[tuple[str, str, str | None], bool] = {}

    def frozen(self, kind: str, part: str, role: str | None = None) -> bool:
        key = (kind, part, role)
        if key not in self._frozen:
            self._frozen[key] = any(self.options.deferred(n) for n in _depends(kind, part, role))
        return self._frozen[key]

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

    def display(self, ekey: str, new: str, customization: str) -> str:
        base = self.old.get(ekey)
        if (
            base is None
            or not base.active
            or self.options.customization(customization).allow_display_name_update
        ):
            return new
        return base.display_name

    def run(self) -> SyncPlan:
        self.decide_orgs()
        self.decide_users()
        self.link()
        self.compare()
        return self.plan

    def decide_orgs(self) -> None:
        for kind, records, custom in (
            ("school", self.source.schools, "school"),
            ("class", self.source.classes, "section"),
        ):
            if self.frozen(kind, "resource"):
                continue
            for key, record in records.items():
                name = record.values.get("Name" if kind == "school" else "Section Name", "")
                problem = display_name_problem(name, "school" if kind == "school" else "class")
                if problem is None and kind == "class":
                    nickname = mail_nickname(key, self.options)
                    if len(nickname) > MAX_MAIL_NICKNAME:
                        problem = Problem(
                            "AzureActiveDirectoryInvalidPropertyValue",
                            f"The class mailNickname {nickname!r} is longer than {MAX_MAIL_NICKNAME} characters.",
                        )
                if problem:
                    self.issue(kind, record, problem, name)
                    continue
                ekey = f"{kind}/{key}"
                self.decided[ekey] = (self.display(ekey, name, custom), record, None)
                self.role[ekey] = None

    def decide_users(self) -> None:
        owners: dict[str, str] = {}
        for ekey, entry in self.old.items():
            if entry.upn and ekey.startswith("user/"):
                owners[entry.upn.lower()] = ekey
        wanted: list[tuple[str, str, Record, str | None]] = []
        for role in ("teacher", "student"):  # staff accounts win a contested name
            if self.frozen("user", "resource", role):
                continue
            for key, record in self.source.users.items():
                if not key.startswith(role + ":"):
                    continue
                upn = principal_name(role, record.values, self.options)
                name = person_display_name(record)
                problem = upn if isinstance(upn, Problem) else display_name_problem(name, role)
                if problem:
                    self.issue("user", record, problem, record.values.get("Username", ""), role)
                    continue
                ekey = f"user/{key}"
                base = self.old.get(ekey)
                if base and base.upn and base.upn != upn and owners.get(base.upn.lower()) == ekey:
                    del owners[base.upn.lower()]  # renamed: the old name is free again
                wanted.append((ekey, role, record, upn))
        for ekey, role, record, upn in wanted:
            if upn is not None:
                owner = owners.setdefault(upn.lower(), ekey)
                if owner != ekey:
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
            name = self.display(ekey, person_display_name(record), role)
            self.decided[ekey] = (name, record, upn)
            self.role[ekey] = role

    def link(self) -> None:
        present = set(self.decided)
        present.update(
            k for k, e in self.old.items() if e.active and k not in self.decided and self.carried(k)
        )
        src, links = self.source, self.plan.links
        user_classes: dict[str, set[str]] = {}
        school_users: dict[str, set[str]] = {}
        school_classes: dict[str, set[str]] = {}
        for key in src.classes:
            if f"class/{key}" not in present:
                continue
            rosters = {}
            for part, roster in (("members", src.members), ("teachers", src.teachers)):
                users = sorted({u for u in roster.get(key, ()) if f"user/{u}" in present})
                rosters[part] = tuple(users)
                for u in users:
                    user_classes.setdefault(u, set()).add(key)
            links[f"class/{key}"] = rosters
            school = src.classes[key].schools[0]
            if f"school/{school}" in present:
                school_classes.setdefault(school, set()).add(key)
        for key, record in src.users.items():
            if f"user/{key}" not in present:
                continue
            schools = tuple(sorted(s for s in record.schools if f"school/{s}" in present))
            for s in schools:
                school_users.setdefault(s, set()).add(key)
            links[f"user/{key}"] = {
                "schools": schools,
                "classes": tuple(sorted(user_classes.get(key, ()))),
            }
        for key in src.schools:
            links[f"school/{key}"] = {
                "users": tuple(sorted(school_users.get(key, ()))),
                "classes": tuple(sorted(school_classes.get(key, ()))),
            }

    def carried(self, ekey: str) -> bool:
        """An entity of the baseline that stays as it is: its file is deferred, or its record failed."""
        kind, _, key = ekey.partition("/")
        role = key.partition(":")[0] if kind == "user" else None
        if self.frozen(kind, "resource", role):
            return True
        records = {
            "school": self.source.schools,
            "class": self.source.classes,
            "user": self.source.users,
        }
        return key in records[kind]

    def compare(self) -> None:
        plan, new = self.plan, self.plan.baseline
        later: list[Step] = []
        for ekey, entry in self.old.items():
            if ekey in self.decided or self.carried(ekey):
                new[ekey] = entry
                continue
            kind = ekey.partition("/")[0]
            if kind == "user":
                if entry.active:
                    later.append(Step(ekey, "deactivate"))
                new[ekey] = Entry(
                    (entry.digests[0], _EMPTY, _EMPTY), entry.display_name, entry.upn, False
                )
            else:
                later.append(Step(ekey, "remove"))
        order = {"school": 0, "user": 1, "class": 2}
        pid = plan.profile_id

        def place(ekey: str) -> tuple[int, str]:
            # By kind, then by id: neighbouring writes share a storage partition in the target.
            kind, _, key = ekey.partition("/")
            return order[kind], entity_id(pid, kind, key)

        for ekey in sorted(self.decided, key=place):
            display, record, upn = self.decided[ekey]
            kind, _, key = ekey.partition("/")
            role = self.role[ekey]
            new[ekey] = Entry((None, None, None), display, upn)
            resource = plan._resource(kind, key)
            values = {"resource": resource, **plan.links.get(ekey, {})}
            base = self.old.get(ekey)
            digests, parts = [], []
            for i, part in enumerate(PARTS[kind]):
                if self.frozen(kind, part, role):
                    digests.append(base.digests[i] if base else None)
                    continue
                d = digest(values[part]) if part == "resource" else digest(list(values[part]))
                digests.append(d)
                if base is None or not base.active or base.digests[i] != d:
                    parts.append(part)
            new[ekey] = Entry(tuple(digests), display, upn)
            if base is None:
                plan.steps.append(Step(ekey, "add", tuple(parts)))
            elif parts or not base.active:
                plan.steps.append(Step(ekey, "update", tuple(parts)))
        plan.steps.extend(
            sorted(
                later,
                key=lambda s: (s.op != "deactivate", s.ekey.startswith("school/"), place(s.ekey)),
            )
        )


def _who(ekey: str) -> str:
    role, _, sis_id = ekey.partition("/")[2].partition(":")
    return f"{role} SIS ID {sis_id}"
