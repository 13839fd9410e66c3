"""scripts/graph-permissions.*: the Microsoft Graph application permissions of the app's identity."""

from __future__ import annotations

import re
from pathlib import Path

from sds_app.graph import errors
from tests.infra.cli import REPO, run_script

SCRIPTS = REPO / "scripts"
PRINCIPAL = "aaaaaaaa-0000-0000-0000-000000000001"
GRAPH_SP = "bbbbbbbb-0000-0000-0000-000000000002"
# Least privileged per call; ReadWrite of the connectors also lists them, so Read.All is not asked.
NEEDED = [
    "IndustryData-SourceSystem.ReadWrite.All",
    "IndustryData-DataConnector.ReadWrite.All",
    "IndustryData-TimePeriod.ReadWrite.All",
    "IndustryData-InboundFlow.ReadWrite.All",
    "IndustryData.ReadBasic.All",
    "IndustryData-Run.Read.All",
    "IndustryData-Run.Start",
]
ROLE_IDS = [f"cccccccc-0000-0000-0000-00000000000{i}" for i in range(1, 8)]
REPLIES = {
    "az cloud show": [{"out": "https://graph.microsoft.com/"}],
    "az ad sp show": [{"out": GRAPH_SP}, *({"out": r} for r in ROLE_IDS)],
    "az rest GET": [{"out": ROLE_IDS[1]}],  # DataConnector.ReadWrite.All is granted already
    "az rest POST": [{"out": ""}, {"out": "", "code": 1}],  # the first grant works, then 403
}
ENV = {"SDS_SYNC_TARGET": "directory,schoolDataSync", "SDS_IDENTITY_PRINCIPAL_ID": PRINCIPAL}
ASSIGNMENTS = f"https://graph.microsoft.com/v1.0/servicePrincipals/{PRINCIPAL}/appRoleAssignments"


def listed(script: str) -> list[str]:
    return re.findall(r"IndustryData[\w.-]*\.(?:All|Start)", (SCRIPTS / script).read_text())


def test_the_scripts_ask_for_what_the_client_calls_need() -> None:
    used = {permission for _, _, permission in errors._PERMISSIONS}
    assert set(NEEDED) == used - {"IndustryData-DataConnector.Read.All"}
    assert listed("graph-permissions.sh") == NEEDED
    assert listed("graph-permissions.ps1") == NEEDED


def test_nothing_is_asked_for_the_directory_target(tmp_path: Path) -> None:
    run = run_script(tmp_path, "graph-permissions.sh", REPLIES,
                     {"SDS_SYNC_TARGET": "directory", "SDS_IDENTITY_PRINCIPAL_ID": PRINCIPAL})
    assert run.returncode == 0, run.output
    assert run.calls == []
    assert "no Microsoft Graph permission is needed" in run.output


def test_without_a_target_the_deployed_default_schooldatasync_is_asked_for(tmp_path: Path) -> None:
    run = run_script(tmp_path, "graph-permissions.sh", REPLIES, {"SDS_IDENTITY_PRINCIPAL_ID": PRINCIPAL})
    assert run.returncode == 0, run.output
    assert run.called("az rest POST")
    assert "no Microsoft Graph permission is needed" not in run.output


def test_grants_what_it_may_and_prints_the_rest_for_an_admin(tmp_path: Path) -> None:
    run = run_script(tmp_path, "graph-permissions.sh", REPLIES, ENV)
    assert run.returncode == 0, run.output
    lookups = [c["args"] for c in run.called("az ad sp show")]
    assert lookups[0] == ["ad", "sp", "show", "--id", "00000003-0000-0000-c000-000000000000", "--query", "id",
                          "--output", "tsv"]
    assert [a[a.index("--query") + 1] for a in lookups[1:]] == [
        f"appRoles[?value=='{p}'].id | [0]" for p in NEEDED
    ]
    posts = run.called("az rest POST")
    assert [p["args"][p["args"].index("--url") + 1] for p in posts] == [ASSIGNMENTS] * 6
    assert [p["body"] for p in posts] == [
        {"principalId": PRINCIPAL, "resourceId": GRAPH_SP, "appRoleId": role}
        for role in ROLE_IDS if role != ROLE_IDS[1]
    ]
    assert "IndustryData-SourceSystem.ReadWrite.All: granted." in run.output
    assert "IndustryData-DataConnector.ReadWrite.All: already granted." in run.output
    refused = [(p, r) for p, r in zip(NEEDED, ROLE_IDS) if r not in ROLE_IDS[:2]]
    for permission, role in refused:
        assert f"# {permission}" in run.output
        assert (
            f"az rest --method POST --url '{ASSIGNMENTS}' --headers 'Content-Type=application/json' --body "
            f"'{{\"principalId\": \"{PRINCIPAL}\", \"resourceId\": \"{GRAPH_SP}\", \"appRoleId\": \"{role}\"}}'"
        ) in run.output
        assert (
            f"New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId {PRINCIPAL} -PrincipalId {PRINCIPAL} "
            f"-ResourceId {GRAPH_SP} -AppRoleId {role}"
        ) in run.output
    assert "An administrator (Privileged Role Administrator or Global Administrator) must grant" in run.output
    assert "# IndustryData-SourceSystem.ReadWrite.All" not in run.output


def test_everything_granted_prints_no_admin_command(tmp_path: Path) -> None:
    replies = {**REPLIES, "az rest POST": [{"out": ""}]}
    run = run_script(tmp_path, "graph-permissions.sh", replies, ENV)
    assert run.returncode == 0, run.output
    assert "has every Microsoft Graph permission" in run.output
    assert "New-MgServicePrincipalAppRoleAssignment" not in run.output


def test_the_identity_is_required(tmp_path: Path) -> None:
    run = run_script(tmp_path, "graph-permissions.sh", REPLIES, {"SDS_SYNC_TARGET": "schoolDataSync"})
    assert run.returncode == 1
    assert "SDS_IDENTITY_PRINCIPAL_ID is not set" in run.output
    assert run.calls == []


def test_the_powershell_script_says_what_the_bash_script_says() -> None:
    bash = (SCRIPTS / "graph-permissions.sh").read_text()
    pwsh = (SCRIPTS / "graph-permissions.ps1").read_text()
    guid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert set(guid.findall(bash)) == set(guid.findall(pwsh))
    words = re.compile(r"SDS_[A-Z_]+|--[a-z-]+|New-Mg\w+|-(?:ServicePrincipalId|PrincipalId|ResourceId|AppRoleId)\b"
                       r"|Privileged Role Administrator|provisioningFailed|AppRoleAssignment\.ReadWrite\.All")
    assert set(words.findall(bash)) <= set(words.findall(pwsh)), set(words.findall(bash)) - set(words.findall(pwsh))
