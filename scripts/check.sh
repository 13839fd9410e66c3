#!/usr/bin/env bash
# The tenant check (docs/check.md): calls POST /beta/schoolDataSync/check on the deployed app and
# prints its short text (or, with --json, its JSON). Exit 0 when the tenant is ready, 1 when not,
# 2 when the check could not be called.
# Values not in the environment are read from the current azd environment (azd env get-value), so
# the script runs as it is after `azd up`.
# Host: SDS_BASE_URL (e.g. http://localhost:7071), else SERVICE_API_URI (azd's output), else the
# function app's defaultHostName read with the Azure CLI from AZURE_SUBSCRIPTION_ID,
# AZURE_RESOURCE_GROUP and AZURE_FUNCTION_APP_NAME (outputs of infra/main.bicep).
# Token: SDS_TOKEN, else the Azure CLI's for the API's scope api://<client id>/.default, the
# client id taken from SDS_AUDIENCE (scripts/entra-app.sh --allow-azure-cli lets the CLI ask).
# The signed-in user needs EduAdministration.ReadWrite (the route writes: the dry upload).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/check.sh [--dry-upload] [--json]
  --dry-upload  also make a check connector, upload three small files, validate them and delete
                everything made (a run is never started)
  --json        print the JSON answer instead of the short text
USAGE
}

DRY_UPLOAD=false
FORMAT=text
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-upload) DRY_UPLOAD=true ;;
    --json) FORMAT=json ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
if ! command -v curl >/dev/null 2>&1; then
  echo "error: curl is required" >&2
  exit 2
fi

need_az() {
  if ! command -v az >/dev/null 2>&1; then
    echo "error: the Azure CLI (az) is required ($1): https://aka.ms/azcli" >&2
    exit 2
  fi
  if ! az account show --output none 2>/dev/null; then
    echo "error: the Azure CLI is not signed in: run 'az login'" >&2
    exit 2
  fi
}

from_azd() {  # from_azd NAME: the value in the current azd environment, or nothing
  if command -v azd >/dev/null 2>&1; then azd env get-value "$1" 2>/dev/null || true; fi
}
base="${SDS_BASE_URL:-${SERVICE_API_URI:-}}"
if [ -z "$base" ]; then
  base="$(from_azd SERVICE_API_URI)"
fi
if [ -z "$base" ]; then
  for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME; do
    if [ -z "${!name:-}" ]; then
      echo "error: $name is not set (export SDS_BASE_URL, or the outputs of infra/main.bicep)" >&2
      exit 2
    fi
  done
  need_az "to find the app's host name"
  # New apps may get a unique default hostname: read it, never build it from the app name.
  host=$(az functionapp show --subscription "$AZURE_SUBSCRIPTION_ID" --resource-group "$AZURE_RESOURCE_GROUP" \
    --name "$AZURE_FUNCTION_APP_NAME" --query defaultHostName --output tsv)
  base="https://${host}"
fi
base="${base%/}"

token="${SDS_TOKEN:-}"
if [ -z "$token" ]; then
  audience="${SDS_AUDIENCE:-$(from_azd SDS_AUDIENCE)}"
  audience="${audience%%,*}"
  if [ -z "$audience" ]; then
    echo "error: SDS_AUDIENCE is not set (run scripts/entra-app.sh, or export SDS_TOKEN)" >&2
    exit 2
  fi
  case "$audience" in api://*) ;; *) audience="api://${audience}" ;; esac
  need_az "to get a token"
  token=$(az account get-access-token --scope "${audience}/.default" --query accessToken --output tsv)
fi

body='{"dryUpload": false}'
if $DRY_UPLOAD; then
  body='{"dryUpload": true}'
fi
accept="text/plain"
if [ "$FORMAT" = json ]; then
  accept="application/json"
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The check answers within 120 s (sds_app/check.py CHECK_SECONDS); a cold app takes longer.
status=$(curl --silent --show-error --max-time 200 --output "$out" --write-out '%{http_code}' \
  --request POST "${base}/beta/schoolDataSync/check" \
  --header "Authorization: Bearer ${token}" --header "Accept: ${accept}" \
  --header "Content-Type: application/json" --data "$body") || {
  echo "error: ${base}/beta/schoolDataSync/check did not answer" >&2
  exit 2
}
cat "$out"
if [ "$status" != 200 ]; then
  echo >&2
  echo "error: the check answered HTTP ${status}" >&2
  exit 2
fi
if [ "$FORMAT" = json ]; then
  grep -q '"ready": *true' "$out"
else
  [ "$(tail -n 1 "$out")" = "Verdict: ready." ]
fi
