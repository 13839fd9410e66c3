#!/usr/bin/env bash
# azd postprovision hook: give the app's managed identity the Microsoft Graph application
# permissions its calls to the new School Data Sync (Industry Data API) need, the least privileged
# ones of each call. Only with schoolDataSync in SDS_SYNC_TARGET; safe to run again.
# Granting an application permission takes an administrator (Privileged Role Administrator or
# Global Administrator): when the signed-in user may not, the script prints the exact commands
# for one, for the Azure CLI and for Microsoft Graph PowerShell, and ends without error.
# Outside azd: export SDS_SYNC_TARGET and SDS_IDENTITY_PRINCIPAL_ID (outputs of infra/main.bicep).
set -euo pipefail

GRAPH_APP_ID="00000003-0000-0000-c000-000000000000"
# industry-data.md "Permissions"; sds_app/graph/errors.py names the same ones for a 403.
PERMISSIONS=(
  IndustryData-SourceSystem.ReadWrite.All
  IndustryData-DataConnector.ReadWrite.All
  IndustryData-TimePeriod.ReadWrite.All
  IndustryData-InboundFlow.ReadWrite.All
  IndustryData.ReadBasic.All
  IndustryData-Run.Read.All
  IndustryData-Run.Start
)

case ",${SDS_SYNC_TARGET:-schoolDataSync}," in
  *,schoolDataSync,*) ;;
  *)
    echo "SDS_SYNC_TARGET is ${SDS_SYNC_TARGET:-schoolDataSync}: no Microsoft Graph permission is needed."
    exit 0
    ;;
esac
if [ -z "${SDS_IDENTITY_PRINCIPAL_ID:-}" ]; then
  echo "error: SDS_IDENTITY_PRINCIPAL_ID is not set (run 'azd provision', or export the outputs of infra/main.bicep)" >&2
  exit 1
fi
if ! command -v az >/dev/null 2>&1; then
  echo "error: the Azure CLI (az) is required: https://aka.ms/azcli" >&2
  exit 1
fi
if ! az account show --output none 2>/dev/null; then
  echo "error: the Azure CLI is not signed in: run 'az login'" >&2
  exit 1
fi

principal="$SDS_IDENTITY_PRINCIPAL_ID"
graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
graph="${graph%/}/v1.0"
resource=$(az ad sp show --id "$GRAPH_APP_ID" --query id --output tsv)
assignments="${graph}/servicePrincipals/${principal}/appRoleAssignments"
granted=$(az rest --method GET --url "$assignments" --query "value[].appRoleId" --output tsv 2>/dev/null || true)

pending=()
for permission in "${PERMISSIONS[@]}"; do
  role=$(az ad sp show --id "$GRAPH_APP_ID" --query "appRoles[?value=='${permission}'].id | [0]" --output tsv)
  if [ -z "$role" ]; then
    echo "error: Microsoft Graph offers no application permission ${permission} in this cloud" >&2
    exit 1
  fi
  if grep -qx "$role" <<<"$granted"; then
    echo "${permission}: already granted."
    continue
  fi
  body="{\"principalId\": \"${principal}\", \"resourceId\": \"${resource}\", \"appRoleId\": \"${role}\"}"
  if az rest --method POST --url "$assignments" --headers "Content-Type=application/json" --body "$body" --output none 2>/dev/null; then
    echo "${permission}: granted."
  else
    pending+=("${permission} ${role}")
  fi
done

if [ "${#pending[@]}" -eq 0 ]; then
  echo "The app's identity ${principal} has every Microsoft Graph permission the new School Data Sync needs."
  exit 0
fi
echo
echo "An administrator (Privileged Role Administrator or Global Administrator) must grant these"
echo "Microsoft Graph application permissions to the app's identity ${principal}."
echo "Until then, creating a profile ends in provisioningFailed naming the missing permission."
echo
echo "With the Azure CLI (az login as the administrator):"
for entry in "${pending[@]}"; do
  role="${entry#* }"
  echo "  # ${entry%% *}"
  echo "  az rest --method POST --url '${assignments}' --headers 'Content-Type=application/json' --body '{\"principalId\": \"${principal}\", \"resourceId\": \"${resource}\", \"appRoleId\": \"${role}\"}'"
done
echo
echo "Or with Microsoft Graph PowerShell (Connect-MgGraph -Scopes AppRoleAssignment.ReadWrite.All,Application.Read.All):"
for entry in "${pending[@]}"; do
  role="${entry#* }"
  echo "  # ${entry%% *}"
  echo "  New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId ${principal} -PrincipalId ${principal} -ResourceId ${resource} -AppRoleId ${role}"
done
