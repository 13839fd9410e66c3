"""The tenant check (`POST /beta/schoolDataSync/check`), its pure part: steps, verdict, text.

The shell (sds_app/check.py) makes the Graph calls and hands their answers here as data: the
token's claims, what each harmless read answered, the tenant's reference definitions and the dry
upload's actions. docs/check.md says what each step checks and how to fix what it finds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sds_core.models.industry_data import fit_name
from sds_core.schooldatasync.forwarding import OperationVerdict
from sds_core.text import inert

Status = Literal["ok", "missing", "failed", "skipped"]
PROBLEMS: tuple[Status, ...] = ("missing", "failed")
NAME_PREFIX = "SDS classic API check"
MAX_CODES = 1000  # per code list: a tenant's answer is untrusted
MAX_CODE = 100  # characters of one code
MAX_SHOWN = 50  # validation errors or warnings kept in the answer
CONSENT = (
    "An administrator (Privileged Role Administrator or Global Administrator) grants the "
    "Microsoft Graph application permission(s) {names} to the app's identity{principal}: run "
    "scripts/graph-permissions.sh (or .ps1), which grants them or prints the commands to run."
)


def check_name(now: datetime) -> str:
    """displayName of the check's source system and connector: the minute it ran, within 100."""
    return fit_name(f"{NAME_PREFIX} {now.astimezone(UTC):%Y-%m-%dT%H:%M}Z")


def sample_files() -> dict[str, bytes]:
    """school.csv, student.csv and teacher.csv: one school, student and teacher (users only).

    Valid under the classic and the new SDS's rules (tests/core/schooldatasync/test_check.py
    verifies them): only required columns and names, so no list of values is involved.
    """
    school = "sds-check-school"
    return {
        "school.csv": _csv(["SIS ID", "Name"], [school, "SDS classic API check school"]),
        "student.csv": _csv(["SIS ID", "School SIS ID", "Username", "First Name", "Last Name"],
                            ["sds-check-student", school, "sds-check-student", "Check", "Student"]),
        "teacher.csv": _csv(["SIS ID", "School SIS ID", "Username", "First Name", "Last Name"],
                            ["sds-check-teacher", school, "sds-check-teacher", "Check", "Teacher"]),
    }


def _csv(header: list[str], row: list[str]) -> bytes:
    return (",".join(header) + "\r\n" + ",".join(row) + "\r\n").encode("utf-8")


# -- steps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphRefusal:
    """The Graph error behind a step: HTTP status (None: no answer), code, message, request id."""

    status: int | None
    code: str
    message: str
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As the check answers it."""
        return {"status": self.status, "code": self.code, "message": self.message,
                "requestId": self.request_id}


@dataclass(frozen=True)
class Step:
    """One step of the check: name, status, one-sentence detail, the fix when it is a problem."""

    name: str
    status: Status
    detail: str
    fix: str | None = None
    graph_error: GraphRefusal | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """name, status, detail, fix and graphError (when any), then the step's own members."""
        body: dict[str, Any] = {"name": self.name, "status": self.status, "detail": self.detail}
        if self.fix is not None:
            body["fix"] = self.fix
        if self.graph_error is not None:
            body["graphError"] = self.graph_error.to_json()
        return {**body, **self.extra}


def skipped(name: str, why: str, **extra: Any) -> Step:
    """A step not taken, and why."""
    return Step(name, "skipped", why, extra=extra)


# -- a. identity -------------------------------------------------------------------------------

CLAIMS = ("appid", "azp", "oid", "tid", "idtyp", "roles", "scp")


def _short(value: Any, limit: int = 200) -> str | None:
    return inert(value, limit) if isinstance(value, str) and value else None


def identity_of(claims: Mapping[str, Any]) -> dict[str, Any]:
    """What the check shows of a token's claims (never the token): ids, type, roles."""
    roles = claims.get("roles")
    listed = sorted({inert(r, MAX_CODE) for r in roles if isinstance(r, str)}) if isinstance(
        roles, list) else []
    return {
        "appId": _short(claims.get("appid")) or _short(claims.get("azp")),
        "objectId": _short(claims.get("oid")),
        "tenantId": _short(claims.get("tid")),
        "identityType": _short(claims.get("idtyp")),
        "roles": listed[:MAX_CODES],
    }


def grants_of(claims: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The application permissions an app-only token carries; None when they are not known.

    A token with `scp` is a user's (delegated): its scopes are not the app's application
    permissions. An app-only token without `roles` carries none.
    """
    if not claims or claims.get("scp") or claims.get("idtyp") == "user":
        return None
    return frozenset(identity_of(claims)["roles"])


def identity_step(mode: str, endpoint: str, claims: Mapping[str, Any] | None,
                  refusal: GraphRefusal | None = None, reason: str = "") -> Step:
    """Step a: the identity the app calls Microsoft Graph with."""
    base = {"graphAuth": mode, "endpoint": endpoint}
    if mode == "none":
        return skipped("identity", "SDS_GRAPH_AUTH=none: the app sends Microsoft Graph no token "
                       "(for a local emulator only); the token's permissions are not known.",
                       identity=base)
    if claims is None:
        return Step("identity", "failed", reason or "The app got no token for Microsoft Graph.",
                    fix=reason or None, graph_error=refusal, extra={"identity": base})
    shown = identity_of(claims)
    grants = grants_of(claims)
    who = f"{shown['identityType'] or 'identity'} {shown['appId'] or '?'}"
    where = f" (object {shown['objectId'] or '?'}, tenant {shown['tenantId'] or '?'})"
    if grants is None:
        what = "a delegated (user) token: its application permissions are not known"
    else:
        what = f"{len(grants)} application permission(s)"
    return Step("identity", "ok", f"The app calls Microsoft Graph as {who}{where}, with {what}.",
                extra={"identity": {**base, **shown}})


# -- b. permissions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Needed:
    """A permission the app needs, what for, and its harmless read (None: there is none)."""

    permission: str
    used_for: str
    probe: str | None = None
    probe_is_own: bool = True  # a 403 to the probe names this permission (not a lesser one)


# industry-data.md "Permissions", as scripts/graph-permissions.sh grants them. Each read is the
# collection with $top=1. DataConnector's read is its Read half (a 403 names Read.All); uploads
# (getUploadSession, validate) and runs/start have no harmless call.
NEEDED: tuple[Needed, ...] = (
    Needed("IndustryData-SourceSystem.ReadWrite.All", "a profile's source system", "sourceSystems"),
    Needed("IndustryData-DataConnector.ReadWrite.All", "connectors, upload sessions and validate",
           "dataConnectors", probe_is_own=False),
    Needed("IndustryData-TimePeriod.ReadWrite.All", "school years", "years"),
    Needed("IndustryData-InboundFlow.ReadWrite.All", "inbound flows", "inboundFlows"),
    Needed("IndustryData.ReadBasic.All", "validate's operations and the tenant's code lists",
           "referenceDefinitions"),
    Needed("IndustryData-Run.Read.All", "following runs", "runs"),
    Needed("IndustryData-Run.Start", "starting runs"),
)
DRY_UPLOAD_NEEDS = ("IndustryData-SourceSystem.ReadWrite.All",
                    "IndustryData-DataConnector.ReadWrite.All", "IndustryData.ReadBasic.All")


def probe_call(collection: str) -> str:
    """The harmless read of a collection, as the check names it."""
    return f"GET {collection}?$top=1"


@dataclass(frozen=True)
class PermissionResult:
    """One permission: present, missing, not judged, or its read failed."""

    permission: str
    status: Status
    detail: str
    graph_error: GraphRefusal | None = None

    def to_json(self) -> dict[str, Any]:
        """As listed in the permissions step."""
        body: dict[str, Any] = {"permission": self.permission, "status": self.status,
                                "detail": self.detail}
        if self.graph_error is not None:
            body["graphError"] = self.graph_error.to_json()
        return body


def judge_permission(needed: Needed, answered: bool | None, refusal: GraphRefusal | None,
                     grants: frozenset[str] | None, shown_by: str | None = None,
                     refused_call: str | None = None) -> PermissionResult:
    """A permission judged by its read (`answered`; None: none), the token's roles, the dry upload.

    A 403 is missing (to the read, or to `refused_call` of the dry upload); the roles, when known,
    decide the rest (a read that answers shows only the Read half of a ReadWrite permission).
    Without roles, a read of the permission's own calls that answers counts, and so do the dry
    upload's calls (`shown_by`); else it is skipped.
    """
    name = needed.permission
    read_call = probe_call(needed.probe) if needed.probe else None
    call = refused_call or read_call
    if refusal is not None:
        if refusal.status == 403:
            return PermissionResult(name, "missing", f"{call} was refused ({refusal.status} "
                                    f"{refusal.code}).", refusal)
        return PermissionResult(name, "failed", f"{call} failed: {refusal.message}", refusal)
    call = read_call
    read = f"; {call} answered" if answered and call else ""
    if grants is not None:
        if name in grants:
            return PermissionResult(name, "ok", f"The token carries it{read}.")
        return PermissionResult(name, "missing", f"The token's roles do not carry it{read}.")
    if shown_by:
        return PermissionResult(name, "ok", f"The dry upload used it ({shown_by}).")
    if answered and needed.probe_is_own:
        return PermissionResult(name, "ok", f"{call} answered (writes are not tried).")
    why = f"{call} answered, but " if answered else ""
    return PermissionResult(name, "skipped", f"{why}there is no harmless call for "
                            f"{needed.used_for}, and the token's roles are not known.")


def permissions_step(results: list[PermissionResult], principal: str | None) -> Step:
    """Step b: every permission; missing when one is, with the admin's consent as the fix."""
    listed = {"permissions": [r.to_json() for r in results]}
    missing = [r.permission for r in results if r.status == "missing"]
    failed = [r for r in results if r.status == "failed"]
    if missing:
        fix = CONSENT.format(names=", ".join(missing),
                             principal=f" {principal}" if principal else "")
        return Step("permissions", "missing", f"{len(missing)} of {len(results)} missing: "
                    f"{', '.join(missing)}.", fix=fix, extra=listed)
    if failed:
        first = failed[0]
        return Step("permissions", "failed", f"{len(failed)} read(s) failed; first: "
                    f"{first.permission}: {first.detail}", fix=first.detail,
                    graph_error=first.graph_error, extra=listed)
    judged = [r for r in results if r.status == "ok"]
    if not judged:
        return Step("permissions", "skipped", "No permission could be judged.", extra=listed)
    rest = len(results) - len(judged)
    more = f"; {rest} not judged" if rest else ""
    return Step("permissions", "ok", f"{len(judged)} of {len(results)} present{more}.",
                extra=listed)


# -- c. reference codes ------------------------------------------------------------------------

# Grouped by referenceType compared without regard to case, with a leading "ref" ignored: the
# docs write RefIdentifierType, userMatchTarget and RefGradeLevel
# (industrydata-referencedefinition).
CODE_GROUPS = {"identifierTypes": "identifiertype", "matchTargets": "usermatchtarget",
               "gradeLevels": "gradelevel"}
APP_CODES = {"identifierTypes": "username", "matchTargets": "userPrincipalName"}
"""What the app's source systems match by default (models/industry_data.py DEFAULT_MATCHING)."""


def code_group(reference_type: Any) -> str | None:
    """The check's group of a referenceType, or None for the types it does not read."""
    if not isinstance(reference_type, str):
        return None
    kind = reference_type.strip().casefold()
    kind = kind[3:] if kind.startswith("ref") else kind
    return next((group for group, name in CODE_GROUPS.items() if name == kind), None)


@dataclass(frozen=True)
class CodeList:
    """The codes of one group: enabled (sortIndex order) and disabled."""

    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        """{"enabled": [...], "disabled": [...]}."""
        return {"enabled": list(self.enabled), "disabled": list(self.disabled)}

    def has(self, code: str) -> bool:
        """Whether `code` is enabled, without regard to case."""
        return code.casefold() in {c.casefold() for c in self.enabled}


def reference_codes(definitions: Iterable[Any]) -> dict[str, CodeList]:
    """The identifier types, match targets and grade levels among referenceDefinitions."""
    found: dict[str, list[tuple[int, str, str, bool]]] = {group: [] for group in CODE_GROUPS}
    for item in definitions:
        if not isinstance(item, dict):
            continue
        group = code_group(item.get("referenceType"))
        code = item.get("code")
        if group is None or not isinstance(code, str) or not code.strip():
            continue
        if len(found[group]) >= MAX_CODES:
            continue
        index = item.get("sortIndex")
        order = index if isinstance(index, int) and not isinstance(index, bool) else 2**31
        found[group].append((order, code.casefold(), inert(code.strip(), MAX_CODE),
                             item.get("isDisabled") is True))
    lists = {}
    for group, entries in found.items():
        entries.sort()
        enabled = tuple(dict.fromkeys(c for _, _, c, off in entries if not off))
        disabled = tuple(dict.fromkeys(c for _, _, c, off in entries if off and c not in enabled))
        lists[group] = CodeList(enabled, disabled)
    return lists


def codes_step(codes: dict[str, CodeList], stored: bool) -> Step:
    """Step c: the code lists; missing when the app's default matching codes are not enabled."""
    listed = {"codes": {group: codes[group].to_json() for group in CODE_GROUPS}}
    for group, code in APP_CODES.items():
        if codes[group].enabled and not codes[group].has(code):
            kind = "identifier types" if group == "identifierTypes" else "match targets"
            fix = (f"Enable the code {code} in the tenant's School Data Sync {kind}, or give each "
                   "profile a matching option School Data Sync lists (docs/new-sds-mapping.md).")
            return Step("referenceCodes", "missing", f"The tenant's {kind} do not enable {code}, "
                        "which profiles match users by unless they say otherwise.", fix=fix,
                        extra=listed)
    grades = codes["gradeLevels"].enabled
    use = (f"start checks student.csv Grade against its {len(grades)} grade level(s)" if stored
           else "start keeps the default list of grade levels")
    counts = ", ".join(f"{len(codes[g].enabled)} {label}" for g, label in (
        ("identifierTypes", "identifier type(s)"), ("matchTargets", "match target(s)"),
        ("gradeLevels", "grade level(s)")))
    return Step("referenceCodes", "ok", f"Read {counts}; {use}.", extra=listed)


# -- d. dry upload -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One call of the dry upload (made, uploaded, validated, deleted) and how it went."""

    name: str
    status: Status
    detail: str
    graph_error: GraphRefusal | None = None

    def to_json(self) -> dict[str, Any]:
        """As listed in the dry upload step."""
        body: dict[str, Any] = {"name": self.name, "status": self.status, "detail": self.detail}
        if self.graph_error is not None:
            body["graphError"] = self.graph_error.to_json()
        return body


def validation_json(operation_id: str | None, verdict: OperationVerdict | None) -> dict[str, Any]:
    """What validate's operation said: its status, errors and warnings (at most MAX_SHOWN each)."""
    if verdict is None:
        return {"operationId": operation_id, "status": None, "errors": [], "warnings": []}

    def shown(warning: bool) -> list[dict[str, str]]:
        issues = [i for i in verdict.issues if i.warning is warning][:MAX_SHOWN]
        return [{"file": i.file, "code": i.code, "message": i.message} for i in issues]

    return {"operationId": operation_id, "status": verdict.status, "errors": shown(False),
            "warnings": shown(True)}


def dry_upload_step(name: str, actions: list[Action], validation: dict[str, Any] | None) -> Step:
    """Step d: the dry upload's actions; failed when one failed, the first problem as the fix."""
    extra: dict[str, Any] = {"displayName": name, "actions": [a.to_json() for a in actions],
                             "validation": validation}
    failed = [a for a in actions if a.status in PROBLEMS]
    if failed:
        first = failed[0]
        # In the order of the calls: a refused validation comes before a deletion that failed.
        return Step("dryUpload", "failed", f"{first.name}: {first.detail}", fix=first.detail,
                    graph_error=first.graph_error, extra=extra)
    warnings = len(validation["warnings"]) if validation else 0
    return Step("dryUpload", "ok", "School Data Sync validated the check's files"
                f"{f' with {warnings} warning(s)' if warnings else ''}; everything the check "
                "made is deleted.", extra=extra)


# -- the answer --------------------------------------------------------------------------------


def verdict(steps: list[Step]) -> tuple[bool, str | None]:
    """Ready when no step is missing or failed; else the first such step's fix."""
    for step in steps:
        if step.status in PROBLEMS:
            return False, step.fix or step.detail
    return True, None


def answer(steps: list[Step], checked: datetime, seconds: float, targets: list[str],
           context: str) -> dict[str, Any]:
    """The check's JSON answer."""
    ready, first_fix = verdict(steps)
    return {
        "@odata.context": context,
        "checkedDateTime": checked.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "seconds": round(seconds, 3),
        "forwarding": {"enabled": "schoolDataSync" in targets, "syncTarget": ",".join(targets)},
        "ready": ready,
        "verdict": "ready" if ready else "notReady",
        "firstFix": first_fix,
        "steps": [s.to_json() for s in steps],
    }


def _codes_line(codes: dict[str, dict[str, list[str]]]) -> str:
    def few(values: list[str]) -> str:
        more = f" +{len(values) - 12} more" if len(values) > 12 else ""
        return ", ".join(values[:12]) + more if values else "none"

    return "; ".join(f"{label}: {few(codes[group]['enabled'])}" for group, label in (
        ("identifierTypes", "identifier types"), ("matchTargets", "match targets"),
        ("gradeLevels", "grade levels")))


def render_text(body: dict[str, Any]) -> str:
    """The short text of a JSON answer: a line per step, problems beneath it, the verdict."""
    forwarding = body["forwarding"]
    state = "on" if forwarding["enabled"] else "off"
    lines = [f"School Data Sync check, {body['checkedDateTime']}: forwarding to School Data Sync "
             f"is {state} (SDS_SYNC_TARGET={forwarding['syncTarget']})."]
    for step in body["steps"]:
        lines.append(f"{step['status']:<8} {step['name']}: {step['detail']}")
        for entry in step.get("permissions", []):
            if entry["status"] != "ok":
                lines.append(f"  {entry['status']:<8} {entry['permission']}: {entry['detail']}")
        if step["name"] == "referenceCodes" and "codes" in step:
            lines.append(f"  {_codes_line(step['codes'])}")
        for action in step.get("actions", []):
            if action["status"] != "ok" or action["name"].startswith("delete"):
                lines.append(f"  {action['status']:<8} {action['name']}: {action['detail']}")
        for issue in ((step.get("validation") or {}).get("errors") or [])[:5]:
            lines.append(f"  error    {issue['file']}: {issue['code']}: {issue['message']}")
    missing = [e["permission"] for s in body["steps"] for e in s.get("permissions", [])
               if e["status"] == "missing"]
    if missing:
        lines.append(f"Missing permissions: {', '.join(missing)}. An administrator grants them "
                     "(admin consent): scripts/graph-permissions.sh, or .ps1.")
    if body["ready"]:
        lines.append("Verdict: ready.")
    else:
        lines.append(f"Verdict: not ready. First fix: {body['firstFix']}")
    return "\n".join(inert(line) for line in lines) + "\n"
