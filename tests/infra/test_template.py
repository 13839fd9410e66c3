"""The azd template: azure.yaml, infra/*.json and the Bicep text, checked against the code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from sds_app import telemetry
from sds_app.settings import SYNC_POISON_QUEUE, SYNC_QUEUE, UPLOAD_CONTAINER, Settings
from sds_app.storage import provisioning
from sds_app.storage.account import StorageConfig
from sds_app.storage.directory import DIRECTORY_TABLE
from sds_app.storage.directory import STATE_CONTAINER as DIRECTORY_STATE_CONTAINER
from sds_app.storage.profiles import STATE_CONTAINER
from sds_app.storage.sync_errors import SYNC_ERRORS_TABLE
from tests.infra.bicep import INFRA, all_text, block, keys, params, string_vars, text

REPO = INFRA.parent
# Flex Consumption ignores or refuses these: runtime and deployment live in functionAppConfig.
FLEX_REFUSED = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
}
ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Delegator": "db58b8e5-c6ad-4a2a-8342-4190687cbf4a",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}


class ReadsRecorded(Mapping[str, str]):
    """An environment that remembers which names were read; identity storage, nothing else set."""

    def __init__(self) -> None:
        self.read: set[str] = set()
        self.values = {"AzureWebJobsStorage__accountName": "account"}

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(key)
        return self.values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def settings_the_app_reads() -> set[str]:
    """Every setting name Settings, StorageConfig and telemetry read from the environment."""
    env = ReadsRecorded()
    Settings.from_env(env)
    StorageConfig.from_env(env)
    return env.read | {telemetry.CONNECTION_SETTING}


def app_settings() -> dict[str, str]:
    """The function app's settings: main.bicep's appSettings plus what api.bicep adds."""
    main = keys(block(text("main.bicep"), "appSettings: {"))
    added = keys(block(text("app/api.bicep"), "properties: union(appSettings, {"))
    return {**main, **added}


def test_azure_yaml_deploys_the_repository_root_as_a_python_function_app() -> None:
    config = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert config["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert "'azd-service-name': 'api'" in text("app/api.bicep")


def test_every_hook_of_azure_yaml_runs_a_script_of_the_repository() -> None:
    hooks = yaml.safe_load((REPO / "azure.yaml").read_text())["hooks"]
    assert set(hooks) == {"preprovision", "postprovision", "postdeploy"}
    for hook in hooks.values():
        assert hook["posix"]["shell"] == "sh" and hook["windows"]["shell"] == "pwsh"
        posix = REPO / hook["posix"]["run"].split()[0]
        windows = REPO / hook["windows"]["run"].split()[0]
        assert posix.suffix == ".sh" and windows.suffix == ".ps1"
        assert posix.read_text().startswith("#!/usr/bin/env bash\n")
        assert posix.stat().st_mode & 0o111, f"{posix} is not executable"
        assert windows.is_file()


def test_the_json_files_of_infra_are_valid_and_the_parameters_exist() -> None:
    declared = params(text("main.bicep"))
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(declared)
    assert {name for name, has_default in declared.items() if not has_default} <= set(given)
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    assert set(re.findall(r"abbrs\.(\w+)", text("main.bicep"))) <= set(abbreviations)


def test_every_module_file_exists() -> None:
    modules = re.findall(r"^module \w+ '([^']+)'", all_text(), flags=re.MULTILINE)
    assert modules
    assert all((INFRA / path).is_file() for path in modules), modules


def test_every_setting_the_app_reads_is_set_except_a_storage_connection_string() -> None:
    settings = app_settings()
    expected = settings_the_app_reads() - {"AzureWebJobsStorage"}
    assert expected <= set(settings), expected - set(settings)
    assert "AzureWebJobsStorage" not in settings
    assert settings["AzureWebJobsStorage__credential"] == "'managedidentity'"
    assert settings["AzureWebJobsStorage__clientId"] == "identity.outputs.clientId"
    assert not FLEX_REFUSED & set(settings)


def test_the_deployed_app_uses_the_event_grid_trigger_and_entra_tokens() -> None:
    settings = app_settings()
    assert settings["SDS_BLOB_TRIGGER_SOURCE"] == "'EventGrid'"
    assert settings["SDS_AUTH_MODE"] == "'entra'"


def test_storage_names_match_the_code() -> None:
    names = string_vars(text("main.bicep"))
    assert names["uploadContainerName"] == UPLOAD_CONTAINER
    assert names["stateContainerName"] == STATE_CONTAINER == DIRECTORY_STATE_CONTAINER
    assert names["syncQueueName"] == SYNC_QUEUE
    assert names["syncPoisonQueueName"] == SYNC_POISON_QUEUE
    assert names["syncErrorsTableName"] == SYNC_ERRORS_TABLE
    assert names["directoryTableName"] == DIRECTORY_TABLE
    created = set(provisioning.CONTAINERS + provisioning.QUEUES + provisioning.TABLES)
    assert created <= set(names.values())
    passed = block(text("main.bicep"), "module storage 'app/storage.bicep' = {")
    assert (
        "containers: [uploadContainerName, stateContainerName, deploymentContainerName]" in passed
    )
    assert "queues: [syncQueueName, syncPoisonQueueName]" in passed
    assert "tables: [syncErrorsTableName, directoryTableName]" in passed


def test_no_account_key_or_connection_string_anywhere() -> None:
    source = all_text().lower()
    for forbidden in (
        "listkeys(",
        "accountkey",
        "defaultendpointsprotocol",
        "sharedaccesskey",
        "primarykey",
        "instrumentationkey=",
    ):
        assert forbidden not in source, forbidden
    storage = text("app/storage.bicep")
    assert "allowSharedKeyAccess: false" in storage
    assert "allowBlobPublicAccess: false" in storage
    assert "DisableLocalAuth: true" in text("app/monitoring.bicep")


def test_the_app_is_flex_consumption_python_3_13_with_2048_mb_and_its_own_identity() -> None:
    api = text("app/api.bicep")
    assert "name: 'FC1'" in api and "tier: 'FlexConsumption'" in api
    assert keys(block(api, "runtime: {")) == {"name": "'python'", "version": "'3.13'"}
    main = text("main.bicep")
    assert "param instanceMemoryMB string = '2048'" in main
    assert "instanceMemoryMB: int(instanceMemoryMB)" in main
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["instanceMemoryMB"] == {"value": "${SDS_INSTANCE_MEMORY_MB=2048}"}
    assert "type: 'UserAssigned'" in api
    assert "type: 'UserAssignedIdentity'" in api  # the deployment package, too


def test_the_identity_has_the_storage_and_telemetry_roles() -> None:
    rbac = text("app/rbac.bicep")
    assert all(role_id in rbac for role_id in ROLES.values())
    assert "principalType: 'ServicePrincipal'" in rbac


def test_the_event_grid_system_topic_watches_the_storage_account() -> None:
    events = text("app/events.bicep")
    assert "topicType: 'Microsoft.Storage.StorageAccounts'" in events
    assert "source: storage.id" in events
    outputs = re.findall(r"^output (\w+) ", text("main.bicep"), flags=re.MULTILINE)
    needed = {"AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "SDS_UPLOADS_SYSTEM_TOPIC_NAME"}
    assert needed <= set(outputs)


def test_the_deployment_package_leaves_out_what_the_app_does_not_run() -> None:
    ignored = set((REPO / ".funcignore").read_text().split())
    assert {
        "tests",
        "infra",
        "scripts",
        "test.http",
        "azure.yaml",
        ".azure",
        "local.settings.json",
    } <= ignored


def test_paths_named_in_the_template_exist() -> None:
    for path in re.findall(r"scripts/[\w.-]+", (REPO / "azure.yaml").read_text()):
        assert Path(REPO / path).is_file(), path


def test_the_sync_target_and_graph_identity_reach_the_app_and_the_permissions_hook() -> None:
    settings = app_settings()
    assert settings["SDS_SYNC_TARGET"] == "sdsSyncTarget"
    assert settings["SDS_GRAPH_ENDPOINT"] == "sdsGraphEndpoint"
    assert settings["SDS_GRAPH_AUTH"] == "'default'"  # never none in Azure
    assert settings["AZURE_CLIENT_ID"] == "identity.outputs.clientId"  # the user-assigned identity's tokens
    main = text("main.bicep")
    assert "@allowed(['directory', 'schoolDataSync', 'directory,schoolDataSync'])" in main
    assert "output SDS_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId" in main
    assert "output SDS_SYNC_TARGET string = sdsSyncTarget" in main
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["sdsSyncTarget"] == {"value": "${SDS_SYNC_TARGET=schoolDataSync}"}
    # Deployed, the roster reaches the tenant unless told otherwise; local runs keep the tables.
    assert "param sdsSyncTarget string = 'schoolDataSync'" in main
    local = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    assert local["SDS_SYNC_TARGET"] == "directory"


def test_the_deployed_python_is_the_one_the_locks_and_ci_use() -> None:
    """Runtime versioning: the app's lock is compiled for the Bicep's Python and pins the runtime."""
    version = keys(block(text("app/api.bicep"), "runtime: {"))["version"].strip("'")
    repo = INFRA.parent
    assert f"APP_PYTHON={version}" in (repo / ".ci" / "lock").read_text()
    assert f"APP_PYTHON={version}" in (repo / ".ci" / "run").read_text()
    pins = dict(
        line.split("==", 1) for line in (repo / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["azure-functions-runtime"].strip() and pins["azure-functions"].startswith("2.")
    assert "azure-functions-worker" not in pins


def test_a_lifecycle_policy_removes_every_upload_and_snapshot_after_the_retention() -> None:
    """docs/safety.md: uploads hold passwords; every name in the container goes, addressable or not."""
    storage = text("app/storage.bicep")
    assert "Microsoft.Storage/storageAccounts/managementPolicies@" in storage
    assert "prefixMatch: ['${uploadContainer}/']" in storage
    assert "daysAfterModificationGreaterThan: uploadRetentionDays" in storage
    assert "daysAfterCreationGreaterThan: uploadRetentionDays" in storage
    assert "param uploadRetentionDays int = 30" in storage
    assert "uploadContainer: uploadContainerName" in text("main.bicep")
    assert "30 days" in (INFRA.parent / "docs" / "safety.md").read_text()


def test_the_registration_hook_lets_the_azure_cli_get_tokens_for_the_check() -> None:
    """After `azd up`, scripts/check.sh gets its token with `az account get-access-token`."""
    hooks = (REPO / "azure.yaml").read_text()
    assert "run: ./scripts/entra-app.sh --if-missing --allow-azure-cli" in hooks
    assert "run: ./scripts/entra-app.ps1 -IfMissing -AllowAzureCli" in hooks
