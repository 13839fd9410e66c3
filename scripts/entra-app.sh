#!/usr/bin/env bash
# Creates or updates the Microsoft Entra app registration that stands for this API: App ID URI
# api://<client id>, delegated scopes EduAdministration.Read and EduAdministration.ReadWrite, app
# roles EduAdministration.Read.All and EduAdministration.ReadWrite.All; then sets SDS_TENANT_ID
# and SDS_AUDIENCE in the azd environment and, when it exists, on the function app.
# Needs the Azure CLI signed in as someone who may register apps (Application Developer or more).
# Safe to run again: the scope and role ids below are fixed, so it updates what it created.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/entra-app.sh [--name NAME] [--if-missing] [--allow-azure-cli]
  --name NAME        display name of the registration (default: sds-classic-api-$AZURE_ENV_NAME)
  --if-missing       do nothing when SDS_AUDIENCE is already set (the azd preprovision hook)
  --allow-azure-cli  let the Azure CLI ask for tokens (az account get-access-token): scripts/check.sh
EOF
}

NAME="sds-classic-api${AZURE_ENV_NAME:+-$AZURE_ENV_NAME}"
IF_MISSING=false
ALLOW_AZURE_CLI=false
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME="$2"; shift ;;
    --if-missing) IF_MISSING=true ;;
    --allow-azure-cli) ALLOW_AZURE_CLI=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

if $IF_MISSING && [ -n "${SDS_AUDIENCE:-}" ]; then
  echo "SDS_AUDIENCE is set ($SDS_AUDIENCE): the app registration is left as it is."
  exit 0
fi
if ! command -v az >/dev/null 2>&1; then
  echo "error: the Azure CLI (az) is required: https://aka.ms/azcli" >&2
  exit 1
fi
if ! az account show --output none 2>/dev/null; then
  echo "error: the Azure CLI is not signed in: run 'az login'" >&2
  exit 1
fi

READ_SCOPE_ID="16b77345-6f06-4648-bdca-9fe3a38dca8d"
READWRITE_SCOPE_ID="4a189a16-52d3-459b-9305-fab2f12356c2"
READ_ROLE_ID="ea49c7ff-b6fd-4935-81a1-259e3181683f"
READWRITE_ROLE_ID="d209add9-87a3-439f-901e-688ad35a623a"
AZURE_CLI_APP_ID="04b07795-8ddb-461a-bbee-02f9e1bf7b46"
DEFAULT_ACCESS_ROLE_ID="00000000-0000-0000-0000-000000000000"

graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
graph="${graph%/}/v1.0"
tenant=$(az account show --query tenantId --output tsv)
body=$(mktemp)
trap 'rm -f "$body"' EXIT

app_id=$(az ad app list --display-name "$NAME" --query "[0].appId" --output tsv)
if [ -z "$app_id" ]; then
  app_id=$(az ad app create --display-name "$NAME" --sign-in-audience AzureADMyOrg --query appId --output tsv)
  echo "Created the app registration $NAME ($app_id)."
else
  echo "Updating the app registration $NAME ($app_id)."
fi
object_id=$(az ad app show --id "$app_id" --query id --output tsv)

scopes() {
  cat <<EOF
"oauth2PermissionScopes": [
  {"id": "$READ_SCOPE_ID", "value": "EduAdministration.Read", "type": "Admin", "isEnabled": true,
   "adminConsentDisplayName": "Read School Data Sync profiles",
   "adminConsentDescription": "Lets the app read School Data Sync profiles, their status, errors and verification reports, and the synced directory, as the signed-in user."},
  {"id": "$READWRITE_SCOPE_ID", "value": "EduAdministration.ReadWrite", "type": "Admin", "isEnabled": true,
   "adminConsentDisplayName": "Manage School Data Sync profiles",
   "adminConsentDescription": "Lets the app create, change, start, pause, reset and delete School Data Sync profiles and upload their files, as the signed-in user."}
]
EOF
}

# Microsoft Graph replicates a new application for a few seconds: retry until it sees it.
patch_app() {
  for attempt in 1 2 3 4 5 6; do
    if az rest --method PATCH --url "$graph/applications/$object_id" \
      --headers "Content-Type=application/json" --body "@$body" --output none; then
      return 0
    fi
    echo "Retrying the update of $NAME ($attempt/6)..."
    sleep 5
  done
  return 1
}

cat >"$body" <<EOF
{
  "identifierUris": ["api://$app_id"],
  "api": {"requestedAccessTokenVersion": 2, $(scopes)},
  "appRoles": [
    {"id": "$READ_ROLE_ID", "value": "EduAdministration.Read.All", "allowedMemberTypes": ["Application"],
     "isEnabled": true, "displayName": "Read all School Data Sync profiles",
     "description": "Lets the app read every School Data Sync profile and the synced directory, without a signed-in user."},
    {"id": "$READWRITE_ROLE_ID", "value": "EduAdministration.ReadWrite.All", "allowedMemberTypes": ["Application"],
     "isEnabled": true, "displayName": "Manage all School Data Sync profiles",
     "description": "Lets the app create, change, start, pause, reset and delete every School Data Sync profile, without a signed-in user."}
  ]
}
EOF
patch_app

if $ALLOW_AZURE_CLI; then
  # A second update: pre-authorized clients may name only scopes that already exist.
  cat >"$body" <<EOF
{
  "api": {"requestedAccessTokenVersion": 2, $(scopes),
    "preAuthorizedApplications": [
      {"appId": "$AZURE_CLI_APP_ID", "delegatedPermissionIds": ["$READ_SCOPE_ID", "$READWRITE_SCOPE_ID"]}
    ]}
}
EOF
  patch_app
fi

sp_id=$(az ad sp show --id "$app_id" --query id --output tsv 2>/dev/null || true)
if [ -z "$sp_id" ]; then
  sp_id=$(az ad sp create --id "$app_id" --query id --output tsv)
fi
# Only users and groups assigned to the API get tokens for it, whatever client they use.
az ad sp update --id "$app_id" --set appRoleAssignmentRequired=true --output none

user_id=$(az ad signed-in-user show --query id --output tsv 2>/dev/null || true)
if [ -n "$user_id" ]; then
  assigned=$(az rest --method GET --url "$graph/servicePrincipals/$sp_id/appRoleAssignedTo" \
    --query "length(value[?principalId=='$user_id'])" --output tsv)
  if [ "$assigned" = "0" ]; then
    az rest --method POST --url "$graph/servicePrincipals/$sp_id/appRoleAssignedTo" \
      --headers "Content-Type=application/json" --output none \
      --body "{\"principalId\": \"$user_id\", \"resourceId\": \"$sp_id\", \"appRoleId\": \"$DEFAULT_ACCESS_ROLE_ID\"}"
    echo "Assigned you (the signed-in user) to $NAME."
  fi
fi

audience="api://$app_id,$app_id"
if command -v azd >/dev/null 2>&1 && azd env get-values >/dev/null 2>&1; then
  azd env set SDS_TENANT_ID "$tenant"
  azd env set SDS_AUDIENCE "$audience"
  echo "azd environment: SDS_TENANT_ID and SDS_AUDIENCE set."
fi
if [ -n "${AZURE_FUNCTION_APP_NAME:-}" ] && [ -n "${AZURE_RESOURCE_GROUP:-}" ] &&
  az functionapp show --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" --output none 2>/dev/null; then
  az functionapp config appsettings set --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
    --settings "SDS_TENANT_ID=$tenant" "SDS_AUDIENCE=$audience" --output none
  echo "Function app $AZURE_FUNCTION_APP_NAME: SDS_TENANT_ID and SDS_AUDIENCE set."
fi

cat <<EOF

API app registration: $NAME
  tenant (SDS_TENANT_ID):    $tenant
  client id:                 $app_id
  audience (SDS_AUDIENCE):   $audience
  token scope for clients:   api://$app_id/.default
Assign the other users or groups who may call the API in the portal (Enterprise applications >
$NAME > Users and groups); daemons need an admin to grant them EduAdministration.*.All.
EOF
