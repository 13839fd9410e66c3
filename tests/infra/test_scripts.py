"""The azd hook scripts, run with a fake az/azd/curl: what they would ask of Azure."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sds_app.auth import ROLES, SCOPES, Access
from sds_app.blueprints import verification
from sds_app.settings import UPLOAD_CONTAINER
from tests.infra.cli import REPO, run_script
from tests.infra.functions import app_bindings

SCRIPTS = REPO / "scripts"
DEPLOY_ENV = {
    "AZURE_SUBSCRIPTION_ID": "sub-1",
    "AZURE_RESOURCE_GROUP": "rg-dev",
    "AZURE_FUNCTION_APP_NAME": "func-sds-abc",
    "SDS_UPLOADS_SYSTEM_TOPIC_NAME": "evgt-abc",
    "SDS_KEY_WAIT_SECONDS": "0",
}
HOST = "func-sds-abc-h4sh.westeurope-01.azurewebsites.net"
APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "99999999-8888-7777-6666-555555555555"


def option(args: list[str], name: str) -> str:
    """The value after `name` in a command line."""
    return args[args.index(name) + 1]


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_the_bash_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(SCRIPTS / script)], check=True)


def test_post_deploy_subscribes_the_blob_trigger_to_blob_created_in_sds_uploads(
    tmp_path: Path,
) -> None:
    run = run_script(
        tmp_path,
        "post-deploy.sh",
        {
            "az functionapp show": [{"out": HOST}],
            # The key appears once the host has started.
            "az functionapp keys list": [{"out": ""}, {"out": "k3y"}],
        },
        DEPLOY_ENV,
    )
    assert run.returncode == 0, run.output
    assert len(run.called("az functionapp keys list")) == 2
    assert run.called("curl")[0]["args"][-1] == f"https://{HOST}/beta/health"
    (create,) = run.called("az eventgrid system-topic event-subscription create")
    args = create["args"]
    assert option(args, "--system-topic-name") == "evgt-abc"
    assert option(args, "--resource-group") == "rg-dev"
    assert option(args, "--endpoint-type") == "webhook"
    assert option(args, "--endpoint") == (
        f"https://{HOST}/runtime/webhooks/blobs?functionName=Host.Functions.verify_upload&code=k3y"
    )
    assert option(args, "--included-event-types") == "Microsoft.Storage.BlobCreated"
    assert args[args.index("--included-event-types") + 2].startswith("--")  # that type only
    assert option(args, "--subject-begins-with") == (
        f"/blobServices/default/containers/{UPLOAD_CONTAINER}/"
    )
    assert "k3y" not in run.output


def test_the_webhook_names_the_apps_blob_trigger_on_sds_uploads() -> None:
    bindings = app_bindings()["verify_upload"]
    assert bindings[0]["type"] == "blobTrigger"
    assert bindings[0]["path"].startswith(f"{UPLOAD_CONTAINER}/")
    assert verification.verify_upload is not None


def test_post_deploy_gives_up_when_the_key_never_appears(tmp_path: Path) -> None:
    run = run_script(
        tmp_path,
        "post-deploy.sh",
        {"az functionapp show": [{"out": HOST}]},
        {**DEPLOY_ENV, "SDS_KEY_ATTEMPTS": "3"},
    )
    assert run.returncode == 1
    assert "no blobs_extension key" in run.output
    assert not run.called("az eventgrid system-topic event-subscription create")


def test_post_deploy_needs_the_outputs_of_the_template(tmp_path: Path) -> None:
    env = {k: v for k, v in DEPLOY_ENV.items() if k != "SDS_UPLOADS_SYSTEM_TOPIC_NAME"}
    run = run_script(tmp_path, "post-deploy.sh", {}, env)
    assert run.returncode == 1
    assert "SDS_UPLOADS_SYSTEM_TOPIC_NAME is not set" in run.output
    assert run.calls == []


ENTRA_REPLIES = {
    "az cloud show": [{"out": "https://graph.microsoft.com/"}],
    "az account show": [{"out": TENANT}],
    "az ad app list": [{"out": ""}],
    "az ad app create": [{"out": APP_ID}],
    "az ad app show": [{"out": "app-object-1"}],
    "az ad sp show": [{"out": "", "code": 3}],
    "az ad sp create": [{"out": "sp-object-1"}],
    "az ad signed-in-user show": [{"out": "user-1"}],
    "az rest GET": [{"out": "0"}],
    "az functionapp show": [{"out": "", "code": 3}],
}


def test_entra_app_registers_the_scopes_and_roles_the_app_accepts(tmp_path: Path) -> None:
    run = run_script(tmp_path, "entra-app.sh", ENTRA_REPLIES, {"AZURE_ENV_NAME": "dev"})
    assert run.returncode == 0, run.output
    (create,) = run.called("az ad app create")
    assert option(create["args"], "--display-name") == "sds-classic-api-dev"
    (patch,) = run.called("az rest PATCH")
    assert (
        option(patch["args"], "--url")
        == "https://graph.microsoft.com/v1.0/applications/app-object-1"
    )
    body = patch["body"]
    assert body["identifierUris"] == [f"api://{APP_ID}"]
    scopes = {s["value"]: s for s in body["api"]["oauth2PermissionScopes"]}
    assert set(scopes) == SCOPES[Access.READ] | SCOPES[Access.WRITE]
    assert {s["type"] for s in scopes.values()} == {"Admin"}
    roles = {r["value"]: r for r in body["appRoles"]}
    assert set(roles) == ROLES[Access.READ] | ROLES[Access.WRITE]
    assert all(r["allowedMemberTypes"] == ["Application"] for r in roles.values())
    assert "preAuthorizedApplications" not in body["api"]


def test_entra_app_restricts_tokens_to_assigned_users_and_assigns_the_caller(
    tmp_path: Path,
) -> None:
    run = run_script(tmp_path, "entra-app.sh", ENTRA_REPLIES, {})
    assert run.returncode == 0, run.output
    (update,) = run.called("az ad sp update")
    assert option(update["args"], "--set") == "appRoleAssignmentRequired=true"
    (assign,) = run.called("az rest POST")
    assert assign["body"] == {
        "principalId": "user-1",
        "resourceId": "sp-object-1",
        "appRoleId": "00000000-0000-0000-0000-000000000000",
    }


def test_entra_app_sets_tenant_and_audience_in_azd_and_on_the_app(tmp_path: Path) -> None:
    replies = {**ENTRA_REPLIES, "az functionapp show": [{"out": ""}], "az rest GET": [{"out": "1"}]}
    env = {"AZURE_FUNCTION_APP_NAME": "func-sds-abc", "AZURE_RESOURCE_GROUP": "rg-dev"}
    run = run_script(tmp_path, "entra-app.sh", replies, env)
    assert run.returncode == 0, run.output
    audience = f"api://{APP_ID},{APP_ID}"
    assert [c["args"][2:] for c in run.called("azd env set")] == [
        ["SDS_TENANT_ID", TENANT],
        ["SDS_AUDIENCE", audience],
    ]
    (settings,) = run.called("az functionapp config appsettings set")
    args = settings["args"]
    assert args[args.index("--settings") + 1 : args.index("--settings") + 3] == [
        f"SDS_TENANT_ID={TENANT}",
        f"SDS_AUDIENCE={audience}",
    ]
    assert not run.called("az rest POST")  # already assigned


def test_entra_app_can_let_the_azure_cli_ask_for_tokens(tmp_path: Path) -> None:
    replies = {**ENTRA_REPLIES, "az ad app list": [{"out": APP_ID}]}
    run = run_script(tmp_path, "entra-app.sh", replies, {}, "--allow-azure-cli")
    assert run.returncode == 0, run.output
    assert not run.called("az ad app create")
    first, second = run.called("az rest PATCH")
    scope_ids = {s["id"] for s in first["body"]["api"]["oauth2PermissionScopes"]}
    (cli,) = second["body"]["api"]["preAuthorizedApplications"]
    assert cli["appId"] == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    assert set(cli["delegatedPermissionIds"]) == scope_ids


def test_entra_app_in_the_hook_leaves_a_configured_audience_alone(tmp_path: Path) -> None:
    run = run_script(
        tmp_path, "entra-app.sh", ENTRA_REPLIES, {"SDS_AUDIENCE": "api://x"}, "--if-missing"
    )
    assert run.returncode == 0
    assert run.calls == []


def test_the_powershell_scripts_say_what_the_bash_scripts_say() -> None:
    guid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    words = re.compile(
        r"EduAdministration\.[\w.]+|verify_upload|sds-uploads|Microsoft\.Storage\.\w+"
        r"|appRoleAssignmentRequired=true|SDS_[A-Z_]+|--[a-z-]+"
    )
    for name in ("entra-app", "post-deploy"):
        bash = (SCRIPTS / f"{name}.sh").read_text()
        pwsh = (SCRIPTS / f"{name}.ps1").read_text()
        assert set(guid.findall(bash)) == set(guid.findall(pwsh)), name
        bash_words = set(words.findall(bash)) - {
            "--name",
            "--if-missing",
            "--allow-azure-cli",
            "--help",
            "--max-time",
            "--silent",
        }
        assert bash_words <= set(words.findall(pwsh)), (name, bash_words - set(words.findall(pwsh)))
    deploy = (SCRIPTS / "post-deploy.ps1").read_text()
    assert '--subject-begins-with "/blobServices/default/containers/$UploadContainer/"' in deploy
    assert "$UploadContainer = 'sds-uploads'" in deploy
    assert "--included-event-types Microsoft.Storage.BlobCreated `" in deploy


def test_check_after_azd_up_takes_the_host_and_audience_from_the_azd_environment(tmp_path: Path) -> None:
    replies = {
        "azd env get-value": [{"out": "https://sds-app.azurewebsites.net/"}, {"out": "api://1111-2222"}],
        "az account get-access-token": [{"out": "a-token"}],
        "curl": [{"out": "200"}],
    }
    run = run_script(tmp_path, "check.sh", replies, {}, "--dry-upload")
    assert [c["args"] for c in run.calls if c["key"] == "azd env get-value"] == [
        ["env", "get-value", "SERVICE_API_URI"], ["env", "get-value", "SDS_AUDIENCE"]]
    (token,) = [c["args"] for c in run.calls if c["key"] == "az account get-access-token"]
    assert token[token.index("--scope") + 1] == "api://1111-2222/.default"
    (curl,) = [c["args"] for c in run.calls if c["key"] == "curl"]
    assert "https://sds-app.azurewebsites.net/beta/schoolDataSync/check" in curl
    assert "Authorization: Bearer a-token" in curl
    assert '{"dryUpload": true}' in curl
    assert run.returncode == 1, run.output  # the fake answered no "Verdict: ready." line
    pwsh = (SCRIPTS / "check.ps1").read_text()
    assert "Get-AzdValue 'SERVICE_API_URI'" in pwsh and "Get-AzdValue 'SDS_AUDIENCE'" in pwsh
