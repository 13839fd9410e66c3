"""The tenant check's pure part: sample files, names, code lists, permissions, verdict, text."""

from __future__ import annotations

from datetime import UTC, datetime

from sds_core.schooldatasync import check as ck
from sds_core.schooldatasync.state import TenantCodes
from sds_core.verification.options import VerifyOptions
from sds_core.verification.verify import verify_files

NOW = datetime(2026, 12, 7, 10, 0, 59, tzinfo=UTC)
REFUSED = ck.GraphRefusal(403, "Authorization_RequestDenied", "Insufficient privileges.", "r1")


def test_the_sample_files_pass_the_new_sds_rules_as_a_users_only_set() -> None:
    files = ck.sample_files()
    assert sorted(files) == ["school.csv", "student.csv", "teacher.csv"]
    result = verify_files(files, VerifyOptions(new_sds=True))
    assert (result.graph_messages(), result.has_errors) == ([], False)
    assert files["school.csv"] == b"SIS ID,Name\r\nsds-check-school,SDS classic API check school\r\n"


def test_the_check_name_is_the_minute_it_ran_within_100_characters() -> None:
    assert ck.check_name(NOW) == "SDS classic API check 2026-12-07T10:00Z"
    assert len(ck.check_name(NOW)) <= 100


def definition(reference_type: str, code: str, sort: int, disabled: bool = False) -> dict:
    return {"@odata.type": "#microsoft.graph.industryData.referenceDefinition",
            "id": f"{reference_type}-{code}", "code": code, "displayName": code,
            "isDisabled": disabled, "referenceType": reference_type, "sortIndex": sort,
            "source": "CEDS"}


def test_code_lists_group_reference_types_without_case_and_the_ref_prefix() -> None:
    codes = ck.reference_codes([
        definition("RefGradeLevel", "02", 70), definition("refgradelevel", "01", 60),
        definition("RefGradeLevel", "PK", 20, disabled=True), definition("gradeLevel", "Y7", 300),
        definition("RefIdentifierType", "username", 40), definition("RefIdentifierType", "email", 10),
        definition("userMatchTarget", "userPrincipalName", 10),
        definition("RefUserMatchTarget", "mail", 20), definition("RefRole", "student", 1),
        definition("RefEmailAddressType", "home", 10), {"referenceType": "RefGradeLevel"}, "junk",
        {**definition("RefGradeLevel", "KG", 50), "sortIndex": "x"},
    ])
    assert {g: c.to_json() for g, c in codes.items()} == {
        "identifierTypes": {"enabled": ["email", "username"], "disabled": []},
        "matchTargets": {"enabled": ["userPrincipalName", "mail"], "disabled": []},
        "gradeLevels": {"enabled": ["01", "02", "Y7", "KG"], "disabled": ["PK"]},
    }


def test_codes_are_missing_when_the_default_matching_codes_are_not_enabled() -> None:
    codes = ck.reference_codes([definition("RefIdentifierType", "email", 1),
                                definition("RefIdentifierType", "username", 2, disabled=True)])
    step = ck.codes_step(codes, stored=False)
    assert (step.status, step.detail) == ("missing", (
        "The tenant's identifier types do not enable username, which profiles match users by "
        "unless they say otherwise."))
    # An empty list says nothing about what the tenant takes: no judgement.
    assert ck.codes_step(ck.reference_codes([]), stored=False).to_json() == {
        "name": "referenceCodes", "status": "ok",
        "detail": "Read 0 identifier type(s), 0 match target(s), 0 grade level(s); start keeps "
                  "the default list of grade levels.",
        "codes": {g: {"enabled": [], "disabled": []} for g in ck.CODE_GROUPS},
    }


NEEDED = {n.permission: n for n in ck.NEEDED}


def test_a_permission_is_judged_by_its_read_then_the_roles_then_the_dry_upload() -> None:
    source = NEEDED["IndustryData-SourceSystem.ReadWrite.All"]
    connector = NEEDED["IndustryData-DataConnector.ReadWrite.All"]
    start = NEEDED["IndustryData-Run.Start"]
    roles = frozenset({"IndustryData-Run.Start"})

    def judged(needed: ck.Needed, answered: bool | None, refusal: ck.GraphRefusal | None,
               grants: frozenset[str] | None, shown_by: str | None = None) -> tuple[str, str]:
        result = ck.judge_permission(needed, answered, refusal, grants, shown_by)
        return result.status, result.detail

    assert judged(source, False, REFUSED, roles) == (
        "missing", "GET sourceSystems?$top=1 was refused (403 Authorization_RequestDenied).")
    assert judged(source, False, ck.GraphRefusal(500, "InternalServerError", "boom"), None) == (
        "failed", "GET sourceSystems?$top=1 failed: boom")
    assert judged(source, True, None, roles) == (
        "missing", "The token's roles do not carry it; GET sourceSystems?$top=1 answered.")
    assert judged(source, True, None, None) == (
        "ok", "GET sourceSystems?$top=1 answered (writes are not tried).")
    assert judged(start, None, None, roles) == ("ok", "The token carries it.")
    assert judged(start, None, None, None) == (
        "skipped", "there is no harmless call for starting runs, and the token's roles are not known.")
    # The connectors' read is their Read half: without roles, uploads stay unjudged.
    assert judged(connector, True, None, None) == (
        "skipped", "GET dataConnectors?$top=1 answered, but there is no harmless call for "
                   "connectors, upload sessions and validate, and the token's roles are not known.")
    assert judged(connector, True, None, None, "createConnector, uploadSession, validate") == (
        "ok", "The dry upload used it (createConnector, uploadSession, validate).")


def test_the_tokens_roles_are_known_only_for_an_app_token() -> None:
    assert ck.grants_of({"idtyp": "app", "roles": ["A", "B", 3]}) == frozenset({"A", "B"})
    assert ck.grants_of({"oid": "x"}) == frozenset()  # an app token without roles carries none
    assert ck.grants_of({"scp": "User.Read", "roles": ["A"]}) is None
    assert ck.grants_of(None) is None


def test_missing_permissions_are_named_and_the_fix_is_the_admins_consent() -> None:
    results = [ck.judge_permission(n, True, REFUSED if n.probe == "runs" else None,
                                   frozenset(p.permission for p in ck.NEEDED) - {
                                       "IndustryData-Run.Start"}) for n in ck.NEEDED]
    step = ck.permissions_step(results, "0f0f-principal")
    assert (step.status, step.detail) == (
        "missing", "2 of 7 missing: IndustryData-Run.Read.All, IndustryData-Run.Start.")
    assert step.fix == (
        "An administrator (Privileged Role Administrator or Global Administrator) grants the "
        "Microsoft Graph application permission(s) IndustryData-Run.Read.All, "
        "IndustryData-Run.Start to the app's identity 0f0f-principal: run "
        "scripts/graph-permissions.sh (or .ps1), which grants them or prints the commands to run.")
    assert ck.verdict([ck.skipped("identity", "none"), step]) == (False, step.fix)
    assert ck.verdict([ck.skipped("identity", "none")]) == (True, None)


def test_the_text_has_a_line_per_step_the_missing_permissions_and_the_verdict() -> None:
    results = [ck.judge_permission(n, n.probe is not None, REFUSED if n.probe == "runs" else None,
                                   None) for n in ck.NEEDED]
    steps = [
        ck.identity_step("none", "https://graph.microsoft.com", None),
        ck.permissions_step(results, None),
        ck.codes_step(ck.reference_codes([definition("RefGradeLevel", "01", 1)]), stored=True),
        ck.skipped("dryUpload", "Not asked."),
    ]
    body = ck.answer(steps, NOW, 1.5, ["directory"], "ctx")
    assert ck.render_text(body) == (
        "School Data Sync check, 2026-12-07T10:00:59Z: forwarding to School Data Sync is off "
        "(SDS_SYNC_TARGET=directory).\n"
        "skipped  identity: SDS_GRAPH_AUTH=none: the app sends Microsoft Graph no token (for a "
        "local emulator only); the token's permissions are not known.\n"
        "missing  permissions: 1 of 7 missing: IndustryData-Run.Read.All.\n"
        "  skipped  IndustryData-DataConnector.ReadWrite.All: GET dataConnectors?$top=1 answered, "
        "but there is no harmless call for connectors, upload sessions and validate, and the "
        "token's roles are not known.\n"
        "  missing  IndustryData-Run.Read.All: GET runs?$top=1 was refused (403 "
        "Authorization_RequestDenied).\n"
        "  skipped  IndustryData-Run.Start: there is no harmless call for starting runs, and the "
        "token's roles are not known.\n"
        "ok       referenceCodes: Read 0 identifier type(s), 0 match target(s), 1 grade level(s); "
        "start checks student.csv Grade against its 1 grade level(s).\n"
        "  identifier types: none; match targets: none; grade levels: 01\n"
        "skipped  dryUpload: Not asked.\n"
        "Missing permissions: IndustryData-Run.Read.All. An administrator grants them (admin "
        "consent): scripts/graph-permissions.sh, or .ps1.\n"
        f"Verdict: not ready. First fix: {steps[1].fix}\n"
    )


def test_the_tenants_grade_codes_for_start() -> None:
    codes = TenantCodes(read_date_time=NOW, grade_levels=["Y7", "01"])
    assert codes.grade_set() == frozenset({"y7", "01"})
    assert TenantCodes(read_date_time=NOW).grade_set() is None
    assert TenantCodes(read_date_time=NOW, grade_levels=[]).grade_set() is None
