#!/usr/bin/env bash
# azd postdeploy hook: subscribe the blob trigger (function verify_upload) to the BlobCreated
# events of the sds-uploads container. Event Grid validates the webhook when the subscription is
# created, so this runs after deploy, once the app answers. Safe to run again (create or update).
# Outside azd: export AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME and
# SDS_UPLOADS_SYSTEM_TOPIC_NAME (the outputs of infra/main.bicep), then run it.
# SDS_KEY_ATTEMPTS and SDS_KEY_WAIT_SECONDS (default 30 and 10) bound the wait for a cold app.
set -euo pipefail

FUNCTION_NAME="verify_upload"
UPLOAD_CONTAINER="sds-uploads"
EVENT_SUBSCRIPTION="sds-uploads-verify"
KEY_ATTEMPTS="${SDS_KEY_ATTEMPTS:-30}"
KEY_WAIT_SECONDS="${SDS_KEY_WAIT_SECONDS:-10}"

for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME SDS_UPLOADS_SYSTEM_TOPIC_NAME; do
  if [ -z "${!name:-}" ]; then
    echo "error: $name is not set (run 'azd deploy', or export the outputs of infra/main.bicep)" >&2
    exit 1
  fi
done
for tool in az curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is required (Azure CLI: https://aka.ms/azcli)" >&2
    exit 1
  fi
done
if ! az account show --output none 2>/dev/null; then
  echo "error: the Azure CLI is not signed in: run 'az login'" >&2
  exit 1
fi

app=(--subscription "$AZURE_SUBSCRIPTION_ID" --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME")
# New apps may get a unique default hostname: read it, never build it from the app name.
host=$(az functionapp show "${app[@]}" --query defaultHostName --output tsv)

# The host creates the blobs_extension key when it first starts with the blob trigger loaded.
key=""
for attempt in $(seq 1 "$KEY_ATTEMPTS"); do
  curl --silent --output /dev/null --max-time 30 "https://${host}/beta/health" || true
  key=$(az functionapp keys list "${app[@]}" --query "systemKeys.blobs_extension" --output tsv 2>/dev/null || true)
  if [ -n "$key" ]; then
    break
  fi
  echo "Waiting for the blobs_extension key of ${AZURE_FUNCTION_APP_NAME} (${attempt}/${KEY_ATTEMPTS})..."
  sleep "$KEY_WAIT_SECONDS"
done
if [ -z "$key" ]; then
  echo "error: the app has no blobs_extension key yet; check that it started ('az functionapp log'), then run this script again" >&2
  exit 1
fi

endpoint="https://${host}/runtime/webhooks/blobs?functionName=Host.Functions.${FUNCTION_NAME}&code=${key}"
az eventgrid system-topic event-subscription create \
  --subscription "$AZURE_SUBSCRIPTION_ID" \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --system-topic-name "$SDS_UPLOADS_SYSTEM_TOPIC_NAME" \
  --name "$EVENT_SUBSCRIPTION" \
  --endpoint-type webhook \
  --endpoint "$endpoint" \
  --included-event-types Microsoft.Storage.BlobCreated \
  --subject-begins-with "/blobServices/default/containers/${UPLOAD_CONTAINER}/" \
  --output none

echo "Event Grid: BlobCreated in ${UPLOAD_CONTAINER} now reaches ${FUNCTION_NAME} on ${host}."
